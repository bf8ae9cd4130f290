//! The HTML form enrollment `POST /enrollments/` (courses spec 2.6): field `run` (numeric
//! id); the answer is a redirect with a `user-message` cookie (URL-encoded JSON, max-age
//! 20 s), or, with the field `isapi`, 200 with the text `Ok` / `Fail`.
//!
//! The workflow is `mitx_services::enrollment::enroll_via_form`: it refuses what the JSON
//! API refuses (unknown or B2B runs go back to the Referer without a message, closed or
//! non-live runs with `enroll-failed`), then applies the form's own checks and the same core
//! routine as the API.
//!
//! A successful enrollment in a run that has a product also ensures a pending order for
//! that product (`mitx_services::checkout::ensure_pending_order`), unless the learner
//! already holds a fulfilled order for its newest snapshot.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mitx_core::enrollment::{FormEnrollResponse, FormRedirect};
use mitx_core::ids::CourseRunId;
use mitx_services::enrollment;

use crate::auth::AuthUser;
use crate::body;
use crate::{ApiError, AppState};

/// The cookie carrying the message to show on the next page.
pub const USER_MESSAGE_COOKIE: &str = "user-message";

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    // A form post carries one run id: a small limit whatever MITX_HTTP_MAX_BODY_BYTES is.
    Router::new()
        .route("/enrollments/", post(enroll))
        .layer(axum::extract::DefaultBodyLimit::max(FORM_BODY_LIMIT))
}

/// The largest form body accepted.
pub const FORM_BODY_LIMIT: usize = 8 * 1024;

/// Percent-encodes everything but unreserved characters (what the browser side decodes
/// with `decodeURIComponent`).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The redirect target: the `Referer` for [`FormRedirect::Referer`] (or `/` without one),
/// `/dashboard/` otherwise. Only a site-relative path of the Referer is used, so the form
/// cannot be made to redirect elsewhere.
fn location(redirect: FormRedirect, headers: &HeaderMap) -> String {
    match redirect {
        FormRedirect::Dashboard => "/dashboard/".to_owned(),
        FormRedirect::Referer => {
            let referer = headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("/");
            let path = match referer.split_once("://") {
                Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
                None => referer,
            };
            if path.starts_with('/') && !path.starts_with("//") {
                path.to_owned()
            } else {
                "/".to_owned()
            }
        }
    }
}

fn respond(outcome: &FormEnrollResponse, headers: &HeaderMap, api: bool) -> Response {
    let mut response = if api {
        (StatusCode::OK, outcome.api_text).into_response()
    } else {
        let target = location(outcome.redirect, headers);
        let mut response = StatusCode::FOUND.into_response();
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    };
    if let Some(message) = &outcome.message
        && let Ok(json) = serde_json::to_string(message)
    {
        let cookie = format!(
            "{USER_MESSAGE_COOKIE}={}; Max-Age=20; Path=/",
            url_encode(&json)
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[utoipa::path(post, operation_id = "form_enroll", path = "/enrollments/", tag = "enrollments",
    request_body(content = crate::openapi::FormEnrollmentRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 302, description = "To /dashboard/ or back to the Referer, with the `user-message` cookie"), (status = 200, description = "With `isapi`: `Ok` or `Fail` (text)", body = String), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn enroll(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let api = body::form_has(&raw, "isapi");
    let requested = body::form_value(&raw, "run")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(CourseRunId);
    let outcome = enrollment::enroll_via_form(&state.services, user.id, requested)
        .await
        .map_err(crate::enrollments::enrollment_error)?;
    Ok(respond(&outcome, &headers, api))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_url_encoded() {
        assert_eq!(
            url_encode(r#"{"type":"enrolled","run":"Intro & more"}"#),
            "%7B%22type%22%3A%22enrolled%22%2C%22run%22%3A%22Intro%20%26%20more%22%7D"
        );
    }

    #[test]
    fn referer_redirects_stay_on_site() {
        let mut headers = HeaderMap::new();
        assert_eq!(location(FormRedirect::Referer, &headers), "/");
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("https://mitxonline.mit.edu/courses/x/?a=1"),
        );
        assert_eq!(location(FormRedirect::Referer, &headers), "/courses/x/?a=1");
        headers.insert(header::REFERER, HeaderValue::from_static("//evil.example/"));
        assert_eq!(location(FormRedirect::Referer, &headers), "/");
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(location(FormRedirect::Referer, &headers), "/");
        assert_eq!(location(FormRedirect::Dashboard, &headers), "/dashboard/");
    }
}
