//! B2B enrollment: `POST /api/v0/b2b/enroll/{courseware_id}/` (pricing-and-b2b spec 5.7).
//!
//! The flow is: look up the run and its single active product, run the checks below
//! (first failure wins), then replace the basket with the product and one enrollment code,
//! and decide by the basket total whether to check out at once.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Contract;
use super::codes::enrollment_code_draft;
use crate::Timestamp;
use crate::catalog::{CourseRun, EnrollmentMode};
use crate::enrollment::RunEnrollment;
use crate::ids::{DiscountId, OrderId, ProductId, ProgramId, UserId};
use crate::money::Money;
use crate::pricing::{DiscountDraft, RedemptionType};

/// The `result` values of the enroll endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum B2bEnrollResult {
    /// `b2b-enroll-success` (201).
    Success,
    /// `b2b-disallowed`: not signed in.
    Disallowed,
    /// `b2b-error-no-product`: the product's run has no contract.
    NoProduct,
    /// `b2b-error-not-enrollable`: the run is closed or its seats are taken.
    NotEnrollable,
    /// `b2b-error-no-contract`: contract not active, or the user is not attached.
    NoContract,
    /// `b2b-error-requires-checkout`: the basket has to be paid (or checkout refused).
    RequiresCheckout,
}

impl B2bEnrollResult {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            B2bEnrollResult::Success => "b2b-enroll-success",
            B2bEnrollResult::Disallowed => "b2b-disallowed",
            B2bEnrollResult::NoProduct => "b2b-error-no-product",
            B2bEnrollResult::NotEnrollable => "b2b-error-not-enrollable",
            B2bEnrollResult::NoContract => "b2b-error-no-contract",
            B2bEnrollResult::RequiresCheckout => "b2b-error-requires-checkout",
        }
    }

    /// 201 for success, 400 otherwise.
    pub fn http_status(self) -> u16 {
        match self {
            B2bEnrollResult::Success => 201,
            _ => 400,
        }
    }
}

/// The run cannot be enrolled through this endpoint at all. The original crashed (500);
/// mitx answers 404.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollLookupError {
    /// No run with that courseware id, or the run has no contract.
    #[error("No contract course run found for this courseware id.")]
    RunNotFound,
    /// The run does not have exactly one active product.
    #[error("The course run must have exactly one active product; it has {0}.")]
    ActiveProducts(usize),
}

impl EnrollLookupError {
    /// The HTTP status (404).
    pub fn http_status(&self) -> u16 {
        404
    }
}

/// The run's single active product. `products` are the run's products with their active
/// flag.
pub fn single_active_product(
    products: &[(ProductId, bool)],
) -> Result<ProductId, EnrollLookupError> {
    let active: Vec<ProductId> = products
        .iter()
        .filter(|(_, a)| *a)
        .map(|(p, _)| *p)
        .collect();
    match active.as_slice() {
        [one] => Ok(*one),
        other => Err(EnrollLookupError::ActiveProducts(other.len())),
    }
}

/// "Enrollable for B2B": the run has a contract, its seats (if capped) are not all taken
/// by active enrollments with no change status in this run, and the run is enrollable.
pub fn is_enrollable_for_b2b(
    run: &CourseRun,
    contract: Option<&Contract>,
    active_enrollments_in_run: u32,
    now: Timestamp,
) -> bool {
    let Some(contract) = contract.filter(|_| run.is_b2b()) else {
        return false;
    };
    let seats_left = contract
        .seat_cap()
        .is_none_or(|cap| active_enrollments_in_run < cap);
    seats_left && run.is_enrollable(now)
}

/// What the checks read.
#[derive(Clone, Copy, Debug)]
pub struct EnrollCheckInput<'a> {
    /// `None` when not signed in.
    pub user: Option<UserId>,
    /// The run of the courseware id.
    pub run: &'a CourseRun,
    /// The contract of the product's run, if any.
    pub contract: Option<&'a Contract>,
    /// Active enrollments with no change status in this run (all learners).
    pub active_enrollments_in_run: u32,
    /// The user is attached to the contract.
    pub user_attached: bool,
    /// The user's enrollment in the run, if any.
    pub user_enrollment: Option<&'a RunEnrollment>,
    /// An order of the user containing this product, for the already-enrolled answer.
    pub order_with_product: Option<OrderId>,
    /// Today's UTC date (contract dates).
    pub today: NaiveDate,
    /// The current instant (run dates).
    pub now: Timestamp,
}

/// The verdict of the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnrollCheck {
    /// Answer 400 with this result.
    Refused(B2bEnrollResult),
    /// Already actively enrolled as verified: answer 201 success with this order (or "").
    AlreadyEnrolled {
        /// An order of the user containing the product.
        order: Option<OrderId>,
    },
    /// Go on with the basket.
    Proceed,
}

/// The enroll checks, first failure wins: anonymous → `b2b-disallowed`; no contract →
/// `b2b-error-no-product`; not enrollable for B2B → `b2b-error-not-enrollable` (before
/// the contract checks); contract not active or user not attached →
/// `b2b-error-no-contract`; an active verified enrollment with no change status →
/// success without a new order.
pub fn check_b2b_enroll(input: &EnrollCheckInput<'_>) -> EnrollCheck {
    if input.user.is_none() {
        return EnrollCheck::Refused(B2bEnrollResult::Disallowed);
    }
    let Some(contract) = input.contract else {
        return EnrollCheck::Refused(B2bEnrollResult::NoProduct);
    };
    if !is_enrollable_for_b2b(
        input.run,
        Some(contract),
        input.active_enrollments_in_run,
        input.now,
    ) {
        return EnrollCheck::Refused(B2bEnrollResult::NotEnrollable);
    }
    if !contract.is_active_on(input.today) || !input.user_attached {
        return EnrollCheck::Refused(B2bEnrollResult::NoContract);
    }
    let enrolled = input.user_enrollment.is_some_and(|e| {
        e.active && e.mode == EnrollmentMode::Verified && e.change_status.is_none()
    });
    if enrolled {
        return EnrollCheck::AlreadyEnrolled {
            order: input.order_with_product,
        };
    }
    EnrollCheck::Proceed
}

/// A code linked to the product (a `DiscountProduct` link).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCodeLink {
    /// Id of the link row; lowest first.
    pub link_id: i64,
    /// The code.
    pub discount: DiscountId,
    /// Made by batch generation (all enrollment codes are).
    pub is_bulk: bool,
    /// One-time or unlimited.
    pub redemption_type: RedemptionType,
    /// Order redemptions of the discount (any order state).
    pub order_redemptions: u32,
}

/// The code put in the basket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BasketCode {
    /// Use this existing code.
    Existing(DiscountId),
    /// Create this code, link it to the product and use it.
    Create(DiscountDraft),
}

/// Chooses the basket code: the product's bulk codes that are unused by orders or
/// unlimited, lowest link id first; none → a new code (fixed price = contract price or 0,
/// one-time when the contract is capped, else unlimited).
pub fn choose_basket_code(
    links: &[ProductCodeLink],
    contract: &Contract,
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> BasketCode {
    links
        .iter()
        .filter(|l| {
            l.is_bulk
                && (l.order_redemptions == 0 || l.redemption_type == RedemptionType::Unlimited)
        })
        .min_by_key(|l| l.link_id)
        .map_or_else(
            || {
                let redemption = if contract.seat_cap().is_some() {
                    RedemptionType::OneTime
                } else {
                    RedemptionType::Unlimited
                };
                BasketCode::Create(enrollment_code_draft(
                    new_uuid(),
                    contract.price(),
                    redemption,
                ))
            },
            |l| BasketCode::Existing(l.discount),
        )
}

/// The next step once the basket holds the product and the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BasketStep {
    /// Total 0: run the checkout now (it fulfils without payment).
    CheckOut,
    /// Total > 0: answer 400 requires-checkout with the price; the basket is kept.
    Pay(EnrollResponse),
}

/// Decides by the basket total (Σ discounted prices).
pub fn basket_step(total: Money) -> BasketStep {
    if total.is_zero() {
        BasketStep::CheckOut
    } else {
        BasketStep::Pay(EnrollResponse::requires_checkout(total, None))
    }
}

/// Why the checkout refused the free basket (the original's `checkout_result` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutFlags {
    /// The learner's country is blocked for the course.
    pub country_blocked: bool,
    /// The run was already purchased.
    pub purchased_same_courserun: bool,
    /// A purchased run can no longer be upgraded.
    pub purchased_non_upgradeable_courserun: bool,
    /// The basket discounts are invalid.
    pub invalid_discounts: bool,
    /// Nothing to pay (set on a fulfilled free checkout).
    pub no_checkout: bool,
}

/// How the free checkout ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutAttempt {
    /// Fulfilled without payment.
    Fulfilled {
        /// The fulfilled order.
        order: OrderId,
    },
    /// Refused with these flags.
    Refused(CheckoutFlags),
}

/// The body of the enroll response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The `result` value.
    pub result: B2bEnrollResult,
    /// On success: the order id (`None` is rendered as `""`).
    pub order: Option<OrderId>,
    /// On requires-checkout: the basket total (`"100.00"`).
    pub price: Option<String>,
    /// When a free checkout was refused.
    pub checkout_result: Option<CheckoutFlags>,
}

impl EnrollResponse {
    /// 201 `b2b-enroll-success` with the order.
    pub fn success(order: Option<OrderId>) -> Self {
        EnrollResponse {
            result: B2bEnrollResult::Success,
            order,
            price: None,
            checkout_result: None,
        }
    }

    /// 400 `b2b-error-requires-checkout` with the price.
    pub fn requires_checkout(total: Money, checkout_result: Option<CheckoutFlags>) -> Self {
        EnrollResponse {
            result: B2bEnrollResult::RequiresCheckout,
            order: None,
            price: Some(total.to_price_string()),
            checkout_result,
        }
    }

    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        self.result.http_status()
    }
}

/// The answer after the free checkout.
pub fn after_checkout(total: Money, attempt: CheckoutAttempt) -> EnrollResponse {
    match attempt {
        CheckoutAttempt::Fulfilled { order } => EnrollResponse::success(Some(order)),
        CheckoutAttempt::Refused(flags) => EnrollResponse::requires_checkout(total, Some(flags)),
    }
}

/// The program to enroll in after a fulfilled free enrollment: the requested one only
/// when it is linked to the contract; otherwise none (skipped silently).
pub fn program_to_enroll(
    requested: Option<ProgramId>,
    contract_programs: &[ProgramId],
) -> Option<ProgramId> {
    requested.filter(|p| contract_programs.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::contract::tests::{date, k42};
    use crate::b2b::run_key::tests::{run, ts};
    use crate::enrollment::ChangeStatus;
    use crate::ids::{ContractId, CourseRunId};
    use crate::pricing::DiscountType;

    fn contract_run() -> CourseRun {
        let mut r = run(30, 5, "course-v1:UAI_ACME+18.01x+1T42C2025_en", "1T42C2025");
        r.b2b_contract = Some(ContractId(42));
        r.start_date = Some(ts(2025, 3, 1));
        r.enrollment_start = Some(ts(2025, 3, 1));
        r.enrollment_end = Some(ts(2025, 12, 31));
        r
    }

    fn input<'a>(run: &'a CourseRun, contract: &'a Contract) -> EnrollCheckInput<'a> {
        EnrollCheckInput {
            user: Some(UserId(5)),
            run,
            contract: Some(contract),
            active_enrollments_in_run: 0,
            user_attached: true,
            user_enrollment: None,
            order_with_product: None,
            today: date(2025, 6, 1),
            now: ts(2025, 6, 1),
        }
    }

    fn no_uuid() -> impl FnMut() -> Uuid {
        || Uuid::from_u128(1)
    }

    #[test]
    fn pricing_s40_free_managed_contract_enrolls_without_payment() {
        let contract = k42();
        let r = contract_run();
        assert_eq!(
            check_b2b_enroll(&input(&r, &contract)),
            EnrollCheck::Proceed
        );
        // A free managed contract has no codes: one unlimited $0 code is created.
        let code = choose_basket_code(&[], &contract, &mut no_uuid());
        let BasketCode::Create(draft) = code else {
            panic!("a new code expected: {code:?}");
        };
        assert_eq!(draft.redemption_type, RedemptionType::Unlimited);
        assert_eq!(draft.discount_type, DiscountType::FixedPrice);
        let total = draft
            .clone()
            .into_discount(DiscountId(1))
            .price_for(contract.price());
        assert_eq!(basket_step(total), BasketStep::CheckOut);
        let response = after_checkout(total, CheckoutAttempt::Fulfilled { order: OrderId(77) });
        assert_eq!(response.http_status(), 201);
        assert_eq!(response.result.as_str(), "b2b-enroll-success");
        assert_eq!(response.order, Some(OrderId(77)));
    }

    #[test]
    fn pricing_s41_priced_contract_requires_checkout() {
        let mut contract = k42();
        contract.enrollment_fixed_price = Some(Money::from_cents(10_000));
        let r = contract_run();
        assert_eq!(
            check_b2b_enroll(&input(&r, &contract)),
            EnrollCheck::Proceed
        );
        let links = [ProductCodeLink {
            link_id: 3,
            discount: DiscountId(9),
            is_bulk: true,
            redemption_type: RedemptionType::Unlimited,
            order_redemptions: 0,
        }];
        assert_eq!(
            choose_basket_code(&links, &contract, &mut no_uuid()),
            BasketCode::Existing(DiscountId(9))
        );
        // The code's fixed price equals the contract price: the basket total is 100.00.
        let BasketStep::Pay(response) = basket_step(Money::from_cents(10_000)) else {
            panic!("payment expected");
        };
        assert_eq!(response.http_status(), 400);
        assert_eq!(response.result.as_str(), "b2b-error-requires-checkout");
        assert_eq!(response.price.as_deref(), Some("100.00"));
        assert_eq!(response.checkout_result, None);
    }

    #[test]
    fn pricing_s42_not_attached_and_not_live() {
        let contract = k42();
        let r = contract_run();
        let mut i = input(&r, &contract);
        i.user_attached = false;
        assert_eq!(
            check_b2b_enroll(&i),
            EnrollCheck::Refused(B2bEnrollResult::NoContract)
        );
        let mut closed = contract_run();
        closed.live = false;
        let mut i = input(&closed, &contract);
        i.user_attached = false;
        let verdict = check_b2b_enroll(&i);
        assert_eq!(
            verdict,
            EnrollCheck::Refused(B2bEnrollResult::NotEnrollable)
        );
        assert_eq!(
            B2bEnrollResult::NotEnrollable.as_str(),
            "b2b-error-not-enrollable"
        );
        assert_eq!(
            B2bEnrollResult::NoContract.as_str(),
            "b2b-error-no-contract"
        );
    }

    #[test]
    fn pricing_s43_cap_reached_by_enrollments_is_not_enrollable() {
        let mut contract = k42();
        contract.max_learners = Some(1);
        let r = contract_run();
        let mut i = input(&r, &contract);
        i.active_enrollments_in_run = 1;
        assert_eq!(
            check_b2b_enroll(&i),
            EnrollCheck::Refused(B2bEnrollResult::NotEnrollable)
        );
        i.active_enrollments_in_run = 0;
        assert_eq!(check_b2b_enroll(&i), EnrollCheck::Proceed);
    }

    #[test]
    fn pricing_s44_unlinked_program_is_skipped() {
        assert_eq!(program_to_enroll(Some(ProgramId(9)), &[ProgramId(3)]), None);
        assert_eq!(
            program_to_enroll(Some(ProgramId(3)), &[ProgramId(3)]),
            Some(ProgramId(3))
        );
        assert_eq!(program_to_enroll(None, &[ProgramId(3)]), None);
    }

    #[test]
    fn check_order_first_failure_wins() {
        let contract = k42();
        let r = contract_run();
        let mut i = input(&r, &contract);
        i.user = None;
        assert_eq!(
            check_b2b_enroll(&i),
            EnrollCheck::Refused(B2bEnrollResult::Disallowed)
        );
        let mut i = input(&r, &contract);
        i.contract = None;
        assert_eq!(
            check_b2b_enroll(&i),
            EnrollCheck::Refused(B2bEnrollResult::NoProduct)
        );
        let mut ended = k42();
        ended.contract_end = Some(date(2025, 5, 31));
        assert_eq!(
            check_b2b_enroll(&input(&r, &ended)),
            EnrollCheck::Refused(B2bEnrollResult::NoContract)
        );
    }

    #[test]
    fn active_verified_enrollment_is_success_shortcut() {
        let contract = k42();
        let r = contract_run();
        let e = RunEnrollment::new(UserId(5), CourseRunId(30), EnrollmentMode::Verified);
        let mut deferred = e.clone();
        deferred.change_status = Some(ChangeStatus::Deferred);
        let mut i = input(&r, &contract);
        i.order_with_product = Some(OrderId(4));
        i.user_enrollment = Some(&e);
        assert_eq!(
            check_b2b_enroll(&i),
            EnrollCheck::AlreadyEnrolled {
                order: Some(OrderId(4))
            }
        );
        i.user_enrollment = Some(&deferred);
        assert_eq!(check_b2b_enroll(&i), EnrollCheck::Proceed);
        let audit = RunEnrollment::new(UserId(5), CourseRunId(30), EnrollmentMode::Audit);
        i.user_enrollment = Some(&audit);
        assert_eq!(check_b2b_enroll(&i), EnrollCheck::Proceed);
    }

    #[test]
    fn code_choice_order_and_new_one_time_code() {
        let mut contract = k42();
        contract.max_learners = Some(5);
        let link =
            |link_id, discount, is_bulk, redemption_type, order_redemptions| ProductCodeLink {
                link_id,
                discount: DiscountId(discount),
                is_bulk,
                redemption_type,
                order_redemptions,
            };
        let links = [
            link(1, 10, false, RedemptionType::OneTime, 0),
            link(2, 11, true, RedemptionType::OneTime, 1),
            link(4, 12, true, RedemptionType::OneTime, 0),
            link(3, 13, true, RedemptionType::Unlimited, 6),
        ];
        assert_eq!(
            choose_basket_code(&links, &contract, &mut no_uuid()),
            BasketCode::Existing(DiscountId(13))
        );
        let BasketCode::Create(draft) = choose_basket_code(&links[..2], &contract, &mut no_uuid())
        else {
            panic!("a new code expected");
        };
        assert_eq!(draft.redemption_type, RedemptionType::OneTime);
    }

    #[test]
    fn refused_free_checkout_reports_flags() {
        let flags = CheckoutFlags {
            purchased_same_courserun: true,
            ..CheckoutFlags::default()
        };
        let response = after_checkout(Money::ZERO, CheckoutAttempt::Refused(flags));
        assert_eq!(response.result, B2bEnrollResult::RequiresCheckout);
        assert_eq!(response.price.as_deref(), Some("0.00"));
        assert_eq!(response.checkout_result, Some(flags));
    }

    #[test]
    fn exactly_one_active_product() {
        assert_eq!(
            single_active_product(&[(ProductId(1), false), (ProductId(2), true)]),
            Ok(ProductId(2))
        );
        let err = single_active_product(&[(ProductId(1), true), (ProductId(2), true)]).unwrap_err();
        assert_eq!(err, EnrollLookupError::ActiveProducts(2));
        assert_eq!(err.http_status(), 404);
        assert_eq!(
            single_active_product(&[]),
            Err(EnrollLookupError::ActiveProducts(0))
        );
    }
}
