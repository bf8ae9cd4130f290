//! Products: targets resolve from a run's courseware id or a program's readable id; every
//! write appends an immutable snapshot; deactivation never deletes and is audited.

use chrono::{DateTime, Duration, TimeZone, Utc};
use mitx_core::ids::ProductId;
use mitx_core::money::Money;
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::products::{ContentType, ProductChange, ProductTarget};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn price(text: &str) -> Money {
    Money::parse_price(text).unwrap()
}

fn ops() -> Audit {
    Audit {
        actor: "ops".into(),
        reason: Some("launch".into()),
    }
}

const RUN: &str = "course-v1:MITx+6.001x+1T2026";

conformance!(targets_resolve_runs_then_programs, |db| {
    let store = &db.store;
    let (course, run) = store
        .insert_course_run_fixture("course-v1:MITx+6.001x", RUN, now())
        .await
        .unwrap();
    let program = store
        .insert_program_fixture("program-v1:MITx+CS", &[course], now())
        .await
        .unwrap();
    assert_eq!(
        store.resolve_product_target(RUN).await.unwrap(),
        Some(ProductTarget::CourseRun {
            id: run,
            course,
            courseware_id: RUN.into()
        })
    );
    assert_eq!(
        store
            .resolve_product_target("program-v1:MITx+CS")
            .await
            .unwrap(),
        Some(ProductTarget::Program {
            id: program,
            readable_id: "program-v1:MITx+CS".into()
        })
    );
    // A course's readable id is not a product target.
    assert_eq!(
        store
            .resolve_product_target("course-v1:MITx+6.001x")
            .await
            .unwrap(),
        None
    );
});

conformance!(create_then_update_appends_snapshots, |db| {
    let store = &db.store;
    store
        .insert_course_run_fixture("course-v1:MITx+6.001x", RUN, now())
        .await
        .unwrap();
    let target = store.resolve_product_target(RUN).await.unwrap().unwrap();

    let created =
        tx!(store, t => t.upsert_product(&target, price("999.00"), RUN, true, &ops(), now()).await)
            .unwrap();
    assert_eq!(created.change, ProductChange::Created);
    assert_eq!(created.before, None);
    let product = created.product;
    assert_eq!(product.content_type, ContentType::CourseRun);
    assert_eq!(product.courseware.as_deref(), Some(RUN));
    assert_eq!(product.price, price("999.00"));
    assert_eq!(product.versions, 1);

    let later = now() + Duration::hours(1);
    let updated = tx!(store, t => t.upsert_product(&target, price("499.50"), "Spring run", true, &ops(), later).await)
        .unwrap();
    assert_eq!(updated.change, ProductChange::Updated);
    assert_eq!(updated.before.as_ref().unwrap().price, price("999.00"));
    assert_eq!(updated.product.id, product.id);
    assert_eq!(updated.product.price, price("499.50"));
    assert_eq!(updated.product.versions, 2);

    // The first snapshot is untouched; newest first.
    let versions = store.product_versions(product.id).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].price, price("499.50"));
    assert_eq!(versions[0].description, "Spring run");
    assert_eq!(versions[1].price, price("999.00"));
    assert_eq!(versions[1].description, RUN);
    assert_eq!(versions[1].created_on, now());

    // Same values again: nothing written.
    let same = tx!(store, t => t.upsert_product(&target, price("499.50"), "Spring run", true, &ops(), later).await)
        .unwrap();
    assert_eq!(same.change, ProductChange::Unchanged);
    assert_eq!(store.product_versions(product.id).await.unwrap().len(), 2);

    let audit = store
        .audit_log_for("product", &product.id.to_string())
        .await
        .unwrap();
    assert_eq!(
        audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["product.create", "product.update"]
    );
    assert_eq!(audit[0].actor, "ops");
    assert_eq!(audit[0].reason.as_deref(), Some("launch"));
});

conformance!(deactivate_hides_from_default_list_and_never_deletes, |db| {
    let store = &db.store;
    let (course, _) = store
        .insert_course_run_fixture("course-v1:MITx+6.001x", RUN, now())
        .await
        .unwrap();
    store
        .insert_program_fixture("program-v1:MITx+CS", &[course], now())
        .await
        .unwrap();
    let run = store.resolve_product_target(RUN).await.unwrap().unwrap();
    let program = store
        .resolve_product_target("program-v1:MITx+CS")
        .await
        .unwrap()
        .unwrap();
    let a =
        tx!(store, t => t.upsert_product(&run, price("100.00"), RUN, true, &ops(), now()).await)
            .unwrap()
            .product;
    let b = tx!(store, t => t.upsert_product(&program, price("750.00"), "program", true, &ops(), now()).await)
        .unwrap()
        .product;
    assert_eq!(b.content_type, ContentType::Program);
    assert_eq!(store.list_products(false).await.unwrap().len(), 2);

    let audit = Audit {
        actor: "root".into(),
        reason: Some("retired".into()),
    };
    let write = tx!(store, t => t.deactivate_product(a.id, &audit, now()).await).unwrap();
    assert_eq!(write.change, ProductChange::Updated);
    assert!(!write.product.is_active);
    assert_eq!(write.product.versions, 2);
    let active = store.list_products(false).await.unwrap();
    assert_eq!(active.iter().map(|p| p.id).collect::<Vec<_>>(), [b.id]);
    let all = store.list_products(true).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(store.product(a.id).await.unwrap().is_some());

    let again = tx!(store, t => t.deactivate_product(a.id, &audit, now()).await).unwrap();
    assert_eq!(again.change, ProductChange::Unchanged);
    let rows = store
        .audit_log_for("product", &a.id.to_string())
        .await
        .unwrap();
    let last = rows.last().unwrap();
    assert_eq!(last.action, "product.deactivate");
    assert_eq!(last.reason.as_deref(), Some("retired"));
    assert!(
        last.data_before
            .as_deref()
            .unwrap()
            .contains("\"is_active\":true")
    );
    assert!(
        last.data_after
            .as_deref()
            .unwrap()
            .contains("\"is_active\":false")
    );
    assert_eq!(rows.len(), 2);

    let err =
        tx!(store, t => t.deactivate_product(ProductId(9999), &audit, now()).await).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
});
