//! Every secret rule against a made-up token of its provider's alphabet and length (generated
//! here, so no token-shaped string is committed), and lines that must not be reported: the
//! documented example keys, placeholders, low-entropy values, near misses.

use armtune_gate::secrets::{redact, rules::RULES, RuleSet};

/// Deterministic pseudo-random strings.
struct Fake(u64);

const UPPER32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &str = "0123456789abcdef";
const LOWER_ALNUM: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &str = "0123456789";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BECH32: &str = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

impl Fake {
    fn s(&mut self, alphabet: &str, len: usize) -> String {
        let a = alphabet.as_bytes();
        (0..len)
            .map(|_| {
                self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                a[(self.0 >> 33) as usize % a.len()] as char
            })
            .collect()
    }

    fn uuid(&mut self) -> String {
        format!("{}-{}-{}-{}-{}", self.s(HEX, 8), self.s(HEX, 4), self.s(HEX, 4), self.s(HEX, 4), self.s(HEX, 12))
    }
}

/// (rule, file name, line holding one secret of that rule).
fn positives() -> Vec<(&'static str, &'static str, String)> {
    let mut f = Fake(7);
    let pem_body: String = (0..4).map(|_| f.s(B64, 64) + "\n").collect();
    vec![
        ("aws-access-key-id", "app.py", format!("key_id = \"AKIA{}\"", f.s(UPPER32, 16))),
        ("aws-secret-access-key", "app.py", format!("aws_secret_access_key = \"{}\"", f.s(B64, 40))),
        ("gcp-api-key", "main.js", format!("const k = 'AIza{}';", f.s(URLSAFE, 35))),
        (
            "gcp-oauth-client-secret",
            "client.json",
            format!("{{\"client_id\": \"x\", \"s\": \"GOCSPX-{}\"}}", f.s(URLSAFE, 28)),
        ),
        (
            "azure-storage-account-key",
            "app.config",
            format!("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={}==;", f.s(B64, 86)),
        ),
        ("azure-ad-client-secret", "deploy.ps1", format!("$s = \"{}8Q~{}\"", f.s(ALNUM, 3), f.s(ALNUM, 34))),
        ("digitalocean-token", "do.tf", format!("token = \"dop_v1_{}\"", f.s(HEX, 64))),
        ("heroku-api-key", "deploy.env", format!("HEROKU_API_KEY={}", f.uuid())),
        ("terraform-cloud-token", "creds.tfrc", format!("token = \"{}.atlasv1.{}\"", f.s(ALNUM, 14), f.s(URLSAFE, 67))),
        ("pulumi-token", "ci.yml", format!("  PULUMI: pul-{}", f.s(HEX, 40))),
        ("vault-token", "vault.hcl", format!("token = \"hvs.{}\"", f.s(URLSAFE, 95))),
        ("doppler-token", "x.sh", format!("doppler --token dp.pt.{}", f.s(ALNUM, 43))),
        ("github-pat", "push.go", format!("auth := \"ghp_{}\"", f.s(ALNUM, 36))),
        ("github-fine-grained-pat", "push.go", format!("auth := \"github_pat_{}\"", f.s(&format!("{ALNUM}_"), 82))),
        ("github-oauth-token", "x.rb", format!("t = 'gho_{}'", f.s(ALNUM, 36))),
        ("github-app-token", "x.rb", format!("t = 'ghs_{}'", f.s(ALNUM, 36))),
        ("github-refresh-token", "x.rb", format!("t = 'ghr_{}'", f.s(ALNUM, 76))),
        ("gitlab-pat", "x.py", format!("PRIVATE = 'glpat-{}'", f.s(URLSAFE, 20))),
        ("gitlab-deploy-token", "x.py", format!("d = 'gldt-{}'", f.s(URLSAFE, 20))),
        ("gitlab-pipeline-trigger-token", "x.py", format!("t = 'glptt-{}'", f.s(HEX, 40))),
        ("gitlab-runner-token", "config.toml.tmpl", format!("token = \"glrt-{}\"", f.s(URLSAFE, 20))),
        ("atlassian-api-token", "jira.py", format!("t = 'ATATT3{}'", f.s(URLSAFE, 186))),
        ("linear-api-key", "l.ts", format!("const t = \"lin_api_{}\";", f.s(ALNUM, 40))),
        ("postman-api-key", "p.js", format!("x('PMAK-{}-{}')", f.s(HEX, 24), f.s(HEX, 34))),
        (
            "slack-token",
            "bot.py",
            format!("client(\"xoxb-{}-{}-{}\")", f.s(DIGITS, 12), f.s(DIGITS, 13), f.s(ALNUM, 24)),
        ),
        (
            "slack-app-token",
            "bot.py",
            format!("app(\"xapp-1-A{}-{}-{}\")", f.s(UPPER_ALNUM, 10), f.s(DIGITS, 13), f.s(HEX, 64)),
        ),
        (
            "slack-webhook",
            "notify.sh",
            format!(
                "curl https://hooks.slack.com/services/T{}/B{}/{}",
                f.s(UPPER_ALNUM, 8),
                f.s(UPPER_ALNUM, 10),
                f.s(ALNUM, 24)
            ),
        ),
        (
            "discord-webhook",
            "notify.sh",
            format!("curl https://discord.com/api/webhooks/{}/{}", f.s(DIGITS, 18), f.s(URLSAFE, 68)),
        ),
        (
            "teams-webhook",
            "notify.sh",
            format!(
                "curl https://contoso.webhook.office.com/webhookb2/{}@{}/IncomingWebhook/{}/{}",
                f.uuid(),
                f.uuid(),
                f.s(HEX, 32),
                f.uuid()
            ),
        ),
        ("telegram-bot-token", "bot.go", format!("bot := \"{}:AA{}\"", f.s(DIGITS, 10), f.s(URLSAFE, 33))),
        ("stripe-key", "pay.rb", format!("Stripe.api_key = 'sk_live_{}'", f.s(ALNUM, 24))),
        ("square-access-token", "sq.py", format!("t = 'sq0atp-{}'", f.s(URLSAFE, 22))),
        ("square-oauth-secret", "sq.py", format!("s = 'sq0csp-{}'", f.s(URLSAFE, 43))),
        (
            "braintree-access-token",
            "bt.py",
            format!("t = 'access_token$production${}${}'", f.s(LOWER_ALNUM, 16), f.s(HEX, 32)),
        ),
        ("twilio-api-key", "sms.py", format!("twilio_key = \"SK{}\"", f.s(HEX, 32))),
        ("sendgrid-api-key", "mail.py", format!("sg = 'SG.{}.{}'", f.s(URLSAFE, 22), f.s(URLSAFE, 43))),
        ("mailgun-api-key", "mail.py", format!("MAILGUN = 'key-{}'", f.s(HEX, 32))),
        ("mailchimp-api-key", "mail.py", format!("mc = '{}-us6'", f.s(HEX, 32))),
        ("npm-token", ".npmrc", format!("//registry.npmjs.org/:_authToken=npm_{}", f.s(ALNUM, 36))),
        ("pypi-token", ".pypirc", format!("password = pypi-AgEIcHlwaS5vcmc{}", f.s(URLSAFE, 60))),
        ("rubygems-api-key", "credentials", format!(":rubygems_api_key: rubygems_{}", f.s(HEX, 48))),
        ("nuget-api-key", "push.ps1", format!("nuget push -ApiKey oy2{}", f.s(LOWER_ALNUM, 43))),
        ("dockerhub-pat", "login.sh", format!("docker login -p dckr_pat_{}", f.s(URLSAFE, 27))),
        ("crates-io-token", "publish.sh", format!("cargo publish --token cio{}", f.s(ALNUM, 32))),
        (
            "openai-api-key",
            "ai.py",
            format!("client = OpenAI(api='sk-proj-{}T3BlbkFJ{}')", f.s(URLSAFE, 30), f.s(URLSAFE, 30)),
        ),
        ("anthropic-api-key", "ai.py", format!("c = Anthropic(k='sk-ant-api03-{}')", f.s(URLSAFE, 95))),
        ("huggingface-token", "hf.py", format!("login('hf_{}')", f.s(LETTERS, 34))),
        ("newrelic-user-key", "nr.js", format!("x('NRAK-{}')", f.s(UPPER_ALNUM, 27))),
        ("grafana-token", "g.sh", format!("curl -H 'Authorization: Bearer glsa_{}_{}'", f.s(ALNUM, 32), f.s(HEX, 8))),
        ("sentry-auth-token", "s.sh", format!("sentry-cli --auth-token sntrys_{}", f.s(ALNUM, 70))),
        ("datadog-api-key", "dd.env", format!("DD_API_KEY={}", f.s(HEX, 32))),
        ("shopify-token", "shop.rb", format!("ShopifyAPI::Session.new(token: 'shpat_{}')", f.s(HEX, 32))),
        ("databricks-token", "dbx.cfg", format!("token = dapi{}", f.s(HEX, 32))),
        ("planetscale-token", "ps.sh", format!("pscale auth --service-token pscale_tkn_{}", f.s(URLSAFE, 43))),
        (
            "dynatrace-token",
            "dt.sh",
            format!("curl -H 'Api-Token dt0c01.{}.{}'", f.s(UPPER_ALNUM, 24), f.s(UPPER_ALNUM, 64)),
        ),
        ("easypost-api-key", "ship.py", format!("easypost.api_key = 'EZAK{}'", f.s(ALNUM, 54))),
        ("flutterwave-secret-key", "pay.js", format!("const k = 'FLWSECK_TEST-{}-X';", f.s("abcdefgh0123456789", 32))),
        ("frameio-token", "frame.py", format!("client = FrameioClient('fio-u-{}')", f.s(URLSAFE, 64))),
        ("duffel-token", "fly.ts", format!("new Duffel({{ token: 'duffel_live_{}' }})", f.s(URLSAFE, 43))),
        (
            "mapbox-secret-token",
            "map.sh",
            format!("export MAPBOX=sk.eyJ1Ijoi{}.{}", f.s(URLSAFE, 60), f.s(URLSAFE, 22)),
        ),
        ("prefect-api-key", "prefect.sh", format!("prefect cloud login -k pnu_{}", f.s(ALNUM, 36))),
        ("readme-api-key", "rdme.sh", format!("rdme openapi --key=rdme_{}", f.s(LOWER_ALNUM, 70))),
        ("scalingo-token", "deploy.sh", format!("scalingo login --api-token tk-us-{}", f.s(URLSAFE, 48))),
        ("brevo-api-key", "mail.php", format!("$key = 'xkeysib-{}-{}';", f.s(HEX, 64), f.s(ALNUM, 16))),
        ("shippo-token", "ship.rb", format!("Shippo::API.token = 'shippo_live_{}'", f.s(HEX, 40))),
        ("sourcegraph-token", "src.sh", format!("src login --token sgp_{}_{}", f.s(HEX, 16), f.s(HEX, 40))),
        ("typeform-token", "tf.js", format!("createClient({{ token: 'tfp_{}' }})", f.s(URLSAFE, 59))),
        ("alibaba-access-key-id", "oss.py", format!("auth = oss2.Auth('LTAI{}', secret)", f.s(ALNUM, 20))),
        ("airtable-pat", "base.js", format!("new Airtable({{ apiKey: 'pat{}.{}' }})", f.s(ALNUM, 14), f.s(HEX, 64))),
        (
            "cloudflare-origin-ca-key",
            "origin.sh",
            format!("X-Auth-User-Service-Key: v1.0-{}-{}", f.s(HEX, 24), f.s(HEX, 146)),
        ),
        ("clojars-token", "deploy.clj", format!(":password \"CLOJARS_{}\"", f.s(LOWER_ALNUM, 60))),
        (
            "defined-networking-token",
            "dn.sh",
            format!("curl -H 'Bearer dnkey-{}-{}'", f.s(LOWER_ALNUM, 26), f.s(LOWER_ALNUM, 52)),
        ),
        (
            "harness-token",
            "h.sh",
            format!("harness login --api-key pat.{}.{}.{}", f.s(URLSAFE, 22), f.s(ALNUM, 24), f.s(ALNUM, 20)),
        ),
        ("infracost-api-key", "ci.sh", format!("infracost configure set api_key ico-{}", f.s(ALNUM, 32))),
        ("intra42-client-secret", "oauth.py", format!("SECRET42 = 's-s4t2ud-{}'", f.s(HEX, 64))),
        ("jfrog-token", "settings.xml", format!("<password>AKCp{}</password>", f.s(ALNUM, 69))),
        ("perplexity-api-key", "ask.py", format!("OpenAI(base_url=u, api_key='pplx-{}')", f.s(ALNUM, 48))),
        ("openshift-token", "oc.sh", format!("oc login --token=sha256~{} --server=https://api", f.s(URLSAFE, 43))),
        ("settlemint-token", "sm.sh", format!("settlemint login --token sm_pat_{}", f.s(ALNUM, 16))),
        (
            "sidekiq-credentials",
            "Gemfile",
            format!("source 'https://{}:{}@gems.contribsys.com/'", f.s(HEX, 8), f.s(HEX, 8)),
        ),
        ("yandex-token", "yc.sh", format!("yc config set token y0_{}", f.s(URLSAFE, 55))),
        ("1password-service-token", "op.sh", format!("export OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{}", f.s(B64, 300))),
        ("flyio-token", "fly.sh", format!("flyctl deploy --access-token fo1_{}", f.s(URLSAFE, 43))),
        ("sonarqube-token", "sonar.sh", format!("sonar-scanner -Dsonar.token=squ_{}", f.s(HEX, 40))),
        ("octopus-deploy-api-key", "octo.ps1", format!("octo push --apiKey API-{}", f.s(UPPER_ALNUM, 26))),
        ("maxmind-license-key", "geo.conf", format!("LicenseKey {}_{}_mmk", f.s(ALNUM, 6), f.s(ALNUM, 29))),
        (
            "clickhouse-cloud-key",
            "ch.sh",
            format!("curl --user $KEY_ID:4b1d{} https://api.clickhouse.cloud", f.s(ALNUM, 38)),
        ),
        ("notion-token", "notion.js", format!("new Client({{ auth: 'ntn_{}{}' }})", f.s(DIGITS, 11), f.s(ALNUM, 35))),
        ("facebook-access-token", "fb.py", format!("graph = GraphAPI('EAAC{}')", f.s(ALNUM, 120))),
        ("heroku-api-key-v2", "deploy.sh", format!("heroku auth:token HRKU-AA{}", f.s(URLSAFE, 58))),
        ("gitlab-other-token", "ci.sh", format!("curl -H 'JOB-TOKEN: glcbt-64_{}'", f.s(URLSAFE, 20))),
        ("newrelic-ingest-key", "nr.yml", format!("  insert_key: NRII-{}", f.s(URLSAFE, 32))),
        ("adobe-client-secret", "adobe.js", format!("const s = 'p8e-{}';", f.s(ALNUM, 32))),
        ("contentful-pat", "cf.sh", format!("contentful login --management-token CFPAT-{}", f.s(URLSAFE, 43))),
        ("dropbox-token", "dbx.py", format!("dropbox.Dropbox('sl.{}')", f.s(URLSAFE, 138))),
        ("plaid-access-token", "plaid.py", format!("t = 'access-production-{}'", f.uuid())),
        ("bitbucket-app-password", "bb.sh", format!("git clone https://me:ATBB{}@bitbucket.org/x/y", f.s(ALNUM, 32))),
        ("okta-api-token", "okta.yaml", format!("okta:\n  client:\n    token: 00{}", f.s(URLSAFE, 40))),
        ("snyk-token", "ci.sh", format!("snyk auth {}", f.uuid())),
        ("hubspot-private-app-token", "hs.js", format!("new Client({{ accessToken: 'pat-na1-{}' }})", f.uuid())),
        ("hubspot-api-key", "hs.py", format!("hubspot = HubSpot(api_key='{}')", f.uuid())),
        ("algolia-api-key", "search.js", format!("algoliasearch('APPID', '{}')", f.s(HEX, 32))),
        (
            "cloudflare-api-token",
            "cf.tf",
            format!("provider \"cloudflare\" {{ api_token = \"{}\" }}", f.s(URLSAFE, 40)),
        ),
        ("zendesk-api-token", "zd.py", format!("Zenpy(email=e, zendesk_token='{}')", f.s(ALNUM, 40))),
        ("codecov-token", "ci.sh", format!("codecov upload-process -t {}", f.uuid())),
        ("cohere-api-key", "co.py", format!("co = cohere.Client('{}')", f.s(ALNUM, 40))),
        ("netlify-token", "deploy.sh", format!("netlify deploy --auth nfp_{}", f.s(ALNUM, 40))),
        ("fastly-api-token", "purge.sh", format!("curl -H 'Fastly-Key: {}'", f.s(URLSAFE, 32))),
        ("gocardless-token", "pay.rb", format!("GoCardlessPro::Client.new(access_token: 'live_{}')", f.s(URLSAFE, 40))),
        ("adafruit-api-key", "io.py", format!("aio = Client('me', adafruit_key='aio_{}')", f.s(ALNUM, 28))),
        (
            "asana-token",
            "asana.py",
            format!("asana.Client.access_token('1/{}:{}')", f.s(DIGITS, 16), f.s(LOWER_ALNUM, 32)),
        ),
        ("beamer-api-token", "beamer.js", format!("beamer.init({{ key: 'b_{}' }})", f.s(URLSAFE, 44))),
        ("bittrex-key", "trade.py", format!("bittrex_secret = '{}'", f.s(LOWER_ALNUM, 32))),
        ("coinbase-token", "cb.py", format!("coinbase_token = '{}'", f.s(URLSAFE, 64))),
        (
            "confluent-secret",
            "kafka.properties",
            format!("# confluent cloud\nsasl.jaas.config=x password='{}';", f.s(B64, 64)),
        ),
        (
            "discord-token",
            "bot.py",
            format!("discord_client.run('M{}.{}.{}')", f.s(URLSAFE, 23), f.s(URLSAFE, 6), f.s(URLSAFE, 27)),
        ),
        ("drone-token", "ci.sh", format!("export DRONE_TOKEN={}", f.s(LOWER_ALNUM, 32))),
        ("etsy-api-key", "shop.py", format!("etsy = Etsy(api_key='{}')", f.s(LOWER_ALNUM, 24))),
        ("finicity-secret", "bank.py", format!("finicity_app_key = '{}'", f.s(HEX, 32))),
        ("finnhub-token", "quotes.py", format!("finnhub.Client(api_key='{}')", f.s(LOWER_ALNUM, 20))),
        ("flickr-token", "photos.py", format!("flickrapi.FlickrAPI('{}', s)", f.s(LOWER_ALNUM, 32))),
        ("freshbooks-token", "books.rb", format!("FreshBooks.new(token: '{}')", f.s(LOWER_ALNUM, 64))),
        ("gitter-token", "chat.sh", format!("gitter = Gitter(token='{}')", f.s(URLSAFE, 40))),
        ("kraken-key", "trade.py", format!("kraken_api = krakenex.API(secret='{}')", f.s(B64, 86))),
        ("kucoin-key", "trade.py", format!("kucoin_client = Client('{}', s, p)", f.s(HEX, 24))),
        ("launchdarkly-key", "flags.js", format!("LaunchDarkly.init('sdk-{}')", f.uuid())),
        ("linkedin-secret", "oauth.py", format!("linkedin_client_secret = '{}'", f.s(LOWER_ALNUM, 16))),
        ("lob-api-key", "mail.rb", format!("Lob::Client.new(api_key: 'live_{}')", f.s(HEX, 35))),
        ("mattermost-token", "bot.go", format!("mattermost.NewClient(url).SetToken(\"{}\")", f.s(LOWER_ALNUM, 26))),
        (
            "messagebird-key",
            "sms.js",
            format!("const messagebird = require('messagebird')('{}');", f.s(LOWER_ALNUM, 25)),
        ),
        ("nytimes-key", "news.py", format!("nytimes_api_key = '{}'", f.s(URLSAFE, 32))),
        ("rapidapi-key", "call.sh", format!("curl -H 'X-RapidAPI-Key: {}'", f.s(URLSAFE, 50))),
        ("sendbird-token", "chat.kt", format!("SendbirdChat.init(token = \"{}\")", f.s(HEX, 40))),
        ("squarespace-token", "store.py", format!("squarespace_api_key = '{}'", f.uuid())),
        ("sumologic-key", "sumo.tf", format!("provider \"sumologic\" {{ access_id = \"su{}\" }}", f.s(ALNUM, 12))),
        ("travisci-token", "ci.sh", format!("travis login --github-token x --api-token {}", f.s(LOWER_ALNUM, 22))),
        ("twitch-token", "stream.py", format!("twitch = Twitch(client_secret='{}')", f.s(LOWER_ALNUM, 30))),
        (
            "authress-access-key",
            "auth.ts",
            format!(
                "const key = 'sc_{}.{}.acc_{}.{}';",
                f.s(LOWER_ALNUM, 10),
                f.s(LOWER_ALNUM, 4),
                f.s(LOWER_ALNUM, 10),
                f.s(URLSAFE, 40)
            ),
        ),
        ("curl-auth-user", "deploy.md", format!("curl -fsS -u deploy:{} https://ci.example.org/api", f.s(ALNUM, 14))),
        (
            "curl-auth-header",
            "smoke.sh",
            format!("curl -s -H 'Authorization: Bearer {}' https://api.example.org/v1", f.s(URLSAFE, 32)),
        ),
        ("freemius-secret-key", "freemius.php", format!("'secret_key' => 'sk_{}',", f.s(ALNUM, 29))),
        ("intercom-api-key", "support.rb", format!("intercom_token = '{}'", f.s(URLSAFE, 60))),
        ("looker-client-secret", "looker.ini", format!("[looker]\nclient_secret={}", f.s(ALNUM, 24))),
        ("cisco-meraki-api-key", "net.py", format!("meraki.DashboardAPI('{}')", f.s(HEX, 40))),
        ("privateai-api-token", "redact.py", format!("PRIVATE_AI_KEY = '{}'", f.s(LOWER_ALNUM, 32))),
        ("trello-access-token", "board.js", format!("const trelloKey = '{}';", f.s(HEX, 32))),
        (
            "kubernetes-secret-data",
            "db-secret.yaml",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {}=\n",
                f.s(B64, 23)
            ),
        ),
        ("twitter-bearer-token", "tweet.py", format!("twitter_bearer = '{}{}'", "A".repeat(22), f.s(ALNUM, 90))),
        ("twitter-api-secret", "tweet.py", format!("twitter_api_secret = '{}'", f.s(ALNUM, 50))),
        ("private-key", "id_rsa", format!("-----BEGIN RSA PRIVATE KEY-----\n{pem_body}-----END RSA PRIVATE KEY-----")),
        ("age-secret-key", "key.txt", format!("AGE-SECRET-KEY-1{}", f.s(BECH32, 58))),
        (
            "jwt",
            "req.http",
            format!("Authorization: Bearer eyJ{}.eyJ{}.{}", f.s(URLSAFE, 20), f.s(URLSAFE, 40), f.s(URLSAFE, 43)),
        ),
        (
            "connection-string-password",
            "db.go",
            format!("dsn := \"postgres://app:{}@db.internal:5432/app\"", f.s(ALNUM, 18)),
        ),
        (
            "url-password-parameter",
            "Main.java",
            format!("String url = \"jdbc:mysql://db:3306/app?user=app&password={}\";", f.s(ALNUM, 18)),
        ),
        ("generic-secret-assignment", "settings.py", format!("DB_PASSWORD = \"{}\"", f.s(ALNUM, 20))),
        ("generic-secret-env", "prod.env", format!("export SERVICE_TOKEN={}", f.s(ALNUM, 24))),
        // Pairs: the other half is on the same line here; credential_pairs_need_both_halves has more.
        ("aws-credential-pair", "accessKeys.csv", format!("AKIA{},{}", f.s(UPPER32, 16), f.s(B64, 40))),
        ("twilio-credential-pair", "sms.py", format!("client = Client(\"AC{}\", \"{}\")", f.s(HEX, 32), f.s(HEX, 32))),
        ("oauth-client-credential-pair", "auth.py", format!("auth = HTTPBasicAuth(CLIENT_ID, \"{}\")", f.s(ALNUM, 40))),
    ]
}

/// (rule, file, line that looks like that rule's secret but is not one): one at least for every
/// rule, a character class or a length off, without the provider's name, or a look-alike.
fn near_misses() -> Vec<(&'static str, &'static str, String)> {
    let mut f = Fake(17);
    vec![
        ("shopify-token", "shop.rb", format!("token: 'shpat_{}'", f.s(HEX, 31))),
        ("databricks-token", "dbx.cfg", format!("token = dapi{}", f.s("ghijklmnopqrstuvwxyz", 32))),
        ("planetscale-token", "ps.sh", format!("pscale_tkn_{}", f.s(ALNUM, 20))),
        ("dynatrace-token", "dt.sh", format!("dt0c01.{}.{}", f.s(UPPER_ALNUM, 24), f.s(UPPER_ALNUM, 63))),
        ("easypost-api-key", "ship.py", format!("k = 'EZXK{}'", f.s(ALNUM, 54))),
        ("flutterwave-secret-key", "pay.js", format!("k = 'FLWSECK_TEST-{}-X'", f.s("ijklmnopqrstuvwxyz", 32))),
        ("frameio-token", "frame.py", format!("t = 'fio-u-{}'", f.s(URLSAFE, 40))),
        ("duffel-token", "fly.ts", format!("t = 'duffel_prod_{}'", f.s(URLSAFE, 43))),
        (
            "mapbox-secret-token",
            "map.js",
            format!("const pub = 'pk.eyJ1Ijoi{}.{}'", f.s(URLSAFE, 60), f.s(URLSAFE, 22)),
        ),
        ("prefect-api-key", "prefect.sh", format!("pnu_{}", f.s(ALNUM, 30))),
        ("readme-api-key", "rdme.sh", format!("rdme_{}", f.s(LOWER_ALNUM, 40))),
        ("scalingo-token", "deploy.sh", format!("tk-eu-{}", f.s(URLSAFE, 48))),
        ("brevo-api-key", "mail.php", format!("'xkeysib-{}-{}'", f.s(HEX, 63), f.s(ALNUM, 16))),
        ("shippo-token", "ship.rb", format!("'shippo_live_{}'", f.s("ghijklmnop", 40))),
        ("sourcegraph-token", "src.sh", format!("sgp_{}_{}", f.s(HEX, 16), f.s(HEX, 30))),
        ("typeform-token", "tf.js", format!("'tfp_{}'", f.s(URLSAFE, 40))),
        ("alibaba-access-key-id", "oss.py", "id = 'LTAIxxxxxxxxxxxxxxxxxxxx'".to_string()),
        ("airtable-pat", "base.js", format!("'pat{}.{}'", f.s(ALNUM, 14), f.s(HEX, 60))),
        ("cloudflare-origin-ca-key", "origin.sh", format!("v1.0-{}-{}", f.s(HEX, 24), f.s(HEX, 100))),
        ("clojars-token", "deploy.clj", format!("\"CLOJARS_{}\"", f.s(UPPER_ALNUM, 60))),
        ("defined-networking-token", "dn.sh", format!("dnkey-{}-{}", f.s(LOWER_ALNUM, 26), f.s(LOWER_ALNUM, 20))),
        ("harness-token", "h.sh", format!("pat.{}.{}", f.s(URLSAFE, 22), f.s(ALNUM, 24))),
        ("infracost-api-key", "ci.sh", format!("ico-{}", f.s(ALNUM, 20))),
        ("intra42-client-secret", "oauth.py", format!("'s-s4t2xx-{}'", f.s(HEX, 64))),
        ("jfrog-token", "settings.xml", format!("<password>AKCp{}</password>", f.s(ALNUM, 40))),
        ("perplexity-api-key", "ask.py", format!("'pplx-{}'", f.s(ALNUM, 30))),
        ("openshift-token", "oc.sh", format!("image@sha256:{}", f.s(HEX, 64))),
        ("settlemint-token", "sm.sh", format!("sm_xyz_{}", f.s(ALNUM, 16))),
        (
            "sidekiq-credentials",
            "Gemfile",
            format!("source 'https://{}:{}@gems.example.com/'", f.s(HEX, 8), f.s(HEX, 8)),
        ),
        ("yandex-token", "yc.sh", format!("y9_{}", f.s(URLSAFE, 55))),
        ("1password-service-token", "op.sh", format!("ops_eyJ{}", f.s(B64, 100))),
        ("flyio-token", "fly.sh", format!("fo1_{}", f.s(URLSAFE, 20))),
        ("sonarqube-token", "sonar.sh", format!("squ_{}", f.s("ghijklmnopqrstuvwxyz", 40))),
        ("octopus-deploy-api-key", "octo.ps1", "see API-REFERENCEDOCUMENTATIONPAGES".to_string()),
        ("maxmind-license-key", "geo.conf", format!("{}_{}_mmk", f.s(ALNUM, 6), f.s(ALNUM, 20))),
        ("clickhouse-cloud-key", "ch.sh", "4b1dAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string()),
        ("notion-token", "notion.js", format!("'ntn_{}'", f.s(LETTERS, 46))),
        ("facebook-access-token", "fb.py", format!("'EAAC{}'", f.s(ALNUM, 40))),
        ("heroku-api-key-v2", "deploy.sh", format!("HRKU-BB{}", f.s(URLSAFE, 58))),
        ("gitlab-other-token", "ci.sh", format!("glft-{}", f.s(URLSAFE, 10))),
        ("newrelic-ingest-key", "nr.yml", format!("NRJS-{}", f.s("ghijklmnop", 19))),
        ("adobe-client-secret", "adobe.js", format!("'p8e-{}'", f.s(ALNUM, 20))),
        ("contentful-pat", "cf.sh", format!("CFPAT-{}", f.s(URLSAFE, 20))),
        ("dropbox-token", "dbx.py", format!("sl.{}", f.s(URLSAFE, 60))),
        ("plaid-access-token", "plaid.py", format!("'access-staging-{}'", f.uuid())),
        ("bitbucket-app-password", "bb.sh", format!("ATBB{}", f.s(ALNUM, 12))),
        ("okta-api-token", "app.yaml", format!("client:\n  token: 00{}", f.s(URLSAFE, 40))),
        ("snyk-token", "ci.sh", format!("trace_id {}", f.uuid())),
        ("hubspot-private-app-token", "hs.js", format!("'pat-ap1-{}'", f.uuid())),
        ("hubspot-api-key", "hs.py", format!("request_id = '{}'", f.uuid())),
        ("algolia-api-key", "search.js", format!("algoliasearch('APPID', '{}')", "0".repeat(32))),
        ("cloudflare-api-token", "cf.tf", format!("# commit {}", f.s(HEX, 40))),
        ("zendesk-api-token", "zd.py", format!("zendesk_url = 'https://{}.zendesk.com'", f.s(LOWER_ALNUM, 12))),
        (
            "codecov-token",
            "ci.sh",
            format!("codecov upload-process -t {}", "0".repeat(8) + "-0000-0000-0000-" + &"0".repeat(12)),
        ),
        ("cohere-api-key", "co.py", "co = cohere.Client(os.environ['CO_API_KEY'])".to_string()),
        ("netlify-token", "deploy.sh", "netlify deploy --auth $NETLIFY_AUTH_TOKEN".to_string()),
        ("fastly-api-token", "purge.sh", "curl -H 'Fastly-Key: ${FASTLY_API_TOKEN}'".to_string()),
        (
            "gocardless-token",
            "pay.rb",
            format!("GoCardlessPro::Client.new(access_token: 'sandbox_{}')", f.s(URLSAFE, 40)),
        ),
        ("adafruit-api-key", "io.py", "adafruit_key = os.environ['ADAFRUIT_IO_KEY']".to_string()),
        ("asana-token", "asana.py", format!("asana task {}", "a".repeat(32))),
        ("beamer-api-token", "beamer.js", format!("beamer.init({{ key: 'c_{}' }})", f.s(URLSAFE, 44))),
        ("bittrex-key", "trade.py", format!("bittrex_secret = '{}'", f.s(LOWER_ALNUM, 20))),
        ("coinbase-token", "cb.py", format!("coinbase_token = '{}'", f.s(URLSAFE, 40))),
        (
            "confluent-secret",
            "kafka.properties",
            format!("# confluent cloud\nsasl.jaas.config=x password='{}';", f.s(B64, 30)),
        ),
        (
            "discord-token",
            "bot.py",
            format!("discord_client.run('X{}.{}.{}')", f.s(URLSAFE, 23), f.s(URLSAFE, 6), f.s(URLSAFE, 27)),
        ),
        ("drone-token", "ci.sh", format!("drone image {}", "0".repeat(32))),
        ("etsy-api-key", "shop.py", format!("etsy = Etsy(api_key='{}')", f.s(LOWER_ALNUM, 12))),
        ("finicity-secret", "bank.py", format!("finicity_app_key = '{}'", f.s(HEX, 10))),
        ("finnhub-token", "quotes.py", format!("finnhub.Client(api_key='{}')", f.s(LOWER_ALNUM, 12))),
        ("flickr-token", "photos.py", format!("flickrapi.FlickrAPI('{}', s)", f.s(LOWER_ALNUM, 20))),
        ("freshbooks-token", "books.rb", format!("FreshBooks.new(token: '{}')", f.s(LOWER_ALNUM, 40))),
        ("gitter-token", "chat.sh", format!("gitter room {}", f.s(URLSAFE, 20))),
        ("kraken-key", "trade.py", format!("kraken_api = krakenex.API(secret='{}')", f.s(B64, 40))),
        ("kucoin-key", "trade.py", format!("kucoin_client = Client('{}', s, p)", f.s(HEX, 12))),
        ("launchdarkly-key", "flags.js", format!("LaunchDarkly.init('env-{}')", f.uuid())),
        ("linkedin-secret", "oauth.py", "linkedin_client_secret = 'aaaaaaaaaaaaaaaa'".to_string()),
        ("lob-api-key", "mail.rb", format!("Lob::Client.new(api_key: 'prod_{}')", f.s(HEX, 35))),
        ("mattermost-token", "bot.go", format!("mattermost.NewClient(url).SetToken(\"{}\")", f.s(LOWER_ALNUM, 10))),
        ("messagebird-key", "sms.js", "const messagebird = require('messagebird')(process.env.MB_KEY);".to_string()),
        ("nytimes-key", "news.py", format!("nytimes_api_key = '{}'", f.s(URLSAFE, 12))),
        ("rapidapi-key", "call.sh", format!("curl -H 'X-RapidAPI-Key: {}'", f.s(URLSAFE, 20))),
        ("sendbird-token", "chat.kt", format!("SendbirdChat.init(token = \"{}\")", f.s(HEX, 20))),
        (
            "squarespace-token",
            "store.py",
            format!("squarespace_order = '{}'", "0".repeat(8) + "-0000-0000-0000-" + &"0".repeat(12)),
        ),
        ("sumologic-key", "sumo.tf", format!("provider \"sumologic\" {{ access_id = \"xx{}\" }}", f.s(ALNUM, 12))),
        ("travisci-token", "ci.sh", format!("travis build {}", f.s(DIGITS, 8))),
        ("twitch-token", "stream.py", format!("twitch = Twitch(client_secret='{}')", f.s(LOWER_ALNUM, 12))),
        (
            "authress-access-key",
            "auth.ts",
            format!("const key = 'sc_{}.{}';", f.s(LOWER_ALNUM, 10), f.s(LOWER_ALNUM, 4)),
        ),
        ("curl-auth-user", "deploy.md", "curl -u deploy:$DEPLOY_PASSWORD https://ci.example.org/api".to_string()),
        ("curl-auth-user", "README.md", "Log in with `curl -u user:password https://host/api`.".to_string()),
        (
            "curl-auth-header",
            "smoke.sh",
            "curl -H \"Authorization: Bearer ${{ secrets.API_TOKEN }}\" https://api.example.org".to_string(),
        ),
        ("freemius-secret-key", "freemius.js", format!("'secret_key' => 'sk_{}',", f.s(ALNUM, 29))),
        ("intercom-api-key", "support.rb", format!("intercom_token = '{}'", f.s(URLSAFE, 50))),
        ("looker-client-secret", "looker.ini", format!("[looker]\nbase_url={}", f.s(LOWER_ALNUM, 12))),
        ("cisco-meraki-api-key", "net.py", format!("meraki.DashboardAPI('{}')", f.s(HEX, 32))),
        ("privateai-api-token", "redact.py", format!("PRIVATE_AI_URL = '{}'", f.s(LOWER_ALNUM, 20))),
        ("trello-access-token", "board.js", format!("const trelloBoard = '{}';", f.s(ALNUM, 8))),
        (
            "kubernetes-secret-data",
            "app-config.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\ndata:\n  blob: {}=\n", f.s(B64, 23)),
        ),
        ("twitter-bearer-token", "tweet.py", format!("twitter_bearer = '{}{}'", "A".repeat(12), f.s(ALNUM, 90))),
        ("twitter-api-secret", "tweet.py", format!("twitter_handle = '{}'", f.s(ALNUM, 12))),
        // The first rules: a character class or a length off.
        ("aws-access-key-id", "app.py", format!("key_id = \"AKIA{}\"", f.s(UPPER32, 15))),
        ("aws-secret-access-key", "app.py", format!("aws_secret_access_key = \"{}\"", f.s(B64, 39))),
        ("gcp-api-key", "main.js", format!("const k = 'AIza{}';", f.s(URLSAFE, 30))),
        ("gcp-oauth-client-secret", "client.json", format!("\"s\": \"GOCSPX-{}\"", f.s(URLSAFE, 20))),
        ("azure-storage-account-key", "app.config", format!("AccountName=acct;AccountKey={}==;", f.s(B64, 60))),
        ("azure-ad-client-secret", "deploy.ps1", format!("$s = \"{}8Q~{}\"", f.s(ALNUM, 3), f.s(ALNUM, 20))),
        ("digitalocean-token", "do.tf", format!("token = \"dop_v1_{}\"", f.s(HEX, 40))),
        ("heroku-api-key", "deploy.env", format!("HEROKU_APP=shop-{}", f.s(HEX, 8))),
        ("terraform-cloud-token", "creds.tfrc", format!("token = \"{}.atlasv1.{}\"", f.s(ALNUM, 14), f.s(URLSAFE, 20))),
        ("pulumi-token", "ci.yml", format!("  PULUMI: pul-{}", f.s(HEX, 30))),
        ("vault-token", "vault.hcl", format!("token = \"hvs.{}\"", f.s(URLSAFE, 40))),
        ("doppler-token", "ci.sh", format!("doppler --token dp.pt.{}", f.s(ALNUM, 30))),
        ("github-pat", "a.go", format!("t := \"ghp_{}\"", f.s(ALNUM, 30))),
        ("github-fine-grained-pat", "a.go", format!("t := \"github_pat_{}\"", f.s(ALNUM, 40))),
        ("github-oauth-token", "a.go", format!("t := \"gho_{}\"", f.s(ALNUM, 30))),
        ("github-app-token", "a.go", format!("t := \"ghs_{}\"", f.s(ALNUM, 20))),
        ("github-refresh-token", "a.go", format!("t := \"ghr_{}\"", f.s(ALNUM, 20))),
        ("gitlab-pat", "ci.yml", format!("  TOKEN: glpat-{}", f.s(URLSAFE, 10))),
        ("gitlab-deploy-token", "ci.yml", format!("  TOKEN: gldt-{}", f.s(URLSAFE, 10))),
        ("gitlab-pipeline-trigger-token", "ci.yml", format!("  TOKEN: glptt-{}", f.s(HEX, 30))),
        ("gitlab-runner-token", "config.toml", format!("token = \"glrt-{}\"", f.s(URLSAFE, 10))),
        ("atlassian-api-token", "jira.py", format!("JIRA = 'ATATT3{}'", f.s(URLSAFE, 50))),
        ("linear-api-key", "linear.ts", format!("const k = 'lin_api_{}';", f.s(ALNUM, 30))),
        ("postman-api-key", "run.sh", format!("postman --key PMAK-{}-{}", f.s(HEX, 20), f.s(HEX, 34))),
        ("slack-token", "bot.py", format!("SLACK = 'xoxb-12345-{}'", f.s(ALNUM, 10))),
        (
            "slack-app-token",
            "bot.py",
            format!("APP = 'xapp-1-{}-123456-{}'", f.s(UPPER_ALNUM, 10), f.s(LOWER_ALNUM, 16)),
        ),
        ("slack-webhook", "notify.sh", format!("curl https://hooks.slack.com/services/{}", f.s(ALNUM, 10))),
        (
            "discord-webhook",
            "notify.sh",
            format!("curl https://discord.com/api/webhooks/{}/{}", f.s(DIGITS, 12), f.s(URLSAFE, 60)),
        ),
        ("teams-webhook", "notify.sh", format!("curl https://acme.webhook.office.com/webhookb2/{}", f.s(HEX, 12))),
        ("telegram-bot-token", "bot.py", format!("BOT = '{}:AA{}'", f.s(DIGITS, 6), f.s(URLSAFE, 33))),
        ("stripe-key", "pay.rb", format!("Stripe.api_key = 'sk_live_{}'", f.s(ALNUM, 10))),
        ("square-access-token", "pay.rb", format!("token = 'sq0atp-{}'", f.s(URLSAFE, 10))),
        ("square-oauth-secret", "pay.rb", format!("secret = 'sq0csp-{}'", f.s(URLSAFE, 20))),
        (
            "braintree-access-token",
            "pay.rb",
            format!("t = 'access_token$production${}${}'", f.s(LOWER_ALNUM, 16), f.s(HEX, 20)),
        ),
        ("twilio-api-key", "sms.py", format!("twilio_key = 'SK{}'", f.s(HEX, 20))),
        ("sendgrid-api-key", "mail.py", format!("KEY = 'SG.{}.{}'", f.s(URLSAFE, 22), f.s(URLSAFE, 20))),
        ("mailgun-api-key", "mail.py", format!("mailgun_key = 'key-{}'", f.s(HEX, 20))),
        ("mailchimp-api-key", "mail.py", format!("KEY = '{}-us1'", f.s(HEX, 30))),
        ("npm-token", ".npmrc", format!("//registry.npmjs.org/:_authToken=npm_{}", f.s(ALNUM, 30))),
        ("pypi-token", ".pypirc", format!("password = pypi-AgEIcHlwaS5vcmc{}", f.s(URLSAFE, 20))),
        ("rubygems-api-key", "credentials", format!(":rubygems_api_key: rubygems_{}", f.s(HEX, 30))),
        ("nuget-api-key", "push.ps1", format!("nuget push -ApiKey oy2{}", f.s(LOWER_ALNUM, 30))),
        ("dockerhub-pat", "login.sh", format!("echo dckr_pat_{} | docker login", f.s(URLSAFE, 20))),
        ("crates-io-token", "credentials.toml", format!("token = \"cio{}\"", f.s(ALNUM, 20))),
        ("openai-api-key", "ai.py", format!("KEY = 'sk-proj-{}T3BlbkFJ{}'", f.s(URLSAFE, 20), f.s(URLSAFE, 10))),
        ("anthropic-api-key", "ai.py", format!("KEY = 'sk-ant-api03-{}'", f.s(URLSAFE, 40))),
        ("huggingface-token", "hub.py", format!("HF = 'hf_{}'", f.s(LETTERS, 20))),
        ("newrelic-user-key", "nr.js", format!("const k = 'NRAK-{}';", f.s(UPPER_ALNUM, 20))),
        ("grafana-token", "graf.sh", format!("export T=glsa_{}_{}", f.s(ALNUM, 20), f.s(HEX, 8))),
        ("sentry-auth-token", "sentry.sh", format!("export T=sntrys_{}", f.s(URLSAFE, 30))),
        ("datadog-api-key", "dd.yaml", format!("datadog_site: {}", f.s(LOWER_ALNUM, 20))),
        // Keys, tokens and credentials of any origin.
        (
            "private-key",
            "id_rsa.pub",
            format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----", f.s(B64, 64)),
        ),
        ("age-secret-key", "keys.txt", format!("AGE-SECRET-KEY-1{}", f.s(BECH32, 40))),
        ("jwt", "auth.js", format!("const t = 'eyJ{}.eyJ{}.{}';", f.s(URLSAFE, 5), f.s(URLSAFE, 5), f.s(URLSAFE, 5))),
        ("connection-string-password", "db.go", "dsn := \"postgres://app@db.internal:5432/app\"".to_string()),
        (
            "url-password-parameter",
            "Main.java",
            "String url = \"jdbc:mysql://db/app?user=app&password=abc\";".to_string(),
        ),
        (
            "generic-secret-assignment",
            "settings.py",
            "DB_PASSWORD_FILE = \"/run/secrets/db-password-file\"".to_string(),
        ),
        ("generic-secret-env", "prod.env", "SERVICE_TOKEN_URL=https://auth.example.org/oauth/token".to_string()),
        // Pairs without their other half, or with a look-alike.
        ("aws-credential-pair", "log.txt", format!("AKIA{} rotated\ncommit {}", f.s(UPPER32, 16), f.s(HEX, 40))),
        ("twilio-credential-pair", "release.txt", format!("md5: {}", f.s(HEX, 32))),
        (
            "oauth-client-credential-pair",
            "app.py",
            "client_id = get_id()\nscope = \"openid profile email\"".to_string(),
        ),
    ]
}

#[test]
fn every_rule_passes_over_its_near_misses() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let cases = near_misses();
    for rule in RULES {
        assert!(cases.iter().any(|(id, _, _)| *id == rule.id), "no near miss for {}", rule.id);
    }
    for (id, file, line) in &cases {
        let text = format!("# some context\n{line}\n# more\n");
        let hits = set.scan(file, text.as_bytes());
        assert!(hits.iter().all(|h| h.rule != *id), "{id} fired on its near miss in {file}: {line}\n{hits:?}");
    }
}

#[test]
fn every_rule_finds_its_token() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let cases = positives();
    for rule in RULES {
        assert!(cases.iter().any(|(id, _, _)| *id == rule.id), "no positive sample for {}", rule.id);
    }
    for (id, file, line) in &cases {
        let text = format!("# some context\n{line}\n# more\n");
        let mut hits = set.scan(file, text.as_bytes());
        // A pair's other half may be a finding of its own (an AWS key id is).
        if RULES.iter().any(|r| r.id == *id && r.near.is_some()) {
            hits.retain(|h| h.rule == *id);
        }
        assert_eq!(hits.len(), 1, "{id} in {file}: {line}\n{hits:?}");
        assert_eq!(hits[0].rule, *id, "{line}");
        assert!(hits[0].allowed.is_none());
        let shown = redact(&hits[0].secret);
        let secret = String::from_utf8_lossy(&hits[0].secret);
        assert!(!shown.contains(secret.as_ref()) && (secret.len() < 16 || !shown.contains(&secret[4..])), "{shown}");
    }
}

#[test]
fn examples_placeholders_and_near_misses_are_not_reported() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let mut f = Fake(11);
    let negatives = [
        ("aws.ini", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".to_string()),
        ("aws.ini", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string()),
        ("a.go", format!("id := \"ghp_{}\"", f.s(ALNUM, 35))),
        ("a.go", format!("id := \"xghp_{}\"", f.s(ALNUM, 36))),
        ("a.py", "password = \"changeme-please-123\"".to_string()),
        ("a.py", "password = \"password123\"".to_string()),
        ("a.py", "password = \"aaaaaaaaaaaaaaaa\"".to_string()),
        ("a.py", "password = os.environ[\"DB_PASSWORD\"]".to_string()),
        ("a.py", "token = get_token(user)".to_string()),
        ("prod.env", "PASSWORD=${DB_PASSWORD}".to_string()),
        ("prod.env", "DATABASE_URL=postgres://app:${DB_PASS}@db/app".to_string()),
        ("a.go", "dsn := \"postgres://localhost:5432/app\"".to_string()),
        ("key.pem", format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----", f.s(B64, 64))),
        ("pay.rb", "Stripe.api_key = 'sk_live_tooShort'".to_string()),
        ("config.rs", "            secrets: SecretsConfig::default(),".to_string()),
        ("a.py", "api_key = \"<your-api-key-here>\"".to_string()),
        ("a.ts", "const token = process.env.GITHUB_TOKEN;".to_string()),
        // Identifiers and locations beside a credential, and URLs in credential-named settings.
        ("sa.json", format!("  \"private_key_id\": \"{}\",", f.s(HEX, 40))),
        ("sa.json", "  \"token_uri\": \"https://oauth2.googleapis.com/token\",".to_string()),
        ("a.ts", format!("const clientSecretId = \"{}\";", f.s(ALNUM, 24))),
        ("a.py", "TOKEN_URL = \"https://auth.example.org/oauth/token\"".to_string()),
        ("app.yaml", format!("secret_file: /run/secrets/{}", f.s(LOWER_ALNUM, 12))),
        // Obviously fake values, and the example token jwt.io shows (and documentation copies).
        ("fixture.yaml", "token: FAKE_TOKEN_FOR_TESTS_ONLY_0001".to_string()),
        (".env", format!("STRIPE_SECRET_KEY=sk_test_{}", "0".repeat(25))),
        ("a.py", format!("password = \"{}00000000\"", f.s(ALNUM, 6))),
        (
            "README.md",
            [
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
                "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
                "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            ]
            .join("."),
        ),
        // A comment is not a value; a URL parameter that only names the setting is not a password.
        (".env", "DB_PASSWORD= # set in the vault".to_string()),
        ("a.sh", "curl 'https://x.example/login?password=${PASSWORD}'".to_string()),
    ];
    for (file, line) in negatives {
        let hits = set.scan(file, line.as_bytes());
        assert!(hits.is_empty(), "{file}: {line}\n{hits:?}");
    }
}

#[test]
fn credential_settings_in_compose_kubernetes_env_and_json_files() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let mut f = Fake(13);
    let (pg, redis, token, api) = (f.s(ALNUM, 15) + "#30", f.s(ALNUM, 20), f.s(ALNUM, 32), f.s(ALNUM, 40));
    let cases = [
        // compose's `environment:` as a map, and as a list (with a `#` inside the value).
        (
            "docker-compose.yml",
            format!("    environment:\n      POSTGRES_PASSWORD: {pg}\n"),
            "generic-secret-env",
            pg.clone(),
        ),
        (
            "docker-compose.yml",
            format!("    environment:\n      - REDIS_PASSWORD={redis}\n"),
            "generic-secret-env",
            redis.clone(),
        ),
        // Kubernetes stringData, and a trailing comment after the value.
        (
            "secret.yaml",
            format!("stringData:\n  api-token: {token}   # rotated monthly\n"),
            "generic-secret-env",
            token.clone(),
        ),
        ("appsettings.json", format!("{{\n  \"ApiToken\": \"{api}\",\n}}\n"), "generic-secret-assignment", api.clone()),
    ];
    for (file, text, rule, secret) in cases {
        let hits = set.scan(file, text.as_bytes());
        assert_eq!(hits.len(), 1, "{file}: {text}\n{hits:?}");
        assert_eq!((hits[0].rule, String::from_utf8_lossy(&hits[0].secret).to_string()), (rule, secret), "{text}");
    }
}

/// The secrets of each pair rule in `text`, as strings.
fn pair_hits(set: &RuleSet, file: &str, text: &str) -> Vec<(&'static str, String)> {
    let pairs = ["aws-credential-pair", "twilio-credential-pair", "oauth-client-credential-pair"];
    let hits = set.scan(file, text.as_bytes());
    hits.into_iter()
        .filter(|h| pairs.contains(&h.rule))
        .map(|h| (h.rule, String::from_utf8_lossy(&h.secret).into_owned()))
        .collect()
}

#[test]
fn credential_pairs_need_both_halves() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let mut f = Fake(23);
    let (key_id, aws_secret) = (format!("AKIA{}", f.s(UPPER32, 16)), f.s(B64, 40));
    let (sid, auth_token) = (format!("AC{}", f.s(HEX, 32)), f.s(HEX, 32));
    let (client_id, client_secret) = (format!("Iv1.{}", f.s(HEX, 16)), f.s(HEX, 40));
    let commit = f.s(HEX, 40);
    // The CSV the AWS console offers when a key is created: the secret's column names nothing
    // a generic rule knows.
    let csv = format!("Access key ID,Secret access key\n{key_id},{aws_secret}\n");
    assert_eq!(pair_hits(&set, "deploy_accessKeys.csv", &csv), [("aws-credential-pair", aws_secret.clone())]);
    // Positional arguments over two lines.
    let py = format!("session = boto3.Session(\n    \"{key_id}\",\n    \"{aws_secret}\",\n)\n");
    assert_eq!(pair_hits(&set, "s3.py", &py), [("aws-credential-pair", aws_secret.clone())]);
    // Named, it is the named rule's finding, not a second one.
    let ini = format!("[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {aws_secret}\n");
    let hits = set.scan("credentials", ini.as_bytes());
    assert_eq!(hits.iter().map(|h| h.rule).collect::<Vec<_>>(), ["aws-access-key-id", "aws-secret-access-key"]);
    // One half alone is not a pair: the secret without a key id, a key id beside a commit id,
    // the secret six lines away.
    assert!(pair_hits(&set, "a.csv", &format!("id,value\nbuild,{aws_secret}\n")).is_empty());
    assert!(pair_hits(&set, "a.txt", &format!("{key_id} rotated in {commit}\n")).is_empty());
    let far = format!("{key_id}\n{}{aws_secret}\n", "#\n".repeat(5));
    assert!(pair_hits(&set, "a.txt", &far).is_empty());

    let twilio = format!("account_sid = '{sid}'\nclient = Client(account_sid, '{auth_token}')\n");
    assert_eq!(pair_hits(&set, "sms.py", &twilio), [("twilio-credential-pair", auth_token.clone())]);
    // A checksum with no SID near it.
    let md5 = format!("md5sum: {}\naccount: none\n", f.s(HEX, 32));
    assert!(pair_hits(&set, "release.txt", &md5).is_empty());

    let gh = format!("CLIENT_ID = \"{client_id}\"\nauth = HTTPBasicAuth(CLIENT_ID, \"{client_secret}\")\n");
    assert_eq!(pair_hits(&set, "app.py", &gh), [("oauth-client-credential-pair", client_secret.clone())]);
    let yaml = format!("github:\n  client_id: {client_id}\n  value: \"{client_secret}\"\n");
    assert_eq!(pair_hits(&set, "oauth.yml", &yaml), [("oauth-client-credential-pair", client_secret)]);
    // The id's own value, identifiers and URLs beside it, low-entropy strings: not secrets.
    let azure = format!(
        "client_id = \"{}\"\ntenant_id = \"{}\"\nauthority = \"https://login.microsoftonline.com/{}\"\nscope = \"https_graph_default_scope\"\n",
        f.uuid(),
        f.uuid(),
        f.uuid()
    );
    assert!(pair_hits(&set, "msal.py", &azure).is_empty(), "{azure}");
    // Keys of a client-secrets JSON file are names, however long.
    let json = format!("{{\n  \"client_id\": \"{client_id}\",\n  \"auth_provider_x509_cert_url\": \"https://x\"\n}}\n");
    assert!(pair_hits(&set, "client.json", &json).is_empty(), "{json}");
}

#[test]
fn kubernetes_secret_data_but_not_its_metadata_nor_templates() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let mut f = Fake(29);
    let (user, password) = (f.s(B64, 12), f.s(B64, 22) + "==");
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  labels:\n    app: backend2api\n    build: {}\ntype: Opaque\ndata:\n  username: {user}\n  password: {password}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: chart\ndata:\n  token: {{{{ .Values.token | b64enc }}}}\n",
        f.s(HEX, 12)
    );
    let hits: Vec<String> = set
        .scan("secrets.yaml", manifest.as_bytes())
        .into_iter()
        .filter(|h| h.rule == "kubernetes-secret-data")
        .map(|h| String::from_utf8_lossy(&h.secret).into_owned())
        .collect();
    assert_eq!(hits, [user, password], "{manifest}");
}

#[test]
fn inline_allow_marks_the_hit_with_its_reason() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let mut f = Fake(3);
    let line = format!("key = 'ghp_{}'  # armtune:allow secrets -- revoked, kept for the parser test", f.s(ALNUM, 36));
    let hits = set.scan("t.py", line.as_bytes());
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].allowed, Some(Some("revoked, kept for the parser test".into())));
}

#[test]
fn disabled_rules_and_allow_regexes() {
    let mut f = Fake(5);
    let token = format!("ghp_{}", f.s(ALNUM, 36));
    let line = format!("auth := \"{token}\"");
    assert!(RuleSet::new(&["github-pat".into()], &[]).unwrap().scan("a.go", line.as_bytes()).is_empty());
    let allow = format!("^{}$", &token);
    assert!(RuleSet::new(&[], &[allow]).unwrap().scan("a.go", line.as_bytes()).is_empty());
}

#[test]
fn minified_line_and_invalid_utf8() {
    let set = RuleSet::new(&[], &[]).unwrap();
    let mut f = Fake(9);
    // A 4 MB single-line bundle with one token in the middle, and bytes that are not UTF-8.
    let mut data = vec![b'a'; 2 << 20];
    data.extend_from_slice(&[0xff, 0xfe, b';']);
    data.extend_from_slice(format!("var t=\"npm_{}\";", f.s(ALNUM, 36)).as_bytes());
    data.extend(std::iter::repeat_n(b'b', 2 << 20));
    let hits = set.scan("bundle.min.js", &data);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].rule, "npm-token");
    assert_eq!(hits[0].start, (2 << 20) + 3 + 7);
}
