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

/// The query parameters each cacheable catalog route reads, by route template; the
/// response cache keeps only these in its key and hands the handler a request with only
/// these (see [`crate::catalog_cache`]). A route missing here is never cached. The B2B
/// parameters (`org_id`, `contract_id`) are absent on purpose: requests with them bypass
/// the cache.
pub(crate) fn parameters(route: &str) -> Option<&'static [&'static str]> {
    const PAGE: &[&str] = &["page", "page_size"];
    Some(match route {
        "/api/v1/courses/" => &[
            "courserun_is_enrollable",
            "id",
            "live",
            "page",
            "page__live",
            "page_size",
            "readable_id",
        ],
        "/api/v1/programs/" => &["id", "live", "page", "page_size", "readable_id"],
        "/api/v1/course_runs/" => &["id", "live", "relevant_to"],
        "/api/v2/courses/" => &[
            "courserun_is_enrollable",
            "courseruns__language",
            "courseruns__variant_industry",
            "courseruns__variant_length",
            "id",
            "include_approved_financial_aid",
            "live",
            "page",
            "page__live",
            "page_size",
            "readable_id",
        ],
        "/api/v2/programs/" => &[
            "id",
            "live",
            "page",
            "page__live",
            "page_size",
            "readable_id",
        ],
        "/api/v2/program-collections/" => PAGE,
        "/api/v1/courses/{id}/"
        | "/api/v1/programs/{id}/"
        | "/api/v1/course_runs/{id}/"
        | "/api/v1/departments/"
        | "/api/v1/departments/{id}/"
        | "/api/v2/courses/{id}/"
        | "/api/v2/programs/{id}/"
        | "/api/v2/departments/"
        | "/api/v2/departments/{id}/"
        | "/api/v2/program-collections/{id}/" => &[],
        _ => return None,
    })
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

/// `scheme://host` of this site for absolute links (see [`crate::links`]).
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    state.links.base(headers)
}
