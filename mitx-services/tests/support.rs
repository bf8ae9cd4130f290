//! Shared set-up: a database per backend, services over it with the fake Open edX, the demo
//! catalog, learners, and draining the queue.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use mitx_core::ids::{CourseRunId, UserId};
use mitx_services::Services;
use mitx_services::clock::Clock;
use mitx_services::jobs::worker::{self, WorkerOptions, WorkerReport};
use mitx_services::store::jobs::{JobFilter, JobRecord};
use mitx_services::testing::{self, FakeEdx, TestDb};

/// SQLite always; PostgreSQL when `MITX_TEST_POSTGRES_URL` is set (reported when skipped).
pub async fn backends() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite().await.expect("sqlite")];
    match TestDb::postgres().await.expect("postgres") {
        Some(pg) => dbs.push(pg),
        None => eprintln!(
            "PostgreSQL half skipped: {} is not set",
            testing::POSTGRES_URL_VAR
        ),
    }
    dbs
}

/// A test's world: its database, services over it, and the fake Open edX.
pub struct World {
    pub db: TestDb,
    pub services: Services,
    pub edx: FakeEdx,
    pub outbox: PathBuf,
}

/// A fixed start time for clock-driven tests.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// Services over `db` with a fresh fake edX, the demo catalog loaded, and `clock`.
pub async fn world(
    db: TestDb,
    ignore_edx_failures: bool,
    clock: Clock,
    overrides: &[(&str, &str)],
) -> World {
    let edx = FakeEdx::start().await.expect("fake edX");
    let settings = testing::settings_with_edx(&edx, ignore_edx_failures, overrides);
    let outbox = settings.email.outbox.clone();
    let services = testing::services_at(&db, settings, clock);
    testing::load_demo_catalog(&services).await;
    World {
        db,
        services,
        edx,
        outbox,
    }
}

impl World {
    /// A new learner.
    pub async fn learner(&self, username: &str) -> UserId {
        testing::learner(&self.services, username).await
    }

    /// `n` live, non-B2B, non-fake runs of the demo catalog.
    pub async fn runs(&self, n: usize) -> Vec<CourseRunId> {
        testing::open_runs(&self.services, n).await
    }

    /// Runs every due job (and the jobs they queue) and returns what the worker did.
    pub async fn drain(&self) -> WorkerReport {
        drain(&self.services).await
    }

    /// The messages in the outbox, sorted.
    pub fn outbox(&self) -> Vec<String> {
        let mut messages: Vec<String> = std::fs::read_dir(&self.outbox)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        messages.sort();
        messages
    }

    /// Jobs of a kind, newest first.
    pub async fn jobs(&self, kind: &str) -> Vec<JobRecord> {
        let filter = JobFilter {
            name: Some(kind.into()),
            limit: 10_000,
            ..JobFilter::default()
        };
        self.services.store().list_jobs(&filter).await.unwrap()
    }

    pub async fn cleanup(self) {
        self.db.cleanup().await.unwrap();
        let _ = std::fs::remove_dir_all(&self.outbox);
    }
}

/// Runs every due job with one worker (4 at once), until nothing is due.
pub async fn drain(services: &Services) -> WorkerReport {
    let options = WorkerOptions {
        concurrency: 4,
        once: true,
        schedule: false,
        lease: std::time::Duration::from_secs(30),
        poll: std::time::Duration::from_millis(20),
    };
    worker::run(services, &options, std::future::pending())
        .await
        .expect("worker")
}

/// The subject lines of the messages.
pub fn subjects(messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m.lines().find_map(|l| l.strip_prefix("Subject: ")))
        .map(str::to_owned)
        .collect()
}
