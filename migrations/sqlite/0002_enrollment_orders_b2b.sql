-- mitx schema, part 2 (SQLite twin of migrations/postgres/0002_enrollment_orders_b2b.sql).
-- Same tables, columns, constraints and index names. Types: money is an INTEGER count of
-- 1e-5 dollars (exact; money checks are written as `>= 0` so they hold in both units),
-- times are RFC 3339 TEXT in UTC, dates 'YYYY-MM-DD' TEXT, BOOLEAN has numeric affinity.
-- UUIDs and raw JSON payloads are TEXT on both backends.
--
-- Not here: a foreign key from course_runs.b2b_contract_id to contracts. SQLite cannot add a
-- foreign key to an existing column with ALTER TABLE, so the link is checked by the store.

-- ---------------------------------------------------------------------------------------
-- Catalog additions
-- ---------------------------------------------------------------------------------------

-- Variant sets a course supports (language, length, industry); at most one default.
CREATE TABLE course_variant_options (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    language TEXT NOT NULL DEFAULT '' CHECK (length(language) <= 8),
    variant_length TEXT NOT NULL DEFAULT '' CHECK (variant_length IN ('', 'S')),
    variant_industry TEXT NOT NULL DEFAULT '' CHECK (variant_industry IN ('', 'E', 'F', 'HC')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    b2b_only BOOLEAN NOT NULL DEFAULT FALSE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (course_id, language, variant_length, variant_industry)
);
CREATE UNIQUE INDEX course_variant_options_one_default ON course_variant_options (course_id) WHERE is_default;

-- Program runs (sales only): id text is "{program.readable_id}+{run_tag}".
CREATE TABLE program_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    run_tag TEXT NOT NULL CHECK (length(run_tag) BETWEEN 1 AND 10),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (program_id, run_tag)
);

CREATE TABLE program_collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    description TEXT NOT NULL DEFAULT '',
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE program_collection_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id BIGINT NOT NULL REFERENCES program_collections (id) ON DELETE CASCADE,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    UNIQUE (collection_id, program_id)
);

-- ---------------------------------------------------------------------------------------
-- Users: partner-facing additions
-- ---------------------------------------------------------------------------------------

ALTER TABLE users ADD COLUMN hubspot_sync_datetime TEXT;

-- Retired learners who may not sign up again: MD5 hex of the lower-cased email.
CREATE TABLE blocked_emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hashed_email TEXT NOT NULL UNIQUE CHECK (length(hashed_email) = 32),
    created_on TEXT NOT NULL
);

-- Open edX account of a user (platform 'edx'); "exists in edX" = has_been_synced.
CREATE TABLE openedx_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform TEXT NOT NULL DEFAULT 'edx' CHECK (length(platform) BETWEEN 1 AND 20),
    edx_username TEXT UNIQUE CHECK (edx_username IS NULL OR length(edx_username) BETWEEN 1 AND 30),
    desired_edx_username TEXT CHECK (desired_edx_username IS NULL OR length(desired_edx_username) <= 30),
    has_been_synced BOOLEAN NOT NULL DEFAULT FALSE,
    has_sync_error BOOLEAN NOT NULL DEFAULT FALSE,
    sync_error_data TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, platform)
);

-- The user's OAuth tokens for Open edX (one row per user).
CREATE TABLE openedx_api_auth (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    refresh_token TEXT NOT NULL,
    access_token TEXT,
    access_token_expires_on TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

-- HubSpot ids of local objects, unique per (type, local id) and per (type, HubSpot id).
CREATE TABLE hubspot_objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_type TEXT NOT NULL CHECK (content_type IN ('user', 'order', 'line', 'product')),
    object_id BIGINT NOT NULL,
    hubspot_id TEXT NOT NULL CHECK (length(hubspot_id) BETWEEN 1 AND 255),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (content_type, object_id),
    UNIQUE (content_type, hubspot_id)
);

-- ---------------------------------------------------------------------------------------
-- Enrollments, grades, certificates
-- ---------------------------------------------------------------------------------------

CREATE TABLE course_run_enrollments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    run_id BIGINT NOT NULL REFERENCES course_runs (id) ON DELETE RESTRICT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    change_status TEXT CHECK (change_status IS NULL OR change_status IN
        ('deferred', 'transferred', 'refunded', 'unenrolled')),
    enrollment_mode TEXT NOT NULL DEFAULT 'audit' CHECK (enrollment_mode IN ('audit', 'verified')),
    edx_enrolled BOOLEAN NOT NULL DEFAULT FALSE,
    edx_emails_subscription BOOLEAN NOT NULL DEFAULT TRUE,
    edx_enrollment_retry_count INTEGER NOT NULL DEFAULT 0 CHECK (edx_enrollment_retry_count >= 0),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, run_id)
);
CREATE INDEX course_run_enrollments_run ON course_run_enrollments (run_id, active);

-- Every domain-layer create/update of an enrollment: before/after as JSON text.
CREATE TABLE course_run_enrollment_audits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enrollment_id BIGINT NOT NULL REFERENCES course_run_enrollments (id) ON DELETE CASCADE,
    acting_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    data_before TEXT,
    data_after TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX course_run_enrollment_audits_enrollment ON course_run_enrollment_audits (enrollment_id);

CREATE TABLE program_enrollments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE RESTRICT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    change_status TEXT CHECK (change_status IS NULL OR change_status IN
        ('deferred', 'transferred', 'refunded', 'unenrolled')),
    enrollment_mode TEXT NOT NULL DEFAULT 'audit' CHECK (enrollment_mode IN ('audit', 'verified')),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, program_id)
);
CREATE INDEX program_enrollments_program ON program_enrollments (program_id, active);

CREATE TABLE program_enrollment_audits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enrollment_id BIGINT NOT NULL REFERENCES program_enrollments (id) ON DELETE CASCADE,
    acting_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    data_before TEXT,
    data_after TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX program_enrollment_audits_enrollment ON program_enrollment_audits (enrollment_id);

-- 0.0 <= grade <= 2.0 (extra credit allowed); grade_percent is derived, not stored.
CREATE TABLE course_run_grades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_run_id BIGINT NOT NULL REFERENCES course_runs (id) ON DELETE RESTRICT,
    grade REAL CHECK (grade IS NULL OR (grade >= 0 AND grade <= 2)),
    letter_grade TEXT CHECK (letter_grade IS NULL OR length(letter_grade) <= 10),
    passed BOOLEAN NOT NULL DEFAULT FALSE,
    set_by_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, course_run_id)
);
CREATE INDEX course_run_grades_run ON course_run_grades (course_run_id);

CREATE TABLE course_run_grade_audits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grade_id BIGINT NOT NULL REFERENCES course_run_grades (id) ON DELETE CASCADE,
    acting_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    data_before TEXT,
    data_after TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX course_run_grade_audits_grade ON course_run_grade_audits (grade_id);

-- Signed Open Badges 3.0 credentials; uuid is the signer's urn:uuid id without the prefix.
CREATE TABLE verifiable_credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    credential_data TEXT NOT NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

-- "Active" certificates: is_revoked = false AND issue_date <= now.
-- certificate_page_revision_id pins the CMS certificate page revision (no CMS table here).
CREATE TABLE course_run_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_run_id BIGINT NOT NULL REFERENCES course_runs (id) ON DELETE RESTRICT,
    uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    is_revoked BOOLEAN NOT NULL DEFAULT FALSE,
    issue_date TEXT NOT NULL,
    certificate_page_revision_id BIGINT,
    verifiable_credential_id BIGINT UNIQUE REFERENCES verifiable_credentials (id) ON DELETE SET NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, course_run_id)
);
CREATE INDEX course_run_certificates_run ON course_run_certificates (course_run_id);

CREATE TABLE program_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE RESTRICT,
    uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    is_revoked BOOLEAN NOT NULL DEFAULT FALSE,
    issue_date TEXT NOT NULL,
    certificate_page_revision_id BIGINT,
    verifiable_credential_id BIGINT UNIQUE REFERENCES verifiable_credentials (id) ON DELETE SET NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, program_id)
);
CREATE INDEX program_certificates_program ON program_certificates (program_id);

-- ---------------------------------------------------------------------------------------
-- Learner-record sharing
-- ---------------------------------------------------------------------------------------

CREATE TABLE partner_schools (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    email TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE partner_school_programs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_school_id BIGINT NOT NULL REFERENCES partner_schools (id) ON DELETE CASCADE,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    alt_email TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (partner_school_id, program_id, email)
);

-- partner_school_id NULL = the public link; at most one of those per (program, user).
CREATE TABLE learner_program_record_shares (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    share_uuid TEXT NOT NULL UNIQUE CHECK (length(share_uuid) = 36),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    partner_school_id BIGINT REFERENCES partner_schools (id) ON DELETE CASCADE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (program_id, user_id, partner_school_id)
);
CREATE UNIQUE INDEX learner_program_record_shares_public ON learner_program_record_shares (program_id, user_id) WHERE partner_school_id IS NULL;

-- ---------------------------------------------------------------------------------------
-- Baskets
-- ---------------------------------------------------------------------------------------

-- Exactly one owner: a user (one basket per user) or an anonymous browser id (UUID text).
CREATE TABLE baskets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    anonymous_id TEXT UNIQUE CHECK (anonymous_id IS NULL OR length(anonymous_id) = 36),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (anonymous_id IS NULL))
);

CREATE TABLE basket_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    basket_id BIGINT NOT NULL REFERENCES baskets (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX basket_items_basket ON basket_items (basket_id);

-- A code attached to a basket; at most one per (user, basket).
CREATE TABLE basket_discounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    redemption_date TEXT NOT NULL,
    redeemed_by_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redeemed_discount_id BIGINT NOT NULL REFERENCES discounts (id) ON DELETE CASCADE,
    redeemed_basket_id BIGINT NOT NULL REFERENCES baskets (id) ON DELETE CASCADE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (redeemed_by_id, redeemed_basket_id)
);

-- ---------------------------------------------------------------------------------------
-- Orders and payments
-- ---------------------------------------------------------------------------------------

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fulfilled', 'canceled',
        'declined', 'errored', 'refunded', 'review', 'partially_refunded')),
    purchaser_id BIGINT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    total_price_paid INTEGER NOT NULL DEFAULT 0 CHECK (total_price_paid >= 0),
    reference_number TEXT UNIQUE CHECK (reference_number IS NULL OR length(reference_number) <= 255),
    gateway_type TEXT NOT NULL DEFAULT 'CyberSource' CHECK (gateway_type IN ('CyberSource', 'Stripe')),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX orders_purchaser ON orders (purchaser_id, state);
CREATE INDEX orders_state ON orders (state);

-- quantity is always 1 today; purchased_* copy the snapshot's target for the unique key.
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_version_id BIGINT NOT NULL REFERENCES product_versions (id) ON DELETE RESTRICT,
    quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0),
    purchased_content_type TEXT NOT NULL CHECK (purchased_content_type IN ('courserun', 'program')),
    purchased_object_id BIGINT NOT NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (order_id, purchased_content_type, purchased_object_id)
);
CREATE INDEX order_lines_product_version ON order_lines (product_version_id);

-- Payments and refunds; data is the raw gateway payload (JSON text).
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id TEXT NOT NULL UNIQUE CHECK (length(transaction_id) BETWEEN 1 AND 255),
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE RESTRICT,
    amount INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
    data TEXT NOT NULL DEFAULT '{}',
    transaction_type TEXT NOT NULL DEFAULT 'payment' CHECK (transaction_type IN ('payment', 'refund')),
    reason TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 255),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX transactions_order ON transactions (order_id, id);

-- Created when a pending order is built (not at payment time).
CREATE TABLE discount_redemptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    redemption_date TEXT NOT NULL,
    redeemed_by_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redeemed_discount_id BIGINT NOT NULL REFERENCES discounts (id) ON DELETE CASCADE,
    redeemed_order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX discount_redemptions_discount ON discount_redemptions (redeemed_discount_id);
CREATE INDEX discount_redemptions_order ON discount_redemptions (redeemed_order_id);

-- Written on fulfilment; "paid" checks count only rows whose order is fulfilled.
CREATE TABLE paid_course_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_run_id BIGINT NOT NULL REFERENCES course_runs (id) ON DELETE RESTRICT,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, course_run_id, order_id)
);
CREATE INDEX paid_course_runs_order ON paid_course_runs (order_id);

CREATE TABLE paid_programs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE RESTRICT,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, program_id, order_id)
);
CREATE INDEX paid_programs_order ON paid_programs (order_id);

-- Learners' self-service refund requests (status changes have no side effects).
CREATE TABLE refund_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refund_reason TEXT NOT NULL DEFAULT '' CHECK (refund_reason IN ('', 'enrolled_in_another_course',
        'course_not_as_expected', 'technical_difficulties', 'financial_reasons', 'other')),
    refund_reason_text TEXT NOT NULL DEFAULT '',
    consent_given BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX refund_requests_order ON refund_requests (order_id);

-- Every Stripe webhook event; after creation only related_order_id may change.
CREATE TABLE stripe_event_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL DEFAULT 'invalid.event',
    event_data TEXT NOT NULL,
    related_order_id BIGINT REFERENCES orders (id) ON DELETE SET NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX stripe_event_logs_event ON stripe_event_logs (event_id);

-- ---------------------------------------------------------------------------------------
-- Flexible pricing: raw form submissions
-- ---------------------------------------------------------------------------------------

CREATE TABLE flexible_price_submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    form_data TEXT NOT NULL,
    created_on TEXT NOT NULL
);

ALTER TABLE flexible_prices ADD COLUMN cms_submission_id BIGINT REFERENCES flexible_price_submissions (id) ON DELETE SET NULL;

-- ---------------------------------------------------------------------------------------
-- B2B
-- ---------------------------------------------------------------------------------------

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    org_key TEXT NOT NULL UNIQUE CHECK (length(org_key) BETWEEN 1 AND 30),
    org_key_prefix TEXT NOT NULL DEFAULT 'UAI_' CHECK (length(org_key_prefix) <= 30),
    description TEXT NOT NULL DEFAULT '',
    logo TEXT,
    sso_organization_id TEXT UNIQUE CHECK (sso_organization_id IS NULL OR length(sso_organization_id) = 36),
    slug TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 255),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE user_organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    keep_until_seen BOOLEAN NOT NULL DEFAULT FALSE,
    is_manager BOOLEAN NOT NULL DEFAULT FALSE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (user_id, organization_id)
);
CREATE INDEX user_organizations_organization ON user_organizations (organization_id);

-- contract_start/contract_end are calendar dates (TEXT here, 'YYYY-MM-DD' text on SQLite).
-- max_learners and enrollment_fixed_price: NULL or 0 = unlimited / free.
CREATE TABLE contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    slug TEXT NOT NULL CHECK (length(slug) BETWEEN 1 AND 255),
    membership_type TEXT NOT NULL DEFAULT 'managed' CHECK (membership_type IN ('managed', 'code', 'auto')),
    contract_start TEXT,
    contract_end TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    max_learners INTEGER CHECK (max_learners IS NULL OR max_learners >= 0),
    enrollment_fixed_price INTEGER CHECK (enrollment_fixed_price IS NULL OR enrollment_fixed_price >= 0),
    description TEXT NOT NULL DEFAULT '',
    welcome_message TEXT NOT NULL DEFAULT '' CHECK (length(welcome_message) <= 255),
    welcome_message_extra TEXT NOT NULL DEFAULT '',
    google_sheet_target TEXT NOT NULL DEFAULT '' CHECK (length(google_sheet_target) <= 1024),
    google_sheet_target_tab TEXT NOT NULL DEFAULT 'Sheet1',
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (organization_id, slug),
    CHECK (contract_end IS NULL OR contract_start IS NULL OR contract_end >= contract_start)
);

CREATE TABLE contract_programs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id BIGINT NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    UNIQUE (contract_id, program_id)
);

-- Learners attached to a contract.
CREATE TABLE contract_learners (
    contract_id BIGINT NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_on TEXT NOT NULL,
    PRIMARY KEY (contract_id, user_id)
);
CREATE INDEX contract_learners_user ON contract_learners (user_id);

-- Supported variant sets of a contract; at most one default.
CREATE TABLE contract_variant_options (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id BIGINT NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    language TEXT NOT NULL DEFAULT '' CHECK (length(language) <= 8),
    variant_length TEXT NOT NULL DEFAULT '' CHECK (variant_length IN ('', 'S')),
    variant_industry TEXT NOT NULL DEFAULT '' CHECK (variant_industry IN ('', 'E', 'F', 'HC')),
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (contract_id, language, variant_length, variant_industry)
);
CREATE UNIQUE INDEX contract_variant_options_one_default ON contract_variant_options (contract_id) WHERE is_default;

-- Enrollment-code assignment/attachment records (status: none = unassigned; user or
-- redeemed_on = redeemed; else assigned) with Mailgun delivery tracking.
CREATE TABLE discount_contract_attachment_redemptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    discount_id BIGINT NOT NULL REFERENCES discounts (id) ON DELETE CASCADE,
    contract_id BIGINT NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    assigned_email TEXT NOT NULL DEFAULT '',
    assigned_name TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    redeemed_on TEXT,
    last_reminder_sent_on TEXT,
    email_message_id TEXT,
    email_status TEXT CHECK (email_status IS NULL OR email_status IN
        ('pending', 'accepted', 'delivered', 'opened', 'clicked', 'failed')),
    email_status_event_timestamp TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX discount_contract_attachment_redemptions_discount ON discount_contract_attachment_redemptions (discount_id);
CREATE INDEX discount_contract_attachment_redemptions_contract ON discount_contract_attachment_redemptions (contract_id);
CREATE INDEX discount_contract_attachment_redemptions_message ON discount_contract_attachment_redemptions (email_message_id);

-- ---------------------------------------------------------------------------------------
-- Google Sheets: refund and deferral request rows, OAuth-client credentials
-- ---------------------------------------------------------------------------------------

CREATE TABLE sheet_refund_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    form_response_id BIGINT NOT NULL UNIQUE,
    date_completed TEXT,
    raw_data TEXT NOT NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE sheet_deferral_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    form_response_id BIGINT NOT NULL UNIQUE,
    date_completed TEXT,
    raw_data TEXT NOT NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE google_api_auth (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    requesting_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    access_token TEXT NOT NULL CHECK (length(access_token) <= 2048),
    refresh_token TEXT CHECK (refresh_token IS NULL OR length(refresh_token) <= 512),
    access_token_expires_on TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

-- ---------------------------------------------------------------------------------------
-- Platform: durable jobs (transactional outbox) and idempotency keys
-- ---------------------------------------------------------------------------------------

-- Written in the same transaction as the domain change; workers claim queued rows whose
-- run_after has passed (FOR UPDATE SKIP LOCKED on PostgreSQL; one writer at a time here).
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 64),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_after TEXT NOT NULL,
    locked_by TEXT,
    locked_at TEXT,
    last_error TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);
CREATE INDEX jobs_status_run_after ON jobs (status, run_after);

-- A repeated request (callback, refund) finds its saved outcome instead of redoing the work.
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 255),
    scope TEXT NOT NULL,
    response TEXT,
    created_on TEXT NOT NULL
);
