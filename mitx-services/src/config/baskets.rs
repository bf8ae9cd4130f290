//! Baskets (ecommerce spec 4.1, 4.2).

use std::time::Duration;

use super::{ConfigError, Env};

/// How baskets behave.
#[derive(Clone, Debug)]
pub struct BasketSettings {
    /// `ENABLE_MULTIPLE_CART_ITEMS`: the legacy add-to-cart keeps other items (default:
    /// a basket holds one product).
    pub multiple_cart_items: bool,
    /// `ANONYMOUS_BASKET_CULL_AGE`: anonymous baskets idle this long are deleted by the
    /// daily `cull-anonymous-baskets` job.
    pub anonymous_cull_age: Duration,
}

impl BasketSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(BasketSettings {
            multiple_cart_items: env.flag("ENABLE_MULTIPLE_CART_ITEMS")?,
            // Up to ten years: anything longer is a typo, and it must fit a chrono duration.
            anonymous_cull_age: env.seconds("ANONYMOUS_BASKET_CULL_AGE", 1..=315_360_000)?,
        })
    }
}
