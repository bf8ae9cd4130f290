//! Catalog import/export on both backends.

use chrono::{DateTime, Utc};
use mitx_store::catalog::CatalogData;

fn demo() -> CatalogData {
    serde_json::from_str(include_str!("../../fixtures/demo/catalog.json"))
        .expect("demo catalog parses")
}

fn now() -> DateTime<Utc> {
    "2026-11-25T12:00:00Z".parse().expect("time")
}

conformance!(demo_import_is_idempotent_and_round_trips, |db| {
    let store = &db.store;
    let first = tx!(store, t => t.import_catalog(&demo(), now()).await).unwrap();
    assert!(first.changed_anything());
    let courses = first.kinds.iter().find(|k| k.kind == "courses").unwrap();
    assert_eq!(courses.created, 20);
    let counts = store.catalog_counts().await.unwrap();
    assert_eq!(store.list_courses().await.unwrap().len(), 20);
    assert_eq!(store.list_programs().await.unwrap().len(), 4);

    // A second import changes nothing.
    let second = tx!(store, t => t.import_catalog(&demo(), now()).await).unwrap();
    assert!(!second.changed_anything(), "{second:?}");
    assert_eq!(store.catalog_counts().await.unwrap(), counts);

    // What is exported imports back without a change.
    let exported = store.export_catalog().await.unwrap();
    assert_eq!(exported.courses.len(), 20);
    let third = tx!(store, t => t.import_catalog(&exported, now()).await).unwrap();
    assert!(!third.changed_anything(), "{third:?}");
    assert_eq!(store.catalog_counts().await.unwrap(), counts);

    // Requirement trees survive the round trip exactly.
    let original = demo();
    for program in &original.programs {
        let back = exported
            .programs
            .iter()
            .find(|p| p.readable_id == program.readable_id)
            .unwrap();
        assert_eq!(
            back.requirements, program.requirements,
            "{}",
            program.readable_id
        );
    }
});

conformance!(changed_price_makes_a_new_product_version, |db| {
    let store = &db.store;
    let mut data = demo();
    tx!(store, t => t.import_catalog(&data, now()).await).unwrap();
    let before = store.catalog_counts().await.unwrap();
    let run = data.courses[0]
        .runs
        .iter_mut()
        .find(|r| r.price.is_some())
        .unwrap();
    run.price = Some("1234.50".into());
    let summary = tx!(store, t => t.import_catalog(&data, now()).await).unwrap();
    let products = summary.kinds.iter().find(|k| k.kind == "products").unwrap();
    assert_eq!(products.updated, 1);
    let after = store.catalog_counts().await.unwrap();
    let versions = |c: &mitx_store::catalog::CatalogCounts| {
        c.tables
            .iter()
            .find(|(t, _)| t == "product_versions")
            .unwrap()
            .1
    };
    assert_eq!(versions(&after), versions(&before) + 1);
});

conformance!(a_failing_import_writes_nothing, |db| {
    let store = &db.store;
    let mut data = demo();
    // Passes the store's own parsing but names a product that does not exist: the import
    // fails half-way through and the transaction must leave every table as it was.
    data.discounts[0].products = vec!["course-v1:Nope+X+1T2026".into()];
    let before = store.catalog_counts().await.unwrap();
    assert!(tx!(store, t => t.import_catalog(&data, now()).await).is_err());
    assert_eq!(store.catalog_counts().await.unwrap(), before);
    assert!(store.list_courses().await.unwrap().is_empty());
});

conformance!(dry_run_reports_without_writing, |db| {
    let store = &db.store;
    let mut t = store.begin().await.unwrap();
    let summary = t.import_catalog(&demo(), now()).await.unwrap();
    t.rollback().await.unwrap();
    assert!(summary.changed_anything());
    assert!(store.list_courses().await.unwrap().is_empty());
});

conformance!(catalog_revision_moves_with_catalog_writes_only, |db| {
    let store = &db.store;
    let start = store.catalog_revision().await.unwrap();
    tx!(store, t => t.import_catalog(&demo(), now()).await).unwrap();
    let after_import = store.catalog_revision().await.unwrap();
    assert!(after_import > start);
    // A second import writes nothing, so the revision stays.
    tx!(store, t => t.import_catalog(&demo(), now()).await).unwrap();
    assert_eq!(store.catalog_revision().await.unwrap(), after_import);
    // A price change moves it.
    let mut data = demo();
    let run = data.courses[0]
        .runs
        .iter_mut()
        .find(|r| r.price.is_some())
        .unwrap();
    run.price = Some("1.00".into());
    tx!(store, t => t.import_catalog(&data, now()).await).unwrap();
    let after_price = store.catalog_revision().await.unwrap();
    assert!(after_price > after_import);
    // So does a flexible-pricing tier (it decides the financial-assistance form link).
    store
        .execute_raw("UPDATE flexible_price_tiers SET current = NOT current")
        .await
        .unwrap();
    assert!(store.catalog_revision().await.unwrap() > after_price);
});
