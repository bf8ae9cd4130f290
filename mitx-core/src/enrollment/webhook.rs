//! The enrollment webhook from Open edX (courses spec 4.5,
//! `POST /api/openedx_webhook/enrollment/`): edX already holds the enrollment, so the local
//! row is only brought in line, with no edX call.

use serde::{Deserialize, Serialize};

use super::types::RunEnrollment;
use crate::catalog::EnrollmentMode;
use crate::ids::{CourseRunId, UserId};

/// The row the webhook leaves, and whether it creates it or changes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEnrollmentPlan {
    /// The row after the webhook.
    pub enrollment: RunEnrollment,
    /// No row existed: it is created (201).
    pub created: bool,
    /// The row differs from the existing one (an update and an audit row).
    pub changed: bool,
}

/// Get-or-create an audit enrollment with `edx_enrolled=true`; an inactive row is
/// reactivated (change status cleared); an existing row keeps its mode and is marked
/// enrolled in edX.
pub fn plan_webhook_enrollment(
    user: UserId,
    run: CourseRunId,
    existing: Option<&RunEnrollment>,
) -> WebhookEnrollmentPlan {
    match existing {
        None => {
            let mut row = RunEnrollment::new(user, run, EnrollmentMode::Audit);
            row.edx_enrolled = true;
            WebhookEnrollmentPlan {
                enrollment: row,
                created: true,
                changed: true,
            }
        }
        Some(row) => {
            let mut after = row.clone();
            if !after.active {
                after.active = true;
                after.change_status = None;
            }
            after.edx_enrolled = true;
            WebhookEnrollmentPlan {
                changed: &after != row,
                enrollment: after,
                created: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::ChangeStatus;

    #[test]
    fn creates_reactivates_and_repeats() {
        let (user, run) = (UserId(1), CourseRunId(2));
        let created = plan_webhook_enrollment(user, run, None);
        assert!(created.created && created.changed);
        assert!(created.enrollment.active && created.enrollment.edx_enrolled);
        assert_eq!(created.enrollment.mode, EnrollmentMode::Audit);

        let repeat = plan_webhook_enrollment(user, run, Some(&created.enrollment));
        assert!(!repeat.created && !repeat.changed);

        let mut inactive = RunEnrollment::new(user, run, EnrollmentMode::Verified);
        inactive.active = false;
        inactive.change_status = Some(ChangeStatus::Unenrolled);
        let plan = plan_webhook_enrollment(user, run, Some(&inactive));
        assert!(!plan.created && plan.changed);
        assert!(plan.enrollment.active && plan.enrollment.edx_enrolled);
        assert_eq!(plan.enrollment.change_status, None);
        assert_eq!(plan.enrollment.mode, EnrollmentMode::Verified);
    }
}
