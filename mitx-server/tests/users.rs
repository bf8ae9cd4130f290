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
