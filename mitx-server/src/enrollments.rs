//! The learner's course-run enrollments (courses spec 2.2, 2.3, 5.3–5.5):
//! `GET/POST /api/v{1,2,3}/enrollments/`, `DELETE /api/v{1,2,3}/enrollments/{id}/`,
//! `PATCH /api/v1/enrollments/{id}/` and `GET /api/v3/enrollments/{id}/`.
//!
//! **Writes.** Enrolling, unenrolling and changing email settings are the enrollment
//! workflows of `mitx_services::enrollment`: they call Open edX outside any transaction
//! (failures kept or refused per `IGNORE_EDX_FAILURES`), save the row with a compare-and-set
//! under the enrollment's lease, and queue the emails in the same unit of work. Concurrent
//! requests for one enrollment change it once.
//!
//! **Shapes.** Items are rendered by [`crate::enrollment_views`] with the catalog's run and
//! course shapes, the learner's grades, certificate links and approved flexible prices.
//!
//! **Email settings.** `PATCH /api/v1/enrollments/{id}/` changes the learner's edX email
//! subscription with the learner's own edX token; without one (mitx cannot obtain a first
//! token yet) it answers 400 with a message saying so.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::Utc;
use mitx_core::enrollment::DashboardApi;
use mitx_core::enrollment::{
    ChangeStatus, EnrollmentNotFound, UnenrollEmail, WindowCheck, addressable_enrollment,
};
use mitx_core::ids::{CourseRunId, EnrollmentId, UserId};
use mitx_services::edx::sync;
use mitx_services::enrollment::{self, EnrollmentError};
use mitx_services::store::enrollments::{EnrollmentRecord, EnrollmentRun, EnrollmentWithRun};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::body;
use crate::catalog::base_url;
use crate::catalog::shapes::Ctx;
use crate::enrollment_views::{Renderer, Version};
use crate::path_key::PathKey;
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/enrollments/", get(list_v1).post(create_v1))
        .route(
            "/api/v1/enrollments/{id}/",
            delete(destroy_v1).patch(update_email_settings),
        )
        .route("/api/v2/enrollments/", get(list_v2).post(create_v2))
        .route("/api/v2/enrollments/{id}/", delete(destroy_v2))
        .route("/api/v3/enrollments/", get(list_v3).post(create_v3))
        .route(
            "/api/v3/enrollments/{id}/",
            get(retrieve_v3).delete(destroy_v3),
        )
}

/// The list filters of v2 and v3.
#[derive(Debug, Default)]
struct ListFilters {
    exclude_b2b: Option<String>,
    org_id: Option<String>,
}

impl ListFilters {
    /// The filters of a query (the last value of a repeated one wins, as DRF reads them).
    fn from_uri(uri: &Uri) -> Result<ListFilters, ApiError> {
        let mut query = crate::catalog::query_map(uri)?;
        Ok(ListFilters {
            exclude_b2b: query.remove("exclude_b2b"),
            org_id: query.remove("org_id"),
        })
    }

    fn check(&self) -> Result<(bool, Option<i64>), ApiError> {
        let exclude_b2b = match self.exclude_b2b.as_deref().map(str::trim) {
            None | Some("") => false,
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
            Some(_) => return Err(ApiError::field("exclude_b2b", "Must be a valid boolean.")),
        };
        let org_id = match self.org_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .map_err(|_| ApiError::field("org_id", "Enter a number."))?,
            ),
        };
        Ok((exclude_b2b, org_id))
    }
}

async fn list(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    version: Version,
    filters: &ListFilters,
) -> Result<Json<Value>, ApiError> {
    let (exclude_b2b, org_id) = filters.check()?;
    let api = match version {
        Version::V1 => Some(DashboardApi::V1),
        Version::V2 => Some(DashboardApi::V2),
        Version::V3 => None,
    };
    if let Some(api) = api {
        sync::sync_on_dashboard_load(&state.services, user, api)
            .await
            .map_err(|err| ApiError::from_fault(err.fault(), &err))?;
    }
    let site = base_url(state, headers);
    let ctx = Ctx::new(state, &site, Utc::now());
    let rows: Vec<EnrollmentWithRun> = state
        .store
        .active_enrollments(user)
        .await?
        .into_iter()
        .filter(|row| !(exclude_b2b && row.run.run.is_b2b()))
        .filter(|row| org_id.is_none_or(|org| row.run.b2b_organization == Some(org)))
        .collect();
    let renderer = Renderer::load(state, ctx, user, rows.iter().map(|r| &r.run)).await?;
    let items = rows
        .iter()
        .map(|row| renderer.item(&row.record, &row.run, version))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Value::Array(items)))
}

#[utoipa::path(get, operation_id = "enrollments_list_v1", path = "/api/v1/enrollments/", tag = "enrollments",
    responses((status = 200, body = serde_json::Value, description = "The learner's active enrollments: CourseRunEnrollment items (not paginated)"), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn list_v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    AuthUser(user): AuthUser,
) -> Result<Json<Value>, ApiError> {
    list(
        &state,
        &headers,
        user.id,
        Version::V1,
        &ListFilters::default(),
    )
    .await
}

/// The filtered list handler of one version.
macro_rules! filtered_list_handler {
    ($name:ident, $version:expr, $path:literal, $shape:literal) => {
        #[utoipa::path(get, operation_id = concat!("enrollments_", stringify!($name)),
            path = $path, tag = "enrollments",
            params(
                ("exclude_b2b" = Option<bool>, Query, description = "Leave out B2B runs"),
                ("org_id" = Option<i64>, Query, description = "Only runs of this organization's contracts")),
            responses(
                (status = 200, body = serde_json::Value, description = $shape),
                (status = 400, description = "Bad filter", body = crate::openapi::FieldErrors),
                (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
        async fn $name(
            State(state): State<AppState>,
            headers: HeaderMap,
            AuthUser(user): AuthUser,
            uri: Uri,
        ) -> Result<Json<Value>, ApiError> {
            let filters = ListFilters::from_uri(&uri)?;
            list(&state, &headers, user.id, $version, &filters).await
        }
    };
}

filtered_list_handler!(
    list_v2,
    Version::V2,
    "/api/v2/enrollments/",
    "CourseRunEnrollmentRequestV2 items"
);
filtered_list_handler!(
    list_v3,
    Version::V3,
    "/api/v3/enrollments/",
    "CourseRunEnrollmentV3 items, by id"
);

fn enrollment_id(text: &str) -> Result<EnrollmentId, ApiError> {
    text.parse::<i64>()
        .map(EnrollmentId)
        .map_err(|_| ApiError::NotFound(EnrollmentNotFound.to_string()))
}

/// The learner's active enrollment with this id (anything else is 404).
async fn addressable(
    state: &AppState,
    user: UserId,
    id: &str,
) -> Result<EnrollmentRecord, ApiError> {
    let id = enrollment_id(id)?;
    let record = state.store.enrollment_by_id(id).await?;
    addressable_enrollment(user, record.as_ref().map(|r| &r.enrollment))
        .map_err(|e| ApiError::NotFound(e.to_string()))?;
    record.ok_or_else(|| ApiError::NotFound(EnrollmentNotFound.to_string()))
}

#[utoipa::path(get, operation_id = "enrollments_retrieve_v3", path = "/api/v3/enrollments/{id}/", tag = "enrollments",
    params(("id" = i64, Path, description = "Enrollment id")),
    responses((status = 200, body = serde_json::Value, description = "CourseRunEnrollmentV3"), (status = 404, description = "Not the learner's active enrollment", body = crate::openapi::Detail), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn retrieve_v3(
    State(state): State<AppState>,
    headers: HeaderMap,
    AuthUser(user): AuthUser,
    PathKey(id): PathKey,
) -> Result<Json<Value>, ApiError> {
    let record = addressable(&state, user.id, &id).await?;
    let run = state
        .store
        .enrollment_run(record.enrollment.run)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(
        render_one(&state, &headers, user.id, &record, &run, Version::V3).await?,
    ))
}

/// One item, reading what it needs.
pub(crate) async fn render_one(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    record: &EnrollmentRecord,
    run: &EnrollmentRun,
    version: Version,
) -> Result<Value, ApiError> {
    let site = base_url(state, headers);
    let ctx = Ctx::new(state, &site, Utc::now());
    let renderer = Renderer::load(state, ctx, user, [run]).await?;
    renderer.item(record, run, version)
}

/// Reads `run_id` from a JSON or form body (DRF parses both).
fn requested_run(headers: &HeaderMap, body: &Bytes) -> Result<CourseRunId, ApiError> {
    body::required_int(body::field(headers, body, "run_id")?, "run_id").map(CourseRunId)
}

/// The answer for an enrollment workflow error.
pub(crate) fn enrollment_error(err: EnrollmentError) -> ApiError {
    match err {
        EnrollmentError::Rejected(refusal) => ApiError::field(refusal.field(), refusal.to_string()),
        EnrollmentError::NotFound(not_found) => ApiError::NotFound(not_found.to_string()),
        EnrollmentError::EdxEnroll(failure) => {
            tracing::info!(?failure, "enrollment refused: Open edX failed");
            ApiError::BadRequestBody(json!({ "detail": "Could not enroll in the course run." }))
        }
        EnrollmentError::EdxUnenroll(failure) => ApiError::BadRequestBody(json!({
            "detail": format!("Could not unenroll from the course run ({failure:?}).")
        })),
        // The original answers an edX error with 400 and the message as a JSON string.
        EnrollmentError::EmailSettings(message) => ApiError::BadRequestBody(Value::String(message)),
        other => ApiError::from_fault(other.fault(), &other),
    }
}

async fn create(
    state: &AppState,
    user: UserId,
    version: Version,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let requested = requested_run(headers, body)?;
    // v3's create is v2's without the enrollment-window check (courses spec 5.5).
    let window = if version == Version::V3 {
        WindowCheck::Skip
    } else {
        WindowCheck::Enforce
    };
    let (record, run) = enrollment::enroll_via_api(&state.services, user, requested, window)
        .await
        .map_err(enrollment_error)?;
    let body = render_one(state, headers, user, &record, &run, version).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The POST handler of one version.
macro_rules! create_handler {
    ($name:ident, $version:expr, $path:literal, $shape:literal) => {
        #[utoipa::path(post, operation_id = concat!("enrollments_", stringify!($name)),
            path = $path, tag = "enrollments",
            request_body(content = crate::openapi::RunIdRequest, description = "JSON or form"),
            responses(
                (status = 201, body = serde_json::Value, description = $shape),
                (status = 400, description = "Invalid or closed run", body = crate::openapi::FieldErrors),
                (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
        async fn $name(
            State(state): State<AppState>,
            AuthUser(user): AuthUser,
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, ApiError> {
            create(&state, user.id, $version, &headers, &body).await
        }
    };
}

create_handler!(
    create_v1,
    Version::V1,
    "/api/v1/enrollments/",
    "CourseRunEnrollment"
);
create_handler!(
    create_v2,
    Version::V2,
    "/api/v2/enrollments/",
    "CourseRunEnrollmentRequestV2"
);
create_handler!(
    create_v3,
    Version::V3,
    "/api/v3/enrollments/",
    "CourseRunEnrollmentV3 (no enrollment-window check)"
);

#[utoipa::path(patch, operation_id = "enrollments_update_email_settings", path = "/api/v1/enrollments/{id}/", tag = "enrollments",
    params(("id" = i64, Path, description = "Enrollment id")),
    request_body(content = crate::openapi::ReceiveEmailsRequest, description = "JSON or form"),
    responses((status = 200, description = "edX's `success` (true or false)", body = bool), (status = 400, description = "Invalid body (field errors), or the Open edX error message as a JSON string (also when the learner has no edX token)", body = serde_json::Value), (status = 404, description = "Not the learner's active enrollment", body = crate::openapi::Detail), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn update_email_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(id): PathKey,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let record = addressable(&state, user.id, &id).await?;
    let receive = body::required_bool(
        body::field(&headers, &body, "receive_emails")?,
        "receive_emails",
    )?;
    let success = enrollment::set_email_subscription(&state.services, user.id, record.id, receive)
        .await
        .map_err(enrollment_error)?;
    // The original answers 200 with edX's `success`.
    Ok((StatusCode::OK, Json(Value::Bool(success))).into_response())
}

macro_rules! destroy_route {
    ($name:ident, $path:literal) => {
        #[utoipa::path(delete, operation_id = concat!("enrollments_", stringify!($name)), path = $path, tag = "enrollments",
            params(("id" = i64, Path, description = "Enrollment id")),
            responses(
                (status = 204, description = "Unenrolled"),
                (status = 400, description = "Open edX refused the unenrollment", body = crate::openapi::Detail),
                (status = 404, description = "Not the learner's active enrollment", body = crate::openapi::Detail),
                (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
        async fn $name(
            State(state): State<AppState>,
            AuthUser(user): AuthUser,
            PathKey(id): PathKey,
        ) -> Result<StatusCode, ApiError> {
            destroy(&state, &user, &id).await
        }
    };
}

destroy_route!(destroy_v1, "/api/v1/enrollments/{id}/");
destroy_route!(destroy_v2, "/api/v2/enrollments/{id}/");
destroy_route!(destroy_v3, "/api/v3/enrollments/{id}/");

async fn destroy(
    state: &AppState,
    user: &mitx_services::store::users::User,
    id: &str,
) -> Result<StatusCode, ApiError> {
    let id = enrollment_id(id)?;
    enrollment::unenroll(
        &state.services,
        user.id,
        id,
        ChangeStatus::Unenrolled,
        UnenrollEmail::Send,
    )
    .await
    .map_err(enrollment_error)?;
    Ok(StatusCode::NO_CONTENT)
}
