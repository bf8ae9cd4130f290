//! A pure basket model and its totals (ecommerce spec 1.2 and 2.3).
//!
//! Only what the pricing rules need: the owner, the items (product, unit price, quantity)
//! and the single optional basket discount. Checkout and orders live in `crate::orders`.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::best_price;
use super::validity::DiscountRecord;
use crate::ids::{ProductId, UserId};
use crate::money::Money;

/// Who a basket belongs to: exactly one of a user or an anonymous session id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasketOwner {
    /// A signed-in user (one basket per user).
    User(UserId),
    /// An anonymous session's basket (`anonymous_basket_id`); never holds a discount.
    Anonymous(Uuid),
}

/// One line of a basket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasketItem {
    /// The product in the basket.
    pub product: ProductId,
    /// The product's current price (2 decimal places).
    pub unit_price: Money,
    /// How many units (always at least one).
    pub quantity: NonZeroU32,
}

impl BasketItem {
    /// One unit of a product.
    pub fn single(product: ProductId, unit_price: Money) -> Self {
        BasketItem {
            product,
            unit_price,
            quantity: NonZeroU32::MIN,
        }
    }

    /// `unit price × quantity`, without discounts.
    pub fn base_price(&self) -> Money {
        self.unit_price * self.quantity.get()
    }
}

/// A basket: owner, items and at most one discount (the unique basket-discount row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basket {
    /// The owning user or anonymous session.
    pub owner: BasketOwner,
    /// The items, in insertion order (the "first item" of the legacy rules is `items[0]`).
    pub items: Vec<BasketItem>,
    /// The basket discount with the facts its validity checks need.
    pub discount: Option<DiscountRecord>,
}

impl Basket {
    /// An empty basket of a user.
    pub fn for_user(user: UserId) -> Self {
        Basket {
            owner: BasketOwner::User(user),
            items: Vec::new(),
            discount: None,
        }
    }

    /// The owning user, if any.
    pub fn user(&self) -> Option<UserId> {
        match self.owner {
            BasketOwner::User(user) => Some(user),
            BasketOwner::Anonymous(_) => None,
        }
    }

    /// True when the basket holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The products in the basket, in item order.
    pub fn product_ids(&self) -> impl Iterator<Item = ProductId> + '_ {
        self.items.iter().map(|item| item.product)
    }

    /// Whether a product is in the basket.
    pub fn contains(&self, product: ProductId) -> bool {
        self.items.iter().any(|item| item.product == product)
    }

    /// An item's discounted price: `quantize(best_price(basket discount, unit price)) ×
    /// quantity` (each unit rounded to cents before multiplying).
    pub fn item_discounted_price(&self, item: &BasketItem) -> Money {
        let unit = best_price(
            item.unit_price,
            self.discount.iter().map(|record| &record.discount),
        );
        unit.quantize() * item.quantity.get()
    }

    /// `total_price`: Σ base prices (unit price × quantity).
    pub fn total_price(&self) -> Money {
        self.items.iter().map(BasketItem::base_price).sum()
    }

    /// `discounted_price`: the total price when the basket has no discount, else Σ item
    /// discounted prices.
    pub fn discounted_price(&self) -> Money {
        if self.discount.is_none() {
            return self.total_price();
        }
        self.items
            .iter()
            .map(|item| self.item_discounted_price(item))
            .sum()
    }

    /// The `total_price_paid` of an order built from this basket: Σ quantized discounted
    /// unit prices, one unit per product. Quirk kept from the original: order lines are
    /// always created with quantity 1, so a basket quantity of 2 is charged once.
    pub fn order_total(&self) -> Money {
        self.items
            .iter()
            .map(|item| {
                best_price(
                    item.unit_price,
                    self.discount.iter().map(|record| &record.discount),
                )
                .quantize()
            })
            .sum()
    }

    /// The discount as listed in basket JSON `discounts`: zero-amount percent-off and
    /// dollars-off discounts are left out.
    pub fn listed_discount(&self) -> Option<&DiscountRecord> {
        self.discount
            .as_ref()
            .filter(|record| !record.discount.is_noop())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::pricing::DiscountDraft;
    use std::str::FromStr;

    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ids::DiscountId;
    use crate::pricing::{Discount, DiscountCode, DiscountType};

    /// The default learner L of the ecommerce scenarios.
    pub(crate) const LEARNER: UserId = UserId(1);
    /// Another learner B.
    pub(crate) const OTHER: UserId = UserId(2);
    /// Product P.
    pub(crate) const P: ProductId = ProductId(10);
    /// Product Q.
    pub(crate) const Q: ProductId = ProductId(11);

    pub(crate) fn money(text: &str) -> Money {
        Money::from_str(text).unwrap()
    }

    /// An unrestricted, unlimited, undated discount.
    pub(crate) fn discount(id: i64, code: &str, kind: DiscountType, amount: Decimal) -> Discount {
        DiscountDraft::new(DiscountCode::parse(code).unwrap(), kind, amount)
            .into_discount(DiscountId(id))
    }

    pub(crate) fn record(d: Discount) -> DiscountRecord {
        DiscountRecord::bare(d)
    }

    /// L's basket holding one unit of P at `price`.
    pub(crate) fn basket_with(price: &str, discount: Option<Discount>) -> Basket {
        Basket {
            owner: BasketOwner::User(LEARNER),
            items: vec![BasketItem::single(P, money(price))],
            discount: discount.map(record),
        }
    }

    fn unit_price_under(price: &str, discounts: &[Discount]) -> String {
        best_price(money(price), discounts)
            .quantize()
            .to_price_string()
    }

    #[test]
    fn ecommerce_s1_twenty_percent_basket_totals_and_order_total() {
        let basket = basket_with(
            "1000.00",
            Some(discount(1, "SAVE20", DiscountType::PercentOff, dec!(20))),
        );
        assert_eq!(basket.total_price(), money("1000.00"));
        assert_eq!(basket.discounted_price(), money("800.00"));
        let total = basket.order_total();
        // The gateway unit price and amount strings, and the stored order total.
        assert_eq!(total.to_price_string(), "800.00");
        assert_eq!(total.to_amount_string(), "800.00000");
    }

    #[test]
    fn ecommerce_s2_percent_off_39_33_at_25() {
        let d = discount(1, "PCT", DiscountType::PercentOff, dec!(25));
        assert_eq!(unit_price_under("39.33", &[d]), "29.50");
    }

    #[test]
    fn ecommerce_s3_percent_off_19_99_at_33() {
        let d = discount(1, "PCT", DiscountType::PercentOff, dec!(33));
        assert_eq!(unit_price_under("19.99", &[d]), "13.39");
    }

    #[test]
    fn ecommerce_s4_percent_off_10_05_at_50_is_5_02() {
        let d = discount(1, "PCT", DiscountType::PercentOff, dec!(50));
        assert_eq!(unit_price_under("10.05", &[d]), "5.02");
    }

    #[test]
    fn ecommerce_s5_dollars_off_above_price_is_zero_and_order_is_free() {
        let basket = basket_with(
            "9.99",
            Some(discount(1, "TEN", DiscountType::DollarsOff, dec!(10))),
        );
        assert_eq!(basket.discounted_price().to_price_string(), "0.00");
        // Pure part of `no_checkout: true`: the order total is zero.
        assert!(basket.order_total().is_zero());
    }

    #[test]
    fn ecommerce_s6_fixed_price_above_list_price_is_ignored() {
        let d = discount(1, "FIX", DiscountType::FixedPrice, dec!(42));
        assert_eq!(unit_price_under("39.33", &[d]), "39.33");
    }

    #[test]
    fn ecommerce_s7_fixed_price_below_list_price() {
        let d = discount(1, "FIX", DiscountType::FixedPrice, dec!(42));
        assert_eq!(unit_price_under("100.00", &[d]), "42.00");
    }

    #[test]
    fn ecommerce_s8_several_discounts_lowest_wins() {
        let ds = [
            discount(1, "D", DiscountType::DollarsOff, dec!(20)),
            discount(2, "F", DiscountType::FixedPrice, dec!(90)),
            discount(3, "P", DiscountType::PercentOff, dec!(25)),
        ];
        assert_eq!(unit_price_under("100.00", &ds), "75.00");
    }

    #[test]
    fn ecommerce_s9_dollars_off_with_five_places_quantizes_half_even() {
        let basket = basket_with(
            "100.00",
            Some(discount(1, "D", DiscountType::DollarsOff, dec!(10.55500))),
        );
        let item = basket.items[0];
        assert_eq!(basket.item_discounted_price(&item), money("89.44"));
    }

    #[test]
    fn ecommerce_s10_zero_percent_discount_is_not_listed() {
        let basket = basket_with(
            "100.00",
            Some(discount(1, "ZERO", DiscountType::PercentOff, dec!(0))),
        );
        assert!(basket.listed_discount().is_none());
        assert_eq!(basket.discounted_price(), basket.total_price());
        // A real discount is listed.
        let listed = basket_with(
            "100.00",
            Some(discount(2, "TEN", DiscountType::PercentOff, dec!(10))),
        );
        assert!(listed.listed_discount().is_some());
        // A zero fixed price is a real (100%) discount and stays listed.
        let free = basket_with(
            "100.00",
            Some(discount(3, "FREE", DiscountType::FixedPrice, dec!(0))),
        );
        assert!(free.listed_discount().is_some());
    }

    #[test]
    fn ecommerce_s11_multi_item_total_counts_quantities() {
        let basket = Basket {
            owner: BasketOwner::User(LEARNER),
            items: vec![
                BasketItem {
                    product: P,
                    unit_price: money("50.00"),
                    quantity: NonZeroU32::new(2).unwrap(),
                },
                BasketItem::single(Q, money("30.00")),
            ],
            discount: None,
        };
        assert_eq!(basket.total_price().to_price_string(), "130.00");
        assert_eq!(basket.discounted_price().to_price_string(), "130.00");
    }

    #[test]
    fn quantity_multiplies_after_rounding_and_order_charges_once() {
        // 10.05 at 50% → 5.025 → 5.02 per unit, × 3 = 15.06 (not quantize(15.075) = 15.08).
        let basket = Basket {
            owner: BasketOwner::User(LEARNER),
            items: vec![BasketItem {
                product: P,
                unit_price: money("10.05"),
                quantity: NonZeroU32::new(3).unwrap(),
            }],
            discount: Some(record(discount(
                1,
                "HALF",
                DiscountType::PercentOff,
                dec!(50),
            ))),
        };
        assert_eq!(basket.discounted_price(), money("15.06"));
        assert_eq!(basket.total_price(), money("30.15"));
        assert_eq!(basket.order_total(), money("5.02"));
    }

    fn any_discount() -> impl Strategy<Value = Discount> {
        let kind = prop_oneof![
            Just(DiscountType::PercentOff),
            Just(DiscountType::DollarsOff),
            Just(DiscountType::FixedPrice),
        ];
        // Amounts in the stored domain decimal(20,5), negative ones included, so the
        // clamping is exercised (percent above 100, huge dollar amounts).
        let amount = prop_oneof![
            (-100_000_000i64..=100_000_000i64).prop_map(|v| Decimal::new(v, 5)),
            (-1_000_000_000i64..=1_000_000_000i64).prop_map(|v| Decimal::new(v, 2)),
            (0i64..=99_999_999_999_999_999).prop_map(|v| Decimal::new(v, 5)),
        ];
        (kind, amount).prop_map(|(kind, amount)| discount(1, "ANY", kind, amount))
    }

    fn any_price() -> impl Strategy<Value = Money> {
        (0i64..=9_999_999).prop_map(Money::from_cents)
    }

    proptest! {
        #[test]
        fn best_price_stays_between_zero_and_list_price(
            price in any_price(),
            discounts in prop::collection::vec(any_discount(), 0..5),
        ) {
            let best = best_price(price, &discounts);
            prop_assert!(best >= Money::ZERO, "negative best price {best}");
            prop_assert!(best <= price, "best price {best} above list price {price}");
        }

        #[test]
        fn quantized_basket_totals_are_never_negative(
            lines in prop::collection::vec((any_price(), 1u32..=5), 0..4),
            discount in prop::option::of(any_discount()),
        ) {
            let basket = Basket {
                owner: BasketOwner::User(LEARNER),
                items: lines
                    .iter()
                    .enumerate()
                    .map(|(i, (price, qty))| BasketItem {
                        product: ProductId(i as i64),
                        unit_price: *price,
                        quantity: NonZeroU32::new(*qty).unwrap(),
                    })
                    .collect(),
                discount: discount.map(record),
            };
            prop_assert!(basket.total_price() >= Money::ZERO);
            prop_assert!(basket.discounted_price() >= Money::ZERO);
            prop_assert!(basket.discounted_price() <= basket.total_price());
            prop_assert!(basket.order_total() >= Money::ZERO);
        }
    }
}
