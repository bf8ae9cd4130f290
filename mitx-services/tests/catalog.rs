//! Catalog import: the primary-language rule (courses spec 1.3) on both backends.

use mitx_services::catalog::{self, ImportError};
use mitx_services::store::catalog::CatalogData;
use mitx_services::testing;
use serde_json::{Value, json};

use crate::support::backends;

const COURSE: &str = "course-v1:MITxT+LANG";
const EN: &str = "course-v1:MITxT+LANG+1T2026";
const FR: &str = "course-v1:MITxT+LANG+1T2026_fr";

fn run(courseware_id: &str, language: &str, primary: Option<bool>) -> Value {
    let mut run = json!({
        "courseware_id": courseware_id,
        "run_tag": "1T2026",
        "live": true,
        "language": language,
        "start_date": "2026-02-01T00:00:00Z",
    });
    if let Some(primary) = primary {
        run["is_primary_language"] = json!(primary);
    }
    run
}

fn document(runs: Vec<Value>) -> CatalogData {
    serde_json::from_value(json!({
        "version": 1,
        "courses": [{ "readable_id": COURSE, "title": "Languages", "live": true, "runs": runs }],
    }))
    .expect("catalog document")
}

/// (courseware id, is_primary_language, is_source_run) of the stored runs of the course.
async fn stored_flags(services: &mitx_services::Services) -> Vec<(String, bool, bool)> {
    let data = services.store().export_catalog().await.expect("export");
    let mut out: Vec<(String, bool, bool)> = data
        .courses
        .iter()
        .filter(|c| c.readable_id == COURSE)
        .flat_map(|c| c.runs.iter())
        .map(|r| {
            (
                r.courseware_id.clone(),
                r.is_primary_language,
                r.is_source_run,
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_primary_runs_of_one_run_tag_are_refused_naming_both() {
    for db in backends().await {
        let services = testing::services(&db, testing::settings(&[]));
        // Both flags absent: both default to primary.
        for runs in [
            vec![run(EN, "en", Some(true)), run(FR, "fr", Some(true))],
            vec![run(EN, "en", None), run(FR, "fr", None)],
        ] {
            for dry_run in [false, true] {
                let err = catalog::import(&services, &document(runs.clone()), dry_run)
                    .await
                    .expect_err("two primary runs");
                let ImportError::Rejected(problems) = err else {
                    panic!("not a rejection: {err}");
                };
                assert_eq!(problems.len(), 1, "{problems:?}");
                let text = problems[0].to_string();
                assert!(
                    text.starts_with(&format!("courses[0] ({COURSE}):")),
                    "{text}"
                );
                assert!(text.contains(EN) && text.contains(FR), "{text}");
                assert!(text.contains("run tag 1T2026"), "{text}");
                assert!(
                    stored_flags(&services).await.is_empty(),
                    "nothing imported ({})",
                    db.url
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_primary_run_per_run_tag_imports_and_the_flags_are_stored() {
    for db in backends().await {
        let services = testing::services(&db, testing::settings(&[]));
        let data = document(vec![run(EN, "en", None), run(FR, "fr", Some(false))]);
        catalog::import(&services, &data, false)
            .await
            .expect("one primary run");
        assert_eq!(
            stored_flags(&services).await,
            [(EN.into(), true, false), (FR.into(), false, false)]
        );

        // A later file that makes the stored French run primary while the stored English one
        // stays primary (not in the file) is refused and names the stored run too.
        let data = document(vec![run(FR, "fr", Some(true))]);
        let Err(ImportError::Rejected(problems)) = catalog::import(&services, &data, false).await
        else {
            panic!("refused");
        };
        let text = problems[0].to_string();
        assert!(text.contains(EN) && text.contains(FR), "{text}");
        assert!(
            text.contains(&format!("already stored, not in this file: {EN}")),
            "{text}"
        );
        assert_eq!(
            stored_flags(&services).await,
            [(EN.into(), true, false), (FR.into(), false, false)],
            "unchanged"
        );

        // Swapping the primary run in one file is fine; a source run of the same tag is its
        // own group.
        let mut source = run("course-v1:MITxT+LANG+SOURCE", "en", Some(true));
        source["run_tag"] = json!("1T2026");
        source["is_source_run"] = json!(true);
        let data = document(vec![
            run(EN, "en", Some(false)),
            run(FR, "fr", Some(true)),
            source,
        ]);
        catalog::import(&services, &data, false)
            .await
            .expect("swap and source run");
        assert_eq!(
            stored_flags(&services).await,
            [
                (EN.into(), false, false),
                (FR.into(), true, false),
                ("course-v1:MITxT+LANG+SOURCE".into(), true, true),
            ]
        );
    }
}
