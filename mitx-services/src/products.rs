//! Products (`mitx products create|deactivate`): one product per course run or program,
//! never deleted; every change appends a version snapshot and an audit row.

use mitx_core::ids::ProductId;
use mitx_core::money::Money;
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::products::{ProductTarget, ProductWrite};

use crate::Services;

/// Creates or updates the product of `target`.
pub async fn upsert(
    services: &Services,
    target: &ProductTarget,
    price: Money,
    description: &str,
    active: bool,
    audit: &Audit,
) -> Result<ProductWrite, StoreError> {
    let mut tx = services.db().begin().await?;
    let write = tx
        .upsert_product(target, price, description, active, audit, services.now())
        .await?;
    tx.commit().await?;
    Ok(write)
}

/// Deactivates a product (nothing written when already inactive).
pub async fn deactivate(
    services: &Services,
    id: ProductId,
    audit: &Audit,
) -> Result<ProductWrite, StoreError> {
    let mut tx = services.db().begin().await?;
    let write = tx.deactivate_product(id, audit, services.now()).await?;
    tx.commit().await?;
    Ok(write)
}
