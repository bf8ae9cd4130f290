//! Refunds (ecommerce spec 1.4, 5.5, 5.6): eligibility, the preconditions and request of a
//! gateway refund, the gateway's answer, the `refund_fulfilled_order` command's options, the
//! admin refund page messages and the learner's refund request validation.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::reference::ReferenceNumber;
use super::state::OrderState;
use super::transaction::{PaymentData, RefundTransaction, TransactionId};
use super::transition::{EnrollmentAction, Event};
use crate::Timestamp;
use crate::ids::{OrderId, UserId};
use crate::money::Money;

/// How long after the order (or after a later run start) a refund is still "eligible".
pub const REFUND_WINDOW_DAYS: i64 = 7;

/// `refund_eligible` of an order: now ≤ created_on + 7 days, or some purchased run starts
/// after the order was created and now ≤ that start + 7 days. Informational only: refund
/// requests are not refused on it.
pub fn is_refund_eligible(
    created_on: Timestamp,
    run_start_dates: &[Option<Timestamp>],
    now: Timestamp,
) -> bool {
    let window = Duration::days(REFUND_WINDOW_DAYS);
    now <= created_on + window
        || run_start_dates
            .iter()
            .flatten()
            .any(|start| *start > created_on && now <= *start + window)
}

/// Why a gateway refund (`refund_order`) did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// Neither an order id nor a reference number was given.
    #[error("Either order_id or reference_number is required to fetch the Order.")]
    MissingOrderKey,
    /// No order has that id or reference.
    #[error("Order matching query does not exist.")]
    OrderNotFound,
    /// The order is not fulfilled.
    #[error("Order with order_id {0} is not in fulfilled state.")]
    NotFulfilled(OrderId),
    /// The order has no transaction to refund against.
    #[error("There is no associated transaction against order_id {0}")]
    NoTransaction(OrderId),
    /// PayPal payments are refunded by Finance, not through the gateway.
    #[error(
        "PayPal: Order {0} contains a PayPal transaction. Please contact Finance to refund this order."
    )]
    PayPal(String),
    /// The payment data lacks a field the refund request needs (or it is malformed).
    #[error("The transaction data is not valid for a refund: '{0}' is missing or invalid.")]
    InvalidTransaction(&'static str),
    /// The gateway refused a duplicate refund request (`DUPLICATE_REQUEST`).
    #[error("The payment gateway refused a duplicate refund request.")]
    DuplicateRefund,
    /// The gateway answered with a state other than ACCEPT/PENDING.
    #[error("Payment gateway returned an error: {0}")]
    Gateway(String),
    /// The gateway's success answer had no refund id (the order stays fulfilled).
    #[error("Missing transaction id from refund API response")]
    MissingRefundId,
}

impl RefundError {
    /// Whether `refund_order` reports this as `(false, message)` rather than raising: the
    /// missing-key, not-fulfilled and no-transaction cases.
    pub fn is_reported(&self) -> bool {
        matches!(
            self,
            RefundError::MissingOrderKey
                | RefundError::NotFulfilled(_)
                | RefundError::NoTransaction(_)
        )
    }
}

/// How `refund_order` finds the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundLookup {
    /// By reference number (takes precedence when both are given, as in the original).
    ByReference(ReferenceNumber),
    /// By id.
    ById(OrderId),
}

/// Picks the lookup; one of the two is required.
pub fn refund_lookup(
    order_id: Option<OrderId>,
    reference_number: Option<ReferenceNumber>,
) -> Result<RefundLookup, RefundError> {
    match (reference_number, order_id) {
        (Some(r), _) => Ok(RefundLookup::ByReference(r)),
        (None, Some(id)) => Ok(RefundLookup::ById(id)),
        (None, None) => Err(RefundError::MissingOrderKey),
    }
}

/// Step 1: only fulfilled orders are refunded.
pub fn check_refundable(order: OrderId, state: OrderState) -> Result<(), RefundError> {
    if state == OrderState::Fulfilled {
        Ok(())
    } else {
        Err(RefundError::NotFulfilled(order))
    }
}

/// A stored transaction as the refund rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTransaction {
    /// When it was recorded.
    pub created_on: Timestamp,
    /// Its flattened payload.
    pub data: PaymentData,
}

/// Step 2: the order's oldest transaction (the first one recorded on ties).
pub fn refund_source_transaction(
    order: OrderId,
    transactions: &[StoredTransaction],
) -> Result<&StoredTransaction, RefundError> {
    transactions
        .iter()
        .reduce(|oldest, t| {
            if t.created_on < oldest.created_on {
                t
            } else {
                oldest
            }
        })
        .ok_or(RefundError::NoTransaction(order))
}

/// The refund request sent to the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GatewayRefundRequest {
    /// The payment's gateway transaction id.
    pub transaction_id: String,
    /// The amount to refund.
    pub amount: Money,
    /// The payment's currency (`req_currency`).
    pub currency: String,
}

/// Steps 3 and 4: refuse PayPal payments, then build `{transaction_id, amount, currency}`
/// from the payment data; `refund_amount` (when given) replaces `req_amount`.
pub fn refund_request(
    reference: &ReferenceNumber,
    data: &PaymentData,
    refund_amount: Option<Money>,
) -> Result<GatewayRefundRequest, RefundError> {
    if data.contains("paypal_token") {
        return Err(RefundError::PayPal(reference.to_string()));
    }
    let transaction_id = data
        .get("transaction_id")
        .filter(|t| !t.trim().is_empty())
        .ok_or(RefundError::InvalidTransaction("transaction_id"))?;
    let amount = match refund_amount {
        Some(amount) => amount,
        None => data
            .get("req_amount")
            .and_then(|a| Money::parse_amount(a).ok())
            .ok_or(RefundError::InvalidTransaction("req_amount"))?,
    };
    let currency = data
        .get("req_currency")
        .filter(|c| !c.trim().is_empty())
        .ok_or(RefundError::InvalidTransaction("req_currency"))?;
    Ok(GatewayRefundRequest {
        transaction_id: transaction_id.to_owned(),
        amount,
        currency: currency.to_owned(),
    })
}

/// The states of a refund response that mean success.
pub const REFUND_SUCCESS_STATES: [&str; 2] = ["ACCEPT", "PENDING"];

/// The gateway's answer to a refund request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundGatewayResponse {
    /// The response `status` (`PENDING` is the normal success).
    pub status: String,
    /// The refund's id.
    pub id: Option<String>,
    /// The gateway's message.
    pub message: String,
    /// The `reason` of an error body (`DUPLICATE_REQUEST`).
    pub error_reason: Option<String>,
}

/// Step 6: turns the gateway's answer into the T9 event (refund transaction + optional
/// downgrade to audit when `unenroll`). Nothing is recorded on any error.
pub fn refund_event(
    request: &GatewayRefundRequest,
    response: &RefundGatewayResponse,
    reason: &str,
    unenroll: bool,
) -> Result<Event, RefundError> {
    if response.error_reason.as_deref() == Some("DUPLICATE_REQUEST") {
        return Err(RefundError::DuplicateRefund);
    }
    if !REFUND_SUCCESS_STATES.contains(&response.status.as_str()) {
        return Err(RefundError::Gateway(response.message.clone()));
    }
    let transaction_id = response
        .id
        .as_deref()
        .and_then(|id| TransactionId::parse(id).ok())
        .ok_or(RefundError::MissingRefundId)?;
    Ok(Event::GatewayRefund {
        refund: RefundTransaction {
            transaction_id,
            amount: request.amount,
            reason: reason.to_owned(),
        },
        downgrade_to_audit: unenroll,
    })
}

/// Why the `refund_fulfilled_order` command refused to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundCommandError {
    /// Neither `--unenroll` nor `--audit`.
    #[error("Please specify an action to take on the enrollment.")]
    NoAction,
    /// Zero or several fulfilled orders with that reference.
    #[error("Couldn't find that order, or the order was ambiguous.")]
    OrderNotFound,
}

/// The enrolment action of `refund_fulfilled_order`: `--unenroll` wins over `--audit`.
pub fn operator_refund_action(
    unenroll: bool,
    audit: bool,
) -> Result<EnrollmentAction, RefundCommandError> {
    match (unenroll, audit) {
        (true, _) => Ok(EnrollmentAction::Unenroll),
        (false, true) => Ok(EnrollmentAction::Audit),
        (false, false) => Err(RefundCommandError::NoAction),
    }
}

/// `refund_fulfilled_order` needs exactly one fulfilled order with the reference.
pub fn operator_refund_target(
    fulfilled_matches: &[OrderId],
) -> Result<OrderId, RefundCommandError> {
    match fulfilled_matches {
        [one] => Ok(*one),
        _ => Err(RefundCommandError::OrderNotFound),
    }
}

/// The command's success line: `Updated order REF.`
pub fn operator_refund_done(reference: &ReferenceNumber) -> String {
    format!("Updated order {reference}.")
}

/// Messages of the admin refund page (`/int_admin/refund`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminRefundMessage {
    /// GET for an order that is not fulfilled (or does not exist).
    NotFulfilled,
    /// Refunded without unenrolment.
    Refunded,
    /// Refunded; the downgrade job is queued.
    RefundedAndUnenrolling,
    /// The refund failed.
    Failed,
}

impl AdminRefundMessage {
    /// The message for an order (`order` is the id given on GET, the reference on POST).
    pub fn text(self, order: &str) -> String {
        match self {
            AdminRefundMessage::NotFulfilled => {
                format!("Order {order} could not be found - is it Fulfilled?")
            }
            AdminRefundMessage::Refunded => format!("Order {order} refunded."),
            AdminRefundMessage::RefundedAndUnenrolling => {
                format!("Order {order} refunded and unenrollment is in progress.")
            }
            AdminRefundMessage::Failed => format!("Order {order} refund failed."),
        }
    }
}

/// The learner's reason for a refund request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// `enrolled_in_another_course`.
    EnrolledInAnotherCourse,
    /// `course_not_as_expected`.
    CourseNotAsExpected,
    /// `technical_difficulties`.
    TechnicalDifficulties,
    /// `financial_reasons`.
    FinancialReasons,
    /// `other`.
    Other,
}

/// The review status of a refund request; changes have no side effects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundRequestStatus {
    /// New requests.
    #[default]
    Pending,
    /// Approved by staff.
    Approved,
    /// Denied by staff.
    Denied,
}

/// The facts a learner refund request is validated on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefundRequestFacts {
    /// The caller.
    pub requester: UserId,
    /// The order's purchaser.
    pub purchaser: UserId,
    /// The order's state.
    pub state: OrderState,
    /// The order is for a B2B contract.
    pub is_b2b_contract_order: bool,
    /// The learner acknowledged the consequences.
    pub consent_given: bool,
}

/// Field errors of a refund request (400 `{"errors": {...}}`); both fields may fail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid refund request")]
pub struct RefundRequestErrors {
    /// `errors.order`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<&'static str>,
    /// `errors.consent_given`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_given: Option<&'static str>,
}

/// Not the caller's order.
pub const REFUND_REQUEST_NOT_OWN: &str = "You can only request a refund for your own orders.";
/// The order is not fulfilled.
pub const REFUND_REQUEST_NOT_FULFILLED: &str =
    "Refund requests can only be submitted for fulfilled orders.";
/// The order is for a B2B contract.
pub const REFUND_REQUEST_B2B: &str =
    "B2B contract orders are not eligible for self-service refund requests.";
/// Consent was not given.
pub const REFUND_REQUEST_NO_CONSENT: &str =
    "You must acknowledge the consequences of requesting a refund.";

/// Validates a learner refund request (5.6). Refund eligibility is not enforced.
pub fn validate_refund_request(facts: &RefundRequestFacts) -> Result<(), RefundRequestErrors> {
    let order = if facts.requester != facts.purchaser {
        Some(REFUND_REQUEST_NOT_OWN)
    } else if facts.state != OrderState::Fulfilled {
        Some(REFUND_REQUEST_NOT_FULFILLED)
    } else if facts.is_b2b_contract_order {
        Some(REFUND_REQUEST_B2B)
    } else {
        None
    };
    let consent_given = (!facts.consent_given).then_some(REFUND_REQUEST_NO_CONSENT);
    if order.is_none() && consent_given.is_none() {
        Ok(())
    } else {
        Err(RefundRequestErrors {
            order,
            consent_given,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::fixtures::{at, now};
    use crate::orders::transition::tests::ctx;
    use crate::orders::transition::{Effect, transition};
    use chrono::Duration;
    use rust_decimal_macros::dec;

    fn reference() -> ReferenceNumber {
        ReferenceNumber::parse("mitxonline-prod-1001").unwrap()
    }

    fn payment_data() -> PaymentData {
        [
            ("transaction_id", "1234"),
            ("req_amount", "10.00"),
            ("req_currency", "USD"),
        ]
        .into_iter()
        .collect()
    }

    fn pending_reply(id: Option<&str>) -> RefundGatewayResponse {
        RefundGatewayResponse {
            status: "PENDING".into(),
            id: id.map(str::to_owned),
            message: String::new(),
            error_reason: None,
        }
    }

    #[test]
    fn ecommerce_s48_gateway_refund_records_and_downgrades() {
        let request = refund_request(&reference(), &payment_data(), None).unwrap();
        assert_eq!(
            request,
            GatewayRefundRequest {
                transaction_id: "1234".into(),
                amount: Money::from_cents(1000),
                currency: "USD".into()
            }
        );
        for unenroll in [false, true] {
            let event =
                refund_event(&request, &pending_reply(Some("12345")), "", unenroll).unwrap();
            let t = transition(OrderState::Fulfilled, &event, &ctx()).unwrap();
            assert_eq!(t.to, OrderState::Refunded);
            let Some(Effect::RecordRefundTransaction(r)) = t.effects.first() else {
                panic!("refund transaction expected first")
            };
            assert_eq!(r.transaction_id.as_str(), "12345");
            assert_eq!(r.amount.amount(), dec!(10.00));
            assert!(
                t.effects
                    .contains(&Effect::QueueRefundEmail { order: ctx().order })
            );
            assert_eq!(
                t.effects
                    .iter()
                    .any(|e| matches!(e, Effect::DowngradeToAudit { .. })),
                unenroll
            );
        }
        // A partial amount replaces req_amount.
        let partial =
            refund_request(&reference(), &payment_data(), Some(Money::from_cents(250))).unwrap();
        assert_eq!(partial.amount, Money::from_cents(250));
        let accept = RefundGatewayResponse {
            status: "ACCEPT".into(),
            ..pending_reply(Some("9"))
        };
        assert!(refund_event(&request, &accept, "why", false).is_ok());
    }

    #[test]
    fn ecommerce_s49_refund_preconditions() {
        for state in OrderState::ALL {
            let r = check_refundable(OrderId(5), state);
            if state == OrderState::Fulfilled {
                assert_eq!(r, Ok(()));
            } else {
                let err = r.unwrap_err();
                assert_eq!(
                    err.to_string(),
                    "Order with order_id 5 is not in fulfilled state."
                );
                assert!(err.is_reported());
            }
        }
        let err = refund_lookup(None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Either order_id or reference_number is required to fetch the Order."
        );
        assert_eq!(
            refund_lookup(Some(OrderId(5)), Some(reference())),
            Ok(RefundLookup::ByReference(reference()))
        );
        assert_eq!(
            refund_lookup(Some(OrderId(5)), None),
            Ok(RefundLookup::ById(OrderId(5)))
        );
        let err = refund_source_transaction(OrderId(5), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "There is no associated transaction against order_id 5"
        );
        let older = StoredTransaction {
            created_on: at(2026, 1, 1),
            data: payment_data(),
        };
        let newer = StoredTransaction {
            created_on: at(2026, 2, 1),
            data: PaymentData::new(),
        };
        assert_eq!(
            refund_source_transaction(OrderId(5), &[newer, older.clone()]),
            Ok(&older)
        );
    }

    #[test]
    fn ecommerce_s50_paypal_payments_are_not_refunded() {
        let mut data = payment_data();
        data.insert("paypal_token", "EC-1");
        let err = refund_request(&reference(), &data, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PayPal: Order mitxonline-prod-1001 contains a PayPal transaction. Please contact Finance to refund this order."
        );
        assert!(!err.is_reported());
    }

    #[test]
    fn ecommerce_s51_gateway_errors_record_nothing() {
        let request = refund_request(&reference(), &payment_data(), None).unwrap();
        let duplicate = RefundGatewayResponse {
            status: "INVALID_REQUEST".into(),
            id: None,
            message: "Duplicate".into(),
            error_reason: Some("DUPLICATE_REQUEST".into()),
        };
        assert_eq!(
            refund_event(&request, &duplicate, "", true),
            Err(RefundError::DuplicateRefund)
        );
        let declined = RefundGatewayResponse {
            status: "DECLINED".into(),
            id: Some("1".into()),
            message: "Nope".into(),
            error_reason: None,
        };
        assert_eq!(
            refund_event(&request, &declined, "", true)
                .unwrap_err()
                .to_string(),
            "Payment gateway returned an error: Nope"
        );
        assert_eq!(
            refund_event(&request, &pending_reply(None), "", true),
            Err(RefundError::MissingRefundId)
        );
    }

    #[test]
    fn refund_request_needs_its_fields() {
        for (key, missing) in [
            ("transaction_id", "transaction_id"),
            ("req_amount", "req_amount"),
            ("req_currency", "req_currency"),
        ] {
            let data: PaymentData = payment_data()
                .as_map()
                .iter()
                .filter(|(k, _)| k.as_str() != key)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(
                refund_request(&reference(), &data, None),
                Err(RefundError::InvalidTransaction(missing))
            );
        }
    }

    #[test]
    fn ecommerce_s54_operator_refund_flags() {
        let err = operator_refund_action(false, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Please specify an action to take on the enrollment."
        );
        assert_eq!(
            operator_refund_action(true, true),
            Ok(EnrollmentAction::Unenroll)
        );
        assert_eq!(
            operator_refund_action(false, true),
            Ok(EnrollmentAction::Audit)
        );
        let action = operator_refund_action(false, true).unwrap();
        let t = transition(
            OrderState::Fulfilled,
            &Event::OperatorRefund { action },
            &ctx(),
        )
        .unwrap();
        assert_eq!(t.to, OrderState::Refunded);
        assert!(
            t.effects
                .iter()
                .any(|e| matches!(e, Effect::DowngradeToAudit { .. }))
        );
        assert!(!t.effects.iter().any(|e| matches!(
            e,
            Effect::RecordRefundTransaction(_) | Effect::QueueRefundEmail { .. }
        )));
        assert_eq!(operator_refund_target(&[OrderId(1)]), Ok(OrderId(1)));
        assert_eq!(
            operator_refund_target(&[]).unwrap_err().to_string(),
            "Couldn't find that order, or the order was ambiguous."
        );
        assert!(operator_refund_target(&[OrderId(1), OrderId(2)]).is_err());
        assert_eq!(
            operator_refund_done(&reference()),
            "Updated order mitxonline-prod-1001."
        );
    }

    #[test]
    fn admin_refund_page_messages() {
        assert_eq!(
            AdminRefundMessage::NotFulfilled.text("12"),
            "Order 12 could not be found - is it Fulfilled?"
        );
        assert_eq!(
            AdminRefundMessage::RefundedAndUnenrolling.text("mitxonline-prod-1"),
            "Order mitxonline-prod-1 refunded and unenrollment is in progress."
        );
        assert_eq!(AdminRefundMessage::Refunded.text("R"), "Order R refunded.");
        assert_eq!(
            AdminRefundMessage::Failed.text("R"),
            "Order R refund failed."
        );
    }

    #[test]
    fn ecommerce_s59_learner_refund_request_validation() {
        let (l, b) = (UserId(1), UserId(2));
        let ok = RefundRequestFacts {
            requester: l,
            purchaser: l,
            state: OrderState::Fulfilled,
            is_b2b_contract_order: false,
            consent_given: true,
        };
        assert_eq!(validate_refund_request(&ok), Ok(()));
        let order_err =
            |facts: RefundRequestFacts| validate_refund_request(&facts).unwrap_err().order;
        assert_eq!(
            order_err(RefundRequestFacts { purchaser: b, ..ok }),
            Some("You can only request a refund for your own orders.")
        );
        assert_eq!(
            order_err(RefundRequestFacts {
                state: OrderState::Pending,
                ..ok
            }),
            Some("Refund requests can only be submitted for fulfilled orders.")
        );
        assert_eq!(
            order_err(RefundRequestFacts {
                is_b2b_contract_order: true,
                ..ok
            }),
            Some("B2B contract orders are not eligible for self-service refund requests.")
        );
        assert_eq!(
            validate_refund_request(&RefundRequestFacts {
                consent_given: false,
                ..ok
            }),
            Err(RefundRequestErrors {
                order: None,
                consent_given: Some(
                    "You must acknowledge the consequences of requesting a refund."
                )
            })
        );
        assert_eq!(RefundRequestStatus::default(), RefundRequestStatus::Pending);
    }

    #[test]
    fn ecommerce_s60_refund_eligibility() {
        let n = now();
        let days = Duration::days;
        assert!(is_refund_eligible(n - days(3), &[], n));
        assert!(!is_refund_eligible(n - days(10), &[Some(n - days(12))], n));
        assert!(is_refund_eligible(n - days(10), &[Some(n + days(2))], n));
        // Boundaries: exactly 7 days after the order / the start still counts.
        assert!(is_refund_eligible(n - days(7), &[], n));
        assert!(!is_refund_eligible(n - days(8), &[None], n));
        assert!(is_refund_eligible(n - days(10), &[Some(n - days(7))], n));
    }
}
