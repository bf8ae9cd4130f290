//! Story 1: a learner buys a course run with a code.
//!
//! Learner 7 audits `course-v1:MITx+6.001x+1T2026` and decides to upgrade. The product is
//! listed at $1000.00; the learner types `SAVE20` (20% off, once per learner). The basket
//! keeps the code, checkout validates, the order is created at $800.00, CyberSource accepts
//! the payment (twice: the callback is repeated), and the audit enrollment becomes
//! verified.

use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::{
    EdxFailure, EdxOutcome, EnrollChange, EnrollEffect, EnrollRequest, FailureKind, PaidRecord,
    RunEnrollment, needs_edx_enroll_call, plan_enroll, plan_run_purchase,
};
use mitx_core::ids::{DiscountId, OrderId, ProductId, ProductVersionId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::{
    BasketSnapshot, CallbackOutcome, CheckoutDiscount, CheckoutFacts, CheckoutItem,
    CheckoutRejection, DealStage, Effect, Environment, Event, OrderSnapshot, OrderState,
    PaymentData, PaymentTransaction, PendingOrderPlan, ReceiptLineAmounts, ReferenceNumber,
    ServerCallbackReply, TransactionId, TransitionContext, UserMessage, apply_callback,
    basket_matches_order, cybersource_callback, first_line_title, gateway_amount,
    line_discounted_price, order_total, payment_return_redirect, plan_pending_order, receipt_line,
    receipt_total, transition, transition_new, validate_checkout,
};
use mitx_core::pricing::{
    self, ApplyDecision, Basket, BasketItem, DiscountCode, DiscountDraft, DiscountRecord,
    DiscountType, KeepReason, PaymentType, RedeemError, RedemptionType, SetReason, decide_redeem,
    product_ok, redeemable_by,
};
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::support::{at, course_run, discount, enrolled, price, run_item};

const LEARNER: UserId = UserId(7);
const PRODUCT: ProductId = ProductId(501);
const ORDER: OrderId = OrderId(1001);
const TRANSACTION: &str = "7000000000000000000001";

/// `SAVE20` as marketing stores it: 20% off, once per learner.
fn save20() -> DiscountRecord {
    let draft = DiscountDraft {
        redemption_type: RedemptionType::OneTimePerUser,
        payment_type: Some(PaymentType::Marketing),
        ..DiscountDraft::new(
            DiscountCode::parse("  SAVE20 ").unwrap(),
            DiscountType::PercentOff,
            dec!(20),
        )
    };
    draft.check_for_save(at(2026, 2, 15, 9)).unwrap();
    DiscountRecord::bare(draft.into_discount(DiscountId(31)))
}

/// The checkout facts of a one-run basket holding `code`, as the services layer gathers
/// them.
fn checkout_facts(
    basket: &Basket,
    code: &DiscountRecord,
    upgradable: bool,
    already_paid: bool,
) -> CheckoutFacts {
    let now = at(2026, 3, 1, 12);
    CheckoutFacts {
        items: vec![CheckoutItem::CourseRun {
            country_blocked: false,
            already_paid,
            upgradable,
        }],
        discounts: vec![CheckoutDiscount {
            redeemable: redeemable_by(code, LEARNER, now),
            product_ok: product_ok(code, basket, now),
            linked_to_b2b_contract: false,
        }],
        ..CheckoutFacts::default()
    }
}

fn accept_fields(reference: &ReferenceNumber) -> PaymentData {
    [
        ("decision", "ACCEPT"),
        ("reason_code", "100"),
        ("transaction_id", TRANSACTION),
        ("req_amount", "800.00"),
        ("req_currency", "USD"),
        ("req_reference_number", reference.as_str()),
    ]
    .into_iter()
    .collect()
}

#[test]
fn a_learner_buys_a_course_run_with_a_code() {
    let now = at(2026, 3, 1, 12);
    let run = course_run(101, 11, "course-v1:MITx+6.001x+1T2026");
    let list_price = price("1000.00");
    let audit_row = enrolled(LEARNER, &run, EnrollmentMode::Audit);
    assert!(run.is_enrollable(now) && run.is_upgradable(now, true));

    // The code as typed is trimmed; its human form is what emails show.
    let save20 = save20();
    assert_eq!(save20.discount.code.as_str(), "SAVE20");
    assert_eq!(save20.discount.friendly_format(), "20.00% off");

    // The basket: one product at its list price, then the code.
    let mut basket = Basket::for_user(LEARNER);
    basket.items.push(BasketItem::single(PRODUCT, list_price));
    assert_eq!(basket.total_price().to_price_string(), "1000.00");
    assert_eq!(basket.discounted_price(), basket.total_price());

    let decision = pricing::apply(&basket, &save20, false, now);
    assert_eq!(decision, ApplyDecision::Set(SetReason::Vacant));
    basket.discount = Some(save20.clone());
    assert_eq!(basket.discounted_price().to_price_string(), "800.00");
    assert_eq!(
        basket.listed_discount().map(|d| d.discount.id),
        Some(DiscountId(31))
    );

    // A weaker code typed afterwards does not replace it: $990.00 is not cheaper.
    let ten_off = DiscountRecord::bare(discount(
        32,
        "TENOFF",
        DiscountType::DollarsOff,
        dec!(10),
        PaymentType::Marketing,
    ));
    assert_eq!(
        pricing::apply(&basket, &ten_off, false, now),
        ApplyDecision::Keep(KeepReason::NotCheaper)
    );

    // Checkout validation passes: not blocked, not yet paid, upgradable, valid code.
    let facts = checkout_facts(&basket, &save20, run.is_upgradable(now, true), false);
    assert_eq!(validate_checkout(&facts), Ok(()));

    // T1: a pending order is created (no earlier pending order to reuse).
    let ctx = TransitionContext {
        order: ORDER,
        purchaser: LEARNER,
        items: vec![run_item(&run)],
        skip_fulfillment: false,
        skip_receipt: false,
        purchaser_in_b2b_contract: false,
        purchased_run_in_enrolled_program: false,
    };
    let created = transition_new(&Event::Checkout, &ctx).unwrap();
    assert_eq!(
        (created.rule, created.from, created.to),
        ("T1", None, OrderState::Pending)
    );
    assert_eq!(created.effects, vec![Effect::CreateOrReuseOrder]);
    assert_eq!(
        plan_pending_order(&[], &[ProductVersionId(9001)]),
        PendingOrderPlan::Create
    );
    let env = Environment::parse("prod").unwrap();
    let reference = ReferenceNumber::for_order(&env, ORDER);
    assert_eq!(reference.as_str(), "mitxonline-prod-1001");
    assert_eq!(reference.order_id(&env), Ok(ORDER));
    assert_eq!(
        DealStage::for_state(created.to).as_str(),
        "checkout pending"
    );

    // The order total and the gateway amount agree with the basket.
    let redemptions = [save20.discount.clone()];
    let line = line_discounted_price(list_price, 1, &redemptions);
    let total = order_total(&[list_price], &redemptions);
    assert_eq!(line.to_price_string(), "800.00");
    assert_eq!(total, basket.order_total());
    assert_eq!(total.to_amount_string(), "800.00000");
    assert_eq!(gateway_amount(&[line]).to_price_string(), "800.00");

    // T3: CyberSource accepts. The payload has `req_amount`, not `amount`, so the payment
    // transaction is recorded with amount 0 (kept from the original).
    let fields = accept_fields(&reference);
    let outcome = cybersource_callback(
        OrderState::Pending,
        &fields,
        total,
        Uuid::from_u128(1),
        &ctx,
    )
    .unwrap();
    let CallbackOutcome::Applied(paid) = &outcome else {
        panic!("the first ACCEPT must move the order, got {outcome:?}")
    };
    assert_eq!((paid.rule, paid.to), ("T3", OrderState::Fulfilled));
    let payment = PaymentTransaction {
        transaction_id: TransactionId::parse(TRANSACTION).unwrap(),
        amount: Money::ZERO,
    };
    assert_eq!(
        paid.effects,
        vec![
            Effect::RecordPaymentTransaction(payment.clone()),
            Effect::EnrollVerified {
                user: LEARNER,
                run: run.id
            },
            Effect::CreatePaidCourseRun {
                user: LEARNER,
                run: run.id,
                order: ORDER
            },
            Effect::QueueReceiptEmail { order: ORDER },
            Effect::QueueCrmDealSync {
                order: ORDER,
                uai: false
            },
            Effect::DeleteBasketIfMatches {
                user: LEARNER,
                order: ORDER
            },
        ]
    );

    // The basket holds exactly what was bought, so the basket effect deletes it.
    let basket_now = BasketSnapshot {
        user: basket.user(),
        products: basket.product_ids().collect(),
        discounts: basket.discount.iter().map(|d| d.discount.id).collect(),
    };
    let order_now = OrderSnapshot {
        purchaser: LEARNER,
        products: vec![PRODUCT],
        discounts: vec![DiscountId(31)],
    };
    assert!(basket_matches_order(&basket_now, &order_now));
    let grown = BasketSnapshot {
        products: vec![PRODUCT, ProductId(502)],
        ..basket_now.clone()
    };
    assert!(!basket_matches_order(&grown, &order_now));

    // The browser lands on the dashboard; the server answers 200; the CRM sees a deal.
    let title = first_line_title(Some("Introduction to Computer Science"), None);
    let redirect = payment_return_redirect(paid.to, title, None);
    assert_eq!(redirect.location(), "/dashboard/");
    assert_eq!(
        redirect.message(),
        Some(&UserMessage {
            kind: "payment-accepted",
            run: Some("Introduction to Computer Science".into())
        })
    );
    assert_eq!(ServerCallbackReply::decide(true, true).status(), 200);
    assert_eq!(DealStage::for_state(paid.to).as_str(), "processed");

    // CyberSource repeats the callback: nothing changes, whatever the decision says.
    let again = cybersource_callback(paid.to, &fields, total, Uuid::from_u128(2), &ctx).unwrap();
    assert_eq!(
        again,
        CallbackOutcome::NoChange {
            state: OrderState::Fulfilled
        }
    );
    let mut late_decline = fields.clone();
    late_decline.insert("decision", "DECLINE");
    let late =
        cybersource_callback(paid.to, &late_decline, total, Uuid::from_u128(3), &ctx).unwrap();
    assert_eq!(late.state(), OrderState::Fulfilled);
    let replay = Event::PaymentAccepted {
        payment: payment.clone(),
    };
    assert_eq!(
        apply_callback(paid.to, &replay, &ctx),
        Ok(CallbackOutcome::NoChange {
            state: OrderState::Fulfilled
        })
    );
    // The raw table has no such row: the idempotence lives in the callback wrapper.
    let refused = transition(paid.to, &replay, &ctx).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "cannot apply PaymentAccepted to a fulfilled order"
    );

    // Fulfilment, enrollment side: the EnrollVerified effect runs the core routine in
    // verified mode, keeping the row even if edX fails, then records the paid run.
    let (request, paid_record) = plan_run_purchase(LEARNER, run.id, ORDER);
    assert_eq!(request, EnrollRequest::verified(true));
    assert_eq!(
        paid_record,
        PaidRecord::CourseRun {
            user: LEARNER,
            run: run.id,
            order: ORDER
        }
    );
    assert!(needs_edx_enroll_call(&[&run]));
    let upgrade = plan_enroll(
        LEARNER,
        Some(&audit_row),
        &run,
        request,
        EdxOutcome::Succeeded,
    );
    assert!(upgrade.edx_succeeded());
    let plan = upgrade.first().unwrap();
    assert_eq!(plan.change, EnrollChange::ModeChanged { downgrade: false });
    assert_eq!(plan.before.as_ref(), Some(&audit_row));
    assert_eq!(
        plan.enrollment,
        RunEnrollment {
            mode: EnrollmentMode::Verified,
            ..audit_row.clone()
        }
    );
    assert!(plan.enrollment.is_active_verified());
    assert_eq!(
        plan.effects,
        vec![EnrollEffect::AuditLog, EnrollEffect::SendEnrollmentEmail]
    );

    // Had edX been down, the learner would still be verified locally (they paid); the
    // row waits for the retry job and no enrollment email goes out.
    let edx_down = EdxFailure::Http { status: 503 };
    assert_eq!(edx_down.kind(), FailureKind::Transient);
    let degraded = plan_enroll(
        LEARNER,
        Some(&audit_row),
        &run,
        request,
        EdxOutcome::Failed(edx_down),
    );
    assert!(!degraded.edx_succeeded());
    let plan = degraded.first().unwrap();
    assert_eq!(plan.enrollment.mode, EnrollmentMode::Verified);
    assert!(!plan.enrollment.edx_enrolled);
    assert_eq!(plan.effects, vec![EnrollEffect::AuditLog]);

    // The receipt shows the $200.00 discount and $800.00 paid.
    let receipt = receipt_line(list_price, line, 1, true);
    assert_eq!(
        receipt,
        ReceiptLineAmounts {
            price: price("1000.00"),
            discount: price("200.00"),
            total_paid: price("800.00"),
        }
    );
    assert_eq!(receipt_total(&[receipt]).to_price_string(), "800.00");

    // Buying the same run again is refused before anything else is looked at.
    let second = checkout_facts(&basket, &save20, true, true);
    let rejection = validate_checkout(&second).unwrap_err();
    assert_eq!(rejection, CheckoutRejection::PurchasedSameCourseRun);
    assert_eq!(rejection.error_code(), "enroll-duplicated");
}

#[test]
fn the_code_is_spent_once_its_order_is_fulfilled() {
    let now = at(2026, 3, 2, 9);
    let other_run = course_run(102, 12, "course-v1:MITx+18.01x+1T2026");
    let other_product = ProductId(502);

    // After order 1001 was fulfilled, SAVE20 has one fulfilled redemption by the learner.
    let mut spent = save20();
    spent.usage.fulfilled_redeemers = vec![LEARNER];
    spent.usage.all_redemptions = 1;
    assert!(!redeemable_by(&spent, LEARNER, now));
    assert!(redeemable_by(&spent, UserId(8), now));

    // A redemption on an order that never completed does not spend it.
    let mut abandoned = save20();
    abandoned.usage.all_redemptions = 1;
    assert!(redeemable_by(&abandoned, LEARNER, now));

    let mut basket = Basket::for_user(LEARNER);
    basket
        .items
        .push(BasketItem::single(other_product, price("500.00")));

    // The v0 basket rule ignores the redemption type for a vacant basket, so the spent code
    // still lands in the basket and prices it ...
    assert_eq!(
        pricing::apply(&basket, &spent, false, now),
        ApplyDecision::Set(SetReason::Vacant)
    );
    basket.discount = Some(spent.clone());
    assert_eq!(basket.discounted_price().to_price_string(), "400.00");

    // ... and checkout is where it is caught: the discounts are reset.
    let facts = checkout_facts(&basket, &spent, other_run.is_upgradable(now, true), false);
    let rejection = validate_checkout(&facts).unwrap_err();
    assert_eq!(rejection, CheckoutRejection::InvalidDiscounts);
    assert_eq!(
        (rejection.error_code(), rejection.result_key()),
        ("discount-invalid", "invalid_discounts")
    );
    assert!(rejection.resets_basket_discounts());
    assert_eq!(rejection.legacy_redirect_path(), "/cart/");

    // The legacy redeem endpoint refuses it outright, quoting the code as submitted.
    let err =
        decide_redeem(" SAVE20", LEARNER, Some(&basket), Some(&spent), None, now).unwrap_err();
    assert_eq!(err, RedeemError::NotFound(" SAVE20".into()));
    assert_eq!(err.to_string(), "Discount ' SAVE20' not found.");
}
