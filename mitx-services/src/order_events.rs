//! The one executor of order transitions (ecommerce spec 3.2, 3.3, 3.5): every callback,
//! resolution, refund and Stripe event goes through [`apply_event`].
//!
//! Facts are read first; mitx-core decides the transition and its effects; then one unit
//! of work locks the order row, checks the state it decided from is still there, moves
//! the state and performs every effect (transactions, enrollments with their edX jobs,
//! paid records, redemptions, basket clean-up, queued emails and CRM syncs). An order that
//! moved meanwhile is read again and decided again, so a repeated or concurrent callback
//! finds it no longer pending and changes nothing ([`EventOutcome::Ignored`]).

use chrono::{DateTime, Utc};
use mitx_core::catalog::EnrollmentMode;
use mitx_core::catalog::{CoursewareId, ReadableId};
use mitx_core::enrollment::{EnrollEffect, needs_edx_enroll_call};
use mitx_core::enrollment::{ProgramEnrollment, plan_purchase_enrollment};
use mitx_core::ids::{CourseRunId, DiscountId, OrderId, ProgramId, UserId};
use mitx_core::orders::{
    BasketSnapshot, Effect, Event, OrderSnapshot, OrderState, PurchasedItem, TransitionContext,
    basket_matches_order, transition,
};
use mitx_core::pricing::{DiscountRecord, RedemptionType};
use mitx_store::audit_log::{Audit, AuditChange};
use mitx_store::enrollments::{EnrollmentRecord, EnrollmentRun, SavedEnrollment};
use mitx_store::jobs::NewJob;
use mitx_store::orders::{NewTransaction, OrderLineRow, OrderRow};
use mitx_store::products::ContentType;
use mitx_store::program_enrollments::{ProgramEnrollmentRecord, SavedProgramEnrollment};
use mitx_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::enrollment::EdxEnrollJob;
use crate::jobs;

/// Times an event is decided again when the order or an enrollment moved meanwhile.
const MAX_ATTEMPTS: usize = 5;

/// How a fulfilment runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventOptions {
    /// Fulfil without enrollments, paid records or receipt (`--no-fulfillment`).
    pub skip_fulfillment: bool,
    /// Fulfil without the receipt email (program-paid run upgrade).
    pub skip_receipt: bool,
    /// The raw gateway payload stored with the transaction the event records.
    pub data: Option<serde_json::Value>,
}

/// What [`apply_event`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// The order moved.
    Applied {
        /// Before.
        from: OrderState,
        /// After.
        to: OrderState,
    },
    /// The order was not in a state the event's row admits (a repeated or late callback):
    /// nothing changed.
    Ignored {
        /// The order's state.
        state: OrderState,
    },
}

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum OrderEventError {
    /// No such order.
    #[error("order {0} not found")]
    NotFound(OrderId),
    /// A stored line names a run or program that no longer exists.
    #[error("order {order}: {problem}")]
    BadLine {
        /// The order.
        order: OrderId,
        /// What is wrong.
        problem: String,
    },
    /// A zero-total checkout lost its one-time code to a concurrent fulfilment.
    #[error("discount {0} was redeemed by another order meanwhile")]
    CodeTaken(DiscountId),
    /// The order or an enrollment kept changing under us.
    #[error("order {0} kept changing; try again")]
    Contended(OrderId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Payload of the jobs about one order (`orders.receipt_email`, `orders.refund_email`,
/// `orders.downgrade_to_audit`, `orders.unenroll`, `hubspot.deal_sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderJob {
    /// The order.
    pub order: OrderId,
}

/// The order's lines as the transition rules see them.
pub(crate) fn purchased_items(
    order: OrderId,
    lines: &[OrderLineRow],
) -> Result<Vec<PurchasedItem>, OrderEventError> {
    lines
        .iter()
        .map(|line| {
            let bad = |problem: String| OrderEventError::BadLine { order, problem };
            match line.content_type {
                ContentType::CourseRun => Ok(PurchasedItem::CourseRun {
                    run: CourseRunId(line.object_id),
                    courseware_id: CoursewareId::parse(&line.readable_id)
                        .map_err(|e| bad(format!("run {}: {e}", line.object_id)))?,
                    contract: line.contract.map(mitx_core::ids::ContractId),
                }),
                ContentType::Program => Ok(PurchasedItem::Program {
                    program: ProgramId(line.object_id),
                    readable_id: ReadableId::parse(&line.readable_id)
                        .map_err(|e| bad(format!("program {}: {e}", line.object_id)))?,
                }),
            }
        })
        .collect()
}

/// What the enrollment effects start from, read before the unit of work (a workflow never
/// reads through the pool while it holds a transaction).
#[derive(Default)]
struct EnrollmentFacts {
    runs: Vec<(EnrollmentRun, Option<EnrollmentRecord>)>,
    programs: Vec<(ProgramId, Option<ProgramEnrollmentRecord>)>,
    /// The codes the order redeems, for a fulfilment.
    codes: Vec<DiscountRecord>,
}

async fn enrollment_facts(
    services: &Services,
    order: OrderId,
    to: OrderState,
    effects: &[Effect],
    now: DateTime<Utc>,
) -> Result<EnrollmentFacts, OrderEventError> {
    let store = services.store();
    let mut facts = EnrollmentFacts::default();
    if to == OrderState::Fulfilled {
        let redeemed = store.order_redemption_discounts(order).await?;
        if !redeemed.is_empty() {
            facts.codes = store.discount_records(&redeemed).await?;
        }
    }
    let mut runs: Vec<(UserId, CourseRunId)> = Vec::new();
    for effect in effects {
        match effect {
            Effect::EnrollVerified { user, run } => runs.push((*user, *run)),
            Effect::CreateProgramEnrollment { user, program } => {
                let row = store.program_enrollment(*user, *program).await?;
                facts.programs.push((*program, row));
            }
            Effect::UpgradeProgramRunEnrollments { user, program } => {
                for run in store.program_audit_runs(*user, *program).await? {
                    runs.push((*user, run));
                }
            }
            _ => {}
        }
    }
    for (user, run) in runs {
        if facts.runs.iter().any(|(r, _)| r.run.id == run) {
            continue;
        }
        let Some(found) = store.enrollment_run(run).await? else {
            continue;
        };
        let existing = store.run_enrollment(user, run).await?;
        // Upgrades of program runs only touch live, verified-capable, upgradable runs.
        let from_program = !effects
            .iter()
            .any(|e| matches!(e, Effect::EnrollVerified { run: r, .. } if *r == run));
        if from_program && !found.run.is_upgradable(now, found.active_product.is_some()) {
            continue;
        }
        facts.runs.push((found, existing));
    }
    Ok(facts)
}

/// Applies `event` to `order` (see the module docs). `audit` adds an `audit_log` row for
/// operator workflows.
pub async fn apply_event(
    services: &Services,
    order: OrderId,
    event: Event,
    options: EventOptions,
    audit: Option<&Audit>,
) -> Result<EventOutcome, OrderEventError> {
    apply_event_to(services, order, None, event, options, audit)
        .await
        .map(|applied| applied.outcome)
}

/// What [`apply_event_to`] did, with the order as it is afterwards.
#[derive(Clone, Debug)]
pub(crate) struct Applied {
    /// The outcome.
    pub outcome: EventOutcome,
    /// The order after the event.
    pub order: OrderRow,
    /// Its lines.
    pub lines: Vec<OrderLineRow>,
}

/// [`apply_event`] starting from `read`, the order as the caller just read it (saves
/// reading it again), and answering the order as it is afterwards.
pub(crate) async fn apply_event_to(
    services: &Services,
    order: OrderId,
    mut read: Option<OrderRow>,
    event: Event,
    options: EventOptions,
    audit: Option<&Audit>,
) -> Result<Applied, OrderEventError> {
    let store = services.store();
    for _ in 0..MAX_ATTEMPTS {
        let row = match read.take() {
            Some(row) => row,
            None => store
                .order(order)
                .await?
                .ok_or(OrderEventError::NotFound(order))?,
        };
        let lines = store.order_lines(order).await?;
        let items = purchased_items(order, &lines)?;
        let (in_contract, in_program) = store.order_crm_guards(row.purchaser, order).await?;
        let ctx = TransitionContext {
            order,
            purchaser: row.purchaser,
            items,
            skip_fulfillment: options.skip_fulfillment,
            skip_receipt: options.skip_receipt,
            purchaser_in_b2b_contract: in_contract,
            purchased_run_in_enrolled_program: in_program,
        };
        let Ok(decided) = transition(row.state, &event, &ctx) else {
            return Ok(Applied {
                outcome: EventOutcome::Ignored { state: row.state },
                order: row,
                lines,
            });
        };
        let now = services.now();
        let facts = enrollment_facts(services, order, decided.to, &decided.effects, now).await?;
        let mut tx = services.db().begin().await?;
        // The compare-and-set takes the order's row lock and holds it to the commit; it
        // fails if the state moved since it was read (or the order is gone), and the
        // next attempt reads again.
        if !tx
            .set_order_state(order, row.state, decided.to, now)
            .await?
        {
            tx.rollback().await?;
            continue;
        }
        let performed = perform(
            &mut tx,
            &row,
            decided.to,
            &lines,
            &decided.effects,
            &facts,
            &options,
            now,
        )
        .await;
        match performed {
            Ok(true) => {}
            Ok(false) => {
                tx.rollback().await?;
                continue;
            }
            Err(err) => {
                tx.rollback().await?;
                return Err(err);
            }
        }
        if let Some(audit) = audit {
            let before = serde_json::json!({ "state": row.state.as_str() }).to_string();
            let after = serde_json::json!({ "state": decided.to.as_str(), "rule": decided.rule })
                .to_string();
            tx.record_audit(
                &AuditChange {
                    audit,
                    action: decided.rule,
                    entity: "order",
                    entity_id: order.0.to_string(),
                    before: Some(before),
                    after: Some(after),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(%order, from = %row.state.as_str(), to = %decided.to.as_str(), rule = decided.rule, "order transition");
        let outcome = EventOutcome::Applied {
            from: row.state,
            to: decided.to,
        };
        return Ok(Applied {
            outcome,
            order: OrderRow {
                state: decided.to,
                updated_on: now,
                ..row
            },
            lines,
        });
    }
    Err(OrderEventError::Contended(order))
}

/// Performs the effects in `tx`; `Ok(false)` when an enrollment changed since it was
/// read (the caller rolls back and decides again).
#[allow(clippy::too_many_arguments)]
async fn perform(
    tx: &mut Tx,
    order: &OrderRow,
    to: OrderState,
    lines: &[OrderLineRow],
    effects: &[Effect],
    facts: &EnrollmentFacts,
    options: &EventOptions,
    now: DateTime<Utc>,
) -> Result<bool, OrderEventError> {
    let empty = serde_json::json!({});
    let data = options.data.as_ref().unwrap_or(&empty);
    // The outbox jobs of the transition, written in one statement at the end.
    let mut queued: Vec<NewJob> = Vec::new();
    if to == OrderState::Fulfilled {
        keep_codes_single_use(tx, order, &facts.codes).await?;
    }
    for effect in effects {
        match effect {
            Effect::CreateOrReuseOrder => {}
            Effect::RecordPaymentTransaction(payment) => {
                tx.record_transaction(
                    order.id,
                    &NewTransaction {
                        transaction_id: payment.transaction_id.as_str(),
                        amount: payment.amount,
                        data,
                        refund: false,
                        reason: "",
                    },
                    now,
                )
                .await?;
            }
            Effect::RecordRefundTransaction(refund) => {
                tx.record_transaction(
                    order.id,
                    &NewTransaction {
                        transaction_id: refund.transaction_id.as_str(),
                        amount: refund.amount,
                        data,
                        refund: true,
                        reason: &refund.reason,
                    },
                    now,
                )
                .await?;
            }
            Effect::EnrollVerified { user, run } => {
                if !enroll_verified(tx, facts, *user, *run, &mut queued, now).await? {
                    return Ok(false);
                }
            }
            Effect::UpgradeProgramRunEnrollments { user, .. } => {
                // The program's audit runs were gathered into the facts; runs a line of this
                // order also buys are enrolled by their own effect.
                for (run, _) in &facts.runs {
                    let own_line = effects.iter().any(
                        |e| matches!(e, Effect::EnrollVerified { run: r, .. } if *r == run.run.id),
                    );
                    if !own_line
                        && !enroll_verified(tx, facts, *user, run.run.id, &mut queued, now).await?
                    {
                        return Ok(false);
                    }
                }
            }
            Effect::CreatePaidCourseRun { user, run, order } => {
                tx.insert_paid_course_run(*user, *run, *order, now).await?;
            }
            Effect::CreatePaidProgram {
                user,
                program,
                order,
            } => {
                tx.insert_paid_program(*user, *program, *order, now).await?;
            }
            Effect::CreateProgramEnrollment { user, program } => {
                let before = facts
                    .programs
                    .iter()
                    .find(|(p, _)| p == program)
                    .and_then(|(_, row)| row.as_ref());
                let after = ProgramEnrollment {
                    user: *user,
                    program: *program,
                    active: true,
                    change_status: None,
                    mode: EnrollmentMode::Verified,
                };
                if before.map(|b| &b.enrollment) != Some(&after) {
                    match tx
                        .save_program_enrollment(before, &after, Some(*user), now)
                        .await?
                    {
                        SavedProgramEnrollment::Saved(_) => {}
                        SavedProgramEnrollment::Raced => return Ok(false),
                    }
                }
            }
            Effect::DeleteRedemptions { order } => {
                tx.delete_order_redemptions(*order).await?;
            }
            Effect::DeleteBasketIfMatches { user, order: id } => {
                if let Some((basket, products, discounts)) = tx.user_basket_snapshot(*user).await? {
                    let redeemed = tx.order_redemption_discounts(*id).await?;
                    let matches = basket_matches_order(
                        &BasketSnapshot {
                            user: Some(*user),
                            products,
                            discounts,
                        },
                        &OrderSnapshot {
                            purchaser: order.purchaser,
                            products: lines.iter().map(|l| l.product).collect(),
                            discounts: redeemed,
                        },
                    );
                    if matches {
                        tx.delete_basket(basket).await?;
                    }
                }
            }
            Effect::QueueReceiptEmail { order } => {
                queued.push(order_job(jobs::ORDER_RECEIPT_EMAIL, *order, now, 0));
            }
            Effect::QueueRefundEmail { order } => {
                queued.push(order_job(jobs::ORDER_REFUND_EMAIL, *order, now, 0));
            }
            Effect::QueueCrmDealSync { order, .. } => {
                let delay = i64::from(mitx_core::orders::CRM_DEAL_SYNC_DELAY_SECONDS);
                queued.push(order_job(jobs::HUBSPOT_DEAL_SYNC, *order, now, delay));
            }
            Effect::DowngradeToAudit { .. } => {
                queued.push(order_job(jobs::ORDER_DOWNGRADE_TO_AUDIT, order.id, now, 0));
            }
            Effect::Unenroll { .. } => {
                queued.push(order_job(jobs::ORDER_UNENROLL, order.id, now, 0));
            }
        }
    }
    tx.enqueue_jobs(&queued, now).await?;
    Ok(true)
}

fn order_job(kind: &str, order: OrderId, now: DateTime<Utc>, delay_seconds: i64) -> NewJob {
    let mut job = jobs::new_job(
        kind,
        &OrderJob { order },
        Some(format!("{kind}:{order}")),
        now,
    );
    job.run_after = now + chrono::Duration::seconds(delay_seconds);
    job
}

/// Saves the purchaser's verified row for `run` and queues its edX job; `false` when the
/// row changed since it was read.
async fn enroll_verified(
    tx: &mut Tx,
    facts: &EnrollmentFacts,
    user: UserId,
    run: CourseRunId,
    queued: &mut Vec<NewJob>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some((found, existing)) = facts.runs.iter().find(|(r, _)| r.run.id == run) else {
        // The run is gone: the paid record still proves the purchase.
        tracing::warn!(%user, %run, "purchased run not found; no enrollment written");
        return Ok(true);
    };
    let needs_edx = needs_edx_enroll_call(&[&found.run]);
    let Some(plan) = plan_purchase_enrollment(
        user,
        existing.as_ref().map(|e| &e.enrollment),
        &found.run,
        needs_edx,
    ) else {
        return Ok(true);
    };
    let record = match tx
        .save_enrollment(existing.as_ref(), &plan.enrollment, Some(user), now)
        .await?
    {
        SavedEnrollment::Saved(record) => record,
        SavedEnrollment::Raced => return Ok(false),
    };
    for effect in &plan.effects {
        if let EnrollEffect::AttachToContract { contract } = effect {
            use mitx_core::b2b::MembershipEffect;
            let mut membership = Vec::new();
            if let Some(organization) = found.b2b_organization {
                membership.push(MembershipEffect::CreateMembership {
                    organization: mitx_core::ids::OrganizationId(organization),
                    keep_until_seen: true,
                });
            }
            membership.push(MembershipEffect::AttachToContract {
                contract: *contract,
            });
            tx.apply_membership_effects(user, &membership, now).await?;
        }
    }
    if needs_edx {
        // The edX call runs in the job (with retries); the job sends the enrollment email
        // once edX confirms.
        queued.push(jobs::new_job(
            jobs::EDX_ENROLL,
            &EdxEnrollJob {
                enrollment: record.id,
                user,
                run,
            },
            Some(format!("edx-enroll:{}", record.id.0)),
            now,
        ));
    }
    Ok(true)
}

/// A fulfilment never lets a one-time (or once-per-user, or capped) code be held by more
/// fulfilled orders than it allows: under the discount's row lock, a redemption that
/// would exceed its limit is dropped from this order (the payment already happened; the
/// learner keeps the seat). A zero-total checkout cannot drop it: it is refused instead
/// ([`OrderEventError::CodeTaken`]), since the code was its whole payment.
async fn keep_codes_single_use(
    tx: &mut Tx,
    order: &OrderRow,
    codes: &[DiscountRecord],
) -> Result<(), OrderEventError> {
    if codes.is_empty() {
        return Ok(());
    }
    // Read again under the order's lock: a concurrent checkout may have replaced them.
    let redeemed = tx.order_redemption_discounts(order.id).await?;
    for record in codes.iter().filter(|r| redeemed.contains(&r.discount.id)) {
        let d = &record.discount;
        let limited = d.redemption_type != RedemptionType::Unlimited || d.max_redemptions > 0;
        if !limited {
            continue;
        }
        let usage = tx.fulfilled_usage(d.id, order.id, order.purchaser).await?;
        let exceeded = match d.redemption_type {
            RedemptionType::OneTime => usage.others > 0,
            RedemptionType::OneTimePerUser => usage.by_user > 0,
            RedemptionType::Unlimited => false,
        } || (d.max_redemptions > 0 && usage.others >= u64::from(d.max_redemptions));
        if exceeded {
            if order.total_price_paid.is_zero() {
                return Err(OrderEventError::CodeTaken(d.id));
            }
            tracing::warn!(order = %order.id, discount = %d.id, "one-time code already redeemed by another fulfilled order; dropped from this order");
            tx.delete_order_redemption(order.id, d.id).await?;
        }
    }
    Ok(())
}

impl OrderEventError {
    /// Whose fault it is (how the server and the CLI answer).
    pub fn fault(&self) -> crate::error::Fault {
        use crate::error::{Fault, store_fault};
        match self {
            OrderEventError::NotFound(_) => Fault::NotFound,
            OrderEventError::CodeTaken(_) => Fault::Caller,
            OrderEventError::Contended(_) => Fault::Busy,
            OrderEventError::BadLine { .. } => Fault::Internal,
            OrderEventError::Store(err) => store_fault(err),
        }
    }
}
