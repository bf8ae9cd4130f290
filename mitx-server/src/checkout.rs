//! Checkout and the CyberSource returns (ecommerce spec 5.1, 5.3): the v0 JSON checkout,
//! the legacy interstitial that auto-posts the signed form, the browser return
//! `POST /checkout/result/` and the server-to-server `POST /api/checkout/result/`.
//!
//! The workflows are `mitx_services::checkout`; this module parses and renders.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use mitx_core::orders::{BrowserRedirect, UserMessage, payment_return_redirect};
use mitx_services::checkout::{self, CallbackResult, CheckoutError, Purchaser};
use mitx_services::store::users::User;

use crate::auth::AuthUser;
use crate::enrollment_form::USER_MESSAGE_COOKIE;
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/baskets/checkout/", get(v0_checkout))
        .route("/checkout/to_payment", get(to_payment))
        .route("/checkout/result/", get(result_get).post(result_post))
        .route("/api/checkout/result/", axum::routing::post(server_result))
        .layer(axum::extract::DefaultBodyLimit::max(CALLBACK_BODY_LIMIT))
}

/// The largest callback body accepted (CyberSource posts a few kilobytes).
pub const CALLBACK_BODY_LIMIT: usize = 64 * 1024;

fn checkout_error(err: &CheckoutError) -> ApiError {
    ApiError::from_fault(err.fault(), err)
}

async fn purchaser_of<'a>(
    state: &AppState,
    user: &User,
    peer: Option<&Extension<ConnectInfo<SocketAddr>>>,
    username: &'a mut Option<String>,
) -> Result<Purchaser<'a>, ApiError> {
    *username = state.store.edx_username(user.id).await?;
    Ok(Purchaser {
        user: user.id,
        edx_username: username.as_deref(),
        ip: peer.map(|Extension(ConnectInfo(addr))| addr.ip()),
    })
}

#[utoipa::path(get, operation_id = "baskets_checkout", path = "/api/v0/baskets/checkout/", tag = "baskets",
    responses((status = 200, description = "`{no_checkout, url, method, payload, order_id, error}`: the gateway form, or a free order already fulfilled"),
        (status = 400, description = "Validation failed: `error` names the check"),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn v0_checkout(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Response, ApiError> {
    let mut username = None;
    let purchaser = purchaser_of(&state, &user, peer.as_ref(), &mut username).await?;
    let result = checkout::checkout(&state.services, purchaser)
        .await
        .map_err(|e| checkout_error(&e))?;
    let status = StatusCode::from_u16(result.response.http_status()).unwrap_or(StatusCode::OK);
    Ok((status, Json(&result.response)).into_response())
}

/// A redirect with the `user-message` cookie (when the target has a message).
pub fn redirect_with_message(redirect: &BrowserRedirect) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(&redirect.location()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if let Some(message) = redirect.message() {
        set_message(&mut response, message);
    }
    response
}

fn set_message(response: &mut Response, message: &UserMessage) {
    if let Ok(json) = serde_json::to_string(message) {
        let cookie = format!(
            "{USER_MESSAGE_COOKIE}={}; Max-Age=20; Path=/",
            crate::enrollment_form::url_encode(&json)
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

#[utoipa::path(get, operation_id = "checkout_to_payment", path = "/checkout/to_payment", tag = "checkout",
    responses((status = 200, description = "HTML page auto-posting the signed form to CyberSource", body = String),
        (status = 302, description = "To /dashboard/ or /cart/ with the `user-message` cookie"),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn to_payment(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Response, ApiError> {
    let mut username = None;
    let purchaser = purchaser_of(&state, &user, peer.as_ref(), &mut username).await?;
    let result = checkout::checkout(&state.services, purchaser)
        .await
        .map_err(|e| checkout_error(&e))?;
    if let Some(rejection) = result.rejection {
        let message = UserMessage::plain(rejection.error_code());
        let redirect = match rejection.legacy_redirect_path() {
            "/dashboard/" => BrowserRedirect::Dashboard(message),
            _ => BrowserRedirect::Cart(message),
        };
        return Ok(redirect_with_message(&redirect));
    }
    if result.response.no_checkout {
        let title = checkout::first_line_title(&result.lines);
        let redirect = mitx_core::orders::zero_value_redirect(&title, None);
        return Ok(redirect_with_message(&redirect));
    }
    Ok(Html(auto_post_page(&result.response.url, &result.form)).into_response())
}

/// Escapes text for HTML attribute values and content.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The interstitial: a hidden form of every payload field, posted on load.
fn auto_post_page(url: &str, fields: &BTreeMap<String, String>) -> String {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape_html(k),
                escape_html(v)
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Redirecting to payment</title></head>\n\
         <body><p>Redirecting to the payment page…</p>\n\
         <form id=\"checkout-form\" method=\"post\" action=\"{}\">\n{inputs}\
         <noscript><button type=\"submit\">Continue to payment</button></noscript></form>\n\
         <script>document.getElementById('checkout-form').submit();</script>\n</body></html>\n",
        escape_html(url)
    )
}

fn posted_fields(raw: &[u8]) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw)
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default()
}

/// Refused callback signatures (the original intends 403 here).
pub const INVALID_SIGNATURE: &str = "Unable to validate request.";

#[utoipa::path(post, operation_id = "checkout_result", path = "/checkout/result/", tag = "checkout",
    responses((status = 302, description = "To /cart/ or /dashboard/ (or MIT Learn) by the order's state, with the `user-message` cookie"),
        (status = 200, description = "`Order not found` (text)", body = String),
        (status = 403, description = "Invalid signature", body = crate::openapi::Detail)))]
async fn result_post(State(state): State<AppState>, raw: Bytes) -> Result<Response, ApiError> {
    let fields = posted_fields(&raw);
    let result = checkout::cybersource_callback(&state.services, &fields)
        .await
        .map_err(|e| ApiError::from_fault(e.fault(), &e))?;
    Ok(match result {
        CallbackResult::InvalidSignature => {
            ApiError::Forbidden(INVALID_SIGNATURE.into()).into_response()
        }
        CallbackResult::OrderNotFound => (StatusCode::OK, "Order not found").into_response(),
        CallbackResult::Done {
            order,
            first_line_title,
            learn,
            ..
        } => redirect_with_message(&payment_return_redirect(
            order.state,
            &first_line_title,
            learn.as_ref(),
        )),
    })
}

#[utoipa::path(get, operation_id = "checkout_result_return", path = "/checkout/result/", tag = "checkout",
    responses((status = 302, description = "To /dashboard/ (the Stripe return)")))]
async fn result_get() -> Response {
    let mut response = StatusCode::FOUND.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/dashboard/"));
    response
}

#[utoipa::path(post, operation_id = "checkout_result_server", path = "/api/checkout/result/", tag = "checkout",
    responses((status = 200, description = "Processed, or no change for an order no longer pending"),
        (status = 401, description = "`{\"detail\": \"Unable to validate request.\"}`", body = crate::openapi::Detail),
        (status = 404, description = "No order for the reference", body = crate::openapi::Detail)))]
async fn server_result(State(state): State<AppState>, raw: Bytes) -> Result<Response, ApiError> {
    let fields = posted_fields(&raw);
    let result = checkout::cybersource_callback(&state.services, &fields)
        .await
        .map_err(|e| ApiError::from_fault(e.fault(), &e))?;
    Ok(match result {
        CallbackResult::InvalidSignature => {
            ApiError::Unauthorized(INVALID_SIGNATURE.into()).into_response()
        }
        CallbackResult::OrderNotFound => ApiError::not_found().into_response(),
        CallbackResult::Done { .. } => {
            (StatusCode::OK, Json(serde_json::json!({}))).into_response()
        }
    })
}
