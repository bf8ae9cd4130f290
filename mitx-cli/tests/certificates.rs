//! `mitx certificates revoke|unrevoke` end to end (courses spec 3.5, scenario 36): the
//! certificate leaves the learner's transcript (what enrollment lists, records and program
//! eligibility read) and comes back; repeats change nothing; a missing certificate exits 1.

use chrono::Utc;
use mitx_core::ids::UserId;

use crate::support::{all_dbs, mitx, mitx_json};

const RUN: &str = "course-v1:MITx+14.100x+3T2026";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_and_unrevoke_hide_and_restore_a_certificate() {
    for db in all_dbs().await {
        let url = db.url.as_str();
        let (code, _, err) = mitx(url, &["catalog", "import", "fixtures/demo/catalog.json"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = mitx(
            url,
            &[
                "users",
                "create",
                "--username",
                "jdoe",
                "--email",
                "jdoe@example.com",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let user = mitx_json(url, &["users", "show", "jdoe"])["id"]
            .as_i64()
            .unwrap();
        let runs = mitx_json(url, &["catalog", "list", "runs"]);
        let run = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["courseware_id"] == RUN)
            .unwrap_or_else(|| panic!("{RUN} in the demo catalog: {runs}"))["id"]
            .as_i64()
            .unwrap();
        // A certificate no workflow issues yet (generation comes with issue 10).
        let now = Utc::now().to_rfc3339();
        db.store
            .execute_raw(&format!(
                "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, issue_date, created_on, updated_on) \
                 VALUES ({user}, {run}, '0b0c0d0e-0000-4000-8000-0000000000aa', FALSE, '{now}', '{now}', '{now}')"
            ))
            .await
            .unwrap();
        let earned = || async {
            db.store
                .learner_transcript(UserId(user), Utc::now())
                .await
                .unwrap()
                .run_certificates
                .len()
        };
        assert_eq!(earned().await, 1);

        let revoke = [
            "certificates",
            "revoke",
            "--user",
            "jdoe",
            "--run",
            RUN,
            "--reason",
            "integrity",
        ];
        let (code, _, err) = mitx(url, &revoke);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("is now revoked"), "{err}");
        assert_eq!(earned().await, 0, "a revoked certificate is not earned");
        // Again: nothing changes, no second audit row.
        let (code, _, err) = mitx(url, &revoke);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("already revoked; nothing changed"), "{err}");

        let restored = mitx_json(
            url,
            &[
                "certificates",
                "unrevoke",
                "--user",
                "jdoe@example.com",
                "--run",
                &run.to_string(),
                "--reason",
                "appeal",
            ],
        );
        assert_eq!(restored["changed"], true);
        assert_eq!(restored["certificate"]["is_revoked"], false);
        assert_eq!(
            restored["certificate"]["uuid"],
            "0b0c0d0e-0000-4000-8000-0000000000aa"
        );
        assert_eq!(earned().await, 1);
        let audit = db
            .store
            .audit_log_for(
                "course_run_certificate",
                &restored["certificate"]["id"].to_string(),
            )
            .await
            .unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(
            actions.contains(&"certificate.revoke") && actions.contains(&"certificate.unrevoke")
        );

        // No certificate for the program: exit 1, "No changes made", nothing written.
        let programs = mitx_json(url, &["catalog", "list", "programs"]);
        let program = programs[0]["readable_id"].as_str().unwrap().to_owned();
        let (code, _, err) = mitx(
            url,
            &[
                "certificates",
                "revoke",
                "--user",
                "jdoe",
                "--program",
                &program,
                "--reason",
                "x",
            ],
        );
        assert_eq!(code, 1);
        assert!(err.contains("No changes made"), "{err}");
        // Neither run nor program: a usage error.
        let (code, _, _) = mitx(
            url,
            &["certificates", "revoke", "--user", "jdoe", "--reason", "x"],
        );
        assert_eq!(code, 2);
        db.cleanup().await.unwrap();
    }
}

/// Three self-paced runs of one course, for the load-shaped tests.
fn load_catalog(runs: usize) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = (1..=runs)
        .map(|i| {
            serde_json::json!({
                "courseware_id": format!("course-v1:LOAD+K1+R{i}"),
                "run_tag": format!("R{i}"),
                "title": format!("Load run {i}"),
                "start_date": "2026-01-01T00:00:00Z",
                "end_date": "2027-01-01T00:00:00Z",
                "enrollment_start": "2025-12-01T00:00:00Z",
                "live": true,
                "is_self_paced": true,
                "modes": ["audit", "verified"],
                "price": "100.00"
            })
        })
        .collect();
    serde_json::json!({
        "version": 1,
        "courses": [{"readable_id": "course-v1:LOAD+K1", "title": "Load", "live": true, "runs": runs}]
    })
}

/// The "Done when": a worker killed with SIGKILL in the middle of certificate
/// generation leaves no half-written batch (every stored grade has its certificate and
/// its audit row, and the counts are whole batches), and the next run completes the rest
/// with no duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_killed_mid_batch_leaves_whole_batches_and_the_next_run_completes() {
    use mitx_services::testing::{self, FakeEdx};

    const LEARNERS: i64 = 1500;
    const RUNS: usize = 3;
    const BATCH: i64 = 25;
    for db in all_dbs().await {
        let services = testing::services(&db, testing::settings(&[]));
        let data = serde_json::from_value(load_catalog(RUNS)).unwrap();
        mitx_services::catalog::import(&services, &data, false)
            .await
            .unwrap();
        let mut runs = Vec::new();
        for i in 1..=RUNS {
            let key = format!("course-v1:LOAD+K1+R{i}");
            let run = services
                .store()
                .enrollment_run_by_courseware_id(&key)
                .await
                .unwrap()
                .unwrap();
            runs.push(run.run.id);
        }
        db.store
            .certificate_load_fixture("kill", LEARNERS, &runs, Utc::now())
            .await
            .unwrap();
        let edx = FakeEdx::start().await.unwrap();
        edx.set_grade_page_size(1000);
        for i in 1..=RUNS {
            let key = format!("course-v1:LOAD+K1+R{i}");
            for n in 1..=LEARNERS {
                edx.set_grade(&key, &format!("kill{n}"), 0.9, true, Some("Pass"));
            }
        }
        let mut envs = edx.env();
        envs.push(("MITX_CERTIFICATE_BATCH_SIZE", BATCH.to_string()));
        let total = LEARNERS * RUNS as i64;
        let count = |table: &'static str| {
            let store = db.store.clone();
            async move { store.count(table).await.unwrap() }
        };

        let root = crate::support::repo_root();
        let mut child = crate::support::command(
            &root,
            &db.url,
            &["--quiet", "certificates", "generate"],
            &envs,
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let created = count("course_run_certificates").await;
            if created >= total / 4 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no progress: {created}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let certificates = count("course_run_certificates").await;
        let grades = count("course_run_grades").await;
        let audits = count("course_run_grade_audits").await;
        assert!(
            certificates < total,
            "the generation finished before it was killed ({certificates}); make the load larger"
        );
        assert_eq!(
            grades, certificates,
            "every stored grade has its certificate"
        );
        assert_eq!(audits, grades, "every stored grade has its audit row");
        assert_eq!(
            certificates % BATCH,
            0,
            "only whole batches: {certificates}"
        );

        let (code, _, err) = crate::support::mitx_env(
            &root,
            &db.url,
            &["--quiet", "certificates", "generate"],
            &envs,
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(count("course_run_certificates").await, total);
        assert_eq!(count("course_run_grades").await, total);
        assert_eq!(
            count("course_run_grade_audits").await,
            total,
            "no grade written twice"
        );
        // And once more: nothing new.
        let (code, _, err) = crate::support::mitx_env(
            &root,
            &db.url,
            &["--quiet", "certificates", "generate"],
            &envs,
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(count("course_run_certificates").await, total);
        assert_eq!(count("course_run_grade_audits").await, total);
        db.cleanup().await.unwrap();
    }
}
