//! Basket workflows (ecommerce spec 4.1–4.3, 2.6): the legacy add-to-cart, `/cart/add`,
//! redeem-code and cart view, the v0 basket endpoints, the claim of an anonymous basket
//! and the daily cull.
//!
//! Every workflow opens one unit of work, locks the caller's basket row first, reads the
//! discount facts it needs, asks mitx-core (`orders::basket_ops`, `pricing::precedence`)
//! what to do and writes the result before committing, so two requests of one learner
//! never interleave their read-decide-write steps. Once the unit of work is open every
//! read goes through it (`Tx` reads), never through the pool: a workflow holding one
//! pooled connection while waiting for a second starves the pool under load.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use mitx_core::ids::{BasketId, DiscountId, ProductId, UserId};
use mitx_core::orders::{
    AddToCartOutcome, CartMode, CartViewError, check_cart_view, plan_add_to_cart,
};
use mitx_core::pricing::flexible::finaid_discount;
use mitx_core::pricing::{
    Basket, BasketItem, BasketOwner, DiscountRecord, RedeemDecision, RedeemError, apply,
    auto_apply_set, decide_redeem, legacy_cart_refresh, redeem_lookup_key,
    rederive_basket_discount,
};
use mitx_store::baskets::{BasketRow, BasketState};
use mitx_store::pricing_facts::PriceFacts;
use mitx_store::{StoreError, Tx};
use uuid::Uuid;

use crate::Services;
use crate::error::{Fault, store_fault};

/// Why a basket workflow stopped.
#[derive(Debug, thiserror::Error)]
pub enum BasketError {
    /// The product does not exist or is inactive.
    #[error("Product not found")]
    ProductNotFound,
    /// No discount has this code (v0 `add_discount`).
    #[error("Discount '{0}' not found")]
    DiscountNotFound(String),
    /// The basket or item is not the caller's, or does not exist.
    #[error("Not found.")]
    NotFound,
    /// A posted product id names no active product.
    #[error("Invalid pk \"{0}\" - object does not exist.")]
    InvalidProduct(i64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BasketError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            BasketError::ProductNotFound
            | BasketError::DiscountNotFound(_)
            | BasketError::NotFound => Fault::NotFound,
            BasketError::InvalidProduct(_) => Fault::Caller,
            BasketError::Store(err) => store_fault(err),
        }
    }
}

/// The pricing model of a stored basket with its discount record.
pub fn pricing_basket(state: &BasketState, discount: Option<DiscountRecord>) -> Basket {
    let owner = state
        .basket
        .owner()
        .unwrap_or(BasketOwner::Anonymous(Uuid::nil()));
    Basket {
        owner,
        items: state
            .items
            .iter()
            .map(|item| BasketItem {
                product: item.product,
                unit_price: item.price,
                quantity: u32::try_from(item.quantity)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .unwrap_or(NonZeroU32::MIN),
            })
            .collect(),
        discount,
    }
}

/// The record of one discount, if it exists.
async fn record_of(
    tx: &mut Tx,
    id: Option<DiscountId>,
) -> Result<Option<DiscountRecord>, StoreError> {
    match id {
        None => Ok(None),
        Some(id) => Ok(tx.discount_records(&[id]).await?.pop()),
    }
}

/// The learner's flexible-price (tier) discount for a product, if approved and current
/// (read through the pool: for callers without a unit of work).
pub async fn finaid_for(
    services: &Services,
    user: UserId,
    product: ProductId,
    now: DateTime<Utc>,
) -> Result<Option<DiscountRecord>, StoreError> {
    finaid_of(
        services.store().price_facts(user, product, None).await,
        user,
        now,
    )
}

/// [`finaid_for`] read in the workflow's unit of work.
async fn finaid_in(
    tx: &mut Tx,
    user: UserId,
    product: ProductId,
    now: DateTime<Utc>,
) -> Result<Option<DiscountRecord>, StoreError> {
    finaid_of(tx.price_facts(user, product, None).await, user, now)
}

/// The finaid discount the price facts of a product give (an unknown product has none).
fn finaid_of(
    facts: Result<PriceFacts, StoreError>,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<DiscountRecord>, StoreError> {
    let facts = match facts {
        Ok(facts) => facts,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let Some(discount) =
        finaid_discount(Some(user), &facts.eligible, &facts.flexible_requests, now)
    else {
        return Ok(None);
    };
    let id = discount.id;
    Ok(facts.tier_records.into_iter().find(|r| r.discount.id == id))
}

/// The basket's current pricing model, with its discount record.
async fn current_pricing(tx: &mut Tx, state: &BasketState) -> Result<Basket, StoreError> {
    let discount = record_of(tx, state.discount).await?;
    Ok(pricing_basket(state, discount))
}

/// Writes the basket's discount as `wanted` (None: no discount) when it differs.
async fn store_discount(
    tx: &mut Tx,
    basket: &BasketRow,
    current: Option<DiscountId>,
    wanted: Option<DiscountId>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if current == wanted {
        return Ok(());
    }
    match (wanted, basket.user) {
        (Some(discount), Some(user)) => {
            tx.set_basket_discount(basket.id, user, discount, now).await
        }
        _ => tx.clear_basket_discount(basket.id).await.map(|_| ()),
    }
}

/// Logs what the original sends to HubSpot as a cart event (CRM sync is a later issue).
fn crm_cart_event(user: UserId, product: ProductId) {
    tracing::info!(%user, %product, "CRM cart-add event not sent: HubSpot sync is not implemented yet");
}

/// A signed-in learner without an edX account gets one from the `repair-faulty-edx-users`
/// job (or the first enrollment); establishing a basket only says so.
async fn note_edx_account(services: &Services, user: UserId) {
    match services.store().edx_user(user).await {
        Ok(Some(record)) if record.edx_username.is_some() => {}
        Ok(_) => tracing::info!(%user, "basket created for a learner without an edX username"),
        Err(err) => tracing::warn!(%user, %err, "edX account not read"),
    }
}

/// Active product or `None`.
async fn active_product(services: &Services, id: ProductId) -> Result<bool, StoreError> {
    Ok(services
        .store()
        .product(id)
        .await?
        .is_some_and(|p| p.is_active))
}

/// Legacy `POST /api/checkout/add_to_cart/` (spec 4.2): single-item mode empties the
/// basket first; multi-item mode adds a product only once. Discounts are always removed.
/// The basket is created (and cleared) even when the product is unknown, as the original.
pub async fn add_to_cart(
    services: &Services,
    owner: BasketOwner,
    product: ProductId,
) -> Result<AddToCartOutcome, BasketError> {
    let now = services.now();
    let active = active_product(services, product).await?;
    let mode = CartMode::from_flag(services.settings().baskets.multiple_cart_items);
    let authenticated = matches!(owner, BasketOwner::User(_));
    let mut tx = services.db().begin().await?;
    let (state, created) = tx.lock_or_create_basket(owner, now).await?;
    let already = state.items.iter().any(|i| i.product == product);
    let plan = plan_add_to_cart(mode, active, already, authenticated);
    if plan.clear_items {
        tx.clear_basket_items(state.basket.id, now).await?;
    }
    if plan.clear_discounts {
        tx.clear_basket_discount(state.basket.id).await?;
    }
    if plan.add_product {
        tx.add_basket_item(state.basket.id, product, 1, now).await?;
    }
    tx.commit().await?;
    if let BasketOwner::User(user) = owner {
        if plan.queue_crm_cart_event {
            crm_cart_event(user, product);
        }
        if created {
            note_edx_account(services, user).await;
        }
    }
    Ok(plan.outcome)
}

/// What `/cart/add` puts in the basket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CartAddRequest {
    /// `product_id` values.
    pub product_ids: Vec<i64>,
    /// `course_run_id` and `course_id` values (courseware ids of runs).
    pub courseware_ids: Vec<String>,
    /// `program_id` values.
    pub program_ids: Vec<i64>,
}

/// Legacy `GET /cart/add` (spec 4.2): empties the basket (items and discount) and adds
/// every active product named directly, through a run's courseware id, or through a
/// program's courses. Returns the products added.
pub async fn cart_add(
    services: &Services,
    owner: BasketOwner,
    request: &CartAddRequest,
) -> Result<Vec<ProductId>, BasketError> {
    let now = services.now();
    let mut products: Vec<ProductId> = Vec::new();
    for id in &request.product_ids {
        let id = ProductId(*id);
        if active_product(services, id).await? {
            products.push(id);
        }
    }
    products.extend(
        services
            .store()
            .active_products_of(&request.courseware_ids, &request.program_ids)
            .await?,
    );
    let mut unique: Vec<ProductId> = Vec::new();
    for id in products {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    let mut tx = services.db().begin().await?;
    let (state, created) = tx.lock_or_create_basket(owner, now).await?;
    tx.clear_basket_items(state.basket.id, now).await?;
    tx.clear_basket_discount(state.basket.id).await?;
    for id in &unique {
        tx.add_basket_item(state.basket.id, *id, 1, now).await?;
    }
    tx.commit().await?;
    if let BasketOwner::User(user) = owner {
        for id in &unique {
            crm_cart_event(user, *id);
        }
        if created {
            note_edx_account(services, user).await;
        }
    }
    Ok(unique)
}

/// Why the legacy redeem endpoint refused, or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum RedeemFailure {
    /// The rule's refusal (406 no basket, 404 not found).
    #[error(transparent)]
    Refused(#[from] RedeemError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Legacy `POST /api/checkout/redeem_discount/` (spec 4.3): the submitted code replaces the
/// basket discount, unless the learner's finaid discount is strictly cheaper for the basket
/// product, in which case that is stored.
pub async fn redeem_discount(
    services: &Services,
    user: UserId,
    submitted: &str,
) -> Result<RedeemDecision, RedeemFailure> {
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let state = tx.lock_basket(BasketOwner::User(user)).await?;
    let basket = state.as_ref().map(|s| pricing_basket(s, None));
    let key = redeem_lookup_key(submitted);
    let found = if key.is_empty() {
        None
    } else {
        tx.discount_record_by_code(key).await?
    };
    let finaid = match basket.as_ref().and_then(|b| b.items.first()) {
        Some(item) => finaid_in(&mut tx, user, item.product, now).await?,
        None => None,
    };
    let decision = decide_redeem(
        submitted,
        user,
        basket.as_ref(),
        found.as_ref(),
        finaid.as_ref().map(|r| &r.discount),
        now,
    )?;
    if let Some(state) = &state {
        tx.set_basket_discount(state.basket.id, user, decision.store, now)
            .await?;
    }
    tx.commit().await?;
    Ok(decision)
}

/// The legacy cart refresh (`apply_user_discounts`, spec 2.6) inside a unit of work that
/// holds the basket lock.
async fn cart_refresh(
    tx: &mut Tx,
    state: &BasketState,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let basket = current_pricing(tx, state).await?;
    let finaid = match basket.items.first() {
        Some(item) => finaid_in(tx, user, item.product, now).await?,
        None => None,
    };
    let first_assigned = tx
        .discount_records_assigned_to(user)
        .await?
        .into_iter()
        .next();
    let refresh = legacy_cart_refresh(&basket, finaid.as_ref(), first_assigned.as_ref(), now);
    if refresh.remove_current {
        tx.clear_basket_discount(state.basket.id).await?;
    }
    if let Some(discount) = refresh.attach {
        tx.set_basket_discount(state.basket.id, user, discount, now)
            .await?;
    }
    Ok(())
}

/// Why the legacy cart view answers 406, or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum CartFailure {
    /// No basket, or no item.
    #[error(transparent)]
    Refused(#[from] CartViewError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Legacy `GET /api/checkout/cart/` (spec 7): 406 without a basket or items; a signed-in
/// learner's basket gets the cart refresh first. Returns the basket as it is afterwards.
pub async fn cart_view(
    services: &Services,
    owner: BasketOwner,
) -> Result<BasketState, CartFailure> {
    let BasketOwner::User(user) = owner else {
        let state = services.store().basket_of(owner).await?;
        check_cart_view(state.as_ref().map(|s| s.items.len()))?;
        return state.ok_or(CartFailure::Refused(CartViewError::NoBasket));
    };
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let state = tx.lock_basket(owner).await?;
    check_cart_view(state.as_ref().map(|s| s.items.len()))?;
    let Some(state) = state else {
        return Err(CartViewError::NoBasket.into());
    };
    cart_refresh(&mut tx, &state, user, now).await?;
    let state = tx.reload_basket(&state.basket).await?;
    tx.commit().await?;
    Ok(state)
}

/// The discount records the auto-apply set is chosen from for a basket of `user`: the
/// user's assigned discounts, the finaid discounts of the basket products, the automatic
/// ones; and the finaid ids.
async fn auto_apply_candidates(
    tx: &mut Tx,
    user: UserId,
    basket: &Basket,
    now: DateTime<Utc>,
) -> Result<Vec<DiscountRecord>, StoreError> {
    let mut pool = tx.discount_records_assigned_to(user).await?;
    let mut finaid_ids = Vec::new();
    for product in basket.product_ids() {
        if let Some(record) = finaid_in(tx, user, product, now).await? {
            finaid_ids.push(record.discount.id);
            pool.push(record);
        }
    }
    pool.extend(tx.automatic_discount_records().await?);
    Ok(auto_apply_set(basket, &pool, &finaid_ids, now)
        .into_iter()
        .cloned()
        .collect())
}

/// Adds `quantity` of `product` to the basket, or sets the quantity of its existing item;
/// `true` when the item is new.
async fn upsert_item(
    tx: &mut Tx,
    state: &BasketState,
    product: ProductId,
    quantity: u32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    match state.items.iter().find(|i| i.product == product) {
        Some(item) => {
            tx.update_basket_item(state.basket.id, item.id, product, quantity, now)
                .await?;
            Ok(false)
        }
        None => {
            tx.add_basket_item(state.basket.id, product, quantity, now)
                .await?;
            Ok(true)
        }
    }
}

/// What a v0 basket write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasketWrite {
    /// The basket afterwards.
    pub state: BasketState,
    /// Whether the item was new (201) or updated (200).
    pub item_was_new: bool,
}

/// v0 `POST /api/v0/baskets/create_from_product/{product_id}/[{discount_code}/]` (spec
/// 4.2): upserts the item; for a signed-in learner the basket discount is re-derived from
/// the current one and the auto-apply set (finaid allowed), then the path code (finaid not
/// allowed). Anonymous baskets get no discount.
pub async fn create_from_product(
    services: &Services,
    owner: BasketOwner,
    product: ProductId,
    quantity: u32,
    code: Option<&str>,
) -> Result<BasketWrite, BasketError> {
    if !active_product(services, product).await? {
        return Err(BasketError::ProductNotFound);
    }
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let (state, created) = tx.lock_or_create_basket(owner, now).await?;
    let item_was_new = upsert_item(&mut tx, &state, product, quantity.max(1), now).await?;
    let state = tx.reload_basket(&state.basket).await?;
    if let BasketOwner::User(user) = owner {
        let basket = current_pricing(&mut tx, &state).await?;
        let auto = auto_apply_candidates(&mut tx, user, &basket, now).await?;
        let typed = match code {
            Some(code) => tx.discount_record_by_code(code).await?,
            None => None,
        };
        let wanted = rederive_basket_discount(&basket, &auto, typed.as_ref(), now);
        let wanted = wanted.map(|r| r.discount.id);
        store_discount(&mut tx, &state.basket, state.discount, wanted, now).await?;
    }
    let state = tx.reload_basket(&state.basket).await?;
    tx.commit().await?;
    if let BasketOwner::User(user) = owner {
        crm_cart_event(user, product);
        if created {
            note_edx_account(services, user).await;
        }
    }
    Ok(BasketWrite {
        state,
        item_was_new,
    })
}

/// v0 `POST /api/v0/baskets/create_with_products/` (spec 4.2): every product must exist
/// (404 before any change); each item is upserted; the auto-apply set competes with the
/// current discount (finaid allowed), then the code (finaid not allowed).
pub async fn create_with_products(
    services: &Services,
    user: UserId,
    items: &[(ProductId, u32)],
    code: Option<&str>,
) -> Result<BasketState, BasketError> {
    for (product, _) in items {
        if !active_product(services, *product).await? {
            return Err(BasketError::ProductNotFound);
        }
    }
    let now = services.now();
    let owner = BasketOwner::User(user);
    let mut tx = services.db().begin().await?;
    let (mut state, created) = tx.lock_or_create_basket(owner, now).await?;
    for (product, quantity) in items {
        upsert_item(&mut tx, &state, *product, (*quantity).max(1), now).await?;
        state = tx.reload_basket(&state.basket).await?;
    }
    let mut working = current_pricing(&mut tx, &state).await?;
    let auto = auto_apply_candidates(&mut tx, user, &working, now).await?;
    let typed = match code {
        Some(code) => tx.discount_record_by_code(code).await?,
        None => None,
    };
    let steps = auto
        .iter()
        .map(|d| (d, true))
        .chain(typed.iter().map(|d| (d, false)));
    for (candidate, allow_finaid) in steps {
        if apply(&working, candidate, allow_finaid, now).is_set() {
            working.discount = Some(candidate.clone());
        }
    }
    let wanted = working.discount.map(|r| r.discount.id);
    store_discount(&mut tx, &state.basket, state.discount, wanted, now).await?;
    let state = tx.reload_basket(&state.basket).await?;
    tx.commit().await?;
    for (product, _) in items {
        crm_cart_event(user, *product);
    }
    if created {
        note_edx_account(services, user).await;
    }
    Ok(state)
}

/// v0 `POST /api/v0/baskets/add_discount/?discount_code=X` (spec 4.3): unknown code → 404;
/// otherwise the v0 `apply` with finaid not allowed (the basket silently stays as it is
/// when the code loses).
pub async fn add_discount(
    services: &Services,
    user: UserId,
    code: &str,
) -> Result<BasketState, BasketError> {
    let Some(record) = services.store().discount_record_by_code(code).await? else {
        return Err(BasketError::DiscountNotFound(code.to_owned()));
    };
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let (state, _) = tx
        .lock_or_create_basket(BasketOwner::User(user), now)
        .await?;
    let basket = current_pricing(&mut tx, &state).await?;
    let decision = apply(&basket, &record, false, now);
    tracing::debug!(%user, code, ?decision, "v0 add_discount");
    if decision.is_set() {
        tx.set_basket_discount(state.basket.id, user, record.discount.id, now)
            .await?;
    }
    let state = tx.reload_basket(&state.basket).await?;
    tx.commit().await?;
    Ok(state)
}

/// v0 `DELETE /api/v0/baskets/clear/`: deletes the caller's basket; `false` when there was
/// none.
pub async fn clear(services: &Services, owner: BasketOwner) -> Result<bool, BasketError> {
    let mut tx = services.db().begin().await?;
    let deleted = match tx.lock_basket(owner).await? {
        Some(state) => tx.delete_basket(state.basket.id).await?,
        None => false,
    };
    tx.commit().await?;
    Ok(deleted)
}

/// The caller's basket, locked, when its id is `basket`; else NotFound (a basket id of
/// someone else is never acted on).
async fn own_basket(
    tx: &mut Tx,
    user: UserId,
    basket: BasketId,
) -> Result<BasketState, BasketError> {
    match tx.lock_basket(BasketOwner::User(user)).await? {
        Some(state) if state.basket.id == basket => Ok(state),
        _ => Err(BasketError::NotFound),
    }
}

/// A created or changed basket item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemWrite {
    /// The item.
    pub id: i64,
    /// Its basket.
    pub basket: BasketId,
    /// Its product.
    pub product: ProductId,
}

/// `POST /api/v0/baskets/{basket}/items/` and the legacy `POST /api/baskets/{id}/items/`:
/// adds an item (no de-duplication, as the original) to the caller's own basket.
pub async fn add_item(
    services: &Services,
    user: UserId,
    basket: BasketId,
    product: ProductId,
) -> Result<ItemWrite, BasketError> {
    if !active_product(services, product).await? {
        return Err(BasketError::InvalidProduct(product.0));
    }
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let state = own_basket(&mut tx, user, basket).await?;
    let id = tx.add_basket_item(state.basket.id, product, 1, now).await?;
    tx.commit().await?;
    Ok(ItemWrite {
        id,
        basket,
        product,
    })
}

/// `PUT`/`PATCH /api/v0/baskets/{basket}/items/{id}/`: changes an item's product of the
/// caller's own basket (`None`: unchanged).
pub async fn update_item(
    services: &Services,
    user: UserId,
    basket: BasketId,
    item: i64,
    product: Option<ProductId>,
) -> Result<ItemWrite, BasketError> {
    if let Some(product) = product
        && !active_product(services, product).await?
    {
        return Err(BasketError::InvalidProduct(product.0));
    }
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let state = own_basket(&mut tx, user, basket).await?;
    let Some(current) = state.items.iter().find(|i| i.id == item) else {
        return Err(BasketError::NotFound);
    };
    let product = product.unwrap_or(current.product);
    let quantity = u32::try_from(current.quantity).unwrap_or(1);
    tx.update_basket_item(basket, item, product, quantity, now)
        .await?;
    tx.commit().await?;
    Ok(ItemWrite {
        id: item,
        basket,
        product,
    })
}

/// `DELETE /api/v0/baskets/{basket}/items/{id}/` and the legacy delete: removes an item
/// of the caller's own basket.
pub async fn delete_item(
    services: &Services,
    user: UserId,
    basket: BasketId,
    item: i64,
) -> Result<(), BasketError> {
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let state = own_basket(&mut tx, user, basket).await?;
    if !tx.delete_basket_item(state.basket.id, item, now).await? {
        return Err(BasketError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// `GET /checkout/anonymous` (spec 4.1): the anonymous basket `anonymous` becomes the
/// learner's (their other basket is deleted) and gets the cart refresh. `false` when there
/// was nothing to claim.
pub async fn claim(
    services: &Services,
    user: UserId,
    anonymous: Option<Uuid>,
) -> Result<bool, StoreError> {
    let Some(anonymous) = anonymous else {
        return Ok(false);
    };
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let Some(row) = tx.claim_anonymous_basket(anonymous, user, now).await? else {
        return Ok(false);
    };
    let state = tx.reload_basket(&row).await?;
    cart_refresh(&mut tx, &state, user, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The daily `cull-anonymous-baskets` job: deletes anonymous baskets idle longer than
/// `ANONYMOUS_BASKET_CULL_AGE`; how many.
pub async fn cull_anonymous_baskets(services: &Services) -> Result<u64, StoreError> {
    let age = chrono::Duration::from_std(services.settings().baskets.anonymous_cull_age)
        .unwrap_or(chrono::Duration::days(14));
    let before = services.now() - age;
    let mut tx = services.db().begin().await?;
    let deleted = tx.cull_anonymous_baskets(before).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// A fresh anonymous basket id (a random UUID v4), for the `anonymous_basket_id` cookie.
pub fn new_anonymous_id() -> Uuid {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back on the clock and the process so the id still differs
        // per request; the id only names a basket, it guards nothing.
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        bytes[..8].copy_from_slice(&nanos.to_le_bytes());
        bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}
