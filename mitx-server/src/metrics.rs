//! Request ids, request logs and `/metrics` (Prometheus text format).
//!
//! Every request gets an id (answered in `X-Request-Id`), and runs inside a `request`
//! span carrying it, so every log line written while it is served names it. Requests are
//! counted by route template (never by raw path: junk paths share the `unmatched` label),
//! method and status, with a latency histogram. `/metrics` adds the catalog cache, the
//! database pool and the job queue (depth and failures per kind) read at scrape time.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument as _;

use crate::{ApiError, AppState};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Non-cumulative counts per bucket (the last is +Inf).
    buckets: [u64; BUCKETS.len() + 1],
}

/// The request counters of this process.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    requests: Mutex<HashMap<Key, Series>>,
    id_prefix: u32,
    next_id: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            requests: Mutex::default(),
            // Distinguishes the ids of processes (replicas, restarts) without a dependency.
            id_prefix: RandomState::new().hash_one(std::process::id()) as u32,
            next_id: AtomicU64::new(1),
        }
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    fn request_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:x}", self.id_prefix)
    }

    fn record(&self, route: &str, method: &Method, status: StatusCode, seconds: f64) {
        let key = Key {
            route: route.to_owned(),
            method: method_label(method),
            status: status.as_u16(),
        };
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        if let Ok(mut requests) = self.requests.lock() {
            let series = requests.entry(key).or_default();
            series.count += 1;
            series.sum += seconds;
            series.buckets[bucket] += 1;
        }
    }

    fn render_requests(&self, out: &mut String) {
        let Ok(requests) = self.requests.lock() else {
            return;
        };
        let mut keys: Vec<&Key> = requests.keys().collect();
        keys.sort_by(|a, b| (&a.route, a.method, a.status).cmp(&(&b.route, b.method, b.status)));
        out.push_str("# HELP mitx_http_requests_total HTTP requests answered, by route template, method and status.\n");
        out.push_str("# TYPE mitx_http_requests_total counter\n");
        for key in &keys {
            let labels = labels(key);
            let _ = writeln!(
                out,
                "mitx_http_requests_total{{{labels}}} {}",
                requests[*key].count
            );
        }
        out.push_str("# HELP mitx_http_request_duration_seconds Time to answer, by route template, method and status.\n");
        out.push_str("# TYPE mitx_http_request_duration_seconds histogram\n");
        for key in &keys {
            let series = &requests[*key];
            let labels = labels(key);
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += series.buckets[i];
                let _ = writeln!(
                    out,
                    "mitx_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "mitx_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                series.count
            );
            let _ = writeln!(
                out,
                "mitx_http_request_duration_seconds_sum{{{labels}}} {}",
                series.sum
            );
            let _ = writeln!(
                out,
                "mitx_http_request_duration_seconds_count{{{labels}}} {}",
                series.count
            );
        }
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(key: &Key) -> String {
    format!(
        "route=\"{}\",method=\"{}\",status=\"{}\"",
        escape(&key.route),
        key.method,
        key.status
    )
}

/// The request id of a request (in its extensions while it is served).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The outermost middleware: id, span, log line and counters.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = state.metrics.request_id();
    let method = request.method().clone();
    let span =
        tracing::info_span!("request", id = %id, method = %method, path = %request.uri().path());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let status = response.status();
    state
        .metrics
        .record(&route, &method, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            route = %route,
            elapsed_ms = elapsed.as_millis() as u64,
            "answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// A route layer: hands the matched route template to [`observe`] through the response.
pub async fn mark_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn same_secret(offered: &str, expected: &str) -> bool {
    let (a, b) = (offered.as_bytes(), expected.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

/// `GET /metrics`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.services.settings().server.metrics_token {
        let offered = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, credentials)| credentials.trim());
        if !offered.is_some_and(|offered| same_secret(offered, token)) {
            return ApiError::Unauthorized("Authentication credentials were not provided.".into())
                .into_response();
        }
    }
    let mut out = String::with_capacity(8192);
    state.metrics.render_requests(&mut out);
    let cache = state.catalog_cache.stats();
    let gauge = |out: &mut String, name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        &mut out,
        "mitx_catalog_cache_hits_total",
        "counter",
        "Catalog requests answered from the cache.",
        cache.hits,
    );
    gauge(
        &mut out,
        "mitx_catalog_cache_misses_total",
        "counter",
        "Cacheable catalog requests that were rendered.",
        cache.misses,
    );
    gauge(
        &mut out,
        "mitx_catalog_cache_entries",
        "gauge",
        "Responses in the catalog cache.",
        cache.entries,
    );
    gauge(
        &mut out,
        "mitx_catalog_cache_bytes",
        "gauge",
        "Bytes the catalog cache counts against its bound.",
        cache.bytes,
    );
    gauge(
        &mut out,
        "mitx_catalog_cache_max_bytes",
        "gauge",
        "The catalog cache's bound (MITX_CATALOG_CACHE_MAX_BYTES).",
        cache.max_bytes,
    );
    let (open, idle) = state.store.pool_stats();
    out.push_str("# HELP mitx_db_pool_connections Connections of this process's database pool.\n# TYPE mitx_db_pool_connections gauge\n");
    let _ = writeln!(out, "mitx_db_pool_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(
        out,
        "mitx_db_pool_connections{{state=\"in_use\"}} {}",
        open.saturating_sub(idle)
    );
    gauge(
        &mut out,
        "mitx_process_uptime_seconds",
        "gauge",
        "Seconds since this process started serving.",
        state.metrics.started.elapsed().as_secs(),
    );
    match state.store.job_counts().await {
        Ok(counts) => {
            out.push_str("# HELP mitx_jobs Jobs in the queue by kind and status (queued = depth, failed = gave up).\n# TYPE mitx_jobs gauge\n");
            for count in counts {
                let _ = writeln!(
                    out,
                    "mitx_jobs{{kind=\"{}\",status=\"{}\"}} {}",
                    escape(&count.name),
                    count.status.as_str(),
                    count.count
                );
            }
            gauge(
                &mut out,
                "mitx_metrics_job_counts_up",
                "gauge",
                "1 when the job counts could be read.",
                1,
            );
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics: cannot read the job counts");
            gauge(
                &mut out,
                "mitx_metrics_job_counts_up",
                "gauge",
                "1 when the job counts could be read.",
                0,
            );
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let metrics = Metrics::default();
        metrics.record("/a/", &Method::GET, StatusCode::OK, 0.0005);
        metrics.record("/a/", &Method::GET, StatusCode::OK, 0.3);
        metrics.record("/a/", &Method::GET, StatusCode::OK, 99.0);
        metrics.record(
            "we\"ird",
            &Method::from_bytes(b"BREW").unwrap(),
            StatusCode::NOT_FOUND,
            0.0,
        );
        let mut out = String::new();
        metrics.render_requests(&mut out);
        assert!(
            out.contains("mitx_http_requests_total{route=\"/a/\",method=\"GET\",status=\"200\"} 3"),
            "{out}"
        );
        assert!(
            out.contains("route=\"/a/\",method=\"GET\",status=\"200\",le=\"0.001\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("route=\"/a/\",method=\"GET\",status=\"200\",le=\"0.5\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("route=\"/a/\",method=\"GET\",status=\"200\",le=\"10\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("route=\"/a/\",method=\"GET\",status=\"200\",le=\"+Inf\"} 3"),
            "{out}"
        );
        assert!(
            out.contains("route=\"we\\\"ird\",method=\"other\",status=\"404\""),
            "{out}"
        );
        assert_ne!(metrics.request_id(), metrics.request_id());
    }

    #[test]
    fn secrets_compare_whole() {
        for (a, b, same) in [
            ("s3cret", "s3cret", true),
            ("s3cre", "s3cret", false),
            ("s3cretx", "s3cret", false),
            ("", "s3cret", false),
            ("S3cret", "s3cret", false),
        ] {
            assert_eq!(same_secret(a, b), same, "{a} {b}");
        }
    }
}
