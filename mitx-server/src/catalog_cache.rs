//! Reuse of rendered catalog responses.
//!
//! The public catalog is read far more often than it changes (MIT Learn crawls it; the
//! learner frontend lists it on every visit). A response is kept while the database's
//! catalog revision (bumped by triggers on every catalog write, by any process) is the
//! same, for at most `MITX_CATALOG_CACHE_TTL_SECONDS` (time-based fields such as
//! `is_enrollable` are therefore at most that old). Each request costs one indexed read of
//! the revision. Nothing here is needed by another replica: each keeps its own copy.
//!
//! The key is every input the body depends on: the site base of absolute links (see
//! [`crate::links`]), the path, and the *canonical* query: only the parameters the route
//! reads ([`crate::catalog::parameters`]), the last value of each, sorted. The request the
//! handler sees is rewritten to that canonical query, so a body cannot depend on anything
//! the key leaves out, and junk parameters (`?fill=1`, `?fill=2`, ...) share one entry.
//! The cache is bounded in bytes (`MITX_CATALOG_CACHE_MAX_BYTES`, oldest entries leave
//! first); a response larger than a quarter of the bound is served without being kept.
//!
//! [`CourseCache`] keeps the catalog courses themselves, by the same revision, for the views
//! rendered per caller (enrollment lists show each enrolled run's course): there a request
//! costs the revision read instead of the seven reads of a course.
//!
//! Responses that depend on the caller are never kept nor served from here: the v2 B2B
//! filters (`org_id`, `contract_id`) answer according to the caller's organizations and
//! contracts, so such requests always reach the handler.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Bytes counted for an entry beyond its body and its key's two copies (map and order):
/// the map slot, the ETag, the allocations' own headers. Measured: with this figure the
/// process grows by about the bound when filled with small entries (docs/performance.md).
const ENTRY_OVERHEAD: usize = 384;

#[derive(Clone, Debug)]
struct Entry {
    revision: i64,
    stored: Instant,
    etag: Option<HeaderValue>,
    /// The handler's response headers (without `Content-Length`), replayed on every hit.
    headers: HeaderMap,
    body: Bytes,
    generation: u64,
    weight: usize,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, Entry>,
    /// Keys in the order they were stored (with the generation stored then: an older
    /// generation of a key stored again is skipped when evicting).
    order: VecDeque<(String, u64)>,
    bytes: usize,
    next_generation: u64,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some(old) = self.map.remove(key) {
            self.bytes -= old.weight;
        }
    }

    fn evict_to(&mut self, budget: usize) {
        while self.bytes > budget {
            let Some((key, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .map
                .get(&key)
                .is_some_and(|e| e.generation == generation)
            {
                self.remove(&key);
            }
        }
        // Keys stored again leave stale places behind; drop them before they pile up.
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|(key, generation)| {
                map.get(key).is_some_and(|e| e.generation == *generation)
            });
        }
    }
}

/// The rendered responses of this process.
#[derive(Debug)]
pub struct CatalogCache {
    entries: Mutex<Entries>,
    max_bytes: usize,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for CatalogCache {
    fn default() -> Self {
        CatalogCache::new(64 << 20, Duration::from_secs(60))
    }
}

/// What the cache holds and how it has served, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Cacheable requests that were rendered.
    pub misses: u64,
    /// Responses kept.
    pub entries: u64,
    /// Bytes counted against the bound.
    pub bytes: u64,
    /// The bound.
    pub max_bytes: u64,
}

impl CatalogCache {
    /// A cache of at most `max_bytes` (0: nothing is kept) whose entries live `ttl`.
    pub fn new(max_bytes: usize, ttl: Duration) -> CatalogCache {
        CatalogCache {
            entries: Mutex::default(),
            max_bytes,
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The largest body kept: bigger ones are served uncached.
    fn max_entry(&self) -> usize {
        self.max_bytes / 4
    }

    fn get(&self, key: &str, revision: i64) -> Option<Entry> {
        let entries = self.entries.lock().ok()?;
        entries
            .map
            .get(key)
            .filter(|e| e.revision == revision && e.stored.elapsed() < self.ttl)
            .cloned()
    }

    fn put(&self, key: String, mut entry: Entry) {
        let headers: usize = entry
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        entry.weight = 2 * key.len() + entry.body.len() + headers + ENTRY_OVERHEAD;
        if entry.weight > self.max_entry() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&key);
            let budget = self.max_bytes - entry.weight;
            entries.evict_to(budget);
            entry.generation = entries.next_generation;
            entries.next_generation += 1;
            entries.bytes += entry.weight;
            entries.order.push_back((key.clone(), entry.generation));
            entries.map.insert(key, entry);
        }
    }

    /// Counters and size.
    pub fn stats(&self) -> CacheStats {
        let (entries, bytes) = self
            .entries
            .lock()
            .map(|e| (e.map.len() as u64, e.bytes as u64))
            .unwrap_or_default();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            bytes,
            max_bytes: self.max_bytes as u64,
        }
    }
}

fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|c| {
            let c = c.trim();
            c == "*" || c.trim_start_matches("W/") == etag.trim_start_matches("W/")
        })
}

fn respond(entry: &Entry, request_headers: &HeaderMap) -> Response {
    if let Some(etag) = &entry.etag
        && not_modified(request_headers, etag)
    {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag.clone())]).into_response();
    }
    let mut response = Response::new(Body::from(entry.body.clone()));
    *response.headers_mut() = entry.headers.clone();
    response
}

/// Query parameters whose answer depends on who is asking.
const CALLER_PARAMETERS: &[&str] = &["org_id", "contract_id"];

/// The query pairs of `uri`, or `None` when the query does not parse.
fn pairs(uri: &Uri) -> Option<Vec<(String, String)>> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .ok()
        .map(|q| q.0)
}

/// Whether the response to `uri` may differ between callers (an unparsable query counts
/// as such: it is never kept).
pub fn depends_on_caller(uri: &Uri) -> bool {
    pairs(uri).is_none_or(|pairs| {
        pairs
            .iter()
            .any(|(key, _)| CALLER_PARAMETERS.contains(&key.as_str()))
    })
}

/// The canonical form of `uri` for a route reading `parameters`: only those, the last
/// value of each (as the handlers read them), sorted by name. `None` when the query does
/// not parse (the handler answers its 400 uncached).
pub fn canonical_uri(uri: &Uri, parameters: &[&str]) -> Option<Uri> {
    let kept: BTreeMap<String, String> = pairs(uri)?
        .into_iter()
        .filter(|(key, _)| parameters.contains(&key.as_str()))
        .collect();
    let path = uri.path();
    let text = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", serde_urlencoded::to_string(&kept).ok()?)
    };
    text.parse().ok()
}

/// The middleware: serve a kept response, or render and keep it.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let parameters = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| crate::catalog::parameters(route.as_str()));
    let cacheable = request.method() == Method::GET
        && state.catalog_cache.max_bytes > 0
        && !depends_on_caller(request.uri());
    let (Some(parameters), true) = (parameters, cacheable) else {
        return next.run(request).await;
    };
    let Some(canonical) = canonical_uri(request.uri(), parameters) else {
        return next.run(request).await;
    };
    let Ok(revision) = state.store.catalog_revision().await else {
        return next.run(request).await;
    };
    let key = format!("{} {canonical}", state.links.base(request.headers()));
    let request_headers = request.headers().clone();
    if let Some(entry) = state.catalog_cache.get(&key, revision) {
        state.catalog_cache.hits.fetch_add(1, Ordering::Relaxed);
        return respond(&entry, &request_headers);
    }
    state.catalog_cache.misses.fetch_add(1, Ordering::Relaxed);
    // Render the canonical request without the conditional header so the full body can
    // be kept.
    let mut request = request;
    *request.uri_mut() = canonical;
    request.headers_mut().remove(IF_NONE_MATCH);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => return crate::ApiError::Internal(err.to_string()).into_response(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let entry = Entry {
        revision,
        stored: Instant::now(),
        etag: parts.headers.get(ETAG).cloned(),
        headers: parts.headers,
        body: bytes,
        generation: 0,
        weight: 0,
    };
    let response = respond(&entry, &request_headers);
    state.catalog_cache.put(key, entry);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b2b_parameters_bypass_the_cache() {
        let caller = |text: &str| depends_on_caller(&text.parse().unwrap());
        assert!(!caller("/api/v2/courses/"));
        assert!(!caller("/api/v2/courses/?page=2&live=true"));
        assert!(caller("/api/v2/courses/?org_id=1"));
        assert!(caller("/api/v2/programs/?live=true&contract_id=3"));
        assert!(caller("/api/v2/programs/?org%5Fid=1"));
        assert!(caller("/api/v2/courses/?org_id="));
        assert!(!caller("/api/v2/courses/?my_org_id=1"));
    }

    #[test]
    fn canonical_queries_keep_what_the_route_reads() {
        let params = &["live", "page", "page_size", "readable_id"];
        let cases = [
            ("/api/v2/courses/", "/api/v2/courses/"),
            ("/api/v2/courses/?fill=1", "/api/v2/courses/"),
            (
                "/api/v2/courses/?page=2&live=true",
                "/api/v2/courses/?live=true&page=2",
            ),
            (
                "/api/v2/courses/?live=false&live=true",
                "/api/v2/courses/?live=true",
            ),
            ("/api/v2/courses/?page=", "/api/v2/courses/?page="),
            (
                "/api/v2/courses/?readable_id=course-v1%3AMITx%2B1&x=%FF",
                "/api/v2/courses/?readable_id=course-v1%3AMITx%2B1",
            ),
            (
                "/api/v2/courses/?readable_id=a+b",
                "/api/v2/courses/?readable_id=a+b",
            ),
        ];
        for (input, expected) in cases {
            let got = canonical_uri(&input.parse().unwrap(), params);
            assert_eq!(
                got.map(|u| u.to_string()).as_deref(),
                Some(expected),
                "{input}"
            );
        }
    }

    fn entry(body: &str) -> Entry {
        Entry {
            revision: 1,
            stored: Instant::now(),
            etag: None,
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
            generation: 0,
            weight: 0,
        }
    }

    #[test]
    fn the_cache_stays_within_its_bytes_and_keeps_the_newest() {
        let cache = CatalogCache::new(10_000, Duration::from_secs(60));
        let body = "x".repeat(500);
        for i in 0..1_000 {
            cache.put(format!("key {i}"), entry(&body));
            // Storing one key again must not grow the bookkeeping without bound.
            cache.put("key again".to_owned(), entry(&body));
            assert!(cache.stats().bytes <= 10_000);
        }
        assert!(cache.get("key 999", 1).is_some());
        assert!(cache.get("key again", 1).is_some());
        assert!(cache.get("key 0", 1).is_none());
        assert!(cache.get("key 999", 2).is_none(), "another revision misses");
        let order = cache.entries.lock().unwrap().order.len();
        assert!(order <= 2 * cache.stats().entries as usize + 64, "{order}");
        // Too large for the bound: not kept.
        cache.put("big".to_owned(), entry(&"y".repeat(5_000)));
        assert!(cache.get("big", 1).is_none());
        // Nothing is kept with a zero bound.
        let off = CatalogCache::new(0, Duration::from_secs(60));
        off.put("k".to_owned(), entry("{}"));
        assert_eq!(off.stats().entries, 0);
    }

    #[test]
    fn entries_expire() {
        let cache = CatalogCache::new(10_000, Duration::from_millis(1));
        cache.put("k".to_owned(), entry("{}"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get("k", 1).is_none());
    }
}

/// Courses kept by [`CourseCache`] before it starts over (course ids come from the
/// catalog, not from callers, so this only bounds a catalog larger than expected).
const MAX_COURSES: usize = 10_000;

/// Catalog courses as the store reads them, kept by catalog revision for the views that
/// render courses per caller (the enrollment lists), which the response cache cannot
/// serve. A course read under an older revision is read again.
#[derive(Debug, Default)]
pub struct CourseCache {
    courses: Mutex<
        HashMap<
            i64,
            (
                i64,
                std::sync::Arc<mitx_services::store::catalog_api::CatalogCourse>,
            ),
        >,
    >,
}

impl CourseCache {
    /// The courses `ids` at the current catalog revision: kept ones from here, the others
    /// read in one batch and kept.
    pub async fn courses(
        &self,
        store: &mitx_services::store::Store,
        ids: &[i64],
    ) -> Result<
        HashMap<i64, std::sync::Arc<mitx_services::store::catalog_api::CatalogCourse>>,
        mitx_services::store::StoreError,
    > {
        let mut found = HashMap::new();
        if ids.is_empty() {
            return Ok(found);
        }
        let revision = store.catalog_revision().await?;
        let mut missing = Vec::new();
        if let Ok(courses) = self.courses.lock() {
            for id in ids {
                match courses.get(id) {
                    Some((kept, course)) if *kept == revision => {
                        found.insert(*id, course.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        } else {
            missing.extend_from_slice(ids);
        }
        if !missing.is_empty() {
            let loaded = store.catalog_courses(&missing).await?;
            let mut courses = self.courses.lock().ok();
            for course in loaded {
                let course = std::sync::Arc::new(course);
                if let Some(courses) = courses.as_mut() {
                    if courses.len() >= MAX_COURSES {
                        courses.clear();
                    }
                    courses.insert(course.id, (revision, course.clone()));
                }
                found.insert(course.id, course);
            }
        }
        Ok(found)
    }
}
