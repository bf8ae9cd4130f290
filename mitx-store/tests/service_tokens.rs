//! Service tokens: created with only the hash stored, found while active, listed, revoked
//! idempotently with audit rows, and touched at most once a minute.

use chrono::{DateTime, Duration, TimeZone, Utc};
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::service_tokens::{
    NewServiceToken, SCOPE_CATALOG_READ, TokenInputError, token_from_bytes, token_hash,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn scopes() -> Vec<String> {
    vec![SCOPE_CATALOG_READ.to_owned()]
}

fn audit(reason: Option<&str>) -> Audit {
    Audit {
        actor: "ops".into(),
        reason: reason.map(str::to_owned),
    }
}

conformance!(
    service_token_is_stored_as_hash_and_found_while_active,
    |db| {
        let store = &db.store;
        let secret = token_from_bytes(&[7; 20]);
        let new = NewServiceToken::new("mit-learn-etl", &secret, &scopes()).unwrap();
        let token =
            tx!(store, t => t.create_service_token(&new, &audit(Some("learn pull")), t0()).await)
                .unwrap();
        assert_eq!(token.name, "mit-learn-etl");
        assert_eq!(token.scopes, vec!["catalog:read".to_owned()]);
        assert_eq!(token.created_on, t0());
        assert_eq!(token.last_used_on, None);
        assert!(!token.is_revoked());
        assert!(token.has_scope("catalog:read"));
        assert!(!token.has_scope("catalog:write"));

        // Only the digest is in the table; the secret appears nowhere.
        let hash = token_hash(&secret);
        assert_eq!(
            store
                .execute_raw(&format!(
                    "UPDATE service_tokens SET scopes = scopes WHERE token_hash = '{hash}'"
                ))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .execute_raw(&format!(
                    "UPDATE service_tokens SET scopes = scopes WHERE token_hash = '{secret}' \
                 OR name = '{secret}' OR scopes LIKE '%{secret}%'"
                ))
                .await
                .unwrap(),
            0
        );

        let found = store.find_active_service_token(&hash).await.unwrap();
        assert_eq!(found.as_ref(), Some(&token));
        assert_eq!(
            store
                .find_active_service_token(&token_hash("mitx_other"))
                .await
                .unwrap(),
            None
        );
        // The secret itself is not a key.
        assert_eq!(
            store.find_active_service_token(&secret).await.unwrap(),
            None
        );

        let rows = store
            .audit_log_for("service_token", "mit-learn-etl")
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].action, "service_token.create");
        assert_eq!(rows[0].reason.as_deref(), Some("learn pull"));
        let after = rows[0].data_after.as_deref().unwrap();
        assert!(
            !after.contains(&secret) && !after.contains(&hash),
            "{after}"
        );
    }
);

conformance!(service_token_names_and_secrets_are_unique, |db| {
    let store = &db.store;
    let first = NewServiceToken::new("etl", &token_from_bytes(&[1; 20]), &scopes()).unwrap();
    tx!(store, t => t.create_service_token(&first, &audit(None), t0()).await).unwrap();
    let same_name = NewServiceToken::new("etl", &token_from_bytes(&[2; 20]), &scopes()).unwrap();
    assert!(matches!(
        tx!(store, t => t.create_service_token(&same_name, &audit(None), t0()).await),
        Err(StoreError::Conflict(_))
    ));
    let same_secret =
        NewServiceToken::new("etl-2", &token_from_bytes(&[1; 20]), &scopes()).unwrap();
    assert!(matches!(
        tx!(store, t => t.create_service_token(&same_secret, &audit(None), t0()).await),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.count("service_tokens").await.unwrap(), 1);
    // Nothing half-written: one audit row, for the token that exists.
    assert_eq!(store.count("audit_log").await.unwrap(), 1);
});

conformance!(service_token_input_is_checked_before_storing, |db| {
    let secret = token_from_bytes(&[3; 20]);
    assert!(matches!(
        NewServiceToken::new("", &secret, &scopes()),
        Err(TokenInputError::Name(_))
    ));
    assert!(matches!(
        NewServiceToken::new(&"n".repeat(101), &secret, &scopes()),
        Err(TokenInputError::Name(_))
    ));
    assert_eq!(
        NewServiceToken::new("etl", "mitx_short", &scopes()),
        Err(TokenInputError::Secret)
    );
    assert!(matches!(
        NewServiceToken::new("etl", &secret, &["admin".to_owned()]),
        Err(TokenInputError::UnknownScope { .. })
    ));
    assert_eq!(
        NewServiceToken::new("etl", &secret, &[]),
        Err(TokenInputError::NoScope)
    );
    // The schema refuses what the type would refuse, too.
    let refused = db
        .store
        .execute_raw(
            "INSERT INTO service_tokens (name, token_hash, scopes, created_on) \
             VALUES ('', 'abc', '', '2026-01-01T00:00:00Z')",
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(db.store.count("service_tokens").await.unwrap(), 0);
});

conformance!(service_tokens_list_by_name_and_revoke_idempotently, |db| {
    let store = &db.store;
    for (i, name) in ["zeta", "alpha"].into_iter().enumerate() {
        let new = NewServiceToken::new(name, &token_from_bytes(&[i as u8; 20]), &scopes()).unwrap();
        tx!(store, t => t.create_service_token(&new, &audit(None), t0()).await).unwrap();
    }
    let names: Vec<String> = store
        .list_service_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);

    let later = t0() + Duration::hours(1);
    let revoked =
        tx!(store, t => t.revoke_service_token("zeta", &audit(Some("leaked")), later).await)
            .unwrap();
    assert!(revoked.changed);
    assert_eq!(revoked.token.revoked_on, Some(later));
    // A revoked token is no longer found by its hash.
    assert_eq!(
        store
            .find_active_service_token(&token_hash(&token_from_bytes(&[0; 20])))
            .await
            .unwrap(),
        None
    );
    // Again: nothing changes, no second audit row, the first time is kept.
    let again = tx!(store, t => t.revoke_service_token("zeta", &audit(Some("again")), later + Duration::hours(1)).await)
        .unwrap();
    assert!(!again.changed);
    assert_eq!(again.token.revoked_on, Some(later));
    let rows = store.audit_log_for("service_token", "zeta").await.unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["service_token.create", "service_token.revoke"]);
    assert_eq!(rows[1].reason.as_deref(), Some("leaked"));
    assert_eq!(rows[1].actor, "ops");
    // The other token is untouched and still listed; the revoked one stays listed.
    let alpha = store.service_token("alpha").await.unwrap().unwrap();
    assert!(!alpha.is_revoked());
    assert_eq!(store.list_service_tokens().await.unwrap().len(), 2);
    assert!(matches!(
        tx!(store, t => t.revoke_service_token("nope", &audit(None), later).await),
        Err(StoreError::NotFound { .. })
    ));
});

conformance!(service_token_use_is_recorded_at_most_once_a_minute, |db| {
    let store = &db.store;
    let secret = token_from_bytes(&[9; 20]);
    let new = NewServiceToken::new("etl", &secret, &scopes()).unwrap();
    let token = tx!(store, t => t.create_service_token(&new, &audit(None), t0()).await).unwrap();
    let used = async |at: DateTime<Utc>| tx!(store, t => t.touch_service_token(token.id, at).await);
    assert!(used(t0()).await.unwrap());
    assert!(!used(t0() + Duration::seconds(30)).await.unwrap());
    assert!(!used(t0() + Duration::seconds(59)).await.unwrap());
    let last = store.service_token("etl").await.unwrap().unwrap();
    assert_eq!(last.last_used_on, Some(t0()));
    assert!(used(t0() + Duration::seconds(61)).await.unwrap());
    let last = store.service_token("etl").await.unwrap().unwrap();
    assert_eq!(last.last_used_on, Some(t0() + Duration::seconds(61)));
    // A revoked token is not touched.
    tx!(store, t => t.revoke_service_token("etl", &audit(None), t0() + Duration::minutes(5)).await)
        .unwrap();
    assert!(!used(t0() + Duration::minutes(10)).await.unwrap());
});
