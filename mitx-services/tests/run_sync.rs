//! The course-run data sync (courses spec 4.6, scenario 47) and run retirement (spec 6
//! `retire_courserun`) through the workflows, on both backends, against the fake Open edX.

use chrono::{DateTime, TimeZone, Utc};
use mitx_core::catalog::{CourseRun, RetireOptions};
use mitx_core::enrollment::{WindowCheck, is_sync_candidate};
use mitx_services::catalog::retire::{EdxStep, RetireError, RetireRequest, retire_run};
use mitx_services::clock::Clock;
use mitx_services::edx::run_sync::{self, RunSyncReport};
use mitx_services::enrollment;
use mitx_services::store::audit_log::Audit;
use mitx_services::testing;
use serde_json::json;

use crate::support::{World, backends, t0, world};

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

/// The runs the periodic sync looks at now.
async fn candidates(w: &World) -> Vec<CourseRun> {
    let now = w.services.now();
    w.services
        .store()
        .live_unexpired_runs(now)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run)
        .filter(|r| is_sync_candidate(r, now))
        .collect()
}

async fn run_by_key(w: &World, key: &str) -> CourseRun {
    w.services
        .store()
        .enrollment_run_by_courseware_id(key)
        .await
        .unwrap()
        .unwrap()
        .run
}

/// The edX item of scenario 47 for `key`.
fn s47_item(key: &str) -> serde_json::Value {
    json!({
        "id": key,
        "name": "Intro",
        "start": "2026-02-01T00:00:00Z",
        "end": "2026-06-01T00:00:00Z",
        "enrollment_start": "2026-01-01T00:00:00Z",
        "enrollment_end": null,
        "pacing": "self",
    })
}

fn counts(report: &RunSyncReport) -> (u32, u32) {
    (report.updated, report.failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s47_sync_saves_the_edx_item_then_finds_nothing_to_do() {
    for db in backends().await {
        let w = world(db, false, Clock::fixed(t0()), &[]).await;
        let runs = candidates(&w).await;
        let key = runs[0].courseware_id.as_str().to_owned();
        w.edx.put_course(s47_item(&key));
        let revision = w.services.store().catalog_revision().await.unwrap();

        let report = run_sync::sync_all_runs(&w.services).await.unwrap();
        assert_eq!(counts(&report), (1, 0), "{report:?}");
        assert_eq!(report.summary(), "Sync complete: 1 updated, 0 failures");
        assert_eq!(report.updated_runs, vec![key.clone()]);
        assert_eq!(report.candidates, runs.len());
        let saved = run_by_key(&w, &key).await;
        assert_eq!(saved.title, "Intro");
        assert!(saved.is_self_paced);
        assert_eq!(saved.start_date, Some(at(2026, 2, 1)));
        assert_eq!(saved.end_date, Some(at(2026, 6, 1)));
        assert_eq!(saved.enrollment_start, Some(at(2026, 1, 1)));
        assert_eq!(saved.enrollment_end, None);
        assert_eq!(saved.certificate_available_date, Some(at(2026, 6, 1)));
        assert!(
            w.services.store().catalog_revision().await.unwrap() > revision,
            "the catalog cache must see the change"
        );
        assert_eq!(w.edx.course_list_keys(), vec![runs.len()]);

        // Same data again: nothing to save, no failure; one run by key likewise.
        let again = run_sync::sync_all_runs(&w.services).await.unwrap();
        assert_eq!(counts(&again), (0, 0), "{again:?}");
        assert_eq!(again.summary(), "Sync complete: 0 updated, 0 failures");
        let one = run_sync::sync_one_run(&w.services, &key).await.unwrap();
        assert_eq!(counts(&one), (0, 0));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_sync_batches_keys_by_100_and_follows_pages() {
    for db in backends().await {
        let w = world(db, false, Clock::fixed(t0()), &[]).await;
        let database = testing::database(&w.services);
        let now = w.services.now();
        for i in 0..130 {
            let key = format!("course-v1:MITxT+BATCH+R{i:03}");
            database
                .insert_course_run_fixture("course-v1:MITxT+BATCH", &key, now)
                .await
                .unwrap();
            w.edx.put_course(json!({
                "id": key,
                "name": format!("Batch run {i}"),
                "start": "2026-04-01T00:00:00Z",
                "end": "2026-08-01T00:00:00Z",
                "enrollment_start": "2026-03-01T00:00:00Z",
                "enrollment_end": "2026-04-15T00:00:00Z",
                "certificate_available_date": "2026-08-10T00:00:00Z",
                "pacing": "instructor",
            }));
        }
        w.edx.set_page_size(7);
        let runs = candidates(&w).await;
        assert!(runs.len() > 130);

        let report = run_sync::sync_all_runs(&w.services).await.unwrap();
        assert_eq!(counts(&report), (130, 0), "{:?}", report.failed);
        let keys = w.edx.course_list_keys();
        assert_eq!(keys.len(), runs.len().div_ceil(100), "{keys:?}");
        assert!(keys.iter().all(|k| *k <= 100), "{keys:?}");
        assert_eq!(keys.iter().sum::<usize>(), runs.len());
        // 130 known courses, 7 per page: every page was read.
        assert!(w.edx.calls().course_lists >= 130 / 7, "{:?}", w.edx.calls());
        let saved = run_by_key(&w, "course-v1:MITxT+BATCH+R129").await;
        assert_eq!(saved.title, "Batch run 129");
        assert_eq!(
            saved.enrollment_end,
            Some(Utc.with_ymd_and_hms(2026, 4, 15, 0, 0, 0).unwrap())
        );
        assert_eq!(saved.certificate_available_date, Some(at(2026, 8, 10)));
        assert!(!saved.is_self_paced);

        let again = run_sync::sync_all_runs(&w.services).await.unwrap();
        assert_eq!(counts(&again), (0, 0));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_sync_counts_api_errors_and_refused_saves_as_failures() {
    for db in backends().await {
        let w = world(db, false, Clock::fixed(t0()), &[]).await;
        let runs = candidates(&w).await;
        let (good, long, untitled) = (
            runs[0].courseware_id.as_str().to_owned(),
            runs[1].courseware_id.as_str().to_owned(),
            runs[2].courseware_id.as_str().to_owned(),
        );
        let long_before = run_by_key(&w, &long).await;

        // edX down: the course-list call is one failure; nothing is saved.
        w.edx.put_course(s47_item(&good));
        w.edx.set_failing(Some(503));
        let down = run_sync::sync_one_run(&w.services, &good).await.unwrap();
        assert_eq!(counts(&down), (0, 1), "{down:?}");
        assert_eq!(down.failed[0].run, None);
        assert!(down.failed[0].reason.contains("503"), "{:?}", down.failed);
        let all_down = run_sync::sync_all_runs(&w.services).await.unwrap();
        assert_eq!(counts(&all_down), (0, 1), "one call for under 100 runs");
        w.edx.set_failing(None);

        // A title the schema refuses (over 255 characters) and a missing title: one
        // failure each; the good run is saved all the same.
        let mut item = s47_item(&long);
        item["name"] = json!("x".repeat(300));
        w.edx.put_course(item);
        let mut item = s47_item(&untitled);
        item["name"] = json!(null);
        w.edx.put_course(item);
        let report = run_sync::sync_all_runs(&w.services).await.unwrap();
        assert_eq!(counts(&report), (1, 2), "{report:?}");
        assert_eq!(report.updated_runs, vec![good.clone()]);
        let failed: Vec<Option<String>> = report.failed.iter().map(|f| f.run.clone()).collect();
        assert!(failed.contains(&Some(long.clone())), "{failed:?}");
        assert!(failed.contains(&Some(untitled.clone())), "{failed:?}");
        assert_eq!(
            run_by_key(&w, &long).await,
            long_before,
            "nothing half-saved"
        );

        // An unknown run is an error of the request, not a failure count.
        let err = run_sync::sync_one_run(&w.services, "course-v1:MITx+Nope+1T2026")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Course run 'course-v1:MITx+Nope+1T2026' not found."
        );
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_sync_is_the_daily_periodic_job() {
    for db in backends().await {
        let w = world(db, false, Clock::fixed(t0()), &[]).await;
        let key = candidates(&w).await[0].courseware_id.as_str().to_owned();
        w.edx.put_course(s47_item(&key));
        let report = mitx_services::jobs::periodic::run(&w.services, "sync-courseruns-data")
            .await
            .unwrap();
        assert_eq!(report.summary, "Sync complete: 1 updated, 0 failures");
        assert_eq!(report.failures, 0);
        w.cleanup().await;
    }
}

/// A candidate run with an active product, known to the fake edX.
async fn sellable_run(w: &World) -> CourseRun {
    let now = w.services.now();
    let run = w
        .services
        .store()
        .live_unexpired_runs(now)
        .await
        .unwrap()
        .into_iter()
        .find(|r| {
            r.active_product.is_some()
                && !r.run.is_b2b()
                && r.run.start_date.is_some()
                && r.run.end_date.is_some_and(|e| e > now)
        })
        .expect("a run with a product")
        .run;
    w.edx.put_course(json!({
        "id": run.courseware_id.as_str(),
        "name": run.title,
        "start": run.start_date,
        "end": run.end_date,
        "enrollment_start": run.enrollment_start,
        "enrollment_end": run.enrollment_end,
        "pacing": if run.is_self_paced { "self" } else { "instructor" },
    }));
    run
}

fn request(key: &str, commit: bool) -> RetireRequest {
    RetireRequest {
        run: key.to_owned(),
        commit,
        audit: Audit::new("tester", Some("replaced by a new run".into())),
        ..RetireRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retire_run_dry_run_then_commit_then_nothing_to_do() {
    for db in backends().await {
        let w = world(db, false, Clock::fixed(t0()), &[]).await;
        let run = sellable_run(&w).await;
        let key = run.courseware_id.as_str().to_owned();
        let store = w.services.store();
        let revision = store.catalog_revision().await.unwrap();
        let calls = w.edx.calls();

        let dry = retire_run(&w.services, &request(&key, false))
            .await
            .unwrap();
        assert!(!dry.committed && !dry.nothing_to_do);
        assert_eq!(dry.edx, EdxStep::WouldUpdate);
        assert_eq!(dry.products_deactivated.len(), 1);
        let fields: Vec<&str> = dry.changes.iter().map(|c| c.field).collect();
        assert!(
            fields.contains(&"end_date") && fields.contains(&"live"),
            "{fields:?}"
        );
        assert_eq!(run_by_key(&w, &key).await, run, "a dry run changes nothing");
        assert_eq!(store.catalog_revision().await.unwrap(), revision);
        assert_eq!(w.edx.calls(), calls, "a dry run calls nothing");

        let done = retire_run(&w.services, &request(&key, true)).await.unwrap();
        assert!(done.committed);
        assert_eq!(done.edx, EdxStep::Updated);
        let retired = run_by_key(&w, &key).await;
        let now = w.services.now();
        assert!(!retired.live);
        assert!(retired.is_past(now) && !retired.is_enrollable(now));
        assert!(retired.enrollment_end.is_some_and(|e| e < now));
        assert_eq!(retired.validate(), Ok(()));
        let product = store
            .product(done.products_deactivated[0])
            .await
            .unwrap()
            .unwrap();
        assert!(!product.is_active);
        let updates = w.edx.studio_updates();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].0, key);
        let schedule = &updates[0].1["schedule"];
        assert_eq!(
            schedule["end"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap(),
            retired.end_date.unwrap()
        );
        assert_eq!(w.edx.calls().jwt_tokens, 1);
        let audit = store
            .audit_log_for("course_run", &retired.id.to_string())
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "course_run.retire");
        assert_eq!(audit[0].reason.as_deref(), Some("replaced by a new run"));
        assert!(store.catalog_revision().await.unwrap() > revision);
        // The sync no longer touches it.
        assert!(!candidates(&w).await.iter().any(|r| r.id == retired.id));

        let again = retire_run(&w.services, &request(&key, true)).await.unwrap();
        assert!(again.nothing_to_do && !again.committed, "{again:?}");
        assert_eq!(w.edx.studio_updates().len(), 1, "no second edX call");
        assert_eq!(run_by_key(&w, &key).await, retired);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retire_run_refuses_active_enrollments_and_keeps_everything_on_snapshot_failure() {
    for db in backends().await {
        let w = world(db, false, Clock::fixed(t0()), &[]).await;
        let run = sellable_run(&w).await;
        let key = run.courseware_id.as_str().to_owned();
        let learner = w.learner("retiree").await;
        mitx_services::edx::users::ensure_edx_account(&w.services, learner)
            .await
            .unwrap();
        let (enrolled, _) =
            enrollment::enroll_via_api(&w.services, learner, run.id, WindowCheck::Skip)
                .await
                .unwrap();
        let calls = w.edx.calls();

        let err = retire_run(&w.services, &request(&key, true))
            .await
            .unwrap_err();
        assert!(matches!(err, RetireError::Refused(_)), "{err}");
        assert!(err.to_string().contains("1 active enrollment(s)"), "{err}");
        assert_eq!(run_by_key(&w, &key).await, run);
        assert_eq!(w.edx.calls(), calls);

        // The snapshot cannot be written (its folder would be under a file): nothing
        // changes, edX is not called.
        let file = testing::temp_dir("retire").join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let mut blocked = request(&key, true);
        blocked.unenroll = true;
        blocked.snapshot_dir = Some(file.join("snapshots"));
        let err = retire_run(&w.services, &blocked).await.unwrap_err();
        assert!(matches!(err, RetireError::Snapshot { .. }), "{err}");
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        assert_eq!(run_by_key(&w, &key).await, run);
        let row = w
            .services
            .store()
            .enrollment_by_id(enrolled.id)
            .await
            .unwrap()
            .unwrap();
        assert!(row.enrollment.active);
        assert_eq!(w.edx.calls(), calls);

        // With --unenroll, --skip-edx and a writable folder: the learner is unenrolled,
        // the run retired locally, Studio left alone, the snapshot holds the run as it was.
        let dir = testing::temp_dir("retire-snapshots");
        let mut ok = request(&key, true);
        ok.unenroll = true;
        ok.skip_edx = true;
        ok.options = RetireOptions {
            keep_products: true,
            keep_contract: false,
        };
        ok.snapshot_dir = Some(dir.clone());
        let done = retire_run(&w.services, &ok).await.unwrap();
        assert!(done.committed);
        assert_eq!(done.unenrolled, vec![enrolled.id]);
        assert_eq!(done.edx, EdxStep::Skipped);
        assert!(done.products_deactivated.is_empty());
        let row = w
            .services
            .store()
            .enrollment_by_id(enrolled.id)
            .await
            .unwrap()
            .unwrap();
        assert!(!row.enrollment.active);
        assert!(w.edx.studio_updates().is_empty());
        let snapshot: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(done.snapshot.unwrap()).unwrap())
                .unwrap();
        assert_eq!(snapshot["run"]["live"], json!(true));
        assert_eq!(snapshot["active_enrollments"].as_array().unwrap().len(), 1);
        let product = w
            .services
            .store()
            .product_for_target(&mitx_services::store::products::ProductTarget::CourseRun {
                id: run.id,
                course: run.course_id,
                courseware_id: key.clone(),
            })
            .await
            .unwrap()
            .unwrap();
        assert!(product.is_active, "--keep-products");
        w.cleanup().await;
    }
}
