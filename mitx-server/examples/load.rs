//! A small, bounded HTTP load generator for `mitx serve` (loopback only).
//!
//! ```sh
//! cargo run --release -p mitx-server --example load -- http://127.0.0.1:8000/api/v2/courses/?live=true 32 10
//! cargo run --release -p mitx-server --example load -- --crawl http://127.0.0.1:8000/api/v2/courses/?live=true&page_size=100
//! ```
//! Arguments: URL, connections (default 32), seconds (default 10), optional header
//! `NAME:VALUE` as a fourth argument. It stops by itself after the duration; every request
//! goes to the given URL, which must be on 127.0.0.0/8 or localhost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn check_loopback(url: &str) {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    assert!(
        host == "localhost" || host.starts_with("127."),
        "refusing to send load to {host}: loopback only"
    );
}

async fn crawl(url: &str) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut next = Some(url.to_owned());
    let (mut pages, mut items) = (0, 0);
    while let Some(page_url) = next {
        check_loopback(&page_url);
        let body: serde_json::Value = client
            .get(&page_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        items += body["results"].as_array().map_or(0, Vec::len);
        next = body["next"].as_str().map(str::to_owned);
    }
    println!(
        "crawl: {pages} pages, {items} items in {:.3} s",
        start.elapsed().as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    mitx_services::install_crypto_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--crawl") {
        let url = args.get(1).expect("URL");
        check_loopback(url);
        crawl(url).await;
        return;
    }
    let url = args
        .first()
        .expect("usage: load URL [connections] [seconds] [HEADER:VALUE]")
        .clone();
    check_loopback(&url);
    let connections: usize = args.get(1).map_or(32, |s| s.parse().expect("connections"));
    let seconds: u64 = args.get(2).map_or(10, |s| s.parse().expect("seconds"));
    let header = args
        .get(3)
        .and_then(|h| h.split_once(':').map(|(k, v)| (k.to_owned(), v.to_owned())));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let url = url.clone();
        let header = header.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::with_capacity(100_000);
            while Instant::now() < deadline {
                let started = Instant::now();
                let mut request = client.get(&url);
                if let Some((k, v)) = &header {
                    request = request.header(k, v);
                }
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let n = all.len();
    let pct = |p: f64| {
        all.get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{url}\n  {connections} connections, {seconds} s: {n} ok, {} errors, {:.0} req/s\n  latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        errors.load(Ordering::Relaxed),
        n as f64 / seconds as f64,
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.90).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
}
