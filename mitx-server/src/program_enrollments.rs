//! The learner's program enrollments (courses spec 2.4, 5.3–5.5):
//! `GET/POST /api/v3/program_enrollments/`, `GET/DELETE /api/v3/program_enrollments/{program_id}/`,
//! and the v1/v2 detail views `GET /api/v{1,2}/program_enrollments/` and
//! `GET/DELETE /api/v{1,2}/program_enrollments/{program_id}/`, where each program comes with
//! the learner's run enrollments in its courses.
//!
//! **Writes** are the program enrollment workflows (`mitx_services::program_enrollment`):
//! insert-if-absent and compare-and-set, so of concurrent requests exactly one changes the
//! row; the others read it and plan again.
//!
//! **Certificates.** A program's certificate link is shown when the learner holds an active
//! (not revoked) program certificate and the program has a page (the original also needs a
//! certificate page, which mitx does not model).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use mitx_core::catalog::Program;
use mitx_core::enrollment::{ProgramEnrollment, ProgramUnenrollError};
use mitx_core::ids::{ProgramId, UserId};
use mitx_services::program_enrollment::{self, ProgramEnrolled, ProgramEnrollmentError};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::body;
use crate::catalog::base_url;
use crate::catalog::shapes::{Ctx, V2Program};
use crate::enrollment_views::{Renderer, Transcript, Version};
use crate::path_key::PathKey;
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v3/program_enrollments/", get(list_v3).post(create_v3))
        .route(
            "/api/v3/program_enrollments/{program_id}/",
            get(retrieve_v3).delete(destroy_v3),
        )
        .route("/api/v1/program_enrollments/", get(list_v1))
        .route(
            "/api/v1/program_enrollments/{program_id}/",
            get(retrieve_v1).delete(destroy_v1),
        )
        .route("/api/v2/program_enrollments/", get(list_v2))
        .route(
            "/api/v2/program_enrollments/{program_id}/",
            get(retrieve_v2).delete(destroy_v2),
        )
}

/// The v3 item: `{program:{title, readable_id, id, program_type, live, display_mode},
/// certificate, enrollment_mode}`.
fn v3_item(program: &Program, enrollment: &ProgramEnrollment, certificate: Value) -> Value {
    json!({
        "program": {
            "title": program.title,
            "readable_id": program.readable_id.as_str(),
            "id": program.id.0,
            "program_type": program.program_type,
            "live": program.live,
            "display_mode": program.display_mode,
        },
        "certificate": certificate,
        "enrollment_mode": enrollment.mode.slug(),
    })
}

/// A path id that is not an integer names no program (404).
fn path_program(raw: &str) -> Result<ProgramId, ApiError> {
    raw.trim()
        .parse::<i64>()
        .map(ProgramId)
        .map_err(|_| ApiError::not_found())
}

fn field_errors(message: &str) -> ApiError {
    body::field_error("program_id", message)
}

/// The `program_id` of a JSON request body.
fn requested_program(raw: &Bytes) -> Result<ProgramId, ApiError> {
    body::required_int(body::json_object(raw)?.remove("program_id"), "program_id").map(ProgramId)
}

#[utoipa::path(get, operation_id = "program_enrollments_list_v3", path = "/api/v3/program_enrollments/", tag = "program_enrollments",
    responses((status = 200, body = serde_json::Value, description = "Active program enrollments, newest first: {program, certificate, enrollment_mode}"), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn list_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Value>, ApiError> {
    let rows = state.store.active_program_enrollments(user.id).await?;
    let transcript = Transcript::load(&state, user.id).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|row| {
            let certificate = transcript.program_certificate(row.program.id);
            v3_item(&row.program, &row.record.enrollment, certificate)
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

#[utoipa::path(get, operation_id = "program_enrollments_retrieve_v3", path = "/api/v3/program_enrollments/{program_id}/", tag = "program_enrollments",
    params(("program_id" = i64, Path, description = "Program id")),
    responses((status = 200, body = serde_json::Value, description = "The program enrollment"), (status = 404, description = "No active enrollment in the program", body = crate::openapi::Detail), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn retrieve_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let program = path_program(&raw)?;
    let rows = state.store.active_program_enrollments(user.id).await?;
    let row = rows
        .iter()
        .find(|row| row.program.id == program)
        .ok_or_else(ApiError::not_found)?;
    let transcript = Transcript::load(&state, user.id).await?;
    let certificate = transcript.program_certificate(program);
    Ok(Json(v3_item(
        &row.program,
        &row.record.enrollment,
        certificate,
    )))
}

#[utoipa::path(post, operation_id = "program_enrollments_create_v3", path = "/api/v3/program_enrollments/", tag = "program_enrollments",
    request_body = crate::openapi::ProgramIdRequest,
    responses((status = 201, body = serde_json::Value, description = "Enrolled (audit)"), (status = 200, body = serde_json::Value, description = "Already enrolled"), (status = 400, description = "Unknown or not live program", body = crate::openapi::FieldErrors), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn create_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    let requested = requested_program(&body)?;
    create(&state, user.id, requested).await
}

async fn create(
    state: &AppState,
    user: UserId,
    requested: ProgramId,
) -> Result<Response, ApiError> {
    match program_enrollment::enroll(&state.services, user, requested).await {
        Ok(ProgramEnrolled::Already(program, row)) => {
            let certificate = Transcript::load(state, user)
                .await?
                .program_certificate(program.id);
            Ok((StatusCode::OK, Json(v3_item(&program, &row, certificate))).into_response())
        }
        Ok(ProgramEnrolled::Enrolled(program, record)) => Ok((
            StatusCode::CREATED,
            Json(v3_item(&program, &record.enrollment, Value::Null)),
        )
            .into_response()),
        Err(err) => Err(program_error(err)),
    }
}

/// The answer for a program enrollment workflow error.
fn program_error(err: ProgramEnrollmentError) -> ApiError {
    match err {
        ProgramEnrollmentError::Rejected(refusal) => field_errors(&refusal.to_string()),
        ProgramEnrollmentError::Unenroll(ProgramUnenrollError::ProgramNotFound(_)) => {
            ApiError::not_found()
        }
        ProgramEnrollmentError::Unenroll(err @ ProgramUnenrollError::Purchased) => {
            ApiError::BadRequestBody(json!({ "message": err.to_string() }))
        }
        other => ApiError::from_fault(other.fault(), &other),
    }
}

/// Unenrolls the learner from a program (2.4): a missing program is 404, a purchased one
/// 400 with a message; no enrollment is a no-op.
async fn unenroll(state: &AppState, user: UserId, raw: &str) -> Result<(), ApiError> {
    let program_id = path_program(raw)?;
    program_enrollment::unenroll(&state.services, user, program_id)
        .await
        .map_err(program_error)
}

#[utoipa::path(delete, operation_id = "program_enrollments_destroy_v3", path = "/api/v3/program_enrollments/{program_id}/", tag = "program_enrollments",
    params(("program_id" = i64, Path, description = "Program id")),
    responses((status = 204, description = "Unenrolled (also when not enrolled)"), (status = 400, description = "Purchased program: `{\"message\": ...}`", body = serde_json::Value), (status = 404, description = "Unknown program", body = crate::openapi::Detail), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn destroy_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(raw): PathKey,
) -> Result<StatusCode, ApiError> {
    unenroll(&state, user.id, &raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The v1/v2 detail items (`UserProgramEnrollmentDetail` / `V2UserProgramEnrollmentDetail`):
/// each active program enrollment, newest first, with its program, the learner's active run
/// enrollments in the program's courses (newest first) and the certificate link.
async fn detail_items(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    version: Version,
    only: Option<ProgramId>,
) -> Result<Vec<Value>, ApiError> {
    let rows: Vec<_> = state
        .store
        .active_program_enrollments(user)
        .await?
        .into_iter()
        .filter(|row| only.is_none_or(|id| row.program.id == id))
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let site = base_url(state, headers);
    let ctx = Ctx::new(state, &site, Utc::now());
    let ids: Vec<i64> = rows.iter().map(|row| row.program.id.0).collect();
    let programs = state.store.catalog_programs(&ids).await?;
    let v1_programs = match version {
        Version::V1 => crate::catalog::v1::v1_programs(state, &programs, ctx).await?,
        _ => Vec::new(),
    };
    let mut runs = state.store.active_enrollments(user).await?;
    runs.retain(|row| row.record.enrollment.change_status.is_none());
    runs.sort_by(|a, b| {
        (b.record.created_on, b.record.id.0).cmp(&(a.record.created_on, a.record.id.0))
    });
    let renderer = Renderer::load(state, ctx, user, runs.iter().map(|r| &r.run)).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(index) = programs.iter().position(|p| p.id == row.program.id.0) else {
            continue;
        };
        let program = &programs[index];
        let program_json = match version {
            // `v1_programs` renders `programs` in their order.
            Version::V1 => v1_programs.get(index).cloned().ok_or_else(|| {
                ApiError::Internal(format!("program {} not rendered", program.id))
            })?,
            _ => serde_json::to_value(V2Program::new(program, ctx))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        };
        let courses: Vec<i64> = program
            .requirements
            .iter()
            .filter_map(|n| n.course_id)
            .collect();
        let enrollments = runs
            .iter()
            .filter(|r| courses.contains(&r.run.run.course_id.0))
            .map(|r| renderer.item(&r.record, &r.run, version))
            .collect::<Result<Vec<_>, _>>()?;
        let certificate = if program.page.is_some() {
            renderer.transcript.program_certificate(row.program.id)
        } else {
            Value::Null
        };
        items.push(json!({
            "program": program_json,
            "enrollments": enrollments,
            "certificate": certificate,
        }));
    }
    Ok(items)
}

async fn list(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    version: Version,
) -> Result<Json<Value>, ApiError> {
    let items = detail_items(state, headers, user, version, None).await?;
    Ok(Json(Value::Array(items)))
}

async fn retrieve(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    version: Version,
    raw: &str,
) -> Result<Json<Value>, ApiError> {
    let program = path_program(raw)?;
    detail_items(state, headers, user, version, Some(program))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// v1/v2 delete: unenroll, then answer the list (courses spec 5.3).
async fn destroy_listing(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    version: Version,
    raw: &str,
) -> Result<Json<Value>, ApiError> {
    unenroll(state, user, raw).await?;
    list(state, headers, user, version).await
}

/// The v1 or v2 detail handlers (list, retrieve, delete) of one version.
macro_rules! detail_handlers {
    ($version:expr, $list:ident, $retrieve:ident, $destroy:ident,
     $list_path:literal, $item_path:literal, $shape:literal) => {
        #[utoipa::path(get, operation_id = concat!("program_enrollments_", stringify!($list)),
            path = $list_path, tag = "program_enrollments",
            responses(
                (status = 200, body = serde_json::Value, description = $shape),
                (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
        async fn $list(
            State(state): State<AppState>,
            headers: HeaderMap,
            AuthUser(user): AuthUser,
        ) -> Result<Json<Value>, ApiError> {
            list(&state, &headers, user.id, $version).await
        }

        #[utoipa::path(get, operation_id = concat!("program_enrollments_", stringify!($retrieve)),
            path = $item_path, tag = "program_enrollments",
            params(("id" = i64, Path, description = "Program id")),
            responses(
                (status = 200, body = serde_json::Value, description = $shape),
                (status = 404, description = "No active enrollment in the program", body = crate::openapi::Detail),
                (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
        async fn $retrieve(
            State(state): State<AppState>,
            headers: HeaderMap,
            AuthUser(user): AuthUser,
            PathKey(raw): PathKey,
        ) -> Result<Json<Value>, ApiError> {
            retrieve(&state, &headers, user.id, $version, &raw).await
        }

        #[utoipa::path(delete, operation_id = concat!("program_enrollments_", stringify!($destroy)),
            path = $item_path, tag = "program_enrollments",
            params(("id" = i64, Path, description = "Program id")),
            responses(
                (status = 200, body = serde_json::Value, description = "Unenrolled (or not enrolled); the remaining list"),
                (status = 400, description = "Purchased program: `{\"message\": ...}`", body = serde_json::Value),
                (status = 404, description = "Unknown program", body = crate::openapi::Detail),
                (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
        async fn $destroy(
            State(state): State<AppState>,
            headers: HeaderMap,
            AuthUser(user): AuthUser,
            PathKey(raw): PathKey,
        ) -> Result<Json<Value>, ApiError> {
            destroy_listing(&state, &headers, user.id, $version, &raw).await
        }
    };
}

detail_handlers!(
    Version::V1,
    list_v1,
    retrieve_v1,
    destroy_v1,
    "/api/v1/program_enrollments/",
    "/api/v1/program_enrollments/{id}/",
    "UserProgramEnrollmentDetail: {program: V1Program, enrollments: [v1 items], certificate}; lists are newest first"
);
detail_handlers!(
    Version::V2,
    list_v2,
    retrieve_v2,
    destroy_v2,
    "/api/v2/program_enrollments/",
    "/api/v2/program_enrollments/{id}/",
    "V2UserProgramEnrollmentDetail: {program: V2Program, enrollments: [v2 items], certificate}; lists are newest first"
);
