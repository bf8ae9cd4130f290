//! The order state machine as data (ecommerce spec 3.2, 3.3): a static table of
//! `(from, trigger, to, effects)` rows and a [`transition`] function that looks a row up and
//! turns its effect kinds into concrete [`Effect`]s, deciding conditional effects from a
//! [`TransitionContext`]. Nothing is performed here; the caller runs the effects in one
//! database transaction and restores the old state if any of them fails.

use serde::{Deserialize, Serialize};

use super::state::OrderState;
use super::transaction::{PaymentTransaction, RefundTransaction};
use super::uai::{PurchasedItem, is_uai_order};
use crate::enrollment::ChangeStatus;
use crate::ids::{CourseRunId, OrderId, ProgramId, UserId};

/// Delay before a queued CRM deal sync runs, so the order state is committed first.
pub const CRM_DEAL_SYNC_DELAY_SECONDS: u32 = 10;

/// The key of a transition row: what happened to the order (T1–T13 of the spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// T1: checkout of a non-empty basket.
    Checkout,
    /// T2: the checkout total is zero; the gateway is skipped.
    ZeroTotalCheckout,
    /// T3: CyberSource `ACCEPT` (or reason code 100).
    PaymentAccepted,
    /// T4: CyberSource `DECLINE`.
    PaymentDeclined,
    /// T5: CyberSource `ERROR`, missing or unrecognised decision.
    PaymentErrored,
    /// T6: CyberSource `CANCEL` / `REVIEW` (or `PENDING` without reason 100).
    PaymentCancelled,
    /// T7: pending-order resolution found a successful gateway record (or `--no-check`).
    ResolvedPaid,
    /// T8: pending-order resolution found a gateway record with another reason code.
    ResolvedUnpaid,
    /// T9: a refund through the gateway succeeded.
    GatewayRefund,
    /// T10: the `refund_fulfilled_order` operator command.
    OperatorRefund,
    /// T11: a Stripe session expired or was cancelled.
    StripeSessionCancelled,
    /// T12: a Stripe session was paid.
    StripeSessionPaid,
    /// T13: staff declined the order in the admin.
    StaffDecline,
}

impl Trigger {
    /// Every trigger, T1 to T13.
    pub const ALL: [Trigger; 13] = [
        Trigger::Checkout,
        Trigger::ZeroTotalCheckout,
        Trigger::PaymentAccepted,
        Trigger::PaymentDeclined,
        Trigger::PaymentErrored,
        Trigger::PaymentCancelled,
        Trigger::ResolvedPaid,
        Trigger::ResolvedUnpaid,
        Trigger::GatewayRefund,
        Trigger::OperatorRefund,
        Trigger::StripeSessionCancelled,
        Trigger::StripeSessionPaid,
        Trigger::StaffDecline,
    ];

    /// Whether this trigger is a gateway callback, which is idempotent: a repeated
    /// callback for an order that already left `pending` changes nothing (spec 3.5).
    pub fn is_gateway_callback(self) -> bool {
        matches!(
            self,
            Trigger::PaymentAccepted
                | Trigger::PaymentDeclined
                | Trigger::PaymentErrored
                | Trigger::PaymentCancelled
                | Trigger::StripeSessionCancelled
                | Trigger::StripeSessionPaid
        )
    }
}

/// Where a transition row starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// No order exists yet (T1 creates one, or reuses a pending one, see
    /// [`crate::orders::plan_pending_order`]).
    NoOrder,
    /// Exactly this state.
    From(OrderState),
    /// Any state (T11 only).
    AnyState,
}

impl Origin {
    /// Whether an order in `state` (or no order, `None`) can take this row.
    pub fn admits(self, state: Option<OrderState>) -> bool {
        match (self, state) {
            (Origin::NoOrder, None) => true,
            (Origin::From(s), Some(current)) => s == current,
            (Origin::AnyState, Some(_)) => true,
            _ => false,
        }
    }
}

/// The kind of a side effect in a table row. Conditional kinds are expanded (or dropped)
/// by [`transition`] from the [`TransitionContext`], exactly per spec 3.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EffectKind {
    /// Create or reuse the pending order with its lines, redemptions and total (3.4).
    CreateOrReuseOrder,
    /// Record the payment transaction carried by the event.
    RecordPaymentTransaction,
    /// Enrol and write paid records for every line, unless `skip_fulfillment` (3.3 step 2).
    FulfilLines,
    /// Queue the receipt email unless skipped, UAI or B2B (3.3 step 3).
    QueueReceiptEmail,
    /// Queue a CRM deal sync with the fulfilment guard (3.3 step 4).
    FulfilmentCrmSync,
    /// Queue a CRM deal sync when the order has lines (the plain sync helper).
    CrmSync,
    /// Delete the purchaser's basket if it matches the order (3.3 step 5).
    DeleteBasketIfMatches,
    /// Delete the order's discount redemptions (T4, T13).
    DeleteRedemptions,
    /// Record the refund transaction carried by the event (T9).
    RecordRefundTransaction,
    /// Queue the refund email (T9).
    QueueRefundEmail,
    /// Downgrade the purchased runs to audit when the refund asked for it (T9).
    OptionalDowngradeToAudit,
    /// Unenrol or downgrade as the operator chose (T10).
    OperatorEnrollmentAction,
}

/// One row of the transition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitionRule {
    /// The spec's row number (`"T3"`).
    pub id: &'static str,
    /// Where the row starts.
    pub from: Origin,
    /// What happened.
    pub trigger: Trigger,
    /// The resulting state.
    pub to: OrderState,
    /// The side effects, in the order they run.
    pub effects: &'static [EffectKind],
}

use EffectKind as E;
use OrderState as S;

const FULFIL_AND_CLEAN_BASKET: &[EffectKind] = &[
    E::RecordPaymentTransaction,
    E::FulfilLines,
    E::QueueReceiptEmail,
    E::FulfilmentCrmSync,
    E::DeleteBasketIfMatches,
];

/// The transition table of spec 3.2. `review` and `partially_refunded` are no row's target.
pub static TRANSITIONS: [TransitionRule; 13] = [
    TransitionRule {
        id: "T1",
        from: Origin::NoOrder,
        trigger: Trigger::Checkout,
        to: S::Pending,
        effects: &[E::CreateOrReuseOrder],
    },
    TransitionRule {
        id: "T2",
        from: Origin::From(S::Pending),
        trigger: Trigger::ZeroTotalCheckout,
        to: S::Fulfilled,
        effects: FULFIL_AND_CLEAN_BASKET,
    },
    TransitionRule {
        id: "T3",
        from: Origin::From(S::Pending),
        trigger: Trigger::PaymentAccepted,
        to: S::Fulfilled,
        // The original syncs twice (fulfilment, then the callback handler); the callback's
        // unguarded sync is kept and the two are merged into one effect.
        effects: &[
            E::RecordPaymentTransaction,
            E::FulfilLines,
            E::QueueReceiptEmail,
            E::FulfilmentCrmSync,
            E::DeleteBasketIfMatches,
            E::CrmSync,
        ],
    },
    TransitionRule {
        id: "T4",
        from: Origin::From(S::Pending),
        trigger: Trigger::PaymentDeclined,
        to: S::Declined,
        effects: &[E::DeleteRedemptions, E::CrmSync],
    },
    TransitionRule {
        id: "T5",
        from: Origin::From(S::Pending),
        trigger: Trigger::PaymentErrored,
        to: S::Errored,
        effects: &[E::CrmSync],
    },
    TransitionRule {
        id: "T6",
        from: Origin::From(S::Pending),
        trigger: Trigger::PaymentCancelled,
        to: S::Canceled,
        effects: &[E::CrmSync],
    },
    TransitionRule {
        id: "T7",
        from: Origin::From(S::Pending),
        trigger: Trigger::ResolvedPaid,
        to: S::Fulfilled,
        effects: &[
            E::RecordPaymentTransaction,
            E::FulfilLines,
            E::QueueReceiptEmail,
            E::FulfilmentCrmSync,
        ],
    },
    TransitionRule {
        id: "T8",
        from: Origin::From(S::Pending),
        trigger: Trigger::ResolvedUnpaid,
        to: S::Canceled,
        effects: &[E::RecordPaymentTransaction, E::CrmSync],
    },
    TransitionRule {
        id: "T9",
        from: Origin::From(S::Fulfilled),
        trigger: Trigger::GatewayRefund,
        to: S::Refunded,
        effects: &[
            E::RecordRefundTransaction,
            E::QueueRefundEmail,
            E::OptionalDowngradeToAudit,
        ],
    },
    TransitionRule {
        id: "T10",
        from: Origin::From(S::Fulfilled),
        trigger: Trigger::OperatorRefund,
        to: S::Refunded,
        effects: &[E::CrmSync, E::OperatorEnrollmentAction],
    },
    TransitionRule {
        id: "T11",
        from: Origin::AnyState,
        trigger: Trigger::StripeSessionCancelled,
        to: S::Canceled,
        effects: &[E::RecordPaymentTransaction],
    },
    TransitionRule {
        id: "T12",
        from: Origin::From(S::Pending),
        trigger: Trigger::StripeSessionPaid,
        to: S::Fulfilled,
        effects: FULFIL_AND_CLEAN_BASKET,
    },
    TransitionRule {
        id: "T13",
        from: Origin::From(S::Pending),
        trigger: Trigger::StaffDecline,
        to: S::Declined,
        effects: &[E::DeleteRedemptions, E::CrmSync],
    },
];

/// The table row for `trigger` that admits `state` (`None` = no order yet).
pub fn find_rule(state: Option<OrderState>, trigger: Trigger) -> Option<&'static TransitionRule> {
    TRANSITIONS
        .iter()
        .find(|r| r.trigger == trigger && r.from.admits(state))
}

/// What the operator chose to do with the enrolments when refunding (T10; also the
/// optional downgrade of T9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentAction {
    /// Deactivate the run enrolments with change status `refunded`.
    Unenroll,
    /// Keep the enrolments but switch them to audit mode (locally and in edX).
    Audit,
}

/// An event with the data its effects need. [`Event::trigger`] is its table key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// T1.
    Checkout,
    /// T2, with the zero-value payment transaction (fresh UUID, amount 0).
    ZeroTotalCheckout {
        /// The transaction to record.
        payment: PaymentTransaction,
    },
    /// T3, with the transaction decided from the callback payload.
    PaymentAccepted {
        /// The transaction to record.
        payment: PaymentTransaction,
    },
    /// T4.
    PaymentDeclined,
    /// T5.
    PaymentErrored,
    /// T6.
    PaymentCancelled,
    /// T7, with the transaction from the gateway record or the administrative payload.
    ResolvedPaid {
        /// The transaction to record.
        payment: PaymentTransaction,
    },
    /// T8, with the transaction rebuilt from the gateway record.
    ResolvedUnpaid {
        /// The transaction to record.
        transaction: PaymentTransaction,
    },
    /// T9, with the refund transaction and whether to downgrade to audit.
    GatewayRefund {
        /// The refund transaction to record.
        refund: RefundTransaction,
        /// `unenroll` of `refund_order`: queue the downgrade-to-audit job.
        downgrade_to_audit: bool,
    },
    /// T10, with the operator's enrolment action.
    OperatorRefund {
        /// Unenrol or audit (unenrol wins when both flags are given).
        action: EnrollmentAction,
    },
    /// T11, with the transaction from the Stripe event.
    StripeSessionCancelled {
        /// The transaction to record.
        transaction: PaymentTransaction,
    },
    /// T12, with the transaction from the Stripe event.
    StripeSessionPaid {
        /// The transaction to record.
        payment: PaymentTransaction,
    },
    /// T13.
    StaffDecline,
}

impl Event {
    /// The table key of this event.
    pub fn trigger(&self) -> Trigger {
        match self {
            Event::Checkout => Trigger::Checkout,
            Event::ZeroTotalCheckout { .. } => Trigger::ZeroTotalCheckout,
            Event::PaymentAccepted { .. } => Trigger::PaymentAccepted,
            Event::PaymentDeclined => Trigger::PaymentDeclined,
            Event::PaymentErrored => Trigger::PaymentErrored,
            Event::PaymentCancelled => Trigger::PaymentCancelled,
            Event::ResolvedPaid { .. } => Trigger::ResolvedPaid,
            Event::ResolvedUnpaid { .. } => Trigger::ResolvedUnpaid,
            Event::GatewayRefund { .. } => Trigger::GatewayRefund,
            Event::OperatorRefund { .. } => Trigger::OperatorRefund,
            Event::StripeSessionCancelled { .. } => Trigger::StripeSessionCancelled,
            Event::StripeSessionPaid { .. } => Trigger::StripeSessionPaid,
            Event::StaffDecline => Trigger::StaffDecline,
        }
    }

    /// The payment transaction the event carries, if any.
    fn payment(&self) -> Option<&PaymentTransaction> {
        match self {
            Event::ZeroTotalCheckout { payment }
            | Event::PaymentAccepted { payment }
            | Event::ResolvedPaid { payment }
            | Event::StripeSessionPaid { payment } => Some(payment),
            Event::ResolvedUnpaid { transaction }
            | Event::StripeSessionCancelled { transaction } => Some(transaction),
            _ => None,
        }
    }
}

/// The facts about the order that decide which conditional effects apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionContext {
    /// The order (for T1: the order that will be created or reused; any placeholder).
    pub order: OrderId,
    /// The purchaser.
    pub purchaser: UserId,
    /// What the order's lines purchase, in line order.
    pub items: Vec<PurchasedItem>,
    /// Fulfil without enrolments, paid records or receipt (`--no-fulfillment`).
    pub skip_fulfillment: bool,
    /// Fulfil without the receipt email (program-paid run upgrade).
    pub skip_receipt: bool,
    /// The purchaser belongs to any B2B contract (no CRM sync on fulfilment).
    pub purchaser_in_b2b_contract: bool,
    /// A purchased run's course belongs to a program the purchaser is enrolled in (no CRM
    /// sync on fulfilment).
    pub purchased_run_in_enrolled_program: bool,
}

/// A side effect to perform, as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Create or reuse the pending order (plan with [`crate::orders::plan_pending_order`]).
    CreateOrReuseOrder,
    /// Get-or-create the payment transaction by id within the order.
    RecordPaymentTransaction(PaymentTransaction),
    /// Enrol the purchaser in the run in verified mode (the local record is kept even if
    /// the edX call fails).
    EnrollVerified {
        /// The purchaser.
        user: UserId,
        /// The run.
        run: CourseRunId,
    },
    /// Write `PaidCourseRun(user, run, order)`.
    CreatePaidCourseRun {
        /// The purchaser.
        user: UserId,
        /// The run.
        run: CourseRunId,
        /// The order.
        order: OrderId,
    },
    /// Create a verified program enrolment.
    CreateProgramEnrollment {
        /// The purchaser.
        user: UserId,
        /// The program.
        program: ProgramId,
    },
    /// Write `PaidProgram(user, program, order)`.
    CreatePaidProgram {
        /// The purchaser.
        user: UserId,
        /// The program.
        program: ProgramId,
        /// The order.
        order: OrderId,
    },
    /// Upgrade the purchaser's active audit enrolments in the program's live,
    /// verified-capable, still-upgradable runs to verified.
    UpgradeProgramRunEnrollments {
        /// The purchaser.
        user: UserId,
        /// The program.
        program: ProgramId,
    },
    /// Delete the order's discount redemptions.
    DeleteRedemptions {
        /// The order.
        order: OrderId,
    },
    /// Delete the purchaser's basket if [`crate::orders::basket_matches_order`] holds.
    DeleteBasketIfMatches {
        /// The purchaser whose basket to check.
        user: UserId,
        /// The order to compare with.
        order: OrderId,
    },
    /// Queue the order-receipt email (after commit).
    QueueReceiptEmail {
        /// The order.
        order: OrderId,
    },
    /// Queue the refund email.
    QueueRefundEmail {
        /// The order.
        order: OrderId,
    },
    /// Queue a CRM deal sync after [`CRM_DEAL_SYNC_DELAY_SECONDS`].
    QueueCrmDealSync {
        /// The order.
        order: OrderId,
        /// UAI orders sync to the UAI CRM account.
        uai: bool,
    },
    /// Record the refund transaction.
    RecordRefundTransaction(RefundTransaction),
    /// Re-enrol the purchaser in these runs in audit mode (a downgrade, not a removal).
    DowngradeToAudit {
        /// The purchaser.
        user: UserId,
        /// The order's purchased runs.
        runs: Vec<CourseRunId>,
    },
    /// Deactivate the purchaser's enrolments in these runs.
    Unenroll {
        /// The purchaser.
        user: UserId,
        /// The order's purchased runs.
        runs: Vec<CourseRunId>,
        /// Always [`ChangeStatus::Refunded`].
        change_status: ChangeStatus,
    },
}

/// A successful transition: the new state and the effects to perform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The row that applied (`"T3"`).
    pub rule: &'static str,
    /// The state before (`None` for T1).
    pub from: Option<OrderState>,
    /// The trigger.
    pub trigger: Trigger,
    /// The state after.
    pub to: OrderState,
    /// The effects, in order.
    pub effects: Vec<Effect>,
}

/// No row of the table takes this trigger from this state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply {trigger:?} to {}", describe(*.from))]
pub struct IllegalTransition {
    /// The current state (`None`: no order).
    pub from: Option<OrderState>,
    /// The trigger that was refused.
    pub trigger: Trigger,
}

fn describe(state: Option<OrderState>) -> String {
    match state {
        Some(s) => format!("a {s} order"),
        None => "a missing order".to_owned(),
    }
}

/// Applies `event` to an order in `state`: finds the table row and expands its effects.
pub fn transition(
    state: OrderState,
    event: &Event,
    ctx: &TransitionContext,
) -> Result<Transition, IllegalTransition> {
    apply(Some(state), event, ctx)
}

/// Applies an event when no order exists yet (only T1, checkout, has such a row).
pub fn transition_new(
    event: &Event,
    ctx: &TransitionContext,
) -> Result<Transition, IllegalTransition> {
    apply(None, event, ctx)
}

fn apply(
    state: Option<OrderState>,
    event: &Event,
    ctx: &TransitionContext,
) -> Result<Transition, IllegalTransition> {
    let trigger = event.trigger();
    let rule = find_rule(state, trigger).ok_or(IllegalTransition {
        from: state,
        trigger,
    })?;
    let mut effects = Vec::new();
    for kind in rule.effects {
        expand(*kind, event, ctx, &mut effects);
    }
    Ok(Transition {
        rule: rule.id,
        from: state,
        trigger,
        to: rule.to,
        effects,
    })
}

fn purchased_runs(ctx: &TransitionContext) -> Vec<CourseRunId> {
    ctx.items
        .iter()
        .filter_map(PurchasedItem::course_run)
        .collect()
}

fn push_crm_sync(ctx: &TransitionContext, out: &mut Vec<Effect>) {
    // The sync helper does nothing for an order without lines; one sync per transition
    // is enough because the queued job reads the order's final state.
    if ctx.items.is_empty()
        || out
            .iter()
            .any(|e| matches!(e, Effect::QueueCrmDealSync { .. }))
    {
        return;
    }
    out.push(Effect::QueueCrmDealSync {
        order: ctx.order,
        uai: is_uai_order(&ctx.items),
    });
}

fn expand(kind: EffectKind, event: &Event, ctx: &TransitionContext, out: &mut Vec<Effect>) {
    let user = ctx.purchaser;
    let order = ctx.order;
    match kind {
        EffectKind::CreateOrReuseOrder => out.push(Effect::CreateOrReuseOrder),
        EffectKind::RecordPaymentTransaction => {
            if let Some(payment) = event.payment() {
                out.push(Effect::RecordPaymentTransaction(payment.clone()));
            }
        }
        EffectKind::FulfilLines => {
            if ctx.skip_fulfillment {
                return;
            }
            for item in &ctx.items {
                match item {
                    PurchasedItem::CourseRun { run, .. } => {
                        out.push(Effect::EnrollVerified { user, run: *run });
                        out.push(Effect::CreatePaidCourseRun {
                            user,
                            run: *run,
                            order,
                        });
                    }
                    PurchasedItem::Program { program, .. } => {
                        out.push(Effect::CreateProgramEnrollment {
                            user,
                            program: *program,
                        });
                        out.push(Effect::CreatePaidProgram {
                            user,
                            program: *program,
                            order,
                        });
                        out.push(Effect::UpgradeProgramRunEnrollments {
                            user,
                            program: *program,
                        });
                    }
                }
            }
        }
        EffectKind::QueueReceiptEmail => {
            let skipped = ctx.skip_receipt
                || ctx.skip_fulfillment
                || is_uai_order(&ctx.items)
                || ctx.items.iter().any(PurchasedItem::is_b2b_run);
            if !skipped {
                out.push(Effect::QueueReceiptEmail { order });
            }
        }
        EffectKind::FulfilmentCrmSync => {
            if !ctx.purchaser_in_b2b_contract && !ctx.purchased_run_in_enrolled_program {
                push_crm_sync(ctx, out);
            }
        }
        EffectKind::CrmSync => push_crm_sync(ctx, out),
        EffectKind::DeleteBasketIfMatches => {
            out.push(Effect::DeleteBasketIfMatches { user, order })
        }
        EffectKind::DeleteRedemptions => out.push(Effect::DeleteRedemptions { order }),
        EffectKind::RecordRefundTransaction => {
            if let Event::GatewayRefund { refund, .. } = event {
                out.push(Effect::RecordRefundTransaction(refund.clone()));
            }
        }
        EffectKind::QueueRefundEmail => out.push(Effect::QueueRefundEmail { order }),
        EffectKind::OptionalDowngradeToAudit => {
            if let Event::GatewayRefund {
                downgrade_to_audit: true,
                ..
            } = event
            {
                out.push(Effect::DowngradeToAudit {
                    user,
                    runs: purchased_runs(ctx),
                });
            }
        }
        EffectKind::OperatorEnrollmentAction => {
            if let Event::OperatorRefund { action } = event {
                let runs = purchased_runs(ctx);
                out.push(match action {
                    EnrollmentAction::Unenroll => Effect::Unenroll {
                        user,
                        runs,
                        change_status: ChangeStatus::Refunded,
                    },
                    EnrollmentAction::Audit => Effect::DowngradeToAudit { user, runs },
                });
            }
        }
    }
}

/// The result of a gateway callback against an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The order was pending (or the trigger accepts any state) and moved.
    Applied(Transition),
    /// The order already left `pending`: a repeated or late callback changes nothing
    /// (spec 3.5). The browser is redirected according to `state`; the server answers 200.
    NoChange {
        /// The order's current state.
        state: OrderState,
    },
}

impl CallbackOutcome {
    /// The order's state after the callback.
    pub fn state(&self) -> OrderState {
        match self {
            CallbackOutcome::Applied(t) => t.to,
            CallbackOutcome::NoChange { state } => *state,
        }
    }
}

/// Applies a gateway callback idempotently. Callbacks only act on `pending` orders; a
/// Stripe cancellation also acts on any other state except an order that is already
/// `canceled` (a repeated cancellation is no change, so the same event never records a
/// second transaction). Non-callback events go through [`transition`] unchanged.
pub fn apply_callback(
    state: OrderState,
    event: &Event,
    ctx: &TransitionContext,
) -> Result<CallbackOutcome, IllegalTransition> {
    let trigger = event.trigger();
    if trigger.is_gateway_callback() {
        let acts = match trigger {
            Trigger::StripeSessionCancelled => state != OrderState::Canceled,
            _ => state == OrderState::Pending,
        };
        if !acts {
            return Ok(CallbackOutcome::NoChange { state });
        }
    }
    transition(state, event, ctx).map(CallbackOutcome::Applied)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::ContractId;
    use crate::money::Money;
    use crate::orders::transaction::TransactionId;
    use crate::orders::uai::tests::{program_item, run_item};
    use proptest::prelude::*;

    pub fn ctx() -> TransitionContext {
        TransitionContext {
            order: OrderId(1001),
            purchaser: UserId(7),
            items: vec![run_item(1, "course-v1:MITx+6.001x+1T2026")],
            skip_fulfillment: false,
            skip_receipt: false,
            purchaser_in_b2b_contract: false,
            purchased_run_in_enrolled_program: false,
        }
    }

    pub fn payment(id: &str, cents: i64) -> PaymentTransaction {
        PaymentTransaction {
            transaction_id: TransactionId::parse(id).unwrap(),
            amount: Money::from_cents(cents),
        }
    }

    fn accepted() -> Event {
        Event::PaymentAccepted {
            payment: payment("7000000000000000000001", 0),
        }
    }

    #[test]
    fn table_has_one_row_per_trigger_and_never_targets_reporting_states() {
        for trigger in Trigger::ALL {
            assert_eq!(
                TRANSITIONS.iter().filter(|r| r.trigger == trigger).count(),
                1,
                "{trigger:?}"
            );
        }
        for (i, rule) in TRANSITIONS.iter().enumerate() {
            assert_eq!(rule.id, format!("T{}", i + 1));
            assert!(!matches!(rule.to, S::Review | S::PartiallyRefunded));
        }
    }

    #[test]
    fn source_state_rules() {
        // cancel/errored only from pending (except T11); fulfil requires pending; refund
        // requires fulfilled.
        for state in OrderState::ALL {
            let pending = state == S::Pending;
            for (event, allowed) in [
                (Event::PaymentCancelled, pending),
                (Event::PaymentErrored, pending),
                (accepted(), pending),
                (Event::StaffDecline, pending),
                (
                    Event::OperatorRefund {
                        action: EnrollmentAction::Audit,
                    },
                    state == S::Fulfilled,
                ),
                (
                    Event::StripeSessionCancelled {
                        transaction: payment("evt_1", 0),
                    },
                    true,
                ),
            ] {
                let result = transition(state, &event, &ctx());
                assert_eq!(result.is_ok(), allowed, "{state} {event:?}");
                if let Err(e) = result {
                    assert_eq!(e.from, Some(state));
                    assert_eq!(e.trigger, event.trigger());
                }
            }
            assert!(transition(state, &Event::Checkout, &ctx()).is_err());
        }
        let t1 = transition_new(&Event::Checkout, &ctx()).unwrap();
        assert_eq!((t1.rule, t1.to), ("T1", S::Pending));
        assert_eq!(t1.effects, vec![Effect::CreateOrReuseOrder]);
        assert!(transition_new(&accepted(), &ctx()).is_err());
        let err = transition(S::Refunded, &Event::PaymentCancelled, &ctx()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot apply PaymentCancelled to a refunded order"
        );
    }

    #[test]
    fn fulfilment_effects_for_a_run_and_a_program() {
        let mut c = ctx();
        c.items.push(program_item(5, "program-v1:MITx+DEDP"));
        let t = transition(S::Pending, &accepted(), &c).unwrap();
        assert_eq!(t.to, S::Fulfilled);
        let (u, o) = (UserId(7), OrderId(1001));
        assert_eq!(
            t.effects,
            vec![
                Effect::RecordPaymentTransaction(payment("7000000000000000000001", 0)),
                Effect::EnrollVerified {
                    user: u,
                    run: CourseRunId(1)
                },
                Effect::CreatePaidCourseRun {
                    user: u,
                    run: CourseRunId(1),
                    order: o
                },
                Effect::CreateProgramEnrollment {
                    user: u,
                    program: ProgramId(5)
                },
                Effect::CreatePaidProgram {
                    user: u,
                    program: ProgramId(5),
                    order: o
                },
                Effect::UpgradeProgramRunEnrollments {
                    user: u,
                    program: ProgramId(5)
                },
                Effect::QueueReceiptEmail { order: o },
                Effect::QueueCrmDealSync {
                    order: o,
                    uai: false
                },
                Effect::DeleteBasketIfMatches { user: u, order: o },
            ]
        );
    }

    fn has(t: &Transition, pred: impl Fn(&Effect) -> bool) -> bool {
        t.effects.iter().any(pred)
    }

    fn receipt(e: &Effect) -> bool {
        matches!(e, Effect::QueueReceiptEmail { .. })
    }

    fn crm(e: &Effect) -> bool {
        matches!(e, Effect::QueueCrmDealSync { .. })
    }

    fn enrol(e: &Effect) -> bool {
        matches!(
            e,
            Effect::EnrollVerified { .. } | Effect::CreatePaidCourseRun { .. }
        )
    }

    #[test]
    fn receipt_and_crm_conditions_of_fulfilment() {
        let zero = Event::ZeroTotalCheckout {
            payment: payment("u-1", 0),
        };
        let resolved = Event::ResolvedPaid {
            payment: payment("u-2", 0),
        };
        type Tweak = fn(&mut TransitionContext);
        // (context tweak, receipt expected, fulfilment CRM sync expected, enrolment expected)
        let cases: [(Tweak, bool, bool, bool); 8] = [
            (|_| {}, true, true, true),
            (|c| c.skip_receipt = true, false, true, true),
            (|c| c.skip_fulfillment = true, false, true, false),
            (
                |c| c.items = vec![run_item(1, "course-v1:UAI_B2C+AI+1T2026")],
                false,
                true,
                true,
            ),
            (
                |c| {
                    c.items = vec![PurchasedItem::CourseRun {
                        run: CourseRunId(1),
                        courseware_id: crate::catalog::CoursewareId::parse(
                            "course-v1:MITx+6.001x+B2B",
                        )
                        .unwrap(),
                        contract: Some(ContractId(3)),
                    }]
                },
                false,
                true,
                true,
            ),
            (|c| c.purchaser_in_b2b_contract = true, true, false, true),
            (
                |c| c.purchased_run_in_enrolled_program = true,
                true,
                false,
                true,
            ),
            (|c| c.items.clear(), true, false, false),
        ];
        for (tweak, want_receipt, want_crm, want_enrol) in cases {
            let mut c = ctx();
            tweak(&mut c);
            // T2 and T7 only have the guarded fulfilment sync.
            for event in [&zero, &resolved] {
                let t = transition(S::Pending, event, &c).unwrap();
                assert_eq!(has(&t, receipt), want_receipt, "{c:?} {event:?}");
                assert_eq!(has(&t, crm), want_crm, "{c:?} {event:?}");
                assert_eq!(has(&t, enrol), want_enrol, "{c:?} {event:?}");
            }
            // T3 keeps the callback handler's own sync: only "no lines" suppresses it.
            let t = transition(S::Pending, &accepted(), &c).unwrap();
            assert_eq!(has(&t, crm), !c.items.is_empty(), "{c:?}");
            assert!(t.effects.iter().filter(|e| crm(e)).count() <= 1);
        }
        let uai = {
            let mut c = ctx();
            c.items = vec![program_item(2, "program-v1:UAI+B2C")];
            transition(S::Pending, &Event::PaymentDeclined, &c).unwrap()
        };
        assert!(uai.effects.contains(&Effect::QueueCrmDealSync {
            order: OrderId(1001),
            uai: true
        }));
    }

    #[test]
    fn basket_clean_up_only_on_checkout_and_payment_fulfilment() {
        let events = [
            (
                Event::ZeroTotalCheckout {
                    payment: payment("a", 0),
                },
                true,
            ),
            (accepted(), true),
            (
                Event::StripeSessionPaid {
                    payment: payment("evt", 0),
                },
                true,
            ),
            (
                Event::ResolvedPaid {
                    payment: payment("b", 0),
                },
                false,
            ),
        ];
        for (event, cleans) in events {
            let t = transition(S::Pending, &event, &ctx()).unwrap();
            assert_eq!(
                has(&t, |e| matches!(e, Effect::DeleteBasketIfMatches { .. })),
                cleans,
                "{event:?}"
            );
        }
    }

    #[test]
    fn refund_effects() {
        let refund = RefundTransaction {
            transaction_id: TransactionId::parse("12345").unwrap(),
            amount: Money::from_cents(1000),
            reason: String::new(),
        };
        let t9 = transition(
            S::Fulfilled,
            &Event::GatewayRefund {
                refund: refund.clone(),
                downgrade_to_audit: false,
            },
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            t9.effects,
            vec![
                Effect::RecordRefundTransaction(refund.clone()),
                Effect::QueueRefundEmail {
                    order: OrderId(1001)
                }
            ]
        );
        let t10 = transition(
            S::Fulfilled,
            &Event::OperatorRefund {
                action: EnrollmentAction::Unenroll,
            },
            &ctx(),
        )
        .unwrap();
        assert_eq!(t10.to, S::Refunded);
        assert!(t10.effects.contains(&Effect::Unenroll {
            user: UserId(7),
            runs: vec![CourseRunId(1)],
            change_status: ChangeStatus::Refunded
        }));
        assert!(!has(&t10, |e| matches!(
            e,
            Effect::RecordRefundTransaction(_)
        )));
    }

    #[test]
    fn decline_deletes_redemptions_but_cancel_keeps_them() {
        let decline = transition(S::Pending, &Event::PaymentDeclined, &ctx()).unwrap();
        let staff = transition(S::Pending, &Event::StaffDecline, &ctx()).unwrap();
        let cancel = transition(S::Pending, &Event::PaymentCancelled, &ctx()).unwrap();
        let redemptions = |e: &Effect| matches!(e, Effect::DeleteRedemptions { .. });
        assert!(has(&decline, redemptions));
        assert_eq!(decline.effects, staff.effects);
        assert!(!has(&cancel, redemptions));
    }

    #[test]
    fn callbacks_on_non_pending_orders_change_nothing() {
        for state in OrderState::ALL {
            let out = apply_callback(state, &accepted(), &ctx()).unwrap();
            if state == S::Pending {
                assert!(matches!(out, CallbackOutcome::Applied(_)));
            } else {
                assert_eq!(out, CallbackOutcome::NoChange { state });
            }
            assert_eq!(
                out.state(),
                if state == S::Pending {
                    S::Fulfilled
                } else {
                    state
                }
            );
        }
        let cancel = Event::StripeSessionCancelled {
            transaction: payment("evt_9", 0),
        };
        assert!(matches!(
            apply_callback(S::Fulfilled, &cancel, &ctx()).unwrap(),
            CallbackOutcome::Applied(_)
        ));
        assert_eq!(
            apply_callback(S::Canceled, &cancel, &ctx()).unwrap(),
            CallbackOutcome::NoChange { state: S::Canceled }
        );
        // Non-callback events are not softened.
        assert!(apply_callback(S::Refunded, &Event::StaffDecline, &ctx()).is_err());
    }

    fn any_event() -> impl Strategy<Value = Event> {
        let id = "[a-z0-9]{1,8}";
        prop_oneof![
            Just(Event::Checkout),
            id.prop_map(|i| Event::ZeroTotalCheckout {
                payment: payment(&i, 0)
            }),
            (id, 0i64..100_000).prop_map(|(i, c)| Event::PaymentAccepted {
                payment: payment(&i, c)
            }),
            Just(Event::PaymentDeclined),
            Just(Event::PaymentErrored),
            Just(Event::PaymentCancelled),
            id.prop_map(|i| Event::ResolvedPaid {
                payment: payment(&i, 0)
            }),
            id.prop_map(|i| Event::ResolvedUnpaid {
                transaction: payment(&i, 0)
            }),
            (id, any::<bool>()).prop_map(|(i, d)| Event::GatewayRefund {
                refund: RefundTransaction {
                    transaction_id: TransactionId::parse(&i).unwrap(),
                    amount: Money::from_cents(1000),
                    reason: String::new(),
                },
                downgrade_to_audit: d,
            }),
            prop_oneof![
                Just(EnrollmentAction::Unenroll),
                Just(EnrollmentAction::Audit)
            ]
            .prop_map(|action| Event::OperatorRefund { action }),
            id.prop_map(|i| Event::StripeSessionCancelled {
                transaction: payment(&i, 0)
            }),
            id.prop_map(|i| Event::StripeSessionPaid {
                payment: payment(&i, 0)
            }),
            Just(Event::StaffDecline),
        ]
    }

    fn payment_callback() -> impl Strategy<Value = Event> {
        let id = "[a-z0-9]{1,8}";
        prop_oneof![
            id.prop_map(|i| Event::PaymentAccepted {
                payment: payment(&i, 100)
            }),
            Just(Event::PaymentDeclined),
            Just(Event::PaymentErrored),
            Just(Event::PaymentCancelled),
            id.prop_map(|i| Event::StripeSessionPaid {
                payment: payment(&i, 100)
            }),
            id.prop_map(|i| Event::StripeSessionCancelled {
                transaction: payment(&i, 0)
            }),
        ]
    }

    fn records_payment(t: &Transition) -> bool {
        has(t, |e| matches!(e, Effect::RecordPaymentTransaction(_)))
    }

    proptest! {
        #[test]
        fn every_reachable_transition_is_a_table_row(
            events in proptest::collection::vec(any_event(), 0..30)
        ) {
            let mut state = S::Pending;
            for event in &events {
                if let Ok(t) = transition(state, event, &ctx()) {
                    prop_assert_eq!(t.from, Some(state));
                    let row = TRANSITIONS.iter().find(|r| {
                        r.trigger == t.trigger && r.to == t.to && r.id == t.rule
                    });
                    prop_assert!(row.is_some_and(|r| r.from.admits(Some(state))));
                    prop_assert!(!matches!(t.to, S::Review | S::PartiallyRefunded));
                    state = t.to;
                }
            }
        }

        #[test]
        fn a_repeated_payment_callback_never_records_a_second_payment(
            prefix in proptest::collection::vec(any_event(), 0..10),
            callback in payment_callback(),
        ) {
            let mut state = S::Pending;
            for event in &prefix {
                if let Ok(t) = transition(state, event, &ctx()) {
                    state = t.to;
                }
            }
            let first = apply_callback(state, &callback, &ctx());
            prop_assert!(first.is_ok());
            let after = first.map(|o| o.state()).unwrap_or(state);
            match apply_callback(after, &callback, &ctx()) {
                Ok(CallbackOutcome::Applied(t)) => prop_assert!(!records_payment(&t)),
                Ok(CallbackOutcome::NoChange { state: s }) => prop_assert_eq!(s, after),
                Err(e) => prop_assert!(false, "callbacks are never illegal: {}", e),
            }
        }
    }
}
