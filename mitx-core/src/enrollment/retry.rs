//! The edX repair jobs (courses spec 4.4): which failed enrollments the retry job attempts
//! and how an attempt updates the row, and which users the user-repair job picks up.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::edx::{EdxFailure, FailureKind};
use super::types::RunEnrollment;
use crate::Timestamp;

/// Records younger than this are left to the request that created them.
pub const REPAIR_GRACE_PERIOD_MINUTES: i64 = 5;

/// After this many permanent failures an enrollment is no longer retried automatically
/// (`reset_edx_enrollment_retries` puts it back).
pub const MAX_ENROLLMENT_RETRIES: u32 = 5;

fn grace_period_over(created_on: Timestamp, now: Timestamp) -> bool {
    created_on < now - Duration::minutes(REPAIR_GRACE_PERIOD_MINUTES)
}

/// Whether `retry_failed_edx_enrollments` attempts this enrollment: an active enrollment
/// of an active user, not enrolled in edX, created more than 5 minutes ago, with fewer than
/// 5 permanent failures. The retry uses the enrollment's own mode.
pub fn is_retry_eligible(
    enrollment: &RunEnrollment,
    user_is_active: bool,
    created_on: Timestamp,
    now: Timestamp,
) -> bool {
    enrollment.active
        && user_is_active
        && !enrollment.edx_enrolled
        && grace_period_over(created_on, now)
        && enrollment.edx_enrollment_retry_count < MAX_ENROLLMENT_RETRIES
}

/// How an attempt ended, for the job's report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryResult {
    /// edX accepted the enrollment.
    Enrolled,
    /// A permanent failure: the retry counter went up.
    CountedFailure,
    /// A transient failure: nothing changed.
    TransientFailure,
}

/// Applies the outcome of a retry attempt: success sets `edx_enrolled` and
/// `edx_emails_subscription`; a permanent failure adds one to the retry counter; a
/// transient one changes nothing. Returns the row to save (equal to the input when
/// unchanged).
pub fn apply_retry_outcome(
    enrollment: &RunEnrollment,
    outcome: Result<(), EdxFailure>,
) -> (RunEnrollment, RetryResult) {
    let mut row = enrollment.clone();
    let result = match outcome {
        Ok(()) => {
            row.edx_enrolled = true;
            row.edx_emails_subscription = true;
            RetryResult::Enrolled
        }
        Err(failure) => match failure.kind() {
            FailureKind::Permanent => {
                row.edx_enrollment_retry_count = row.edx_enrollment_retry_count.saturating_add(1);
                RetryResult::CountedFailure
            }
            FailureKind::Transient => RetryResult::TransientFailure,
        },
    };
    (row, result)
}

/// A user's edX linkage, as the user-repair job sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdxLinkState {
    pub user_is_active: bool,
    /// The user has logged in at least once.
    pub has_logged_in: bool,
    pub user_created_on: Timestamp,
    /// An OpenEdxUser row exists.
    pub has_openedx_user: bool,
    /// An OpenEdxApiAuth row exists.
    pub has_api_auth: bool,
    pub has_been_synced: bool,
    /// edX refused the account for good (400/409): left to an operator.
    pub has_sync_error: bool,
}

/// Whether `repair_faulty_openedx_users` picks this user: active, has logged in, created
/// more than 5 minutes ago, missing the edX user or its API auth or never synced, and
/// without a recorded sync error.
pub fn needs_user_repair(state: &EdxLinkState, now: Timestamp) -> bool {
    state.user_is_active
        && state.has_logged_in
        && grace_period_over(state.user_created_on, now)
        && !state.has_sync_error
        && (!state.has_openedx_user || !state.has_api_auth || !state.has_been_synced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EnrollmentMode;
    use crate::enrollment::edx::EdxOutcome;
    use crate::enrollment::enroll::{EnrollRequest, plan_enroll};
    use crate::enrollment::fixtures::{U, enrollment, now, r1};

    fn failed_row() -> RunEnrollment {
        let mut row = enrollment(&r1(), EnrollmentMode::Audit);
        row.edx_enrolled = false;
        row
    }

    fn minutes_ago(m: i64) -> Timestamp {
        now() - Duration::minutes(m)
    }

    #[test]
    fn courses_s46_retry_eligibility_and_counters() {
        let row = failed_row();
        assert!(is_retry_eligible(&row, true, minutes_ago(6), now()));
        assert!(
            !is_retry_eligible(&row, true, minutes_ago(2), now()),
            "2 min old"
        );
        assert!(
            !is_retry_eligible(&row, true, minutes_ago(5), now()),
            "exactly 5 min"
        );
        assert!(
            !is_retry_eligible(&row, false, minutes_ago(60), now()),
            "inactive user"
        );
        let mut exhausted = row.clone();
        exhausted.edx_enrollment_retry_count = 5;
        assert!(!is_retry_eligible(&exhausted, true, minutes_ago(60), now()));
        let mut four = row.clone();
        four.edx_enrollment_retry_count = 4;
        assert!(is_retry_eligible(&four, true, minutes_ago(60), now()));
        let mut inactive = row.clone();
        inactive.active = false;
        assert!(!is_retry_eligible(&inactive, true, minutes_ago(60), now()));
        let mut enrolled = row.clone();
        enrolled.edx_enrolled = true;
        assert!(!is_retry_eligible(&enrolled, true, minutes_ago(60), now()));

        let (after_400, result) = apply_retry_outcome(&row, Err(EdxFailure::Http { status: 400 }));
        assert_eq!(result, RetryResult::CountedFailure);
        assert_eq!(after_400.edx_enrollment_retry_count, 1);
        for transient in [503, 429] {
            let (after, result) =
                apply_retry_outcome(&row, Err(EdxFailure::Http { status: transient }));
            assert_eq!(result, RetryResult::TransientFailure, "{transient}");
            assert_eq!(after, row, "{transient} leaves the row unchanged");
        }
        let (after_missing, _) = apply_retry_outcome(&four, Err(EdxFailure::UserMissing));
        assert_eq!(after_missing.edx_enrollment_retry_count, 5);
        assert!(!is_retry_eligible(
            &after_missing,
            true,
            minutes_ago(60),
            now()
        ));
    }

    #[test]
    fn courses_s13_kept_failure_is_repaired_by_the_first_retry() {
        let run = r1();
        let outcome = plan_enroll(
            U,
            None,
            &run,
            EnrollRequest::audit(true),
            EdxOutcome::Failed(EdxFailure::Http { status: 500 }),
        );
        let mut row = outcome.first().unwrap().enrollment.clone();
        row.edx_emails_subscription = false;
        assert!(!is_retry_eligible(&row, true, minutes_ago(1), now()));
        assert!(is_retry_eligible(&row, true, minutes_ago(6), now()));
        let (repaired, result) = apply_retry_outcome(&row, Ok(()));
        assert_eq!(result, RetryResult::Enrolled);
        assert!(repaired.edx_enrolled);
        assert!(repaired.edx_emails_subscription);
    }

    #[test]
    fn user_repair_eligibility() {
        let healthy = EdxLinkState {
            user_is_active: true,
            has_logged_in: true,
            user_created_on: minutes_ago(60),
            has_openedx_user: true,
            has_api_auth: true,
            has_been_synced: true,
            has_sync_error: false,
        };
        assert!(!needs_user_repair(&healthy, now()));
        let faulty = [
            EdxLinkState {
                has_openedx_user: false,
                ..healthy
            },
            EdxLinkState {
                has_api_auth: false,
                ..healthy
            },
            EdxLinkState {
                has_been_synced: false,
                ..healthy
            },
        ];
        for state in faulty {
            assert!(needs_user_repair(&state, now()), "{state:?}");
        }
        let excluded = [
            EdxLinkState {
                has_sync_error: true,
                ..faulty[0]
            },
            EdxLinkState {
                user_is_active: false,
                ..faulty[0]
            },
            EdxLinkState {
                has_logged_in: false,
                ..faulty[0]
            },
            EdxLinkState {
                user_created_on: minutes_ago(3),
                ..faulty[0]
            },
        ];
        for state in excluded {
            assert!(!needs_user_repair(&state, now()), "{state:?}");
        }
    }
}
