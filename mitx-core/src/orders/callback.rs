//! Gateway callbacks (ecommerce spec 5.3, 5.7): the CyberSource decision mapping, the
//! idempotent processing of a callback, where the browser goes afterwards, what the
//! server-to-server endpoint answers, and the Stripe checkout-session status.
//!
//! Signature checking belongs to the CyberSource client (mitx-services); these rules run
//! only on callbacks whose signature was valid.

use serde::Serialize;

use super::fulfilment::{FulfilmentError, PaymentPayload, payment_transaction};
use super::state::OrderState;
use super::transaction::PaymentData;
use super::transition::{
    CallbackOutcome, Event, IllegalTransition, TransitionContext, Trigger, apply_callback,
};
use crate::ids::OrderId;
use crate::money::Money;

/// The CyberSource reason code that means success.
pub const REASON_CODE_SUCCESS: &str = "100";

/// Maps a CyberSource callback to its trigger, checked in the spec's order:
/// `DECLINE` → T4; `ERROR`, missing or unknown → T5; `CANCEL`/`REVIEW` → T6; `ACCEPT` or
/// reason code 100 → T3; anything else (only `PENDING` is left) → cancel (T6).
/// Decisions are compared exactly (upper case), as the gateway library does.
pub fn cybersource_trigger(decision: Option<&str>, reason_code: Option<&str>) -> Trigger {
    match decision {
        Some("DECLINE") => Trigger::PaymentDeclined,
        Some("CANCEL" | "REVIEW") => Trigger::PaymentCancelled,
        Some("ACCEPT") => Trigger::PaymentAccepted,
        Some("PENDING") if reason_code.map(str::trim) == Some(REASON_CODE_SUCCESS) => {
            Trigger::PaymentAccepted
        }
        Some("PENDING") => Trigger::PaymentCancelled,
        // ERROR, a missing decision and any unknown decision all mean "errored".
        _ => Trigger::PaymentErrored,
    }
}

/// Why a callback could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The accepted payment has no usable transaction id (the order stays pending).
    #[error(transparent)]
    Fulfilment(#[from] FulfilmentError),
    /// The order cannot take the transition (not expected for callbacks).
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
}

/// Processes a (signature-valid) CyberSource callback for an order in `state`.
///
/// A callback for an order that is no longer pending changes nothing (spec 3.5) and is
/// checked first, so a repeated ACCEPT never reaches the transaction-id decision.
/// `fresh_uuid` is only used when the order total is zero.
pub fn cybersource_callback(
    state: OrderState,
    fields: &PaymentData,
    order_total: Money,
    fresh_uuid: uuid::Uuid,
    ctx: &TransitionContext,
) -> Result<CallbackOutcome, CallbackError> {
    if state != OrderState::Pending {
        return Ok(CallbackOutcome::NoChange { state });
    }
    let event = match cybersource_trigger(fields.get("decision"), fields.get("reason_code")) {
        Trigger::PaymentAccepted => Event::PaymentAccepted {
            payment: payment_transaction(
                order_total,
                &PaymentPayload::CyberSource(fields.clone()),
                fresh_uuid,
            )?,
        },
        Trigger::PaymentDeclined => Event::PaymentDeclined,
        Trigger::PaymentCancelled => Event::PaymentCancelled,
        _ => Event::PaymentErrored,
    };
    Ok(apply_callback(state, &event, ctx)?)
}

/// A user message carried in the `user-message` cookie (JSON, max-age 20 s).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserMessage {
    /// The message type, e.g. `payment-declined`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The first line's title, for success messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl UserMessage {
    /// A message without a run title.
    pub fn plain(kind: &'static str) -> Self {
        UserMessage { kind, run: None }
    }
}

/// Where the browser goes after a payment or checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrowserRedirect {
    /// `/cart/` with a message.
    Cart(UserMessage),
    /// `/dashboard/` with a message.
    Dashboard(UserMessage),
    /// The MIT Learn dashboard, without a cookie.
    Learn {
        /// `{MIT_LEARN_DASHBOARD_URL}?order_status=fulfilled&order_id={id}`.
        url: String,
    },
}

impl BrowserRedirect {
    /// The redirect target.
    pub fn location(&self) -> String {
        match self {
            BrowserRedirect::Cart(_) => "/cart/".to_owned(),
            BrowserRedirect::Dashboard(_) => "/dashboard/".to_owned(),
            BrowserRedirect::Learn { url } => url.clone(),
        }
    }

    /// The cookie message, if any.
    pub fn message(&self) -> Option<&UserMessage> {
        match self {
            BrowserRedirect::Cart(m) | BrowserRedirect::Dashboard(m) => Some(m),
            BrowserRedirect::Learn { .. } => None,
        }
    }
}

/// When successful paths go to MIT Learn instead of `/dashboard/` (UAI B2C item in the
/// order, or the `redirect-to-learn-dashboard` flag for the purchaser).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LearnRedirect {
    /// `MIT_LEARN_DASHBOARD_URL`.
    pub dashboard_url: String,
    /// The order.
    pub order: OrderId,
}

impl LearnRedirect {
    /// `{MIT_LEARN_DASHBOARD_URL}?order_status=fulfilled&order_id={id}`.
    pub fn url(&self) -> String {
        format!(
            "{}?order_status=fulfilled&order_id={}",
            self.dashboard_url, self.order
        )
    }
}

/// Browser return after a CyberSource payment, by the order's resulting state:
/// canceled → `/cart/` `payment-cancelled`; errored → `/cart/` `payment-error`; declined →
/// `/cart/` `payment-declined`; fulfilled → Learn (when `learn` is given) or `/dashboard/`
/// `{"type": "payment-accepted", "run": <first line title>}`; any other state →
/// `/dashboard/` `payment-error-unknown`.
pub fn payment_return_redirect(
    state: OrderState,
    first_line_title: &str,
    learn: Option<&LearnRedirect>,
) -> BrowserRedirect {
    match state {
        OrderState::Canceled => BrowserRedirect::Cart(UserMessage::plain("payment-cancelled")),
        OrderState::Errored => BrowserRedirect::Cart(UserMessage::plain("payment-error")),
        OrderState::Declined => BrowserRedirect::Cart(UserMessage::plain("payment-declined")),
        OrderState::Fulfilled => success(learn, "payment-accepted", first_line_title),
        _ => BrowserRedirect::Dashboard(UserMessage::plain("payment-error-unknown")),
    }
}

/// Legacy checkout of a zero-total order: Learn or `/dashboard/` with
/// `{"type": "payment-accepted-no-value", "run": <first line title>}`.
pub fn zero_value_redirect(
    first_line_title: &str,
    learn: Option<&LearnRedirect>,
) -> BrowserRedirect {
    success(learn, "payment-accepted-no-value", first_line_title)
}

fn success(learn: Option<&LearnRedirect>, kind: &'static str, title: &str) -> BrowserRedirect {
    match learn {
        Some(l) => BrowserRedirect::Learn { url: l.url() },
        None => BrowserRedirect::Dashboard(UserMessage {
            kind,
            run: Some(title.to_owned()),
        }),
    }
}

/// The line title used in messages: the course title for a run, the program readable id
/// for a program.
pub fn first_line_title<'a>(
    course_title: Option<&'a str>,
    program_readable_id: Option<&'a str>,
) -> &'a str {
    course_title.or(program_readable_id).unwrap_or("")
}

/// What the server-to-server callback `POST /api/checkout/result/` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerCallbackReply {
    /// 401 `"Unable to validate request."`.
    InvalidSignature,
    /// 404: no order for the decoded reference.
    OrderNotFound,
    /// 200 (processed, or no change for a non-pending order).
    Ok,
}

impl ServerCallbackReply {
    /// Decides the reply before processing.
    pub fn decide(signature_valid: bool, order_found: bool) -> Self {
        if !signature_valid {
            ServerCallbackReply::InvalidSignature
        } else if !order_found {
            ServerCallbackReply::OrderNotFound
        } else {
            ServerCallbackReply::Ok
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            ServerCallbackReply::InvalidSignature => 401,
            ServerCallbackReply::OrderNotFound => 404,
            ServerCallbackReply::Ok => 200,
        }
    }

    /// The body text for the error replies.
    pub fn body(self) -> Option<&'static str> {
        match self {
            ServerCallbackReply::InvalidSignature => Some("Unable to validate request."),
            _ => None,
        }
    }
}

/// The overall state of a Stripe checkout session (spec 5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StripeCheckoutStatus {
    /// Still waiting: no change.
    Pending,
    /// Paid: T12.
    Paid,
    /// Cancelled or expired: T11.
    Cancelled,
    /// The PaymentIntent needs action: no change.
    PendingAction,
}

impl StripeCheckoutStatus {
    /// The trigger the webhook applies, if any.
    pub fn trigger(self) -> Option<Trigger> {
        match self {
            StripeCheckoutStatus::Paid => Some(Trigger::StripeSessionPaid),
            StripeCheckoutStatus::Cancelled => Some(Trigger::StripeSessionCancelled),
            StripeCheckoutStatus::Pending | StripeCheckoutStatus::PendingAction => None,
        }
    }
}

/// Derives the overall status of a Stripe Checkout Session from its `status`,
/// `payment_status` and, when it has one, its PaymentIntent's `status`.
///
/// Without a PaymentIntent: `open`, or `complete` + `unpaid` → pending; `complete` + `paid`
/// or `no_payment_required` → paid; `expired` + `unpaid` → cancelled; else pending. With a
/// PaymentIntent: `processing` → pending; `succeeded` → paid; `canceled` (Stripe's spelling)
/// or `cancelled` → cancelled; anything else → pending-action. The original compares with
/// `cancelled` only, so real cancellations read as pending-action; mitx keeps the intent.
pub fn stripe_session_status(
    session_status: &str,
    payment_status: &str,
    payment_intent_status: Option<&str>,
) -> StripeCheckoutStatus {
    match payment_intent_status {
        None => match (session_status, payment_status) {
            ("complete", "paid" | "no_payment_required") => StripeCheckoutStatus::Paid,
            ("expired", "unpaid") => StripeCheckoutStatus::Cancelled,
            _ => StripeCheckoutStatus::Pending,
        },
        Some("processing") => StripeCheckoutStatus::Pending,
        Some("succeeded") => StripeCheckoutStatus::Paid,
        Some("canceled" | "cancelled") => StripeCheckoutStatus::Cancelled,
        Some(_) => StripeCheckoutStatus::PendingAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::transition::Effect;
    use crate::orders::transition::tests::ctx;

    fn fields(pairs: &[(&str, &str)]) -> PaymentData {
        pairs.iter().copied().collect()
    }

    fn accept() -> PaymentData {
        fields(&[
            ("decision", "ACCEPT"),
            ("reason_code", "100"),
            ("transaction_id", "7000000000000000000001"),
            ("req_reference_number", "mitxonline-prod-1001"),
        ])
    }

    fn total() -> Money {
        Money::from_cents(80_000)
    }

    fn uuid() -> uuid::Uuid {
        uuid::Uuid::from_u128(1)
    }

    #[test]
    fn decision_mapping_in_order() {
        let cases = [
            (Some("DECLINE"), Some("100"), Trigger::PaymentDeclined),
            (Some("ERROR"), Some("100"), Trigger::PaymentErrored),
            (None, Some("100"), Trigger::PaymentErrored),
            (Some("WEIRD"), Some("100"), Trigger::PaymentErrored),
            (Some("accept"), None, Trigger::PaymentErrored),
            (Some("CANCEL"), Some("100"), Trigger::PaymentCancelled),
            (Some("REVIEW"), Some("480"), Trigger::PaymentCancelled),
            (Some("ACCEPT"), Some("100"), Trigger::PaymentAccepted),
            (Some("ACCEPT"), None, Trigger::PaymentAccepted),
            (Some("PENDING"), Some("100"), Trigger::PaymentAccepted),
            (Some("PENDING"), Some("110"), Trigger::PaymentCancelled),
            (Some("PENDING"), None, Trigger::PaymentCancelled),
        ];
        for (decision, reason, expected) in cases {
            assert_eq!(
                cybersource_trigger(decision, reason),
                expected,
                "{decision:?} {reason:?}"
            );
        }
    }

    #[test]
    fn ecommerce_s42_accept_fulfils_and_redirects_to_dashboard() {
        let out =
            cybersource_callback(OrderState::Pending, &accept(), total(), uuid(), &ctx()).unwrap();
        let CallbackOutcome::Applied(t) = out else {
            panic!("expected a transition, got {out:?}")
        };
        assert_eq!(t.to, OrderState::Fulfilled);
        let Some(Effect::RecordPaymentTransaction(p)) = t.effects.first() else {
            panic!("first effect must record the payment")
        };
        assert_eq!(p.transaction_id.as_str(), "7000000000000000000001");
        for wanted in [
            "EnrollVerified",
            "CreatePaidCourseRun",
            "DeleteBasketIfMatches",
            "QueueReceiptEmail",
        ] {
            assert!(
                t.effects
                    .iter()
                    .any(|e| format!("{e:?}").starts_with(wanted)),
                "missing {wanted}"
            );
        }
        let r = payment_return_redirect(t.to, "Intro", None);
        assert_eq!(r.location(), "/dashboard/");
        assert_eq!(
            r.message(),
            Some(&UserMessage {
                kind: "payment-accepted",
                run: Some("Intro".into())
            })
        );
        let learn = LearnRedirect {
            dashboard_url: "https://learn.mit.edu/dashboard".into(),
            order: OrderId(1001),
        };
        assert_eq!(
            payment_return_redirect(t.to, "Intro", Some(&learn)).location(),
            "https://learn.mit.edu/dashboard?order_status=fulfilled&order_id=1001"
        );
    }

    #[test]
    fn ecommerce_s43_unsuccessful_decisions() {
        let cases = [
            ("DECLINE", OrderState::Declined, "payment-declined", true),
            ("ERROR", OrderState::Errored, "payment-error", false),
            ("CANCEL", OrderState::Canceled, "payment-cancelled", false),
            ("REVIEW", OrderState::Canceled, "payment-cancelled", false),
        ];
        for (decision, state, message, deletes_redemptions) in cases {
            let f = fields(&[("decision", decision), ("transaction_id", "t")]);
            let out =
                cybersource_callback(OrderState::Pending, &f, total(), uuid(), &ctx()).unwrap();
            let CallbackOutcome::Applied(t) = out else {
                panic!("{decision}: expected a transition")
            };
            assert_eq!(t.to, state, "{decision}");
            // No enrolment, paid record, payment transaction or basket deletion.
            assert!(t.effects.iter().all(|e| matches!(
                e,
                Effect::DeleteRedemptions { .. } | Effect::QueueCrmDealSync { .. }
            )));
            assert_eq!(
                t.effects
                    .iter()
                    .any(|e| matches!(e, Effect::DeleteRedemptions { .. })),
                deletes_redemptions
            );
            let r = payment_return_redirect(t.to, "Intro", None);
            assert_eq!(r.location(), "/cart/");
            assert_eq!(r.message(), Some(&UserMessage::plain(message)));
        }
        assert_eq!(
            payment_return_redirect(OrderState::Refunded, "x", None),
            BrowserRedirect::Dashboard(UserMessage::plain("payment-error-unknown"))
        );
    }

    #[test]
    fn ecommerce_s44_accept_twice_changes_nothing() {
        let first =
            cybersource_callback(OrderState::Pending, &accept(), total(), uuid(), &ctx()).unwrap();
        assert_eq!(first.state(), OrderState::Fulfilled);
        // The second delivery (server-to-server after the browser) is a no-change, even
        // with a payload that would otherwise fail.
        for payload in [accept(), fields(&[("decision", "ACCEPT")])] {
            let second =
                cybersource_callback(first.state(), &payload, total(), uuid(), &ctx()).unwrap();
            assert_eq!(
                second,
                CallbackOutcome::NoChange {
                    state: OrderState::Fulfilled
                }
            );
        }
        assert_eq!(ServerCallbackReply::decide(true, true).status(), 200);
    }

    #[test]
    fn ecommerce_s45_server_callback_replies() {
        let bad = ServerCallbackReply::decide(false, true);
        assert_eq!(bad.status(), 401);
        assert_eq!(bad.body(), Some("Unable to validate request."));
        assert_eq!(ServerCallbackReply::decide(true, false).status(), 404);
    }

    #[test]
    fn accept_without_transaction_id_keeps_the_order_pending() {
        let f = fields(&[("decision", "ACCEPT")]);
        assert_eq!(
            cybersource_callback(OrderState::Pending, &f, total(), uuid(), &ctx()),
            Err(CallbackError::Fulfilment(
                FulfilmentError::MissingTransactionId
            ))
        );
    }

    #[test]
    fn ecommerce_s46_zero_value_legacy_redirect() {
        let r = zero_value_redirect("Intro", None);
        assert_eq!(r.location(), "/dashboard/");
        assert_eq!(
            r.message().map(|m| m.kind),
            Some("payment-accepted-no-value")
        );
        assert_eq!(
            first_line_title(None, Some("program-v1:MITx+DEDP")),
            "program-v1:MITx+DEDP"
        );
    }

    #[test]
    fn stripe_status_derivation() {
        use StripeCheckoutStatus::*;
        let cases = [
            ("open", "unpaid", None, Pending),
            ("complete", "unpaid", None, Pending),
            ("complete", "paid", None, Paid),
            ("complete", "no_payment_required", None, Paid),
            ("expired", "unpaid", None, Cancelled),
            ("expired", "paid", None, Pending),
            ("complete", "paid", Some("processing"), Pending),
            ("complete", "paid", Some("succeeded"), Paid),
            ("open", "unpaid", Some("canceled"), Cancelled),
            ("open", "unpaid", Some("cancelled"), Cancelled),
            ("open", "unpaid", Some("requires_action"), PendingAction),
        ];
        for (status, payment, intent, expected) in cases {
            assert_eq!(
                stripe_session_status(status, payment, intent),
                expected,
                "{status} {payment} {intent:?}"
            );
        }
        assert_eq!(Paid.trigger(), Some(Trigger::StripeSessionPaid));
        assert_eq!(Cancelled.trigger(), Some(Trigger::StripeSessionCancelled));
        assert_eq!(PendingAction.trigger(), None);
    }
}
