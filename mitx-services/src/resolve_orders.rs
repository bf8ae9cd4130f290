//! `resolve_pending_order` (ecommerce spec 5.6): settles pending orders from what the
//! gateway knows. CyberSource orders are looked up with one transaction search (then each
//! found transaction's details); Stripe orders through their stored initial Checkout
//! Session. A successful record fulfils the order (T7), another one cancels it with the
//! record as its transaction (T8), no record leaves it pending. `--no-check` fulfils every
//! target without asking the gateway; `--no-fulfillment` fulfils without enrollments or
//! receipt. Failures are counted per order, never fatal.

use std::collections::HashMap;

use mitx_core::orders::{
    ADMINISTRATIVE_PAYLOAD, Event, GatewayRecord, GatewayType, OrderState, PaymentPayload,
    ReferenceNumber, ResolutionOutcome, ResolveError, ResolveSummary, ResolveTarget, Trigger,
    payment_transaction, resolution_trigger, resolve_target, stripe_session_status,
};
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::orders::OrderRow;
use serde::Serialize;
use serde_json::Value;

use crate::Services;
use crate::course_certificates::random_uuid;
use crate::cybersource_rest::TransactionRecord;
use crate::order_events::{EventOptions, EventOutcome, apply_event};
use crate::stripe::{newest_initial_session, session_status_fields};

/// Why the command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ResolveWorkflowError {
    /// The options or the order reference were wrong.
    #[error(transparent)]
    Target(#[from] ResolveError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The command's options.
#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// `--order REF`.
    pub order: Option<String>,
    /// `--all`.
    pub all: bool,
    /// `--no-check`: fulfil without asking the gateway.
    pub no_check: bool,
    /// `--no-fulfillment`: no enrollments, paid records or receipt.
    pub no_fulfillment: bool,
}

/// What happened to one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedOrder {
    /// The order's reference.
    pub reference: String,
    /// `fulfilled`, `canceled`, `errored` or `untouched`.
    pub outcome: &'static str,
    /// Why (errors, untouched orders).
    pub detail: String,
}

/// The command's result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ResolveReport {
    /// Per order, in order.
    pub orders: Vec<ResolvedOrder>,
    /// Fulfilled orders.
    pub fulfilled: u32,
    /// Canceled orders.
    pub canceled: u32,
    /// Orders that failed.
    pub errored: u32,
}

impl ResolveReport {
    fn summary(&self) -> ResolveSummary {
        ResolveSummary {
            fulfilled: self.fulfilled,
            canceled: self.canceled,
            errored: self.errored,
        }
    }

    /// `Processed orders: F fulfilled, C canceled, E errored`.
    pub fn summary_line(&self) -> String {
        self.summary().summary_line()
    }

    /// `E orders had errors.` when E > 0.
    pub fn error_line(&self) -> Option<String> {
        self.summary().error_line()
    }
}

/// Resolves the target pending orders; `progress(done, total)` is called after each.
pub async fn resolve_pending_orders(
    services: &Services,
    options: &ResolveOptions,
    audit: &Audit,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ResolveReport, ResolveWorkflowError> {
    let store = services.store();
    let reference = match &options.order {
        Some(text) => Some(
            ReferenceNumber::parse(text.trim())
                .map_err(|_| ResolveError::NotFound(text.trim().to_owned()))?,
        ),
        None => None,
    };
    let matches = match (&reference, options.all) {
        (Some(r), false) => store.orders_by_reference(r.as_str()).await?,
        _ => Vec::new(),
    };
    let targets: Vec<OrderRow> =
        match resolve_target(reference.as_ref(), options.all, matches.len())? {
            ResolveTarget::All => {
                let mut rows = Vec::new();
                for pending in store.pending_orders().await? {
                    if let Some(row) = store.order(pending.id).await?
                        && row.state == OrderState::Pending
                    {
                        rows.push(row);
                    }
                }
                rows
            }
            ResolveTarget::One(_) => matches
                .into_iter()
                .filter(|o| o.state == OrderState::Pending)
                .collect(),
        };
    let mut report = ResolveReport::default();
    let total = targets.len();
    let records = if options.no_check {
        Ok(HashMap::new())
    } else {
        cybersource_records(services, &targets).await
    };
    for (done, order) in targets.iter().enumerate() {
        let reference = order.reference_number.clone().unwrap_or_default();
        let (outcome, detail) = match resolve_one(services, order, options, &records, audit).await {
            Ok((outcome, detail)) => (outcome, detail),
            Err(detail) => {
                tracing::warn!(%reference, %detail, "pending order not resolved");
                (ResolutionOutcome::Errored, detail)
            }
        };
        match outcome {
            ResolutionOutcome::Fulfilled => report.fulfilled += 1,
            ResolutionOutcome::Canceled => report.canceled += 1,
            ResolutionOutcome::Errored => report.errored += 1,
            ResolutionOutcome::Untouched => {}
        }
        report.orders.push(ResolvedOrder {
            reference,
            outcome: match outcome {
                ResolutionOutcome::Fulfilled => "fulfilled",
                ResolutionOutcome::Canceled => "canceled",
                ResolutionOutcome::Errored => "errored",
                ResolutionOutcome::Untouched => "untouched",
            },
            detail,
        });
        progress(done + 1, total);
    }
    Ok(report)
}

type Records = Result<HashMap<String, TransactionRecord>, String>;

/// One search for every CyberSource target (the REST API takes an OR query).
async fn cybersource_records(services: &Services, targets: &[OrderRow]) -> Records {
    let references: Vec<String> = targets
        .iter()
        .filter(|o| o.gateway == GatewayType::CyberSource)
        .filter_map(|o| o.reference_number.clone())
        .collect();
    if references.is_empty() {
        return Ok(HashMap::new());
    }
    match services
        .cybersource_rest()
        .find_transactions(&references)
        .await
    {
        Ok(found) => Ok(found
            .into_iter()
            .map(|r| (r.reference.clone(), r))
            .collect()),
        Err(err) => Err(err.to_string()),
    }
}

async fn resolve_one(
    services: &Services,
    order: &OrderRow,
    options: &ResolveOptions,
    records: &Records,
    audit: &Audit,
) -> Result<(ResolutionOutcome, String), String> {
    let reference = order.reference_number.clone().unwrap_or_default();
    let (record, payload, data) = if options.no_check {
        let data = serde_json::to_value(ADMINISTRATIVE_PAYLOAD).unwrap_or_default();
        (
            GatewayRecord::None,
            PaymentPayload::Administrative(ADMINISTRATIVE_PAYLOAD),
            data,
        )
    } else {
        match order.gateway {
            GatewayType::CyberSource => {
                let records = records.as_ref().map_err(Clone::clone)?;
                match records.get(&reference) {
                    Some(found) => (
                        GatewayRecord::CyberSource {
                            reason_code: found.reason_code(),
                        },
                        PaymentPayload::CyberSource(found.payment_data()),
                        Value::Object(found.payload.clone()),
                    ),
                    None => {
                        return Ok((ResolutionOutcome::Untouched, "no gateway record".into()));
                    }
                }
            }
            GatewayType::Stripe => stripe_record(services, order).await?,
        }
    };
    let trigger = resolution_trigger(&record, options.no_check).map_err(|e| e.to_string())?;
    let Some(trigger) = trigger else {
        return Ok((
            ResolutionOutcome::Untouched,
            "still pending at the gateway".into(),
        ));
    };
    let transaction = payment_transaction(order.total_price_paid, &payload, random_uuid())
        .map_err(|e| e.to_string())?;
    let (event, outcome) = match trigger {
        Trigger::ResolvedPaid => (
            Event::ResolvedPaid {
                payment: transaction,
            },
            ResolutionOutcome::Fulfilled,
        ),
        _ => (
            Event::ResolvedUnpaid { transaction },
            ResolutionOutcome::Canceled,
        ),
    };
    let event_options = EventOptions {
        skip_fulfillment: options.no_fulfillment,
        data: Some(data),
        ..EventOptions::default()
    };
    match apply_event(services, order.id, event, event_options, Some(audit)).await {
        Ok(EventOutcome::Applied { .. }) => Ok((outcome, String::new())),
        Ok(EventOutcome::Ignored { state }) => Ok((
            ResolutionOutcome::Untouched,
            format!("the order is {} now", state.as_str()),
        )),
        Err(err) => Err(err.to_string()),
    }
}

/// The stored initial Checkout Session of a Stripe order, read again from Stripe.
async fn stripe_record(
    services: &Services,
    order: &OrderRow,
) -> Result<(GatewayRecord, PaymentPayload, Value), String> {
    let transactions = services
        .store()
        .order_transactions(order.id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(initial) = newest_initial_session(&transactions) else {
        return Ok((
            GatewayRecord::None,
            PaymentPayload::Stripe {
                event_id: None,
                amount_total_cents: None,
            },
            Value::Null,
        ));
    };
    let session = services
        .stripe()
        .retrieve_checkout_session(&initial.transaction_id)
        .await
        .map_err(|e| e.to_string())?;
    let (status, payment_status, intent) = session_status_fields(&session);
    let record = GatewayRecord::Stripe(stripe_session_status(
        &status,
        &payment_status,
        intent.as_deref(),
    ));
    // The PaymentIntent's id identifies the payment; the session id is already the
    // initial transaction's.
    let payment_id = session
        .pointer("/payment_intent/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| Some(format!("{}-resolved", initial.transaction_id)));
    let payload = PaymentPayload::Stripe {
        event_id: payment_id,
        amount_total_cents: session.get("amount_total").and_then(Value::as_i64),
    };
    Ok((record, payload, session))
}
