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
            DiscountType::PercentOff => {
                percent_off_in_cents(p, a).unwrap_or_else(|| percent_off_exact(p, a))
            }
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

/// `round_half_even(p − p × a / 100, 2)` in exact decimal arithmetic.
fn percent_off_exact(p: Decimal, a: Decimal) -> Decimal {
    quantize(p - p * a / Decimal::ONE_HUNDRED)
}

/// The same value computed in integers, for the common case of a price with at most 2
/// decimal places and an amount with at most 5 (what the schema stores). Basket pricing
/// evaluates this for every item × candidate discount, and 96-bit decimal division is the
/// slow part of it; this path is exact and falls back (None) on anything unusual.
fn percent_off_in_cents(p: Decimal, a: Decimal) -> Option<Decimal> {
    let cents = scaled(p, 2)?;
    let amount = scaled(a, 5)?;
    Some(Decimal::new(percent_off_cents(cents, amount)?, 2))
}

/// `round_half_even(p − p × a / 100, 2)` for a price of `cents` and an amount of
/// `amount` × 1e-5 percent, in cents. i64 keeps the division cheap (no 128-bit
/// division); anything that could overflow gives `None`.
fn percent_off_cents(cents: i64, amount: i64) -> Option<i64> {
    const CENT: i64 = 10_000_000; // one cent in units of 1e-9 dollars
    // p = cents / 1e2 and a = amount / 1e5, so in units of 1e-9 dollars:
    // p = cents × 1e7 and p × a / 100 = cents × amount.
    let value = cents
        .checked_mul(CENT)?
        .checked_sub(cents.checked_mul(amount)?)?;
    let mut q = value.div_euclid(CENT);
    let r = value.rem_euclid(CENT);
    if r * 2 > CENT || (r * 2 == CENT && q % 2 != 0) {
        q += 1;
    }
    Some(q)
}

/// The mantissa of `d` at exactly `scale` decimal places, if `d` has no more than that
/// and it fits an `i64`.
fn scaled(d: Decimal, scale: u32) -> Option<i64> {
    const POWERS: [i64; 6] = [1, 10, 100, 1_000, 10_000, 100_000];
    let s = d.scale();
    if s > scale {
        return None;
    }
    let factor = *POWERS.get(usize::try_from(scale - s).ok()?)?;
    i64::try_from(d.mantissa()).ok()?.checked_mul(factor)
}

/// The lowest of the list price and the price under each discount; discounts never stack
/// and a fixed price above the list price is ignored. Product restrictions and dates are
/// not checked here (see the validity predicates). Not rounded: callers quantize.
pub fn best_price<'a>(price: Money, discounts: impl IntoIterator<Item = &'a Discount>) -> Money {
    // Prices are compared as integers of 1e-5 dollars while every value fits (the usual
    // case); comparing decimals of different scales costs a 96-bit rescale each time.
    let list_units = scaled(price.amount(), 5);
    let mut best_units = list_units;
    let mut best = price;
    for discount in discounts {
        match (
            best_units,
            list_units.and_then(|p| discount.price_in_units(p)),
        ) {
            (Some(current), Some(candidate)) => {
                if candidate < current {
                    best_units = Some(candidate);
                }
            }
            _ => {
                if let Some(units) = best_units.take() {
                    best = from_units(units, list_units, price);
                }
                let candidate = discount.price_for(price);
                if candidate < best {
                    best = candidate;
                }
            }
        }
    }
    match best_units {
        Some(units) => from_units(units, list_units, price),
        None => best,
    }
}

fn from_units(units: i64, list_units: Option<i64>, price: Money) -> Money {
    if Some(units) == list_units {
        price
    } else {
        Money::new(Decimal::new(units, 5))
    }
}

impl Discount {
    /// [`Discount::price_for`] in integers of 1e-5 dollars, for a list price of `list`
    /// such units; `None` when a value does not fit (the caller uses the decimal path).
    fn price_in_units(&self, list: i64) -> Option<i64> {
        let amount = scaled(self.amount, 5)?;
        let price = match self.discount_type {
            DiscountType::PercentOff => {
                if list % 1_000 != 0 {
                    return None;
                }
                let cents = list / 1_000;
                let discounted = percent_off_cents(cents, amount)?;
                discounted.checked_mul(1_000)?
            }
            DiscountType::DollarsOff => {
                if list < amount {
                    0
                } else {
                    list - amount
                }
            }
            DiscountType::FixedPrice => amount,
        };
        Some(price.max(0))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::{best_price, percent_off_exact, percent_off_in_cents};
    use crate::ids::DiscountId;
    use crate::money::Money;
    use crate::pricing::{Discount, DiscountCode, DiscountDraft, DiscountType};

    #[test]
    fn integer_path_matches_exact_path_on_spec_examples() {
        let cases = [
            (dec!(1000.00), dec!(20), dec!(800.00)),
            (dec!(39.33), dec!(25), dec!(29.50)),
            (dec!(19.99), dec!(33), dec!(13.39)),
            (dec!(10.05), dec!(50), dec!(5.02)),
            (dec!(99.99), dec!(25), dec!(74.99)),
            (dec!(100), dec!(150), dec!(-50.00)),
            (dec!(100), dec!(-10), dec!(110.00)),
        ];
        for (p, a, expected) in cases {
            assert_eq!(percent_off_in_cents(p, a), Some(expected), "{p} at {a}%");
            assert_eq!(percent_off_exact(p, a), expected, "{p} at {a}%");
        }
        // Too precise for the integer path: falls back.
        assert_eq!(percent_off_in_cents(dec!(1.001), dec!(10)), None);
        assert_eq!(percent_off_in_cents(dec!(1.00), dec!(0.000001)), None);
    }

    fn decimal_best_price(price: Money, discounts: &[Discount]) -> Money {
        discounts
            .iter()
            .map(|d| d.price_for(price))
            .fold(price, |best, p| if p < best { p } else { best })
    }

    fn any_discount() -> impl Strategy<Value = Discount> {
        (0u8..3, -1_000_000i64..=20_000_000, 0u32..=5).prop_map(|(kind, mantissa, scale)| {
            let discount_type = match kind {
                0 => DiscountType::PercentOff,
                1 => DiscountType::DollarsOff,
                _ => DiscountType::FixedPrice,
            };
            DiscountDraft::new(
                DiscountCode::parse("X").unwrap(),
                discount_type,
                Decimal::new(mantissa, scale),
            )
            .into_discount(DiscountId(1))
        })
    }

    proptest! {
        #[test]
        fn best_price_integer_path_equals_decimal_path(
            cents in 0i64..=9_999_999,
            discounts in proptest::collection::vec(any_discount(), 0..8),
        ) {
            let price = Money::new(Decimal::new(cents, 2));
            prop_assert_eq!(best_price(price, &discounts), decimal_best_price(price, &discounts));
        }

        #[test]
        fn integer_path_equals_exact_decimal(cents in 0i64..=9_999_999, amount in -10_000_000i64..=20_000_000) {
            let p = Decimal::new(cents, 2);
            let a = Decimal::new(amount, 5);
            prop_assert_eq!(percent_off_in_cents(p, a), Some(percent_off_exact(p, a)));
        }
    }
}
