//! Learners' own edX API tokens (courses spec 4.2 "Per-user"). A stored access token is
//! used while it has more than 60 s left; otherwise it is refreshed with edX's OAuth
//! client, under the learner's lease so two requests never spend one refresh token twice.
//!
//! The first token comes from logging the learner in to edX through mitx's own OAuth2
//! provider, which this version does not have: a learner without stored tokens (for
//! example one whose tokens were not migrated from the original) gets a clear error.

use chrono::Duration;
use mitx_core::ids::UserId;
use mitx_store::StoreError;
use mitx_store::openedx::EdxApiAuth;

use super::client::{EdxError, is_invalid_grant};
use crate::Services;
use crate::leases::{self, LeaseError};

/// Why no learner token is available.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// None stored.
    #[error(
        "the learner has no Open edX API token; mitx obtains a first token only through its own OAuth2 provider, which this version does not have"
    )]
    NoToken,
    /// The refresh token was refused (`invalid_grant`); the stored tokens were cleared.
    #[error(
        "the learner's Open edX refresh token is no longer valid; a new one needs mitx's OAuth2 provider, which this version does not have"
    )]
    Revoked,
    /// edX failed.
    #[error(transparent)]
    Edx(#[from] EdxError),
    /// Another request is refreshing it.
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A valid access token of the learner, refreshed when it expires within 60 s.
pub async fn access_token(services: &Services, user: UserId) -> Result<String, TokenError> {
    if let Some(token) = usable(services, services.store().edx_api_auth(user).await?) {
        return Ok(token);
    }
    let lease = leases::acquire(
        services,
        format!("edx-token:{}", user.0),
        leases::LEASE_WAIT,
    )
    .await?;
    let result = refresh(services, user, &lease).await;
    if result.is_err() {
        lease.release(services).await;
    }
    result
}

fn usable(services: &Services, auth: Option<EdxApiAuth>) -> Option<String> {
    let auth = auth?;
    let expires = auth.access_token_expires_on?;
    (expires > services.now() + Duration::seconds(60))
        .then_some(auth.access_token)
        .flatten()
}

async fn refresh(
    services: &Services,
    user: UserId,
    lease: &leases::Lease,
) -> Result<String, TokenError> {
    let auth = services.store().edx_api_auth(user).await?;
    if let Some(token) = usable(services, auth.clone()) {
        let mut tx = services.db().begin().await?;
        lease.release_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(token);
    }
    let Some(auth) = auth.filter(|a| !a.refresh_token.is_empty()) else {
        return Err(TokenError::NoToken);
    };
    match services.edx().refresh_token(&auth.refresh_token).await {
        Ok(tokens) => {
            let now = services.now();
            let fresh = EdxApiAuth {
                refresh_token: tokens.refresh_token,
                access_token: Some(tokens.access_token.clone()),
                access_token_expires_on: Some(now + Duration::seconds(tokens.expires_in - 10)),
            };
            let mut tx = services.db().begin().await?;
            tx.save_edx_api_auth(user, &fresh, now).await?;
            lease.release_in(&mut tx).await?;
            tx.commit().await?;
            Ok(tokens.access_token)
        }
        Err(err) if is_invalid_grant(&err) => {
            let blank = EdxApiAuth {
                refresh_token: String::new(),
                access_token: None,
                access_token_expires_on: None,
            };
            let mut tx = services.db().begin().await?;
            tx.save_edx_api_auth(user, &blank, services.now()).await?;
            lease.release_in(&mut tx).await?;
            tx.commit().await?;
            Err(TokenError::Revoked)
        }
        Err(err) => Err(err.into()),
    }
}
