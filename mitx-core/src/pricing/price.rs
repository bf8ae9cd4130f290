//! The price of one unit under discounts (ecommerce spec 2.1, 2.2).

use rust_decimal::Decimal;

use super::{Discount, DiscountType};
use crate::money::{Money, quantize};

impl Discount {
    /// The price of one unit of a product listed at `price` under this discount alone:
    /// percent-off rounds half-to-even to cents; dollars-off floors at zero; fixed-price
    /// is the amount. Never negative: an amount that would drive the price below zero
    /// (a percent above 100, a negative amount) clamps at zero.
    pub fn price_for(&self, price: Money) -> Money {
        let p = price.amount();
        let a = self.amount;
        let discounted = match self.discount_type {
            DiscountType::PercentOff => quantize(p - p * a / Decimal::ONE_HUNDRED),
            DiscountType::DollarsOff => {
                if p < a {
                    Decimal::ZERO
                } else {
                    p - a
                }
            }
            DiscountType::FixedPrice => a,
        };
        Money::new(discounted).at_least_zero()
    }
}

/// The lowest of the list price and the price under each discount; discounts never stack
/// and a fixed price above the list price is ignored. Product restrictions and dates are
/// not checked here (see the validity predicates). Not rounded: callers quantize.
pub fn best_price<'a>(price: Money, discounts: impl IntoIterator<Item = &'a Discount>) -> Money {
    discounts
        .into_iter()
        .map(|d| d.price_for(price))
        .fold(price, |best, p| if p < best { p } else { best })
}
