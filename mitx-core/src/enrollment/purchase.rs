//! The enrollment side of purchases and refunds (courses spec 2.5): the hooks ecommerce
//! calls when an order line is fulfilled or refunded.

use serde::{Deserialize, Serialize};

use super::enroll::EnrollRequest;
use super::program::{ProgramEnrollmentChange, plan_program_enrollment};
use super::types::{ProgramEnrollment, RunEnrollment};
use crate::Timestamp;
use crate::catalog::{CourseRun, EnrollmentMode, Program};
use crate::ids::{CourseRunId, OrderId, ProgramId, UserId};

/// Purchases and refunds always keep the local row when edX fails: the learner paid, and
/// the retry job repairs edX later.
pub const PURCHASE_KEEP_FAILED: bool = true;

/// The core-routine request for a fulfilled run order line: verified, keeping failures.
/// After it the caller records a PaidCourseRun (user, run, order).
pub fn run_purchase_request() -> EnrollRequest {
    EnrollRequest::verified(PURCHASE_KEEP_FAILED)
}

/// The core-routine request for a refund that downgrades instead of unenrolling: audit,
/// keeping failures.
pub fn refund_downgrade_request() -> EnrollRequest {
    EnrollRequest::audit(PURCHASE_KEEP_FAILED)
}

/// A PaidCourseRun / PaidProgram row to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaidRecord {
    CourseRun {
        user: UserId,
        run: CourseRunId,
        order: OrderId,
    },
    Program {
        user: UserId,
        program: ProgramId,
        order: OrderId,
    },
}

/// What a fulfilled program order line does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramPurchasePlan {
    /// The program enrollment, now verified.
    pub program_enrollment: ProgramEnrollmentChange,
    /// The PaidProgram row to record.
    pub paid: PaidRecord,
    /// Runs whose active audit enrollment is upgraded, through the core routine with
    /// [`run_purchase_request`] (in this order).
    pub upgrade_runs: Vec<CourseRunId>,
}

/// Which of the user's run enrollments a program purchase upgrades: every **active audit**
/// enrollment in a run of a course contained in the program, where the run is live, offers
/// verified and its upgrade deadline is unset or in the future. Verified enrollments are
/// left alone.
pub fn program_purchase_upgrades(
    program: &Program,
    enrollments: &[(&RunEnrollment, &CourseRun)],
    now: Timestamp,
) -> Vec<CourseRunId> {
    enrollments
        .iter()
        .filter(|(row, run)| {
            row.active
                && row.mode == EnrollmentMode::Audit
                && row.run == run.id
                && run.live
                && run.offers_verified()
                && run.upgrade_deadline.is_none_or(|d| d > now)
                && program.requirements.contains_course(run.course_id)
        })
        .map(|(_, run)| run.id)
        .collect()
}

/// Plans a fulfilled program order line (2.5): verified program enrollment, PaidProgram,
/// then the upgrades of [`program_purchase_upgrades`].
pub fn plan_program_purchase(
    user: UserId,
    program: &Program,
    order: OrderId,
    existing: Option<&ProgramEnrollment>,
    enrollments: &[(&RunEnrollment, &CourseRun)],
    now: Timestamp,
) -> ProgramPurchasePlan {
    ProgramPurchasePlan {
        program_enrollment: plan_program_enrollment(
            user,
            program.id,
            existing,
            EnrollmentMode::Verified,
        ),
        paid: PaidRecord::Program {
            user,
            program: program.id,
            order,
        },
        upgrade_runs: program_purchase_upgrades(program, enrollments, now),
    }
}

/// Plans a fulfilled run order line: the core-routine request and the PaidCourseRun row.
pub fn plan_run_purchase(
    user: UserId,
    run: CourseRunId,
    order: OrderId,
) -> (EnrollRequest, PaidRecord) {
    (
        run_purchase_request(),
        PaidRecord::CourseRun { user, run, order },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::RequirementNode;
    use crate::enrollment::edx::EdxOutcome;
    use crate::enrollment::enroll::{EnrollChange, plan_enroll};
    use crate::enrollment::fixtures::{U, at, enrollment, now, program, r1, run_of};
    use crate::ids::CourseId;

    #[test]
    fn courses_s15_fulfilled_run_order_upgrades_and_records_payment() {
        let run = r1();
        let audit = enrollment(&run, EnrollmentMode::Audit);
        let (request, paid) = plan_run_purchase(U, run.id, OrderId(5));
        assert_eq!(request.mode, EnrollmentMode::Verified);
        assert!(request.keep_failed);
        let outcome = plan_enroll(U, Some(&audit), &run, request, EdxOutcome::Succeeded);
        let plan = outcome.first().unwrap();
        assert_eq!(plan.change, EnrollChange::ModeChanged { downgrade: false });
        assert_eq!(plan.enrollment.mode, EnrollmentMode::Verified);
        assert_eq!(
            paid,
            PaidRecord::CourseRun {
                user: U,
                run: run.id,
                order: OrderId(5)
            }
        );
    }

    #[test]
    fn program_purchase_upgrades_only_eligible_audit_rows() {
        // Program contains courses 1..=5; course 9 is outside it.
        let p = program(
            1,
            RequirementNode::root().with_child(RequirementNode::required_courses(&[
                CourseId(1),
                CourseId(2),
                CourseId(3),
                CourseId(4),
                CourseId(5),
            ])),
        );
        let ok = run_of(10, 1);
        let verified = run_of(11, 2);
        let mut deadline_passed = run_of(12, 3);
        deadline_passed.upgrade_deadline = Some(at(2026, 2, 1));
        let mut audit_only = run_of(13, 4);
        audit_only.enrollment_modes = vec![EnrollmentMode::Audit];
        let mut not_live = run_of(14, 5);
        not_live.live = false;
        let outside = run_of(15, 9);
        let mut no_deadline = run_of(16, 1);
        no_deadline.upgrade_deadline = None;
        let mut inactive_run = run_of(17, 2);
        inactive_run.upgrade_deadline = None;

        let rows = [
            enrollment(&ok, EnrollmentMode::Audit),
            enrollment(&verified, EnrollmentMode::Verified),
            enrollment(&deadline_passed, EnrollmentMode::Audit),
            enrollment(&audit_only, EnrollmentMode::Audit),
            enrollment(&not_live, EnrollmentMode::Audit),
            enrollment(&outside, EnrollmentMode::Audit),
            enrollment(&no_deadline, EnrollmentMode::Audit),
            {
                let mut r = enrollment(&inactive_run, EnrollmentMode::Audit);
                r.active = false;
                r
            },
        ];
        let runs = [
            &ok,
            &verified,
            &deadline_passed,
            &audit_only,
            &not_live,
            &outside,
            &no_deadline,
            &inactive_run,
        ];
        let pairs: Vec<(&RunEnrollment, &CourseRun)> = rows.iter().zip(runs).collect();
        let plan = plan_program_purchase(U, &p, OrderId(3), None, &pairs, now());
        assert_eq!(plan.upgrade_runs, vec![ok.id, no_deadline.id]);
        assert_eq!(
            plan.program_enrollment.enrollment.mode,
            EnrollmentMode::Verified
        );
        assert!(plan.program_enrollment.created);
        assert_eq!(
            plan.paid,
            PaidRecord::Program {
                user: U,
                program: p.id,
                order: OrderId(3)
            }
        );
    }

    #[test]
    fn refund_downgrade_keeps_failures() {
        let request = refund_downgrade_request();
        assert_eq!(request.mode, EnrollmentMode::Audit);
        assert!(request.keep_failed);
        assert_eq!(request.change_status, None);
    }
}
