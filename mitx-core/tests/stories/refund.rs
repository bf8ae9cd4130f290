//! Story 5: a refund.
//!
//! Learner 7 paid $800.00 for `course-v1:MITx+6.001x+1T2026` (order 1001, 1 March). Six
//! days later they ask for a refund. The request is validated, the payment transaction is
//! found, the gateway accepts the refund, the order becomes refunded and the verified
//! enrollment is downgraded to audit. The learner may then buy the run again.

use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::{
    ChangeStatus, EdxOutcome, EnrollChange, EnrollEffect, EnrollRequest, plan_enroll,
    refund_downgrade_request,
};
use mitx_core::ids::{OrderId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::{
    CheckoutFacts, CheckoutItem, DealStage, Effect, EnrollmentAction, Environment, Event,
    GatewayRefundRequest, OrderState, PaymentData, REFUND_REQUEST_NO_CONSENT,
    REFUND_REQUEST_NOT_OWN, ReferenceNumber, RefundError, RefundGatewayResponse, RefundLookup,
    RefundRequestErrors, RefundRequestFacts, RefundTransaction, StoredTransaction, TransactionId,
    TransitionContext, check_refundable, is_refund_eligible, operator_refund_action, refund_event,
    refund_lookup, refund_request, refund_source_transaction, transition, validate_checkout,
    validate_refund_request,
};

use crate::support::{at, course_run, enrolled, price, run_item};

const LEARNER: UserId = UserId(7);
const ORDER: OrderId = OrderId(1001);
const REFUND_ID: &str = "7100000000000000000002";

fn payment_data(pairs: &[(&str, &str)]) -> PaymentData {
    pairs.iter().copied().collect()
}

fn pending_response(id: Option<&str>) -> RefundGatewayResponse {
    RefundGatewayResponse {
        status: "PENDING".into(),
        id: id.map(str::to_owned),
        message: "Request was processed successfully.".into(),
        error_reason: None,
    }
}

#[test]
fn a_fulfilled_order_is_refunded_and_the_learner_downgraded() {
    let ordered = at(2026, 3, 1, 12);
    let now = at(2026, 3, 7, 15);
    let run = course_run(101, 11, "course-v1:MITx+6.001x+1T2026");
    let env = Environment::parse("prod").unwrap();
    let reference = ReferenceNumber::for_order(&env, ORDER);

    // Refund eligibility (informational): 7 days from the order, the run started before.
    let starts = [run.start_date];
    assert!(is_refund_eligible(ordered, &starts, now));
    assert!(is_refund_eligible(ordered, &starts, at(2026, 3, 8, 12)));
    assert!(!is_refund_eligible(ordered, &starts, at(2026, 3, 8, 13)));
    // Had the run started after the order, its start would open a new 7-day window.
    assert!(is_refund_eligible(
        ordered,
        &[Some(at(2026, 4, 1, 0))],
        at(2026, 4, 8, 0)
    ));

    // The learner's request: their own fulfilled order, consequences acknowledged.
    let mut request = RefundRequestFacts {
        requester: LEARNER,
        purchaser: LEARNER,
        state: OrderState::Fulfilled,
        is_b2b_contract_order: false,
        consent_given: true,
    };
    assert_eq!(validate_refund_request(&request), Ok(()));
    request.requester = UserId(8);
    request.consent_given = false;
    assert_eq!(
        validate_refund_request(&request),
        Err(RefundRequestErrors {
            order: Some(REFUND_REQUEST_NOT_OWN),
            consent_given: Some(REFUND_REQUEST_NO_CONSENT),
        })
    );

    // Staff refund by reference (it wins over the id); the order must be fulfilled.
    let lookup = refund_lookup(Some(OrderId(5)), Some(reference.clone())).unwrap();
    assert_eq!(lookup, RefundLookup::ByReference(reference.clone()));
    assert_eq!(reference.order_id(&env), Ok(ORDER));
    assert_eq!(check_refundable(ORDER, OrderState::Fulfilled), Ok(()));

    // The oldest transaction is the payment to refund against.
    let payment = payment_data(&[
        ("decision", "ACCEPT"),
        ("transaction_id", "7000000000000000000001"),
        ("req_amount", "800.00"),
        ("req_currency", "USD"),
    ]);
    let transactions = [
        StoredTransaction {
            created_on: at(2026, 3, 1, 13),
            data: payment_data(&[("transaction_id", "7000000000000000000009")]),
        },
        StoredTransaction {
            created_on: ordered,
            data: payment.clone(),
        },
    ];
    let source = refund_source_transaction(ORDER, &transactions).unwrap();
    assert_eq!(source.data, payment);
    let gateway_request = refund_request(&reference, &source.data, None).unwrap();
    assert_eq!(
        gateway_request,
        GatewayRefundRequest {
            transaction_id: "7000000000000000000001".into(),
            amount: price("800.00"),
            currency: "USD".into(),
        }
    );
    // A partial refund replaces the amount.
    let partial = refund_request(&reference, &source.data, Some(price("200.00"))).unwrap();
    assert_eq!(partial.amount.to_price_string(), "200.00");

    // The gateway accepts (PENDING is its normal success): T9.
    let event = refund_event(
        &gateway_request,
        &pending_response(Some(REFUND_ID)),
        "Course not as expected",
        true,
    )
    .unwrap();
    let ctx = TransitionContext {
        order: ORDER,
        purchaser: LEARNER,
        items: vec![run_item(&run)],
        skip_fulfillment: false,
        skip_receipt: false,
        purchaser_in_b2b_contract: false,
        purchased_run_in_enrolled_program: false,
    };
    let refunded = transition(OrderState::Fulfilled, &event, &ctx).unwrap();
    assert_eq!((refunded.rule, refunded.to), ("T9", OrderState::Refunded));
    assert_eq!(
        refunded.effects,
        vec![
            Effect::RecordRefundTransaction(RefundTransaction {
                transaction_id: TransactionId::parse(REFUND_ID).unwrap(),
                amount: Money::from_cents(80_000),
                reason: "Course not as expected".into(),
            }),
            Effect::QueueRefundEmail { order: ORDER },
            Effect::DowngradeToAudit {
                user: LEARNER,
                runs: vec![run.id]
            },
        ]
    );
    assert!(refunded.to.is_in_history());
    assert_eq!(
        DealStage::for_state(refunded.to).as_str(),
        "checkout completed"
    );

    // The downgrade job runs the core routine in audit mode: no enrollment email.
    let verified_row = enrolled(LEARNER, &run, EnrollmentMode::Verified);
    let request = refund_downgrade_request();
    assert_eq!(request, EnrollRequest::audit(true));
    let downgrade = plan_enroll(
        LEARNER,
        Some(&verified_row),
        &run,
        request,
        EdxOutcome::Succeeded,
    );
    let plan = downgrade.first().unwrap();
    assert_eq!(plan.change, EnrollChange::ModeChanged { downgrade: true });
    assert!(plan.is_downgrade() && plan.enrollment.active);
    assert_eq!(plan.enrollment.mode, EnrollmentMode::Audit);
    assert_eq!(plan.effects, vec![EnrollEffect::AuditLog]);

    // A refunded order no longer counts as a purchase: the run can be bought again.
    let again = CheckoutFacts {
        items: vec![CheckoutItem::CourseRun {
            country_blocked: false,
            already_paid: false,
            upgradable: run.is_upgradable(now, true),
        }],
        ..CheckoutFacts::default()
    };
    assert_eq!(validate_checkout(&again), Ok(()));

    // A second refund of the same order is refused before reaching the gateway.
    let err = check_refundable(ORDER, refunded.to).unwrap_err();
    assert!(err.is_reported());
    assert_eq!(
        err.to_string(),
        "Order with order_id 1001 is not in fulfilled state."
    );
    assert!(transition(refunded.to, &event, &ctx).is_err());
}

#[test]
fn refunds_the_gateway_or_the_data_refuse() {
    let reference = ReferenceNumber::parse("mitxonline-prod-1001").unwrap();
    let request = GatewayRefundRequest {
        transaction_id: "7000000000000000000001".into(),
        amount: price("800.00"),
        currency: "USD".into(),
    };

    // PayPal payments go to Finance.
    let paypal = payment_data(&[
        ("paypal_token", "EC-1"),
        ("transaction_id", "7000000000000000000001"),
        ("req_amount", "800.00"),
        ("req_currency", "USD"),
    ]);
    let err = refund_request(&reference, &paypal, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PayPal: Order mitxonline-prod-1001 contains a PayPal transaction. Please contact Finance to refund this order."
    );
    // A payment without its amount cannot be refunded in full.
    let no_amount = payment_data(&[
        ("transaction_id", "7000000000000000000001"),
        ("req_currency", "USD"),
    ]);
    assert_eq!(
        refund_request(&reference, &no_amount, None),
        Err(RefundError::InvalidTransaction("req_amount"))
    );
    // An order without transactions has nothing to refund against.
    assert_eq!(
        refund_source_transaction(ORDER, &[]),
        Err(RefundError::NoTransaction(ORDER))
    );

    // The gateway's refusals: nothing is recorded, the order stays fulfilled.
    let duplicate = RefundGatewayResponse {
        status: "INVALID_REQUEST".into(),
        id: None,
        message: "Duplicate request".into(),
        error_reason: Some("DUPLICATE_REQUEST".into()),
    };
    assert_eq!(
        refund_event(&request, &duplicate, "", false),
        Err(RefundError::DuplicateRefund)
    );
    let rejected = RefundGatewayResponse {
        status: "DECLINED".into(),
        id: Some(REFUND_ID.into()),
        message: "Refund amount exceeds the capture".into(),
        error_reason: None,
    };
    assert_eq!(
        refund_event(&request, &rejected, "", false)
            .unwrap_err()
            .to_string(),
        "Payment gateway returned an error: Refund amount exceeds the capture"
    );
    assert_eq!(
        refund_event(&request, &pending_response(None), "", false),
        Err(RefundError::MissingRefundId)
    );

    // Without the downgrade flag the learner keeps the verified enrollment.
    let kept = refund_event(&request, &pending_response(Some(REFUND_ID)), "", false).unwrap();
    let run = course_run(101, 11, "course-v1:MITx+6.001x+1T2026");
    let ctx = TransitionContext {
        order: ORDER,
        purchaser: LEARNER,
        items: vec![run_item(&run)],
        skip_fulfillment: false,
        skip_receipt: false,
        purchaser_in_b2b_contract: false,
        purchased_run_in_enrolled_program: false,
    };
    let t9 = transition(OrderState::Fulfilled, &kept, &ctx).unwrap();
    assert!(
        !t9.effects
            .iter()
            .any(|e| matches!(e, Effect::DowngradeToAudit { .. }))
    );

    // The operator command instead: --unenroll wins over --audit (T10).
    let action = operator_refund_action(true, true).unwrap();
    assert_eq!(action, EnrollmentAction::Unenroll);
    let t10 = transition(
        OrderState::Fulfilled,
        &Event::OperatorRefund { action },
        &ctx,
    )
    .unwrap();
    assert_eq!(
        (t10.rule, t10.to, t10.effects),
        (
            "T10",
            OrderState::Refunded,
            vec![
                Effect::QueueCrmDealSync {
                    order: ORDER,
                    uai: false
                },
                Effect::Unenroll {
                    user: LEARNER,
                    runs: vec![run.id],
                    change_status: ChangeStatus::Refunded,
                },
            ]
        )
    );
}
