//! The job queue and worker: retries with backoff, the failed state, leases of dead workers,
//! the schedule ticking once across workers, and two workers sharing one queue.

use chrono::Duration;
use mitx_services::clock::Clock;
use mitx_services::email::{EmailJob, Template};
use mitx_services::jobs::worker::{self, WorkerOptions};
use mitx_services::jobs::{self, admin, periodic};
use mitx_services::store::Backend;
use mitx_services::store::audit_log::Audit;
use mitx_services::store::jobs::{JobFilter, JobStatus, RetryOutcome};
use mitx_services::testing::{self, Database};
use serde_json::json;

use crate::support::{backends, drain, t0, world};

fn email(to: &str) -> EmailJob {
    EmailJob {
        template: Template::Enrollment,
        to: to.into(),
        context: json!({"course_title": "Intro", "course_number": "6.001x", "user_name": "Jo"}),
    }
}

async fn enqueue_email(db: &Database, to: &str, now: chrono::DateTime<chrono::Utc>) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let id = tx
        .enqueue_job(&jobs::new_job(jobs::EMAIL_SEND, &email(to), None, now), now)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_with_backoff_then_fail_visibly_and_can_be_retried() {
    for db in backends().await {
        let blocker = testing::temp_dir("not-a-folder").join("file");
        std::fs::write(&blocker, "a file where the outbox should be").unwrap();
        let outbox = blocker.display().to_string();
        let clock = Clock::fixed(t0());
        let w = world(db, false, clock.clone(), &[("MITX_EMAIL_OUTBOX", &outbox)]).await;
        let id = enqueue_email(&w.db.store, "jo@example.com", w.services.now()).await;
        let mut last_run_after = w.services.now();
        for attempt in 1..=8u32 {
            let report = w.drain().await;
            let job = w.services.store().job(id).await.unwrap().unwrap();
            assert_eq!(job.attempts, attempt);
            assert!(
                job.last_error.as_deref().unwrap().contains("outbox"),
                "{job:?}"
            );
            if attempt < 8 {
                assert_eq!((report.retried, job.status), (1, JobStatus::Queued));
                // Exponential backoff with jitter: each wait at least doubles the base.
                let wait = job.run_after - w.services.now();
                let base = 10_i64 << (attempt - 1).min(20);
                assert!(wait >= Duration::seconds(base.min(3600)), "{wait}");
                assert!(wait <= Duration::seconds(base.min(3600) * 3 / 2), "{wait}");
                assert!(job.run_after > last_run_after);
                last_run_after = job.run_after;
                // Not before its time.
                assert_eq!(w.drain().await.retried, 0);
                clock.advance(wait);
            } else {
                assert_eq!((report.failed, job.status), (1, JobStatus::Failed));
                assert!(job.finished_on.is_some());
            }
        }
        let failed = w
            .services
            .store()
            .list_jobs(&JobFilter {
                status: Some(JobStatus::Failed),
                limit: 10,
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        // An operator retries it once the outbox is fixed.
        let audit = Audit::new("tester", Some("outbox fixed".into()));
        assert_eq!(
            admin::retry(&w.services, id, &audit).await.unwrap(),
            Some(RetryOutcome::Requeued)
        );
        assert_eq!(
            admin::retry(&w.services, id, &audit).await.unwrap(),
            Some(RetryOutcome::NotFailed(JobStatus::Queued))
        );
        assert_eq!(
            admin::retry(&w.services, 999_999, &audit).await.unwrap(),
            None
        );
        std::fs::remove_file(&blocker).unwrap();
        let report = w.drain().await;
        assert_eq!(report.done, 1);
        let job = w.services.store().job(id).await.unwrap().unwrap();
        assert_eq!((job.status, job.attempts), (JobStatus::Done, 1));
        assert!(
            std::fs::read_dir(&blocker).unwrap().count() == 1,
            "the message was written"
        );
        let audits = w
            .services
            .store()
            .audit_log_for("job", &id.to_string())
            .await
            .unwrap();
        assert_eq!(audits.len(), 1);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_died_runs_again_after_its_lease() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = world(db, false, clock.clone(), &[]).await;
        let id = enqueue_email(&w.db.store, "jo@example.com", w.services.now()).await;
        // A worker claims it and dies (never finishes, never renews).
        let now = w.services.now();
        let mut tx = w.db.store.begin().await.unwrap();
        let claimed = tx
            .claim_jobs(
                jobs::DEFAULT_QUEUE,
                "dead-worker",
                10,
                now + Duration::seconds(30),
                now,
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(claimed.len(), 1);
        // While its lease runs, nobody else runs it.
        assert_eq!(w.drain().await.done, 0);
        assert!(w.outbox().is_empty());
        clock.advance(Duration::seconds(31));
        let report = w.drain().await;
        assert_eq!((report.recovered, report.done), (1, 1));
        let job = w.services.store().job(id).await.unwrap().unwrap();
        assert_eq!((job.status, job.attempts), (JobStatus::Done, 2));
        assert_eq!(w.outbox().len(), 1);
        // The dead worker coming back cannot finish it again.
        let mut tx = w.db.store.begin().await.unwrap();
        assert!(
            !tx.complete_job(id, "dead-worker", None, w.services.now())
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_schedule_tick_runs_once_across_workers() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = world(db, false, clock.clone(), &[]).await;
        let other_db = Database::connect(&w.db.url).await.unwrap();
        let other = mitx_services::Services::with_database(
            other_db,
            w.services.settings().clone(),
            clock.clone(),
        )
        .unwrap();
        // The first sight of each job only records its tick.
        assert_eq!(worker::tick_schedule(&w.services).await.unwrap(), 0);
        assert_eq!(worker::tick_schedule(&other).await.unwrap(), 0);
        clock.advance(Duration::minutes(30));
        let (a, b) = tokio::join!(
            worker::tick_schedule(&w.services),
            worker::tick_schedule(&other)
        );
        // 12:30: the retry job's tick, and the repair job's 12:15 tick; once each.
        assert_eq!(a.unwrap() + b.unwrap(), 2);
        let retry = w.jobs("periodic.retry-failed-edx-enrollments").await;
        let repair = w.jobs("periodic.repair-faulty-edx-users").await;
        assert_eq!((retry.len(), repair.len()), (1, 1));
        assert_eq!(worker::tick_schedule(&w.services).await.unwrap(), 0);
        assert_eq!(worker::tick_schedule(&other).await.unwrap(), 0);
        // The worker runs them like any job.
        let report = drain(&w.services).await;
        assert_eq!(report.done, 2);
        let job = w.services.store().job(retry[0].id).await.unwrap().unwrap();
        assert_eq!(
            job.last_error.as_deref(),
            Some("queued 0 edX enrollment job(s)")
        );
        // Jobs of a later capability are listed but never scheduled or run.
        let err = periodic::run(&w.services, "process-google-sheets-requests")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("not available in this version"),
            "{err}"
        );
        other.close().await;
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_drain_a_thousand_edx_jobs_each_exactly_once() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = world(db, false, clock.clone(), &[]).await;
        let run = w.runs(1).await[0];
        let created = "2026-03-01T11:00:00Z";
        let ts = match w.db.store.backend() {
            Backend::Sqlite => format!("'{created}'"),
            Backend::Postgres => format!("CAST('{created}' AS TIMESTAMPTZ)"),
        };
        let db = &w.db.store;
        db.execute_raw(&format!(
            "INSERT INTO users (username, email, name, is_active, is_staff, is_superuser, \
             created_on, updated_on) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             SELECT 'bulk' || i, 'bulk' || i || '@example.com', 'Bulk ' || i, TRUE, FALSE, FALSE, {ts}, {ts} FROM n"
        ))
        .await
        .unwrap();
        db.execute_raw(&format!(
            "INSERT INTO openedx_users (user_id, platform, edx_username, has_been_synced, \
             has_sync_error, created_on, updated_on) SELECT id, 'edx', username, TRUE, FALSE, {ts}, {ts} \
             FROM users WHERE username LIKE 'bulk%'"
        ))
        .await
        .unwrap();
        db.execute_raw(&format!(
            "INSERT INTO course_run_enrollments (user_id, run_id, active, enrollment_mode, \
             edx_enrolled, edx_emails_subscription, edx_enrollment_retry_count, created_on, updated_on) \
             SELECT id, {}, TRUE, 'audit', FALSE, TRUE, 0, {ts}, {ts} FROM users WHERE username LIKE 'bulk%'",
            run.0
        ))
        .await
        .unwrap();
        for i in 1..=1000 {
            w.edx
                .add_user(&format!("bulk{i}"), &format!("bulk{i}@example.com"));
        }
        assert_eq!(
            mitx_services::enrollment::queue_edx_retries(&w.services)
                .await
                .unwrap(),
            1000
        );
        let other_db = Database::connect(&w.db.url).await.unwrap();
        let other = mitx_services::Services::with_database(
            other_db,
            w.services.settings().clone(),
            clock.clone(),
        )
        .unwrap();
        let options = WorkerOptions {
            concurrency: 4,
            once: true,
            schedule: false,
            lease: std::time::Duration::from_secs(60),
            poll: std::time::Duration::from_millis(10),
        };
        let (a, b) = tokio::join!(
            worker::run(&w.services, &options, std::future::pending()),
            worker::run(&other, &options, std::future::pending())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        if a.done + b.done != 2000 {
            for job in w
                .jobs(jobs::EDX_ENROLL)
                .await
                .iter()
                .filter(|j| j.status != JobStatus::Done && j.last_error.is_some())
                .take(5)
            {
                eprintln!("{:?}: {:?}", job.status, job.last_error);
            }
        }
        assert_eq!(
            a.done + b.done,
            2000,
            "1000 edX jobs and 1000 emails: {a:?} {b:?}"
        );
        assert!(
            a.done > 0 && b.done > 0,
            "both workers took part: {a:?} {b:?}"
        );
        assert_eq!(a.lost + b.lost + a.failed + b.failed, 0);
        assert_eq!(
            w.edx.calls().enrolls,
            1000,
            "each enrollment reached edX once"
        );
        for kind in [jobs::EDX_ENROLL, jobs::EMAIL_SEND] {
            let jobs = w.jobs(kind).await;
            assert_eq!(jobs.len(), 1000);
            assert!(
                jobs.iter()
                    .all(|j| j.status == JobStatus::Done && j.attempts == 1),
                "every {kind} job claimed once"
            );
        }
        assert_eq!(w.outbox().len(), 1000);
        other.close().await;
        w.cleanup().await;
    }
}
