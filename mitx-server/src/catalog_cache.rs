//! Reuse of rendered catalog responses.
//!
//! The public catalog is read far more often than it changes (MIT Learn crawls it; the
//! learner frontend lists it on every visit). A response is kept, per URL and host, for as
//! long as the database's catalog revision (bumped by triggers on every catalog write, by
//! any process) and the current minute are the same: time-based fields such as
//! `is_enrollable` are therefore at most a minute old. Each request costs one indexed read
//! of the revision. Nothing here is needed by another replica: each keeps its own copy.
//!
//! [`CourseCache`] keeps the catalog courses themselves, by the same revision, for the views
//! rendered per caller (enrollment lists show each enrolled run's course): there a request
//! costs the revision read instead of the seven reads of a course.
//!
//! Responses that depend on the caller are never kept nor served from here: the v2 B2B
//! filters (`org_id`, `contract_id`) answer according to the caller's organizations and
//! contracts, so such requests always reach the handler.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{ETAG, HOST, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::AppState;

/// How many responses are kept before the cache starts over.
const MAX_ENTRIES: usize = 10_000;
/// Largest body kept.
const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
struct Entry {
    revision: i64,
    minute: i64,
    etag: Option<HeaderValue>,
    body: Bytes,
}

/// The rendered responses of this process.
#[derive(Debug, Default)]
pub struct CatalogCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl CatalogCache {
    fn get(&self, key: &str, revision: i64, minute: i64) -> Option<Entry> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|e| e.revision == revision && e.minute == minute)
            .cloned()
    }

    fn put(&self, key: String, entry: Entry) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, entry);
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
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(etag) = &entry.etag {
        response.headers_mut().insert(ETAG, etag.clone());
    }
    response
}

/// Query parameters whose answer depends on who is asking.
const CALLER_PARAMETERS: &[&str] = &["org_id", "contract_id"];

/// Whether the response to `uri` may differ between callers (an unparsable query counts
/// as such: it is never kept).
pub fn depends_on_caller(uri: &axum::http::Uri) -> bool {
    match axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri) {
        Ok(axum::extract::Query(pairs)) => pairs
            .iter()
            .any(|(key, _)| CALLER_PARAMETERS.contains(&key.as_str())),
        Err(_) => true,
    }
}

/// The middleware: serve a kept response, or render and keep it.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET || depends_on_caller(request.uri()) {
        return next.run(request).await;
    }
    let Ok(revision) = state.store.catalog_revision().await else {
        return next.run(request).await;
    };
    let minute = Utc::now().timestamp().div_euclid(60);
    let host = request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let key = format!("{host} {}", request.uri());
    let request_headers = request.headers().clone();
    if let Some(entry) = state.catalog_cache.get(&key, revision, minute) {
        return respond(&entry, &request_headers);
    }
    // Render without the conditional header so the full body can be kept.
    let mut request = request;
    request.headers_mut().remove(IF_NONE_MATCH);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let entry = Entry {
        revision,
        minute,
        etag: parts.headers.get(ETAG).cloned(),
        body: bytes,
    };
    state.catalog_cache.put(key, entry.clone());
    let mut response = respond(&entry, &request_headers);
    for (name, value) in &parts.headers {
        response
            .headers_mut()
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
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
}

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
                    if courses.len() >= MAX_ENTRIES {
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
