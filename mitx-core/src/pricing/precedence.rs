//! Which discount ends up in a basket (ecommerce spec 2.6 and 4.3).
//!
//! A basket holds at most one discount. These rules decide, from plain data, whether a
//! candidate replaces the current one and why; the caller performs the upsert/delete.
//! - [`apply`]: the v0 precedence used by every v0 basket endpoint;
//! - [`decide_redeem`]: the legacy `redeem_discount` endpoint, with its finaid comparison
//!   ([`legacy_finaid_choice`]);
//! - [`legacy_cart_refresh`]: the legacy cart refresh (`apply_user_discounts`);
//! - [`auto_apply_set`] and [`rederive_basket_discount`]: the v0 re-derivation after an
//!   item is added.

use serde::{Deserialize, Serialize};

use super::basket::Basket;
use super::validity::{DiscountRecord, applicable_to_basket, product_ok, redeemable_by};
use super::{Discount, DiscountCode, PaymentType, best_price, valid_now};
use crate::Timestamp;
use crate::ids::{DiscountId, UserId};
use crate::money::Money;

/// Why [`apply`] stores the candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetReason {
    /// The basket had no discount, or no items.
    Vacant,
    /// The candidate is pre-assigned to the basket user; it wins regardless of price
    /// (the current discount is not a tier discount).
    AssignedToUser,
    /// A tier (finaid) discount replaces a user-assigned one.
    TierOverAssigned,
    /// The candidate gives an equal or lower price on some item (ties go to the newcomer).
    NotMoreExpensive,
}

/// Why [`apply`] keeps the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepReason {
    /// Anonymous baskets cannot hold discounts (a basket discount needs a redeeming user).
    AnonymousBasket,
    /// The candidate fails [`applicable_to_basket`].
    NotApplicable,
    /// A user-assigned candidate never replaces a tier discount.
    TierDiscountHeld,
    /// A tier candidate was offered without `allow_finaid`.
    FinaidNotAllowed,
    /// The current discount is user-assigned and the candidate is not a tier discount.
    AssignedDiscountHeld,
    /// No item gets a non-zero price at or below its current discounted price.
    NotCheaper,
}

/// The outcome of [`apply`]: set the candidate as the basket discount, or change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "kebab-case")]
pub enum ApplyDecision {
    /// Upsert the single basket discount `(basket user, basket)` with the candidate,
    /// redemption date = now.
    Set(SetReason),
    /// Leave the basket unchanged.
    Keep(KeepReason),
}

impl ApplyDecision {
    /// Whether the candidate is to be stored.
    pub fn is_set(self) -> bool {
        matches!(self, ApplyDecision::Set(_))
    }
}

/// The quantized price of one unit under a single discount (never above the list price).
fn unit_price_under(price: Money, discount: &Discount) -> Money {
    best_price(price, [discount]).quantize()
}

/// v0 `apply(basket, d, allow_finaid)`:
/// 1. not [`applicable_to_basket`] → keep;
/// 2. no current discount or no items → set;
/// 3. candidate assigned to the basket user → keep if the current one is a tier discount,
///    else set (regardless of value);
/// 4. candidate is a tier discount without `allow_finaid` → keep;
/// 5. current discount assigned to the basket user → set only a tier candidate;
/// 6. otherwise set when, for some item, the candidate's unit price (only if the candidate
///    is [`redeemable_by`] the user) is non-zero and ≤ the item's current discounted
///    price. Quirks kept: a candidate producing $0.00 never wins here, and the item's
///    discounted price includes its quantity while the candidate's is per unit.
pub fn apply(
    basket: &Basket,
    candidate: &DiscountRecord,
    allow_finaid: bool,
    now: Timestamp,
) -> ApplyDecision {
    let Some(user) = basket.user() else {
        return ApplyDecision::Keep(KeepReason::AnonymousBasket);
    };
    if !applicable_to_basket(candidate, basket, allow_finaid, now) {
        return ApplyDecision::Keep(KeepReason::NotApplicable);
    }
    let current = match &basket.discount {
        Some(current) if !basket.is_empty() => current,
        _ => return ApplyDecision::Set(SetReason::Vacant),
    };
    if candidate.is_assigned_to(user) {
        return if current.is_tier_discount() {
            ApplyDecision::Keep(KeepReason::TierDiscountHeld)
        } else {
            ApplyDecision::Set(SetReason::AssignedToUser)
        };
    }
    if candidate.is_tier_discount() && !allow_finaid {
        return ApplyDecision::Keep(KeepReason::FinaidNotAllowed);
    }
    if current.is_assigned_to(user) {
        return if candidate.is_tier_discount() {
            ApplyDecision::Set(SetReason::TierOverAssigned)
        } else {
            ApplyDecision::Keep(KeepReason::AssignedDiscountHeld)
        };
    }
    let redeemable = redeemable_by(candidate, user, now);
    let cheaper = redeemable
        && basket.items.iter().any(|item| {
            let test = unit_price_under(item.unit_price, &candidate.discount);
            !test.is_zero() && basket.item_discounted_price(item) >= test
        });
    if cheaper {
        ApplyDecision::Set(SetReason::NotMoreExpensive)
    } else {
        ApplyDecision::Keep(KeepReason::NotCheaper)
    }
}

/// The v0 re-derivation after an item is added (signed-in users): the current discount
/// and then every auto-apply candidate are applied in turn with `allow_finaid = true`
/// to a basket whose discount was cleared, then the typed code (if it exists) with
/// `allow_finaid = false`. Returns the discount the basket ends up with.
pub fn rederive_basket_discount(
    basket: &Basket,
    auto_apply: &[DiscountRecord],
    typed_code: Option<&DiscountRecord>,
    now: Timestamp,
) -> Option<DiscountRecord> {
    let mut working = basket.clone();
    let current = working.discount.take();
    let finaid_allowed = current.iter().chain(auto_apply).map(|d| (d, true));
    let typed = typed_code.map(|d| (d, false));
    for (candidate, allow_finaid) in finaid_allowed.chain(typed) {
        if apply(&working, candidate, allow_finaid, now).is_set() {
            working.discount = Some(candidate.clone());
        }
    }
    working.discount
}

/// The auto-apply set of a basket: date-valid discounts (activation ≤ now or null,
/// expiration > now or null) that are pre-assigned to the basket user, or are the finaid
/// discount of a basket product for that user (`finaid` ids), or are `automatic`.
/// Product restrictions are not filtered here ([`apply`] filters them). Anonymous
/// baskets get nothing. Input order is kept; duplicates are dropped.
pub fn auto_apply_set<'a>(
    basket: &Basket,
    candidates: &'a [DiscountRecord],
    finaid: &[DiscountId],
    now: Timestamp,
) -> Vec<&'a DiscountRecord> {
    let Some(user) = basket.user() else {
        return Vec::new();
    };
    let mut chosen: Vec<&DiscountRecord> = Vec::new();
    for record in candidates {
        let d = &record.discount;
        let eligible = record.is_assigned_to(user) || finaid.contains(&d.id) || d.automatic;
        if eligible && valid_now(d, now) && !chosen.iter().any(|c| c.discount.id == d.id) {
            chosen.push(record);
        }
    }
    chosen
}

/// Which discount the legacy redeem endpoint stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedeemChoice {
    /// The submitted code.
    Code,
    /// The learner's finaid (tier) discount, which gives a strictly lower price.
    Finaid,
}

/// The legacy finaid comparison: the finaid discount is stored instead of the code only
/// when it gives a strictly lower (quantized) unit price for the basket product.
pub fn legacy_finaid_choice(
    code: &Discount,
    finaid: Option<&Discount>,
    price: Money,
) -> RedeemChoice {
    match finaid {
        Some(finaid) if unit_price_under(price, finaid) < unit_price_under(price, code) => {
            RedeemChoice::Finaid
        }
        _ => RedeemChoice::Code,
    }
}

/// Why the legacy redeem endpoint refused a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedeemError {
    /// The caller has no basket (HTTP 406).
    #[error("No basket")]
    NoBasket,
    /// Unknown code, a financial-assistance code, or one failing `product_ok` /
    /// `redeemable_by` (HTTP 404). Carries the code exactly as submitted.
    #[error("Discount '{0}' not found.")]
    NotFound(String),
}

/// What the legacy redeem endpoint does on success: replace the basket discount with
/// `store` and answer `{"message": "Discount applied", "code": code}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemDecision {
    /// The discount to store (replacing any existing basket discount).
    pub store: DiscountId,
    /// The stored discount's code (the tier code when finaid won).
    pub code: DiscountCode,
    /// Whether the code or the finaid discount was stored.
    pub choice: RedeemChoice,
}

impl RedeemDecision {
    /// The success message of the endpoint.
    pub const MESSAGE: &'static str = "Discount applied";
}

/// The code to look up for a submitted text: surrounding whitespace trimmed (lookups are
/// then exact and case-sensitive).
pub fn redeem_lookup_key(submitted: &str) -> &str {
    submitted.trim()
}

/// The legacy `POST /api/checkout/redeem_discount/` decision for a signed-in `user`
/// (anonymous callers are refused with 403 before this):
/// 1. no basket → [`RedeemError::NoBasket`];
/// 2. `found` (the discount whose code is exactly [`redeem_lookup_key`]) must exist, not
///    be `financial-assistance`, pass [`product_ok`] and [`redeemable_by`], else
///    [`RedeemError::NotFound`] with the code as submitted;
/// 3. the basket discount is replaced; `finaid` (the user's finaid discount for the first
///    basket product) is stored instead when it is strictly cheaper.
///
/// The original assumed exactly one item and crashed otherwise; mitx compares against
/// the first item and skips the comparison for an empty basket.
pub fn decide_redeem(
    submitted: &str,
    user: UserId,
    basket: Option<&Basket>,
    found: Option<&DiscountRecord>,
    finaid: Option<&Discount>,
    now: Timestamp,
) -> Result<RedeemDecision, RedeemError> {
    let basket = basket.ok_or(RedeemError::NoBasket)?;
    let key = redeem_lookup_key(submitted);
    let not_found = || RedeemError::NotFound(submitted.to_owned());
    let record = found
        .filter(|r| r.discount.code.as_str() == key)
        .ok_or_else(not_found)?;
    let code = &record.discount;
    if code.payment_type == Some(PaymentType::FinancialAssistance)
        || !product_ok(record, basket, now)
        || !redeemable_by(record, user, now)
    {
        return Err(not_found());
    }
    let choice = match basket.items.first() {
        Some(item) => legacy_finaid_choice(code, finaid, item.unit_price),
        None => RedeemChoice::Code,
    };
    let stored = match (choice, finaid) {
        (RedeemChoice::Finaid, Some(finaid)) => finaid,
        _ => code,
    };
    Ok(RedeemDecision {
        store: stored.id,
        code: stored.code.clone(),
        choice,
    })
}

/// What the legacy cart refresh does to a basket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CartRefresh {
    /// Delete the current basket discount (it is a financial-assistance one).
    pub remove_current: bool,
    /// Attach this discount afterwards.
    pub attach: Option<DiscountId>,
}

/// The legacy cart refresh (`apply_user_discounts`, on cart view and after claiming an
/// anonymous basket): a `financial-assistance` basket discount is removed; if another
/// discount remains, or the basket is empty, nothing more happens; otherwise the
/// candidate is the finaid discount of the **first** item's product, else the user's
/// first pre-assigned discount, attached only if [`product_ok`] and [`redeemable_by`].
/// The `automatic` flag is ignored here.
pub fn legacy_cart_refresh(
    basket: &Basket,
    finaid_for_first_item: Option<&DiscountRecord>,
    first_user_discount: Option<&DiscountRecord>,
    now: Timestamp,
) -> CartRefresh {
    let remove_current = basket.discount.as_ref().is_some_and(|current| {
        current.discount.payment_type == Some(PaymentType::FinancialAssistance)
    });
    let other_remains = basket.discount.is_some() && !remove_current;
    let mut refresh = CartRefresh {
        remove_current,
        attach: None,
    };
    if other_remains || basket.is_empty() {
        return refresh;
    }
    let Some(user) = basket.user() else {
        return refresh;
    };
    if let Some(candidate) = finaid_for_first_item.or(first_user_discount)
        && product_ok(candidate, basket, now)
        && redeemable_by(candidate, user, now)
    {
        refresh.attach = Some(candidate.discount.id);
    }
    refresh
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use rust_decimal_macros::dec;

    use super::*;
    use crate::pricing::basket::tests::{
        LEARNER, OTHER, P, Q, basket_with, discount, money, record,
    };
    use crate::pricing::{DiscountType, RedemptionType};

    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn code_record(code: &str) -> DiscountRecord {
        record(discount(100, code, DiscountType::PercentOff, dec!(20)))
    }

    /// Redeems `code` in L's basket holding P at 1000.00.
    fn redeem(found: &DiscountRecord) -> Result<RedeemDecision, RedeemError> {
        let basket = basket_with("1000.00", None);
        let submitted = found.discount.code.as_str();
        decide_redeem(submitted, LEARNER, Some(&basket), Some(found), None, now())
    }

    fn not_found(code: &str) -> Result<RedeemDecision, RedeemError> {
        Err(RedeemError::NotFound(code.to_owned()))
    }

    #[test]
    fn ecommerce_s12_one_time_code_fulfilled_by_another_user_is_not_found() {
        let mut d = code_record("CODE");
        d.discount.redemption_type = RedemptionType::OneTime;
        d.usage.fulfilled_redeemers = vec![OTHER];
        d.usage.all_redemptions = 1;
        let err = redeem(&d).unwrap_err();
        assert_eq!(err.to_string(), "Discount 'CODE' not found.");
    }

    #[test]
    fn ecommerce_s13_redemption_on_canceled_order_does_not_count() {
        let mut d = code_record("CODE");
        d.discount.redemption_type = RedemptionType::OneTime;
        d.usage.all_redemptions = 1; // the canceled order's redemption
        let ok = redeem(&d).unwrap();
        assert_eq!(ok.store, d.discount.id);
        assert_eq!(RedeemDecision::MESSAGE, "Discount applied");
    }

    #[test]
    fn ecommerce_s14_one_time_per_user() {
        let mut d = code_record("CODE");
        d.discount.redemption_type = RedemptionType::OneTimePerUser;
        d.usage.fulfilled_redeemers = vec![LEARNER];
        assert_eq!(redeem(&d), not_found("CODE"));
        let basket_b = Basket {
            owner: crate::pricing::BasketOwner::User(OTHER),
            ..basket_with("1000.00", None)
        };
        let for_b = decide_redeem("CODE", OTHER, Some(&basket_b), Some(&d), None, now());
        assert!(for_b.is_ok());
    }

    #[test]
    fn ecommerce_s15_max_redemptions_counts_fulfilled() {
        let mut d = code_record("CODE");
        d.discount.max_redemptions = 3;
        d.usage.fulfilled_redeemers = vec![OTHER; 3];
        assert_eq!(redeem(&d), not_found("CODE"));
        d.usage.fulfilled_redeemers = vec![OTHER; 2];
        assert!(redeem(&d).is_ok());
    }

    #[test]
    fn ecommerce_s16_dates() {
        let n = now();
        let cases = [
            (None, Some(n - Duration::days(1)), false),
            (Some(n + Duration::days(1)), None, false),
            (
                Some(n - Duration::days(30)),
                Some(n + Duration::days(30)),
                true,
            ),
        ];
        for (activation, expiration, ok) in cases {
            let mut d = code_record("CODE");
            d.discount.activation_date = activation;
            d.discount.expiration_date = expiration;
            assert_eq!(redeem(&d).is_ok(), ok, "{activation:?} {expiration:?}");
        }
    }

    #[test]
    fn ecommerce_s17_product_restriction() {
        let mut d = code_record("CODE");
        d.usage.restricted_to = vec![Q];
        assert_eq!(redeem(&d), not_found("CODE"));
        d.usage.restricted_to = vec![P];
        assert!(redeem(&d).is_ok());
    }

    #[test]
    fn ecommerce_s18_financial_assistance_code_cannot_be_typed() {
        let mut d = code_record("CODE");
        d.discount.payment_type = Some(PaymentType::FinancialAssistance);
        assert_eq!(redeem(&d), not_found("CODE"));
    }

    #[test]
    fn ecommerce_s19_submitted_code_is_trimmed() {
        let d = code_record("SAVE20");
        let basket = basket_with("1000.00", None);
        assert_eq!(redeem_lookup_key("  SAVE20 "), "SAVE20");
        let ok = decide_redeem("  SAVE20 ", LEARNER, Some(&basket), Some(&d), None, now()).unwrap();
        assert_eq!(ok.code.as_str(), "SAVE20");
        // An unknown code echoes the text exactly as submitted.
        let err = decide_redeem("  NOPE ", LEARNER, Some(&basket), None, None, now());
        assert_eq!(
            err.unwrap_err().to_string(),
            "Discount '  NOPE ' not found."
        );
    }

    #[test]
    fn ecommerce_s20_no_basket() {
        let d = code_record("CODE");
        let err = decide_redeem("CODE", LEARNER, None, Some(&d), None, now()).unwrap_err();
        assert_eq!(err, RedeemError::NoBasket);
        assert_eq!(err.to_string(), "No basket");
    }

    #[test]
    fn ecommerce_s21_finaid_comparison_on_redeem() {
        let basket = basket_with("1000.00", None);
        let tier = discount(7, "P-fa-tier2-2026", DiscountType::PercentOff, dec!(50));
        let hundred_off = record(discount(8, "HUNDRED", DiscountType::DollarsOff, dec!(100)));
        let sixty = record(discount(9, "SIXTY", DiscountType::PercentOff, dec!(60)));

        let got = decide_redeem(
            "HUNDRED",
            LEARNER,
            Some(&basket),
            Some(&hundred_off),
            Some(&tier),
            now(),
        )
        .unwrap();
        assert_eq!(got.choice, RedeemChoice::Finaid);
        assert_eq!(got.store, tier.id);
        assert_eq!(got.code.as_str(), "P-fa-tier2-2026");

        let got = decide_redeem(
            "SIXTY",
            LEARNER,
            Some(&basket),
            Some(&sixty),
            Some(&tier),
            now(),
        )
        .unwrap();
        assert_eq!(got.choice, RedeemChoice::Code);
        assert_eq!(got.code.as_str(), "SIXTY");

        // Equal prices keep the code (strictly lower needed).
        let fifty = discount(10, "FIFTY", DiscountType::PercentOff, dec!(50));
        assert_eq!(
            legacy_finaid_choice(&fifty, Some(&tier), money("1000.00")),
            RedeemChoice::Code
        );
    }

    fn basket_holding(d: DiscountRecord) -> Basket {
        Basket {
            discount: Some(d),
            ..basket_with("1000.00", None)
        }
    }

    #[test]
    fn ecommerce_s30_v0_apply_keeps_the_cheaper_discount() {
        let n = now();
        let d1 = record(discount(1, "D1", DiscountType::PercentOff, dec!(50)));
        let d2 = record(discount(2, "D2", DiscountType::PercentOff, dec!(60)));
        let d3 = record(discount(3, "D3", DiscountType::PercentOff, dec!(10)));
        let basket = basket_holding(d1);
        assert_eq!(
            apply(&basket, &d2, false, n),
            ApplyDecision::Set(SetReason::NotMoreExpensive)
        );
        assert_eq!(
            apply(&basket, &d3, false, n),
            ApplyDecision::Keep(KeepReason::NotCheaper)
        );
    }

    #[test]
    fn ecommerce_s31_user_assigned_discount_beats_cheaper_code() {
        let mut assigned = record(discount(1, "MINE", DiscountType::FixedPrice, dec!(200)));
        assigned.usage.assigned_to = vec![LEARNER];
        let fifty = record(discount(2, "FIFTY", DiscountType::FixedPrice, dec!(50)));
        let basket = basket_holding(assigned);
        assert_eq!(
            apply(&basket, &fifty, false, now()),
            ApplyDecision::Keep(KeepReason::AssignedDiscountHeld)
        );
    }

    #[test]
    fn ecommerce_s32_tier_beats_assigned_and_cheaper_code_beats_tier() {
        let n = now();
        let mut assigned = record(discount(1, "MINE", DiscountType::FixedPrice, dec!(200)));
        assigned.usage.assigned_to = vec![LEARNER];
        let mut tier = record(discount(2, "TIER", DiscountType::FixedPrice, dec!(100)));
        tier.discount.payment_type = Some(PaymentType::FinancialAssistance);
        tier.usage.tier_linked = true;
        let fifty = record(discount(3, "FIFTY", DiscountType::FixedPrice, dec!(50)));

        let mut basket = basket_holding(assigned.clone());
        assert_eq!(
            apply(&basket, &tier, true, n),
            ApplyDecision::Set(SetReason::TierOverAssigned)
        );
        basket.discount = Some(tier.clone());
        assert_eq!(basket.discounted_price(), money("100.00"));

        assert_eq!(
            apply(&basket, &assigned, true, n),
            ApplyDecision::Keep(KeepReason::TierDiscountHeld)
        );
        // Without allow_finaid the tier candidate would not even be applicable.
        let empty = basket_with("1000.00", None);
        assert_eq!(
            apply(&empty, &tier, false, n),
            ApplyDecision::Keep(KeepReason::NotApplicable)
        );

        assert_eq!(
            apply(&basket, &fifty, false, n),
            ApplyDecision::Set(SetReason::NotMoreExpensive)
        );
        basket.discount = Some(fifty);
        assert_eq!(basket.discounted_price(), money("50.00"));
    }

    #[test]
    fn apply_vacant_zero_price_and_anonymous() {
        let n = now();
        let free = record(discount(1, "FREE", DiscountType::PercentOff, dec!(100)));
        assert_eq!(
            apply(&basket_with("1000.00", None), &free, false, n),
            ApplyDecision::Set(SetReason::Vacant)
        );
        // Quirk: a $0.00 candidate never wins the comparison.
        let held = basket_holding(record(discount(
            2,
            "TEN",
            DiscountType::PercentOff,
            dec!(10),
        )));
        assert_eq!(
            apply(&held, &free, false, n),
            ApplyDecision::Keep(KeepReason::NotCheaper)
        );
        // Ties go to the newcomer.
        let same = record(discount(3, "TEN2", DiscountType::PercentOff, dec!(10)));
        assert!(apply(&held, &same, false, n).is_set());
        let anonymous = Basket {
            owner: crate::pricing::BasketOwner::Anonymous(uuid::Uuid::nil()),
            ..basket_with("1000.00", None)
        };
        assert_eq!(
            apply(&anonymous, &same, false, n),
            ApplyDecision::Keep(KeepReason::AnonymousBasket)
        );
    }

    #[test]
    fn rederive_applies_auto_set_then_typed_code() {
        let n = now();
        let mut tier = record(discount(2, "TIER", DiscountType::PercentOff, dec!(50)));
        tier.discount.payment_type = Some(PaymentType::FinancialAssistance);
        tier.usage.tier_linked = true;
        let auto = record(Discount {
            automatic: true,
            ..discount(3, "AUTO", DiscountType::PercentOff, dec!(10))
        });
        let typed = record(discount(4, "SIXTY", DiscountType::PercentOff, dec!(60)));
        let basket = basket_with("1000.00", None);
        let candidates = [auto.clone(), tier.clone()];
        let set = auto_apply_set(&basket, &candidates, &[tier.discount.id], n);
        assert_eq!(set.len(), 2);
        let owned: Vec<DiscountRecord> = set.into_iter().cloned().collect();
        let got = rederive_basket_discount(&basket, &owned, None, n).unwrap();
        assert_eq!(got.discount.id, tier.discount.id);
        let got = rederive_basket_discount(&basket, &owned, Some(&typed), n).unwrap();
        assert_eq!(got.discount.id, typed.discount.id);
    }

    #[test]
    fn auto_apply_set_filters_dates_and_eligibility() {
        let n = now();
        let plain = record(discount(1, "PLAIN", DiscountType::PercentOff, dec!(10)));
        let mut assigned = record(discount(2, "MINE", DiscountType::PercentOff, dec!(10)));
        assigned.usage.assigned_to = vec![LEARNER];
        let mut expired = assigned.clone();
        expired.discount.id = DiscountId(3);
        expired.discount.expiration_date = Some(n);
        let candidates = [plain, assigned.clone(), expired, assigned];
        let basket = basket_with("1000.00", None);
        let ids: Vec<i64> = auto_apply_set(&basket, &candidates, &[], n)
            .iter()
            .map(|r| r.discount.id.0)
            .collect();
        assert_eq!(ids, vec![2]);
    }

    #[test]
    fn legacy_cart_refresh_rules() {
        let n = now();
        let mut finaid_current = record(discount(1, "TIER", DiscountType::PercentOff, dec!(50)));
        finaid_current.discount.payment_type = Some(PaymentType::FinancialAssistance);
        let mut mine = record(discount(2, "MINE", DiscountType::PercentOff, dec!(10)));
        mine.usage.assigned_to = vec![LEARNER];

        // Finaid basket discount removed, then the finaid candidate re-attached.
        let basket = basket_holding(finaid_current.clone());
        let got = legacy_cart_refresh(&basket, Some(&finaid_current), Some(&mine), n);
        assert_eq!(
            got,
            CartRefresh {
                remove_current: true,
                attach: Some(finaid_current.discount.id)
            }
        );
        // Another discount remains → stop.
        let basket = basket_holding(mine.clone());
        let got = legacy_cart_refresh(&basket, Some(&finaid_current), None, n);
        assert_eq!(
            got,
            CartRefresh {
                remove_current: false,
                attach: None
            }
        );
        // Falls back to the user's first assigned discount.
        let got = legacy_cart_refresh(&basket_with("1000.00", None), None, Some(&mine), n);
        assert_eq!(got.attach, Some(mine.discount.id));
        // The chosen candidate must pass product_ok; no fallback when it fails.
        let mut restricted = finaid_current.clone();
        restricted.usage.restricted_to = vec![Q];
        let got = legacy_cart_refresh(
            &basket_with("1000.00", None),
            Some(&restricted),
            Some(&mine),
            n,
        );
        assert_eq!(got.attach, None);
        // Empty basket → nothing.
        let mut empty = basket_with("1000.00", None);
        empty.items.clear();
        assert_eq!(
            legacy_cart_refresh(&empty, None, Some(&mine), n).attach,
            None
        );
    }
}
