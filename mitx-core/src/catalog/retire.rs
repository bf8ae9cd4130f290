//! Retiring a course run (courses spec 6, `retire_courserun`): which fields change so the
//! run can no longer be found, enrolled in or upgraded, and whether anything is left to do.
//!
//! The plan is computed from the run as read and `now`; the caller performs it (the edX
//! schedule update, the run row, the products, the audit row). Retiring a retired run plans
//! nothing, so running the command twice is safe.

use serde::{Deserialize, Serialize};

use super::CourseRun;
use crate::Timestamp;
use crate::ids::ContractId;

/// What the operator asked for besides the windows and `live`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetireOptions {
    /// Leave the run's products active (`--keep-products`).
    pub keep_products: bool,
    /// Leave the run attached to its B2B contract (`--keep-contract`).
    pub keep_contract: bool,
}

/// One field that changes, for the dry-run listing and the audit row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The run field (`end_date`, `live`, ...).
    pub field: &'static str,
    /// Its value now, as text (empty for null).
    pub before: String,
    /// Its value after the retirement.
    pub after: String,
}

/// What a retirement changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetirePlan {
    /// The run as it will be saved.
    pub run: CourseRun,
    /// The run fields that change, in a fixed order.
    pub changes: Vec<FieldChange>,
    /// The run's active products are deactivated.
    pub deactivate_products: bool,
    /// The B2B contract the run is detached from.
    pub detach_contract: Option<ContractId>,
}

impl RetirePlan {
    /// Nothing left to change: the run is already retired.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty() && !self.deactivate_products
    }
}

/// The moment retired windows are moved to: one second before `now` (whole seconds), so
/// `is_past`, a closed enrollment window and an expired upgrade deadline all hold at `now`.
pub fn retirement_cutoff(now: Timestamp) -> Timestamp {
    use chrono::Timelike;
    now.with_nanosecond(0).unwrap_or(now) - chrono::Duration::seconds(1)
}

/// Plans the retirement of `run` at `now`. `has_active_products` is whether the run has a
/// product that is still active.
///
/// * `end_date`, `enrollment_end` and `upgrade_deadline` move to the cutoff when they are
///   unset or later than it;
/// * `start_date` and `enrollment_start` move to the cutoff only when they are later than it
///   (so each window still ends after it starts); unset ones stay unset;
/// * `live` becomes false; the B2B contract is detached unless `keep_contract`; active
///   products are deactivated unless `keep_products`.
///
/// `expiration_date` needs no change: it must not precede start or end, which only move
/// earlier.
pub fn plan_retirement(
    run: &CourseRun,
    now: Timestamp,
    has_active_products: bool,
    options: RetireOptions,
) -> RetirePlan {
    let cutoff = retirement_cutoff(now);
    let close = |at: Option<Timestamp>| Some(at.map_or(cutoff, |at| at.min(cutoff)));
    let pull_back = |at: Option<Timestamp>| at.map(|at| at.min(cutoff));
    let mut after = run.clone();
    after.start_date = pull_back(run.start_date);
    after.end_date = close(run.end_date);
    after.enrollment_start = pull_back(run.enrollment_start);
    after.enrollment_end = close(run.enrollment_end);
    after.upgrade_deadline = close(run.upgrade_deadline);
    after.live = false;
    let detach_contract = if options.keep_contract {
        None
    } else {
        run.b2b_contract
    };
    if detach_contract.is_some() {
        after.b2b_contract = None;
    }
    let text = |at: Option<Timestamp>| at.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut changes = Vec::new();
    let dates = [
        ("start_date", run.start_date, after.start_date),
        ("end_date", run.end_date, after.end_date),
        (
            "enrollment_start",
            run.enrollment_start,
            after.enrollment_start,
        ),
        ("enrollment_end", run.enrollment_end, after.enrollment_end),
        (
            "upgrade_deadline",
            run.upgrade_deadline,
            after.upgrade_deadline,
        ),
    ];
    for (field, before, now_value) in dates {
        if before != now_value {
            changes.push(FieldChange {
                field,
                before: text(before),
                after: text(now_value),
            });
        }
    }
    if run.live {
        changes.push(FieldChange {
            field: "live",
            before: "true".into(),
            after: "false".into(),
        });
    }
    if let Some(contract) = detach_contract {
        changes.push(FieldChange {
            field: "b2b_contract",
            before: contract.0.to_string(),
            after: String::new(),
        });
    }
    RetirePlan {
        run: after,
        changes,
        deactivate_products: has_active_products && !options.keep_products,
        detach_contract,
    }
}

/// Why a retirement is refused before anything changes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetireRefusal {
    /// Learners are still enrolled and the operator allowed neither keeping nor unenrolling
    /// them.
    #[error(
        "{0} active enrollment(s) in this run: pass --unenroll to unenroll them, or --allow-active-enrollments to retire the run anyway"
    )]
    ActiveEnrollments(u64),
}

/// Whether the run may be retired with `active_enrollments` learners enrolled.
pub fn check_active_enrollments(
    active_enrollments: u64,
    allow_active: bool,
    unenroll: bool,
) -> Result<(), RetireRefusal> {
    if active_enrollments > 0 && !allow_active && !unenroll {
        return Err(RetireRefusal::ActiveEnrollments(active_enrollments));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{at, now, r1};

    #[test]
    fn retiring_closes_every_window_and_unlives_the_run() {
        let mut run = r1();
        run.start_date = Some(at(2026, 9, 1));
        run.end_date = Some(at(2026, 12, 1));
        run.enrollment_start = Some(at(2026, 1, 1));
        run.enrollment_end = None;
        run.upgrade_deadline = Some(at(2026, 11, 1));
        run.b2b_contract = Some(ContractId(7));
        let plan = plan_retirement(&run, now(), true, RetireOptions::default());
        let cutoff = retirement_cutoff(now());
        assert!(cutoff < now());
        assert_eq!(
            plan.run.start_date,
            Some(cutoff),
            "pulled back before the end"
        );
        assert_eq!(plan.run.end_date, Some(cutoff));
        assert_eq!(
            plan.run.enrollment_start,
            Some(at(2026, 1, 1)),
            "already past"
        );
        assert_eq!(plan.run.enrollment_end, Some(cutoff));
        assert_eq!(plan.run.upgrade_deadline, Some(cutoff));
        assert!(!plan.run.live);
        assert_eq!(plan.run.b2b_contract, None);
        assert_eq!(plan.detach_contract, Some(ContractId(7)));
        assert!(plan.deactivate_products);
        assert_eq!(plan.run.validate(), Ok(()));
        assert!(plan.run.is_past(now()));
        assert!(!plan.run.is_enrollable(now()));
        let fields: Vec<&str> = plan.changes.iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                "start_date",
                "end_date",
                "enrollment_end",
                "upgrade_deadline",
                "live",
                "b2b_contract"
            ]
        );

        // A second retirement, later, has nothing to do.
        let later = now() + chrono::Duration::days(1);
        let again = plan_retirement(&plan.run, later, false, RetireOptions::default());
        assert!(again.is_noop(), "{again:?}");
    }

    #[test]
    fn keep_options_leave_products_and_contract() {
        let mut run = r1();
        run.b2b_contract = Some(ContractId(3));
        let options = RetireOptions {
            keep_products: true,
            keep_contract: true,
        };
        let plan = plan_retirement(&run, now(), true, options);
        assert!(!plan.deactivate_products);
        assert_eq!(plan.run.b2b_contract, Some(ContractId(3)));
        assert_eq!(plan.detach_contract, None);
        assert!(!plan.changes.iter().any(|c| c.field == "b2b_contract"));
        // Products still active but kept: only the run changes, then nothing.
        let again = plan_retirement(&plan.run, now(), true, options);
        assert!(again.is_noop());
        // Without --keep-products the active products are still something to do.
        let products = plan_retirement(&plan.run, now(), true, RetireOptions::default());
        assert!(!products.is_noop());
    }

    #[test]
    fn active_enrollments_need_a_decision() {
        assert_eq!(check_active_enrollments(0, false, false), Ok(()));
        assert_eq!(
            check_active_enrollments(2, false, false),
            Err(RetireRefusal::ActiveEnrollments(2))
        );
        assert_eq!(check_active_enrollments(2, true, false), Ok(()));
        assert_eq!(check_active_enrollments(2, false, true), Ok(()));
    }
}
