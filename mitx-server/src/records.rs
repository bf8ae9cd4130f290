//! Learner records (courses spec 3.9, 5.6): `GET /api/records/program/{id}/`, `POST
//! …/share/` and `…/revoke/` for the learner; the public `GET
//! /api/records/shared/{share_uuid}/`; and `GET /api/v1/partnerschools/`. Changes go
//! through `mitx_services::records`; the record itself is a read model assembled here
//! with the core's rule for each course's certificate and grade
//! (`certificates::record_course_result`). Revoked or not yet issued certificates never
//! count.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use mitx_core::certificates::{
    Certificate, CourseRunGrade, Grade, LearnerFacts, record_course_result,
};
use mitx_core::ids::{CourseId, CourseRunId, ProgramId, UserId};
use mitx_services::records::{self, RecordError};
use mitx_services::store::users::UserKey;
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::body;
use crate::catalog::base_url;
use crate::catalog::shapes::{Ctx, V2Program};
use crate::path_key::PathKey;
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/records/program/{id}/", get(record))
        .route("/api/records/program/{id}/share/", post(share))
        .route("/api/records/program/{id}/revoke/", post(revoke))
        .route("/api/records/shared/{uuid}/", get(shared_record))
        .route("/api/v1/partnerschools/", get(partner_schools))
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn path_program(raw: &str) -> Result<ProgramId, ApiError> {
    raw.trim()
        .parse::<i64>()
        .map(ProgramId)
        .map_err(|_| ApiError::not_found())
}

fn record_error(err: RecordError) -> ApiError {
    match err {
        RecordError::NoRecord => ApiError::not_found(),
        RecordError::SchoolNotFound => ApiError::NotFound(err.to_string()),
        other => ApiError::from_fault(other.fault(), &other),
    }
}

/// The learner record of `user` for `program` (3.9). `public` (a shared link): no
/// `sharing` and no `partner_schools`.
async fn record_json(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    program: ProgramId,
    public: bool,
) -> Result<Value, ApiError> {
    let store = &state.store;
    let now = Utc::now();
    let site = base_url(state, headers);
    let ctx = Ctx::new(state, &site, now);
    let catalog = store
        .catalog_programs(&[program.0])
        .await?
        .into_iter()
        .next()
        .ok_or_else(ApiError::not_found)?;
    let v2 = V2Program::new(&catalog, ctx);
    let mut listed: Vec<(i64, &'static str)> = Vec::new();
    for c in &v2.requirements.courses.required {
        listed.push((c.id, "Required Courses"));
    }
    for c in &v2.requirements.courses.electives {
        if !listed.iter().any(|(id, _)| *id == c.id) {
            listed.push((c.id, "Elective Courses"));
        }
    }
    let ids: Vec<i64> = listed.iter().map(|(id, _)| *id).collect();
    let courses = state.course_cache.courses(store, &ids).await?;

    // What the core's record rule needs about the learner.
    let mut facts = LearnerFacts::new(user);
    for course in courses.values() {
        for run in &course.runs {
            facts.runs.insert(run.run.id, run.run.clone());
        }
    }
    for row in store.active_enrollments(user).await? {
        facts
            .run_enrollments
            .insert(row.record.enrollment.run, row.record.enrollment);
    }
    let transcript = store.learner_transcript(user, now).await?;
    for g in transcript.grades {
        let Ok(grade) = Grade::new(g.grade.unwrap_or(0.0)) else {
            continue;
        };
        facts.grades.insert(
            g.run,
            CourseRunGrade {
                user,
                run: g.run,
                grade,
                letter_grade: g.letter_grade,
                passed: g.passed,
                set_by_admin: g.set_by_admin,
            },
        );
    }
    for c in store.record_certificates(user).await? {
        // Only active certificates count (revoked or future ones are not public).
        let Ok(uuid) = uuid::Uuid::parse_str(&c.uuid) else {
            continue;
        };
        if c.is_revoked || c.issue_date > now {
            continue;
        }
        facts.course_certificates.insert(
            CourseRunId(c.run),
            Certificate::issue(uuid, user, CourseRunId(c.run), c.issue_date, None),
        );
    }
    let mut course_items = Vec::new();
    for (id, reqtype) in &listed {
        let Some(course) = courses.get(id) else {
            continue;
        };
        let result = record_course_result(CourseId(*id), &facts, now);
        let certificate = result.certificate.map_or(
            Value::Null,
            |c| json!({"uuid": c.uuid.to_string(), "link": c.link()}),
        );
        let grade = match (result.grade, result.grade_rounded()) {
            (Some(g), Some(rounded)) => json!({
                "grade": rounded.to_string().parse::<f64>().unwrap_or(0.0),
                "letter_grade": g.letter_grade,
                "passed": g.passed,
                "set_by_admin": g.set_by_admin,
                "grade_percent": g.grade_percent().to_string().parse::<f64>().unwrap_or(0.0),
            }),
            _ => Value::Null,
        };
        course_items.push(json!({
            "title": course.title,
            "id": course.id,
            "readable_id": course.readable_id,
            "reqtype": reqtype,
            "grade": grade,
            "certificate": certificate,
        }));
    }
    let learner = store
        .find_user(&UserKey::Id(user.0))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let edx = store.edx_user(user).await?;
    let (sharing, schools) = if public {
        (Vec::new(), Vec::new())
    } else {
        let shares = store
            .record_shares(user, program)
            .await?
            .into_iter()
            .map(|s| {
                json!({
                    "share_uuid": s.share_uuid,
                    "created_on": time(s.created_on),
                    "updated_on": time(s.updated_on),
                    "is_active": s.is_active,
                    "user": s.user,
                    "program": s.program,
                    "partner_school": s.partner_school,
                })
            })
            .collect();
        let mut schools: Vec<Value> = Vec::new();
        for school in records::eligible_schools(&state.services, program).await? {
            let item = json!({"id": school.id, "name": school.name});
            if !schools.contains(&item) {
                schools.push(item);
            }
        }
        (shares, schools)
    };
    Ok(json!({
        "user": {
            "name": learner.name,
            "email": learner.email,
            "username": edx.and_then(|e| e.edx_username),
        },
        "program": {
            "title": catalog.title,
            "readable_id": catalog.readable_id,
            "courses": course_items,
            "requirements": crate::catalog::v1::v1_req_tree(&catalog, &v2)?,
        },
        "sharing": sharing,
        "partner_schools": schools,
    }))
}

/// The signed-in learner's record (404 without an active program enrollment).
async fn own_record(
    state: &AppState,
    headers: &HeaderMap,
    user: UserId,
    program: ProgramId,
) -> Result<Json<Value>, ApiError> {
    if !records::has_record(&state.services, user, program).await? {
        return Err(ApiError::not_found());
    }
    Ok(Json(
        record_json(state, headers, user, program, false).await?,
    ))
}

#[utoipa::path(get, operation_id = "learner_record_retrieve_by_id", path = "/api/records/program/{id}/", tag = "api",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = serde_json::Value, description = "LearnerRecord: {user, program, sharing, partner_schools}"),
        (status = 404, description = "No active enrollment in the program", body = crate::openapi::Detail),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn record(
    State(state): State<AppState>,
    headers: HeaderMap,
    AuthUser(user): AuthUser,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let program = path_program(&raw)?;
    own_record(&state, &headers, user.id, program).await
}

/// `partnerSchool` of the share body: an integer or null (absent = null).
fn requested_school(raw: &Bytes) -> Result<Option<i64>, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match body::json_object(raw)?.remove("partnerSchool") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => body::required_int(Some(value), "partnerSchool").map(Some),
    }
}

#[utoipa::path(post, operation_id = "api_records_program_share_create", path = "/api/records/program/{id}/share/", tag = "api",
    params(("id" = i64, Path, description = "Program id")),
    request_body(content = serde_json::Value, description = "`{\"partnerSchool\": id | null}`: null shares a public link"),
    responses((status = 200, body = serde_json::Value, description = "LearnerRecord"),
        (status = 404, description = "No active enrollment, or `Partner school not found.`", body = crate::openapi::Detail),
        (status = 400, description = "partnerSchool is not an integer", body = crate::openapi::FieldErrors),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn share(
    State(state): State<AppState>,
    headers: HeaderMap,
    AuthUser(user): AuthUser,
    PathKey(raw): PathKey,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let program = path_program(&raw)?;
    let school = requested_school(&body)?;
    records::share(&state.services, user.id, program, school)
        .await
        .map_err(record_error)?;
    own_record(&state, &headers, user.id, program).await
}

#[utoipa::path(post, operation_id = "api_records_program_revoke_create", path = "/api/records/program/{id}/revoke/", tag = "api",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = serde_json::Value, description = "LearnerRecord (public links deactivated; school shares stay)"),
        (status = 404, description = "No active enrollment in the program", body = crate::openapi::Detail),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    AuthUser(user): AuthUser,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let program = path_program(&raw)?;
    records::revoke(&state.services, user.id, program)
        .await
        .map_err(record_error)?;
    own_record(&state, &headers, user.id, program).await
}

#[utoipa::path(get, operation_id = "learner_record_retrieve_by_uuid", path = "/api/records/shared/{uuid}/", tag = "api",
    params(("uuid" = String, Path, description = "The share's uuid")),
    responses((status = 200, body = serde_json::Value, description = "LearnerRecord with `sharing: []` and `partner_schools: []`"),
        (status = 404, description = "Unknown or inactive share: body `[]`", body = serde_json::Value)))]
async fn shared_record(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(raw): PathKey,
) -> Result<Response, ApiError> {
    let not_found = || (StatusCode::NOT_FOUND, Json(json!([]))).into_response();
    let Ok(uuid) = uuid::Uuid::parse_str(raw.trim()) else {
        return Ok(not_found());
    };
    let Some(share) = state
        .store
        .record_share(&uuid.to_string())
        .await?
        .filter(|s| s.is_active)
    else {
        return Ok(not_found());
    };
    let record = record_json(
        &state,
        &headers,
        UserId(share.user),
        ProgramId(share.program),
        true,
    )
    .await?;
    Ok(Json(record).into_response())
}

#[utoipa::path(get, operation_id = "partnerschools_list", path = "/api/v1/partnerschools/", tag = "partnerschools",
    params(("program" = Option<i64>, Query, description = "Only schools offered for this program")),
    responses((status = 200, body = serde_json::Value, description = "`[{id, name}]` by name"),
        (status = 400, description = "program is not an integer", body = crate::openapi::FieldErrors),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn partner_schools(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let schools = match query.get("program") {
        None => state.store.partner_schools(true).await?,
        Some(raw) => {
            let program = raw
                .trim()
                .parse::<i64>()
                .map_err(|_| ApiError::field("program", format!("Invalid program id: {raw}")))?;
            records::eligible_schools(&state.services, ProgramId(program)).await?
        }
    };
    let items: Vec<Value> = schools
        .into_iter()
        .map(|s| json!({"id": s.id, "name": s.name}))
        .collect();
    Ok(Json(Value::Array(items)))
}
