//! `mitx worker`, `mitx jobs` and `mitx edx` end to end: the real binary against a fresh
//! database and the fake Open edX (started in this test process, reached over loopback).

use std::process::Stdio;
use std::time::{Duration, Instant};

use mitx_core::enrollment::WindowCheck;
use mitx_core::ids::{CourseRunId, UserId};
use mitx_services::Services;
use mitx_services::email::{EmailJob, Template};
use mitx_services::enrollment::{self, EdxEnrollJob};
use mitx_services::jobs;
use mitx_services::store::jobs::JobStatus;
use mitx_services::testing::{self, FakeEdx, TestDb};

use crate::support::{all_dbs, command, mitx_env, repo_root};

/// Services over `db` with the fake edX and the demo catalog; the environment that points
/// the binary at the same fake and outbox.
async fn setup(
    db: &TestDb,
    edx: &FakeEdx,
    ignore: bool,
) -> (Services, Vec<(&'static str, String)>) {
    let settings = testing::settings_with_edx(edx, ignore, &[]);
    let mut envs = edx.env();
    envs.push((
        "MITX_EMAIL_OUTBOX",
        settings.email.outbox.display().to_string(),
    ));
    envs.push(("IGNORE_EDX_FAILURES", ignore.to_string()));
    envs.push(("MITX_WORKER_POLL_MILLISECONDS", "50".into()));
    let services = testing::services(db, settings);
    testing::load_demo_catalog(&services).await;
    (services, envs)
}

async fn learner(services: &Services, name: &str) -> UserId {
    testing::learner(services, name).await
}

async fn runs(services: &Services, n: usize) -> Vec<CourseRunId> {
    testing::open_runs(services, n).await
}

fn outbox_count(services: &Services) -> usize {
    std::fs::read_dir(&services.settings().email.outbox)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// A child process that is killed when the test ends, even when it panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_is_replaced_after_its_lease() {
    for db in all_dbs().await {
        let edx = FakeEdx::start().await.unwrap();
        let (services, mut envs) = setup(&db, &edx, true).await;
        envs.push(("MITX_WORKER_LEASE_SECONDS", "2".into()));
        let user = learner(&services, "kim").await;
        mitx_services::edx::users::ensure_edx_account(&services, user)
            .await
            .unwrap();
        let run = runs(&services, 1).await[0];
        edx.set_failing(Some(503));
        let (record, _) = enrollment::enroll_via_api(&services, user, run, WindowCheck::Skip)
            .await
            .unwrap();
        edx.set_failing(None);
        assert!(!record.enrollment.edx_enrolled);
        let now = services.now();
        let target = EdxEnrollJob {
            enrollment: record.id,
            user,
            run,
        };
        let mut tx = testing::database(&services).begin().await.unwrap();
        let job = tx
            .enqueue_job(&jobs::new_job(jobs::EDX_ENROLL, &target, None, now), now)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        // edX hangs: the worker is in the middle of the job when it is killed.
        edx.set_delay(Duration::from_secs(30));
        let received_before = edx.calls().received;
        let mut worker = KillOnDrop(
            command(
                &repo_root(),
                &db.url,
                &["worker", "--concurrency", "1", "--no-schedule"],
                &envs,
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        );
        let started = Instant::now();
        while edx.calls().received == received_before {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the worker never called edX"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let running = services.store().job(job).await.unwrap().unwrap();
        assert_eq!(running.status, JobStatus::Running);
        // The killed attempt's enroll call arrived but never completed.
        let enrolls_at_kill = edx.calls().enrolls;
        worker.0.kill().unwrap(); // SIGKILL
        worker.0.wait().unwrap();
        edx.set_delay(Duration::ZERO);
        // Before the lease expires, another worker leaves it alone.
        let (code, _, err) = mitx_env(
            &repo_root(),
            &db.url,
            &["worker", "--once", "--no-schedule"],
            &envs,
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            services.store().job(job).await.unwrap().unwrap().status,
            JobStatus::Running
        );
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (code, _, err) = mitx_env(
            &repo_root(),
            &db.url,
            &["worker", "--once", "--no-schedule"],
            &envs,
        );
        assert_eq!(code, 0, "{err}");
        let done = services.store().job(job).await.unwrap().unwrap();
        assert_eq!(
            (done.status, done.attempts),
            (JobStatus::Done, 2),
            "{done:?}"
        );
        let row = services
            .store()
            .enrollment_by_id(record.id)
            .await
            .unwrap()
            .unwrap();
        assert!(row.enrollment.edx_enrolled);
        assert_eq!(
            edx.calls().enrolls,
            enrolls_at_kill + 1,
            "the rerun calls edX once"
        );
        let held = edx.enrollments();
        assert_eq!(held.len(), 1, "{held:?}");
        assert!(held[0].2.is_active, "{held:?}");
        assert_eq!(outbox_count(&services), 1, "one enrollment email");
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edx_retry_enrollments_and_reset_retries() {
    for db in all_dbs().await {
        let edx = FakeEdx::start().await.unwrap();
        let (services, envs) = setup(&db, &edx, true).await;
        edx.set_failing(Some(503));
        for (i, run) in runs(&services, 2).await.into_iter().enumerate() {
            let user = learner(&services, &format!("lee{i}")).await;
            enrollment::enroll_via_api(&services, user, run, WindowCheck::Skip)
                .await
                .unwrap();
        }
        let root = repo_root();
        let run = |args: &[&str]| mitx_env(&root, &db.url, args, &envs);
        // Still down: every row reported, exit 1, nothing changed.
        let (code, out, err) = run(&["edx", "retry-enrollments"]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(out.contains("failed (transient; try again later)"), "{out}");
        assert!(
            err.contains("2 enrollment(s) could not be pushed to edX"),
            "{err}"
        );
        let (code, out, _) = run(&["--json", "edx", "retry-enrollments", "--dry-run"]);
        assert_eq!(code, 0);
        let planned: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(planned.as_array().unwrap().len(), 2);
        // edX is back: both pushed, whatever their age.
        edx.set_failing(None);
        let (code, out, err) = run(&["--json", "edx", "retry-enrollments"]);
        assert_eq!(code, 0, "{err}");
        let lines: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(lines.as_array().unwrap().len(), 2);
        assert!(
            lines
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["outcome"] == "enrolled"),
            "{lines}"
        );
        let (code, _, err) = run(&["edx", "retry-enrollments"]);
        assert_eq!(code, 0);
        assert!(err.contains("No enrollment is missing in edX."), "{err}");
        assert_eq!(edx.calls().enrolls, 2);
        // The worker sends the two enrollment emails, once.
        let (code, _, err) = run(&["worker", "--once"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, _) = run(&["worker", "--once"]);
        assert_eq!(code, 0);
        assert_eq!(outbox_count(&services), 2);
        // reset-retries refuses an unscoped run and reports when nothing matched.
        let (code, _, err) = run(&["edx", "reset-retries", "--reason", "x"]);
        assert_eq!(code, 1);
        assert!(err.contains("--all"), "{err}");
        let (code, _, err) = run(&["edx", "reset-retries", "--all", "--reason", "x"]);
        assert_eq!(code, 1);
        assert!(err.contains("No enrollment matched"), "{err}");
        let (code, _, err) = run(&["edx", "retry-enrollments", "nobody"]);
        assert_eq!(code, 1);
        assert!(err.contains("User 'nobody' not found."), "{err}");
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_commands_for_operators_and_cron() {
    for db in all_dbs().await {
        let edx = FakeEdx::start().await.unwrap();
        let (services, envs) = setup(&db, &edx, false).await;
        // A job that fails for good: its recipient is not an address.
        let now = services.now();
        let email = EmailJob {
            template: Template::Enrollment,
            to: "not an address".into(),
            context: serde_json::json!({"course_title": "Intro"}),
        };
        let mut tx = testing::database(&services).begin().await.unwrap();
        let id = tx
            .enqueue_job(&jobs::new_job(jobs::EMAIL_SEND, &email, None, now), now)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        let root = repo_root();
        let run = |args: &[&str]| mitx_env(&root, &db.url, args, &envs);
        let (code, out, err) = run(&["--json", "worker", "--once"]);
        assert_eq!(code, 0, "{err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["failed"], 1);
        let (code, out, _) = run(&["--json", "jobs", "failed"]);
        assert_eq!(code, 0);
        let failed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(failed[0]["id"], id);
        assert!(
            failed[0]["last_error"]
                .as_str()
                .unwrap()
                .contains("invalid address")
        );
        let (code, out, _) = run(&["jobs", "show", &id.to_string()]);
        assert_eq!(code, 0);
        assert!(out.contains("email.send"), "{out}");
        let (code, out, _) = run(&["jobs", "list", "--status", "failed"]);
        assert_eq!(code, 0);
        assert!(out.contains("email.send"), "{out}");
        let (code, _, err) = run(&["jobs", "retry", &id.to_string(), "--reason", "typo fixed"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run(&["jobs", "retry", &id.to_string()]);
        assert_eq!(code, 1);
        assert!(err.contains("is queued, not failed"), "{err}");
        let (code, _, err) = run(&["jobs", "retry", "999999"]);
        assert_eq!(code, 1);
        assert!(err.contains("not found"), "{err}");
        let (code, _, err) = run(&["jobs", "run", "purge-finished-jobs"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("deleted 0 finished job(s)"), "{err}");
        let (code, _, err) = run(&["jobs", "run", "retry-failed-edx-enrollments"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run(&["jobs", "run", "process-google-sheets-requests"]);
        assert_eq!(code, 1);
        assert!(err.contains("not available in this version"), "{err}");
        let (code, _, err) = run(&["jobs", "run", "nope"]);
        assert_eq!(code, 1);
        assert!(err.contains("unknown periodic job 'nope'"), "{err}");
        let (code, out, _) = run(&["--json", "jobs", "schedule"]);
        assert_eq!(code, 0);
        let schedule: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(schedule.as_array().unwrap().len(), 15);
        let (code, _, _) = run(&["jobs", "list", "--status", "bogus"]);
        assert_eq!(code, 2);
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_worker_refuse_bad_settings_and_name_the_variable() {
    let db = TestDb::sqlite().await.unwrap();
    let (code, _, err) = mitx_env(&repo_root(), &db.url, &["db", "migrate"], &[]);
    assert_eq!(code, 0, "{err}");
    for (name, value, args) in [
        ("IGNORE_EDX_FAILURES", "maybe", vec!["worker", "--once"]),
        ("MITX_WORKER_CONCURRENCY", "0", vec!["worker", "--once"]),
        (
            "OPENEDX_API_BASE_URL",
            "lms.example.com",
            vec!["serve", "--bind", "127.0.0.1:0"],
        ),
        (
            "MITX_EMAIL_BACKEND",
            "pigeon",
            vec!["serve", "--bind", "127.0.0.1:0"],
        ),
    ] {
        let (code, _, err) = mitx_env(&repo_root(), &db.url, &args, &[(name, value.to_owned())]);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
    }
    db.cleanup().await.unwrap();
}
