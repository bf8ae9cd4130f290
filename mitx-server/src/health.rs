//! `/healthz` (the process answers) and `/readyz` (the database answers).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::AppState;

/// The health routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[utoipa::path(get, operation_id = "health_healthz", path = "/healthz", tag = "health", responses((status = 200, body = serde_json::Value, description = "The process answers")))]
async fn healthz() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, operation_id = "health_readyz", path = "/readyz", tag = "health", responses((status = 200, body = serde_json::Value, description = "The database answers"), (status = 503, body = serde_json::Value, description = "The database does not answer")))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, axum::Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({ "status": "ready", "database": state.store.backend().name() })),
        ),
        Err(err) => {
            tracing::warn!(%err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "unavailable" })),
            )
        }
    }
}
