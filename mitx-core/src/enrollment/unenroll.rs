//! Unenrolling from a course run (courses spec 2.3): the decision after the edX unenroll
//! call, and which enrollments a learner may address.

use serde::{Deserialize, Serialize};

use super::edx::{EdxFailure, EdxOutcome};
use super::types::{ChangeStatus, RunEnrollment};
use crate::ids::{CourseRunId, UserId};

/// A side effect the caller performs after saving the deactivated row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum UnenrollEffect {
    /// Send the learner the unenrollment email (only after an edX success).
    SendUnenrollmentEmail,
    /// Write an audit row for the change.
    AuditLog,
    /// Delete every PaidCourseRun row for the user and run.
    DeletePaidCourseRuns { user: UserId, run: CourseRunId },
}

/// The row to save and what to do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnenrollPlan {
    pub before: RunEnrollment,
    /// The deactivated row.
    pub enrollment: RunEnrollment,
    /// Whether edX confirmed the unenrollment (the edX flags were cleared).
    pub edx_unenrolled: bool,
    pub effects: Vec<UnenrollEffect>,
}

/// The result of an unenrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UnenrollOutcome {
    /// edX failed and failures are not kept: no local change (the API answers 400).
    Failed { edx_failure: EdxFailure },
    /// The row is deactivated.
    Deactivated(UnenrollPlan),
}

impl UnenrollOutcome {
    /// The deactivated row, if any.
    pub fn enrollment(&self) -> Option<&RunEnrollment> {
        match self {
            UnenrollOutcome::Failed { .. } => None,
            UnenrollOutcome::Deactivated(plan) => Some(&plan.enrollment),
        }
    }
}

/// Whether the unenrollment email is sent after an edX success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnenrollEmail {
    Send,
    /// Bulk commands with `--no-email`.
    Suppress,
}

/// Plans an unenrollment (2.3) given the outcome of the edX unenroll call.
///
/// `change_status` is `unenrolled` from the API and `refunded` for refunds. A refund that
/// fails this way is retried by the caller with `keep_failed = true` (2.5).
pub fn plan_unenroll(
    enrollment: &RunEnrollment,
    change_status: ChangeStatus,
    edx: EdxOutcome,
    keep_failed: bool,
    email: UnenrollEmail,
) -> UnenrollOutcome {
    if let Some(edx_failure) = edx.failure()
        && !keep_failed
    {
        return UnenrollOutcome::Failed { edx_failure };
    }
    let edx_unenrolled = edx.succeeded();
    let mut row = enrollment.clone();
    let mut effects = Vec::new();
    if edx_unenrolled {
        if email == UnenrollEmail::Send {
            effects.push(UnenrollEffect::SendUnenrollmentEmail);
        }
        row.edx_enrolled = false;
        row.edx_emails_subscription = false;
    }
    row.active = false;
    row.change_status = Some(change_status);
    effects.push(UnenrollEffect::AuditLog);
    effects.push(UnenrollEffect::DeletePaidCourseRuns {
        user: row.user,
        run: row.run,
    });
    UnenrollOutcome::Deactivated(UnenrollPlan {
        before: enrollment.clone(),
        enrollment: row,
        edx_unenrolled,
        effects,
    })
}

/// The enrollment addressed by an API call does not exist for this user (404).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("No enrollment matches the given query.")]
pub struct EnrollmentNotFound;

/// Only the owner's **active** enrollments are addressable through the API; anything else
/// (another user's row, an inactive row, no row) is not found.
pub fn addressable_enrollment(
    requester: UserId,
    enrollment: Option<&RunEnrollment>,
) -> Result<&RunEnrollment, EnrollmentNotFound> {
    match enrollment {
        Some(row) if row.user == requester && row.active => Ok(row),
        _ => Err(EnrollmentNotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EnrollmentMode;
    use crate::enrollment::fixtures::{U, enrollment, r1};

    #[test]
    fn courses_s16_unenroll_with_edx_success() {
        let run = r1();
        let row = enrollment(&run, EnrollmentMode::Verified);
        let mine = addressable_enrollment(U, Some(&row)).unwrap();
        let outcome = plan_unenroll(
            mine,
            ChangeStatus::Unenrolled,
            EdxOutcome::Succeeded,
            false,
            UnenrollEmail::Send,
        );
        let UnenrollOutcome::Deactivated(plan) = outcome else {
            panic!("expected a deactivation");
        };
        assert!(!plan.enrollment.active);
        assert_eq!(
            plan.enrollment.change_status,
            Some(ChangeStatus::Unenrolled)
        );
        assert!(!plan.enrollment.edx_enrolled);
        assert!(!plan.enrollment.edx_emails_subscription);
        assert_eq!(
            plan.effects,
            vec![
                UnenrollEffect::SendUnenrollmentEmail,
                UnenrollEffect::AuditLog,
                UnenrollEffect::DeletePaidCourseRuns {
                    user: U,
                    run: run.id
                },
            ]
        );
    }

    #[test]
    fn courses_s17_unenroll_with_edx_failure_and_foreign_rows() {
        let run = r1();
        let row = enrollment(&run, EnrollmentMode::Audit);
        let failure = EdxFailure::Http { status: 500 };
        let outcome = plan_unenroll(
            &row,
            ChangeStatus::Unenrolled,
            EdxOutcome::Failed(failure),
            false,
            UnenrollEmail::Send,
        );
        assert_eq!(
            outcome,
            UnenrollOutcome::Failed {
                edx_failure: failure
            }
        );
        assert_eq!(outcome.enrollment(), None, "the row stays active");

        // Another user's id is not found (404), and so is an inactive row.
        assert_eq!(
            addressable_enrollment(UserId(99), Some(&row)),
            Err(EnrollmentNotFound)
        );
        let mut inactive = row.clone();
        inactive.active = false;
        assert_eq!(
            addressable_enrollment(U, Some(&inactive)),
            Err(EnrollmentNotFound)
        );
        assert_eq!(addressable_enrollment(U, None), Err(EnrollmentNotFound));
    }

    #[test]
    fn kept_failure_deactivates_but_leaves_edx_flags() {
        let row = enrollment(&r1(), EnrollmentMode::Verified);
        let outcome = plan_unenroll(
            &row,
            ChangeStatus::Refunded,
            EdxOutcome::Failed(EdxFailure::Connection),
            true,
            UnenrollEmail::Send,
        );
        let UnenrollOutcome::Deactivated(plan) = outcome else {
            panic!("expected a deactivation");
        };
        assert!(!plan.edx_unenrolled);
        assert!(!plan.enrollment.active);
        assert_eq!(plan.enrollment.change_status, Some(ChangeStatus::Refunded));
        assert!(plan.enrollment.edx_enrolled, "edX flags untouched");
        assert!(plan.enrollment.edx_emails_subscription);
        assert!(
            !plan
                .effects
                .contains(&UnenrollEffect::SendUnenrollmentEmail)
        );
    }

    #[test]
    fn suppressed_email() {
        let row = enrollment(&r1(), EnrollmentMode::Audit);
        let outcome = plan_unenroll(
            &row,
            ChangeStatus::Unenrolled,
            EdxOutcome::Succeeded,
            false,
            UnenrollEmail::Suppress,
        );
        let UnenrollOutcome::Deactivated(plan) = outcome else {
            panic!("expected a deactivation");
        };
        assert!(
            !plan
                .effects
                .contains(&UnenrollEffect::SendUnenrollmentEmail)
        );
    }
}
