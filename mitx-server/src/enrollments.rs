//! The learner's course-run enrollments (courses spec 2.2, 2.3, 5.3–5.5):
//! `GET/POST /api/v{1,2}/enrollments/`, `DELETE /api/v{1,2,3}/enrollments/{id}/`,
//! `GET /api/v3/enrollments/` and `GET /api/v3/enrollments/{id}/`.
//!
//! **Open edX.** There is no edX client yet (it arrives with a later issue). Until then the
//! edX call is "not called" only for fake runs (as the rules say); for every other run it
//! counts as failed with failures kept (as with `IGNORE_EDX_FAILURES`): the enrollment is
//! saved with `edx_enrolled = false` (for the repair job to retry), and an unenrollment
//! deactivates the row leaving the edX flags untouched. Emails and the edX
//! email-subscription job are logged, not sent.
//!
//! **Races.** Creation goes through the store's insert-if-absent: of concurrent POSTs for the
//! same learner and run exactly one creates the row; the others read it and re-plan.
//!
//! **Shapes.** Grades, certificates, flexible prices and course pages are not rendered yet:
//! `grades` is `[]`, `certificate` null, `approved_flexible_price_exists` false; the v1
//! run's `course` has `{id, title, readable_id}` with placeholders `next_run_id: null`,
//! `departments: []`, `page: {feature_image_src: null}`, `programs: null`; the v2 run's `course` has only
//! `{id, title, readable_id}` (the V2Course shape belongs to the catalog module); product
//! descriptions are the run's courseware id.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use mitx_core::enrollment::{
    ChangeStatus, EdxFailure, EdxOutcome, EnrollEffect, EnrollRequest, EnrollmentNotFound,
    UnenrollEmail, UnenrollOutcome, WindowCheck, addressable_enrollment, check_api_enroll,
    needs_edx_enroll_call, plan_enroll, plan_unenroll,
};
use mitx_core::ids::{CourseRunId, EnrollmentId, UserId};
use mitx_store::enrollments::{
    EnrollmentRecord, EnrollmentRun, EnrollmentWithRun, SavedEnrollment,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::{ApiError, AppState};

/// Failed edX calls are kept until the edX client exists (see the module docs).
const KEEP_EDX_FAILURES: bool = true;

/// How many times a create that lost a race is re-planned.
const MAX_ATTEMPTS: usize = 5;

/// The API version of a request (shapes and filters differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V1,
    V2,
    V3,
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/enrollments/", get(list_v1).post(create_v1))
        .route("/api/v1/enrollments/{id}/", delete(destroy))
        .route("/api/v2/enrollments/", get(list_v2).post(create_v2))
        .route("/api/v2/enrollments/{id}/", delete(destroy))
        .route("/api/v3/enrollments/", get(list_v3))
        .route(
            "/api/v3/enrollments/{id}/",
            get(retrieve_v3).delete(destroy),
        )
}

fn timestamp(value: Option<DateTime<Utc>>) -> Value {
    value.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
    })
}

/// The shared `Run` shape (courses spec 5.2).
fn run_body(
    run: &EnrollmentRun,
    now: DateTime<Utc>,
    openedx_base: &str,
) -> serde_json::Map<String, Value> {
    let r = &run.run;
    let modes: Vec<Value> = r
        .enrollment_modes
        .iter()
        .map(|m| {
            json!({
                "mode_slug": m.slug(),
                "mode_display_name": m.slug(),
                "requires_payment": m.requires_payment(),
            })
        })
        .collect();
    let body = json!({
        "title": r.title,
        "start_date": timestamp(r.start_date),
        "end_date": timestamp(r.end_date),
        "enrollment_start": timestamp(r.enrollment_start),
        "enrollment_end": timestamp(r.enrollment_end),
        "expiration_date": timestamp(r.expiration_date),
        "courseware_url": r.courseware_url(openedx_base),
        "courseware_id": r.courseware_id.as_str(),
        "certificate_available_date": timestamp(r.certificate_available_date),
        "upgrade_deadline": timestamp(r.upgrade_deadline),
        "is_upgradable": r.is_upgradable(now, run.active_product.is_some()),
        "is_enrollable": r.is_enrollable(now),
        "is_archived": r.is_archived(now),
        "is_self_paced": r.is_self_paced,
        "run_tag": r.run_tag,
        "id": r.id,
        "live": r.live,
        "course_number": r.course_number(),
        "enrollment_modes": modes,
        "language": r.language,
        "is_primary_language": r.is_primary_language,
        "language_label": language_label(&r.language),
        "variant_industry": r.variant_industry.code(),
        "variant_length": r.variant_length.code(),
        "course_id": r.course_id,
    });
    match body {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// Display names of the common run languages (the catalog module has the full table).
fn language_label(code: &str) -> String {
    match code {
        "" => String::new(),
        "en" => "English".into(),
        "es_419" => "Spanish (Latin America)".into(),
        "es_ES" => "Spanish (Spain)".into(),
        "fr" => "French".into(),
        "zh_CN" => "Chinese (China)".into(),
        "pt_BR" => "Portuguese (Brazil)".into(),
        "ar" => "Arabic".into(),
        "de" => "German".into(),
        other => other.to_owned(),
    }
}

/// The run's active product as `[Product]` (empty without one); v1 adds
/// `product_flexible_price` (null: no flexible price is looked up yet).
fn products_body(run: &EnrollmentRun, flexible_price: bool) -> Value {
    let products: Vec<Value> = run
        .active_product
        .iter()
        .map(|p| {
            let mut product = json!({
                "id": p.id,
                "price": p.price.to_price_string(),
                "description": run.run.courseware_id.as_str(),
                "is_active": true,
            });
            if flexible_price && let Value::Object(map) = &mut product {
                map.insert("product_flexible_price".into(), Value::Null);
            }
            product
        })
        .collect();
    Value::Array(products)
}

fn item_body(
    record: &EnrollmentRecord,
    run: &EnrollmentRun,
    version: Version,
    now: DateTime<Utc>,
    openedx_base: &str,
) -> Value {
    let mut run_json = run_body(run, now, openedx_base);
    let course = json!({
        "id": run.run.course_id,
        "title": run.course_title,
        "readable_id": run.course_readable_id,
    });
    let contract = run.run.b2b_contract;
    match version {
        Version::V1 => {
            run_json.insert("products".into(), products_body(run, true));
            run_json.insert("approved_flexible_price_exists".into(), Value::Bool(false));
            let mut course = course;
            if let Value::Object(map) = &mut course {
                // Placeholders until the catalog shapes are shared (see the module docs).
                map.insert("next_run_id".into(), Value::Null);
                map.insert("departments".into(), json!([]));
                map.insert("page".into(), json!({ "feature_image_src": null }));
                map.insert("programs".into(), Value::Null);
            }
            run_json.insert("course".into(), course);
        }
        Version::V2 => {
            run_json.insert("products".into(), products_body(run, false));
            run_json.insert("approved_flexible_price_exists".into(), Value::Bool(false));
            run_json.insert("b2b_contract".into(), json!(contract));
            run_json.insert("course".into(), course);
        }
        Version::V3 => {
            let upgradable = run.run.is_upgradable(now, run.active_product.is_some());
            let product = run.active_product.filter(|_| upgradable);
            run_json.insert("upgrade_product_id".into(), json!(product.map(|p| p.id)));
            run_json.insert(
                "upgrade_product_price".into(),
                json!(product.map(|p| p.price.to_price_string())),
            );
            run_json.insert(
                "upgrade_product_is_active".into(),
                json!(product.map(|_| true)),
            );
            run_json.insert(
                "course".into(),
                json!({
                    "id": run.run.course_id,
                    "title": run.course_title,
                    "readable_id": run.course_readable_id,
                    "type": "course",
                    "include_in_learn_catalog": false,
                }),
            );
        }
    }
    let e = &record.enrollment;
    let mut item = json!({
        "id": record.id,
        "edx_emails_subscription": e.edx_emails_subscription,
        "certificate": null,
        "enrollment_mode": e.mode.slug(),
        "grades": [],
        "run": Value::Object(run_json),
    });
    if let Value::Object(map) = &mut item {
        if version != Version::V3 {
            map.insert("approved_flexible_price_exists".into(), Value::Bool(false));
        }
        if version != Version::V1 {
            // Organizations are not linked to contracts yet.
            map.insert("b2b_organization_id".into(), Value::Null);
            map.insert("b2b_contract_id".into(), json!(contract));
        }
    }
    item
}

/// The list filters of v2 and v3.
#[derive(Debug, Default, Deserialize)]
struct ListFilters {
    exclude_b2b: Option<String>,
    org_id: Option<String>,
}

impl ListFilters {
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
    user: UserId,
    version: Version,
    filters: &ListFilters,
) -> Result<Json<Value>, ApiError> {
    let (exclude_b2b, org_id) = filters.check()?;
    let now = Utc::now();
    let rows = state.store.active_enrollments(user).await?;
    let items: Vec<Value> = rows
        .iter()
        .filter(|EnrollmentWithRun { run, .. }| !(exclude_b2b && run.run.is_b2b()))
        // No enrollment belongs to an organization until B2B contracts are linked.
        .filter(|_| org_id.is_none())
        .map(|row| {
            item_body(
                &row.record,
                &row.run,
                version,
                now,
                &state.openedx_course_base_url,
            )
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn list_v1(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Value>, ApiError> {
    list(&state, user.id, Version::V1, &ListFilters::default()).await
}

async fn list_v2(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(filters): Query<ListFilters>,
) -> Result<Json<Value>, ApiError> {
    list(&state, user.id, Version::V2, &filters).await
}

async fn list_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(filters): Query<ListFilters>,
) -> Result<Json<Value>, ApiError> {
    list(&state, user.id, Version::V3, &filters).await
}

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

async fn retrieve_v3(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = addressable(&state, user.id, &id).await?;
    let run = state
        .store
        .enrollment_run(record.enrollment.run)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(item_body(
        &record,
        &run,
        Version::V3,
        Utc::now(),
        &state.openedx_course_base_url,
    )))
}

/// The edX outcome until the edX client exists (see the module docs).
fn edx_outcome(run: &EnrollmentRun) -> EdxOutcome {
    if needs_edx_enroll_call(&[&run.run]) {
        EdxOutcome::Failed(EdxFailure::Unknown)
    } else {
        EdxOutcome::NotCalled
    }
}

/// Reads `run_id` from a JSON or form body (DRF parses both).
fn requested_run(headers: &HeaderMap, body: &Bytes) -> Result<CourseRunId, ApiError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let raw: Option<Value> = if is_form {
        std::str::from_utf8(body).ok().and_then(|text| {
            text.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == "run_id")
                .map(|(_, value)| Value::String(value.to_owned()))
        })
    } else if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequestBody(json!({ "detail": format!("JSON parse error - {e}") }))
        })?;
        match value {
            Value::Object(mut map) => map.remove("run_id"),
            _ => {
                return Err(ApiError::BadRequestBody(json!({
                    "errors": { "non_field_errors": ["Invalid data. Expected a dictionary, but got list."] }
                })));
            }
        }
    };
    let required = || {
        let mut map = std::collections::BTreeMap::new();
        map.insert("run_id".to_owned(), json!(["This field is required."]));
        ApiError::Validation(map)
    };
    let invalid = || {
        let mut map = std::collections::BTreeMap::new();
        map.insert("run_id".to_owned(), json!(["A valid integer is required."]));
        ApiError::Validation(map)
    };
    match raw {
        None | Some(Value::Null) => Err(required()),
        Some(Value::Number(n)) => n.as_i64().map(CourseRunId).ok_or_else(invalid),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(CourseRunId)
            .map_err(|_| invalid()),
        Some(_) => Err(invalid()),
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
    let run = state.store.enrollment_run(requested).await?;
    for _ in 0..MAX_ATTEMPTS {
        let now = Utc::now();
        let existing = state.store.run_enrollment(user, requested).await?;
        check_api_enroll(
            requested,
            run.as_ref().map(|r| &r.run),
            existing.as_ref().map(|e| &e.enrollment),
            WindowCheck::Enforce,
            now,
        )
        .map_err(|e| ApiError::field(e.field(), e.to_string()))?;
        let Some(run) = run.as_ref() else {
            return Err(ApiError::field(
                "run_id",
                format!("Invalid course run id: {requested}"),
            ));
        };
        let outcome = plan_enroll(
            user,
            existing.as_ref().map(|e| &e.enrollment),
            &run.run,
            EnrollRequest::audit(KEEP_EDX_FAILURES),
            edx_outcome(run),
        );
        let Some(plan) = outcome.first() else {
            return Err(ApiError::BadRequestBody(json!({
                "detail": "Could not enroll in the course run."
            })));
        };
        match state
            .store
            .save_enrollment(existing.as_ref(), &plan.enrollment, Some(user), now)
            .await?
        {
            SavedEnrollment::Saved(record) => {
                for effect in &plan.effects {
                    if !matches!(effect, EnrollEffect::AuditLog) {
                        tracing::info!(?effect, enrollment = %record.id, "enrollment effect not performed yet");
                    }
                }
                let body = item_body(&record, run, version, now, &state.openedx_course_base_url);
                return Ok((StatusCode::CREATED, Json(body)).into_response());
            }
            SavedEnrollment::Raced => continue,
        }
    }
    Err(ApiError::Internal(format!(
        "enrollment of user {user} in run {requested} kept racing"
    )))
}

async fn create_v1(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    create(&state, user.id, Version::V1, &headers, &body).await
}

async fn create_v2(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    create(&state, user.id, Version::V2, &headers, &body).await
}

async fn destroy(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let record = addressable(&state, user.id, &id).await?;
    let run = state
        .store
        .enrollment_run(record.enrollment.run)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let outcome = plan_unenroll(
        &record.enrollment,
        ChangeStatus::Unenrolled,
        edx_outcome(&run),
        KEEP_EDX_FAILURES,
        UnenrollEmail::Send,
    );
    match outcome {
        UnenrollOutcome::Failed { edx_failure } => Err(ApiError::BadRequestBody(json!({
            "detail": format!("Could not unenroll from the course run ({edx_failure:?}).")
        }))),
        UnenrollOutcome::Deactivated(plan) => {
            state
                .store
                .save_unenrollment(&record, &plan.enrollment, Some(user.id), Utc::now())
                .await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}
