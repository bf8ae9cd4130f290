//! The API's error type and its JSON bodies.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mitx_services::error::store_fault;
use mitx_services::{Fault, cause_chain};
use serde_json::{Value, json};

/// An error answer. Caller mistakes are 4xx with the original's body shapes; our own
/// failures are logged with their cause and answered 500 without details.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `{"errors": {field: message or [messages]}}`.
    #[error("validation failed")]
    Validation(BTreeMap<String, Value>),
    /// 400 with an arbitrary JSON body (endpoints whose original body differs).
    #[error("bad request")]
    BadRequestBody(Value),
    /// 401 `{"detail": ...}`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `{"detail": ...}`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `{"detail": ...}`.
    #[error("{0}")]
    NotFound(String),
    /// 503 with `Retry-After`: something is busy for a moment (the cause is logged).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500; the cause is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client is told to wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 2;

impl ApiError {
    /// A single field error (`{"errors": {field: message}}`).
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        let mut map = BTreeMap::new();
        map.insert(field.to_owned(), Value::String(message.into()));
        ApiError::Validation(map)
    }

    /// The DRF default 404.
    pub fn not_found() -> ApiError {
        ApiError::NotFound("Not found.".into())
    }
}

impl ApiError {
    /// The answer for a workflow error whose message is meant for the caller: 400 with
    /// `{"detail": message}` for the caller's fault, 404, 503, or 500 (logged, no detail).
    pub fn from_fault(fault: Fault, err: &dyn std::error::Error) -> ApiError {
        match fault {
            Fault::Caller => ApiError::BadRequestBody(json!({ "detail": err.to_string() })),
            Fault::NotFound => ApiError::NotFound(err.to_string()),
            Fault::Busy => ApiError::Unavailable(cause_chain(err)),
            Fault::Internal => ApiError::Internal(cause_chain(err)),
        }
    }
}

impl From<mitx_services::store::StoreError> for ApiError {
    fn from(err: mitx_services::store::StoreError) -> Self {
        match store_fault(&err) {
            Fault::NotFound => ApiError::not_found(),
            Fault::Busy => ApiError::Unavailable(cause_chain(&err)),
            Fault::Caller | Fault::Internal => ApiError::Internal(cause_chain(&err)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Validation(errors) => (StatusCode::BAD_REQUEST, json!({ "errors": errors })),
            ApiError::BadRequestBody(body) => (StatusCode::BAD_REQUEST, body),
            ApiError::Unauthorized(detail) => {
                (StatusCode::UNAUTHORIZED, json!({ "detail": detail }))
            }
            ApiError::Forbidden(detail) => (StatusCode::FORBIDDEN, json!({ "detail": detail })),
            ApiError::NotFound(detail) => (StatusCode::NOT_FOUND, json!({ "detail": detail })),
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "request answered 503");
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "detail": "The service is busy; try again shortly." })),
                )
                    .into_response();
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
                );
                return response;
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "detail": "A server error occurred." }),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
