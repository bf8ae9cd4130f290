//! The API's error type and its JSON bodies.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
    /// 500; the cause is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

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

impl From<mitx_store::StoreError> for ApiError {
    fn from(err: mitx_store::StoreError) -> Self {
        match err {
            mitx_store::StoreError::NotFound { .. } => ApiError::not_found(),
            other => ApiError::Internal(other.to_string()),
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
