//! Saving a run's synced or retired fields: a compare-and-set on the run as read.

use chrono::{DateTime, TimeZone, Utc};
use mitx_store::catalog::CatalogData;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn small() -> CatalogData {
    serde_json::from_str(include_str!("../../fixtures/test/small.json")).unwrap()
}

conformance!(course_run_saves_only_over_what_was_read, |db| {
    let store = &db.store;
    tx!(store, t => t.import_catalog(&small(), now()).await).unwrap();
    let key = store.list_runs().await.unwrap()[0].courseware_id.clone();
    let before = store
        .enrollment_run_by_courseware_id(&key)
        .await
        .unwrap()
        .unwrap()
        .run;
    let revision = store.catalog_revision().await.unwrap();
    let mut after = before.clone();
    after.title = "Synced title".into();
    after.live = false;
    after.is_self_paced = !before.is_self_paced;
    after.end_date = Some(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap());
    assert!(tx!(store, t => t.save_course_run(&before, &after, now()).await).unwrap());
    let saved = store
        .enrollment_run_by_courseware_id(&key)
        .await
        .unwrap()
        .unwrap()
        .run;
    assert_eq!(saved, after);
    assert!(store.catalog_revision().await.unwrap() > revision);

    // Saving over the stale `before` again: refused, nothing written.
    let mut other = before.clone();
    other.title = "Lost update".into();
    assert!(!tx!(store, t => t.save_course_run(&before, &other, now()).await).unwrap());
    let unchanged = store
        .enrollment_run_by_courseware_id(&key)
        .await
        .unwrap()
        .unwrap()
        .run;
    assert_eq!(unchanged, after);

    // A title the schema refuses is a conflict.
    let mut long = after.clone();
    long.title = "x".repeat(300);
    let err = tx!(store, t => t.save_course_run(&after, &long, now()).await).unwrap_err();
    assert!(
        matches!(err, mitx_store::StoreError::Conflict(_)),
        "{err:?}"
    );
});
