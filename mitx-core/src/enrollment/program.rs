//! Program enrollment (courses spec 2.4): get-or-create with reactivation and mode change,
//! the program-enrollment API requests, and the unenroll refusal for purchased programs.
//! Programs make no edX calls.

use serde::{Deserialize, Serialize};

use super::types::{ChangeStatus, ProgramEnrollment};
use crate::catalog::{EnrollmentMode, Program};
use crate::ids::{ProgramId, UserId};

/// The decision for one program enrollment row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramEnrollmentChange {
    /// The row as it was, `None` when it is created.
    pub before: Option<ProgramEnrollment>,
    /// The row to save (with an audit entry when [`Self::changed`]).
    pub enrollment: ProgramEnrollment,
    pub created: bool,
    pub reactivated: bool,
    /// The mode changed (this can also downgrade verified → audit).
    pub mode_changed: bool,
}

impl ProgramEnrollmentChange {
    /// Whether the row differs from what is stored (a new row always does).
    pub fn changed(&self) -> bool {
        self.before.as_ref() != Some(&self.enrollment)
    }
}

/// Get-or-create the user's enrollment in `program` in `mode` (2.4). An existing row is
/// reactivated (active, change status cleared) when it was moved away or inactive, and its
/// mode is set to `mode`.
pub fn plan_program_enrollment(
    user: UserId,
    program: ProgramId,
    existing: Option<&ProgramEnrollment>,
    mode: EnrollmentMode,
) -> ProgramEnrollmentChange {
    let Some(current) = existing else {
        return ProgramEnrollmentChange {
            before: None,
            enrollment: ProgramEnrollment {
                user,
                program,
                active: true,
                change_status: None,
                mode,
            },
            created: true,
            reactivated: false,
            mode_changed: false,
        };
    };
    let mut row = current.clone();
    // The spec reactivates on a non-null change status; an inactive row without one cannot
    // be produced by any operation, but is reactivated too rather than left dangling.
    let reactivated = row.change_status.is_some() || !row.active;
    if reactivated {
        row.active = true;
        row.change_status = None;
    }
    let mode_changed = row.mode != mode;
    row.mode = mode;
    ProgramEnrollmentChange {
        before: Some(current.clone()),
        enrollment: row,
        created: false,
        reactivated,
        mode_changed,
    }
}

/// Why a program unenrollment was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramUnenrollError {
    /// The program does not exist (404).
    #[error("Program not found: {0}")]
    ProgramNotFound(ProgramId),
    /// A fulfilled PaidProgram exists (400, body `{"message": ...}`).
    #[error("Cannot unenroll from a purchased program, contact support.")]
    Purchased,
}

/// Whether the learner may unenroll from a program (`can_unenroll`).
pub fn can_unenroll_from_program(has_fulfilled_paid_program: bool) -> bool {
    !has_fulfilled_paid_program
}

/// Plans a program unenrollment (2.4): refused for a purchased program; otherwise the row
/// becomes inactive with change status `unenrolled`. `Ok(None)` means nothing to change (no
/// row, or already unenrolled): the API still answers success.
pub fn plan_program_unenroll(
    program_id: ProgramId,
    program: Option<&Program>,
    existing: Option<&ProgramEnrollment>,
    has_fulfilled_paid_program: bool,
) -> Result<Option<ProgramEnrollment>, ProgramUnenrollError> {
    if program.is_none() {
        return Err(ProgramUnenrollError::ProgramNotFound(program_id));
    }
    if !can_unenroll_from_program(has_fulfilled_paid_program) {
        return Err(ProgramUnenrollError::Purchased);
    }
    let Some(current) = existing else {
        return Ok(None);
    };
    if !current.active && current.change_status == Some(ChangeStatus::Unenrolled) {
        return Ok(None);
    }
    let mut row = current.clone();
    row.active = false;
    row.change_status = Some(ChangeStatus::Unenrolled);
    Ok(Some(row))
}

/// Why `POST program_enrollments/` was refused. The HTTP layer renders it as
/// `{"errors":{"program_id":["<message>"]}}` with status 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramEnrollRequestError {
    /// The program does not exist or is not live.
    #[error("Invalid program_id: {0}")]
    InvalidProgram(ProgramId),
}

impl ProgramEnrollRequestError {
    /// The request field the error belongs to.
    pub fn field(&self) -> &'static str {
        "program_id"
    }
}

/// The answer to `POST program_enrollments/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProgramEnrollResponse {
    /// An active enrollment already exists: return it unchanged (200).
    AlreadyEnrolled(ProgramEnrollment),
    /// A row was created or reactivated in audit mode (201).
    Enrolled(ProgramEnrollmentChange),
}

/// Decides `POST program_enrollments/ {program_id}` (v3): the program must exist and be
/// live; an existing active row is returned as is; otherwise 2.4 in audit mode.
pub fn plan_program_enroll_request(
    user: UserId,
    program_id: ProgramId,
    program: Option<&Program>,
    existing: Option<&ProgramEnrollment>,
) -> Result<ProgramEnrollResponse, ProgramEnrollRequestError> {
    match program {
        Some(p) if p.live => {}
        _ => return Err(ProgramEnrollRequestError::InvalidProgram(program_id)),
    }
    if let Some(row) = existing.filter(|r| r.active) {
        return Ok(ProgramEnrollResponse::AlreadyEnrolled(row.clone()));
    }
    Ok(ProgramEnrollResponse::Enrolled(plan_program_enrollment(
        user,
        program_id,
        existing,
        EnrollmentMode::Audit,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::RequirementNode;
    use crate::enrollment::fixtures::{U, program, program_enrollment};

    #[test]
    fn courses_s18_purchased_program_cannot_be_unenrolled() {
        let p = program(1, RequirementNode::root());
        let row = program_enrollment(p.id, EnrollmentMode::Verified);
        let err = plan_program_unenroll(p.id, Some(&p), Some(&row), true).unwrap_err();
        assert_eq!(err, ProgramUnenrollError::Purchased);
        assert_eq!(
            err.to_string(),
            "Cannot unenroll from a purchased program, contact support."
        );
        assert!(!can_unenroll_from_program(true));
    }

    #[test]
    fn courses_s19_unenroll_without_enrollment_and_unknown_program() {
        let p = program(1, RequirementNode::root());
        assert_eq!(plan_program_unenroll(p.id, Some(&p), None, false), Ok(None));
        assert_eq!(
            plan_program_unenroll(ProgramId(999999), None, None, false),
            Err(ProgramUnenrollError::ProgramNotFound(ProgramId(999999)))
        );
        // With an enrollment the row is deactivated; repeating is a no-op.
        let row = program_enrollment(p.id, EnrollmentMode::Audit);
        let unenrolled = plan_program_unenroll(p.id, Some(&p), Some(&row), false)
            .unwrap()
            .unwrap();
        assert!(!unenrolled.active);
        assert_eq!(unenrolled.change_status, Some(ChangeStatus::Unenrolled));
        assert_eq!(
            plan_program_unenroll(p.id, Some(&p), Some(&unenrolled), false),
            Ok(None)
        );
    }

    #[test]
    fn courses_s20_program_enroll_request() {
        let p = program(1, RequirementNode::root());
        let first = plan_program_enroll_request(U, p.id, Some(&p), None).unwrap();
        let ProgramEnrollResponse::Enrolled(change) = first else {
            panic!("expected a new enrollment");
        };
        assert!(change.created);
        assert_eq!(change.enrollment.mode, EnrollmentMode::Audit);
        assert!(change.enrollment.active);

        // Repeat: the existing active row comes back unchanged (200, still one row).
        let repeat =
            plan_program_enroll_request(U, p.id, Some(&p), Some(&change.enrollment)).unwrap();
        assert_eq!(
            repeat,
            ProgramEnrollResponse::AlreadyEnrolled(change.enrollment.clone())
        );

        let mut hidden = p.clone();
        hidden.live = false;
        let err = plan_program_enroll_request(U, p.id, Some(&hidden), None).unwrap_err();
        assert_eq!(err.to_string(), "Invalid program_id: 1");
        assert_eq!(err.field(), "program_id");
        assert!(plan_program_enroll_request(U, ProgramId(5), None, None).is_err());
    }

    #[test]
    fn unenrolled_row_is_reactivated_and_mode_set() {
        let mut row = program_enrollment(ProgramId(1), EnrollmentMode::Verified);
        row.active = false;
        row.change_status = Some(ChangeStatus::Unenrolled);
        let change = plan_program_enrollment(U, ProgramId(1), Some(&row), EnrollmentMode::Audit);
        assert!(change.reactivated && change.mode_changed && !change.created);
        assert!(change.enrollment.active);
        assert_eq!(change.enrollment.change_status, None);
        assert_eq!(change.enrollment.mode, EnrollmentMode::Audit);

        let same = plan_program_enrollment(
            U,
            ProgramId(1),
            Some(&change.enrollment),
            EnrollmentMode::Audit,
        );
        assert!(!same.changed());
    }
}
