//! Every error answer is JSON, including the ones the framework and the connection layer
//! produce before a handler runs: unknown paths (404), wrong methods (405), bodies over the
//! route's limit (413), bodies not received in time (408), unsupported media types (415),
//! query strings the extractors refuse (400), over-long URIs (414) and header sections
//! (431), and panics (500). Handler errors are already JSON and pass through untouched.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The longest request target accepted (414 above it).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The largest header section accepted (431 above it): names, values and separators.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields accepted (431 above it).
pub const MAX_HEADER_COUNT: usize = 100;
/// Rejection texts longer than this are not quoted back.
const MAX_QUOTED: usize = 300;

/// A request body that records whether it was read to its end.
struct Tracked {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.finished.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The middleware: refuse over-long request heads, then make any non-JSON error answer JSON.
/// An answer given before the request body was read to its end (a 413, a 404 for a
/// DELETE with a body) closes the connection and says so (`Connection: close`): the rest
/// of the body would otherwise be read as the next request, and a client reusing the
/// connection would see it reset.
pub async fn layer(request: Request, next: Next) -> Response {
    if let Some(refusal) = refuse_head(&request) {
        return refusal;
    }
    let finished = Arc::new(AtomicBool::new(http_body::Body::is_end_stream(
        request.body(),
    )));
    let request = {
        let finished = finished.clone();
        request.map(|inner| Body::new(Tracked { inner, finished }))
    };
    let mut response = answer(request, next).await;
    if !finished.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn answer(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || method == Method::HEAD
        || is_json(&response)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Framework rejection bodies are short texts; a longer one is not read.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .unwrap_or_default();
    let (status, body) = json_body(status, &method, content_type.as_deref(), text.trim());
    // The original's headers (Allow, Cache-Control, ...) and extensions (the matched route,
    // for the metrics) stay; only the status, the body and its type change.
    let mut parts = parts;
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body.to_string()))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn detail(text: impl Into<String>) -> Value {
    json!({ "detail": text.into() })
}

/// The JSON answer for a non-JSON error answer of `status` whose text was `text`.
fn json_body(
    status: StatusCode,
    method: &Method,
    content_type: Option<&str>,
    text: &str,
) -> (StatusCode, Value) {
    let quoted = if text.len() > MAX_QUOTED {
        "The request could not be read."
    } else {
        text
    };
    match status {
        StatusCode::NOT_FOUND => (status, detail("Not found.")),
        StatusCode::METHOD_NOT_ALLOWED => (
            status,
            detail(format!("Method \"{}\" not allowed.", method.as_str())),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (status, detail("Request body is too large.")),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            status,
            detail(format!(
                "Unsupported media type \"{}\" in request.",
                content_type.unwrap_or("")
            )),
        ),
        // The body-timeout layer's error reaches the body extractors as a read failure.
        StatusCode::BAD_REQUEST if text.contains("designated timeout") => (
            StatusCode::REQUEST_TIMEOUT,
            detail("The request body was not received in time."),
        ),
        // Extractor rejections (query strings, bodies): DRF answers these as 400.
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => (
            StatusCode::BAD_REQUEST,
            json!({ "errors": { "non_field_errors": [if quoted.is_empty() { "Bad request." } else { quoted }] } }),
        ),
        StatusCode::REQUEST_TIMEOUT => (status, detail("The request was not received in time.")),
        s if s.is_server_error() => (s, detail("A server error occurred.")),
        s => (
            s,
            detail(s.canonical_reason().unwrap_or("The request was refused.")),
        ),
    }
}

/// 414 or 431 for a request head over the limits (hyper reads up to its own, larger,
/// buffer; beyond that it closes the connection with an empty answer).
fn refuse_head(request: &Request) -> Option<Response> {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Some(
            (
                StatusCode::URI_TOO_LONG,
                Json(detail(format!(
                    "Request URI is too long ({uri_len} bytes; at most {MAX_URI_BYTES})."
                ))),
            )
                .into_response(),
        );
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes > MAX_HEADER_BYTES || headers.len() > MAX_HEADER_COUNT {
        return Some(
            (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                Json(detail(format!(
                    "Request header fields are too large (at most {MAX_HEADER_COUNT} fields and {MAX_HEADER_BYTES} bytes)."
                ))),
            )
                .into_response(),
        );
    }
    None
}

/// The 404 of a path no route declares.
pub async fn unknown_route() -> Response {
    let mut response = (StatusCode::NOT_FOUND, Json(detail("Not found."))).into_response();
    response
        .headers_mut()
        .insert("x-mitx-route", HeaderValue::from_static("none"));
    response
}

/// A handler panic answers a JSON 500 (the panic is logged).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %message, "a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(detail("A server error occurred.")),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_become_the_documented_shapes() {
        let get = Method::GET;
        let cases = [
            (404, "", 404, json!({"detail": "Not found."})),
            (
                405,
                "",
                405,
                json!({"detail": "Method \"GET\" not allowed."}),
            ),
            (
                413,
                "length limit exceeded",
                413,
                json!({"detail": "Request body is too large."}),
            ),
            (
                400,
                "Failed to deserialize query string",
                400,
                json!({"errors": {"non_field_errors": ["Failed to deserialize query string"]}}),
            ),
            (
                422,
                "",
                400,
                json!({"errors": {"non_field_errors": ["Bad request."]}}),
            ),
            (
                400,
                "Failed to buffer the request body: data was not received within the designated timeout",
                408,
                json!({"detail": "The request body was not received in time."}),
            ),
            (
                500,
                "boom",
                500,
                json!({"detail": "A server error occurred."}),
            ),
            (
                415,
                "",
                415,
                json!({"detail": "Unsupported media type \"text/plain\" in request."}),
            ),
        ];
        for (status, text, want_status, want) in cases {
            let (got_status, got) = json_body(
                StatusCode::from_u16(status).unwrap(),
                &get,
                Some("text/plain"),
                text,
            );
            assert_eq!(
                (got_status.as_u16(), got),
                (want_status, want),
                "{status} {text}"
            );
        }
    }
}
