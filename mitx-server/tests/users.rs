//! The users API (integrations spec 4.5).

use chrono::Utc;
use mitx_core::ids::UserId;
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_with, userinfo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_me_anonymous_body() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        for path in [
            "/api/v0/users/me",
            "/api/users/me",
            "/api/v0/users/current_user/",
        ] {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body,
                json!({"id": null, "username": null, "email": null, "global_id": null,
                    "legal_address": null, "user_profile": null, "is_anonymous": true,
                    "is_authenticated": false, "is_staff": false, "is_superuser": false,
                    "grants": [], "is_active": false, "b2b_organizations": [],
                    "compliance_missing_fields": []}),
                "{path}"
            );
        }
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_me_authenticated_body() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let body: Value = client
            .get(format!("{base}/api/v0/users/me"))
            .header("X-Userinfo", userinfo(&jdoe()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for key in [
            "id",
            "username",
            "name",
            "email",
            "global_id",
            "legal_address",
            "user_profile",
            "is_anonymous",
            "is_authenticated",
            "is_editor",
            "is_staff",
            "is_superuser",
            "created_on",
            "updated_on",
            "grants",
            "is_active",
            "b2b_organizations",
            "compliance_missing_fields",
        ] {
            assert!(body.get(key).is_some(), "missing {key}: {body}");
        }
        assert_eq!(body["is_active"], true);
        assert_eq!(body["legal_address"]["first_name"], "");
        assert_eq!(body["user_profile"]["type_is_student"], false);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_needs_an_edx_username() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let get = || {
            client
                .get(format!("{base}/api/v0/userinfo/"))
                .header("X-Userinfo", userinfo(&jdoe()))
                .send()
        };
        let response = get().await.unwrap();
        assert_eq!(response.status(), 409);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "User has no edx_username."}));
        let users = db.store.list_users(None, 10).await.unwrap();
        let id: UserId = users[0].id;
        tx!(db.store, t => t.set_edx_username(id, "jdoe-edx", Utc::now()).await).unwrap();
        let response = get().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["username"], "jdoe");
        assert_eq!(body["id"], id.0);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn countries_lists_iso_countries_with_us_and_ca_states() {
    let db = mitx_services::testing::TestDb::sqlite().await.unwrap();
    let (base, stop) = start_with(&db, false).await;
    let client = crate::client();
    for path in ["/api/v0/countries/", "/api/countries/"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Vec<Value> = response.json().await.unwrap();
        assert!(body.len() > 240, "{}", body.len());
        let us = body.iter().find(|c| c["code"] == "US").unwrap();
        assert_eq!(us["name"], "United States");
        let states = us["states"].as_array().unwrap();
        assert!(
            states
                .iter()
                .any(|s| s == &json!({"code": "US-MA", "name": "Massachusetts"}))
        );
        let ca = body.iter().find(|c| c["code"] == "CA").unwrap();
        assert!(!ca["states"].as_array().unwrap().is_empty());
        let fr = body.iter().find(|c| c["code"] == "FR").unwrap();
        assert_eq!(fr["states"], json!([]));
    }
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}

/// A request as jdoe (through the gateway header).
fn as_jdoe(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.header("X-Userinfo", userinfo(&jdoe()))
}

async fn run_sql(db: &mitx_services::testing::TestDb, sql: &str) {
    db.store.execute_raw(sql).await.expect(sql);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_me_organizations_compliance_and_grants() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let get = || as_jdoe(client.get(format!("{base}/api/v0/users/me"))).send();
        let body: Value = get().await.unwrap().json().await.unwrap();
        let user = body["id"].as_i64().unwrap();
        assert_eq!(body["b2b_organizations"], json!([]));
        assert_eq!(body["grants"], json!([]));
        // A new gateway user has an empty address: every address field is missing.
        assert_eq!(
            body["compliance_missing_fields"],
            json!([
                "city",
                "country",
                "first_name",
                "last_name",
                "postal_code",
                "state",
                "street_address_1"
            ])
        );

        let t0 = "'2026-01-01T00:00:00Z'";
        for sql in [
            format!(
                "UPDATE legal_addresses SET first_name = 'Test', last_name = 'User', \
                 country = 'US', state = 'US-MA', postal_code = '02139' WHERE user_id = {user}"
            ),
            format!(
                "INSERT INTO organizations (id, name, org_key, description, slug, \
                 sso_organization_id, created_on, updated_on) VALUES (41, 'Acme', 'ACME', \
                 'Acme Corp', 'org-acme', '0b6c1d3e-aaaa-bbbb-cccc-111122223333', {t0}, {t0})"
            ),
            format!(
                "INSERT INTO organizations (id, name, org_key, slug, created_on, updated_on) \
                 VALUES (42, 'Other', 'OTHER', 'org-other', {t0}, {t0})"
            ),
            format!(
                "INSERT INTO contracts (id, organization_id, name, slug, membership_type, \
                 contract_start, contract_end, active, welcome_message, created_on, updated_on) \
                 VALUES (51, 41, 'Acme 2026', 'acme-2026', 'code', '2026-01-01', '2026-12-31', \
                 TRUE, 'Welcome', {t0}, {t0})"
            ),
            format!(
                "INSERT INTO contracts (id, organization_id, name, slug, active, created_on, \
                 updated_on) VALUES (52, 41, 'Acme 2025', 'acme-2025', FALSE, {t0}, {t0})"
            ),
            format!(
                "INSERT INTO contracts (id, organization_id, name, slug, created_on, updated_on) \
                 VALUES (53, 41, 'Acme other', 'acme-other', {t0}, {t0})"
            ),
            format!(
                "INSERT INTO contracts (id, organization_id, name, slug, created_on, updated_on) \
                 VALUES (54, 42, 'Other 2026', 'other-2026', {t0}, {t0})"
            ),
            format!(
                "INSERT INTO user_organizations (user_id, organization_id, keep_until_seen, \
                 created_on, updated_on) VALUES ({user}, 41, TRUE, {t0}, {t0})"
            ),
            // (keep_until_seen: the gateway login would drop a membership its claims lack.)
            // Attached to the active and the inactive Acme contracts, and to a contract of an
            // organization the user is not a member of (not shown).
            format!(
                "INSERT INTO contract_learners (contract_id, user_id, created_on) VALUES \
                 (51, {user}, {t0}), (52, {user}, {t0}), (54, {user}, {t0})"
            ),
            "INSERT INTO contract_variant_options (contract_id, language, variant_length, \
             variant_industry, is_default) VALUES (51, 'en', 'S', '', TRUE)"
                .to_owned(),
        ] {
            run_sql(&db, &sql).await;
        }
        let body: Value = get().await.unwrap().json().await.unwrap();
        // Integrations scenario 47.
        assert_eq!(
            body["compliance_missing_fields"],
            json!(["city", "street_address_1"])
        );
        assert_eq!(
            body["b2b_organizations"],
            json!([{
                "id": 41,
                "name": "Acme",
                "description": "Acme Corp",
                "logo": null,
                "slug": "org-acme",
                "sso_organization_id": "0b6c1d3e-aaaa-bbbb-cccc-111122223333",
                "contracts": [{
                    "id": 51,
                    "name": "Acme 2026",
                    "description": "",
                    "membership_type": "code",
                    "organization": 41,
                    "contract_start": "2026-01-01",
                    "contract_end": "2026-12-31",
                    "slug": "acme-2026",
                    "welcome_message": "Welcome",
                    "welcome_message_extra": "",
                    "programs": [],
                    "variant_options": [{
                        "language": "en",
                        "variant_length": "S",
                        "variant_industry": "",
                        "active": true,
                        "b2b_only": true,
                        "default_variant": true,
                    }],
                }],
            }])
        );
        assert_eq!(body["grants"], json!([]));

        run_sql(
            &db,
            &format!("UPDATE users SET is_superuser = TRUE WHERE id = {user}"),
        )
        .await;
        let body: Value = get().await.unwrap().json().await.unwrap();
        let grants: Vec<&str> = body["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(grants, mitx_core::users::grants::SUPERUSER_GRANTS);
        assert_eq!(body["is_editor"], true);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_users_me_validates_writes_nothing_on_error_and_updates() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let patch = |path: &str, body: Value| {
            as_jdoe(client.patch(format!("{base}{path}")))
                .json(&body)
                .send()
        };
        let me = || async {
            as_jdoe(client.get(format!("{base}/api/v0/users/me")))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        };
        let before = me().await;
        let year = chrono::Datelike::year(&Utc::now());
        let address = |country: &str, state: &str| {
            json!({"first_name": "Test", "last_name": "User", "country": country,
                "state": state, "postal_code": "02139"})
        };
        // (body, expected error body) — integrations scenarios 43 to 45, and ours.
        let refused: Vec<(Value, Value)> = vec![
            (
                json!({"legal_address": address("US", "US-XX")}),
                json!({"errors": {"legal_address": {"state": ["Invalid state specified"]}}}),
            ),
            (
                json!({"legal_address": address("United States", "")}),
                json!({"errors": {"legal_address": {"country":
                    ["Ensure this field has no more than 2 characters."]}}}),
            ),
            (
                json!({"name": "Jane"}),
                json!({"errors": {"legal_address": ["This field is required."]}}),
            ),
            (
                json!({"legal_address": null, "user_profile": {"year_of_birth": year - 10}}),
                json!({"errors": {"user_profile": {"year_of_birth":
                    ["Year of Birth provided is under 13"]}}}),
            ),
            (
                json!({"legal_address": null, "email": "not-an-email"}),
                json!({"errors": {"email": ["Enter a valid email address."]}}),
            ),
            (
                json!({"legal_address": null, "password": "s3cret"}),
                json!({"errors": {"password": [mitx_services::users::PASSWORD_NOT_WRITABLE]}}),
            ),
            (json!({"legal_address": null, "name": 5}), Value::Null),
        ];
        for (body, expected) in refused {
            let response = patch("/api/v0/users/me", body.clone()).await.unwrap();
            assert_eq!(response.status(), 400, "{body}");
            let got: Value = response.json().await.unwrap();
            if expected.is_null() {
                assert!(got["errors"]["non_field_errors"][0].is_string(), "{got}");
            } else {
                assert_eq!(got, expected, "{body}");
            }
        }
        assert_eq!(me().await, before, "nothing written");

        // Anonymous callers are refused.
        let response = client
            .patch(format!("{base}/api/v0/users/me"))
            .json(&json!({"legal_address": null}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);

        // Scenario 43's accepted address and 46's profile flag.
        let response = patch(
            "/api/v0/users/me",
            json!({
                "name": "Jane Q. Doe",
                "username": "ignored",
                "legal_address": {"first_name": "Jane", "last_name": "Doe", "country": "JP",
                    "state": "Tokyo", "city": "Tokyo", "street_address_1": "1-1 Chiyoda",
                    "postal_code": "100-0001"},
                "user_profile": {"year_of_birth": 1980, "highest_education": "Doctorate",
                    "type_is_educator": true, "company": "MIT"},
            }),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["name"], "Jane Q. Doe");
        assert_eq!(body["username"], before["username"]);
        assert_eq!(body["legal_address"]["country"], "JP");
        assert_eq!(body["legal_address"]["state"], "Tokyo");
        assert_eq!(body["legal_address"]["city"], "Tokyo");
        assert_eq!(body["user_profile"]["addl_field_flag"], true);
        assert_eq!(body["user_profile"]["year_of_birth"], 1980);
        assert_eq!(body["user_profile"]["company"], "MIT");
        assert_eq!(body["compliance_missing_fields"], json!([]));
        assert_eq!(me().await["name"], "Jane Q. Doe", "stored");

        // Education alone: the flag is recomputed to false; null address = unchanged. Through
        // the current_user alias.
        let response = patch(
            "/api/users/current_user/",
            json!({"legal_address": null, "user_profile": {"year_of_birth": 1980,
                "type_is_educator": false}}),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["user_profile"]["addl_field_flag"], false);
        assert_eq!(body["user_profile"]["highest_education"], "Doctorate");
        assert_eq!(body["legal_address"]["country"], "JP");

        // An email used by another account (any case) is refused.
        let t0 = "'2026-01-01T00:00:00Z'";
        run_sql(
            &db,
            &format!(
                "INSERT INTO users (username, email, created_on, updated_on) \
                 VALUES ('other', 'other@example.com', {t0}, {t0})"
            ),
        )
        .await;
        let response = patch(
            "/api/v0/users/me",
            json!({"legal_address": null, "email": "Other@Example.com"}),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"errors": {"email": ["user with this email already exists."]}})
        );
        let response = patch(
            "/api/v0/users/me",
            json!({"legal_address": null, "email": "jane@example.org"}),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Value>().await.unwrap()["email"],
            "jane@example.org"
        );
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}
