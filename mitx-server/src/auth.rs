//! Who is asking: the API gateway's `X-Userinfo` header (integrations spec 3.2–3.3).
//!
//! The header is base64 of a JSON object of OIDC claims. It is trusted only when
//! [`AppState::gateway_enabled`] is set (`MITOL_APIGATEWAY_DISABLE_MIDDLEWARE=false`);
//! otherwise it is ignored and every request is anonymous (sessions, OAuth2 bearer tokens
//! and service tokens are not implemented yet). The decisions come from
//! `mitx_core::users::gateway`; this module only decodes the header, gathers the facts and
//! applies the decision through the store:
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
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::Utc;
use mitx_core::ids::UserId;
use mitx_core::users::gateway::{
    AnonymousReason, GatewayClaims, GatewayDecision, GatewayHeader, GatewayLookup, GatewaySettings,
    GatewayStep, decide_gateway_user, gateway_step,
};
use mitx_store::StoreError;
use mitx_store::users::{User, UserKey};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// The header the gateway sets.
pub const USERINFO_HEADER: &str = "x-userinfo";

/// The DRF message for anonymous requests to protected endpoints.
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

/// The signed-in user, if any (public endpoints).
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Option<User>);

/// The signed-in user; anonymous requests are refused with 403.
#[derive(Clone, Debug)]
pub struct AuthUser(pub User);

/// The resolution cached in the request's extensions, so it runs once per request.
#[derive(Clone, Debug)]
struct Resolved(Option<User>);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(Resolved(user)) = parts.extensions.get::<Resolved>() {
            return Ok(CurrentUser(user.clone()));
        }
        let user = resolve(&parts.headers, state).await?;
        parts.extensions.insert(Resolved(user.clone()));
        Ok(CurrentUser(user))
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match CurrentUser::from_request_parts(parts, state).await?.0 {
            Some(user) => Ok(AuthUser(user)),
            None => Err(ApiError::Forbidden(NOT_AUTHENTICATED.into())),
        }
    }
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

/// The gateway settings for this server.
fn settings(state: &AppState) -> GatewaySettings {
    GatewaySettings {
        disabled: !state.gateway_enabled,
        ..GatewaySettings::default()
    }
}

/// Resolves the request's user from the gateway header, creating or updating it.
async fn resolve(headers: &HeaderMap, state: &AppState) -> Result<Option<User>, ApiError> {
    let settings = settings(state);
    let header = decode_userinfo(headers);
    let subject = match gateway_step(&settings, &header) {
        GatewayStep::Ignore | GatewayStep::Anonymous(_) => return Ok(None),
        GatewayStep::BadRequest => {
            return Err(ApiError::BadRequestBody(json!({
                "detail": "Invalid X-Userinfo header: expected base64-encoded JSON claims."
            })));
        }
        GatewayStep::LookUp(subject) => subject,
    };
    let GatewayHeader::Decoded(claims) = header else {
        return Ok(None);
    };
    // Later attempts cover a concurrent request creating the same subject first: its insert
    // makes ours fail, or its commit lands between our lookups (the subject unseen, but its
    // username or email already taken), so the claims are looked up and decided again.
    for attempt in 1..=ATTEMPTS {
        match apply_claims(state, &settings, &claims, &subject).await {
            Ok(Attempt::User(id)) => return load_user(state, id).await,
            Ok(Attempt::Anonymous) => return Ok(None),
            Ok(Attempt::Taken) if attempt < ATTEMPTS => {}
            Ok(Attempt::Taken) => return Ok(None),
            Err(StoreError::Conflict(cause)) => {
                tracing::info!(%cause, attempt, "gateway claims not applied");
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(None)
}

/// How many times the claims are looked up and applied.
const ATTEMPTS: usize = 3;

/// The result of one attempt.
enum Attempt {
    /// Log this user in.
    User(UserId),
    /// The request is anonymous.
    Anonymous,
    /// Anonymous because another account holds the username or email: final unless a
    /// concurrent creation of this very subject explains it (then the next lookup finds it).
    Taken,
}

/// Applies one decision.
async fn apply_claims(
    state: &AppState,
    settings: &GatewaySettings,
    claims: &GatewayClaims,
    subject: &str,
) -> Result<Attempt, StoreError> {
    let facts = state
        .store
        .gateway_facts(
            subject,
            claims.preferred_username.as_deref(),
            claims.email.as_deref(),
        )
        .await?;
    let lookup = GatewayLookup {
        existing: facts.existing.as_ref(),
        username_owner: facts.username_owner,
        email_owner: facts.email_owner,
    };
    let now = Utc::now();
    match decide_gateway_user(settings, claims, &lookup) {
        GatewayDecision::Create(new) => {
            let id = state.store.create_gateway_user(&new, now).await?;
            Ok(Attempt::User(id))
        }
        GatewayDecision::Update {
            user_id,
            changes,
            authenticate,
        } => {
            state
                .store
                .update_gateway_user(user_id, &changes, now)
                .await?;
            Ok(if authenticate {
                Attempt::User(user_id)
            } else {
                Attempt::Anonymous
            })
        }
        GatewayDecision::Authenticate(user_id) => Ok(Attempt::User(user_id)),
        GatewayDecision::Anonymous(
            reason @ (AnonymousReason::UsernameTaken | AnonymousReason::EmailTaken),
        ) if facts.existing.is_none() => {
            tracing::debug!(?reason, "gateway claims collide with another account");
            Ok(Attempt::Taken)
        }
        GatewayDecision::Anonymous(reason) => {
            tracing::debug!(?reason, "gateway request stays anonymous");
            Ok(Attempt::Anonymous)
        }
    }
}

async fn load_user(state: &AppState, id: UserId) -> Result<Option<User>, ApiError> {
    let user = state.store.find_user(&UserKey::Id(id.0)).await?;
    Ok(user.filter(|u| u.id == id && u.is_active))
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
}
