//! The staff discount API's workflows (ecommerce spec 6): a generated batch
//! (`create_batch`, the rules of `discount_codes::plan_generation`), update with the
//! save-time checks, delete (tier-linked discounts refused), assignees and product links.
//! Every write is one unit of work with its audit row.

use mitx_core::ids::{DiscountId, ProductId, UserId};
use mitx_core::pricing::{CodeGenerationRequest, Discount, DiscountRecord};
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::discount_admin::{DiscountAssignment, DiscountProductLink};

use crate::Services;
use crate::discount_codes::{DiscountCodesError, plan_generation};
use crate::error::{Fault, store_fault};

/// Why a staff discount change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DiscountAdminError {
    /// Refused by the discount rules (generation, save-time checks, dates, codes).
    #[error(transparent)]
    Codes(#[from] DiscountCodesError),
    /// No discount has that id.
    #[error("No Discount matches the given query.")]
    NotFound,
    /// A flexible-pricing tier uses the discount.
    #[error("This discount is used by a flexible pricing tier and cannot be deleted.")]
    TierLinked,
    /// No user has that id.
    #[error("Invalid pk \"{0}\" - object does not exist.")]
    NoSuchUser(i64),
    /// No product has that id.
    #[error("Invalid pk \"{0}\" - object does not exist.")]
    NoSuchProduct(i64),
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DiscountAdminError {
    /// Who is at fault.
    pub fn fault(&self) -> Fault {
        match self {
            DiscountAdminError::Codes(DiscountCodesError::Store(err))
            | DiscountAdminError::Store(err) => store_fault(err),
            DiscountAdminError::NotFound => Fault::NotFound,
            _ => Fault::Caller,
        }
    }
}

/// A link an assignment or a product restriction made or found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linked<T> {
    /// The link row.
    pub link: T,
    /// Whether this call added it (201) rather than finding it (200).
    pub created: bool,
}

/// `create_batch`: plans the codes (random UUIDs after the prefix), checks each as every
/// save does, and inserts them all in one unit of work.
pub async fn create_batch(
    services: &Services,
    request: &CodeGenerationRequest,
    audit: &Audit,
) -> Result<Vec<Discount>, DiscountAdminError> {
    let now = services.now();
    let drafts = plan_generation(request, now, &mut crate::course_certificates::random_uuid)?;
    let mut tx = services.db().begin().await?;
    let created = tx
        .create_discounts(&drafts, audit, now)
        .await
        .map_err(DiscountCodesError::from)?;
    tx.commit().await?;
    Ok(created)
}

/// The discount and its facts.
pub async fn record(
    services: &Services,
    id: DiscountId,
) -> Result<DiscountRecord, DiscountAdminError> {
    services
        .store()
        .discount_records(&[id])
        .await?
        .into_iter()
        .next()
        .ok_or(DiscountAdminError::NotFound)
}

/// Writes `after` (the stored discount with the caller's changes) once it passes the
/// save-time checks (dates, amounts): a failure is the caller's (400), not a 500 as in
/// the original.
pub async fn update(
    services: &Services,
    after: &Discount,
    audit: &Audit,
) -> Result<Discount, DiscountAdminError> {
    let before = record(services, after.id).await?.discount;
    let now = services.now();
    after
        .check_for_save(now)
        .map_err(DiscountCodesError::from)?;
    let mut tx = services.db().begin().await?;
    if !tx.update_discount(&before, after, audit, now).await? {
        return Err(DiscountAdminError::NotFound);
    }
    tx.commit().await?;
    Ok(record(services, after.id).await?.discount)
}

/// Deletes a discount (its redemptions, links and basket uses go with it); a discount a
/// flexible-pricing tier uses is refused.
pub async fn delete(
    services: &Services,
    id: DiscountId,
    audit: &Audit,
) -> Result<(), DiscountAdminError> {
    let found = record(services, id).await?;
    if found.usage.tier_linked {
        return Err(DiscountAdminError::TierLinked);
    }
    let mut tx = services.db().begin().await?;
    if !tx
        .delete_discount(&found.discount, audit, services.now())
        .await?
    {
        return Err(DiscountAdminError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// Assigns the discount to a user (once): the assignment, new or existing. The discount
/// row is locked first, so concurrent assignments of one user cannot both add a row.
pub async fn assign(
    services: &Services,
    id: DiscountId,
    user: UserId,
    audit: &Audit,
) -> Result<Linked<DiscountAssignment>, DiscountAdminError> {
    record(services, id).await?;
    let known = services
        .store()
        .find_user(&mitx_store::users::UserKey::Id(user.0))
        .await?;
    if known.is_none() {
        return Err(DiscountAdminError::NoSuchUser(user.0));
    }
    let mut tx = services.db().begin().await?;
    if !tx.lock_discount(id).await? {
        return Err(DiscountAdminError::NotFound);
    }
    let (link, created) = tx.assign_discount(id, user, audit, services.now()).await?;
    tx.commit().await?;
    Ok(Linked { link, created })
}

/// Removes a user's assignment; `false` when there was none.
pub async fn unassign(
    services: &Services,
    id: DiscountId,
    user: UserId,
    audit: &Audit,
) -> Result<bool, DiscountAdminError> {
    record(services, id).await?;
    let mut tx = services.db().begin().await?;
    let removed = tx
        .unassign_discount(id, user, audit, services.now())
        .await?;
    tx.commit().await?;
    Ok(removed > 0)
}

/// Restricts the discount to a product: the link, new (201) or existing (200).
pub async fn link_product(
    services: &Services,
    id: DiscountId,
    product: ProductId,
    audit: &Audit,
) -> Result<Linked<DiscountProductLink>, DiscountAdminError> {
    record(services, id).await?;
    if services.store().product(product).await?.is_none() {
        return Err(DiscountAdminError::NoSuchProduct(product.0));
    }
    let mut tx = services.db().begin().await?;
    if !tx.lock_discount(id).await? {
        return Err(DiscountAdminError::NotFound);
    }
    let (link, created) = tx
        .link_discount_product(id, product, audit, services.now())
        .await?;
    tx.commit().await?;
    Ok(Linked { link, created })
}

/// Removes the restriction to a product; `false` when there was none.
pub async fn unlink_product(
    services: &Services,
    id: DiscountId,
    product: ProductId,
    audit: &Audit,
) -> Result<bool, DiscountAdminError> {
    record(services, id).await?;
    let mut tx = services.db().begin().await?;
    let removed = tx
        .unlink_discount_product(id, product, audit, services.now())
        .await?;
    tx.commit().await?;
    Ok(removed > 0)
}
