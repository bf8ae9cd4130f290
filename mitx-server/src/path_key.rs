//! The path parameter of detail routes.

use crate::ApiError;

/// The one path parameter of a detail route, as text. A parameter axum cannot
/// decode (not UTF-8 after percent-decoding, e.g. `/api/v1/courses/%FF/`) is 404
/// `{"detail": "Not found."}`, as the original answers for an id no object has, instead of
/// axum's plain-text 400.
#[derive(Debug)]
pub struct PathKey(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(key)| PathKey(key))
            .map_err(|_| ApiError::not_found())
    }
}

/// The two path parameters of a nested detail route (the parent's, then the item's), as
/// text; undecodable parameters are 404 `{"detail": "Not found."}`, as for [`PathKey`].
#[derive(Debug)]
pub struct PathPair(pub String, pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathPair {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path((parent, item))| PathPair(parent, item))
            .map_err(|_| ApiError::not_found())
    }
}
