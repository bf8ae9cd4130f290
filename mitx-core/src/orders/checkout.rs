//! Checkout (ecommerce spec 2.3, 3.4, 4.4, 5.1): validation of the basket, the v0 checkout
//! response, the pending-order reuse decision and the order total.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ids::{OrderId, ProductId, ProductVersionId};
use crate::money::Money;
use crate::pricing::{Discount, best_price};

/// Why a checkout was refused (spec 4.4). Display is the error code sent to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CheckoutRejection {
    /// A course-run item's course blocks the user's legal-address country.
    #[error("enroll-blocked")]
    CountryBlocked,
    /// The user already paid for a course run in the basket (fulfilled order).
    #[error("enroll-duplicated")]
    PurchasedSameCourseRun,
    /// The first item is a course run that cannot be upgraded now.
    #[error("course-non-upgradable")]
    NonUpgradableCourseRun,
    /// A basket discount is not redeemable by the user or not valid for the products.
    #[error("discount-invalid")]
    InvalidDiscounts,
    /// A B2B basket needs an enrollment code and has no discount.
    #[error("b2b-error-missing-enrollment-code")]
    B2bMissingEnrollmentCode,
    /// A B2B basket's discount is not linked to the contracts' products.
    #[error("b2b-invalid-basket")]
    B2bInvalidBasket,
    /// The basket has no items.
    #[error("basket-empty")]
    BasketEmpty,
}

impl CheckoutRejection {
    /// The result key of the original checkout payload (`country_blocked`, ...).
    pub fn result_key(self) -> &'static str {
        match self {
            CheckoutRejection::CountryBlocked => "country_blocked",
            CheckoutRejection::PurchasedSameCourseRun => "purchased_same_courserun",
            CheckoutRejection::NonUpgradableCourseRun => "purchased_non_upgradeable_courserun",
            CheckoutRejection::InvalidDiscounts
            | CheckoutRejection::B2bMissingEnrollmentCode
            | CheckoutRejection::B2bInvalidBasket => "invalid_discounts",
            CheckoutRejection::BasketEmpty => "basket_empty",
        }
    }

    /// The error code / user-message type (`enroll-blocked`, ...).
    pub fn error_code(self) -> &'static str {
        match self {
            CheckoutRejection::CountryBlocked => "enroll-blocked",
            CheckoutRejection::PurchasedSameCourseRun => "enroll-duplicated",
            CheckoutRejection::NonUpgradableCourseRun => "course-non-upgradable",
            CheckoutRejection::InvalidDiscounts => "discount-invalid",
            CheckoutRejection::B2bMissingEnrollmentCode => "b2b-error-missing-enrollment-code",
            CheckoutRejection::B2bInvalidBasket => "b2b-invalid-basket",
            CheckoutRejection::BasketEmpty => "basket-empty",
        }
    }

    /// Whether the caller must delete the basket discounts and run the cart refresh
    /// (only for invalid discounts, check 4).
    pub fn resets_basket_discounts(self) -> bool {
        self == CheckoutRejection::InvalidDiscounts
    }

    /// Where the legacy `/checkout/to_payment` redirects: `/dashboard/` for a blocked
    /// country, `/cart/` for everything else (with the error code as message type).
    pub fn legacy_redirect_path(self) -> &'static str {
        match self {
            CheckoutRejection::CountryBlocked => "/dashboard/",
            _ => "/cart/",
        }
    }
}

/// What checkout needs to know about one basket item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckoutItem {
    /// A course-run item.
    CourseRun {
        /// The run's course blocks the user's legal-address country.
        country_blocked: bool,
        /// A `PaidCourseRun` exists for the user and run on a **fulfilled** order (a
        /// refunded purchase no longer counts).
        already_paid: bool,
        /// [`crate::catalog::CourseRun::is_upgradable`] now (live, deadline not passed,
        /// has a product, offers verified).
        upgradable: bool,
    },
    /// A program item (programs are not checked for duplicates).
    Program,
}

/// What checkout needs to know about one basket discount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckoutDiscount {
    /// `redeemable_by(d, user)` (spec 2.5).
    pub redeemable: bool,
    /// `product_ok(d, basket)` (spec 2.5).
    pub product_ok: bool,
    /// The discount is linked to a product of the basket's active B2B contracts.
    pub linked_to_b2b_contract: bool,
}

/// The facts checkout validation runs on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckoutFacts {
    /// The basket items, in basket order.
    pub items: Vec<CheckoutItem>,
    /// The basket discounts (at most one in practice).
    pub discounts: Vec<CheckoutDiscount>,
    /// Skip the discount check (program-paid run upgrade, spec 5.8).
    pub skip_discount_check: bool,
    /// The basket has runs of active B2B contracts and (a contract is paid, or the user is
    /// not a member of a free one): an enrollment code is required.
    pub b2b_requires_enrollment_code: bool,
}

/// Checkout validation (spec 4.4): the first failing check wins.
pub fn validate_checkout(facts: &CheckoutFacts) -> Result<(), CheckoutRejection> {
    let runs = facts.items.iter().filter_map(|item| match item {
        CheckoutItem::CourseRun {
            country_blocked,
            already_paid,
            upgradable,
        } => Some((*country_blocked, *already_paid, *upgradable)),
        CheckoutItem::Program => None,
    });
    if runs.clone().any(|(blocked, _, _)| blocked) {
        return Err(CheckoutRejection::CountryBlocked);
    }
    if runs.clone().any(|(_, paid, _)| paid) {
        return Err(CheckoutRejection::PurchasedSameCourseRun);
    }
    // Only the first item is checked for upgradability, as in the original.
    if let Some(CheckoutItem::CourseRun {
        upgradable: false, ..
    }) = facts.items.first()
    {
        return Err(CheckoutRejection::NonUpgradableCourseRun);
    }
    if !facts.skip_discount_check
        && facts
            .discounts
            .iter()
            .any(|d| !d.redeemable || !d.product_ok)
    {
        return Err(CheckoutRejection::InvalidDiscounts);
    }
    if facts.b2b_requires_enrollment_code {
        if facts.discounts.is_empty() {
            return Err(CheckoutRejection::B2bMissingEnrollmentCode);
        }
        if !facts.discounts.iter().any(|d| d.linked_to_b2b_contract) {
            return Err(CheckoutRejection::B2bInvalidBasket);
        }
    }
    if facts.items.is_empty() {
        return Err(CheckoutRejection::BasketEmpty);
    }
    Ok(())
}

/// The HTTP method the client uses to reach the gateway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum HttpMethod {
    /// Auto-posted form (CyberSource).
    #[default]
    #[serde(rename = "POST")]
    Post,
    /// Plain redirect (Stripe).
    #[serde(rename = "GET")]
    Get,
}

/// A value of the gateway payload: the JSON checkout response shows integer fields as
/// numbers and everything else as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PayloadValue {
    /// A text field.
    Text(String),
    /// An integer field (`line_item_count`, `item_0_quantity`, ...).
    Integer(i64),
}

/// The v0 checkout response: always the six keys, defaulting to
/// `{no_checkout: false, url: "", method: "POST", payload: {}, order_id: 0, error: null}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckoutResponse {
    /// True when the order was free and already fulfilled.
    pub no_checkout: bool,
    /// The gateway URL.
    pub url: String,
    /// How to reach the gateway.
    pub method: HttpMethod,
    /// The gateway payload.
    pub payload: BTreeMap<String, PayloadValue>,
    /// The fulfilled order for `no_checkout`, else 0.
    pub order_id: OrderId,
    /// The error code of a rejected checkout.
    pub error: Option<&'static str>,
}

impl Default for CheckoutResponse {
    fn default() -> Self {
        CheckoutResponse {
            no_checkout: false,
            url: String::new(),
            method: HttpMethod::Post,
            payload: BTreeMap::new(),
            order_id: OrderId(0),
            error: None,
        }
    }
}

impl CheckoutResponse {
    /// A rejected checkout (HTTP 400).
    pub fn rejected(rejection: CheckoutRejection) -> Self {
        CheckoutResponse {
            error: Some(rejection.error_code()),
            ..CheckoutResponse::default()
        }
    }

    /// A zero-total order that was fulfilled without the gateway (HTTP 200).
    pub fn no_checkout(order: OrderId) -> Self {
        CheckoutResponse {
            no_checkout: true,
            order_id: order,
            ..CheckoutResponse::default()
        }
    }

    /// A paid order: go to the gateway (HTTP 200).
    pub fn to_gateway(
        url: String,
        method: HttpMethod,
        payload: BTreeMap<String, PayloadValue>,
    ) -> Self {
        CheckoutResponse {
            url,
            method,
            payload,
            ..CheckoutResponse::default()
        }
    }

    /// 400 when rejected, else 200.
    pub fn http_status(&self) -> u16 {
        if self.error.is_some() { 400 } else { 200 }
    }
}

/// A product cannot be checked out because it has no snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Product {0} is improperly constructed: no versions")]
pub struct NoProductVersions(pub ProductId);

/// The newest snapshot of a product (spec 3.4 step 1); `versions` in any order.
pub fn newest_version(
    product: ProductId,
    versions: &[ProductVersionId],
) -> Result<ProductVersionId, NoProductVersions> {
    versions
        .iter()
        .copied()
        .max()
        .ok_or(NoProductVersions(product))
}

/// An existing pending order of the same user and gateway type, with the snapshots its
/// lines reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOrderCandidate {
    /// The order.
    pub order: OrderId,
    /// The product snapshot of each of its lines.
    pub line_versions: Vec<ProductVersionId>,
}

/// Whether checkout reuses a pending order or creates one (spec 3.4 step 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingOrderPlan {
    /// Reuse this order: delete its redemptions, add redemptions and missing lines,
    /// recompute the total.
    Reuse(OrderId),
    /// Create a new pending order (total 0, reference number assigned after insert).
    Create,
}

/// Reuse the first candidate having **any** line whose snapshot is one of the current
/// snapshots; otherwise create. So an unchanged basket reuses one pending order, and a price
/// change (new snapshot) creates another. A reused order keeps lines for products no longer
/// in the basket (they are excluded from the total but still sent to the gateway), as in
/// the original.
pub fn plan_pending_order(
    candidates: &[PendingOrderCandidate],
    current_versions: &[ProductVersionId],
) -> PendingOrderPlan {
    candidates
        .iter()
        .find(|c| c.line_versions.iter().any(|v| current_versions.contains(v)))
        .map_or(PendingOrderPlan::Create, |c| {
            PendingOrderPlan::Reuse(c.order)
        })
}

/// A line's discounted price: `quantize(best_price(redemption discounts, snapshot price))
/// × quantity`.
pub fn line_discounted_price(price: Money, quantity: u32, discounts: &[Discount]) -> Money {
    best_price(price, discounts).quantize() * quantity
}

/// The order total (`total_price_paid`): the sum of the discounted prices of the lines for
/// the products currently in the basket. Lines are always created with quantity 1, so a
/// basket quantity of 2 is charged once (as in the original).
pub fn order_total(line_prices: &[Money], discounts: &[Discount]) -> Money {
    line_prices
        .iter()
        .map(|p| line_discounted_price(*p, 1, discounts))
        .sum()
}

/// The amount sent to the gateway: quantize(Σ line unit price + Σ tax), tax always 0.
pub fn gateway_amount(line_unit_prices: &[Money]) -> Money {
    line_unit_prices.iter().sum::<Money>().quantize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DiscountId;
    use crate::pricing::DiscountDraft;
    use crate::pricing::{DiscountCode, DiscountType};
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn run(country_blocked: bool, already_paid: bool, upgradable: bool) -> CheckoutItem {
        CheckoutItem::CourseRun {
            country_blocked,
            already_paid,
            upgradable,
        }
    }

    fn ok_run() -> CheckoutItem {
        run(false, false, true)
    }

    fn discount(redeemable: bool, product_ok: bool, linked: bool) -> CheckoutDiscount {
        CheckoutDiscount {
            redeemable,
            product_ok,
            linked_to_b2b_contract: linked,
        }
    }

    fn facts(items: Vec<CheckoutItem>, discounts: Vec<CheckoutDiscount>) -> CheckoutFacts {
        CheckoutFacts {
            items,
            discounts,
            ..CheckoutFacts::default()
        }
    }

    fn percent_off(amount: Decimal) -> Discount {
        DiscountDraft::new(
            DiscountCode::parse("SAVE").unwrap(),
            DiscountType::PercentOff,
            amount,
        )
        .into_discount(DiscountId(1))
    }

    #[test]
    fn ecommerce_s33_empty_basket_response() {
        let rejection = validate_checkout(&facts(vec![], vec![])).unwrap_err();
        assert_eq!(rejection, CheckoutRejection::BasketEmpty);
        assert_eq!(rejection.result_key(), "basket_empty");
        let response = CheckoutResponse::rejected(rejection);
        assert_eq!(response.http_status(), 400);
        assert_eq!(
            response,
            CheckoutResponse {
                error: Some("basket-empty"),
                ..CheckoutResponse::default()
            }
        );
        let d = CheckoutResponse::default();
        assert!(!d.no_checkout && d.url.is_empty() && d.payload.is_empty());
        assert_eq!(
            (d.method, d.order_id, d.error),
            (HttpMethod::Post, OrderId(0), None)
        );
    }

    #[test]
    fn ecommerce_s34_country_blocked() {
        let f = facts(vec![run(true, true, false)], vec![]);
        let r = validate_checkout(&f).unwrap_err();
        assert_eq!(r.to_string(), "enroll-blocked");
        assert_eq!(r.result_key(), "country_blocked");
        assert_eq!(r.legacy_redirect_path(), "/dashboard/");
    }

    #[test]
    fn ecommerce_s35_duplicate_purchase() {
        let f = facts(vec![run(false, true, true)], vec![]);
        assert_eq!(
            validate_checkout(&f).unwrap_err().error_code(),
            "enroll-duplicated"
        );
        // Once that order is refunded the PaidCourseRun no longer counts.
        assert_eq!(validate_checkout(&facts(vec![ok_run()], vec![])), Ok(()));
    }

    #[test]
    fn ecommerce_s36_non_upgradable_first_run() {
        use crate::orders::fixtures::{at, now, run_r};
        let mut r = run_r();
        for (deadline, expected) in [
            (
                Some(at(2026, 2, 28)),
                Err(CheckoutRejection::NonUpgradableCourseRun),
            ),
            (Some(at(2026, 3, 2)), Ok(())),
            (None, Ok(())),
        ] {
            r.upgrade_deadline = deadline;
            let f = facts(
                vec![run(false, false, r.is_upgradable(now(), true))],
                vec![],
            );
            assert_eq!(validate_checkout(&f), expected, "{deadline:?}");
        }
        // Only the first item is checked.
        let f = facts(vec![ok_run(), run(false, false, false)], vec![]);
        assert_eq!(validate_checkout(&f), Ok(()));
        assert_eq!(
            CheckoutRejection::NonUpgradableCourseRun.to_string(),
            "course-non-upgradable"
        );
    }

    #[test]
    fn ecommerce_s37_invalid_discount_resets_basket_discounts() {
        let f = facts(vec![ok_run()], vec![discount(true, false, false)]);
        let r = validate_checkout(&f).unwrap_err();
        assert_eq!(r.error_code(), "discount-invalid");
        assert_eq!(r.result_key(), "invalid_discounts");
        assert!(r.resets_basket_discounts());
        let mut skip = f.clone();
        skip.skip_discount_check = true;
        assert_eq!(validate_checkout(&skip), Ok(()));
        let f = facts(vec![ok_run()], vec![discount(false, true, false)]);
        assert_eq!(
            validate_checkout(&f),
            Err(CheckoutRejection::InvalidDiscounts)
        );
    }

    #[test]
    fn b2b_checks_and_order_of_checks() {
        let mut f = facts(vec![ok_run()], vec![]);
        f.b2b_requires_enrollment_code = true;
        let r = validate_checkout(&f).unwrap_err();
        assert_eq!(
            (r.error_code(), r.result_key(), r.resets_basket_discounts()),
            (
                "b2b-error-missing-enrollment-code",
                "invalid_discounts",
                false
            )
        );
        f.discounts = vec![discount(true, true, false)];
        assert_eq!(
            validate_checkout(&f).unwrap_err().error_code(),
            "b2b-invalid-basket"
        );
        f.discounts = vec![discount(true, true, true)];
        assert_eq!(validate_checkout(&f), Ok(()));
        // An invalid discount is reported before the B2B checks, and a discount left on an
        // empty basket before basket-empty.
        f.discounts = vec![discount(false, true, false)];
        assert_eq!(
            validate_checkout(&f),
            Err(CheckoutRejection::InvalidDiscounts)
        );
        let f = facts(vec![], vec![discount(true, false, false)]);
        assert_eq!(
            validate_checkout(&f),
            Err(CheckoutRejection::InvalidDiscounts)
        );
        // Programs are never duplicates nor non-upgradable.
        assert_eq!(
            validate_checkout(&facts(vec![CheckoutItem::Program], vec![])),
            Ok(())
        );
    }

    #[test]
    fn ecommerce_s38_pending_order_reuse() {
        let (v1, v2) = (ProductVersionId(1), ProductVersionId(2));
        let existing = PendingOrderCandidate {
            order: OrderId(1001),
            line_versions: vec![v1],
        };
        assert_eq!(plan_pending_order(&[], &[v1]), PendingOrderPlan::Create);
        // Same basket again: reuse.
        assert_eq!(
            plan_pending_order(std::slice::from_ref(&existing), &[v1]),
            PendingOrderPlan::Reuse(OrderId(1001))
        );
        // Price changed: a new snapshot, a second pending order.
        assert_eq!(
            plan_pending_order(std::slice::from_ref(&existing), &[v2]),
            PendingOrderPlan::Create
        );
        // Several candidates: the first that shares any snapshot.
        let other = PendingOrderCandidate {
            order: OrderId(1002),
            line_versions: vec![v2, v1],
        };
        assert_eq!(
            plan_pending_order(&[existing, other], &[v2]),
            PendingOrderPlan::Reuse(OrderId(1002))
        );
        assert_eq!(newest_version(ProductId(9), &[v2, v1]), Ok(v2));
        assert_eq!(
            newest_version(ProductId(9), &[]).unwrap_err().to_string(),
            "Product 9 is improperly constructed: no versions"
        );
    }

    #[test]
    fn order_totals() {
        let p = Money::from_cents(100_000);
        let twenty = percent_off(dec!(20));
        assert_eq!(
            order_total(&[p], std::slice::from_ref(&twenty)).amount(),
            dec!(800.00)
        );
        assert_eq!(
            order_total(&[p, Money::from_cents(1005)], &[]).amount(),
            dec!(1010.05)
        );
        // Half-to-even on each line: $10.05 at 50% → 5.02.
        let half = percent_off(dec!(50));
        assert_eq!(
            line_discounted_price(Money::from_cents(1005), 2, std::slice::from_ref(&half)).amount(),
            dec!(10.04)
        );
        assert_eq!(order_total(&[p], &[percent_off(dec!(100))]), Money::ZERO);
        assert_eq!(
            gateway_amount(&[Money::from_cents(80_000)]).to_price_string(),
            "800.00"
        );
    }

    #[test]
    fn ecommerce_s46_full_discount_fulfils_without_gateway() {
        use crate::orders::fulfilment::{
            PaymentPayload, ZERO_PAYMENT_PAYLOAD, payment_transaction,
        };
        use crate::orders::state::OrderState;
        use crate::orders::transition::tests::ctx;
        use crate::orders::transition::{Effect, Event, transition};
        let total = order_total(&[Money::from_cents(100_000)], &[percent_off(dec!(100))]);
        assert!(total.is_zero());
        let fresh = uuid::Uuid::from_u128(9);
        let payment = payment_transaction(
            total,
            &PaymentPayload::Administrative(ZERO_PAYMENT_PAYLOAD),
            fresh,
        )
        .unwrap();
        assert_eq!(payment.amount, Money::ZERO);
        assert_eq!(
            payment.transaction_id.as_str(),
            fresh.hyphenated().to_string()
        );
        let t = transition(
            OrderState::Pending,
            &Event::ZeroTotalCheckout { payment },
            &ctx(),
        )
        .unwrap();
        assert_eq!((t.rule, t.to), ("T2", OrderState::Fulfilled));
        assert!(
            t.effects
                .iter()
                .any(|e| matches!(e, Effect::EnrollVerified { .. }))
        );
        let response = CheckoutResponse::no_checkout(OrderId(1001));
        assert_eq!(
            (response.no_checkout, response.order_id),
            (true, OrderId(1001))
        );
    }

    #[test]
    fn ecommerce_s47_free_program_product_fulfils_the_program() {
        use crate::ids::{ProgramId, UserId};
        use crate::orders::state::OrderState;
        use crate::orders::transaction::TransactionId;
        use crate::orders::transition::tests::ctx;
        use crate::orders::transition::{Effect, Event, transition};
        use crate::orders::uai::tests::program_item;
        assert!(order_total(&[Money::ZERO], &[]).is_zero());
        let mut c = ctx();
        c.items = vec![program_item(5, "program-v1:MITx+DEDP")];
        let payment = crate::orders::transaction::PaymentTransaction {
            transaction_id: TransactionId::from_uuid(uuid::Uuid::from_u128(5)),
            amount: Money::ZERO,
        };
        let t = transition(
            OrderState::Pending,
            &Event::ZeroTotalCheckout { payment },
            &c,
        )
        .unwrap();
        let (user, program) = (UserId(7), ProgramId(5));
        assert!(
            t.effects
                .contains(&Effect::CreateProgramEnrollment { user, program })
        );
        assert!(t.effects.contains(&Effect::CreatePaidProgram {
            user,
            program,
            order: c.order
        }));
    }

    #[test]
    fn ecommerce_s46_zero_total_response() {
        let r = CheckoutResponse::no_checkout(OrderId(1001));
        assert_eq!(r.http_status(), 200);
        assert!(r.no_checkout);
        assert_eq!(r.order_id, OrderId(1001));
        assert_eq!(r.error, None);
    }
}
