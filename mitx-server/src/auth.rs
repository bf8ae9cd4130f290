//! Who is asking: a service token of a machine client, or the API gateway's `X-Userinfo`
//! header (integrations spec 3.2–3.3).
//!
//! **Service tokens.** `Authorization: Bearer mitx_…` or `Authorization: Api-Key mitx_…`
//! (scheme case-insensitive) names a service token created with `mitx tokens create`; it is
//! looked up by the SHA-256 of the secret. An unknown, malformed or revoked `mitx_` token
//! answers 401 `{"detail": "Invalid token."}` with `WWW-Authenticate: Bearer realm="api"`.
//! A valid one makes the request a [`ServiceCaller`] (its name and scopes); the gateway
//! header is then not consulted, public endpoints see the request as anonymous, and
//! learner endpoints ([`AuthUser`]) answer 403 `{"detail": "Service tokens cannot act as
//! a learner."}`. Any other `Authorization` value (another scheme, a bearer token without
//! the `mitx_` prefix, bytes that are not visible ASCII) is ignored: OAuth2 provider
//! tokens and sessions are not implemented.
//!
//! **Gateway header.** The header is base64 of a JSON object of OIDC claims. It is trusted
//! only when `MITOL_APIGATEWAY_DISABLE_MIDDLEWARE=false`; otherwise it is ignored and every
//! request without a service token is anonymous. This module only decodes the header; the
//! gateway-user workflow (`mitx_services::gateway_user`) decides and writes:
//!
//! * a header that is not base64 or not a JSON object of claims → 400, nothing written;
//! * no header, or claims without `sub` → anonymous;
//! * unknown subject → user created (with empty profile and legal-address rows);
//! * known subject → claims applied (email always, name only while empty);
//! * claims that cannot be applied (missing email, taken username…) or an inactive
//!   account → anonymous, nothing written.
//!
//! [`CurrentUser`] is the optional user (public endpoints); [`AuthUser`] answers 403
//! `{"detail": "Authentication credentials were not provided."}` for anonymous requests,
//! as DRF does when session authentication comes first.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mitx_core::users::gateway::{GatewayClaims, GatewayHeader};
use mitx_services::gateway_user::{self, GatewayUserError};
use mitx_services::service_tokens;
use mitx_services::store::StoreError;
use mitx_services::store::service_tokens::{
    TOKEN_PREFIX, TOUCH_INTERVAL_SECONDS, is_well_formed_token, token_hash,
};
use mitx_services::store::users::User;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// The header the gateway sets.
pub const USERINFO_HEADER: &str = "x-userinfo";

/// The DRF message for anonymous requests to protected endpoints.
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

/// The message for an unknown, malformed or revoked service token (401).
pub const INVALID_TOKEN: &str = "Invalid token.";

/// The message of learner endpoints to service callers (403).
pub const SERVICE_NOT_LEARNER: &str = "Service tokens cannot act as a learner.";

/// The DRF message for a caller lacking a permission (403).
pub const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";

/// The `WWW-Authenticate` challenge of a 401.
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"api\"";

/// The signed-in user, if any (public endpoints).
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Option<User>);

/// The signed-in user; anonymous requests are refused with 403.
#[derive(Clone, Debug)]
pub struct AuthUser(pub User);

/// A machine client authenticated by a service token; requests without one are refused
/// with 403 `{"detail": "Authentication credentials were not provided."}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceCaller {
    /// The token's name.
    pub name: String,
    /// The token's scopes.
    pub scopes: Vec<String>,
}

impl ServiceCaller {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// 403 `{"detail": "You do not have permission to perform this action."}` unless the
    /// token carries `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(PERMISSION_DENIED.into()))
        }
    }
}

/// Why authentication refused a request.
#[derive(Debug)]
pub enum AuthRejection {
    /// 401 `{"detail": "Invalid token."}` with `WWW-Authenticate: Bearer realm="api"`.
    InvalidToken,
    /// Any other refusal (403, 400, or a 500 for a database failure).
    Api(ApiError),
}

impl From<ApiError> for AuthRejection {
    fn from(err: ApiError) -> Self {
        AuthRejection::Api(err)
    }
}

impl From<StoreError> for AuthRejection {
    fn from(err: StoreError) -> Self {
        AuthRejection::Api(err.into())
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::InvalidToken => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({ "detail": INVALID_TOKEN })),
                )
                    .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(BEARER_CHALLENGE),
                );
                response
            }
            AuthRejection::Api(err) => err.into_response(),
        }
    }
}

/// The resolution cached in the request's extensions, so it runs once per request.
#[derive(Clone, Debug)]
struct Resolved(Option<User>);

/// The service-token resolution cached in the request's extensions.
#[derive(Clone, Debug)]
struct ServiceResolved(Option<ServiceCaller>);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        if let Some(Resolved(user)) = parts.extensions.get::<Resolved>() {
            return Ok(CurrentUser(user.clone()));
        }
        // A machine client is nobody's session: public endpoints see it as anonymous.
        let user = if service_caller(parts, state).await?.is_some() {
            None
        } else {
            // The header is an ambient credential: refuse cross-site use before it is
            // resolved (which may create the user).
            crate::csrf::check(parts, state)?;
            resolve(&parts.headers, state).await?
        };
        parts.extensions.insert(Resolved(user.clone()));
        Ok(CurrentUser(user))
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        match CurrentUser::from_request_parts(parts, state).await?.0 {
            Some(user) => Ok(AuthUser(user)),
            None if service_caller(parts, state).await?.is_some() => {
                Err(ApiError::Forbidden(SERVICE_NOT_LEARNER.into()).into())
            }
            None => Err(ApiError::Forbidden(NOT_AUTHENTICATED.into()).into()),
        }
    }
}

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        service_caller(parts, state)
            .await?
            .ok_or_else(|| ApiError::Forbidden(NOT_AUTHENTICATED.into()).into())
    }
}

/// The service token offered by the `Authorization` header, if any: the credentials of a
/// `Bearer` or `Api-Key` scheme (case-insensitive) that start with `mitx_`. Anything else
/// (no header, bytes that are not visible ASCII, another scheme, another kind of bearer
/// token) is not a service token and is ignored.
pub fn offered_service_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(|c: char| c.is_ascii_whitespace())?;
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("api-key");
    let credentials = credentials.trim();
    (known && credentials.starts_with(TOKEN_PREFIX)).then_some(credentials)
}

/// The request's service caller: `None` without a service token, 401 for an unknown,
/// malformed or revoked one. Resolved once per request; a valid token's `last_used_on` is
/// refreshed at most once a minute (a failure there is logged, not fatal).
pub async fn service_caller(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<ServiceCaller>, AuthRejection> {
    if let Some(ServiceResolved(caller)) = parts.extensions.get::<ServiceResolved>() {
        return Ok(caller.clone());
    }
    let caller = match offered_service_token(&parts.headers) {
        None => None,
        Some(secret) if !is_well_formed_token(secret) => {
            return Err(AuthRejection::InvalidToken);
        }
        Some(secret) => {
            let token = state
                .store
                .find_active_service_token(&token_hash(secret))
                .await?
                .ok_or(AuthRejection::InvalidToken)?;
            if token.last_used_on.is_none_or(|at| {
                at + chrono::Duration::seconds(TOUCH_INTERVAL_SECONDS) <= state.services.now()
            }) {
                service_tokens::record_use(&state.services, token.id, &token.name).await;
            }
            Some(ServiceCaller {
                name: token.name,
                scopes: token.scopes,
            })
        }
    };
    parts.extensions.insert(ServiceResolved(caller.clone()));
    Ok(caller)
}

/// Reads the `X-Userinfo` header: absent, undecodable, or the claims.
pub fn decode_userinfo(headers: &HeaderMap) -> GatewayHeader {
    let Some(value) = headers.get(USERINFO_HEADER) else {
        return GatewayHeader::Absent;
    };
    let Ok(text) = value.to_str() else {
        return GatewayHeader::Undecodable;
    };
    let text = text.trim();
    if text.is_empty() {
        return GatewayHeader::Absent;
    }
    let Some(bytes) = base64_decode(text) else {
        return GatewayHeader::Undecodable;
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(object @ Value::Object(_)) => match serde_json::from_value::<GatewayClaims>(object) {
            Ok(claims) => GatewayHeader::Decoded(claims),
            Err(_) => GatewayHeader::Undecodable,
        },
        _ => GatewayHeader::Undecodable,
    }
}

/// Standard base64 (RFC 4648 alphabet, `=` padding optional); `None` when invalid.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = text.trim_end_matches('=');
    let padding = text.len() - trimmed.len();
    if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) {
        return None;
    }
    let bytes = trimmed.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut acc: u32 = 0;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let [_, b0, b1, b2] = acc.to_be_bytes();
        out.push(b0);
        if chunk.len() > 2 {
            out.push(b1);
        }
        if chunk.len() > 3 {
            out.push(b2);
        }
    }
    Some(out)
}

/// Resolves the request's user from the gateway header, creating or updating it through
/// the gateway-user workflow.
async fn resolve(headers: &HeaderMap, state: &AppState) -> Result<Option<User>, ApiError> {
    let header = decode_userinfo(headers);
    match gateway_user::resolve(&state.services, &header).await {
        Ok(user) => Ok(user),
        Err(err @ GatewayUserError::BadHeader) => Err(ApiError::BadRequestBody(
            json!({ "detail": err.to_string() }),
        )),
        Err(err) => Err(ApiError::from_fault(err.fault(), &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode("").as_deref(), Some(&b""[..]));
        assert_eq!(base64_decode("not-base64!!"), None);
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("aGk==="), None);
    }

    #[test]
    fn service_tokens_are_read_from_bearer_and_api_key_only() {
        let offered = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_bytes(value).unwrap(),
            );
            offered_service_token(&headers).map(str::to_owned)
        };
        assert_eq!(offered(b"Bearer mitx_abc").as_deref(), Some("mitx_abc"));
        assert_eq!(offered(b"api-key  mitx_abc ").as_deref(), Some("mitx_abc"));
        assert_eq!(offered(b"BEARER\tmitx_").as_deref(), Some("mitx_"));
        assert_eq!(offered(b"Bearer oauth2-token"), None);
        assert_eq!(offered(b"Basic mitx_abc"), None);
        assert_eq!(offered(b"mitx_abc"), None);
        assert_eq!(offered(b"Bearer"), None);
        assert_eq!(offered(b"Bearer mitx_\xff"), None);
        assert_eq!(offered_service_token(&HeaderMap::new()), None);
    }
}
