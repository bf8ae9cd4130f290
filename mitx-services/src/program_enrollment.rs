//! Program enrollments (courses spec 2.4, 5.5): enrolling through the v3 API and
//! unenrolling. No edX call is made for programs. Writes are compare-and-set: a race
//! changes a row once.

use mitx_core::catalog::Program;
use mitx_core::enrollment::{
    ProgramEnrollRequestError, ProgramEnrollResponse, ProgramEnrollment, ProgramUnenrollError,
    plan_program_enroll_request, plan_program_unenroll,
};
use mitx_core::ids::{ProgramId, UserId};
use mitx_store::StoreError;
use mitx_store::program_enrollments::{ProgramEnrollmentRecord, SavedProgramEnrollment};

use crate::Services;
use crate::error::{Fault, store_fault};

/// How many times a change that lost a race is planned again.
const MAX_ATTEMPTS: usize = 5;

/// Why a program enrollment workflow stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProgramEnrollmentError {
    /// The request names no live program (`program_id` field error).
    #[error(transparent)]
    Rejected(#[from] ProgramEnrollRequestError),
    /// Unknown program, or a purchased one.
    #[error(transparent)]
    Unenroll(#[from] ProgramUnenrollError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProgramEnrollmentError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            ProgramEnrollmentError::Rejected(_)
            | ProgramEnrollmentError::Unenroll(ProgramUnenrollError::Purchased) => Fault::Caller,
            ProgramEnrollmentError::Unenroll(ProgramUnenrollError::ProgramNotFound(_)) => {
                Fault::NotFound
            }
            ProgramEnrollmentError::Store(err) => store_fault(err),
        }
    }
}

/// What an enroll request did.
#[derive(Clone, Debug, PartialEq)]
pub enum ProgramEnrolled {
    /// The learner was already enrolled (200).
    Already(Program, ProgramEnrollment),
    /// Enrolled now, or reactivated (201).
    Enrolled(Program, ProgramEnrollmentRecord),
}

/// `POST /api/v3/program_enrollments/` (2.4, 5.5).
pub async fn enroll(
    services: &Services,
    user: UserId,
    requested: ProgramId,
) -> Result<ProgramEnrolled, ProgramEnrollmentError> {
    let store = services.store();
    let program = store.enrollment_program(requested).await?;
    for _ in 0..MAX_ATTEMPTS {
        let existing = store.program_enrollment(user, requested).await?;
        let decision = plan_program_enroll_request(
            user,
            requested,
            program.as_ref(),
            existing.as_ref().map(|e| &e.enrollment),
        )?;
        let Some(program) = program.clone() else {
            return Err(ProgramEnrollRequestError::InvalidProgram(requested).into());
        };
        match decision {
            ProgramEnrollResponse::AlreadyEnrolled(row) => {
                return Ok(ProgramEnrolled::Already(program, row));
            }
            ProgramEnrollResponse::Enrolled(change) => {
                let mut tx = services.db().begin().await?;
                let saved = tx
                    .save_program_enrollment(
                        existing.as_ref(),
                        &change.enrollment,
                        Some(user),
                        services.now(),
                    )
                    .await?;
                match saved {
                    SavedProgramEnrollment::Saved(record) => {
                        tx.commit().await?;
                        return Ok(ProgramEnrolled::Enrolled(program, record));
                    }
                    SavedProgramEnrollment::Raced => tx.rollback().await?,
                }
            }
        }
    }
    Err(StoreError::stale("program enrollment", format!("{user}/{requested}")).into())
}

/// Unenrolls the learner from a program (2.4): a missing program is not found, a purchased
/// one refused; no enrollment is a no-op.
pub async fn unenroll(
    services: &Services,
    user: UserId,
    program_id: ProgramId,
) -> Result<(), ProgramEnrollmentError> {
    let store = services.store();
    for _ in 0..MAX_ATTEMPTS {
        let program = store.enrollment_program(program_id).await?;
        let existing = store.program_enrollment(user, program_id).await?;
        let purchased = store.has_fulfilled_paid_program(user, program_id).await?;
        let plan = plan_program_unenroll(
            program_id,
            program.as_ref(),
            existing.as_ref().map(|e| &e.enrollment),
            purchased,
        )?;
        let Some(after) = plan else { return Ok(()) };
        let mut tx = services.db().begin().await?;
        match tx
            .save_program_enrollment(existing.as_ref(), &after, Some(user), services.now())
            .await?
        {
            SavedProgramEnrollment::Saved(_) => {
                tx.commit().await?;
                return Ok(());
            }
            SavedProgramEnrollment::Raced => tx.rollback().await?,
        }
    }
    Err(StoreError::stale("program enrollment", format!("{user}/{program_id}")).into())
}
