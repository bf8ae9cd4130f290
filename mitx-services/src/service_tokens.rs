//! Service tokens for machine clients (`mitx tokens create|revoke`, and recording a
//! token's use when it authenticates a request).

use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::service_tokens::{NewServiceToken, ServiceToken, TokenRevocation};

use crate::Services;

/// Stores a new token (its hash only) with an audit row. A name or secret already in use
/// is a [`StoreError::Conflict`].
pub async fn create(
    services: &Services,
    new: &NewServiceToken,
    audit: &Audit,
) -> Result<ServiceToken, StoreError> {
    let mut tx = services.db().begin().await?;
    let token = tx.create_service_token(new, audit, services.now()).await?;
    tx.commit().await?;
    Ok(token)
}

/// Revokes the token `name` with an audit row (nothing written when already revoked).
pub async fn revoke(
    services: &Services,
    name: &str,
    audit: &Audit,
) -> Result<TokenRevocation, StoreError> {
    let mut tx = services.db().begin().await?;
    let revocation = tx.revoke_service_token(name, audit, services.now()).await?;
    tx.commit().await?;
    Ok(revocation)
}

/// Records that token `id` authenticated a request (at most one write a minute per token).
/// Failures are logged: they never refuse the request.
pub async fn record_use(services: &Services, id: i64, name: &str) {
    let result = async {
        let mut tx = services.db().begin().await?;
        let wrote = tx.touch_service_token(id, services.now()).await?;
        tx.commit().await?;
        Ok::<bool, StoreError>(wrote)
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(%err, token = %name, "service token use not recorded");
    }
}
