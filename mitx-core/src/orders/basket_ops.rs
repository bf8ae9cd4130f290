//! Basket decisions (ecommerce spec 4.1, 4.2, 7): who owns a basket, adding a product in
//! single- or multi-item mode, the v0 `create_from_product` answer, the cart view checks,
//! claiming an anonymous basket and culling abandoned ones.

use chrono::Duration;

use crate::Timestamp;
use crate::ids::{BasketId, UserId};

/// Default `ANONYMOUS_BASKET_CULL_AGE`: 14 days, in seconds.
pub const DEFAULT_ANONYMOUS_BASKET_CULL_AGE_SECONDS: i64 = 1_209_600;

/// The session key holding an anonymous caller's basket id.
pub const ANONYMOUS_BASKET_SESSION_KEY: &str = "anonymous_basket_id";

/// The owner of a basket (shared with the pricing basket model).
pub use crate::pricing::BasketOwner;

/// `ENABLE_MULTIPLE_CART_ITEMS`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CartMode {
    /// The default: adding a product replaces the basket's content.
    #[default]
    SingleItem,
    /// Products accumulate; a product is held at most once.
    MultiItem,
}

impl CartMode {
    /// From the `ENABLE_MULTIPLE_CART_ITEMS` flag.
    pub fn from_flag(enable_multiple_cart_items: bool) -> Self {
        if enable_multiple_cart_items {
            CartMode::MultiItem
        } else {
            CartMode::SingleItem
        }
    }
}

/// The answer of the legacy add-to-cart endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddToCartOutcome {
    /// 200 `{"message": "Product added to cart"}`.
    Added,
    /// 200 `{"message": "Product already in cart"}` (multi-item mode).
    AlreadyInCart,
    /// 404 `{"message": "Product not found"}`: unknown or inactive product.
    ProductNotFound,
}

impl AddToCartOutcome {
    /// The `message` of the response body.
    pub fn message(self) -> &'static str {
        match self {
            AddToCartOutcome::Added => "Product added to cart",
            AddToCartOutcome::AlreadyInCart => "Product already in cart",
            AddToCartOutcome::ProductNotFound => "Product not found",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            AddToCartOutcome::ProductNotFound => 404,
            _ => 200,
        }
    }
}

/// What the legacy add-to-cart does to the (locked) basket, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddToCartPlan {
    /// Delete every item first (single-item mode).
    pub clear_items: bool,
    /// Delete the basket discount first (always).
    pub clear_discounts: bool,
    /// Add the product with quantity 1.
    pub add_product: bool,
    /// Queue a CRM cart-add event (authenticated callers, product found).
    pub queue_crm_cart_event: bool,
    /// The response.
    pub outcome: AddToCartOutcome,
}

/// Decides the legacy `POST /api/checkout/add_to_cart/`. `product_active` is whether the
/// product exists and is active; `already_in_basket` whether the basket holds it. The
/// clearing happens even when the product is not found, as in the original.
pub fn plan_add_to_cart(
    mode: CartMode,
    product_active: bool,
    already_in_basket: bool,
    authenticated: bool,
) -> AddToCartPlan {
    let clear_items = mode == CartMode::SingleItem;
    let present_after_clearing = already_in_basket && !clear_items;
    let outcome = if !product_active {
        AddToCartOutcome::ProductNotFound
    } else if present_after_clearing {
        AddToCartOutcome::AlreadyInCart
    } else {
        AddToCartOutcome::Added
    };
    AddToCartPlan {
        clear_items,
        clear_discounts: true,
        add_product: outcome == AddToCartOutcome::Added,
        queue_crm_cart_event: authenticated && product_active,
        outcome,
    }
}

/// The answer of v0 `create_from_product` (item upserted with the requested quantity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateFromProductOutcome {
    /// 404 `{"error": "Product not found"}`.
    ProductNotFound,
    /// 302 to `/checkout/to_payment` (authenticated) or `/checkout/anonymous`.
    RedirectToCheckout {
        /// Whether the caller is authenticated.
        authenticated: bool,
    },
    /// 201 with the basket: the item was new.
    Created,
    /// 200 with the basket: the item existed and was updated.
    Updated,
}

impl CreateFromProductOutcome {
    /// Decides the answer.
    pub fn decide(
        product_found: bool,
        item_was_new: bool,
        checkout: bool,
        authenticated: bool,
    ) -> Self {
        if !product_found {
            CreateFromProductOutcome::ProductNotFound
        } else if checkout {
            CreateFromProductOutcome::RedirectToCheckout { authenticated }
        } else if item_was_new {
            CreateFromProductOutcome::Created
        } else {
            CreateFromProductOutcome::Updated
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            CreateFromProductOutcome::ProductNotFound => 404,
            CreateFromProductOutcome::RedirectToCheckout { .. } => 302,
            CreateFromProductOutcome::Created => 201,
            CreateFromProductOutcome::Updated => 200,
        }
    }

    /// The redirect target of a `checkout=true` call.
    pub fn location(self) -> Option<&'static str> {
        match self {
            CreateFromProductOutcome::RedirectToCheckout {
                authenticated: true,
            } => Some("/checkout/to_payment"),
            CreateFromProductOutcome::RedirectToCheckout {
                authenticated: false,
            } => Some("/checkout/anonymous"),
            _ => None,
        }
    }
}

/// Whether v0 basket writes re-evaluate discounts: only for authenticated callers (current
/// discounts + auto-apply set, then the path code). Anonymous baskets never hold discounts
/// (a basket discount needs a `redeemed_by` user).
pub fn basket_writes_apply_discounts(authenticated: bool) -> bool {
    authenticated
}

/// Why the legacy cart view answers 406.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CartViewError {
    /// The caller has no basket.
    #[error("No basket")]
    NoBasket,
    /// The basket is empty.
    #[error("No product in basket")]
    NoProduct,
}

impl CartViewError {
    /// Always 406.
    pub fn status(self) -> u16 {
        406
    }
}

/// Legacy `GET /api/checkout/cart/`: `item_count` is `None` when there is no basket.
pub fn check_cart_view(item_count: Option<usize>) -> Result<(), CartViewError> {
    match item_count {
        None => Err(CartViewError::NoBasket),
        Some(0) => Err(CartViewError::NoProduct),
        Some(_) => Ok(()),
    }
}

/// Where `/checkout/anonymous` always redirects.
pub const CLAIM_REDIRECT: &str = "/checkout/to_payment";

/// What claiming the session's anonymous basket does (`/checkout/anonymous`, login
/// required). Either way the browser goes to [`CLAIM_REDIRECT`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimDecision {
    /// No session key or no such basket: nothing changes (the session key is kept).
    NothingToClaim,
    /// Under a lock on `basket`: delete `delete_baskets` (the user's other baskets), set the
    /// basket's user, clear its anonymous id, remove the session key, run the cart refresh.
    Claim {
        /// The anonymous basket being claimed.
        basket: BasketId,
        /// The user's other baskets, deleted first.
        delete_baskets: Vec<BasketId>,
        /// The new owner.
        user: UserId,
    },
}

/// Decides a claim. `anonymous_basket` is the basket found for the session's anonymous id
/// (`None` when the session has no key or the basket is gone); `user_baskets` are the
/// baskets the user already owns.
pub fn plan_claim(
    user: UserId,
    anonymous_basket: Option<BasketId>,
    user_baskets: &[BasketId],
) -> ClaimDecision {
    match anonymous_basket {
        None => ClaimDecision::NothingToClaim,
        Some(basket) => ClaimDecision::Claim {
            basket,
            delete_baskets: user_baskets
                .iter()
                .copied()
                .filter(|b| *b != basket)
                .collect(),
            user,
        },
    }
}

impl ClaimDecision {
    /// The new owner of the claimed basket.
    pub fn new_owner(&self) -> Option<BasketOwner> {
        match self {
            ClaimDecision::NothingToClaim => None,
            ClaimDecision::Claim { user, .. } => Some(BasketOwner::User(*user)),
        }
    }

    /// Whether the session key is removed.
    pub fn removes_session_key(&self) -> bool {
        matches!(self, ClaimDecision::Claim { .. })
    }
}

/// The daily cull (04:00 UTC) deletes anonymous baskets last updated before
/// `now − cull_age`; user baskets are never culled.
pub fn should_cull(
    owner: &BasketOwner,
    updated_on: Timestamp,
    now: Timestamp,
    cull_age: Duration,
) -> bool {
    matches!(owner, BasketOwner::Anonymous(_)) && updated_on < now - cull_age
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::fixtures::now;

    #[test]
    fn ecommerce_s22_single_item_mode_replaces_the_basket() {
        // Basket {P with D}; add Q: items and discount cleared, Q added.
        let plan = plan_add_to_cart(CartMode::SingleItem, true, false, true);
        assert!(plan.clear_items && plan.clear_discounts && plan.add_product);
        assert_eq!(plan.outcome.message(), "Product added to cart");
        assert_eq!(plan.outcome.status(), 200);
        // Re-adding P in single-item mode: cleared then added again.
        let again = plan_add_to_cart(CartMode::SingleItem, true, true, true);
        assert_eq!(again.outcome, AddToCartOutcome::Added);
        assert!(again.add_product);
    }

    #[test]
    fn ecommerce_s23_multi_item_mode_accumulates() {
        let mode = CartMode::from_flag(true);
        assert_eq!(mode, CartMode::MultiItem);
        let mut basket: Vec<&str> = Vec::new();
        for product in ["P", "Q", "P"] {
            let plan = plan_add_to_cart(mode, true, basket.contains(&product), false);
            assert!(!plan.clear_items && plan.clear_discounts);
            if plan.add_product {
                basket.push(product);
            }
            if product == "P" && basket.len() == 2 {
                assert_eq!(plan.outcome.message(), "Product already in cart");
            }
        }
        assert_eq!(basket, vec!["P", "Q"]);
    }

    #[test]
    fn ecommerce_s24_unknown_product_is_not_found_after_clearing() {
        for mode in [CartMode::SingleItem, CartMode::MultiItem] {
            let plan = plan_add_to_cart(mode, false, false, true);
            assert_eq!(plan.outcome, AddToCartOutcome::ProductNotFound);
            assert_eq!(
                (plan.outcome.status(), plan.outcome.message()),
                (404, "Product not found")
            );
            assert!(!plan.add_product && !plan.queue_crm_cart_event);
            assert!(plan.clear_discounts);
        }
    }

    #[test]
    fn ecommerce_s25_create_from_product_status() {
        assert_eq!(
            CreateFromProductOutcome::decide(true, true, false, true).status(),
            201
        );
        assert_eq!(
            CreateFromProductOutcome::decide(true, false, false, true).status(),
            200
        );
        assert_eq!(
            CreateFromProductOutcome::decide(false, true, true, true).status(),
            404
        );
        let redirect = CreateFromProductOutcome::decide(true, true, true, false);
        assert_eq!(
            (redirect.status(), redirect.location()),
            (302, Some("/checkout/anonymous"))
        );
        assert_eq!(
            CreateFromProductOutcome::decide(true, true, true, true).location(),
            Some("/checkout/to_payment")
        );
    }

    #[test]
    fn ecommerce_s26_anonymous_baskets_get_no_discounts() {
        assert!(!basket_writes_apply_discounts(false));
        assert!(basket_writes_apply_discounts(true));
        let owner = BasketOwner::Anonymous(uuid::Uuid::from_u128(1));
        assert!(matches!(owner, BasketOwner::Anonymous(_)));
    }

    #[test]
    fn ecommerce_s27_cart_view_checks() {
        assert_eq!(check_cart_view(None).unwrap_err().to_string(), "No basket");
        let empty = check_cart_view(Some(0)).unwrap_err();
        assert_eq!(
            (empty.status(), empty.to_string().as_str()),
            (406, "No product in basket")
        );
        assert_eq!(check_cart_view(Some(1)), Ok(()));
    }

    #[test]
    fn ecommerce_s28_claim_anonymous_basket() {
        let l = UserId(1);
        let decision = plan_claim(l, Some(BasketId(30)), &[BasketId(10)]);
        assert_eq!(
            decision,
            ClaimDecision::Claim {
                basket: BasketId(30),
                delete_baskets: vec![BasketId(10)],
                user: l
            }
        );
        assert_eq!(decision.new_owner(), Some(BasketOwner::User(l)));
        assert!(decision.removes_session_key());
        let nothing = plan_claim(l, None, &[BasketId(10)]);
        assert_eq!(nothing, ClaimDecision::NothingToClaim);
        assert!(!nothing.removes_session_key());
        assert_eq!(CLAIM_REDIRECT, "/checkout/to_payment");
    }

    #[test]
    fn ecommerce_s29_cull_rule() {
        let age = Duration::seconds(100);
        let n = now();
        let anon = BasketOwner::Anonymous(uuid::Uuid::from_u128(7));
        let user = BasketOwner::User(UserId(1));
        assert!(should_cull(&anon, n - Duration::seconds(200), n, age));
        assert!(!should_cull(&anon, n, n, age));
        assert!(!should_cull(&user, n - Duration::seconds(200), n, age));
        // Exactly at the cutoff is kept (`updated_on < cutoff`).
        assert!(!should_cull(&anon, n - age, n, age));
        assert_eq!(DEFAULT_ANONYMOUS_BASKET_CULL_AGE_SECONDS, 14 * 24 * 3600);
    }
}
