//! Inbound webhooks from Open edX (courses spec 4.5): `POST /api/openedx_webhook/enrollment/`
//! and `POST /api/openedx_webhook/certificate/`.
//!
//! **Who may call.** The original accepts a local OAuth2 access token of a staff user.
//! Until mitx has its own OAuth2 provider, a service token (`mitx tokens create NAME
//! --scope openedx:webhook`, sent as `Authorization: Bearer <secret>`) with the scope
//! `openedx:webhook` stands in for it: no token (or a bearer token that is not a mitx
//! service token) and an unknown or revoked token answer 401, a token without the scope
//! 403, all with JSON bodies. Every webhook handler takes the [`WebhookCaller`] extractor.
//!
//! Only POST is served (other methods 405, JSON, from the router). The handlers parse the
//! JSON body, call one mitx-services workflow and render its outcome; no Open edX call is
//! made.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use mitx_services::openedx_webhooks::{
    self, CertificateWebhookError, CertificateWebhookOutcome, EnrollmentWebhookError,
};
use mitx_services::store::service_tokens::SCOPE_OPENEDX_WEBHOOK;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::{AuthRejection, NOT_AUTHENTICATED, ServiceCaller, service_caller};
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openedx_webhook/enrollment/", post(enrollment))
        .route("/api/openedx_webhook/certificate/", post(certificate))
}

/// A caller allowed to deliver Open edX webhooks: a service token with the scope
/// `openedx:webhook`. Without a service token 401 `{"detail": "Authentication credentials
/// were not provided."}`; an unknown or revoked token 401 `{"detail": "Invalid token."}`;
/// a token without the scope 403 `{"detail": "You do not have permission to perform this
/// action."}`.
#[derive(Clone, Debug)]
pub struct WebhookCaller(pub ServiceCaller);

impl FromRequestParts<AppState> for WebhookCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        let caller = service_caller(parts, state)
            .await?
            .ok_or_else(|| ApiError::Unauthorized(NOT_AUTHENTICATED.into()))?;
        caller.require_scope(SCOPE_OPENEDX_WEBHOOK)?;
        Ok(WebhookCaller(caller))
    }
}

/// The message of a body without `email` or `course_id`.
pub const MISSING_ENROLLMENT_FIELDS: &str = "Missing required fields: email and course_id";

/// Body of the enrollment webhook.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct EnrollmentWebhookRequest {
    /// The learner's email (matched case-insensitively).
    pub email: String,
    /// The run's courseware id (exact).
    pub course_id: String,
    /// The learner's role in the course (informational).
    pub role: Option<String>,
}

/// The enrollment webhook's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentWebhookResponse {
    /// `Enrollment successful`.
    pub message: String,
    /// The enrollment.
    pub enrollment_id: i64,
    /// Whether it is active.
    pub active: bool,
    /// Whether edX has it.
    pub edx_enrolled: bool,
}

/// `{"error": "..."}`: the webhooks' error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookError {
    /// What went wrong.
    pub error: String,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// The non-empty `email` and `course_id` both webhooks require; `None` when the body is
/// not JSON or either is missing.
fn email_and_course(body: &[u8]) -> Option<(String, String)> {
    let parsed: Value = serde_json::from_slice(body).ok()?;
    Some((
        text_field(&parsed, "email")?,
        text_field(&parsed, "course_id")?,
    ))
}

/// A non-empty text field of a JSON object body.
fn text_field(body: &Value, name: &str) -> Option<String> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

#[utoipa::path(post, operation_id = "openedx_webhook_enrollment", path = "/api/openedx_webhook/enrollment/", tag = "openedx-webhooks",
    request_body(content = EnrollmentWebhookRequest, description = "JSON"),
    responses(
        (status = 201, body = EnrollmentWebhookResponse, description = "Enrollment created (audit, edx_enrolled=true); no edX call"),
        (status = 200, body = EnrollmentWebhookResponse, description = "Enrollment existed: reactivated and marked enrolled in edX as needed"),
        (status = 400, body = WebhookError, description = "Missing email or course_id, a body that is not JSON, or the enrollment could not be saved"),
        (status = 401, body = crate::openapi::Detail, description = "No service token, or an unknown or revoked one"),
        (status = 403, body = crate::openapi::Detail, description = "A service token without the `openedx:webhook` scope"),
        (status = 404, body = WebhookError, description = "Unknown user email or course run"),
        (status = 405, body = crate::openapi::Detail, description = "A method other than POST")))]
async fn enrollment(
    State(state): State<AppState>,
    WebhookCaller(caller): WebhookCaller,
    body: Bytes,
) -> Response {
    let Some((email, course_id)) = email_and_course(&body) else {
        return error(StatusCode::BAD_REQUEST, MISSING_ENROLLMENT_FIELDS);
    };
    match openedx_webhooks::enrollment_webhook(&state.services, &email, &course_id).await {
        Ok(done) => {
            let status = if done.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let row = &done.record.enrollment;
            let body = EnrollmentWebhookResponse {
                message: "Enrollment successful".into(),
                enrollment_id: done.record.id.0,
                active: row.active,
                edx_enrolled: row.edx_enrolled,
            };
            tracing::info!(caller = %caller.name, enrollment = done.record.id.0, created = done.created, "enrollment webhook");
            (status, Json(body)).into_response()
        }
        Err(
            err @ (EnrollmentWebhookError::UserNotFound | EnrollmentWebhookError::RunNotFound(_)),
        ) => error(StatusCode::NOT_FOUND, err.to_string()),
        Err(err) => {
            tracing::error!(cause = %mitx_services::cause_chain(&err), "enrollment webhook failed");
            error(StatusCode::BAD_REQUEST, err.to_string())
        }
    }
}

/// The message of a certificate webhook body without `email` or `course_id`.
pub const MISSING_CERTIFICATE_FIELDS: &str = "Both 'email' and 'course_id' are required.";

/// Body of the certificate webhook.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct CertificateWebhookRequest {
    /// The learner's email (matched case-insensitively).
    pub email: String,
    /// The run's courseware id (exact).
    pub course_id: String,
}

#[utoipa::path(post, operation_id = "openedx_webhook_certificate", path = "/api/openedx_webhook/certificate/", tag = "openedx-webhooks",
    request_body(content = CertificateWebhookRequest, description = "JSON"),
    responses(
        (status = 200, description = "Empty body, whatever the outcome: an active certificate already existed, or the grade was fetched from edX and processed (a certificate needs a passed grade and an active verified enrollment; the certificate date is not waited for)"),
        (status = 400, body = WebhookError, description = "Missing email or course_id, or a body that is not JSON"),
        (status = 401, body = crate::openapi::Detail, description = "No service token, or an unknown or revoked one"),
        (status = 403, body = crate::openapi::Detail, description = "A service token without the `openedx:webhook` scope"),
        (status = 404, body = WebhookError, description = "Unknown user email or course run"),
        (status = 405, body = crate::openapi::Detail, description = "A method other than POST")))]
async fn certificate(
    State(state): State<AppState>,
    WebhookCaller(caller): WebhookCaller,
    body: Bytes,
) -> Response {
    let Some((email, course_id)) = email_and_course(&body) else {
        return error(StatusCode::BAD_REQUEST, MISSING_CERTIFICATE_FIELDS);
    };
    match openedx_webhooks::certificate_webhook(&state.services, &email, &course_id).await {
        Ok(outcome) => {
            let created =
                matches!(outcome, CertificateWebhookOutcome::Processed { created } if created > 0);
            tracing::info!(caller = %caller.name, run = %course_id, ?outcome, created, "certificate webhook");
            StatusCode::OK.into_response()
        }
        Err(
            err @ (CertificateWebhookError::UserNotFound(_)
            | CertificateWebhookError::RunNotFound(_)),
        ) => error(StatusCode::NOT_FOUND, err.to_string()),
        Err(CertificateWebhookError::Store(err)) => ApiError::from(err).into_response(),
    }
}
