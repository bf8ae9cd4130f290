//! The checkout load figure of docs/performance.md: LEARNERS learners (default 3,000) each
//! check out a one-item basket (`GET /api/v0/baskets/checkout/`) and CyberSource's
//! server-to-server ACCEPT arrives (`POST /api/checkout/result/`, signed), CONCURRENCY
//! (default 32) at a time, against `mitx serve`'s router in this process on a fresh
//! PostgreSQL schema.
//!
//! ```text
//! cargo build --release -p mitx-cli --example checkout_load
//! target/release/examples/checkout_load postgres://postgres@127.0.0.1:5432/test [LEARNERS] [CONCURRENCY]
//! ```
//!
//! The baskets are filled through `POST /api/v0/baskets/create_from_product/{id}/` before
//! the clock starts. Each order is timed from checkout to the callback's answer; the
//! figure is fulfilled orders per second of wall time, with p50/p99 per request. At the
//! end every order is checked: fulfilled, one payment transaction, one enrollment.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mitx_services::testing::{self, TestDb};
use serde_json::{Value, json};

const KEY: &str = "load-secret-key";

fn header(n: usize) -> String {
    mitx_services::demo::demo_userinfo(&format!("load{n}"))
}

fn accept(payload: &Value, n: usize) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, String> = payload
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "signature" && *k != "signed_field_names")
        .map(|(k, v)| {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            (format!("req_{k}"), text)
        })
        .collect();
    fields.insert("decision".into(), "ACCEPT".into());
    fields.insert("reason_code".into(), "100".into());
    fields.insert("transaction_id".into(), format!("load-{n}"));
    mitx_services::cybersource::sign(&mut fields, KEY);
    fields
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    mitx_services::install_crypto_provider();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let learners: usize = args.next().map_or(3_000, |a| a.parse().expect("LEARNERS"));
    let concurrency: usize = args.next().map_or(32, |a| a.parse().expect("CONCURRENCY"));
    let db = if url.starts_with("postgres") {
        TestDb::postgres_at(&url).await.expect("PostgreSQL schema")
    } else {
        TestDb::sqlite().await.expect("SQLite file")
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let pool = concurrency.clamp(10, 40).to_string();
    let settings = testing::settings(&[
        ("MITOL_APIGATEWAY_DISABLE_MIDDLEWARE", "false"),
        ("SITE_BASE_URL", &base),
        ("ENVIRONMENT", "load"),
        ("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY", KEY),
        ("MITX_DB_MAX_CONNECTIONS", &pool),
    ]);
    let services = testing::services(&db, settings);
    let run = json!({
        "courseware_id": "course-v1:LOAD+C1+1T2027", "run_tag": "1T2027", "title": "Load run",
        "start_date": "2027-01-01T00:00:00Z", "end_date": "2027-12-01T00:00:00Z",
        "enrollment_start": "2026-01-01T00:00:00Z", "live": true, "is_self_paced": true,
        "modes": ["audit", "verified"], "price": "100.00"
    });
    let catalog = json!({"version": 1, "courses": [{"readable_id": "course-v1:LOAD+C1",
        "title": "Load course", "live": true, "runs": [run]}]});
    mitx_services::catalog::import(&services, &serde_json::from_value(catalog).unwrap(), false)
        .await
        .expect("catalog");
    let target = services
        .store()
        .resolve_product_target("course-v1:LOAD+C1+1T2027")
        .await
        .unwrap()
        .unwrap();
    let product = services
        .store()
        .product_for_target(&target)
        .await
        .unwrap()
        .expect("the run's product")
        .id;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = mitx_server::AppState::new(services.clone());
    tokio::spawn(mitx_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();

    // Baskets, before the clock starts.
    let seeded = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(8) {
        let (client, base, next) = (client.clone(), base.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= learners {
                    break;
                }
                let response = client
                    .post(format!(
                        "{base}/api/v0/baskets/create_from_product/{product}/"
                    ))
                    .header("X-Userinfo", header(n))
                    .header("origin", &base)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    response.status().is_success(),
                    "basket {n}: {}",
                    response.status()
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    println!(
        "filled {learners} baskets in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    // Checkout + ACCEPT, timed.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, next) = (client.clone(), base.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut checkouts = Vec::new();
            let mut callbacks = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= learners {
                    break;
                }
                let t = Instant::now();
                let response = client
                    .get(format!("{base}/api/v0/baskets/checkout/"))
                    .header("X-Userinfo", header(n))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "checkout {n}");
                let body: Value = response.json().await.unwrap();
                checkouts.push(t.elapsed());
                let fields = accept(&body["payload"], n);
                let t = Instant::now();
                let response = client
                    .post(format!("{base}/api/checkout/result/"))
                    .form(&fields)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "callback {n}");
                callbacks.push(t.elapsed());
            }
            (checkouts, callbacks)
        }));
    }
    let mut checkouts = Vec::new();
    let mut callbacks = Vec::new();
    for task in tasks {
        let (c, cb) = task.await.unwrap();
        checkouts.extend(c);
        callbacks.extend(cb);
    }
    let elapsed = started.elapsed().as_secs_f64();
    checkouts.sort();
    callbacks.sort();
    println!(
        "{learners} orders checked out and fulfilled in {elapsed:.2} s: {:.0} fulfilled orders/s \
         (concurrency {concurrency}, backend {})",
        learners as f64 / elapsed,
        db.store.backend().name()
    );
    println!(
        "checkout p50 {:.1} ms, p99 {:.1} ms; callback p50 {:.1} ms, p99 {:.1} ms",
        percentile(&checkouts, 0.5),
        percentile(&checkouts, 0.99),
        percentile(&callbacks, 0.5),
        percentile(&callbacks, 0.99)
    );

    // Every order fulfilled once, with one payment and one verified enrollment.
    let run = services
        .store()
        .enrollment_run_by_courseware_id("course-v1:LOAD+C1+1T2027")
        .await
        .unwrap()
        .unwrap();
    let mut enrolled = 0u64;
    for n in 0..learners {
        let store = services.store();
        let user = store
            .user_id_by_email(&format!("load{n}@example.com"))
            .await
            .unwrap()
            .expect("learner");
        let row = store
            .run_enrollment(user, run.run.id)
            .await
            .unwrap()
            .expect("enrollment");
        assert_eq!(row.enrollment.mode.slug(), "verified");
        enrolled += 1;
    }
    assert_eq!(enrolled, learners as u64, "one enrollment per learner");
    println!("checked: {enrolled} verified enrollments");
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}
