//! Every setting mitx reads, with its default: the one list that `mitx config show` prints,
//! the typed settings read through, and docs/configuration.md documents (a test checks the
//! document names every entry).

/// One known setting.
#[derive(Clone, Copy, Debug)]
pub struct SettingSpec {
    /// The environment variable.
    pub name: &'static str,
    /// The value used when the variable is unset.
    pub default: &'static str,
    /// Shown redacted.
    pub secret: bool,
    /// What it is for.
    pub description: &'static str,
}

const fn spec(name: &'static str, default: &'static str, description: &'static str) -> SettingSpec {
    SettingSpec {
        name,
        default,
        secret: false,
        description,
    }
}

const fn secret(name: &'static str, description: &'static str) -> SettingSpec {
    SettingSpec {
        name,
        default: "",
        secret: true,
        description,
    }
}

/// Every setting, grouped by concern (the order `mitx config show` prints).
pub const SETTINGS: &[SettingSpec] = &[
    // Database
    spec(
        "DATABASE_URL",
        "sqlite://mitx.db",
        "database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB (password shown redacted)",
    ),
    spec(
        "MITX_DB_MAX_CONNECTIONS",
        "",
        "connections per process (empty: 4 on SQLite, 10 on PostgreSQL)",
    ),
    spec(
        "MITX_DB_ACQUIRE_TIMEOUT_SECONDS",
        "30",
        "how long a request waits for a free connection before answering 503",
    ),
    spec(
        "MITX_SQLITE_BUSY_TIMEOUT_SECONDS",
        "10",
        "how long a SQLite writer waits for the write lock before answering 503",
    ),
    // Site
    spec(
        "SITE_BASE_URL",
        "http://localhost:8000",
        "public base URL of this site (links in emails)",
    ),
    spec("SITE_NAME", "MITx Online", "site name in emails"),
    spec(
        "ENVIRONMENT",
        "dev",
        "environment name in order reference numbers (mitxonline-{ENVIRONMENT}-{id})",
    ),
    // HTTP server
    spec(
        "MITX_BIND",
        "127.0.0.1:8000",
        "address `mitx serve` listens on (--bind overrides it)",
    ),
    spec(
        "MITOL_APIGATEWAY_DISABLE_MIDDLEWARE",
        "true",
        "when true the X-Userinfo header is ignored",
    ),
    spec(
        "USE_X_FORWARDED_HOST",
        "false",
        "when true, absolute URLs (pagination links) use X-Forwarded-Host/-Proto; set it only behind a proxy that overwrites those headers (otherwise they come from SITE_BASE_URL)",
    ),
    spec(
        "CSRF_TRUSTED_ORIGINS",
        "",
        "comma-separated origins (https://host[:port]) whose pages may send unsafe requests with a signed-in learner's gateway header; SITE_BASE_URL's origin is always trusted",
    ),
    spec(
        "MITX_HTTP_HEADER_TIMEOUT_SECONDS",
        "10",
        "a connection that has not sent a whole request header within this time is closed (also the limit for an idle keep-alive connection)",
    ),
    spec(
        "MITX_HTTP_BODY_TIMEOUT_SECONDS",
        "30",
        "a request body not received within this time is refused (408)",
    ),
    spec(
        "MITX_HTTP_MAX_BODY_BYTES",
        "65536",
        "largest JSON request body accepted (413 above it); form posts accept at most 8192 bytes",
    ),
    spec(
        "MITX_SHUTDOWN_GRACE_SECONDS",
        "30",
        "on SIGTERM/Ctrl-C, how long in-flight requests and jobs may take to finish",
    ),
    spec(
        "MITX_CATALOG_CACHE_MAX_BYTES",
        "67108864",
        "memory the rendered-catalog cache may use, in bytes (0 turns the cache off)",
    ),
    spec(
        "MITX_CATALOG_CACHE_TTL_SECONDS",
        "60",
        "longest time a rendered catalog response is reused (catalog writes invalidate it at once)",
    ),
    spec(
        "MITX_LOG_FORMAT",
        "human",
        "`human` (timestamped lines) or `json` (one JSON object per line) for logs on stderr",
    ),
    secret(
        "MITX_METRICS_TOKEN",
        "when set, GET /metrics requires `Authorization: Bearer <token>`",
    ),
    spec(
        "SYNC_ON_DASHBOARD_LOAD",
        "false",
        "the v1 and v2 enrollment lists reconcile the learner's enrollments with edX first (courses spec 2.11)",
    ),
    // Open edX
    spec(
        "OPENEDX_API_BASE_URL",
        "",
        "Open edX LMS base URL (empty: edX is not configured and every edX call fails)",
    ),
    spec(
        "OPENEDX_COURSE_BASE_URL",
        "http://localhost:18000",
        "base of courseware URLs (/learn/course/{id}/home)",
    ),
    secret(
        "OPENEDX_SERVICE_WORKER_API_TOKEN",
        "bearer token of the edX service worker (enrollments, grades, courses)",
    ),
    spec(
        "OPENEDX_SERVICE_WORKER_USERNAME",
        "",
        "edX username of the service worker",
    ),
    secret(
        "MITX_ONLINE_REGISTRATION_ACCESS_TOKEN",
        "sent as X-Access-Token when creating edX accounts",
    ),
    spec(
        "OPENEDX_OAUTH_PROVIDER",
        "mitxpro-oauth2",
        "social-auth provider name sent when creating edX accounts",
    ),
    spec(
        "OPENEDX_API_CLIENT_ID",
        "",
        "OAuth client id for refreshing learners' edX tokens",
    ),
    secret(
        "OPENEDX_API_CLIENT_SECRET",
        "OAuth client secret for refreshing learners' edX tokens",
    ),
    spec(
        "OPENEDX_STUDIO_API_BASE_URL",
        "",
        "Open edX Studio base URL (course-run schedule updates of `mitx catalog retire-run`)",
    ),
    spec(
        "OPENEDX_COURSES_SERVICE_WORKER_CLIENT_ID",
        "",
        "OAuth client whose JWT authenticates Studio calls (client_credentials)",
    ),
    secret(
        "OPENEDX_COURSES_SERVICE_WORKER_CLIENT_SECRET",
        "secret of the Studio JWT client",
    ),
    spec(
        "MITX_OPENEDX_TIMEOUT_SECONDS",
        "60",
        "timeout of each edX HTTP call",
    ),
    spec(
        "IGNORE_EDX_FAILURES",
        "false",
        "keep enrollments locally when edX fails (the retry job completes them later)",
    ),
    // Email
    spec(
        "MITX_EMAIL_BACKEND",
        "file",
        "`file` (write each message to MITX_EMAIL_OUTBOX) or `smtp` (send through MITX_SMTP_URL)",
    ),
    spec(
        "MITX_EMAIL_OUTBOX",
        "mitx-outbox",
        "folder the file backend writes .eml messages to",
    ),
    secret(
        "MITX_SMTP_URL",
        "SMTP server for the smtp backend: smtp://USER:PASSWORD@HOST:587?tls=required or smtps://...",
    ),
    spec(
        "MITX_ONLINE_FROM_EMAIL",
        "MITx Online <mitxonline-support@mit.edu>",
        "sender of every email",
    ),
    spec(
        "MITX_ONLINE_REPLY_TO_ADDRESS",
        "mitxonline-support@mit.edu",
        "Reply-To of every email",
    ),
    spec(
        "MITX_ONLINE_SUPPORT_EMAIL",
        "mitxonline-support@mit.edu",
        "where enrollment-failure reports go",
    ),
    spec(
        "REFUND_REQUEST_EMAIL",
        "",
        "where learners' refund requests are announced (empty: MITX_ONLINE_REFUND_REQUEST_EMAIL, else the support address)",
    ),
    spec(
        "MITX_ONLINE_REFUND_REQUEST_EMAIL",
        "",
        "the same as REFUND_REQUEST_EMAIL (the name of the integrations spec); REFUND_REQUEST_EMAIL wins",
    ),
    spec(
        "MAILGUN_RECIPIENT_OVERRIDE",
        "",
        "when set, every email goes to this address instead (development)",
    ),
    spec(
        "MIT_LEARN_FROM_EMAIL",
        "MIT Learn <mitlearn-support@mit.edu>",
        "sender of UAI course emails",
    ),
    spec(
        "MIT_LEARN_REPLY_TO_EMAIL",
        "mitlearn-support@mit.edu",
        "Reply-To of UAI course emails",
    ),
    spec(
        "MIT_LEARN_DASHBOARD_URL",
        "https://learn.mit.edu/dashboard",
        "dashboard link in UAI course emails",
    ),
    // Worker and schedule
    spec(
        "MITX_WORKER_CONCURRENCY",
        "4",
        "jobs one worker runs at once (--concurrency overrides it)",
    ),
    spec(
        "MITX_WORKER_LEASE_SECONDS",
        "60",
        "a running job's lease; a job whose worker died runs again after it expires",
    ),
    spec(
        "MITX_WORKER_POLL_MILLISECONDS",
        "500",
        "how often an idle worker looks for due jobs",
    ),
    spec(
        "MITX_WORKER_SCHEDULE",
        "true",
        "run the periodic schedule inside `mitx worker` (false when cron runs `mitx jobs run`)",
    ),
    spec(
        "MITX_JOBS_RETENTION_DAYS",
        "14",
        "finished jobs older than this are deleted by the daily purge",
    ),
    spec(
        "RETRY_FAILED_EDX_ENROLLMENT_FREQUENCY",
        "1800",
        "seconds between runs of the edX enrollment retry job",
    ),
    spec(
        "REPAIR_OPENEDX_USERS_FREQUENCY",
        "1800",
        "seconds between runs of the edX user repair job (offset by half)",
    ),
    spec(
        "DISABLE_USER_REPAIR_TASK",
        "false",
        "when true the edX user repair job is not scheduled",
    ),
    // Certificates, verifiable credentials and learner records
    spec(
        "MIT_LEARN_BASE_URL",
        "https://learn.mit.edu",
        "base of the achievement ids in verifiable credentials ({base}/courses/{readable_id})",
    ),
    spec(
        "VERIFIABLE_CREDENTIAL_SIGNER_URL",
        "",
        "external signer credentials are POSTed to (empty: mitx signs with MITX_CREDENTIAL_SIGNING_KEY, or issues none)",
    ),
    secret(
        "VERIFIABLE_CREDENTIAL_BEARER_TOKEN",
        "bearer token sent to the external signer",
    ),
    spec(
        "VERIFIABLE_CREDENTIAL_DID",
        "",
        "issuer did:key id (without `did:key:`) named in credentials sent to the external signer",
    ),
    secret(
        "MITX_CREDENTIAL_SIGNING_KEY",
        "Ed25519 seed (32 bytes, hex or base64) mitx signs credentials with (VC-JWT) when no signer URL is set; the issuer is its did:key",
    ),
    spec(
        "ENABLE_PROGRAM_SPECIFIC_PATHWAY_SCHOOLS",
        "false",
        "learner records offer only the partner schools linked to the program (else every active school)",
    ),
    spec(
        "CERTIFICATE_CREATION_WINDOW_IN_DAYS",
        "31",
        "certificate job looks at runs whose certificate date is within this many days",
    ),
    spec(
        "MITX_CERTIFICATE_BATCH_SIZE",
        "1000",
        "learners per certificate unit of work (grades, certificates and their jobs commit together)",
    ),
    // Commerce
    spec(
        "ECOMMERCE_DEFAULT_PAYMENT_GATEWAY",
        "CyberSource",
        "payment gateway for checkout",
    ),
    spec(
        "ENABLE_MULTIPLE_CART_ITEMS",
        "false",
        "allow several products in a basket",
    ),
    spec(
        "ANONYMOUS_BASKET_CULL_AGE",
        "1209600",
        "seconds after which idle anonymous baskets are deleted",
    ),
    secret(
        "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY",
        "CyberSource Secure Acceptance signing key (HMAC-SHA256 of the checkout form and of the callbacks)",
    ),
    secret(
        "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_ACCESS_KEY",
        "CyberSource Secure Acceptance access key (`access_key` of the checkout form)",
    ),
    spec(
        "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_PROFILE_ID",
        "",
        "CyberSource Secure Acceptance profile id (`profile_id` of the checkout form)",
    ),
    spec(
        "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURE_ACCEPTANCE_URL",
        "https://testsecureacceptance.cybersource.com/pay",
        "where the checkout form posts (`mitx serve --demo` points it at its own demo payment page)",
    ),
    // Payment partners' server-side APIs (refunds, pending-order resolution, Stripe)
    spec(
        "MITX_CYBERSOURCE_REST_API_BASE_URL",
        "https://apitest.cybersource.com",
        "CyberSource REST API (refunds, transaction search); https://api.cybersource.com in production",
    ),
    spec(
        "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_ID",
        "",
        "CyberSource merchant id (v-c-merchant-id of REST calls)",
    ),
    spec(
        "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET_KEY_ID",
        "",
        "key id of the CyberSource REST shared secret (HTTP Signature keyid)",
    ),
    secret(
        "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET",
        "CyberSource REST shared secret key (base64, from the Business Center)",
    ),
    spec(
        "MITX_STRIPE_API_BASE_URL",
        "https://api.stripe.com",
        "Stripe API base URL",
    ),
    secret(
        "MITOL_PAYMENT_GATEWAY_STRIPE_API_KEY",
        "Stripe secret (or restricted) API key",
    ),
    secret(
        "MITX_STRIPE_WEBHOOK_SECRETS",
        "comma-separated Stripe webhook endpoint secrets (whsec_...) accepted on POST /webhook/stripe/",
    ),
    spec(
        "MITX_PAYMENT_API_TIMEOUT_SECONDS",
        "30",
        "timeout of each CyberSource REST and Stripe API call",
    ),
    spec(
        "MITX_DISCOUNT_CODES_CSV",
        "generated-codes.csv",
        "where `mitx discounts generate` writes its CSV",
    ),
];

/// The spec of a setting by name.
pub fn setting(name: &str) -> Option<&'static SettingSpec> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// One setting's effective value, as `mitx config show` prints it.
#[derive(Clone, Debug)]
pub struct SettingValue {
    /// The environment variable.
    pub name: &'static str,
    /// The effective value.
    pub value: String,
    /// Whether it came from the environment (else the default).
    pub from_env: bool,
    /// Shown redacted.
    pub secret: bool,
    /// What it is for.
    pub description: &'static str,
}

impl SettingValue {
    /// The value as shown to people: secrets as `***` (or empty when unset), and the
    /// password of any URL hidden.
    pub fn display_value(&self) -> String {
        if self.secret && !self.value.is_empty() {
            "***".into()
        } else if self.value.contains("://") {
            // Any URL (the database's, a partner's) may carry a password.
            mitx_store::redact(&self.value)
        } else {
            self.value.clone()
        }
    }
}

/// Every setting's effective value, read through `lookup`.
pub fn effective_values(lookup: &dyn Fn(&str) -> Option<String>) -> Vec<SettingValue> {
    SETTINGS
        .iter()
        .map(|spec| {
            let found = lookup(spec.name);
            SettingValue {
                name: spec.name,
                from_env: found.is_some(),
                value: found.unwrap_or_else(|| spec.default.to_owned()),
                secret: spec.secret,
                description: spec.description,
            }
        })
        .collect()
}
