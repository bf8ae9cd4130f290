//! Products (`mitx products create|deactivate`): one product per course run or program,
//! never deleted; every change appends a version snapshot and an audit row.
//!
//! Creating a product that already exists changes it only when the caller says so
//! (`allow_update`): a field the caller left out keeps its current value (an inactive
//! product stays inactive, a description stays), and the plan lists every field that
//! would change with its old and new value.

use mitx_core::ids::ProductId;
use mitx_core::money::Money;
use mitx_store::audit_log::Audit;
use mitx_store::products::{Product, ProductTarget, ProductWrite};
use mitx_store::{Store, StoreError};
use serde::Serialize;

use crate::Services;

/// Why a product workflow stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProductsError {
    /// The description is empty.
    #[error("The description must not be empty.")]
    EmptyDescription,
    /// The product exists and the request would change it, but changes were not allowed.
    #[error(
        "Product {id} for {courseware} already exists; this would change {changes}. Nothing was changed."
    )]
    WouldChange {
        /// The existing product.
        id: ProductId,
        /// Its courseware.
        courseware: String,
        /// `field: old → new`, joined.
        changes: String,
    },
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an operator asks of a product: the price, and optionally its description and
/// whether it is active (left out: the current value, or the default for a new product).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRequest {
    /// The price.
    pub price: Money,
    /// The description (new product default: the courseware id).
    pub description: Option<String>,
    /// Active or not (new product default: active).
    pub active: Option<bool>,
}

/// One field an update changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// `price`, `description` or `active`.
    pub field: &'static str,
    /// The current value.
    pub old: String,
    /// The value after the write.
    pub new: String,
}

impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.field, self.old, self.new)
    }
}

/// What a product write would do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductPlan {
    /// `create`, `update` or `none`.
    pub change: &'static str,
    /// The course run's courseware id or the program's readable id.
    pub courseware: String,
    /// The product as it is now, if it exists.
    pub before: Option<Product>,
    /// The price after the write.
    #[serde(serialize_with = "price_text")]
    pub price: Money,
    /// The description after the write.
    pub description: String,
    /// Active after the write.
    pub is_active: bool,
    /// Every field that changes (empty for a new product or no change).
    pub changes: Vec<FieldChange>,
}

fn price_text<S: serde::Serializer>(price: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&price.to_price_string())
}

fn active_text(active: bool) -> String {
    if active { "active" } else { "inactive" }.to_owned()
}

/// Plans the write of `request` on the product of `target`.
pub async fn plan_upsert(
    store: &Store,
    target: &ProductTarget,
    request: &ProductRequest,
) -> Result<ProductPlan, ProductsError> {
    let before = store.product_for_target(target).await?;
    let description = request
        .description
        .clone()
        .or_else(|| before.as_ref().map(|p| p.description.clone()))
        .unwrap_or_else(|| target.readable().to_owned());
    if description.trim().is_empty() {
        return Err(ProductsError::EmptyDescription);
    }
    let is_active = request
        .active
        .or_else(|| before.as_ref().map(|p| p.is_active))
        .unwrap_or(true);
    let mut changes = Vec::new();
    if let Some(p) = &before {
        if p.price != request.price {
            changes.push(FieldChange {
                field: "price",
                old: p.price.to_price_string(),
                new: request.price.to_price_string(),
            });
        }
        if p.description != description {
            changes.push(FieldChange {
                field: "description",
                old: format!("{:?}", p.description),
                new: format!("{description:?}"),
            });
        }
        if p.is_active != is_active {
            changes.push(FieldChange {
                field: "active",
                old: active_text(p.is_active),
                new: active_text(is_active),
            });
        }
    }
    let change = match (&before, changes.is_empty()) {
        (None, _) => "create",
        (Some(_), true) => "none",
        (Some(_), false) => "update",
    };
    Ok(ProductPlan {
        change,
        courseware: target.readable().to_owned(),
        before,
        price: request.price,
        description,
        is_active,
        changes,
    })
}

/// Creates the product of `target`, or (with `allow_update`) changes the existing one.
/// An existing product the request would change is refused without `allow_update`
/// ([`ProductsError::WouldChange`] names every differing field); an existing product
/// with the same values is left as it is.
pub async fn upsert(
    services: &Services,
    target: &ProductTarget,
    request: &ProductRequest,
    allow_update: bool,
    audit: &Audit,
) -> Result<ProductWrite, ProductsError> {
    let plan = plan_upsert(services.store(), target, request).await?;
    if let Some(before) = &plan.before
        && !plan.changes.is_empty()
        && !allow_update
    {
        return Err(ProductsError::WouldChange {
            id: before.id,
            courseware: plan.courseware.clone(),
            changes: plan
                .changes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut tx = services.db().begin().await?;
    let write = tx
        .upsert_product(
            target,
            plan.price,
            &plan.description,
            plan.is_active,
            audit,
            services.now(),
        )
        .await?;
    // The plan was read before the unit of work: if someone changed the product since,
    // decide again rather than overwrite their change.
    let same = |a: &Product, b: &Product| {
        a.price == b.price && a.description == b.description && a.is_active == b.is_active
    };
    let unchanged_since = match (&plan.before, &write.before) {
        (None, None) => true,
        (Some(a), Some(b)) => same(a, b),
        _ => false,
    };
    if !unchanged_since {
        tx.rollback().await?;
        return Err(StoreError::Stale {
            entity: "product",
            key: plan.courseware,
        }
        .into());
    }
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
