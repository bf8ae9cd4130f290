//! The internal ETL feed `GET /api/internal/courses/` (courses spec 5.6, integrations
//! spec 7): every course by title, in the v2 course shape, with **all** its runs (source,
//! B2B and non-live runs included, ordered by id, not one per run tag). Paginated like
//! `/api/v2/courses/` (`page`, `page_size` ≤ 100); other query parameters are ignored.
//!
//! Who may read it: a service token with the `catalog:read` scope (the original's
//! `Api-Key`), or a signed-in superuser. Without credentials the answer is 403
//! `{"detail": "Authentication credentials were not provided."}` (as the original, whose
//! session authentication comes first), with a token lacking the scope or as another user
//! 403 `{"detail": "You do not have permission to perform this action."}`, with an
//! unknown or revoked token 401. Responses are not kept in the catalog response cache.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use mitx_services::store::catalog_api::CourseFilter;
use mitx_services::store::service_tokens::SCOPE_CATALOG_READ;

use crate::auth::{
    AuthRejection, CurrentUser, NOT_AUTHENTICATED, PERMISSION_DENIED, service_caller,
};
use crate::catalog::shapes::{Ctx, RunSelection, V2Course};
use crate::catalog::{base_url, query_map};
use crate::etag::json_with_etag;
use crate::pagination::{Page, PageRequest, paginate};
use crate::{ApiError, AppState};

/// The internal routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/internal/courses/", get(list_courses))
}

/// A caller allowed to read the feed.
#[derive(Clone, Copy, Debug)]
pub struct CatalogReader;

impl FromRequestParts<AppState> for CatalogReader {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        if let Some(caller) = service_caller(parts, state).await? {
            caller.require_scope(SCOPE_CATALOG_READ)?;
            return Ok(CatalogReader);
        }
        match CurrentUser::from_request_parts(parts, state).await?.0 {
            Some(user) if user.is_superuser => Ok(CatalogReader),
            Some(_) => Err(ApiError::Forbidden(PERMISSION_DENIED.into()).into()),
            None => Err(ApiError::Forbidden(NOT_AUTHENTICATED.into()).into()),
        }
    }
}

/// The feed's handler (documented for `/api/schema/`).
#[utoipa::path(get, operation_id = "internal_courses_list", path = "/api/internal/courses/", tag = "internal",
    params(
        ("page" = Option<u64>, Query, description = "Page number (default 1)"),
        ("page_size" = Option<u64>, Query, description = "Items per page (default 12, at most 100)"),
    ),
    responses(
        (status = 200, body = serde_json::Value, description = "A page `{count, next, previous, results}` of V2Course items with every run of each course"),
        (status = 401, body = crate::openapi::Detail, description = "Unknown or revoked service token"),
        (status = 403, body = crate::openapi::Detail, description = "No credentials, a token without `catalog:read`, or a user who is not a superuser"),
        (status = 404, body = crate::openapi::Detail, description = "A page past the end"),
    )
)]
pub async fn list_courses(
    _reader: CatalogReader,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&uri)?;
    let page = PageRequest::parse(&query)?;
    let ids = state
        .store
        .catalog_course_ids(&CourseFilter::default())
        .await?;
    let page = paginate(ids, page, &site, &uri)?;
    let courses = state.store.catalog_courses(&page.results).await?;
    let ctx = Ctx::new(&state, &site, now);
    let results: Vec<V2Course> = courses
        .iter()
        .map(|course| V2Course::new(course, RunSelection::Every, ctx))
        .collect();
    let body = Page {
        count: page.count,
        next: page.next,
        previous: page.previous,
        results,
    };
    Ok(json_with_etag(&headers, &body))
}
