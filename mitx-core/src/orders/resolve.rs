//! The `resolve_pending_order` operator command (ecommerce spec 5.6): option checks, the
//! per-order decision from the gateway's record, and the outcome counts.

use super::callback::{REASON_CODE_SUCCESS, StripeCheckoutStatus};
use super::reference::ReferenceNumber;
use super::transition::Trigger;

/// Why the command does nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Neither `--order` nor `--all`.
    #[error("Please specify an order.")]
    NoTarget,
    /// No order (in any state) has the reference.
    #[error("Order {0} couldn't be found - is it Pending?")]
    NotFound(String),
    /// Several orders have the reference.
    #[error("Order {reference} returned multiple matches ({count})")]
    Ambiguous {
        /// The reference given.
        reference: String,
        /// How many orders matched.
        count: usize,
    },
}

/// Which pending orders the command works on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolveTarget {
    /// Every pending order (`--all` wins over `--order`).
    All,
    /// The one order with this reference.
    One(ReferenceNumber),
}

/// Checks the options: `--all`, or `--order REF` with exactly one matching order.
/// `matches` is the number of orders with that reference.
pub fn resolve_target(
    order: Option<&ReferenceNumber>,
    all: bool,
    matches: usize,
) -> Result<ResolveTarget, ResolveError> {
    match (all, order) {
        (true, _) => Ok(ResolveTarget::All),
        (false, None) => Err(ResolveError::NoTarget),
        (false, Some(reference)) => match matches {
            0 => Err(ResolveError::NotFound(reference.to_string())),
            1 => Ok(ResolveTarget::One(reference.clone())),
            count => Err(ResolveError::Ambiguous {
                reference: reference.to_string(),
                count,
            }),
        },
    }
}

/// What the gateway knows about one pending order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayRecord {
    /// CyberSource transaction search found a record with this reason code.
    CyberSource {
        /// `reason_code` of the rebuilt receipt payload.
        reason_code: String,
    },
    /// The stored Stripe checkout session's status.
    Stripe(StripeCheckoutStatus),
    /// No record (or no stored checkout session): the order stays pending.
    None,
}

/// A gateway reason code that is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gateway reason code '{0}' is not a number")]
pub struct BadReasonCode(pub String);

/// The transition for one pending order, or `None` to leave it pending.
/// `--no-check` fulfils every order (T7 with the administrative payload) without asking
/// the gateway; otherwise reason 100 / Stripe paid → T7, another reason / Stripe cancelled
/// → T8. A non-numeric reason code is a per-order error (counted, not fatal).
pub fn resolution_trigger(
    record: &GatewayRecord,
    no_check: bool,
) -> Result<Option<Trigger>, BadReasonCode> {
    if no_check {
        return Ok(Some(Trigger::ResolvedPaid));
    }
    match record {
        GatewayRecord::CyberSource { reason_code } => {
            let code = reason_code.trim();
            let numeric = code
                .parse::<i64>()
                .map_err(|_| BadReasonCode(reason_code.clone()))?;
            // Compared as integers, as the original does (`int(reason_code) == 100`).
            Ok(Some(if numeric.to_string() == REASON_CODE_SUCCESS {
                Trigger::ResolvedPaid
            } else {
                Trigger::ResolvedUnpaid
            }))
        }
        GatewayRecord::Stripe(StripeCheckoutStatus::Paid) => Ok(Some(Trigger::ResolvedPaid)),
        GatewayRecord::Stripe(StripeCheckoutStatus::Cancelled) => Ok(Some(Trigger::ResolvedUnpaid)),
        GatewayRecord::Stripe(_) | GatewayRecord::None => Ok(None),
    }
}

/// What happened to one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolutionOutcome {
    /// T7 applied.
    Fulfilled,
    /// T8 applied.
    Canceled,
    /// Processing failed (counted, not fatal).
    Errored,
    /// Left pending (no gateway record).
    Untouched,
}

/// The counts the command reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolveSummary {
    /// Orders fulfilled.
    pub fulfilled: u32,
    /// Orders canceled.
    pub canceled: u32,
    /// Orders that failed.
    pub errored: u32,
}

impl ResolveSummary {
    /// Counts one order's outcome.
    pub fn record(&mut self, outcome: ResolutionOutcome) {
        match outcome {
            ResolutionOutcome::Fulfilled => self.fulfilled += 1,
            ResolutionOutcome::Canceled => self.canceled += 1,
            ResolutionOutcome::Errored => self.errored += 1,
            ResolutionOutcome::Untouched => {}
        }
    }

    /// `(fulfilled, canceled, errored)`.
    pub fn counts(self) -> (u32, u32, u32) {
        (self.fulfilled, self.canceled, self.errored)
    }

    /// `Processed orders: F fulfilled, C canceled, E errored` (stdout).
    pub fn summary_line(self) -> String {
        format!(
            "Processed orders: {} fulfilled, {} canceled, {} errored",
            self.fulfilled, self.canceled, self.errored
        )
    }

    /// `E orders had errors.` (stderr), only when E > 0.
    pub fn error_line(self) -> Option<String> {
        (self.errored > 0).then(|| format!("{} orders had errors.", self.errored))
    }
}

impl FromIterator<ResolutionOutcome> for ResolveSummary {
    fn from_iter<I: IntoIterator<Item = ResolutionOutcome>>(iter: I) -> Self {
        let mut summary = ResolveSummary::default();
        for outcome in iter {
            summary.record(outcome);
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::orders::fulfilment::{ADMINISTRATIVE_PAYLOAD, PaymentPayload, payment_transaction};
    use crate::orders::state::OrderState;
    use crate::orders::transition::tests::ctx;
    use crate::orders::transition::{Effect, Event, transition};

    fn reference() -> ReferenceNumber {
        ReferenceNumber::parse("mitxonline-prod-1001").unwrap()
    }

    fn cs(code: &str) -> GatewayRecord {
        GatewayRecord::CyberSource {
            reason_code: code.into(),
        }
    }

    #[test]
    fn option_checks() {
        assert_eq!(
            resolve_target(None, false, 0).unwrap_err().to_string(),
            "Please specify an order."
        );
        assert_eq!(
            resolve_target(Some(&reference()), false, 0)
                .unwrap_err()
                .to_string(),
            "Order mitxonline-prod-1001 couldn't be found - is it Pending?"
        );
        assert_eq!(
            resolve_target(Some(&reference()), false, 2)
                .unwrap_err()
                .to_string(),
            "Order mitxonline-prod-1001 returned multiple matches (2)"
        );
        assert_eq!(
            resolve_target(Some(&reference()), false, 1),
            Ok(ResolveTarget::One(reference()))
        );
        assert_eq!(
            resolve_target(Some(&reference()), true, 0),
            Ok(ResolveTarget::All)
        );
    }

    #[test]
    fn ecommerce_s52_resolution_from_gateway_records() {
        let outcome = |record: &GatewayRecord| match resolution_trigger(record, false) {
            Ok(Some(Trigger::ResolvedPaid)) => ResolutionOutcome::Fulfilled,
            Ok(Some(_)) => ResolutionOutcome::Canceled,
            Ok(None) => ResolutionOutcome::Untouched,
            Err(_) => ResolutionOutcome::Errored,
        };
        let one = |r: GatewayRecord| std::iter::once(outcome(&r)).collect::<ResolveSummary>();
        assert_eq!(one(cs("100")).counts(), (1, 0, 0));
        assert_eq!(one(cs("999")).counts(), (0, 1, 0));
        assert_eq!(one(GatewayRecord::None).counts(), (0, 0, 0));
        assert_eq!(one(cs("x")).counts(), (0, 0, 1));
        assert_eq!(
            one(GatewayRecord::Stripe(StripeCheckoutStatus::Paid)).counts(),
            (1, 0, 0)
        );
        assert_eq!(
            one(GatewayRecord::Stripe(StripeCheckoutStatus::Cancelled)).counts(),
            (0, 1, 0)
        );
        assert_eq!(
            one(GatewayRecord::Stripe(StripeCheckoutStatus::PendingAction)).counts(),
            (0, 0, 0)
        );
        // The canceled order records the gateway record as a transaction (T8).
        let transaction = payment_transaction(
            Money::from_cents(100_000),
            &PaymentPayload::CyberSource(
                [("transaction_id", "6000"), ("reason_code", "999")]
                    .into_iter()
                    .collect(),
            ),
            uuid::Uuid::from_u128(3),
        )
        .unwrap();
        let t = transition(
            OrderState::Pending,
            &Event::ResolvedUnpaid { transaction },
            &ctx(),
        )
        .unwrap();
        assert_eq!(t.to, OrderState::Canceled);
        assert!(
            t.effects
                .iter()
                .any(|e| matches!(e, Effect::RecordPaymentTransaction(p) if p.transaction_id.as_str() == "6000"))
        );
    }

    #[test]
    fn ecommerce_s53_no_check_no_fulfillment() {
        assert_eq!(
            resolution_trigger(&GatewayRecord::None, true),
            Ok(Some(Trigger::ResolvedPaid))
        );
        let payment = payment_transaction(
            Money::from_cents(100_000),
            &PaymentPayload::Administrative(ADMINISTRATIVE_PAYLOAD),
            uuid::Uuid::from_u128(4),
        )
        .unwrap();
        assert_eq!(payment.amount, Money::ZERO);
        let mut c = ctx();
        c.skip_fulfillment = true;
        let t = transition(OrderState::Pending, &Event::ResolvedPaid { payment }, &c).unwrap();
        assert_eq!(t.to, OrderState::Fulfilled);
        assert!(!t.effects.iter().any(|e| matches!(
            e,
            Effect::EnrollVerified { .. }
                | Effect::CreatePaidCourseRun { .. }
                | Effect::QueueReceiptEmail { .. }
                | Effect::DeleteBasketIfMatches { .. }
        )));
        let summary: ResolveSummary = [ResolutionOutcome::Fulfilled].into_iter().collect();
        assert_eq!(summary.counts(), (1, 0, 0));
        assert_eq!(
            summary.summary_line(),
            "Processed orders: 1 fulfilled, 0 canceled, 0 errored"
        );
        assert_eq!(summary.error_line(), None);
        let errored: ResolveSummary = [ResolutionOutcome::Errored, ResolutionOutcome::Errored]
            .into_iter()
            .collect();
        assert_eq!(
            errored.error_line().as_deref(),
            Some("2 orders had errors.")
        );
    }
}
