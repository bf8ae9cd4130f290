//! The learner's program enrollments (courses spec 2.4, 5.5):
//! `GET/POST /api/v3/program_enrollments/`, `GET/DELETE /api/v3/program_enrollments/{program_id}/`.
//!
//! **Races.** Creation goes through the store's insert-if-absent: of concurrent POSTs for the
//! same learner and program exactly one creates the row; the others read it and re-plan.
//!
//! **Shapes.** Program certificates are not rendered yet: `certificate` is null.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use mitx_core::catalog::Program;
use mitx_core::enrollment::{
    ProgramEnrollRequestError, ProgramEnrollResponse, ProgramEnrollment, ProgramUnenrollError,
    plan_program_enroll_request, plan_program_unenroll,
};
use mitx_core::ids::{ProgramId, UserId};
use mitx_store::program_enrollments::SavedProgramEnrollment;
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::{ApiError, AppState};

/// How many times a create that lost a race is re-planned.
const MAX_ATTEMPTS: usize = 5;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v3/program_enrollments/", get(list_v3).post(create_v3))
        .route(
            "/api/v3/program_enrollments/{program_id}/",
            get(retrieve_v3).delete(destroy_v3),
        )
}

/// The v3 item: `{program:{title, readable_id, id, program_type, live, display_mode},
/// certificate, enrollment_mode}`.
fn v3_item(program: &Program, enrollment: &ProgramEnrollment) -> Value {
    json!({
        "program": {
            "title": program.title,
            "readable_id": program.readable_id.as_str(),
            "id": program.id.0,
            "program_type": program.program_type,
            "live": program.live,
            "display_mode": program.display_mode,
        },
        "certificate": null,
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
    let mut map = std::collections::BTreeMap::new();
    map.insert("program_id".to_owned(), json!([message]));
    ApiError::Validation(map)
}

/// The `program_id` of a JSON request body.
fn requested_program(body: &Bytes) -> Result<ProgramId, ApiError> {
    let raw = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequestBody(json!({ "detail": format!("JSON parse error - {e}") }))
        })?;
        match value {
            Value::Object(mut map) => map.remove("program_id"),
            _ => {
                return Err(ApiError::BadRequestBody(json!({
                    "errors": { "non_field_errors": ["Invalid data. Expected a dictionary."] }
                })));
            }
        }
    };
    let invalid = || field_errors("A valid integer is required.");
    match raw {
        None | Some(Value::Null) => Err(field_errors("This field is required.")),
        Some(Value::Number(n)) => n.as_i64().map(ProgramId).ok_or_else(invalid),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(ProgramId)
            .map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

async fn list_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Value>, ApiError> {
    let rows = state.store.active_program_enrollments(user.id).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|row| v3_item(&row.program, &row.record.enrollment))
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn retrieve_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let program = path_program(&raw)?;
    let rows = state.store.active_program_enrollments(user.id).await?;
    rows.iter()
        .find(|row| row.program.id == program)
        .map(|row| Json(v3_item(&row.program, &row.record.enrollment)))
        .ok_or_else(ApiError::not_found)
}

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
    let program = state.store.enrollment_program(requested).await?;
    for _ in 0..MAX_ATTEMPTS {
        let existing = state.store.program_enrollment(user, requested).await?;
        let decision = plan_program_enroll_request(
            user,
            requested,
            program.as_ref(),
            existing.as_ref().map(|e| &e.enrollment),
        )
        .map_err(|err: ProgramEnrollRequestError| field_errors(&err.to_string()))?;
        let Some(program) = program.as_ref() else {
            return Err(ApiError::not_found());
        };
        match decision {
            ProgramEnrollResponse::AlreadyEnrolled(row) => {
                return Ok((StatusCode::OK, Json(v3_item(program, &row))).into_response());
            }
            ProgramEnrollResponse::Enrolled(change) => {
                let saved = state
                    .store
                    .save_program_enrollment(
                        existing.as_ref(),
                        &change.enrollment,
                        Some(user),
                        Utc::now(),
                    )
                    .await?;
                match saved {
                    SavedProgramEnrollment::Saved(record) => {
                        return Ok((
                            StatusCode::CREATED,
                            Json(v3_item(program, &record.enrollment)),
                        )
                            .into_response());
                    }
                    SavedProgramEnrollment::Raced => continue,
                }
            }
        }
    }
    Err(ApiError::Internal(format!(
        "program enrollment for user {user} and program {requested} kept racing"
    )))
}

async fn destroy_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let program_id = path_program(&raw)?;
    let program = state.store.enrollment_program(program_id).await?;
    let existing = state.store.program_enrollment(user.id, program_id).await?;
    let purchased = state
        .store
        .has_fulfilled_paid_program(user.id, program_id)
        .await?;
    let plan = plan_program_unenroll(
        program_id,
        program.as_ref(),
        existing.as_ref().map(|e| &e.enrollment),
        purchased,
    );
    match plan {
        Err(ProgramUnenrollError::ProgramNotFound(_)) => Err(ApiError::not_found()),
        Err(err @ ProgramUnenrollError::Purchased) => Err(ApiError::BadRequestBody(
            json!({ "message": err.to_string() }),
        )),
        Ok(None) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(Some(after)) => {
            state
                .store
                .save_program_enrollment(existing.as_ref(), &after, Some(user.id), Utc::now())
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}
