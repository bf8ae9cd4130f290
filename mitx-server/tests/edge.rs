//! The HTTP edge (issue 9): links and cache keys from configuration, never from forwarding
//! headers; a cache bounded whatever the query strings; CSRF for gateway-signed-in
//! callers; header timeouts against slow and idle clients; `/metrics`; graceful shutdown.

use std::time::{Duration, Instant};

use chrono::Utc;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::auth::{TestServer, jdoe, start_server, userinfo};

const DEMO: &str = include_str!("../../fixtures/demo/catalog.json");

async fn demo_db() -> TestDb {
    let db = TestDb::sqlite().await.expect("sqlite");
    let data = serde_json::from_str(DEMO).expect("demo catalog parses");
    tx!(db.store, t => t.import_catalog(&data, Utc::now()).await).expect("import");
    db
}

async fn get_json(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = crate::client().get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The value of one sample of `/metrics` (the line starting with `series`).
async fn metric(base: &str, series: &str) -> f64 {
    let text = crate::client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_host_changes_no_later_response() {
    let db = demo_db().await;
    let server = start_server(
        &db,
        true,
        false,
        &[("SITE_BASE_URL", "https://mitx.example")],
    )
    .await;
    let url = format!("{}/api/v2/courses/?page_size=1", server.base);
    let forged = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
        ("host", "evil.example"),
    ];
    let (status, poisoned) = get_json(&url, &forged).await;
    assert_eq!(status, 200);
    let next = poisoned["next"].as_str().expect("a next page");
    assert!(
        next.starts_with("https://mitx.example/api/v2/courses/?"),
        "{next}"
    );
    let (_, later) = get_json(&url, &[]).await;
    assert_eq!(later, poisoned);
    assert!(!later.to_string().contains("evil"), "{later}");
    let _ = server.stop.send(());

    // Behind a trusted proxy the links follow it, and each host keeps its own entry.
    let server = start_server(
        &db,
        true,
        false,
        &[
            ("SITE_BASE_URL", "https://mitx.example"),
            ("USE_X_FORWARDED_HOST", "true"),
        ],
    )
    .await;
    let url = format!("{}/api/v2/courses/?page_size=1", server.base);
    let (_, proxied) = get_json(
        &url,
        &[
            ("x-forwarded-host", "proxy.example"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert!(
        proxied["next"]
            .as_str()
            .unwrap()
            .starts_with("https://proxy.example/"),
        "{proxied}"
    );
    let (_, direct) = get_json(&url, &[]).await;
    assert!(
        direct["next"]
            .as_str()
            .unwrap()
            .starts_with("https://mitx.example/"),
        "{direct}"
    );
    let _ = server.stop.send(());
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_query_strings_share_one_cache_entry_and_pages_beyond_the_last_are_404() {
    let db = demo_db().await;
    let server = start_server(&db, true, false, &[]).await;
    let base = &server.base;
    let client = crate::client();
    let (_, plain) = get_json(&format!("{base}/api/v1/course_runs/"), &[]).await;
    let before = metric(base, "mitx_catalog_cache_entries").await;
    let hits_before = metric(base, "mitx_catalog_cache_hits_total").await;
    for i in 0..500 {
        let response = client
            .get(format!(
                "{base}/api/v1/course_runs/?fill={i}&junk{i}=x&live=true&live=false"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // One more entry (live=false), not 500; the junk never reaches the key.
    assert_eq!(
        metric(base, "mitx_catalog_cache_entries").await,
        before + 1.0
    );
    assert!(metric(base, "mitx_catalog_cache_hits_total").await >= hits_before + 499.0);
    let (_, junk_only) = get_json(&format!("{base}/api/v1/course_runs/?fill=1"), &[]).await;
    assert_eq!(junk_only, plain);
    // Duplicate parameters: the last wins, as DRF reads them; the answer is JSON either way.
    let (status, _) = get_json(
        &format!("{base}/api/v2/enrollments/?exclude_b2b=1&exclude_b2b=x"),
        &[("X-Userinfo", &userinfo(&jdoe()))],
    )
    .await;
    assert_eq!(status, 400);
    for page in ["18446744073709551615", "9999"] {
        let (status, body) = get_json(&format!("{base}/api/v2/courses/?page={page}"), &[]).await;
        assert_eq!(
            (status, body),
            (404, json!({"detail": "Invalid page."})),
            "page={page}"
        );
    }
    let _ = server.stop.send(());
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_too_large_for_the_cache_is_served_uncached() {
    let db = demo_db().await;
    // A bound so small that no catalog page fits in it.
    let server = start_server(
        &db,
        true,
        false,
        &[("MITX_CATALOG_CACHE_MAX_BYTES", "1024")],
    )
    .await;
    let url = format!("{}/api/v2/courses/", server.base);
    for _ in 0..2 {
        let (status, body) = get_json(&url, &[]).await;
        assert_eq!(status, 200);
        assert!(body["count"].as_u64().unwrap() > 0);
    }
    assert_eq!(
        metric(&server.base, "mitx_catalog_cache_entries").await,
        0.0
    );
    let _ = server.stop.send(());
    db.cleanup().await.unwrap();
}

async fn an_enrollable_run(base: &str) -> i64 {
    let (_, runs) = get_json(&format!("{base}/api/v1/course_runs/"), &[]).await;
    runs.as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_enrollable"] == true)
        .expect("an enrollable demo run")["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_with_the_gateway_header_are_refused() {
    let db = demo_db().await;
    let server: TestServer = start_server(&db, true, false, &[]).await;
    let base = &server.base;
    let client = crate::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let learner = userinfo(&jdoe());
    let run = an_enrollable_run(base).await;
    let enrollments = || async {
        let (_, list) = get_json(
            &format!("{base}/api/v1/enrollments/"),
            &[("X-Userinfo", &learner)],
        )
        .await;
        list.as_array().map_or(0, Vec::len)
    };
    assert_eq!(enrollments().await, 0);
    let forged = [
        (
            "text/plain",
            format!("{{\"run_id\": {run}}}"),
            Some("https://evil.example"),
        ),
        ("text/plain", format!("{{\"run_id\": {run}}}"), None),
        (
            "application/x-www-form-urlencoded",
            format!("run_id={run}"),
            Some("https://evil.example"),
        ),
        (
            "multipart/form-data; boundary=x",
            String::new(),
            Some("null"),
        ),
    ];
    for (content_type, body, origin) in forged {
        let mut request = client
            .post(format!("{base}/api/v1/enrollments/"))
            .header("X-Userinfo", &learner)
            .header("content-type", content_type)
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{content_type} {origin:?}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().starts_with("CSRF Failed"),
            "{body}"
        );
    }
    // The form endpoint: a cross-site page, or no Origin/Referer at all, is refused.
    for origin in [Some("https://evil.example"), None] {
        let mut request = client
            .post(format!("{base}/enrollments/"))
            .header("X-Userinfo", &learner)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("run={run}"));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{origin:?}");
        assert!(response.json::<Value>().await.unwrap()["detail"].is_string());
    }
    assert_eq!(enrollments().await, 0, "the refused requests wrote nothing");
    // Same-origin JSON works.
    let response = client
        .post(format!("{base}/api/v1/enrollments/"))
        .header("X-Userinfo", &learner)
        .header("origin", base.as_str())
        .json(&json!({ "run_id": run }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(enrollments().await, 1);
    let _ = server.stop.send(());
    db.cleanup().await.unwrap();
}

/// Reads until the server closes the connection; how long that took (or `None` when it
/// was still open after `limit`).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_disconnected_and_do_not_stop_the_server() {
    let db = demo_db().await;
    let server = start_server(
        &db,
        true,
        false,
        &[("MITX_HTTP_HEADER_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // Slowloris: a header line every 300 ms, never the blank line that ends the head.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /api/v2/courses/ HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = async {
        for i in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow
                .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(2_500), trickle).await;
    let closed = closed_within(&mut slow, Duration::from_secs(2)).await;
    assert!(closed.is_some(), "the slowloris connection is still open");

    // 1,000 idle connections: the server still answers at once.
    let mut idle = Vec::new();
    for _ in 0..1_000 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let started = Instant::now();
    let (status, _) = get_json(&format!("{}/api/v2/courses/", server.base), &[]).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // ... and closes them after the header timeout.
    let mut still_open = 0;
    for stream in &mut idle {
        if closed_within(stream, Duration::from_secs(3))
            .await
            .is_none()
        {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "idle connections left open");
    // A body that never arrives is answered 408 after the body timeout.
    let _ = server.stop.send(());
    let server = start_server(&db, true, false, &[("MITX_HTTP_BODY_TIMEOUT_SECONDS", "1")]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"POST /api/v1/enrollments/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408") || answer.starts_with("HTTP/1.1 403"),
        "{answer}"
    );
    assert!(answer.contains("application/json"), "{answer}");
    let _ = server.stop.send(());
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_status() {
    let db = demo_db().await;
    let server = start_server(&db, true, false, &[]).await;
    let base = &server.base;
    let ok = r#"mitx_http_requests_total{route="/api/v2/courses/",method="GET",status="200"}"#;
    let missing = r#"mitx_http_requests_total{route="unmatched",method="GET",status="404"}"#;
    let hits = "mitx_catalog_cache_hits_total";
    let (ok0, missing0, hits0) = (
        metric(base, ok).await,
        metric(base, missing).await,
        metric(base, hits).await,
    );
    for _ in 0..3 {
        get_json(&format!("{base}/api/v2/courses/"), &[]).await;
    }
    get_json(&format!("{base}/no/such/path/{}", 1), &[]).await;
    assert_eq!(metric(base, ok).await, ok0 + 3.0);
    assert_eq!(metric(base, missing).await, missing0 + 1.0);
    assert!(metric(base, hits).await >= hits0 + 2.0);
    let text = crate::client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert!(text.headers()["x-request-id"].to_str().unwrap().len() > 8);
    let text = text.text().await.unwrap();
    for series in [
        "mitx_http_request_duration_seconds_bucket{route=\"/api/v2/courses/\",method=\"GET\",status=\"200\",le=\"+Inf\"}",
        "mitx_db_pool_connections{state=\"idle\"}",
        "mitx_metrics_job_counts_up 1",
        "# TYPE mitx_jobs gauge",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    let _ = server.stop.send(());

    // With MITX_METRICS_TOKEN, only its bearer may read them.
    let server = start_server(&db, true, false, &[("MITX_METRICS_TOKEN", "s3cret")]).await;
    let url = format!("{}/metrics", server.base);
    let (status, body) = get_json(&url, &[]).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = get_json(&url, &[("authorization", "Bearer wrong")]).await;
    assert_eq!(status, 401);
    let response = crate::client()
        .get(&url)
        .header("authorization", "Bearer s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = server.stop.send(());
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_an_in_flight_request_finish() {
    let db = demo_db().await;
    let server = start_server(&db, true, false, &[]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // A request whose body is still on its way when shutdown begins.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let body = format!("{{\"run_id\": {}}}", an_enrollable_run(&server.base).await);
    let head = format!(
        "POST /api/v1/enrollments/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Userinfo: {}\r\nContent-Length: {}\r\n\r\n",
        userinfo(&jdoe()),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..3]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = server.stop.send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are no longer accepted ...
    let refused = crate::client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await;
    assert!(refused.is_err(), "the listener is closed");
    // ... but the request in flight is answered.
    stream.write_all(&body.as_bytes()[3..]).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    db.cleanup().await.unwrap();
}
