//! The certificate-generation load figure of docs/performance.md: `mitx certificates
//! generate` over LEARNERS × RUNS passed grades (default 10,000 × 10 = 100,000), run twice
//! against a fresh PostgreSQL schema and the in-process fake Open edX.
//!
//! ```text
//! cargo build --release -p mitx-cli --bin mitx --example certificate_load
//! target/release/examples/certificate_load postgres://postgres@127.0.0.1:5432/test [LEARNERS] [RUNS]
//! ```
//!
//! It seeds the learners (each with a synced edX account and a verified enrollment in
//! every run) set-based, serves one passing grade per learner and run from the fake edX,
//! then times the real `mitx` binary (next to this example's folder) twice: the first
//! run creates every certificate, the second creates nothing.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::process::Command;
use std::time::Instant;

use mitx_services::testing::{self, FakeEdx, TestDb};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let learners: i64 = args.next().map_or(10_000, |a| a.parse().expect("LEARNERS"));
    let runs: usize = args.next().map_or(10, |a| a.parse().expect("RUNS"));
    let db = if url.starts_with("postgres") {
        TestDb::postgres_at(&url).await.expect("PostgreSQL schema")
    } else {
        TestDb::sqlite().await.expect("SQLite file")
    };
    let services = testing::services(&db, testing::settings(&[]));
    let run_records: Vec<serde_json::Value> = (1..=runs)
        .map(|i| {
            serde_json::json!({
                "courseware_id": format!("course-v1:LOAD+C{i}+1T2026"),
                "run_tag": "1T2026", "title": format!("Load course {i}"),
                "start_date": "2026-01-01T00:00:00Z", "end_date": "2027-01-01T00:00:00Z",
                "enrollment_start": "2025-12-01T00:00:00Z", "live": true,
                "is_self_paced": true, "modes": ["audit", "verified"], "price": "100.00"
            })
        })
        .collect();
    let courses: Vec<serde_json::Value> = run_records
        .into_iter()
        .enumerate()
        .map(|(i, run)| {
            serde_json::json!({"readable_id": format!("course-v1:LOAD+C{}", i + 1),
                "title": format!("Load course {}", i + 1), "live": true, "runs": [run]})
        })
        .collect();
    let catalog = serde_json::json!({"version": 1, "courses": courses});
    mitx_services::catalog::import(&services, &serde_json::from_value(catalog).unwrap(), false)
        .await
        .expect("catalog");
    let mut run_ids = Vec::new();
    for i in 1..=runs {
        let key = format!("course-v1:LOAD+C{i}+1T2026");
        let run = services
            .store()
            .enrollment_run_by_courseware_id(&key)
            .await
            .unwrap()
            .expect("run");
        run_ids.push(run.run.id);
    }
    let seeded = Instant::now();
    db.store
        .certificate_load_fixture("load", learners, &run_ids, chrono::Utc::now())
        .await
        .expect("learners");
    println!(
        "seeded {learners} learners × {runs} runs in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let edx = FakeEdx::start().await.expect("fake edX");
    edx.set_grade_page_size(1000);
    for i in 1..=runs {
        let key = format!("course-v1:LOAD+C{i}+1T2026");
        for n in 1..=learners {
            edx.set_grade(&key, &format!("load{n}"), 0.9, true, Some("Pass"));
        }
    }
    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("mitx"))
        .expect("target dir");
    let total = learners * runs as i64;
    for attempt in ["first run", "second run"] {
        let started = Instant::now();
        let out = Command::new(&binary)
            .args(["--database-url", &db.url, "certificates", "generate"])
            .envs(edx.env())
            .output()
            .expect("run mitx");
        let seconds = started.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let certificates = db.store.count("course_run_certificates").await.unwrap();
        println!(
            "{attempt}: {seconds:.2} s, {certificates} of {total} certificates; {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
    }
    db.cleanup().await.expect("cleanup");
}
