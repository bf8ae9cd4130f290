//! The learner's own update (`PATCH users/me`, integrations spec 4.5) on both backends: the
//! workflow, and its compare-and-set against a change made after the read.

use chrono::Utc;
use mitx_core::users::user_update::UserUpdateInput;
use mitx_services::store::StoreError;
use mitx_services::store::users::UserKey;
use mitx_services::testing;
use mitx_services::users::{UserUpdateError, core_profile, update_me};
use serde_json::json;

use crate::support::backends;

fn input(body: serde_json::Value) -> UserUpdateInput {
    serde_json::from_value(body).expect("update body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_me_writes_and_refuses_a_stale_read() {
    for db in backends().await {
        let services = testing::services(&db, testing::settings(&[]));
        let user = testing::learner(&services, "jane").await;
        let detail = update_me(
            &services,
            user,
            &input(json!({"legal_address": {"country": "JP", "state": "Tokyo"},
                "name": "Jane Doe", "user_profile": {"year_of_birth": 1990, "company": "MIT"}})),
        )
        .await
        .expect("update");
        assert_eq!(detail.user.name, "Jane Doe");
        let address = detail.legal_address.expect("address");
        assert_eq!(address.country.as_deref(), Some("JP"));
        assert_eq!(address.state.as_deref(), Some("Tokyo"));
        let profile = detail.user_profile.expect("profile");
        assert_eq!(profile.company.as_deref(), Some("MIT"));
        assert_eq!(profile.year_of_birth, Some(1990));

        // Refused input writes nothing.
        let err = update_me(&services, user, &input(json!({"name": "X"})))
            .await
            .expect_err("legal_address missing");
        assert!(matches!(err, UserUpdateError::Invalid(_)), "{err:?}");
        let key = UserKey::Id(user.0);
        assert_eq!(
            services.store().user_detail(&key).await.unwrap().user.name,
            "Jane Doe"
        );

        // A change after the read (another writer's profile or name change) makes the
        // update stale: nothing is written.
        for change in [
            format!(
                "UPDATE user_profiles SET company = 'Other' WHERE user_id = {}",
                user.0
            ),
            format!("UPDATE users SET name = 'J. Doe' WHERE id = {}", user.0),
        ] {
            let read = services.store().user_detail(&key).await.unwrap();
            let update = input(json!({"legal_address": null, "name": "Late",
                "user_profile": {"year_of_birth": 1991}}))
            .validate(&core_profile(read.user_profile.as_ref()), 2026)
            .expect("valid");
            db.store.execute_raw(&change).await.expect(&change);
            let after_change = services.store().user_detail(&key).await.unwrap();
            let mut tx = testing::database(&services).begin().await.unwrap();
            let err = tx
                .update_user(&read, &update, Utc::now())
                .await
                .expect_err("stale");
            assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
            tx.rollback().await.unwrap();
            assert_eq!(
                services.store().user_detail(&key).await.unwrap(),
                after_change,
                "{change}"
            );
        }
    }
}
