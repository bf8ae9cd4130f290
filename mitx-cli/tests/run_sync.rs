//! `mitx edx sync-run` and `mitx catalog retire-run` end to end: the real binary against a
//! fresh database (both backends) and the fake Open edX started in this test process.

use mitx_services::Services;
use mitx_services::testing::{self, FakeEdx, TestDb};
use serde_json::json;

use crate::support::{all_dbs, mitx_env, repo_root, temp_dir};

/// Services over `db` with the demo catalog; the environment that points the binary at the
/// fake edX.
async fn setup(db: &TestDb, edx: &FakeEdx) -> (Services, Vec<(&'static str, String)>) {
    let settings = testing::settings_with_edx(edx, false, &[]);
    let mut envs = edx.env();
    envs.push((
        "MITX_EMAIL_OUTBOX",
        settings.email.outbox.display().to_string(),
    ));
    let services = testing::services(db, settings);
    testing::load_demo_catalog(&services).await;
    (services, envs)
}

/// A live run of the demo catalog with a product and dates, known to the fake edX as
/// scenario 47's item.
async fn demo_run(services: &Services, edx: &FakeEdx) -> String {
    let runs = services.store().list_runs().await.unwrap();
    let row = runs
        .iter()
        .find(|r| {
            r.live
                && r.price.is_some()
                && r.start_date.is_some()
                && r.end_date.is_some_and(|e| e > chrono::Utc::now())
        })
        .expect("a live run with a price");
    edx.put_course(json!({
        "id": row.courseware_id,
        "name": "Intro",
        "start": "2026-02-01T00:00:00Z",
        "end": "2026-06-01T00:00:00Z",
        "enrollment_start": "2026-01-01T00:00:00Z",
        "enrollment_end": null,
        "pacing": "self",
    }));
    row.courseware_id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s47_cli_sync_run_prints_the_tally_and_exits_1_on_failures() {
    for db in all_dbs().await {
        let edx = FakeEdx::start().await.unwrap();
        let (services, envs) = setup(&db, &edx).await;
        let key = demo_run(&services, &edx).await;
        let run = |args: &[&str]| mitx_env(&repo_root(), &db.url, args, &envs);

        let (code, out, err) = run(&["edx", "sync-run", "--run", &key]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim(), "Sync complete: 1 updated, 0 failures");
        let (code, out, err) = run(&["edx", "sync-run", "--all"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim(), "Sync complete: 0 updated, 0 failures");
        let (code, out, _) = run(&["--json", "edx", "sync-run", "--all"]);
        assert_eq!(code, 0);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (report["updated"].as_u64(), report["failures"].as_u64()),
            (Some(0), Some(0))
        );

        edx.set_failing(Some(503));
        let (code, out, err) = run(&["edx", "sync-run", "--run", &key]);
        assert_eq!(code, 1, "{err}");
        assert_eq!(out.trim(), "Sync complete: 0 updated, 1 failures");
        assert!(err.contains("503"), "{err}");
        edx.set_failing(None);

        let (code, _, err) = run(&["edx", "sync-run", "--run", "course-v1:MITx+Nope+1T2026"]);
        assert_eq!(code, 1);
        assert!(err.contains("not found"), "{err}");
        let (code, _, _) = run(&["edx", "sync-run"]);
        assert_eq!(code, 2, "--run or --all is required");
        let (code, _, _) = run(&["edx", "sync-run", "--all", "--run", &key]);
        assert_eq!(code, 2, "not both");
        drop(services);
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_retire_run_dry_run_commit_and_again() {
    for db in all_dbs().await {
        let edx = FakeEdx::start().await.unwrap();
        let (services, envs) = setup(&db, &edx).await;
        let key = demo_run(&services, &edx).await;
        let run = |args: &[&str]| mitx_env(&repo_root(), &db.url, args, &envs);
        let before = services
            .store()
            .enrollment_run_by_courseware_id(&key)
            .await
            .unwrap()
            .unwrap()
            .run;

        let (code, out, err) = run(&["catalog", "retire-run", "--run", &key, "--reason", "old"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains(&format!("Would retire {key}")), "{err}");
        assert!(
            out.contains("end_date") && out.contains("inactive"),
            "{out}"
        );
        assert!(
            out.contains("would update the run's schedule in Studio"),
            "{out}"
        );
        assert!(err.contains("Dry run: nothing was changed"), "{err}");
        assert_eq!(edx.calls().received, 0, "a dry run calls nothing");
        let same = services
            .store()
            .enrollment_run_by_courseware_id(&key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(same.run, before);

        let snapshots = temp_dir("retire-snapshots");
        let dir = snapshots.display().to_string();
        let (code, out, err) = run(&[
            "--json",
            "catalog",
            "retire-run",
            &key,
            "--commit",
            "--snapshot-dir",
            &dir,
            "--reason",
            "old",
        ]);
        assert_eq!(code, 0, "{err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["committed"], json!(true));
        assert_eq!(report["edx"], json!("updated"));
        assert_eq!(edx.studio_updates().len(), 1);
        assert_eq!(std::fs::read_dir(&snapshots).unwrap().count(), 1);
        let after = services
            .store()
            .enrollment_run_by_courseware_id(&key)
            .await
            .unwrap()
            .unwrap();
        assert!(!after.run.live);
        assert!(after.active_product.is_none(), "the product is deactivated");

        let (code, out, err) = run(&[
            "catalog",
            "retire-run",
            "--run",
            &key,
            "--commit",
            "--reason",
            "old",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out.trim(),
            format!("Nothing to do: {key} is already retired.")
        );
        assert_eq!(edx.studio_updates().len(), 1);

        let (code, _, err) = run(&["catalog", "retire-run", "--run", "nope", "--reason", "x"]);
        assert_eq!(code, 1);
        assert!(err.contains("not found"), "{err}");
        let (code, _, _) = run(&["catalog", "retire-run", "--run", &key]);
        assert_eq!(code, 2, "--reason is required");
        drop(services);
        db.cleanup().await.unwrap();
    }
}
