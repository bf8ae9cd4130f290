//! The public catalog read API (courses spec 5.3 and 5.4): v1 courses and programs;
//! v2 courses, programs, departments and program collections. Handlers parse the query, ask
//! `mitx_services::store::catalog_api` for a page of data with a bounded number of queries, and
//! render the original shapes with an ETag.

pub mod shapes;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, Uri};
use serde_json::Value;

use crate::{ApiError, AppState};

/// Courseware URLs are built on this base until AppState carries the configured
/// `OPENEDX_COURSE_BASE_URL` (the setting's default).
pub const DEFAULT_OPENEDX_COURSE_BASE_URL: &str = "http://localhost:18000";

/// The catalog routes.
pub fn routes() -> Router<AppState> {
    Router::new().merge(v1::routes()).merge(v2::routes())
}

/// A course by id (all digits) or readable id, with everything the shapes need; 404 if absent.
pub(crate) async fn course_by_key(
    state: &AppState,
    key: &str,
) -> Result<mitx_services::store::catalog_api::CatalogCourse, ApiError> {
    let id = state
        .store
        .catalog_course_id(key)
        .await?
        .ok_or_else(ApiError::not_found)?;
    state
        .store
        .catalog_courses(&[id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(ApiError::not_found)
}

pub(crate) use crate::path_key::PathKey;

/// The query pairs of `uri` (the last value of a repeated key wins).
pub(crate) fn query_map(uri: &Uri) -> Result<BTreeMap<String, String>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|_| ApiError::field("query", "Invalid query string."))?;
    Ok(pairs.into_iter().collect())
}

/// Collected field errors of a query, DRF style (`{field: [message]}`).
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(BTreeMap<String, Value>);

impl FieldErrors {
    pub(crate) fn add(&mut self, field: &str, message: String) {
        self.0
            .insert(field.to_owned(), Value::Array(vec![Value::String(message)]));
    }

    pub(crate) fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }

    /// A boolean filter: `true`/`True`/`1`, `false`/`False`/`0`; empty ⇒ not given.
    pub(crate) fn boolean(&mut self, query: &BTreeMap<String, String>, key: &str) -> Option<bool> {
        match query.get(key).map(|v| v.trim()) {
            None | Some("") => None,
            Some("true" | "True" | "1") => Some(true),
            Some("false" | "False" | "0") => Some(false),
            Some(_) => {
                self.add(key, "Must be a valid boolean.".to_owned());
                None
            }
        }
    }

    /// A comma-separated list of integers; empty ⇒ not given.
    pub(crate) fn int_list(
        &mut self,
        query: &BTreeMap<String, String>,
        key: &str,
    ) -> Option<Vec<i64>> {
        let text = query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())?;
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<i64>() {
                Ok(n) => out.push(n),
                Err(_) => {
                    self.add(key, "Enter a number.".to_owned());
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A number; empty ⇒ not given.
    pub(crate) fn number(&mut self, query: &BTreeMap<String, String>, key: &str) -> Option<i64> {
        let text = query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())?;
        match text.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.add(key, "Enter a number.".to_owned());
                None
            }
        }
    }

    /// One of `choices`; absent ⇒ not given (an empty value is a valid choice when listed).
    pub(crate) fn choice(
        &mut self,
        query: &BTreeMap<String, String>,
        key: &str,
        choices: &[&str],
    ) -> Option<String> {
        let text = query.get(key)?;
        if text.is_empty() && !choices.contains(&"") {
            // django-filter ignores an empty value.
            return None;
        }
        if choices.contains(&text.as_str()) {
            Some(text.clone())
        } else {
            self.add(
                key,
                format!("Select a valid choice. {text} is not one of the available choices."),
            );
            None
        }
    }
}

/// `scheme://host` of the request, for pagination links.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(axum::http::header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}
