//! The schema's constraints hold on both backends, and both backends have the same tables
//! and columns. Rows go in through raw SQL so the checks probe the schema itself, not the
//! store functions on top of it; every refusal must come back as `StoreError::Conflict`.

use mitx_store::{Backend, Database, StoreError};

const T0: &str = "'2026-01-01T00:00:00Z'";

/// Runs `sql` and insists it succeeds.
async fn ok(store: &Database, sql: &str) {
    if let Err(e) = store.execute_raw(sql).await {
        panic!("expected success for {sql}: {e:?}");
    }
}

/// Runs `sql` and insists the schema refuses it as a conflict.
async fn refused(store: &Database, sql: &str) {
    match store.execute_raw(sql).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict for {sql}, got {other:?}"),
    }
}

/// A money literal for `dollars` in the backend's storage unit (NUMERIC dollars on
/// PostgreSQL, 1e-5 dollars on SQLite).
fn money(store: &Database, dollars: i64) -> String {
    match store.backend() {
        Backend::Sqlite => (dollars * 100_000).to_string(),
        Backend::Postgres => dollars.to_string(),
    }
}

/// User 1, course 1 with run 1, program 1, product 1 (for run 1) with version 1.
async fn seed(store: &Database) {
    ok(
        store,
        &format!(
            "INSERT INTO users (id, username, email, created_on, updated_on) \
             VALUES (1, 'learner', 'learner@example.com', {T0}, {T0})"
        ),
    )
    .await;
    ok(
        store,
        &format!(
            "INSERT INTO courses (id, readable_id, title, created_on, updated_on) \
             VALUES (1, 'course-v1:MITx+14.73x', 'Poverty', {T0}, {T0})"
        ),
    )
    .await;
    ok(
        store,
        &format!(
            "INSERT INTO course_runs (id, course_id, title, courseware_id, run_tag, \
             start_date, end_date, created_on, updated_on) VALUES (1, 1, 'Poverty', \
             'course-v1:MITx+14.73x+1T2026', '1T2026', {T0}, '2026-06-01T00:00:00Z', {T0}, {T0})"
        ),
    )
    .await;
    ok(
        store,
        &format!(
            "INSERT INTO programs (id, readable_id, title, created_on, updated_on) \
             VALUES (1, 'program-v1:MITx+DEDP', 'DEDP', {T0}, {T0})"
        ),
    )
    .await;
    let price = money(store, 1000);
    ok(
        store,
        &format!(
            "INSERT INTO products (id, content_type, object_id, price, description, \
             created_on, updated_on) VALUES (1, 'courserun', 1, {price}, 'Poverty', {T0}, {T0})"
        ),
    )
    .await;
    ok(
        store,
        &format!(
            "INSERT INTO product_versions (id, product_id, content_type, object_id, price, \
             description, is_active, created_on) \
             VALUES (1, 1, 'courserun', 1, {price}, 'Poverty', TRUE, {T0})"
        ),
    )
    .await;
}

/// An order of user 1 in `state`.
fn order_sql(id: i64, state: &str) -> String {
    format!(
        "INSERT INTO orders (id, state, purchaser_id, total_price_paid, created_on, updated_on) \
         VALUES ({id}, '{state}', 1, 0, {T0}, {T0})"
    )
}

conformance!(schema_refuses_a_second_enrollment_in_the_same_run, |db| {
    let store = &db.store;
    seed(store).await;
    let enroll = format!(
        "INSERT INTO course_run_enrollments (user_id, run_id, created_on, updated_on) \
         VALUES (1, 1, {T0}, {T0})"
    );
    ok(store, &enroll).await;
    refused(store, &enroll).await;
    // An unknown user or run is refused too (foreign keys are on for SQLite).
    refused(
        store,
        &format!(
            "INSERT INTO course_run_enrollments (user_id, run_id, created_on, updated_on) \
             VALUES (99, 1, {T0}, {T0})"
        ),
    )
    .await;
    refused(
        store,
        &format!(
            "INSERT INTO course_run_enrollments (user_id, run_id, enrollment_mode, \
             created_on, updated_on) VALUES (1, 1, 'honor', {T0}, {T0})"
        ),
    )
    .await;
    assert_eq!(store.count("course_run_enrollments").await.unwrap(), 1);
});

conformance!(schema_refuses_a_grade_above_two, |db| {
    let store = &db.store;
    seed(store).await;
    refused(
        store,
        &format!(
            "INSERT INTO course_run_grades (user_id, course_run_id, grade, created_on, updated_on) \
             VALUES (1, 1, 2.5, {T0}, {T0})"
        ),
    )
    .await;
    refused(
        store,
        &format!(
            "INSERT INTO course_run_grades (user_id, course_run_id, grade, created_on, updated_on) \
             VALUES (1, 1, -0.1, {T0}, {T0})"
        ),
    )
    .await;
    // Extra credit up to 2.0 is allowed.
    ok(
        store,
        &format!(
            "INSERT INTO course_run_grades (user_id, course_run_id, grade, created_on, updated_on) \
             VALUES (1, 1, 2.0, {T0}, {T0})"
        ),
    )
    .await;
    refused(store, "UPDATE course_run_grades SET grade = 2.5").await;
    assert_eq!(store.count("course_run_grades").await.unwrap(), 1);
});

conformance!(schema_refuses_an_unknown_order_state, |db| {
    let store = &db.store;
    seed(store).await;
    refused(store, &order_sql(1, "shipped")).await;
    for (id, state) in [
        "pending",
        "fulfilled",
        "canceled",
        "declined",
        "errored",
        "refunded",
        "review",
        "partially_refunded",
    ]
    .into_iter()
    .enumerate()
    {
        ok(store, &order_sql(id as i64 + 1, state)).await;
    }
    refused(store, "UPDATE orders SET state = 'shipped' WHERE id = 1").await;
    assert_eq!(store.count("orders").await.unwrap(), 8);
});

conformance!(schema_requires_exactly_one_basket_owner, |db| {
    let store = &db.store;
    seed(store).await;
    let anon = "'6f1c1e5a-3b0c-4e55-9d0e-6a1f3c2b9d11'";
    refused(
        store,
        &format!(
            "INSERT INTO baskets (user_id, anonymous_id, created_on, updated_on) \
             VALUES (1, {anon}, {T0}, {T0})"
        ),
    )
    .await;
    refused(
        store,
        &format!(
            "INSERT INTO baskets (user_id, anonymous_id, created_on, updated_on) \
             VALUES (NULL, NULL, {T0}, {T0})"
        ),
    )
    .await;
    ok(
        store,
        &format!(
            "INSERT INTO baskets (user_id, anonymous_id, created_on, updated_on) \
             VALUES (1, NULL, {T0}, {T0})"
        ),
    )
    .await;
    ok(
        store,
        &format!(
            "INSERT INTO baskets (user_id, anonymous_id, created_on, updated_on) \
             VALUES (NULL, {anon}, {T0}, {T0})"
        ),
    )
    .await;
    // One basket per user and per anonymous id.
    refused(
        store,
        &format!("INSERT INTO baskets (user_id, created_on, updated_on) VALUES (1, {T0}, {T0})"),
    )
    .await;
    refused(
        store,
        &format!(
            "INSERT INTO baskets (anonymous_id, created_on, updated_on) VALUES ({anon}, {T0}, {T0})"
        ),
    )
    .await;
    assert_eq!(store.count("baskets").await.unwrap(), 2);
});

conformance!(schema_refuses_a_duplicate_transaction_id, |db| {
    let store = &db.store;
    seed(store).await;
    ok(store, &order_sql(1, "fulfilled")).await;
    ok(store, &order_sql(2, "fulfilled")).await;
    let payment = |order: i64| {
        format!(
            "INSERT INTO transactions (transaction_id, order_id, amount, data, created_on, \
             updated_on) VALUES ('7000001', {order}, 0, '{{\"decision\": \"ACCEPT\"}}', {T0}, {T0})"
        )
    };
    ok(store, &payment(1)).await;
    // Globally unique: not even another order may reuse it.
    refused(store, &payment(2)).await;
    refused(
        store,
        &format!(
            "INSERT INTO transactions (transaction_id, order_id, transaction_type, created_on, \
             updated_on) VALUES ('7000002', 1, 'chargeback', {T0}, {T0})"
        ),
    )
    .await;
    assert_eq!(store.count("transactions").await.unwrap(), 1);
});

conformance!(schema_refuses_deleting_a_product_with_versions, |db| {
    let store = &db.store;
    seed(store).await;
    refused(store, "DELETE FROM products WHERE id = 1").await;
    assert_eq!(store.count("products").await.unwrap(), 1);
    // Without versions the delete goes through (the restriction is the reference).
    ok(store, "DELETE FROM product_versions WHERE product_id = 1").await;
    assert_eq!(
        store
            .execute_raw("DELETE FROM products WHERE id = 1")
            .await
            .unwrap(),
        1
    );
});

conformance!(schema_refuses_percent_off_above_one_hundred, |db| {
    let store = &db.store;
    let discount = |code: &str, kind: &str, dollars: i64| {
        format!(
            "INSERT INTO discounts (discount_code, discount_type, amount, redemption_type, \
             created_on, updated_on) VALUES ('{code}', '{kind}', {}, 'unlimited', {T0}, {T0})",
            money(store, dollars)
        )
    };
    refused(store, &discount("TOOMUCH", "percent-off", 101)).await;
    ok(store, &discount("ALL", "percent-off", 100)).await;
    // Other types may exceed 100.
    ok(store, &discount("BIG", "dollars-off", 101)).await;
    refused(store, &discount("NEG", "fixed-price", -1)).await;
    assert_eq!(store.count("discounts").await.unwrap(), 2);
});

conformance!(schema_refuses_a_run_ending_before_it_starts, |db| {
    let store = &db.store;
    seed(store).await;
    refused(
        store,
        &format!(
            "INSERT INTO course_runs (course_id, title, courseware_id, run_tag, start_date, \
             end_date, created_on, updated_on) VALUES (1, 'Poverty', \
             'course-v1:MITx+14.73x+2T2026', '2T2026', '2026-09-01T00:00:00Z', \
             '2026-08-01T00:00:00Z', {T0}, {T0})"
        ),
    )
    .await;
    refused(
        store,
        "UPDATE course_runs SET end_date = '2025-12-31T00:00:00Z' WHERE id = 1",
    )
    .await;
    assert_eq!(store.count("course_runs").await.unwrap(), 1);
});

conformance!(schema_refuses_a_second_program_root, |db| {
    let store = &db.store;
    seed(store).await;
    let root =
        "INSERT INTO program_requirements (program_id, node_type) VALUES (1, 'program_root')";
    ok(store, root).await;
    refused(store, root).await;
    // Children are fine.
    ok(
        store,
        "INSERT INTO program_requirements (program_id, parent_id, node_type, operator, title) \
         VALUES (1, 1, 'operator', 'all_of', 'Required Courses')",
    )
    .await;
    assert_eq!(store.count("program_requirements").await.unwrap(), 2);
});

conformance!(schema_b2b_and_jobs_checks_hold, |db| {
    let store = &db.store;
    seed(store).await;
    ok(
        store,
        &format!(
            "INSERT INTO organizations (id, name, org_key, slug, created_on, updated_on) \
             VALUES (1, 'Acme', 'ACME', 'org-acme', {T0}, {T0})"
        ),
    )
    .await;
    refused(
        store,
        &format!(
            "INSERT INTO organizations (name, org_key, slug, created_on, updated_on) \
             VALUES ('Acme 2', 'ACME', 'org-acme-2', {T0}, {T0})"
        ),
    )
    .await;
    let contract = |slug: &str, kind: &str| {
        format!(
            "INSERT INTO contracts (organization_id, name, slug, membership_type, \
             contract_start, contract_end, created_on, updated_on) VALUES (1, 'C', '{slug}', \
             '{kind}', '2026-01-01', '2026-12-31', {T0}, {T0})"
        )
    };
    refused(store, &contract("c1", "sso")).await;
    ok(store, &contract("c1", "code")).await;
    refused(store, &contract("c1", "auto")).await;
    refused(
        store,
        &format!(
            "INSERT INTO jobs (name, status, run_after, created_on, updated_on) \
             VALUES ('hubspot.sync_deal', 'sleeping', {T0}, {T0}, {T0})"
        ),
    )
    .await;
    ok(
        store,
        &format!(
            "INSERT INTO jobs (name, run_after, created_on, updated_on) \
             VALUES ('hubspot.sync_deal', {T0}, {T0}, {T0})"
        ),
    )
    .await;
    let key = format!(
        "INSERT INTO idempotency_keys (key, scope, created_on) VALUES ('cb-1', 'cybersource', {T0})"
    );
    ok(store, &key).await;
    refused(store, &key).await;
    assert_eq!(store.count("contracts").await.unwrap(), 1);
    assert_eq!(store.count("jobs").await.unwrap(), 1);
    assert!(matches!(
        store.count("jobs; DROP TABLE jobs").await,
        Err(StoreError::NotFound { .. })
    ));
});

/// Every table of migrations 0001 and 0002 with its columns; both backends must match it
/// exactly, so a column missing (or extra) on either backend fails.
const EXPECTED_COLUMNS: &[(&str, &[&str])] = &[
    ("catalog_revision", &["id", "revision"]),
    (
        "audit_log",
        &[
            "id",
            "actor",
            "action",
            "entity",
            "entity_id",
            "reason",
            "data_before",
            "data_after",
            "created_on",
        ],
    ),
    (
        "basket_discounts",
        &[
            "id",
            "redemption_date",
            "redeemed_by_id",
            "redeemed_discount_id",
            "redeemed_basket_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "basket_items",
        &[
            "id",
            "basket_id",
            "product_id",
            "quantity",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "baskets",
        &["id", "user_id", "anonymous_id", "created_on", "updated_on"],
    ),
    ("blocked_countries", &["course_id", "country"]),
    ("blocked_emails", &["id", "hashed_email", "created_on"]),
    (
        "certificate_page_revisions",
        &["id", "course_id", "program_id", "page_data", "created_on"],
    ),
    (
        "contract_learners",
        &["contract_id", "user_id", "created_on"],
    ),
    (
        "contract_programs",
        &["id", "contract_id", "program_id", "sort_order"],
    ),
    (
        "contract_variant_options",
        &[
            "id",
            "contract_id",
            "language",
            "variant_length",
            "variant_industry",
            "is_default",
        ],
    ),
    (
        "contracts",
        &[
            "id",
            "organization_id",
            "name",
            "slug",
            "membership_type",
            "contract_start",
            "contract_end",
            "active",
            "max_learners",
            "enrollment_fixed_price",
            "description",
            "welcome_message",
            "welcome_message_extra",
            "google_sheet_target",
            "google_sheet_target_tab",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "country_income_thresholds",
        &["id", "country_code", "income_threshold"],
    ),
    ("course_departments", &["course_id", "department_id"]),
    (
        "course_run_certificates",
        &[
            "id",
            "user_id",
            "course_run_id",
            "uuid",
            "is_revoked",
            "issue_date",
            "certificate_page_revision_id",
            "verifiable_credential_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "course_run_enrollment_audits",
        &[
            "id",
            "enrollment_id",
            "acting_user_id",
            "data_before",
            "data_after",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "course_run_enrollments",
        &[
            "id",
            "user_id",
            "run_id",
            "active",
            "change_status",
            "enrollment_mode",
            "edx_enrolled",
            "edx_emails_subscription",
            "edx_enrollment_retry_count",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "course_run_grade_audits",
        &[
            "id",
            "grade_id",
            "acting_user_id",
            "data_before",
            "data_after",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "course_run_grades",
        &[
            "id",
            "user_id",
            "course_run_id",
            "grade",
            "letter_grade",
            "passed",
            "set_by_admin",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "course_runs",
        &[
            "id",
            "course_id",
            "title",
            "courseware_id",
            "run_tag",
            "start_date",
            "end_date",
            "enrollment_start",
            "enrollment_end",
            "certificate_available_date",
            "upgrade_deadline",
            "expiration_date",
            "live",
            "is_self_paced",
            "offers_audit",
            "offers_verified",
            "b2b_contract_id",
            "is_source_run",
            "is_primary_language",
            "language",
            "has_courseware_url",
            "variant_length",
            "variant_industry",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "course_variant_options",
        &[
            "id",
            "course_id",
            "language",
            "variant_length",
            "variant_industry",
            "active",
            "b2b_only",
            "is_default",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "courses",
        &[
            "id",
            "readable_id",
            "title",
            "live",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "departments",
        &["id", "name", "slug", "created_on", "updated_on"],
    ),
    (
        "discount_contract_attachment_redemptions",
        &[
            "id",
            "discount_id",
            "contract_id",
            "user_id",
            "assigned_email",
            "assigned_name",
            "assigned_by_id",
            "redeemed_on",
            "last_reminder_sent_on",
            "email_message_id",
            "email_status",
            "email_status_event_timestamp",
            "created_on",
            "updated_on",
        ],
    ),
    ("discount_products", &["id", "discount_id", "product_id"]),
    (
        "discount_redemptions",
        &[
            "id",
            "redemption_date",
            "redeemed_by_id",
            "redeemed_discount_id",
            "redeemed_order_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "discounts",
        &[
            "id",
            "discount_code",
            "discount_type",
            "amount",
            "redemption_type",
            "payment_type",
            "max_redemptions",
            "automatic",
            "activation_date",
            "expiration_date",
            "is_bulk",
            "is_program_discount",
            "b2b_sheet_location",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "exchange_rates",
        &["id", "currency_code", "description", "exchange_rate"],
    ),
    (
        "flexible_price_submissions",
        &["id", "user_id", "form_data", "created_on"],
    ),
    (
        "flexible_price_tiers",
        &[
            "id",
            "course_id",
            "program_id",
            "income_threshold_usd",
            "discount_id",
            "current",
        ],
    ),
    (
        "flexible_prices",
        &[
            "id",
            "user_id",
            "course_id",
            "program_id",
            "status",
            "income_usd",
            "original_income",
            "original_currency",
            "country_of_income",
            "country_of_residence",
            "date_exchange_rate",
            "date_documents_sent",
            "justification",
            "tier_id",
            "created_on",
            "updated_on",
            "cms_submission_id",
        ],
    ),
    (
        "google_api_auth",
        &[
            "id",
            "requesting_user_id",
            "access_token",
            "refresh_token",
            "access_token_expires_on",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "hubspot_objects",
        &[
            "id",
            "content_type",
            "object_id",
            "hubspot_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "idempotency_keys",
        &["id", "key", "scope", "response", "created_on"],
    ),
    (
        "jobs",
        &[
            "id",
            "queue",
            "name",
            "payload",
            "status",
            "attempts",
            "max_attempts",
            "run_after",
            "locked_by",
            "locked_at",
            "last_error",
            "created_on",
            "updated_on",
            "dedupe_key",
            "lease_expires_at",
            "finished_on",
        ],
    ),
    ("job_schedule", &["name", "last_tick", "updated_on"]),
    ("leases", &["name", "holder", "expires_at", "created_on"]),
    (
        "learner_program_record_shares",
        &[
            "id",
            "share_uuid",
            "user_id",
            "program_id",
            "partner_school_id",
            "is_active",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "legal_addresses",
        &[
            "user_id",
            "first_name",
            "last_name",
            "country",
            "state",
            "street_address_1",
            "city",
            "postal_code",
        ],
    ),
    (
        "openedx_api_auth",
        &[
            "user_id",
            "refresh_token",
            "access_token",
            "access_token_expires_on",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "openedx_users",
        &[
            "id",
            "user_id",
            "platform",
            "edx_username",
            "desired_edx_username",
            "has_been_synced",
            "has_sync_error",
            "sync_error_data",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "order_lines",
        &[
            "id",
            "order_id",
            "product_version_id",
            "quantity",
            "purchased_content_type",
            "purchased_object_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "orders",
        &[
            "id",
            "state",
            "purchaser_id",
            "total_price_paid",
            "reference_number",
            "gateway_type",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "organizations",
        &[
            "id",
            "name",
            "org_key",
            "org_key_prefix",
            "description",
            "logo",
            "sso_organization_id",
            "slug",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "pages",
        &[
            "id",
            "course_id",
            "program_id",
            "live",
            "description",
            "feature_image_src",
            "instructors",
            "length",
            "effort",
            "min_weeks",
            "max_weeks",
            "min_weekly_hours",
            "max_weekly_hours",
            "price_text",
            "topics",
            "prerequisites",
            "include_in_learn_catalog",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "paid_course_runs",
        &[
            "id",
            "user_id",
            "course_run_id",
            "order_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "paid_programs",
        &[
            "id",
            "user_id",
            "program_id",
            "order_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "partner_school_programs",
        &[
            "id",
            "partner_school_id",
            "program_id",
            "email",
            "alt_email",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "partner_schools",
        &[
            "id",
            "name",
            "email",
            "is_active",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "product_versions",
        &[
            "id",
            "product_id",
            "content_type",
            "object_id",
            "price",
            "description",
            "is_active",
            "created_on",
        ],
    ),
    (
        "products",
        &[
            "id",
            "content_type",
            "object_id",
            "price",
            "description",
            "is_active",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "program_certificates",
        &[
            "id",
            "user_id",
            "program_id",
            "uuid",
            "is_revoked",
            "issue_date",
            "certificate_page_revision_id",
            "verifiable_credential_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "program_collection_items",
        &["id", "collection_id", "program_id", "sort_order"],
    ),
    (
        "program_collections",
        &["id", "title", "description", "created_on", "updated_on"],
    ),
    ("program_departments", &["program_id", "department_id"]),
    (
        "program_enrollment_audits",
        &[
            "id",
            "enrollment_id",
            "acting_user_id",
            "data_before",
            "data_after",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "program_enrollments",
        &[
            "id",
            "user_id",
            "program_id",
            "active",
            "change_status",
            "enrollment_mode",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "program_requirements",
        &[
            "id",
            "program_id",
            "parent_id",
            "position",
            "node_type",
            "operator",
            "operator_value",
            "course_id",
            "required_program_id",
            "title",
            "elective_flag",
        ],
    ),
    (
        "program_runs",
        &["id", "program_id", "run_tag", "created_on", "updated_on"],
    ),
    (
        "programs",
        &[
            "id",
            "readable_id",
            "title",
            "live",
            "program_type",
            "availability",
            "offers_audit",
            "offers_verified",
            "display_mode",
            "b2b_only",
            "enrollment_start",
            "enrollment_end",
            "start_date",
            "end_date",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "refund_requests",
        &[
            "id",
            "order_id",
            "user_id",
            "refund_reason",
            "refund_reason_text",
            "consent_given",
            "status",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "related_programs",
        &["first_program_id", "second_program_id"],
    ),
    (
        "service_tokens",
        &[
            "id",
            "name",
            "token_hash",
            "scopes",
            "created_on",
            "last_used_on",
            "revoked_on",
        ],
    ),
    (
        "sheet_deferral_requests",
        &[
            "id",
            "form_response_id",
            "date_completed",
            "raw_data",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "sheet_refund_requests",
        &[
            "id",
            "form_response_id",
            "date_completed",
            "raw_data",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "stripe_event_logs",
        &[
            "id",
            "event_id",
            "event_type",
            "event_data",
            "related_order_id",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "transactions",
        &[
            "id",
            "transaction_id",
            "order_id",
            "amount",
            "data",
            "transaction_type",
            "reason",
            "created_on",
            "updated_on",
        ],
    ),
    ("user_discounts", &["id", "discount_id", "user_id"]),
    (
        "user_organizations",
        &[
            "id",
            "user_id",
            "organization_id",
            "keep_until_seen",
            "is_manager",
            "created_on",
            "updated_on",
        ],
    ),
    (
        "user_profiles",
        &[
            "user_id",
            "year_of_birth",
            "gender",
            "company",
            "job_title",
            "industry",
            "job_function",
            "company_size",
            "years_experience",
            "leadership_level",
            "highest_education",
            "type_is_student",
            "type_is_professional",
            "type_is_educator",
            "type_is_other",
            "addl_field_flag",
        ],
    ),
    (
        "users",
        &[
            "id",
            "global_id",
            "username",
            "email",
            "name",
            "is_active",
            "is_staff",
            "is_superuser",
            "created_on",
            "updated_on",
            "hubspot_sync_datetime",
            "last_login",
        ],
    ),
    (
        "verifiable_credentials",
        &["id", "uuid", "credential_data", "created_on", "updated_on"],
    ),
];

conformance!(
    schema_has_the_same_tables_and_columns_on_both_backends,
    |db| {
        let mut expected: Vec<(String, String)> = EXPECTED_COLUMNS
            .iter()
            .flat_map(|(table, columns)| {
                columns
                    .iter()
                    .map(move |column| (table.to_string(), column.to_string()))
            })
            .collect();
        expected.sort();
        let actual = db.store.schema_columns().await.unwrap();
        let missing: Vec<_> = expected.iter().filter(|c| !actual.contains(c)).collect();
        let extra: Vec<_> = actual.iter().filter(|c| !expected.contains(c)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{:?}: missing {missing:?}, unexpected {extra:?}",
            db.store.backend()
        );
    }
);
