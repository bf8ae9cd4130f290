//! `mitx products create|list|deactivate` end to end.

use chrono::Utc;
use mitx_core::ids::ProductId;
use mitx_services::testing::TestDb;

use crate::support::{all_dbs, mitx, mitx_json};

const RUN: &str = "course-v1:MITxT+8.01x+3T2026";

/// A course with one run and a program containing the course.
async fn catalog(db: &TestDb) {
    let (course, _) = db
        .store
        .insert_course_run_fixture("course-v1:MITxT+8.01x", RUN, Utc::now())
        .await
        .unwrap();
    db.store
        .insert_program_fixture("program-v1:MITxT+PHYS", &[course], Utc::now())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_create_update_list_deactivate() {
    for db in all_dbs().await {
        catalog(&db).await;
        let url = db.url.as_str();
        let (code, _, err) = mitx(url, &["products", "create", RUN, "999.00"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Created product"), "{err}");
        let (code, _, err) = mitx(
            url,
            &[
                "products",
                "create",
                "program-v1:MITxT+PHYS",
                "1500",
                "-d",
                "Physics program",
            ],
        );
        assert_eq!(code, 0, "{err}");

        let listed = mitx_json(url, &["products", "list"]);
        let rows = listed.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["courseware"], RUN);
        assert_eq!(rows[0]["price"], "999.00");
        assert_eq!(
            rows[0]["description"], RUN,
            "description defaults to the courseware id"
        );
        assert_eq!(rows[0]["versions"], 1);
        assert_eq!(rows[1]["content_type"], "program");
        let id = rows[0]["id"].as_i64().unwrap();

        // An existing product is not changed without --update; the error names the diff.
        let (code, out, err) = mitx(
            url,
            &["products", "create", RUN, "899.50", "--reason", "sale"],
        );
        assert_eq!(code, 1, "{err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains(&format!(
                "Product {id} for {RUN} already exists; this would change price: 999.00 → 899.50."
            )) && err.contains("--update"),
            "{err}"
        );
        // The dry run shows the real diff (field: old → new) and writes nothing.
        let (code, out, err) = mitx(
            url,
            &[
                "products",
                "create",
                RUN,
                "899.50",
                "-d",
                "Mechanics",
                "--update",
                "--dry-run",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Dry run: would update"), "{err}");
        assert!(out.contains("price: 999.00 → 899.50"), "{out}");
        assert!(
            out.contains(&format!("description: \"{RUN}\" → \"Mechanics\"")),
            "{out}"
        );
        assert_eq!(
            db.store
                .product_versions(ProductId(id))
                .await
                .unwrap()
                .len(),
            1
        );
        // Re-creating with the same values changes nothing and needs no --update.
        let (code, _, err) = mitx(url, &["products", "create", RUN, "999.00"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("nothing changed"), "{err}");

        // With --update: a NEW snapshot; the old one is kept.
        let (code, _, err) = mitx(
            url,
            &[
                "products", "create", RUN, "899.50", "--update", "--reason", "sale",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Updated existing product"), "{err}");
        assert!(err.contains("$999.00 -> $899.50"), "{err}");
        let versions = db.store.product_versions(ProductId(id)).await.unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].price.to_price_string(), "899.50");
        assert_eq!(versions[1].price.to_price_string(), "999.00");

        // Dry run changes nothing.
        let (code, _, err) = mitx(
            url,
            &[
                "products",
                "deactivate",
                &id.to_string(),
                "--reason",
                "cancelled",
                "--dry-run",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Dry run"), "{err}");
        assert_eq!(
            mitx_json(url, &["products", "list"])
                .as_array()
                .unwrap()
                .len(),
            2
        );

        let (code, _, err) = mitx(
            url,
            &[
                "products",
                "deactivate",
                &id.to_string(),
                "--reason",
                "cancelled",
                "--actor",
                "ops",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Deactivated product"), "{err}");
        assert_eq!(
            mitx_json(url, &["products", "list"])
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let all = mitx_json(url, &["products", "list", "--all"]);
        let gone = all
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap();
        assert_eq!(gone["is_active"], false);
        assert_eq!(gone["versions"], 3);
        let audit = db
            .store
            .audit_log_for("product", &id.to_string())
            .await
            .unwrap();
        let last = audit.last().unwrap();
        assert_eq!(last.action, "product.deactivate");
        assert_eq!(last.actor, "ops");
        assert_eq!(last.reason.as_deref(), Some("cancelled"));
        assert_eq!(audit[1].reason.as_deref(), Some("sale"));
        assert_eq!(audit[1].actor, "tester", "actor defaults to $USER");

        // An update neither reactivates an inactive product nor resets its description.
        let (code, _, err) = mitx(
            url,
            &[
                "products",
                "create",
                RUN,
                "799.00",
                "--update",
                "--reason",
                "late sale",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let all = mitx_json(url, &["products", "list", "--all"]);
        let row = all
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap();
        assert_eq!(row["is_active"], false, "still inactive");
        assert_eq!(row["price"], "799.00");
        assert_eq!(row["description"], RUN);
        let (code, out, err) = mitx(
            url,
            &[
                "products",
                "create",
                RUN,
                "799.00",
                "--active",
                "--update",
                "--dry-run",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("active: inactive → active"), "{out}");

        // The table for people.
        let (code, out, _) = mitx(url, &["products", "list", "--all"]);
        assert_eq!(code, 0);
        assert!(
            out.contains("799.00") && out.contains("Physics program"),
            "{out}"
        );
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_bad_input_exits_1_and_writes_nothing() {
    let db = crate::support::sqlite_db().await;
    catalog(&db).await;
    let url = db.url.as_str();
    let (code, out, err) = mitx(url, &["products", "create", "course-v1:Nope+1+1T", "10"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("Could not retrieve courseware course-v1:Nope+1+1T"),
        "{err}"
    );
    let (code, _, err) = mitx(url, &["products", "create", RUN, "12.345"]);
    assert_eq!(code, 1);
    assert!(err.contains("Invalid price '12.345'"), "{err}");
    let (code, _, err) = mitx(url, &["products", "create", RUN, "-5"]);
    assert_ne!(code, 0, "{err}");
    let (code, _, err) = mitx(url, &["products", "deactivate", "77", "--reason", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("Product 77 not found."), "{err}");
    // --reason is required.
    let (code, _, _) = mitx(url, &["products", "deactivate", "77"]);
    assert_eq!(code, 2);
    assert!(db.store.list_products(true).await.unwrap().is_empty());
    db.cleanup().await.unwrap();
}
