//! The enrollment records the rules reason about.

use serde::{Deserialize, Serialize};

use crate::catalog::EnrollmentMode;
use crate::ids::{CourseRunId, ProgramId, UserId};

/// Why an enrollment row changed away from plain "enrolled".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    /// The seat moved to another run (or was set aside in place) by a deferral.
    Deferred,
    /// Exists in the enum only; no operation sets it.
    Transferred,
    /// Deactivated by a refund.
    Refunded,
    /// Deactivated by the learner or an operator.
    Unenrolled,
}

impl ChangeStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Deferred => "deferred",
            ChangeStatus::Transferred => "transferred",
            ChangeStatus::Refunded => "refunded",
            ChangeStatus::Unenrolled => "unenrolled",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "deferred" => Some(ChangeStatus::Deferred),
            "transferred" => Some(ChangeStatus::Transferred),
            "refunded" => Some(ChangeStatus::Refunded),
            "unenrolled" => Some(ChangeStatus::Unenrolled),
            _ => None,
        }
    }
}

/// A learner's enrollment in one course run (unique per user and run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnrollment {
    pub user: UserId,
    pub run: CourseRunId,
    pub active: bool,
    pub change_status: Option<ChangeStatus>,
    pub mode: EnrollmentMode,
    pub edx_enrolled: bool,
    pub edx_emails_subscription: bool,
    pub edx_enrollment_retry_count: u32,
}

impl RunEnrollment {
    /// A fresh active enrollment in `mode`.
    pub fn new(user: UserId, run: CourseRunId, mode: EnrollmentMode) -> Self {
        RunEnrollment {
            user,
            run,
            active: true,
            change_status: None,
            mode,
            edx_enrolled: false,
            edx_emails_subscription: true,
            edx_enrollment_retry_count: 0,
        }
    }

    /// Active, verified and not moved away (counts for certificates).
    pub fn is_active_verified(&self) -> bool {
        self.active && self.mode == EnrollmentMode::Verified
    }
}

/// A learner's enrollment in a program (unique per user and program).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramEnrollment {
    pub user: UserId,
    pub program: ProgramId,
    pub active: bool,
    pub change_status: Option<ChangeStatus>,
    pub mode: EnrollmentMode,
}
