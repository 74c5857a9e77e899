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
    Rule { id, description, regex, group: 1, keywords, min_entropy: None, file_suffixes: &[] }
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
    // Keys, tokens and credentials of any origin.
    Rule {
        id: "private-key",
        description: "Private key (PEM, OpenSSH, PGP)",
        regex: r"(-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]{64,}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)",
        group: 1,
        keywords: &["-----begin"],
        min_entropy: None,
        file_suffixes: &[],
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
    },
];
