//! ETags for catalog responses: a repeated pull of an unchanged catalog answers 304.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::http::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The entity tag of a body (weak: equal JSON text, equal tag).
pub fn tag(body: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    format!("W/\"{:016x}\"", hasher.finish())
}

/// Renders `value` as JSON with an ETag, or 304 when the request's `If-None-Match` holds
/// the same tag.
pub fn json_with_etag<T: serde::Serialize>(request_headers: &HeaderMap, value: &T) -> Response {
    let body = match serde_json::to_vec(value) {
        Ok(body) => body,
        Err(err) => return crate::ApiError::Internal(err.to_string()).into_response(),
    };
    let etag = tag(&body);
    let matches = request_headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            candidate == "*"
                || candidate == etag
                || candidate.trim_start_matches("W/") == etag.trim_start_matches("W/")
        });
    let etag_value =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag_value)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (ETAG, etag_value),
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_body_same_tag() {
        assert_eq!(tag(b"{}"), tag(b"{}"));
        assert_ne!(tag(b"{}"), tag(b"[]"));
        assert!(tag(b"x").starts_with("W/\""));
    }

    #[test]
    fn if_none_match_gives_304() {
        let value = serde_json::json!({"a": 1});
        let tag = tag(&serde_json::to_vec(&value).unwrap());
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, HeaderValue::from_str(&tag).unwrap());
        assert_eq!(
            json_with_etag(&headers, &value).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            json_with_etag(&HeaderMap::new(), &value).status(),
            StatusCode::OK
        );
    }
}
