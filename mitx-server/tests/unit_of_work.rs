//! The unit of work seen through the API (issue 8's "Done when"): concurrent DELETEs change an
//! enrollment once, Open edX down with and without `IGNORE_EDX_FAILURES`, and an outside
//! writer holding SQLite's write lock never makes a request answer 500.

use std::time::{Duration, Instant};

use chrono::Utc;
use mitx_core::ids::{CourseRunId, EnrollmentId};
use mitx_services::jobs::worker::{self, WorkerOptions};
use mitx_services::testing::{Database, TestDb};
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_server};
use crate::learner::{Learner, load_demo};

/// An enrollable run of the demo catalog.
async fn open_run(db: &TestDb) -> i64 {
    let now = Utc::now();
    db.store
        .list_runs()
        .await
        .unwrap()
        .iter()
        .find(|r| {
            r.live
                && r.start_date.is_some()
                && r.enrollment_start.is_some_and(|s| s <= now)
                && r.enrollment_end
                    .is_none_or(|e| e > now + chrono::Duration::days(1))
        })
        .expect("an enrollable demo run")
        .id
}

async fn drain(services: &mitx_services::Services) {
    let options = WorkerOptions {
        concurrency: 4,
        once: true,
        schedule: false,
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(20),
    };
    worker::run(services, &options, std::future::pending())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deletes_unenroll_once_with_chained_audit_rows() {
    for db in databases().await {
        load_demo(&db).await;
        let run = open_run(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let me = Learner::new(&server.base, &jdoe());
        let user = me.id().await;
        let (status, created) = me
            .post("/api/v2/enrollments/", &json!({"run_id": run}))
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().unwrap();
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let client = me.client.clone();
            let url = format!("{}/api/v2/enrollments/{id}/", server.base);
            let header = me.header.clone();
            requests.spawn(async move {
                let response = client
                    .delete(url)
                    .header("X-Userinfo", header)
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16()
            });
        }
        let mut statuses = Vec::new();
        while let Some(status) = requests.join_next().await {
            statuses.push(status.unwrap());
        }
        statuses.sort_unstable();
        let mut expected = vec![204];
        expected.extend([404; 19]);
        expected.sort_unstable();
        assert_eq!(statuses, expected, "{}", db.store.backend().name());
        // One deactivation, one edX unenroll, one unenrollment email.
        assert_eq!(server.edx.calls().unenrolls, 1);
        let row = db
            .store
            .run_enrollment(user, CourseRunId(run))
            .await
            .unwrap()
            .unwrap();
        assert!(!row.enrollment.active);
        let trail = db
            .store
            .enrollment_audit_trail(EnrollmentId(id))
            .await
            .unwrap();
        assert_eq!(trail.len(), 2, "creation and one deactivation");
        assert_eq!(trail[0].data_before, None);
        assert_eq!(trail[1].data_before, trail[0].data_after, "the rows chain");
        let after: Value = serde_json::from_str(trail[1].data_after.as_deref().unwrap()).unwrap();
        assert_eq!(after["active"], false);
        drain(&server.services).await;
        let outbox = &server.services.settings().email.outbox;
        let messages: Vec<String> = std::fs::read_dir(outbox)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        let unenrolled = messages
            .iter()
            .filter(|m| m.contains("Subject: You have been unenrolled from"))
            .count();
        assert_eq!((messages.len(), unenrolled), (2, 1), "{messages:?}");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edx_down_answers_the_error_or_keeps_the_enrollment_per_the_setting() {
    for db in databases().await {
        load_demo(&db).await;
        let run = open_run(&db).await;
        for ignore in [false, true] {
            let server = start_server(&db, true, ignore, &[]).await;
            let claims = json!({
                "sub": format!("0000000{}-1b2d-4c5e-8f90-123456789abc", u8::from(ignore)),
                "preferred_username": format!("learner{ignore}"),
                "email": format!("learner{ignore}@example.com"),
                "name": "Learner",
            });
            let me = Learner::new(&server.base, &claims);
            let user = me.id().await;
            server.edx.set_failing(Some(503));
            let (status, body) = me
                .post("/api/v1/enrollments/", &json!({"run_id": run}))
                .await;
            let row = db
                .store
                .run_enrollment(user, CourseRunId(run))
                .await
                .unwrap();
            if ignore {
                assert_eq!(status, 201, "{body}");
                let row = row.unwrap();
                assert!(row.enrollment.active && !row.enrollment.edx_enrolled);
            } else {
                assert_eq!(
                    (status, body),
                    (
                        400,
                        json!({"detail": "Could not enroll in the course run."})
                    )
                );
                assert!(row.is_none(), "nothing written");
            }
            let _ = server.stop.send(());
        }
        // No email for either: edX never confirmed.
        assert_eq!(db.store.count("jobs").await.unwrap(), 0);
        db.cleanup().await.unwrap();
    }
}

/// Sends `request` and checks the answer is not a 500: a success, or 503 with
/// `Retry-After` and a JSON body. Returns the status.
async fn never_500(request: reqwest::RequestBuilder) -> u16 {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await.expect("a JSON body");
    assert_ne!(status, 500, "{body}");
    assert!(status < 500 || status == 503, "{status} {body}");
    if status == 503 {
        assert!(retry_after.is_some(), "503 without Retry-After");
        assert!(body["detail"].is_string(), "{body}");
    }
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outside_writer_holding_the_sqlite_lock_for_12_seconds_causes_no_500() {
    let db = TestDb::sqlite().await.unwrap();
    load_demo(&db).await;
    let run = open_run(&db).await;
    let server = start_server(&db, true, false, &[]).await;
    let me = Learner::new(&server.base, &jdoe());
    me.id().await;
    // Another process (here: another connection pool) takes the write lock for 12 s.
    let outsider = Database::connect(&db.url).await.unwrap();
    let locked = outsider.begin().await.unwrap();
    let held = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(12)).await;
        locked.rollback().await.unwrap();
    });
    let started = Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..8u64 {
        let client = me.client.clone();
        let base = server.base.clone();
        let header = me.header.clone();
        requests.spawn(async move {
            // Spread over the 12 s: early ones give up after the busy timeout (503), later
            // ones wait for the lock and succeed.
            tokio::time::sleep(Duration::from_millis(i * 1400)).await;
            let mut statuses = Vec::new();
            statuses.push(never_500(client.get(format!("{base}/api/v2/courses/"))).await);
            statuses.push(
                never_500(
                    client
                        .post(format!("{base}/api/v1/enrollments/"))
                        .header("X-Userinfo", &header)
                        .json(&json!({"run_id": run})),
                )
                .await,
            );
            let newcomer = crate::auth::userinfo(&json!({
                "sub": format!("{i:08}-0000-4000-8000-000000000000"),
                "preferred_username": format!("newcomer{i}"),
                "email": format!("newcomer{i}@example.com"),
                "name": "Newcomer",
            }));
            statuses.push(
                never_500(
                    client
                        .get(format!("{base}/api/v0/users/me"))
                        .header("X-Userinfo", newcomer),
                )
                .await,
            );
            statuses
        });
    }
    let mut all = Vec::new();
    while let Some(statuses) = requests.join_next().await {
        all.extend(statuses.unwrap());
    }
    held.await.unwrap();
    eprintln!("statuses while locked: {all:?}");
    assert!(started.elapsed() >= Duration::from_secs(12));
    assert!(all.contains(&200), "reads kept working: {all:?}");
    assert!(
        all.contains(&201),
        "writers after the lock succeeded: {all:?}"
    );
    // After the lock: everything works.
    assert_eq!(
        never_500(crate::client().get(format!("{}/readyz", server.base))).await,
        200
    );
    let _ = server.stop.send(());
    outsider.close().await;
    db.cleanup().await.unwrap();
}
