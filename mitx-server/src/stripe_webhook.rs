//! `POST /webhook/stripe/` (ecommerce spec 5.7): the Stripe webhook. The workflow
//! (`mitx_services::stripe_webhook`) verifies the `Stripe-Signature`, logs the event and
//! settles the order; this module passes the raw body through and renders the answer.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mitx_services::stripe_webhook::{self, StripeWebhookError};

use crate::{ApiError, AppState};

/// The largest event accepted (Stripe events are a few kilobytes).
const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhook/stripe/", post(stripe_webhook))
        .layer(axum::extract::DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
}

#[utoipa::path(post, operation_id = "stripe_webhook", path = "/webhook/stripe/", tag = "checkout",
    request_body(content = String, description = "A Stripe event, signed in the `Stripe-Signature` header", content_type = "application/json"),
    responses((status = 200, description = "The event was logged (and applied to its order when it settles one)"),
        (status = 400, description = "Missing or invalid `Stripe-Signature`, or no webhook secret is configured", body = crate::openapi::Detail)))]
async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match stripe_webhook::handle(&state.services, &body, signature).await {
        Ok(outcome) => {
            tracing::debug!(?outcome, "Stripe webhook handled");
            Ok((StatusCode::OK, Json(serde_json::json!({}))).into_response())
        }
        Err(err @ StripeWebhookError::Signature(_)) => {
            tracing::warn!(error = %err, "Stripe webhook refused");
            Err(ApiError::BadRequestBody(
                serde_json::json!({ "detail": err.to_string() }),
            ))
        }
        Err(err) => Err(ApiError::from_fault(err.fault(), &err)),
    }
}
