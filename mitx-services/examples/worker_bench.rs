//! Worker throughput: N learners with an enrollment edX does not have yet, one queued
//! `edx.enroll` job each, drained by W workers (each with its own connection pool, as W
//! processes would be) against the in-process fake Open edX. Every job enrolls in edX and
//! queues an enrollment email, which the workers send to the file outbox.
//!
//! ```sh
//! cargo run --release -p mitx-services --example worker_bench -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/test --jobs 10000 --workers 4 --pool 4
//! cargo run --release -p mitx-services --example worker_bench -- --jobs 10000 --workers 1
//! ```
//! `--concurrency` is each worker's (default 8), `--pool` its connections (default
//! concurrency + 2). On PostgreSQL the run uses a fresh schema (dropped afterwards); on
//! SQLite a fresh file.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use mitx_services::Services;
use mitx_services::clock::Clock;
use mitx_services::jobs::worker::{self, WorkerOptions};
use mitx_services::jobs::{self};
use mitx_services::store::Backend;
use mitx_services::store::jobs::{JobFilter, JobStatus};
use mitx_services::testing::{self, Database, FakeEdx, TestDb};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let jobs_n: usize = arg(&args, "--jobs").map_or(10_000, |v| v.parse().unwrap());
    let workers: usize = arg(&args, "--workers").map_or(4, |v| v.parse().unwrap());
    let concurrency: usize = arg(&args, "--concurrency").map_or(8, |v| v.parse().unwrap());
    let pool: u32 = arg(&args, "--pool").map_or(u32::try_from(concurrency + 2).unwrap(), |v| {
        v.parse().unwrap()
    });
    let db = match arg(&args, "--database-url") {
        Some(url) if url.starts_with("postgres") => TestDb::postgres_at(&url).await.unwrap(),
        _ => TestDb::sqlite().await.unwrap(),
    };
    let edx = FakeEdx::start().await.unwrap();
    let clock = Clock::system();
    let settings = testing::settings_with_edx(&edx, false, &[]);
    let outbox = settings.email.outbox.clone();
    let services = testing::services_at(&db, settings.clone(), clock.clone());
    testing::load_demo_catalog(&services).await;
    let run = services.store().list_runs().await.unwrap()[0].id;
    let started = Instant::now();
    seed(&db.store, jobs_n, run).await;
    for i in 1..=jobs_n {
        edx.add_user(&format!("bench{i}"), &format!("bench{i}@example.com"));
    }
    let queued = mitx_services::enrollment::queue_edx_retries(&services)
        .await
        .unwrap();
    assert_eq!(queued as usize, jobs_n);
    println!(
        "backend {}: {jobs_n} learners, enrollments and queued edx.enroll jobs set up in {:.1} s",
        db.store.backend().name(),
        started.elapsed().as_secs_f64()
    );
    let mut pools = Vec::new();
    for _ in 0..workers {
        let options = mitx_services::store::ConnectOptions {
            max_connections: Some(pool),
            ..mitx_services::store::ConnectOptions::default()
        };
        let database = Database::connect_with(&db.url, &options).await.unwrap();
        pools.push(Services::with_database(database, settings.clone(), clock.clone()).unwrap());
    }
    if db.store.backend() == Backend::Postgres {
        // Measure the queue, not the autovacuum of the freshly loaded tables or the
        // checkpoint of the load: settle both first.
        db.store
            .execute_raw("VACUUM ANALYZE users, openedx_users, course_run_enrollments, jobs")
            .await
            .unwrap();
        // Test databases create and drop a schema per test: where autovacuum is off (as
        // on the CI machine) the system catalogs bloat and every new connection pays for
        // it. A production catalog is not like that; vacuum it (needs a superuser).
        if let Err(err) = db
            .store
            .execute_raw(
                "VACUUM pg_catalog.pg_attribute, pg_catalog.pg_class, pg_catalog.pg_depend, \
                 pg_catalog.pg_type, pg_catalog.pg_index, pg_catalog.pg_constraint, \
                 pg_catalog.pg_attrdef, pg_catalog.pg_statistic",
            )
            .await
        {
            println!("note: system catalogs not vacuumed ({err})");
        }
        db.store.execute_raw("CHECKPOINT").await.unwrap();
    }
    let options = WorkerOptions {
        concurrency,
        once: true,
        schedule: false,
        lease: Duration::from_secs(60),
        poll: Duration::from_millis(10),
    };
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for services in pools.clone() {
        let options = options.clone();
        tasks.spawn(async move { worker::run(&services, &options, std::future::pending()).await });
    }
    let mut done = 0;
    while let Some(report) = tasks.join_next().await {
        let report = report.unwrap().unwrap();
        assert_eq!(report.failed + report.lost, 0, "{report:?}");
        done += report.done;
    }
    let all_done = started.elapsed();
    // The edX jobs' own finish times: when the last of them was done.
    let filter = JobFilter {
        status: Some(JobStatus::Done),
        name: Some(jobs::EDX_ENROLL.into()),
        limit: i64::try_from(jobs_n).unwrap(),
    };
    let finished = services.store().list_jobs(&filter).await.unwrap();
    let first_claim = finished.iter().filter_map(|j| j.locked_at).min().unwrap();
    let last_done = finished.iter().filter_map(|j| j.finished_on).max().unwrap();
    let edx_elapsed = (last_done - first_claim).to_std().unwrap();
    assert_eq!(done as usize, 2 * jobs_n, "every edX job and every email");
    assert_eq!(edx.calls().enrolls as usize, jobs_n);
    let mails = std::fs::read_dir(&outbox).unwrap().count();
    assert_eq!(mails, jobs_n);
    println!(
        "{workers} worker(s) x {concurrency}: {jobs_n} edx.enroll jobs in {:.2} s = {:.0} jobs/s; \
         with their {jobs_n} emails, {} jobs in {:.2} s = {:.0} jobs/s",
        edx_elapsed.as_secs_f64(),
        jobs_n as f64 / edx_elapsed.as_secs_f64(),
        2 * jobs_n,
        all_done.as_secs_f64(),
        (2 * jobs_n) as f64 / all_done.as_secs_f64(),
    );
    for services in pools {
        services.close().await;
    }
    db.cleanup().await.unwrap();
    let _ = std::fs::remove_dir_all(outbox);
}

async fn seed(db: &Database, n: usize, run: i64) {
    let ts = match db.backend() {
        Backend::Sqlite => "'2026-01-01T00:00:00Z'".to_owned(),
        Backend::Postgres => "CAST('2026-01-01T00:00:00Z' AS TIMESTAMPTZ)".to_owned(),
    };
    db.execute_raw(&format!(
        "INSERT INTO users (username, email, name, is_active, is_staff, is_superuser, created_on, updated_on) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         SELECT 'bench' || i, 'bench' || i || '@example.com', 'Bench ' || i, TRUE, FALSE, FALSE, {ts}, {ts} FROM n"
    ))
    .await
    .unwrap();
    db.execute_raw(&format!(
        "INSERT INTO openedx_users (user_id, platform, edx_username, has_been_synced, has_sync_error, \
         created_on, updated_on) SELECT id, 'edx', username, TRUE, FALSE, {ts}, {ts} FROM users \
         WHERE username LIKE 'bench%'"
    ))
    .await
    .unwrap();
    db.execute_raw(&format!(
        "INSERT INTO course_run_enrollments (user_id, run_id, active, enrollment_mode, edx_enrolled, \
         edx_emails_subscription, edx_enrollment_retry_count, created_on, updated_on) \
         SELECT id, {run}, TRUE, 'audit', FALSE, TRUE, 0, {ts}, {ts} FROM users WHERE username LIKE 'bench%'"
    ))
    .await
    .unwrap();
}
