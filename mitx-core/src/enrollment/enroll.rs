//! The core enroll / upgrade / downgrade routine every caller goes through (courses spec
//! 2.1) and the validation of the enrollment API (2.2).
//!
//! The workflow is split in two so that no partner call happens inside the rules:
//! [`needs_edx_enroll_call`] says whether the edX enroll call must be made; the caller makes
//! it (or not) and passes the [`EdxOutcome`] to [`plan_enrollments`], which returns the rows
//! to save and the effects to perform.

use serde::{Deserialize, Serialize};

use super::edx::{EdxFailure, EdxOutcome};
use super::types::{ChangeStatus, RunEnrollment};
use crate::Timestamp;
use crate::catalog::{CourseRun, EnrollmentMode};
use crate::ids::{ContractId, CourseRunId, UserId};

/// The parameters of one call of the core routine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The mode to enroll in (audit by default; verified after a purchase).
    pub mode: EnrollmentMode,
    /// Written to the row (`deferred` for the deferred side of a deferral, else none).
    pub change_status: Option<ChangeStatus>,
    /// Keep the local row when edX fails (default: the `IGNORE_EDX_FAILURES` flag).
    pub keep_failed: bool,
}

impl EnrollRequest {
    /// A request in `mode` with no change status.
    pub fn new(mode: EnrollmentMode, keep_failed: bool) -> Self {
        EnrollRequest {
            mode,
            change_status: None,
            keep_failed,
        }
    }

    /// An audit request with no change status.
    pub fn audit(keep_failed: bool) -> Self {
        Self::new(EnrollmentMode::Audit, keep_failed)
    }

    /// A verified request with no change status.
    pub fn verified(keep_failed: bool) -> Self {
        Self::new(EnrollmentMode::Verified, keep_failed)
    }

    /// The same request writing `change_status` to the row.
    pub fn with_change_status(mut self, change_status: Option<ChangeStatus>) -> Self {
        self.change_status = change_status;
        self
    }
}

/// One run of a batch, with the user's current row for it (active or not), if any.
#[derive(Clone, Copy, Debug)]
pub struct EnrollTarget<'a> {
    pub run: &'a CourseRun,
    /// The user's existing row for this run, including inactive rows.
    pub existing: Option<&'a RunEnrollment>,
}

/// What happened to one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollChange {
    /// A new row was created.
    Created,
    /// An inactive row was reactivated (mode set, change status cleared).
    Reactivated,
    /// An active row changed mode; verified → audit is a downgrade.
    ModeChanged { downgrade: bool },
    /// An active row in the same mode: only the edX flag and change status were rewritten.
    Refreshed,
}

/// A side effect the caller performs after saving the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum EnrollEffect {
    /// Write an audit row (acting user, data before, data after).
    AuditLog,
    /// Attach the user to the run's B2B contract and to the contract's organization.
    AttachToContract { contract: ContractId },
    /// Queue the asynchronous edX email-subscribe job (4.3) for this enrollment.
    QueueEmailSubscribe,
    /// Send the learner the course-run enrollment email.
    SendEnrollmentEmail,
}

/// The decision for one run of the batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnrollmentPlan {
    /// The row as it was, `None` when it is created.
    pub before: Option<RunEnrollment>,
    /// The row to save.
    pub enrollment: RunEnrollment,
    pub change: EnrollChange,
    /// Effects in the order to perform them.
    pub effects: Vec<EnrollEffect>,
}

impl RunEnrollmentPlan {
    /// Whether this is a verified → audit downgrade (no enrollment email is sent).
    pub fn is_downgrade(&self) -> bool {
        self.change == (EnrollChange::ModeChanged { downgrade: true })
    }

    /// Whether the row is new.
    pub fn created(&self) -> bool {
        self.change == EnrollChange::Created
    }

    /// Whether the row differs from what is stored (a new row always does).
    pub fn changed(&self) -> bool {
        self.before.as_ref() != Some(&self.enrollment)
    }
}

/// The result of the core routine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EnrollOutcome {
    /// edX failed and failures are not kept: no local change at all (the original returns
    /// `([], false)`).
    NoLocalChanges { edx_failure: EdxFailure },
    /// Rows to save, one per run, in input order.
    Applied {
        /// Whether edX accepted the call (or no call was needed).
        edx_succeeded: bool,
        runs: Vec<RunEnrollmentPlan>,
    },
}

impl EnrollOutcome {
    /// Whether the edX part succeeded (the second element of the original's result).
    pub fn edx_succeeded(&self) -> bool {
        match self {
            EnrollOutcome::NoLocalChanges { .. } => false,
            EnrollOutcome::Applied { edx_succeeded, .. } => *edx_succeeded,
        }
    }

    /// The per-run plans (empty when nothing changes locally).
    pub fn runs(&self) -> &[RunEnrollmentPlan] {
        match self {
            EnrollOutcome::NoLocalChanges { .. } => &[],
            EnrollOutcome::Applied { runs, .. } => runs,
        }
    }

    /// The plan of the first run, the usual single-run case.
    pub fn first(&self) -> Option<&RunEnrollmentPlan> {
        self.runs().first()
    }
}

/// Whether the edX enroll call must be made for a batch: only the **first** run is checked
/// for being fake, as in the original. An empty batch needs no call.
pub fn needs_edx_enroll_call(runs: &[&CourseRun]) -> bool {
    runs.first().is_some_and(|run| !run.is_fake())
}

/// The row a purchase writes (ecommerce spec 3.3 step 2): the purchaser in **verified**
/// mode, saved in the fulfilment's unit of work before edX is told. The edX call runs
/// later in a job, so the row starts with `edx_enrolled` false, unless `edx_call_needed`
/// is false (a fake run, which counts as an edX success as in 2.1). `None` when the row
/// already is an active verified enrollment edX confirmed: nothing to write.
pub fn plan_purchase_enrollment(
    user: UserId,
    existing: Option<&RunEnrollment>,
    run: &CourseRun,
    edx_call_needed: bool,
) -> Option<RunEnrollmentPlan> {
    let request = EnrollRequest::new(EnrollmentMode::Verified, true);
    if is_repeat_enrollment(existing, &request) {
        return None;
    }
    Some(plan_run(user, run, existing, request, !edx_call_needed))
}

/// The core routine (2.1) for a batch of runs, given the outcome of the edX call.
///
/// Enrolling in a run never creates program enrollments. A per-run storage failure is the
/// caller's to handle (the original emails the support address and skips the run).
pub fn plan_enrollments(
    user: UserId,
    targets: &[EnrollTarget<'_>],
    request: EnrollRequest,
    edx: EdxOutcome,
) -> EnrollOutcome {
    if let Some(edx_failure) = edx.failure()
        && !request.keep_failed
    {
        return EnrollOutcome::NoLocalChanges { edx_failure };
    }
    let edx_succeeded = edx.succeeded();
    let runs = targets
        .iter()
        .map(|t| plan_run(user, t.run, t.existing, request, edx_succeeded))
        .collect();
    EnrollOutcome::Applied {
        edx_succeeded,
        runs,
    }
}

/// The core routine for a single run.
pub fn plan_enroll(
    user: UserId,
    existing: Option<&RunEnrollment>,
    run: &CourseRun,
    request: EnrollRequest,
    edx: EdxOutcome,
) -> EnrollOutcome {
    plan_enrollments(user, &[EnrollTarget { run, existing }], request, edx)
}

fn plan_run(
    user: UserId,
    run: &CourseRun,
    existing: Option<&RunEnrollment>,
    request: EnrollRequest,
    edx_succeeded: bool,
) -> RunEnrollmentPlan {
    let mut effects = Vec::new();
    let (enrollment, change) = match existing {
        None => {
            let mut row = RunEnrollment::new(user, run.id, request.mode);
            row.change_status = request.change_status;
            row.edx_enrolled = edx_succeeded;
            (row, EnrollChange::Created)
        }
        Some(current) => {
            let mut row = current.clone();
            let mode_changed = row.mode != request.mode;
            row.edx_enrolled = edx_succeeded;
            row.change_status = request.change_status;
            let change = if !row.active {
                // Reactivation always clears the change status, even a passed one
                // (spec 2.9 step 7 relies on this for a forced deferral).
                row.mode = request.mode;
                row.active = true;
                row.change_status = None;
                EnrollChange::Reactivated
            } else if mode_changed {
                let downgrade =
                    row.mode == EnrollmentMode::Verified && request.mode == EnrollmentMode::Audit;
                row.mode = request.mode;
                EnrollChange::ModeChanged { downgrade }
            } else {
                EnrollChange::Refreshed
            };
            (row, change)
        }
    };
    let before = existing.cloned();
    if before.as_ref() != Some(&enrollment) {
        effects.push(EnrollEffect::AuditLog);
    }
    if let Some(contract) = run.b2b_contract {
        effects.push(EnrollEffect::AttachToContract { contract });
    }
    if change == EnrollChange::Reactivated {
        effects.push(EnrollEffect::QueueEmailSubscribe);
    }
    let downgrade = change == (EnrollChange::ModeChanged { downgrade: true });
    if enrollment.edx_enrolled && !downgrade {
        effects.push(EnrollEffect::SendEnrollmentEmail);
    }
    RunEnrollmentPlan {
        before,
        enrollment,
        change,
        effects,
    }
}

/// Whether a request only repeats an enrollment edX already confirmed: the row is active,
/// in the requested mode, with no change status, and `edx_enrolled`. Such a repeat changes
/// nothing, so mitx makes no edX call and sends no second enrollment email (the original
/// calls edX and emails again; docs/compatibility.md).
pub fn is_repeat_enrollment(existing: Option<&RunEnrollment>, request: &EnrollRequest) -> bool {
    existing.is_some_and(|row| {
        row.active
            && row.edx_enrolled
            && row.mode == request.mode
            && row.change_status.is_none()
            && request.change_status.is_none()
    })
}

/// Why a POST to the enrollments API was refused (2.2). The HTTP layer renders it as
/// `{"errors":{"run_id":"<message>"}}` with status 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrollRequestError {
    /// The run does not exist or belongs to a B2B contract.
    #[error("Invalid course run id: {0}")]
    InvalidRun(CourseRunId),
    /// The run is not enrollable and the user holds no active enrollment in it.
    #[error("Course run is not open for enrollment: {0}")]
    NotOpen(CourseRunId),
}

impl EnrollRequestError {
    /// The request field the error belongs to.
    pub fn field(&self) -> &'static str {
        "run_id"
    }
}

/// Whether the enrollment window is checked (v1/v2 do; the v3 create does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowCheck {
    Enforce,
    Skip,
}

/// Validates a POST to the enrollments API (2.2). On success the caller runs the core
/// routine in audit mode; re-posting for an existing enrollment succeeds.
pub fn check_api_enroll(
    requested: CourseRunId,
    run: Option<&CourseRun>,
    existing: Option<&RunEnrollment>,
    window: WindowCheck,
    now: Timestamp,
) -> Result<(), EnrollRequestError> {
    let run = match run {
        Some(run) if !run.is_b2b() => run,
        _ => return Err(EnrollRequestError::InvalidRun(requested)),
    };
    let holds_active = existing.is_some_and(|e| e.active);
    if window == WindowCheck::Enforce && !run.is_enrollable(now) && !holds_active {
        return Err(EnrollRequestError::NotOpen(run.id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::fixtures::{U, at, now, r1};

    fn only(outcome: &EnrollOutcome) -> &RunEnrollmentPlan {
        assert_eq!(outcome.runs().len(), 1, "{outcome:?}");
        outcome.first().unwrap()
    }

    #[test]
    fn repeats_of_confirmed_enrollments_change_nothing() {
        let run = r1();
        let mut row = RunEnrollment::new(U, run.id, EnrollmentMode::Audit);
        row.edx_enrolled = true;
        let audit = EnrollRequest::audit(false);
        let cases = [
            (Some(row.clone()), audit, true),
            (None, audit, false),
            (
                Some(RunEnrollment {
                    edx_enrolled: false,
                    ..row.clone()
                }),
                audit,
                false,
            ),
            (
                Some(RunEnrollment {
                    active: false,
                    ..row.clone()
                }),
                audit,
                false,
            ),
            (Some(row.clone()), EnrollRequest::verified(false), false),
            (
                Some(RunEnrollment {
                    change_status: Some(ChangeStatus::Deferred),
                    ..row.clone()
                }),
                audit,
                false,
            ),
            (
                Some(row.clone()),
                audit.with_change_status(Some(ChangeStatus::Deferred)),
                false,
            ),
        ];
        for (existing, request, expected) in cases {
            assert_eq!(
                is_repeat_enrollment(existing.as_ref(), &request),
                expected,
                "{existing:?} {request:?}"
            );
        }
    }

    #[test]
    fn courses_s9_api_enroll_creates_active_audit_row() {
        let run = r1();
        assert_eq!(
            check_api_enroll(run.id, Some(&run), None, WindowCheck::Enforce, now()),
            Ok(())
        );
        assert!(needs_edx_enroll_call(&[&run]));
        let outcome = plan_enroll(
            U,
            None,
            &run,
            EnrollRequest::audit(false),
            EdxOutcome::Succeeded,
        );
        let plan = only(&outcome);
        assert_eq!(plan.change, EnrollChange::Created);
        let row = &plan.enrollment;
        assert_eq!((row.user, row.run), (U, run.id));
        assert!(row.active);
        assert_eq!(row.mode, EnrollmentMode::Audit);
        assert_eq!(row.change_status, None);
        assert!(row.edx_enrolled);
        assert!(row.edx_emails_subscription);
        assert_eq!(
            plan.effects,
            vec![EnrollEffect::AuditLog, EnrollEffect::SendEnrollmentEmail]
        );
        // Exactly one audit entry, and no program enrollment: the effect list has none.
        let audits = plan
            .effects
            .iter()
            .filter(|e| **e == EnrollEffect::AuditLog)
            .count();
        assert_eq!(audits, 1);
    }

    #[test]
    fn courses_s10_invalid_run_ids() {
        let missing =
            check_api_enroll(CourseRunId(999999), None, None, WindowCheck::Enforce, now());
        let err = missing.unwrap_err();
        assert_eq!(err, EnrollRequestError::InvalidRun(CourseRunId(999999)));
        assert_eq!(err.to_string(), "Invalid course run id: 999999");
        assert_eq!(err.field(), "run_id");

        let mut b2b = r1();
        b2b.id = CourseRunId(42);
        b2b.b2b_contract = Some(ContractId(3));
        let err = check_api_enroll(b2b.id, Some(&b2b), None, WindowCheck::Skip, now()).unwrap_err();
        assert_eq!(err.to_string(), "Invalid course run id: 42");
    }

    #[test]
    fn courses_s11_closed_run_needs_active_enrollment() {
        let mut run = r1();
        run.enrollment_end = Some(at(2026, 2, 20));
        let err =
            check_api_enroll(run.id, Some(&run), None, WindowCheck::Enforce, now()).unwrap_err();
        assert_eq!(err, EnrollRequestError::NotOpen(run.id));
        assert_eq!(err.to_string(), "Course run is not open for enrollment: 1");
        assert_eq!(err.field(), "run_id");

        let mut inactive = RunEnrollment::new(U, run.id, EnrollmentMode::Audit);
        inactive.active = false;
        assert!(
            check_api_enroll(
                run.id,
                Some(&run),
                Some(&inactive),
                WindowCheck::Enforce,
                now()
            )
            .is_err(),
            "an inactive row does not open a closed run"
        );
        let active = RunEnrollment::new(U, run.id, EnrollmentMode::Audit);
        assert_eq!(
            check_api_enroll(
                run.id,
                Some(&run),
                Some(&active),
                WindowCheck::Enforce,
                now()
            ),
            Ok(())
        );
        // The v3 create skips the window check.
        assert_eq!(
            check_api_enroll(run.id, Some(&run), None, WindowCheck::Skip, now()),
            Ok(())
        );
    }

    #[test]
    fn courses_s12_edx_failure_without_keep_failed_changes_nothing() {
        let run = r1();
        let outcome = plan_enroll(
            U,
            None,
            &run,
            EnrollRequest::audit(false),
            EdxOutcome::Failed(EdxFailure::Http { status: 500 }),
        );
        assert_eq!(
            outcome,
            EnrollOutcome::NoLocalChanges {
                edx_failure: EdxFailure::Http { status: 500 }
            }
        );
        assert!(outcome.runs().is_empty());
        assert!(!outcome.edx_succeeded());
    }

    #[test]
    fn courses_s13_edx_failure_with_keep_failed_keeps_row_without_email() {
        let run = r1();
        let outcome = plan_enroll(
            U,
            None,
            &run,
            EnrollRequest::audit(true),
            EdxOutcome::Failed(EdxFailure::Http { status: 500 }),
        );
        assert!(!outcome.edx_succeeded());
        let plan = only(&outcome);
        assert!(plan.enrollment.active);
        assert!(!plan.enrollment.edx_enrolled);
        assert_eq!(plan.effects, vec![EnrollEffect::AuditLog]);
        // The retry-job half of the scenario is in retry::tests::courses_s13_*.
    }

    #[test]
    fn courses_s14_reenrolling_reactivates_the_refunded_row() {
        let run = r1();
        let mut refunded = RunEnrollment::new(U, run.id, EnrollmentMode::Verified);
        refunded.active = false;
        refunded.change_status = Some(ChangeStatus::Refunded);
        refunded.edx_enrolled = false;
        let outcome = plan_enroll(
            U,
            Some(&refunded),
            &run,
            EnrollRequest::audit(false),
            EdxOutcome::Succeeded,
        );
        let plan = only(&outcome);
        assert_eq!(plan.change, EnrollChange::Reactivated);
        assert!(plan.enrollment.active);
        assert_eq!(plan.enrollment.change_status, None);
        assert_eq!(plan.enrollment.mode, EnrollmentMode::Audit);
        assert!(plan.enrollment.edx_enrolled);
        assert_eq!(
            plan.effects,
            vec![
                EnrollEffect::AuditLog,
                EnrollEffect::QueueEmailSubscribe,
                EnrollEffect::SendEnrollmentEmail
            ]
        );
    }

    #[test]
    fn courses_s15_purchase_upgrades_active_audit_row() {
        let run = r1();
        let mut audit = RunEnrollment::new(U, run.id, EnrollmentMode::Audit);
        audit.edx_enrolled = true;
        // A fulfilled order line runs the routine in verified mode, keeping failures.
        let request = EnrollRequest::verified(true);
        let outcome = plan_enroll(U, Some(&audit), &run, request, EdxOutcome::Succeeded);
        let plan = only(&outcome);
        assert_eq!(plan.change, EnrollChange::ModeChanged { downgrade: false });
        assert_eq!(plan.enrollment.mode, EnrollmentMode::Verified);
        assert!(plan.enrollment.active);
        assert!(plan.effects.contains(&EnrollEffect::SendEnrollmentEmail));
        // Recording the PaidCourseRun is in purchase::tests::courses_s15_*.
    }

    #[test]
    fn downgrade_sends_no_email() {
        let run = r1();
        let mut verified = RunEnrollment::new(U, run.id, EnrollmentMode::Verified);
        verified.edx_enrolled = true;
        let outcome = plan_enroll(
            U,
            Some(&verified),
            &run,
            EnrollRequest::audit(true),
            EdxOutcome::Succeeded,
        );
        let plan = only(&outcome);
        assert!(plan.is_downgrade());
        assert_eq!(plan.enrollment.mode, EnrollmentMode::Audit);
        assert_eq!(plan.effects, vec![EnrollEffect::AuditLog]);
    }

    #[test]
    fn same_mode_repost_refreshes_and_emails_again() {
        let run = r1();
        let mut row = RunEnrollment::new(U, run.id, EnrollmentMode::Audit);
        row.edx_enrolled = true;
        let outcome = plan_enroll(
            U,
            Some(&row),
            &run,
            EnrollRequest::audit(false),
            EdxOutcome::Succeeded,
        );
        let plan = only(&outcome);
        assert_eq!(plan.change, EnrollChange::Refreshed);
        assert!(!plan.changed());
        assert_eq!(plan.effects, vec![EnrollEffect::SendEnrollmentEmail]);
    }

    #[test]
    fn fake_first_run_skips_edx_and_counts_as_success() {
        let mut fake = r1();
        fake.run_tag = "fake-1".into();
        let real = r1();
        assert!(!needs_edx_enroll_call(&[&fake, &real]));
        assert!(needs_edx_enroll_call(&[&real, &fake]));
        assert!(!needs_edx_enroll_call(&[]));
        let outcome = plan_enroll(
            U,
            None,
            &fake,
            EnrollRequest::audit(false),
            EdxOutcome::NotCalled,
        );
        assert!(outcome.edx_succeeded());
        assert!(only(&outcome).enrollment.edx_enrolled);
    }

    #[test]
    fn b2b_run_attaches_the_contract_and_passed_change_status_is_written() {
        let mut run = r1();
        run.b2b_contract = Some(ContractId(9));
        let outcome = plan_enroll(
            U,
            None,
            &run,
            EnrollRequest::audit(false).with_change_status(Some(ChangeStatus::Deferred)),
            EdxOutcome::Succeeded,
        );
        let plan = only(&outcome);
        assert_eq!(plan.enrollment.change_status, Some(ChangeStatus::Deferred));
        assert!(plan.effects.contains(&EnrollEffect::AttachToContract {
            contract: ContractId(9)
        }));
    }

    #[test]
    fn batch_keeps_input_order() {
        let a = r1();
        let mut b = r1();
        b.id = CourseRunId(2);
        let outcome = plan_enrollments(
            U,
            &[
                EnrollTarget {
                    run: &b,
                    existing: None,
                },
                EnrollTarget {
                    run: &a,
                    existing: None,
                },
            ],
            EnrollRequest::verified(true),
            EdxOutcome::Succeeded,
        );
        let runs: Vec<CourseRunId> = outcome.runs().iter().map(|p| p.enrollment.run).collect();
        assert_eq!(runs, vec![CourseRunId(2), CourseRunId(1)]);
    }

    mod invariants {
        use super::*;
        use proptest::prelude::*;

        fn mode() -> impl Strategy<Value = EnrollmentMode> {
            prop_oneof![Just(EnrollmentMode::Audit), Just(EnrollmentMode::Verified)]
        }

        fn change_status() -> impl Strategy<Value = Option<ChangeStatus>> {
            prop_oneof![
                Just(None),
                Just(Some(ChangeStatus::Deferred)),
                Just(Some(ChangeStatus::Refunded)),
                Just(Some(ChangeStatus::Unenrolled)),
            ]
        }

        fn existing() -> impl Strategy<Value = Option<RunEnrollment>> {
            proptest::option::of(
                (
                    mode(),
                    any::<bool>(),
                    change_status(),
                    any::<bool>(),
                    any::<bool>(),
                )
                    .prop_map(
                        |(mode, active, change_status, edx_enrolled, subscribed)| RunEnrollment {
                            user: U,
                            run: CourseRunId(1),
                            active,
                            change_status,
                            mode,
                            edx_enrolled,
                            edx_emails_subscription: subscribed,
                            edx_enrollment_retry_count: 0,
                        },
                    ),
            )
        }

        proptest! {
            #[test]
            fn applied_rows_are_active_in_the_requested_mode(
                existing in existing(),
                mode in mode(),
                change_status in change_status(),
                keep_failed in any::<bool>(),
                edx_ok in any::<bool>(),
            ) {
                let run = r1();
                let edx = if edx_ok {
                    EdxOutcome::Succeeded
                } else {
                    EdxOutcome::Failed(EdxFailure::Connection)
                };
                let request = EnrollRequest::new(mode, keep_failed).with_change_status(change_status);
                let outcome = plan_enroll(U, existing.as_ref(), &run, request, edx);
                if !edx_ok && !keep_failed {
                    prop_assert!(outcome.runs().is_empty());
                    return Ok(());
                }
                let plan = outcome.first().unwrap();
                let row = &plan.enrollment;
                prop_assert!(row.active);
                prop_assert_eq!(row.mode, mode);
                prop_assert_eq!(row.edx_enrolled, edx_ok);
                let reactivated = existing.as_ref().is_some_and(|e| !e.active);
                let expected_status = if reactivated { None } else { change_status };
                prop_assert_eq!(row.change_status, expected_status);
                let downgrade = existing.as_ref().is_some_and(|e| {
                    e.active && e.mode == EnrollmentMode::Verified && mode == EnrollmentMode::Audit
                });
                prop_assert_eq!(plan.is_downgrade(), downgrade);
                prop_assert_eq!(
                    plan.effects.contains(&EnrollEffect::SendEnrollmentEmail),
                    edx_ok && !downgrade
                );
                prop_assert_eq!(
                    plan.effects.contains(&EnrollEffect::QueueEmailSubscribe),
                    reactivated
                );
            }
        }
    }
}
