-- mitx schema, part 1 (SQLite twin of migrations/postgres/0001_catalog_users_commerce.sql).
-- Same tables, columns, constraints and names. Types: money is an INTEGER count of
-- 1e-5 dollars (exact), times are RFC 3339 TEXT in UTC, BOOLEAN has numeric affinity.

CREATE TABLE departments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
    slug TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 128),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE courses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    readable_id TEXT NOT NULL UNIQUE CHECK (length(readable_id) BETWEEN 1 AND 255),
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    live BOOLEAN NOT NULL DEFAULT FALSE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE course_departments (
    course_id BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    department_id BIGINT NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    PRIMARY KEY (course_id, department_id)
);

CREATE TABLE blocked_countries (
    course_id BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    country TEXT NOT NULL CHECK (length(country) = 2),
    PRIMARY KEY (course_id, country)
);

CREATE TABLE course_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id BIGINT NOT NULL REFERENCES courses (id) ON DELETE RESTRICT,
    title TEXT NOT NULL CHECK (length(title) <= 255),
    courseware_id TEXT NOT NULL UNIQUE CHECK (length(courseware_id) BETWEEN 1 AND 255),
    run_tag TEXT NOT NULL CHECK (length(run_tag) <= 100),
    start_date TEXT,
    end_date TEXT,
    enrollment_start TEXT,
    enrollment_end TEXT,
    certificate_available_date TEXT,
    upgrade_deadline TEXT,
    expiration_date TEXT,
    live BOOLEAN NOT NULL DEFAULT FALSE,
    is_self_paced BOOLEAN NOT NULL DEFAULT FALSE,
    offers_audit BOOLEAN NOT NULL DEFAULT TRUE,
    offers_verified BOOLEAN NOT NULL DEFAULT FALSE,
    b2b_contract_id BIGINT,
    is_source_run BOOLEAN NOT NULL DEFAULT FALSE,
    is_primary_language BOOLEAN NOT NULL DEFAULT TRUE,
    language TEXT NOT NULL DEFAULT 'en' CHECK (length(language) <= 8),
    has_courseware_url BOOLEAN NOT NULL DEFAULT TRUE,
    variant_length TEXT NOT NULL DEFAULT '' CHECK (variant_length IN ('', 'S')),
    variant_industry TEXT NOT NULL DEFAULT '' CHECK (variant_industry IN ('', 'E', 'F', 'HC')),
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (course_id, courseware_id, run_tag),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
    CHECK (enrollment_end IS NULL OR enrollment_start IS NULL OR enrollment_end >= enrollment_start),
    CHECK (expiration_date IS NULL OR ((start_date IS NULL OR expiration_date >= start_date)
        AND (end_date IS NULL OR expiration_date >= end_date)))
);
CREATE INDEX course_runs_course ON course_runs (course_id);

CREATE TABLE programs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    readable_id TEXT NOT NULL UNIQUE CHECK (length(readable_id) BETWEEN 1 AND 255),
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    live BOOLEAN NOT NULL DEFAULT FALSE,
    program_type TEXT DEFAULT 'Series',
    availability TEXT NOT NULL DEFAULT 'anytime' CHECK (availability IN ('anytime', 'dated')),
    offers_audit BOOLEAN NOT NULL DEFAULT TRUE,
    offers_verified BOOLEAN NOT NULL DEFAULT FALSE,
    display_mode TEXT CHECK (display_mode IS NULL OR display_mode = 'course'),
    b2b_only BOOLEAN NOT NULL DEFAULT FALSE,
    enrollment_start TEXT,
    enrollment_end TEXT,
    start_date TEXT,
    end_date TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE program_departments (
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    department_id BIGINT NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    PRIMARY KEY (program_id, department_id)
);

CREATE TABLE related_programs (
    first_program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    second_program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    PRIMARY KEY (first_program_id, second_program_id),
    CHECK (first_program_id < second_program_id)
);

-- The requirements tree: one program_root per program; children ordered by position.
CREATE TABLE program_requirements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    parent_id BIGINT REFERENCES program_requirements (id) ON DELETE CASCADE,
    position INTEGER NOT NULL DEFAULT 0,
    node_type TEXT NOT NULL CHECK (node_type IN ('program_root', 'operator', 'course', 'program')),
    operator TEXT CHECK (operator IS NULL OR operator IN ('all_of', 'min_number_of')),
    operator_value TEXT,
    course_id BIGINT REFERENCES courses (id) ON DELETE CASCADE,
    required_program_id BIGINT REFERENCES programs (id) ON DELETE CASCADE,
    title TEXT NOT NULL DEFAULT '',
    elective_flag BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK ((node_type = 'program_root') = (parent_id IS NULL)),
    CHECK ((node_type = 'operator') = (operator IS NOT NULL)),
    CHECK ((node_type = 'course') = (course_id IS NOT NULL)),
    CHECK ((node_type = 'program') = (required_program_id IS NOT NULL)),
    CHECK (operator IS NOT 'min_number_of' OR operator_value IS NOT NULL)
);
CREATE UNIQUE INDEX program_requirements_one_root ON program_requirements (program_id) WHERE parent_id IS NULL;
CREATE INDEX program_requirements_course ON program_requirements (course_id);

-- Marketing page metadata of a course or a program (the CMS page's fields).
CREATE TABLE pages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id BIGINT UNIQUE REFERENCES courses (id) ON DELETE CASCADE,
    program_id BIGINT UNIQUE REFERENCES programs (id) ON DELETE CASCADE,
    live BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    feature_image_src TEXT,
    instructors TEXT NOT NULL DEFAULT '[]',
    length TEXT NOT NULL DEFAULT '',
    effort TEXT,
    min_weeks INTEGER,
    max_weeks INTEGER,
    min_weekly_hours INTEGER,
    max_weekly_hours INTEGER,
    price_text TEXT,
    topics TEXT NOT NULL DEFAULT '[]',
    prerequisites TEXT NOT NULL DEFAULT '',
    include_in_learn_catalog BOOLEAN NOT NULL DEFAULT TRUE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    CHECK ((course_id IS NULL) <> (program_id IS NULL))
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    global_id TEXT UNIQUE,
    username TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    email TEXT NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    name TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL
);

CREATE TABLE legal_addresses (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    country TEXT CHECK (country IS NULL OR length(country) = 2),
    state TEXT,
    street_address_1 TEXT,
    city TEXT,
    postal_code TEXT
);

CREATE TABLE user_profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    year_of_birth INTEGER,
    gender TEXT,
    company TEXT,
    job_title TEXT,
    industry TEXT,
    job_function TEXT,
    company_size INTEGER,
    years_experience INTEGER,
    leadership_level TEXT,
    highest_education TEXT,
    type_is_student BOOLEAN NOT NULL DEFAULT FALSE,
    type_is_professional BOOLEAN NOT NULL DEFAULT FALSE,
    type_is_educator BOOLEAN NOT NULL DEFAULT FALSE,
    type_is_other BOOLEAN NOT NULL DEFAULT FALSE,
    addl_field_flag BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_type TEXT NOT NULL CHECK (content_type IN ('courserun', 'program')),
    object_id BIGINT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    description TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    UNIQUE (content_type, object_id)
);

-- Immutable snapshots; orders reference these so later price edits never change history.
CREATE TABLE product_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    content_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    description TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    created_on TEXT NOT NULL
);
CREATE INDEX product_versions_product ON product_versions (product_id, id);

CREATE TABLE discounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    discount_code TEXT NOT NULL CHECK (length(discount_code) BETWEEN 1 AND 100),
    discount_type TEXT NOT NULL CHECK (discount_type IN ('percent-off', 'dollars-off', 'fixed-price')),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    redemption_type TEXT NOT NULL CHECK (redemption_type IN ('one-time', 'one-time-per-user', 'unlimited')),
    payment_type TEXT CHECK (payment_type IS NULL OR payment_type IN
        ('marketing', 'sales', 'financial-assistance', 'customer-support', 'staff', 'legacy')),
    max_redemptions INTEGER NOT NULL DEFAULT 0 CHECK (max_redemptions >= 0),
    automatic BOOLEAN NOT NULL DEFAULT FALSE,
    activation_date TEXT,
    expiration_date TEXT,
    is_bulk BOOLEAN NOT NULL DEFAULT FALSE,
    is_program_discount BOOLEAN NOT NULL DEFAULT FALSE,
    b2b_sheet_location TEXT,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    CHECK (discount_type <> 'percent-off' OR amount <= 10000000),
    CHECK (activation_date IS NULL OR expiration_date IS NULL OR activation_date <= expiration_date)
);
-- Codes are looked up exactly; mitx treats them as unique (the original did not enforce it).
CREATE UNIQUE INDEX discounts_code ON discounts (discount_code);

CREATE TABLE discount_products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    discount_id BIGINT NOT NULL REFERENCES discounts (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    UNIQUE (discount_id, product_id)
);

CREATE TABLE user_discounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    discount_id BIGINT NOT NULL REFERENCES discounts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE exchange_rates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    currency_code TEXT NOT NULL UNIQUE CHECK (length(currency_code) = 3),
    description TEXT,
    exchange_rate REAL NOT NULL CHECK (exchange_rate > 0)
);

CREATE TABLE country_income_thresholds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    country_code TEXT NOT NULL UNIQUE CHECK (length(country_code) = 2),
    income_threshold BIGINT NOT NULL CHECK (income_threshold >= 0)
);

CREATE TABLE flexible_price_tiers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id BIGINT REFERENCES courses (id) ON DELETE CASCADE,
    program_id BIGINT REFERENCES programs (id) ON DELETE CASCADE,
    income_threshold_usd REAL NOT NULL CHECK (income_threshold_usd >= 0),
    discount_id BIGINT NOT NULL REFERENCES discounts (id) ON DELETE RESTRICT,
    current BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK ((course_id IS NULL) <> (program_id IS NULL))
);
CREATE UNIQUE INDEX flexible_price_tiers_course ON flexible_price_tiers (course_id, income_threshold_usd) WHERE course_id IS NOT NULL;
CREATE UNIQUE INDEX flexible_price_tiers_program ON flexible_price_tiers (program_id, income_threshold_usd) WHERE program_id IS NOT NULL;

-- Learners' flexible-pricing (income-based) requests; one per user and course or program.
CREATE TABLE flexible_prices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id BIGINT REFERENCES courses (id) ON DELETE CASCADE,
    program_id BIGINT REFERENCES programs (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'created' CHECK (status IN
        ('created', 'pending-manual-approval', 'auto-approved', 'approved', 'denied', 'reset')),
    income_usd REAL,
    original_income REAL,
    original_currency TEXT CHECK (original_currency IS NULL OR length(original_currency) <= 10),
    country_of_income TEXT,
    country_of_residence TEXT,
    date_exchange_rate TEXT,
    date_documents_sent TEXT,
    justification TEXT,
    tier_id BIGINT REFERENCES flexible_price_tiers (id) ON DELETE SET NULL,
    created_on TEXT NOT NULL,
    updated_on TEXT NOT NULL,
    CHECK ((course_id IS NULL) <> (program_id IS NULL))
);
CREATE UNIQUE INDEX flexible_prices_user_course ON flexible_prices (user_id, course_id) WHERE course_id IS NOT NULL;
CREATE UNIQUE INDEX flexible_prices_user_program ON flexible_prices (user_id, program_id) WHERE program_id IS NOT NULL;

-- Who changed what and why (operators' --reason and --actor).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT,
    reason TEXT,
    data_before TEXT,
    data_after TEXT,
    created_on TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
