//! Migrations apply on both backends and report their status.

conformance!(migrations_apply_once_and_report_status, |db| {
    let status = db.store.migration_status().await.unwrap();
    assert!(!status.is_empty());
    assert!(status.iter().all(|m| m.applied_on.is_some()), "{status:?}");
    // A second run applies nothing.
    assert_eq!(db.store.migrate().await.unwrap(), 0);
    db.store.ping().await.unwrap();
});
