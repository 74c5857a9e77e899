//! The secret rules: provider token formats (each with the keywords that must appear for its
//! regex to run), private keys, JWTs, connection strings with passwords, and a generic
//! high-entropy assignment rule for names like password / secret / token / api key.
//!
//! Patterns are written for this project from the providers' documented token formats.

/// One rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id (used in reports, suppressions, baselines).
    pub id: &'static str,
    /// What it finds.
    pub description: &'static str,
    /// Regex over bytes; the secret is capture group `group`.
    pub regex: &'static str,
    /// Capture group holding the secret (0: the whole match).
    pub group: usize,
    /// Lower-case keywords; the regex runs only on files where one occurs (ASCII case-insensitive).
    pub keywords: &'static [&'static str],
    /// Minimum Shannon entropy of the secret, bits per byte.
    pub min_entropy: Option<f64>,
    /// Only files whose name ends with one of these (lower case) are scanned with this rule;
    /// empty: every file.
    pub file_suffixes: &'static [&'static str],
    /// For a credential recognisable only as one half of a pair: the other half, which must be
    /// close by for a match to count. The keywords are then the other half's.
    pub near: Option<Near>,
}

/// The other half of a credential pair (gitleaks' composite rules, `[[rules.required]]`): a
/// secret of a common shape (40 base64 characters, 32 hex digits) counts only within `lines`
/// lines of an identifier of its own kind (an AWS access key id, a Twilio account SID).
#[derive(Debug, Clone, Copy)]
pub struct Near {
    /// Regex over bytes for the identifier; its whole match is never taken for the secret.
    pub regex: &'static str,
    /// How many lines above or below the identifier's line the secret may be.
    pub lines: usize,
    /// The top-level YAML key the secret must sit under (`data:` of a Kubernetes Secret, not
    /// its `metadata:`), if any.
    pub section: Option<&'static str>,
}

impl Rule {
    /// Whether this rule applies to a file named `name`.
    pub fn applies_to(&self, name: &str) -> bool {
        if self.file_suffixes.is_empty() {
            return true;
        }
        let name = name.to_ascii_lowercase();
        self.file_suffixes.iter().any(|s| name.ends_with(s)) || name.starts_with(".env")
    }
}

/// Settings files, where `NAME=value` and `name: value` lines are assignments.
const SETTINGS_FILES: &[&str] = &[
    ".env",
    ".yaml",
    ".yml",
    ".properties",
    ".ini",
    ".cfg",
    ".conf",
    ".toml",
    ".sh",
    ".bash",
    ".zsh",
    "dockerfile",
    ".tfvars",
    ".envrc",
];

const fn rule(
    id: &'static str,
    description: &'static str,
    regex: &'static str,
    keywords: &'static [&'static str],
) -> Rule {
    Rule { id, description, regex, group: 1, keywords, min_entropy: None, file_suffixes: &[], near: None }
}

/// A rule for one half of a credential pair, found within `near.lines` of the other half.
const fn paired(
    id: &'static str,
    description: &'static str,
    regex: &'static str,
    keywords: &'static [&'static str],
    bits: f64,
    near: Near,
) -> Rule {
    Rule { id, description, regex, group: 1, keywords, min_entropy: Some(bits), file_suffixes: &[], near: Some(near) }
}

const fn with_entropy(mut r: Rule, bits: f64) -> Rule {
    r.min_entropy = Some(bits);
    r
}

/// Every rule, in report order.
pub const RULES: &[Rule] = &[
    // Cloud providers.
    with_entropy(
        rule(
            "aws-access-key-id",
            "AWS access key ID",
            r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
            &["akia", "asia", "abia", "acca"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "aws-secret-access-key",
            "AWS secret access key assigned to an AWS-named variable",
            r#"(?i)\baws_?(?:secret_?(?:access_?)?key|secret)["']?\s*(?::=|=>|[:=])\s*["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            &["aws_secret", "awssecret"],
        ),
        4.0,
    ),
    rule("gcp-api-key", "Google Cloud API key", r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)", &["aiza"]),
    rule("gcp-oauth-client-secret", "Google OAuth client secret", r"\b(GOCSPX-[A-Za-z0-9_-]{28})\b", &["gocspx-"]),
    rule(
        "azure-storage-account-key",
        "Azure storage account key in a connection string",
        r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)",
        &["accountkey="],
    ),
    rule(
        "azure-ad-client-secret",
        "Azure AD (Entra ID) client secret",
        r"(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)",
        &["q~"],
    ),
    rule(
        "digitalocean-token",
        "DigitalOcean personal access, OAuth or refresh token",
        r"\b(do[opr]_v1_[a-f0-9]{64})\b",
        &["dop_v1_", "doo_v1_", "dor_v1_"],
    ),
    with_entropy(
        rule(
            "heroku-api-key",
            "Heroku API key",
            r"(?i)heroku[\s\S]{0,40}?\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
            &["heroku"],
        ),
        3.0,
    ),
    rule(
        "terraform-cloud-token",
        "Terraform Cloud / Enterprise API token",
        r"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})",
        &["atlasv1"],
    ),
    rule("pulumi-token", "Pulumi access token", r"\b(pul-[a-f0-9]{40})\b", &["pul-"]),
    rule(
        "vault-token",
        "HashiCorp Vault service or batch token",
        r"\b(hv[sb]\.[A-Za-z0-9_-]{90,180})",
        &["hvs.", "hvb."],
    ),
    rule("doppler-token", "Doppler personal token", r"\b(dp\.pt\.[A-Za-z0-9]{43})\b", &["dp.pt."]),
    // Version control and CI.
    rule("github-pat", "GitHub personal access token (classic)", r"\b(ghp_[A-Za-z0-9]{36})\b", &["ghp_"]),
    rule(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        r"\b(github_pat_[A-Za-z0-9_]{82})\b",
        &["github_pat_"],
    ),
    rule("github-oauth-token", "GitHub OAuth access token", r"\b(gho_[A-Za-z0-9]{36})\b", &["gho_"]),
    rule(
        "github-app-token",
        "GitHub App user-to-server or server-to-server token",
        r"\b((?:ghu|ghs)_[A-Za-z0-9]{36})\b",
        &["ghu_", "ghs_"],
    ),
    rule("github-refresh-token", "GitHub refresh token", r"\b(ghr_[A-Za-z0-9]{36,76})\b", &["ghr_"]),
    rule("gitlab-pat", "GitLab personal access token", r"\b(glpat-[A-Za-z0-9_-]{20,})\b", &["glpat-"]),
    rule("gitlab-deploy-token", "GitLab deploy token", r"\b(gldt-[A-Za-z0-9_-]{20,})\b", &["gldt-"]),
    rule("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", r"\b(glptt-[0-9a-f]{40})\b", &["glptt-"]),
    rule(
        "gitlab-runner-token",
        "GitLab runner registration or authentication token",
        r"\b((?:GR1348941|glrt-)[A-Za-z0-9_-]{20,})\b",
        &["gr1348941", "glrt-"],
    ),
    rule("atlassian-api-token", "Atlassian API token", r"\b(ATATT3[A-Za-z0-9_\-=]{180,200})", &["atatt3"]),
    rule("linear-api-key", "Linear API key", r"\b(lin_api_[A-Za-z0-9]{40})\b", &["lin_api_"]),
    rule("postman-api-key", "Postman API key", r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b", &["pmak-"]),
    // Chat and webhooks.
    rule(
        "slack-token",
        "Slack bot, user, app or configuration token",
        r"\b(xox[abposr]-[0-9]{6,14}-[0-9A-Za-z-]{8,100})",
        &["xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxs-", "xoxr-"],
    ),
    rule("slack-app-token", "Slack app-level token", r"\b(xapp-\d-[A-Z0-9]{8,}-\d{6,}-[a-z0-9]{32,})", &["xapp-"]),
    rule(
        "slack-webhook",
        "Slack incoming webhook URL",
        r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{30,100})",
        &["hooks.slack.com"],
    ),
    rule(
        "discord-webhook",
        "Discord webhook URL",
        r"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70})",
        &["discord"],
    ),
    rule(
        "teams-webhook",
        "Microsoft Teams incoming webhook URL",
        r"(https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/[a-z0-9-]{36}@[a-z0-9-]{36}/IncomingWebhook/[a-z0-9]{32}/[a-z0-9-]{36})",
        &["webhook.office.com"],
    ),
    rule(
        "telegram-bot-token",
        "Telegram bot token",
        r"\b([0-9]{8,10}:AA[A-Za-z0-9_-]{33})(?:[^A-Za-z0-9_-]|$)",
        &[":aa"],
    ),
    // Payments and e-mail.
    rule(
        "stripe-key",
        "Stripe secret or restricted key",
        r"\b((?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{24,99})\b",
        &["sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"],
    ),
    rule("square-access-token", "Square access token", r"\b(sq0atp-[A-Za-z0-9_-]{22})\b", &["sq0atp-"]),
    rule("square-oauth-secret", "Square OAuth secret", r"\b(sq0csp-[A-Za-z0-9_-]{43})\b", &["sq0csp-"]),
    rule(
        "braintree-access-token",
        "PayPal Braintree production access token",
        r"(access_token\$production\$[a-z0-9]{16}\$[a-f0-9]{32})",
        &["access_token$production$"],
    ),
    rule(
        "twilio-api-key",
        "Twilio API key SID near a Twilio name",
        r"(?i)twilio[\s\S]{0,60}?\b(SK[0-9a-fA-F]{32})\b",
        &["twilio"],
    ),
    rule("sendgrid-api-key", "SendGrid API key", r"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})\b", &["sg."]),
    rule("mailgun-api-key", "Mailgun private API key", r"(?i)mailgun[\s\S]{0,60}?\b(key-[0-9a-f]{32})\b", &["mailgun"]),
    rule("mailchimp-api-key", "Mailchimp API key", r"\b([0-9a-f]{32}-us[0-9]{1,2})\b", &["-us"]),
    // Package registries.
    rule("npm-token", "npm access token", r"\b(npm_[A-Za-z0-9]{36})\b", &["npm_"]),
    rule("pypi-token", "PyPI upload token", r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})", &["pypi-ageichlwas5vcmc"]),
    rule("rubygems-api-key", "RubyGems API key", r"\b(rubygems_[0-9a-f]{48})\b", &["rubygems_"]),
    rule("nuget-api-key", "NuGet API key", r"\b(oy2[a-z0-9]{43})\b", &["oy2"]),
    rule(
        "dockerhub-pat",
        "Docker Hub personal access token",
        r"\b(dckr_pat_[A-Za-z0-9_-]{27})(?:[^A-Za-z0-9_-]|$)",
        &["dckr_pat_"],
    ),
    rule("crates-io-token", "crates.io API token", r"\b(cio[A-Za-z0-9]{32})\b", &["cio"]),
    // AI and observability.
    rule(
        "openai-api-key",
        "OpenAI API key",
        r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,74}T3BlbkFJ[A-Za-z0-9_-]{20,74})\b",
        &["t3blbkfj"],
    ),
    rule(
        "anthropic-api-key",
        "Anthropic API key",
        r"\b(sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,110})",
        &["sk-ant-"],
    ),
    rule("huggingface-token", "Hugging Face access token", r"\b(hf_[A-Za-z]{34})\b", &["hf_"]),
    rule("newrelic-user-key", "New Relic user API key", r"\b(NRAK-[A-Z0-9]{27})\b", &["nrak-"]),
    rule(
        "grafana-token",
        "Grafana service account or cloud token",
        r"\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2})",
        &["glsa_", "glc_"],
    ),
    rule("sentry-auth-token", "Sentry auth token", r"\b(sntry[su]_[A-Za-z0-9+/=_]{60,})", &["sntrys_", "sntryu_"]),
    with_entropy(
        rule(
            "datadog-api-key",
            "Datadog API or application key near a Datadog name",
            r"(?i)(?:datadog|dd_api_key|dd_app_key|dd-api-key)[\s\S]{0,40}?\b([a-f0-9]{32}|[a-f0-9]{40})\b",
            &["datadog", "dd_api_key", "dd_app_key", "dd-api-key"],
        ),
        3.0,
    ),
    // More providers, from their documented token formats: a distinctive prefix where the
    // provider has one, else the provider's name within a few words of a value of its shape.
    rule(
        "shopify-token",
        "Shopify access, custom-app, private-app or shared-secret token",
        r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        &["shpat_", "shpca_", "shppa_", "shpss_"],
    ),
    with_entropy(
        rule("databricks-token", "Databricks personal access token", r"\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b", &["dapi"]),
        3.0,
    ),
    rule(
        "planetscale-token",
        "PlanetScale API, OAuth or database password token",
        r"\b(pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_.-]{32,64})\b",
        &["pscale_"],
    ),
    rule("dynatrace-token", "Dynatrace API token", r"\b(dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b", &["dt0c01."]),
    rule("easypost-api-key", "EasyPost production or test API key", r"\b(EZ[AT]K[A-Za-z0-9]{54})\b", &["ezak", "eztk"]),
    rule(
        "flutterwave-secret-key",
        "Flutterwave secret key",
        r"\b(FLWSECK(?:_TEST)?-[a-hA-H0-9]{32}-X)\b",
        &["flwseck"],
    ),
    rule("frameio-token", "Frame.io API token", r"\b(fio-u-[A-Za-z0-9_=-]{64})(?:[^A-Za-z0-9_=-]|$)", &["fio-u-"]),
    rule(
        "duffel-token",
        "Duffel API token",
        r"\b(duffel_(?:test|live)_[A-Za-z0-9_=-]{43})(?:[^A-Za-z0-9_=-]|$)",
        &["duffel_"],
    ),
    rule(
        "mapbox-secret-token",
        "Mapbox secret access token",
        r"\b(sk\.eyJ[A-Za-z0-9_-]{50,}\.[A-Za-z0-9_-]{22})\b",
        &["sk.eyj"],
    ),
    rule("prefect-api-key", "Prefect API key", r"\b(pnu_[A-Za-z0-9]{36})\b", &["pnu_"]),
    rule("readme-api-key", "ReadMe API key", r"\b(rdme_[a-z0-9]{70})\b", &["rdme_"]),
    rule("scalingo-token", "Scalingo API token", r"\b(tk-us-[A-Za-z0-9_-]{48})(?:[^A-Za-z0-9_-]|$)", &["tk-us-"]),
    rule("brevo-api-key", "Brevo (Sendinblue) API key", r"\b(xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})\b", &["xkeysib-"]),
    rule("shippo-token", "Shippo API token", r"\b(shippo_(?:live|test)_[a-f0-9]{40})\b", &["shippo_"]),
    rule("sourcegraph-token", "Sourcegraph access token", r"\b(sgp_(?:[a-f0-9]{16}|local)_[a-f0-9]{40})\b", &["sgp_"]),
    rule(
        "typeform-token",
        "Typeform personal access token",
        r"\b(tfp_[A-Za-z0-9_.=-]{59})(?:[^A-Za-z0-9_.=-]|$)",
        &["tfp_"],
    ),
    with_entropy(
        rule("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", r"\b(LTAI[A-Za-z0-9]{20})\b", &["ltai"]),
        3.0,
    ),
    rule("airtable-pat", "Airtable personal access token", r"\b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b", &["pat"]),
    rule("cloudflare-origin-ca-key", "Cloudflare Origin CA key", r"\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b", &["v1.0-"]),
    rule("clojars-token", "Clojars deploy token", r"\b(CLOJARS_[a-z0-9]{60})\b", &["clojars_"]),
    rule(
        "defined-networking-token",
        "Defined Networking (Nebula) API token",
        r"\b(dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52})(?:[^a-z0-9=_-]|$)",
        &["dnkey-"],
    ),
    rule(
        "harness-token",
        "Harness personal or service account token",
        r"\b((?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20})\b",
        &["pat.", "sat."],
    ),
    rule("infracost-api-key", "Infracost API key", r"\b(ico-[A-Za-z0-9]{32})\b", &["ico-"]),
    rule("intra42-client-secret", "42 (intra) client secret", r"\b(s-s4t2(?:ud|af)-[a-f0-9]{64})\b", &["s-s4t2"]),
    rule(
        "jfrog-token",
        "JFrog Artifactory API key or reference token",
        r"\b(AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})\b",
        &["akcp", "cmvmd"],
    ),
    rule("perplexity-api-key", "Perplexity API key", r"\b(pplx-[A-Za-z0-9]{48})\b", &["pplx-"]),
    rule("openshift-token", "OpenShift user token", r"\b(sha256~[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)", &["sha256~"]),
    rule(
        "settlemint-token",
        "SettleMint access token",
        r"\b(sm_(?:pat|aat|sat)_[A-Za-z0-9]{16})\b",
        &["sm_pat_", "sm_aat_", "sm_sat_"],
    ),
    rule(
        "sidekiq-credentials",
        "Sidekiq Pro/Enterprise gem server credentials",
        r"\b([a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\.contribsys\.com",
        &["contribsys.com"],
    ),
    rule(
        "yandex-token",
        "Yandex Cloud IAM, OAuth or API token",
        r"\b(t1\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]{86}={0,2}|AQVN[A-Za-z0-9_-]{35,38}|y[0-3]_[A-Za-z0-9_-]{55})(?:[^A-Za-z0-9_=-]|$)",
        &["t1.", "aqvn", "y0_", "y1_", "y2_", "y3_"],
    ),
    rule(
        "1password-service-token",
        "1Password service account token",
        r"\b(ops_eyJ[A-Za-z0-9+/]{250,}={0,3})",
        &["ops_eyj"],
    ),
    rule(
        "flyio-token",
        "Fly.io access token",
        r"\b(fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}|fo1_[A-Za-z0-9_-]{43})",
        &["fm1", "fm2", "fo1_"],
    ),
    rule(
        "sonarqube-token",
        "SonarQube / SonarCloud user, project or analysis token",
        r"\b(sq[uap]_[a-f0-9]{40})\b",
        &["squ_", "sqp_", "sqa_"],
    ),
    with_entropy(rule("octopus-deploy-api-key", "Octopus Deploy API key", r"\b(API-[A-Z0-9]{26})\b", &["api-"]), 3.5),
    rule("maxmind-license-key", "MaxMind license key", r"\b([A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk)\b", &["_mmk"]),
    with_entropy(
        rule("clickhouse-cloud-key", "ClickHouse Cloud API secret key", r"\b(4b1d[A-Za-z0-9]{38})\b", &["4b1d"]),
        3.5,
    ),
    rule("notion-token", "Notion integration token", r"\b(ntn_[0-9]{11}[A-Za-z0-9]{35})\b", &["ntn_"]),
    rule("facebook-access-token", "Facebook (Meta) access token", r"\b(EAA[MC][A-Za-z0-9]{100,})\b", &["eaam", "eaac"]),
    rule(
        "heroku-api-key-v2",
        "Heroku API key (2024 format)",
        r"\b(HRKU-AA[A-Za-z0-9_-]{58})(?:[^A-Za-z0-9_-]|$)",
        &["hrku-"],
    ),
    rule(
        "gitlab-other-token",
        "GitLab CI job, feed, incoming-mail, agent, OAuth-app, SCIM or feature-flag token",
        r"\b(glcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}|glft-[0-9a-zA-Z_-]{20}|glimt-[0-9a-zA-Z_-]{25}|glagent-[0-9a-zA-Z_-]{50}|gloas-[0-9a-zA-Z_-]{64}|glsoat-[0-9a-zA-Z_-]{20}|glffct-[0-9a-zA-Z_-]{20})(?:[^0-9a-zA-Z_-]|$)",
        &["glcbt-", "glft-", "glimt-", "glagent-", "gloas-", "glsoat-", "glffct-"],
    ),
    rule(
        "newrelic-ingest-key",
        "New Relic insert or browser key",
        r"\b(NRII-[A-Za-z0-9_-]{32}|NRJS-[a-f0-9]{19})(?:[^A-Za-z0-9_-]|$)",
        &["nrii-", "nrjs-"],
    ),
    rule("adobe-client-secret", "Adobe client secret", r"\b(p8e-[A-Za-z0-9]{32})\b", &["p8e-"]),
    rule(
        "contentful-pat",
        "Contentful personal access token",
        r"\b(CFPAT-[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)",
        &["cfpat-"],
    ),
    rule("dropbox-token", "Dropbox short-lived access token", r"\b(sl\.(?:u\.)?[A-Za-z0-9_=-]{130,})", &["sl."]),
    rule(
        "plaid-access-token",
        "Plaid access token",
        r"\b(access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
        &["access-sandbox-", "access-development-", "access-production-"],
    ),
    rule(
        "bitbucket-app-password",
        "Bitbucket app password",
        r"\b(ATBB[A-Za-z0-9_=.-]{32})(?:[^A-Za-z0-9_=.-]|$)",
        &["atbb"],
    ),
    with_entropy(
        rule(
            "okta-api-token",
            "Okta API token near an Okta name",
            r"(?i)okta[\s\S]{0,40}?\b(00[A-Za-z0-9_-]{40})(?:[^A-Za-z0-9_-]|$)",
            &["okta"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "snyk-token",
            "Snyk API token near a Snyk name",
            r"(?i)snyk[\s\S]{0,40}?\b([a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b",
            &["snyk"],
        ),
        3.0,
    ),
    rule(
        "hubspot-private-app-token",
        "HubSpot private-app access token",
        r"\b(pat-(?:na|eu)1-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b",
        &["pat-na1-", "pat-eu1-"],
    ),
    with_entropy(
        rule(
            "hubspot-api-key",
            "HubSpot API key near a HubSpot name",
            r"(?i)hubspot[\s\S]{0,40}?\b([a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b",
            &["hubspot"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "algolia-api-key",
            "Algolia admin or API key near an Algolia name",
            r"(?i)algolia[\s\S]{0,40}?\b([a-f0-9]{32})\b",
            &["algolia"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "cloudflare-api-token",
            "Cloudflare API token or global key near a Cloudflare name",
            r"(?i)cloudflare[\s\S]{0,40}?\b([A-Za-z0-9_-]{40}|[a-f0-9]{37})(?:[^A-Za-z0-9_-]|$)",
            &["cloudflare"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "zendesk-api-token",
            "Zendesk API token near a Zendesk name",
            r"(?i)zendesk[\s\S]{0,40}?\b([A-Za-z0-9]{40})\b",
            &["zendesk"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "codecov-token",
            "Codecov upload token near a Codecov name",
            r"(?i)codecov[\s\S]{0,40}?\b([a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b",
            &["codecov"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "cohere-api-key",
            "Cohere API key near a Cohere name",
            r"(?i)cohere[\s\S]{0,40}?\b([A-Za-z0-9]{40})\b",
            &["cohere"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "netlify-token",
            "Netlify access token near a Netlify name",
            r"(?i)netlify[\s\S]{0,40}?\b((?:nfp_)?[A-Za-z0-9_-]{40,46})(?:[^A-Za-z0-9_-]|$)",
            &["netlify"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "fastly-api-token",
            "Fastly API token near a Fastly name",
            r"(?i)fastly[\s\S]{0,40}?\b([A-Za-z0-9_-]{32})(?:[^A-Za-z0-9_-]|$)",
            &["fastly"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "gocardless-token",
            "GoCardless live access token near a GoCardless name",
            r"(?i)gocardless[\s\S]{0,60}?\b(live_[A-Za-z0-9_=-]{40})(?:[^A-Za-z0-9_=-]|$)",
            &["gocardless"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "adafruit-api-key",
            "Adafruit IO key near an Adafruit name",
            r"(?i)adafruit[\s\S]{0,40}?\b((?:aio_)?[A-Za-z0-9_-]{28,32})(?:[^A-Za-z0-9_-]|$)",
            &["adafruit"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "asana-token",
            "Asana personal access token or client secret near an Asana name",
            r"(?i)asana[\s\S]{0,40}?\b([0-9]/[0-9]{16}:[a-z0-9]{32}|[a-z0-9]{32})\b",
            &["asana"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "beamer-api-token",
            "Beamer API token near a Beamer name",
            r"(?i)beamer[\s\S]{0,40}?\b(b_[A-Za-z0-9=_-]{44})(?:[^A-Za-z0-9=_-]|$)",
            &["beamer"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "bittrex-key",
            "Bittrex API key or secret near a Bittrex name",
            r"(?i)bittrex[\s\S]{0,40}?\b([a-z0-9]{32})\b",
            &["bittrex"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "coinbase-token",
            "Coinbase access token near a Coinbase name",
            r"(?i)coinbase[\s\S]{0,40}?\b([A-Za-z0-9_-]{64})(?:[^A-Za-z0-9_-]|$)",
            &["coinbase"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "confluent-secret",
            "Confluent Cloud API secret near a Confluent name",
            r"(?i)confluent[\s\S]{0,40}?\b([A-Za-z0-9+/]{64})(?:[^A-Za-z0-9+/]|$)",
            &["confluent"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "discord-token",
            "Discord bot token or API key near a Discord name",
            r"(?i)discord[\s\S]{0,40}?\b([a-f0-9]{64}|[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})(?:[^A-Za-z0-9_-]|$)",
            &["discord"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "drone-token",
            "Drone CI access token near a Drone name",
            r"(?i)drone[\s\S]{0,40}?\b([a-z0-9]{32})\b",
            &["drone"],
        ),
        3.5,
    ),
    with_entropy(
        rule("etsy-api-key", "Etsy API key near an Etsy name", r"(?i)etsy[\s\S]{0,40}?\b([a-z0-9]{24})\b", &["etsy"]),
        3.0,
    ),
    with_entropy(
        rule(
            "finicity-secret",
            "Finicity API token or client secret near a Finicity name",
            r"(?i)finicity[\s\S]{0,40}?\b([a-f0-9]{32}|[a-z0-9]{20})\b",
            &["finicity"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "finnhub-token",
            "Finnhub access token near a Finnhub name",
            r"(?i)finnhub[\s\S]{0,40}?\b([a-z0-9]{20})\b",
            &["finnhub"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "flickr-token",
            "Flickr access token near a Flickr name",
            r"(?i)flickr[\s\S]{0,40}?\b([a-z0-9]{32})\b",
            &["flickr"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "freshbooks-token",
            "FreshBooks access token near a FreshBooks name",
            r"(?i)freshbooks[\s\S]{0,40}?\b([a-z0-9]{64})\b",
            &["freshbooks"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "gitter-token",
            "Gitter access token near a Gitter name",
            r"(?i)gitter[\s\S]{0,40}?\b([A-Za-z0-9_-]{40})(?:[^A-Za-z0-9_-]|$)",
            &["gitter"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "kraken-key",
            "Kraken API key near a Kraken name",
            r"(?i)kraken[\s\S]{0,40}?\b([A-Za-z0-9/=_+-]{80,90})(?:[^A-Za-z0-9/=_+-]|$)",
            &["kraken"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "kucoin-key",
            "KuCoin API key or secret near a KuCoin name",
            r"(?i)kucoin[\s\S]{0,40}?\b([a-f0-9]{24}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
            &["kucoin"],
        ),
        3.0,
    ),
    rule(
        "launchdarkly-key",
        "LaunchDarkly API, SDK or mobile key",
        r"\b((?:api|sdk|mob)-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})\b",
        &["api-", "sdk-", "mob-"],
    ),
    with_entropy(
        rule(
            "linkedin-secret",
            "LinkedIn client secret near a LinkedIn name",
            r"(?i)linkedin[\s\S]{0,40}?\b([a-z0-9]{16})\b",
            &["linkedin"],
        ),
        3.0,
    ),
    rule("lob-api-key", "Lob API key", r"\b((?:live|test)_[a-f0-9]{35})\b", &["live_", "test_"]),
    with_entropy(
        rule(
            "mattermost-token",
            "Mattermost access token near a Mattermost name",
            r"(?i)mattermost[\s\S]{0,40}?\b([a-z0-9]{26})\b",
            &["mattermost"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "messagebird-key",
            "MessageBird API key near a MessageBird name",
            r"(?i)message[_-]?bird[\s\S]{0,40}?\b([a-z0-9]{25})\b",
            &["messagebird", "message_bird", "message-bird"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "nytimes-key",
            "New York Times API key near its name",
            r"(?i)(?:nytimes|new[_-]?york[_-]?times)[\s\S]{0,40}?\b([A-Za-z0-9=_-]{32})(?:[^A-Za-z0-9=_-]|$)",
            &["nytimes", "newyorktimes", "new_york_times", "new-york-times"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "rapidapi-key",
            "RapidAPI key near a RapidAPI name",
            r"(?i)rapidapi[\s\S]{0,40}?\b([A-Za-z0-9_-]{50})(?:[^A-Za-z0-9_-]|$)",
            &["rapidapi"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "sendbird-token",
            "Sendbird API token near a Sendbird name",
            r"(?i)sendbird[\s\S]{0,40}?\b([a-f0-9]{40})\b",
            &["sendbird"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "squarespace-token",
            "Squarespace API key near a Squarespace name",
            r"(?i)squarespace[\s\S]{0,40}?\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
            &["squarespace"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "sumologic-key",
            "Sumo Logic access ID or key near a Sumo name",
            r"(?i)sumo[\s\S]{0,40}?\b(su[A-Za-z0-9]{12}|[A-Za-z0-9]{64})\b",
            &["sumo"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "travisci-token",
            "Travis CI access token near a Travis name",
            r"(?i)travis[\s\S]{0,40}?\b([a-z0-9]{22})\b",
            &["travis"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "twitch-token",
            "Twitch API token near a Twitch name",
            r"(?i)twitch[\s\S]{0,40}?\b([a-z0-9]{30})\b",
            &["twitch"],
        ),
        3.5,
    ),
    rule(
        "authress-access-key",
        "Authress service client access key",
        r"\b((?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_-][A-Za-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120})",
        &["sc_", "ext_", "scauth_", "authress_"],
    ),
    with_entropy(
        rule(
            "curl-auth-user",
            "User and password given to curl (`-u user:password`)",
            // A password that is a variable (`$PASS`, `${{ secrets.X }}`) is no secret in the file.
            r#"(?i)\bcurl\b[^\n]*?[ \t](?:-u|--user)(?:=|[ \t]{1,5})["']?([^\s"'`:$][^\s"'`:]*:[^\s"'`$<{][^\s"'`]{2,})"#,
            &["curl"],
        ),
        2.5,
    ),
    with_entropy(
        rule(
            "curl-auth-header",
            "Authorization header given to curl (`-H 'Authorization: Bearer …'`)",
            r#"(?i)\bcurl\b[^\n]*?[ \t](?:-H|--header)(?:=|[ \t]{1,5})["']Authorization:[ \t]*(?:Basic|Bearer|Token)[ \t]+([A-Za-z0-9._~+/=-]{12,})["']"#,
            &["curl"],
        ),
        3.0,
    ),
    Rule {
        id: "freemius-secret-key",
        description: "Freemius secret key in a PHP settings array",
        regex: r#"(?i)["']secret_key["'][ \t]*=>[ \t]*["'](sk_[^\s"']{29})["']"#,
        group: 1,
        keywords: &["secret_key"],
        min_entropy: Some(3.0),
        file_suffixes: &[".php"],
        near: None,
    },
    with_entropy(
        rule(
            "intercom-api-key",
            "Intercom access token near an Intercom name",
            r"(?i)intercom[\s\S]{0,40}?\b([A-Za-z0-9=_-]{60})(?:[^A-Za-z0-9=_-]|$)",
            &["intercom"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "looker-client-secret",
            "Looker API client ID or secret near a Looker name",
            r"(?i)looker[\s\S]{0,40}?\b([A-Za-z0-9]{24}|[A-Za-z0-9]{20})\b",
            &["looker"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "cisco-meraki-api-key",
            "Cisco Meraki API key near a Meraki name",
            r"(?:[Mm]eraki|MERAKI)[\s\S]{0,40}?\b([0-9a-f]{40})\b",
            &["meraki"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "privateai-api-token",
            "Private AI API key near a Private AI name",
            r"(?i)private[_-]?ai[\s\S]{0,40}?\b([a-z0-9]{32})\b",
            &["privateai", "private_ai", "private-ai"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "trello-access-token",
            "Trello API key or token near a Trello name",
            r"(?i)trello[\s\S]{0,40}?\b([0-9a-f]{64}|[A-Za-z0-9]{32}|ATTA[A-Za-z0-9]{60,70})\b",
            &["trello"],
        ),
        3.0,
    ),
    Rule {
        id: "kubernetes-secret-data",
        description: "Value under `data:` in a Kubernetes Secret manifest (base64 is no protection)",
        regex: r"(?m)^[ \t]+[A-Za-z0-9_.-]+:[ \t]*([A-Za-z0-9+/]{8,}={0,2})[ \t]*\r?$",
        group: 1,
        keywords: &["secret"],
        min_entropy: Some(2.5),
        file_suffixes: &[".yaml", ".yml"],
        // Within a manifest's length of `kind: Secret`: the same document, in practice.
        near: Some(Near { regex: r"(?m)^kind:[ \t]*Secret[ \t]*\r?$", lines: 30, section: Some("data") }),
    },
    with_entropy(
        rule(
            "twitter-bearer-token",
            "Twitter (X) app bearer token near a Twitter name (reported without its 22 leading `A`s)",
            r"(?i)twitter[\s\S]{0,40}?\b(?-i:A{22})([A-Za-z0-9%]{80,100})(?:[^A-Za-z0-9%]|$)",
            &["twitter"],
        ),
        3.5,
    ),
    with_entropy(
        rule(
            "twitter-api-secret",
            "Twitter (X) API key, secret or token near a Twitter name",
            r"(?i)twitter[\s\S]{0,40}?\b([0-9]{15,25}-[A-Za-z0-9]{20,40}|[A-Za-z0-9]{50}|[A-Za-z0-9]{25})\b",
            &["twitter"],
        ),
        3.5,
    ),
    // Keys, tokens and credentials of any origin.
    Rule {
        id: "private-key",
        description: "Private key (PEM, OpenSSH, PGP)",
        regex: r"(-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]{64,}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)",
        group: 1,
        keywords: &["-----begin"],
        min_entropy: None,
        file_suffixes: &[],
        near: None,
    },
    with_entropy(
        rule(
            "age-secret-key",
            "age encryption secret key",
            r"(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
            &["age-secret-key-1"],
        ),
        3.0,
    ),
    with_entropy(
        rule(
            "jwt",
            "JSON Web Token",
            r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
            &["eyj"],
        ),
        3.0,
    ),
    Rule {
        id: "connection-string-password",
        description: "Password in a database, queue or mail connection URL",
        regex: r#"\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|smtps?|ftp)://[^\s:@/'"]+:([^\s:@/'"]{3,})@[^\s'"]+)"#,
        group: 2,
        keywords: &[
            "postgres://",
            "postgresql://",
            "mysql://",
            "mariadb://",
            "mongodb://",
            "mongodb+srv://",
            "redis://",
            "rediss://",
            "amqp://",
            "amqps://",
            "mssql://",
            "sqlserver://",
            "smtp://",
            "smtps://",
            "ftp://",
        ],
        min_entropy: None,
        file_suffixes: &[],
        near: None,
    },
    with_entropy(
        rule(
            "url-password-parameter",
            "Password in a URL's query or a JDBC/ODBC connection string (`password=...`)",
            r#"(?i)[?&;](?:password|passwd|pwd)=([^&\s'";#]{6,128})"#,
            &["password=", "passwd=", "pwd="],
        ),
        3.0,
    ),
    Rule {
        id: "generic-secret-assignment",
        description: "High-entropy string assigned to a password, secret, token or key variable",
        regex: r#"(?i)\b[A-Za-z0-9_.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key|credentials?|client[_-]?secret)[A-Za-z0-9_.-]*\b["']?\s*(?::=|=>|\?\?=|\|\|=|[:=])\s*[bfru]?["'`]([^"'`\s]{8,200})["'`]"#,
        group: 1,
        keywords: &[
            "passw",
            "pwd",
            "secret",
            "token",
            "api_key",
            "apikey",
            "api-key",
            "access_key",
            "accesskey",
            "auth_key",
            "authkey",
            "private_key",
            "credential",
        ],
        min_entropy: Some(3.5),
        file_suffixes: &[],
        near: None,
    },
    Rule {
        id: "generic-secret-env",
        description: "High-entropy value of a PASSWORD / SECRET / TOKEN / KEY setting (.env, YAML, properties)",
        // A YAML list item (`- NAME=value`, as compose's `environment:` writes them) counts too;
        // `#` is part of a value, and starts a comment only after a blank.
        regex: r#"(?im)^[ \t]*(?:-[ \t]+)?(?:export[ \t]+)?[A-Za-z0-9_.-]*(?:passw(?:or)?d|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[A-Za-z0-9_.-]*[ \t]*[=:][ \t]*([A-Za-z0-9+/=_.~!@$%^*-][A-Za-z0-9+/=_.~!@$%^*#&?,;-]{7,199})[ \t]*(?:[ \t]#[^\n]*)?\r?$"#,
        group: 1,
        keywords: &[
            "passw",
            "secret",
            "token",
            "api_key",
            "apikey",
            "api-key",
            "access_key",
            "private_key",
            "credential",
        ],
        min_entropy: Some(3.5),
        file_suffixes: SETTINGS_FILES,
        near: None,
    },
    // Credential pairs: last, so that a rule that names the secret (`aws_secret_access_key =`)
    // wins on the same bytes and these add only what nothing else found.
    paired(
        "aws-credential-pair",
        "AWS secret access key beside its access key ID (a credentials CSV, a tuple, positional arguments)",
        r"(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        &["akia", "asia"],
        // Random base64 has about 5 bits a character; a 40-digit hex hash (a git commit id)
        // cannot exceed 4.
        4.3,
        Near { regex: r"\b(?:AKIA|ASIA)[A-Z2-7]{16}\b", lines: 3, section: None },
    ),
    paired(
        "twilio-credential-pair",
        "Twilio auth token beside its account SID",
        r"\b([0-9a-f]{32})\b",
        &["ac"],
        3.0,
        Near { regex: r"\bAC[0-9a-f]{32}\b", lines: 3, section: None },
    ),
    paired(
        "oauth-client-credential-pair",
        "OAuth client secret beside its client ID, in a quoted string that names neither",
        // No dots: a dotted string near a client id is a host or client name
        // (`….apps.googleusercontent.com`), a version, a document name.
        r#"["'`]([A-Za-z0-9_~+/=-]{24,128})["'`]"#,
        &["client_id", "clientid", "client-id", "consumer_key", "consumerkey"],
        // 40 random hex digits (a GitHub OAuth app's secret) have 3.5 to 4 bits a character.
        3.2,
        Near {
            // The id's own value, when it is assigned, is part of the match and so never taken
            // for the secret.
            regex: r#"(?i)\b(?:client[_-]?id|consumer[_-]?key)\b["']?(?:\s*(?::=|=>|[:=])\s*[bfru]?["'`][^"'`\n]*["'`])?"#,
            lines: 3,
            section: None,
        },
    ),
];
