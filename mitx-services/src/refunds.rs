//! Refunds (ecommerce spec 5.5, 5.6): `refund_order` through the CyberSource REST API (T9)
//! and the record-only `refund_fulfilled_order` (T10), both with an audit row, plus the
//! `orders.downgrade_to_audit` job.
//!
//! A refund is idempotent by the order's state: only a fulfilled order is refunded, and
//! the check runs before the gateway is called, so a second refund of the same order is
//! refused without a second gateway call. The gateway call runs before (never inside) the
//! unit of work; the executor ([`crate::order_events::apply_event`]) then records the
//! refund transaction and queues the email and the downgrade in one transaction.

use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::EnrollRequest;
use mitx_core::ids::{CourseRunId, OrderId};
use mitx_core::money::Money;
use mitx_core::orders::{
    EnrollmentAction, Event, GatewayRefundRequest, OrderState, RefundCommandError, RefundError,
    StoredTransaction, check_refundable, operator_refund_action, operator_refund_done,
    operator_refund_target, refund_event, refund_request, refund_source_transaction,
};
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::jobs::JobRecord;
use mitx_store::orders::OrderRow;
use mitx_store::products::ContentType;
use serde::Serialize;

use crate::Services;
use crate::cybersource_rest::{CyberSourceRestError, flatten};
use crate::error::{Fault, store_fault};
use crate::jobs::{self, JobOutcome};
use crate::order_events::{EventOptions, EventOutcome, OrderEventError, OrderJob, apply_event};

/// Why a refund did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RefundWorkflowError {
    /// The refund rules refused (not fulfilled, no transaction, PayPal, duplicate, ...).
    #[error(transparent)]
    Refund(#[from] RefundError),
    /// The record-only command's options or order were wrong.
    #[error(transparent)]
    Command(#[from] RefundCommandError),
    /// The gateway failed (nothing was recorded; the order stays fulfilled).
    #[error("the refund failed at CyberSource: {0}")]
    Gateway(#[from] CyberSourceRestError),
    /// The gateway refunded, but the order left `fulfilled` meanwhile (another refund won
    /// the race); nothing more was recorded here.
    #[error(
        "Order {reference} was refunded at the gateway (refund id {refund_id}) but is now {state}; nothing was recorded. Check the order and the gateway."
    )]
    Changed {
        /// The order's reference.
        reference: String,
        /// The gateway's refund id.
        refund_id: String,
        /// The order's state now.
        state: OrderState,
    },
    /// CyberSource refunded, but recording the refund failed: the money moved and the
    /// order does not say so yet.
    #[error(
        "Order {reference} was refunded at CyberSource (refund id {refund_id}) but the refund could not be recorded: {source}. Do not refund it again: fix the cause, then record it with `mitx orders refund {reference} --record-only`."
    )]
    NotRecorded {
        /// The order's reference.
        reference: String,
        /// The gateway's refund id.
        refund_id: String,
        /// Why recording failed.
        source: OrderEventError,
    },
    /// The executor failed.
    #[error(transparent)]
    Event(#[from] OrderEventError),
    /// Another refund of the same order is in progress.
    #[error(transparent)]
    Busy(#[from] crate::leases::LeaseError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RefundWorkflowError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            RefundWorkflowError::Refund(RefundError::OrderNotFound)
            | RefundWorkflowError::Command(RefundCommandError::OrderNotFound) => Fault::NotFound,
            RefundWorkflowError::Refund(_)
            | RefundWorkflowError::Command(_)
            | RefundWorkflowError::Changed { .. } => Fault::Caller,
            RefundWorkflowError::Gateway(_) | RefundWorkflowError::Busy(_) => Fault::Busy,
            RefundWorkflowError::Event(err)
            | RefundWorkflowError::NotRecorded { source: err, .. } => err.fault(),
            RefundWorkflowError::Store(err) => store_fault(err),
        }
    }
}

/// What a gateway refund asks for.
#[derive(Clone, Debug, Default)]
pub struct GatewayRefund {
    /// A partial amount (default: the payment's `req_amount`).
    pub amount: Option<Money>,
    /// Stored on the refund transaction (may be blank).
    pub reason: String,
    /// Queue the downgrade of the purchaser's runs to audit.
    pub unenroll: bool,
}

/// What a refund did, or would do with `--dry-run`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundSummary {
    /// The order.
    pub order: OrderId,
    /// Its reference.
    pub reference: String,
    /// `gateway` or `record-only`.
    pub via: &'static str,
    /// The state before.
    pub from: OrderState,
    /// The state after (`refunded`).
    pub to: OrderState,
    /// The amount refunded at the gateway (none for record-only).
    pub amount: Option<Money>,
    /// The currency of the payment.
    pub currency: Option<String>,
    /// The payment's gateway transaction id.
    pub payment_transaction: Option<String>,
    /// The refund's gateway id (none for a dry run or record-only).
    pub refund_transaction: Option<String>,
    /// What happens to the purchaser's enrollments: `none`, `downgrade to audit`,
    /// `unenroll`.
    pub enrollments: &'static str,
    /// Nothing was changed.
    pub dry_run: bool,
    /// The command's message (`Updated order REF.` for record-only).
    pub message: String,
}

fn enrollments_text(action: Option<EnrollmentAction>) -> &'static str {
    match action {
        None => "none",
        Some(EnrollmentAction::Audit) => "downgrade to audit",
        Some(EnrollmentAction::Unenroll) => "unenroll",
    }
}

async fn order_by_reference(
    services: &Services,
    reference: &str,
) -> Result<OrderRow, RefundWorkflowError> {
    let mut found = services.store().orders_by_reference(reference).await?;
    match found.len() {
        1 => Ok(found.remove(0)),
        _ => Err(RefundError::OrderNotFound.into()),
    }
}

/// `refund_order` (5.5) by reference: checks the order is fulfilled and its oldest
/// transaction refundable, asks CyberSource for the refund, then records it (T9). With
/// `dry_run` it stops before the gateway call and reports what would be sent.
///
/// A real refund holds the order's refund lease from before it reads the state until the
/// outcome is recorded, so two refunds of one order started together call the gateway
/// once: the second reads the order after the first has recorded it and is refused.
pub async fn refund_order(
    services: &Services,
    reference: &str,
    refund: &GatewayRefund,
    audit: &Audit,
    dry_run: bool,
) -> Result<RefundSummary, RefundWorkflowError> {
    if dry_run {
        return refund_read_then_call(services, reference, refund, audit, dry_run).await;
    }
    let lease = crate::leases::acquire(
        services,
        crate::leases::order_refund_lease(reference),
        crate::leases::LEASE_WAIT,
    )
    .await?;
    let outcome = refund_read_then_call(services, reference, refund, audit, dry_run).await;
    lease.release(services).await;
    outcome
}

async fn refund_read_then_call(
    services: &Services,
    reference: &str,
    refund: &GatewayRefund,
    audit: &Audit,
    dry_run: bool,
) -> Result<RefundSummary, RefundWorkflowError> {
    let order = order_by_reference(services, reference).await?;
    check_refundable(order.id, order.state)?;
    // Every line must be readable by the transition before the money moves: a line whose
    // run or program is gone stops the refund here, not after CyberSource refunded.
    let lines = services.store().order_lines(order.id).await?;
    crate::order_events::purchased_items(order.id, &lines)?;
    let transactions: Vec<StoredTransaction> = services
        .store()
        .order_transactions(order.id)
        .await?
        .into_iter()
        .map(|t| StoredTransaction {
            created_on: t.created_on,
            data: t.data.as_object().map(flatten).unwrap_or_default(),
        })
        .collect();
    let source = refund_source_transaction(order.id, &transactions)?;
    let reference_number = mitx_core::orders::ReferenceNumber::parse(reference)
        .map_err(|_| RefundError::OrderNotFound)?;
    let request: GatewayRefundRequest =
        refund_request(&reference_number, &source.data, refund.amount)?;
    let mut summary = RefundSummary {
        order: order.id,
        reference: reference.to_owned(),
        via: "gateway",
        from: order.state,
        to: OrderState::Refunded,
        amount: Some(request.amount),
        currency: Some(request.currency.clone()),
        payment_transaction: Some(request.transaction_id.clone()),
        refund_transaction: None,
        enrollments: enrollments_text(refund.unenroll.then_some(EnrollmentAction::Audit)),
        dry_run,
        message: format!("Order {reference} would be refunded."),
    };
    if dry_run {
        return Ok(summary);
    }
    let reply = services.cybersource_rest().refund(&request).await?;
    let event = match refund_event(&request, &reply.response, &refund.reason, refund.unenroll) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(%reference, error = %err, "refund refused by the gateway");
            return Err(err.into());
        }
    };
    let refund_id = reply.response.id.clone().unwrap_or_default();
    let options = EventOptions {
        data: Some(reply.raw.clone()),
        ..EventOptions::default()
    };
    let applied = apply_event(services, order.id, event, options, Some(audit))
        .await
        .map_err(|source| {
            tracing::error!(%reference, %refund_id, error = %source, "CyberSource refunded but the refund was not recorded");
            RefundWorkflowError::NotRecorded {
                reference: reference.to_owned(),
                refund_id: refund_id.clone(),
                source,
            }
        })?;
    match applied {
        EventOutcome::Applied { .. } => {
            summary.refund_transaction = Some(refund_id);
            summary.message = format!("Order {reference} refunded.");
            Ok(summary)
        }
        EventOutcome::Ignored { state } => {
            tracing::error!(%reference, %refund_id, state = state.as_str(), "gateway refunded an order that is no longer fulfilled");
            Err(RefundWorkflowError::Changed {
                reference: reference.to_owned(),
                refund_id,
                state,
            })
        }
    }
}

/// `refund_fulfilled_order REF [--unenroll] [--audit]` (5.6): marks the one fulfilled
/// order with this reference refunded without a gateway call (T10) and unenrolls
/// (`unenroll` wins) or downgrades the purchaser's runs to audit.
pub async fn refund_fulfilled_order(
    services: &Services,
    reference: &str,
    unenroll: bool,
    audit_mode: bool,
    audit: &Audit,
    dry_run: bool,
) -> Result<RefundSummary, RefundWorkflowError> {
    let action = operator_refund_action(unenroll, audit_mode)?;
    let orders = services.store().orders_by_reference(reference).await?;
    let fulfilled: Vec<OrderId> = orders
        .iter()
        .filter(|o| o.state == OrderState::Fulfilled)
        .map(|o| o.id)
        .collect();
    let target = operator_refund_target(&fulfilled)?;
    let mut summary = RefundSummary {
        order: target,
        reference: reference.to_owned(),
        via: "record-only",
        from: OrderState::Fulfilled,
        to: OrderState::Refunded,
        amount: None,
        currency: None,
        payment_transaction: None,
        refund_transaction: None,
        enrollments: enrollments_text(Some(action)),
        dry_run,
        message: format!("Order {reference} would be marked refunded."),
    };
    if dry_run {
        return Ok(summary);
    }
    // The gateway refund's lease: a record-only refund waits for a gateway refund of the
    // same order in progress (and then finds the order refunded).
    let lease = crate::leases::acquire(
        services,
        crate::leases::order_refund_lease(reference),
        crate::leases::LEASE_WAIT,
    )
    .await?;
    let applied = apply_event(
        services,
        target,
        Event::OperatorRefund { action },
        EventOptions::default(),
        Some(audit),
    )
    .await;
    lease.release(services).await;
    match applied? {
        EventOutcome::Applied { .. } => {
            summary.message = match mitx_core::orders::ReferenceNumber::parse(reference) {
                Ok(r) => operator_refund_done(&r),
                Err(_) => format!("Updated order {reference}."),
            };
            Ok(summary)
        }
        // Refunded by someone else between the read and the unit of work.
        EventOutcome::Ignored { .. } => Err(RefundCommandError::OrderNotFound.into()),
    }
}

/// `orders.downgrade_to_audit`: re-enrols the refunded order's purchaser in each of its
/// runs in audit mode (a downgrade, not a removal; spec 5.5 step 7, T10 `--audit`). Runs
/// the purchaser is not enrolled in, or already audits, are left alone, so a repeated job
/// changes nothing.
pub(crate) async fn run_downgrade_job(services: &Services, job: &JobRecord) -> JobOutcome {
    let target: OrderJob = match jobs::payload(job) {
        Ok(target) => target,
        Err(outcome) => return outcome,
    };
    let store = services.store();
    let order = match store.order(target.order).await {
        Ok(Some(order)) => order,
        Ok(None) => return JobOutcome::Done(Some(format!("order {} is gone", target.order))),
        Err(err) => return JobOutcome::Retry(err.to_string()),
    };
    let lines = match store.order_lines(order.id).await {
        Ok(lines) => lines,
        Err(err) => return JobOutcome::Retry(err.to_string()),
    };
    let mut done = 0;
    for line in lines
        .iter()
        .filter(|l| l.content_type == ContentType::CourseRun)
    {
        let run_id = CourseRunId(line.object_id);
        match store.run_enrollment(order.purchaser, run_id).await {
            Ok(Some(record))
                if record.enrollment.active && record.enrollment.mode != EnrollmentMode::Audit => {}
            Ok(_) => continue,
            Err(err) => return JobOutcome::Retry(err.to_string()),
        }
        let run = match store.enrollment_run(run_id).await {
            Ok(Some(run)) => run,
            Ok(None) => continue,
            Err(err) => return JobOutcome::Retry(err.to_string()),
        };
        let no_check: crate::enrollment::RowCheck<'_> = &|_, _| Ok(());
        match crate::enrollment::enroll(
            services,
            order.purchaser,
            &run,
            // The refund already happened: the local row follows it even if edX refuses
            // (the edX retry job completes the change later).
            EnrollRequest::audit(true),
            None,
            no_check,
        )
        .await
        {
            Ok(crate::enrollment::Enrollment::Enrolled(_)) => done += 1,
            Ok(crate::enrollment::Enrollment::EdxFailed(failure)) => {
                return JobOutcome::Retry(format!("Open edX failed: {failure:?}"));
            }
            Err(crate::enrollment::EnrollmentError::Store(err)) => {
                return JobOutcome::Retry(err.to_string());
            }
            Err(crate::enrollment::EnrollmentError::Busy(err)) => {
                return JobOutcome::Retry(err.to_string());
            }
            Err(err) => return JobOutcome::Fail(err.to_string()),
        }
    }
    JobOutcome::Done(Some(format!("{done} enrollment(s) downgraded to audit")))
}
