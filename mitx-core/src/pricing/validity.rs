//! The discount validity predicates (ecommerce spec 2.5).
//!
//! The original has three (four) overlapping checks with subtly different rules; they are
//! kept as separate functions on purpose, because different flows use different ones:
//! - [`valid_now`]: dates only (activation ≤ now < expiration);
//! - [`redeemable_by`] ("check_validity"): redemption limits counted on fulfilled orders,
//!   then `valid_now`;
//! - [`product_ok`]: product restrictions, then `valid_now`;
//! - [`applicable_to_basket`] ("is_valid", v0 basket flows): finaid flag, restrictions,
//!   user assignment, the cap counted on orders in any state, inclusive dates; it ignores
//!   the redemption type.

use serde::{Deserialize, Serialize};

use super::basket::Basket;
use super::{Discount, PaymentType, RedemptionType};
use crate::Timestamp;
use crate::ids::{ProductId, UserId};

/// What the store knows about a discount's related rows, gathered before asking a
/// validity question. Plain data: the predicates never query anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountUsage {
    /// One entry per redemption on a **fulfilled** order: the redeeming user.
    pub fulfilled_redeemers: Vec<UserId>,
    /// Redemptions on orders in any state (pending, canceled, errored ... included).
    pub all_redemptions: u32,
    /// Product restrictions (DiscountProduct rows); empty = usable on any product.
    pub restricted_to: Vec<ProductId>,
    /// Users the discount is pre-assigned to (UserDiscount rows).
    pub assigned_to: Vec<UserId>,
    /// Linked to at least one flexible-pricing tier (a "finaid/tier discount").
    pub tier_linked: bool,
}

impl DiscountUsage {
    /// Redemptions on fulfilled orders.
    pub fn fulfilled_count(&self) -> usize {
        self.fulfilled_redeemers.len()
    }

    /// Whether `user` has a redemption on a fulfilled order.
    pub fn fulfilled_by(&self, user: UserId) -> bool {
        self.fulfilled_redeemers.contains(&user)
    }

    /// `is_redeemed`: any redemption exists, whatever the order state.
    pub fn is_redeemed(&self) -> bool {
        self.all_redemptions > 0 || !self.fulfilled_redeemers.is_empty()
    }

    /// No restriction, or at least one restricted product is in `products`.
    pub fn allows_any_of(&self, mut products: impl Iterator<Item = ProductId>) -> bool {
        self.restricted_to.is_empty() || products.any(|p| self.restricted_to.contains(&p))
    }
}

/// A discount together with the facts of its related rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountRecord {
    /// The discount row.
    pub discount: Discount,
    /// Its redemptions, restrictions, assignments and tier links.
    pub usage: DiscountUsage,
}

impl DiscountRecord {
    /// A discount with no redemptions, restrictions, assignments or tier links.
    pub fn bare(discount: Discount) -> Self {
        DiscountRecord {
            discount,
            usage: DiscountUsage::default(),
        }
    }

    /// Whether the discount is pre-assigned to `user`.
    pub fn is_assigned_to(&self, user: UserId) -> bool {
        self.usage.assigned_to.contains(&user)
    }

    /// Whether this is a flexible-pricing tier discount.
    pub fn is_tier_discount(&self) -> bool {
        self.usage.tier_linked
    }
}

/// `valid_now`: (activation null or ≤ now) and (expiration null or > now).
pub fn valid_now(discount: &Discount, now: Timestamp) -> bool {
    discount.activation_date.is_none_or(|a| a <= now)
        && discount.expiration_date.is_none_or(|e| e > now)
}

/// `redeemable_by` ("check_validity"): refused when a one-time code has any fulfilled
/// redemption, when a one-time-per-user code has one by `user`, or when a cap is reached
/// by fulfilled redemptions; otherwise [`valid_now`]. Redemptions on pending, canceled or
/// errored orders do not count, and user assignment is not checked.
pub fn redeemable_by(record: &DiscountRecord, user: UserId, now: Timestamp) -> bool {
    let d = &record.discount;
    let usage = &record.usage;
    let used_up = match d.redemption_type {
        RedemptionType::OneTime => usage.fulfilled_count() > 0,
        RedemptionType::OneTimePerUser => usage.fulfilled_by(user),
        RedemptionType::Unlimited => false,
    };
    if used_up {
        return false;
    }
    if d.max_redemptions > 0 && usage.fulfilled_count() >= d.max_redemptions as usize {
        return false;
    }
    valid_now(d, now)
}

/// `product_ok`: the discount is unrestricted or one of its products is in the basket;
/// then [`valid_now`].
pub fn product_ok(record: &DiscountRecord, basket: &Basket, now: Timestamp) -> bool {
    record.usage.allows_any_of(basket.product_ids()) && valid_now(&record.discount, now)
}

/// `applicable_to_basket` ("is_valid", used by the v0 basket flows): all of
/// - `allow_finaid` or the payment type is not `financial-assistance`;
/// - unrestricted or a restricted product is in the basket (dates not checked there);
/// - not pre-assigned, or pre-assigned to the basket's user;
/// - no cap, or **all** redemptions (any order state) below the cap;
/// - activation null or now ≥ activation; expiration null or now ≤ expiration (both
///   inclusive, unlike [`valid_now`]).
///
/// It does not look at the redemption type.
pub fn applicable_to_basket(
    record: &DiscountRecord,
    basket: &Basket,
    allow_finaid: bool,
    now: Timestamp,
) -> bool {
    let d = &record.discount;
    let usage = &record.usage;
    let finaid_ok = allow_finaid || d.payment_type != Some(PaymentType::FinancialAssistance);
    let assignment_ok = usage.assigned_to.is_empty()
        || basket
            .user()
            .is_some_and(|user| usage.assigned_to.contains(&user));
    let cap_ok = d.max_redemptions == 0 || usage.all_redemptions < d.max_redemptions;
    let dates_ok =
        d.activation_date.is_none_or(|a| now >= a) && d.expiration_date.is_none_or(|e| now <= e);
    finaid_ok && usage.allows_any_of(basket.product_ids()) && assignment_ok && cap_ok && dates_ok
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use rust_decimal_macros::dec;

    use super::*;
    use crate::pricing::DiscountType;
    use crate::pricing::basket::tests::{LEARNER, OTHER, P, Q, basket_with, discount};

    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn code() -> DiscountRecord {
        DiscountRecord::bare(discount(1, "CODE", DiscountType::PercentOff, dec!(10)))
    }

    #[test]
    fn valid_now_bounds() {
        let n = now();
        let cases = [
            (None, None, true),
            (Some(n), None, true),
            (Some(n + Duration::seconds(1)), None, false),
            (None, Some(n), false),
            (None, Some(n + Duration::seconds(1)), true),
        ];
        for (activation, expiration, expected) in cases {
            let mut d = code().discount;
            d.activation_date = activation;
            d.expiration_date = expiration;
            assert_eq!(valid_now(&d, n), expected, "{activation:?} {expiration:?}");
        }
    }

    #[test]
    fn redeemable_by_counts_fulfilled_redemptions_only() {
        let n = now();
        let mut one_time = code();
        one_time.discount.redemption_type = RedemptionType::OneTime;
        one_time.usage.all_redemptions = 5;
        assert!(redeemable_by(&one_time, LEARNER, n));
        one_time.usage.fulfilled_redeemers = vec![OTHER];
        assert!(!redeemable_by(&one_time, LEARNER, n));

        let mut per_user = code();
        per_user.discount.redemption_type = RedemptionType::OneTimePerUser;
        per_user.usage.fulfilled_redeemers = vec![LEARNER];
        assert!(!redeemable_by(&per_user, LEARNER, n));
        assert!(redeemable_by(&per_user, OTHER, n));

        let mut capped = code();
        capped.discount.max_redemptions = 2;
        capped.usage.fulfilled_redeemers = vec![OTHER];
        assert!(redeemable_by(&capped, LEARNER, n));
        capped.usage.fulfilled_redeemers.push(OTHER);
        assert!(!redeemable_by(&capped, LEARNER, n));

        // User assignment is not checked here.
        let mut assigned = code();
        assigned.usage.assigned_to = vec![OTHER];
        assert!(redeemable_by(&assigned, LEARNER, n));
    }

    #[test]
    fn product_ok_needs_a_restricted_product_in_the_basket() {
        let n = now();
        let basket = basket_with("100.00", None);
        let mut d = code();
        assert!(product_ok(&d, &basket, n));
        d.usage.restricted_to = vec![Q];
        assert!(!product_ok(&d, &basket, n));
        d.usage.restricted_to = vec![Q, P];
        assert!(product_ok(&d, &basket, n));
        d.discount.expiration_date = Some(n);
        assert!(!product_ok(&d, &basket, n));
    }

    #[test]
    fn applicable_to_basket_rules() {
        let n = now();
        let basket = basket_with("100.00", None);

        let mut finaid = code();
        finaid.discount.payment_type = Some(PaymentType::FinancialAssistance);
        assert!(!applicable_to_basket(&finaid, &basket, false, n));
        assert!(applicable_to_basket(&finaid, &basket, true, n));

        let mut assigned = code();
        assigned.usage.assigned_to = vec![OTHER];
        assert!(!applicable_to_basket(&assigned, &basket, false, n));
        assigned.usage.assigned_to.push(LEARNER);
        assert!(applicable_to_basket(&assigned, &basket, false, n));

        // The cap counts redemptions on orders in any state.
        let mut capped = code();
        capped.discount.max_redemptions = 1;
        capped.usage.all_redemptions = 1;
        assert!(!applicable_to_basket(&capped, &basket, false, n));

        // Inclusive dates: expiring exactly now is still applicable (unlike valid_now).
        let mut edge = code();
        edge.discount.expiration_date = Some(n);
        edge.discount.activation_date = Some(n);
        assert!(applicable_to_basket(&edge, &basket, false, n));
        assert!(!valid_now(&edge.discount, n));

        // The redemption type is ignored.
        let mut used = code();
        used.discount.redemption_type = RedemptionType::OneTime;
        used.usage.fulfilled_redeemers = vec![OTHER];
        assert!(applicable_to_basket(&used, &basket, false, n));

        let mut restricted = code();
        restricted.usage.restricted_to = vec![Q];
        assert!(!applicable_to_basket(&restricted, &basket, false, n));
    }
}
