//! Program-linked course enrollment, `POST /api/v2/verified_program_enrollments/{courserun_id}/`
//! (courses spec 2.7). The body is a JSON array of one or two program readable ids; the
//! workflow `mitx_services::verified_program_enrollment` decides and enrolls (a verified
//! enrollment comes with a fulfilled zero-value order for the run's product).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use mitx_services::verified_program_enrollment::{self, VerifiedProgramEnrolled};
use serde_json::Value;

use crate::auth::AuthUser;
use crate::enrollment_views::Version;
use crate::enrollments::render_one;
use crate::path_key::PathKey;
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v2/verified_program_enrollments/{courserun_id}/",
        post(create),
    )
}

/// The body's program readable ids, or `None` when it is not a JSON array of texts.
fn program_ids(body: &[u8]) -> Option<Vec<String>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

#[utoipa::path(post, operation_id = "verified_program_enrollments_create", path = "/api/v2/verified_program_enrollments/{courserun_id}/", tag = "enrollments",
    params(("courseware_id" = String, Path, description = "The course run's courseware id")),
    request_body(content = Vec<String>, description = "JSON array of one or two program readable ids"),
    responses(
        (status = 201, body = serde_json::Value, description = "CourseRunEnrollmentRequestV2: enrolled in audit, or verified with a fulfilled zero-value order"),
        (status = 204, description = "Already enrolled in the effective mode"),
        (status = 400, body = crate::openapi::Detail, description = "Not a list of one or two ids, unrelated programs, only the sub-program verified, run closed, verified without a verified program enrollment or an active run product, or edX refused"),
        (status = 404, body = crate::openapi::Detail, description = "Unknown run or program, or no enrollment in a requested program"),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(courserun_id): PathKey,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let requested = program_ids(&body);
    let done = verified_program_enrollment::enroll(
        &state.services,
        user.id,
        &courserun_id,
        requested.as_deref(),
    )
    .await
    .map_err(|err| ApiError::from_fault(err.fault(), &err))?;
    match done {
        VerifiedProgramEnrolled::Already => Ok(StatusCode::NO_CONTENT.into_response()),
        VerifiedProgramEnrolled::Enrolled(done) => {
            let (record, run) = *done;
            let item = render_one(&state, &headers, user.id, &record, &run, Version::V2).await?;
            Ok((StatusCode::CREATED, Json(item)).into_response())
        }
    }
}
