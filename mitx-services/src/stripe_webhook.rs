//! The Stripe webhook (ecommerce spec 5.7): verify the signature, log every event in
//! `stripe_event_logs`, and settle the order the event's session belongs to.
//! `checkout.session.completed` re-reads the session (with its PaymentIntent) from Stripe
//! rather than trusting the event's copy: paid → T12, cancelled → T11, still pending → no
//! change. `checkout.session.expired` → T11. Events for unknown references are logged and
//! ignored; a repeated event finds the order no longer pending and changes nothing.

use mitx_core::ids::OrderId;
use mitx_core::orders::{
    Event, PaymentPayload, StripeCheckoutStatus, payment_transaction, stripe_session_status,
};
use mitx_store::StoreError;
use serde_json::Value;

use crate::Services;
use crate::course_certificates::random_uuid;
use crate::error::{Fault, store_fault};
use crate::order_events::{EventOptions, EventOutcome, OrderEventError, apply_event};
use crate::stripe::{StripeError, WebhookError, session_status_fields, verify_webhook};

/// Why a webhook request failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeWebhookError {
    /// The request is not a validly signed Stripe event (400).
    #[error("Invalid Stripe webhook request: {0}")]
    Signature(#[from] WebhookError),
    /// Stripe could not be asked for the session (Stripe retries the event).
    #[error(transparent)]
    Stripe(#[from] StripeError),
    /// The executor failed.
    #[error(transparent)]
    Event(#[from] OrderEventError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StripeWebhookError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            StripeWebhookError::Signature(_) => Fault::Caller,
            StripeWebhookError::Stripe(_) => Fault::Busy,
            StripeWebhookError::Event(err) => err.fault(),
            StripeWebhookError::Store(err) => store_fault(err),
        }
    }
}

/// What the webhook did with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Logged; the event type is not one mitx acts on, or no order has its reference.
    Ignored,
    /// The session is still pending (or needs action): no change.
    Pending,
    /// The order moved.
    Applied {
        /// The order.
        order: OrderId,
    },
    /// The order was not in a state the event admits (a repeated event): no change.
    Unchanged {
        /// The order.
        order: OrderId,
    },
}

/// Handles one webhook request: `payload` is the raw body, `signature` the
/// `Stripe-Signature` header.
pub async fn handle(
    services: &Services,
    payload: &[u8],
    signature: Option<&str>,
) -> Result<WebhookOutcome, StripeWebhookError> {
    let now = services.now();
    let event = verify_webhook(
        payload,
        signature,
        &services.settings().stripe.webhook_secrets,
        // The signature's timestamp is compared with the wall clock Stripe signed with.
        chrono::Utc::now().timestamp(),
    )?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let event_id = text(event.get("id")).unwrap_or_default();
    let event_type = text(event.get("type")).unwrap_or_else(|| "invalid.event".to_owned());
    let object = event
        .pointer("/data/object")
        .cloned()
        .unwrap_or(Value::Null);
    let order = match text(object.get("client_reference_id")) {
        Some(reference) => services
            .store()
            .orders_by_reference(&reference)
            .await?
            .into_iter()
            .next(),
        None => None,
    };
    let mut tx = services.db().begin().await?;
    tx.log_stripe_event(
        &event_id,
        &event_type,
        &String::from_utf8_lossy(payload),
        order.as_ref().map(|o| o.id),
        now,
    )
    .await?;
    tx.commit().await?;
    let Some(order) = order else {
        tracing::info!(%event_id, %event_type, "Stripe event for no known order ignored");
        return Ok(WebhookOutcome::Ignored);
    };
    let session_id = text(object.get("id")).unwrap_or_default();
    let status = match event_type.as_str() {
        "checkout.session.completed" => {
            let session = services
                .stripe()
                .retrieve_checkout_session(&session_id)
                .await?;
            let (status, payment_status, intent) = session_status_fields(&session);
            stripe_session_status(&status, &payment_status, intent.as_deref())
        }
        "checkout.session.expired" => StripeCheckoutStatus::Cancelled,
        _ => return Ok(WebhookOutcome::Ignored),
    };
    if status == StripeCheckoutStatus::Cancelled {
        // A reused order has one session per checkout: an older session that expires
        // after the learner paid through (or is paying through) a newer one must not
        // cancel the order.
        let transactions = services.store().order_transactions(order.id).await?;
        let newest = crate::stripe::newest_initial_session(&transactions);
        if newest.is_some_and(|t| t.transaction_id != session_id) {
            tracing::info!(%event_id, %session_id, order = %order.id, "cancellation of a superseded Stripe session ignored");
            return Ok(WebhookOutcome::Unchanged { order: order.id });
        }
    }
    let stripe_payload = PaymentPayload::Stripe {
        event_id: Some(event_id.clone()),
        amount_total_cents: object.get("amount_total").and_then(Value::as_i64),
    };
    let transaction =
        match payment_transaction(order.total_price_paid, &stripe_payload, random_uuid()) {
            Ok(transaction) => transaction,
            Err(err) => {
                tracing::warn!(%event_id, error = %err, "Stripe event without a usable id ignored");
                return Ok(WebhookOutcome::Ignored);
            }
        };
    let event = match status {
        StripeCheckoutStatus::Paid => Event::StripeSessionPaid {
            payment: transaction,
        },
        StripeCheckoutStatus::Cancelled => Event::StripeSessionCancelled { transaction },
        StripeCheckoutStatus::Pending | StripeCheckoutStatus::PendingAction => {
            return Ok(WebhookOutcome::Pending);
        }
    };
    let options = EventOptions {
        data: serde_json::from_slice(payload).ok(),
        ..EventOptions::default()
    };
    Ok(
        match apply_event(services, order.id, event, options, None).await? {
            EventOutcome::Applied { .. } => WebhookOutcome::Applied { order: order.id },
            EventOutcome::Ignored { .. } => WebhookOutcome::Unchanged { order: order.id },
        },
    )
}
