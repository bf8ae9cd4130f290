//! Program-linked course enrollment, `POST /api/v2/verified_program_enrollments/{courseware_id}/`
//! (courses spec 2.7).
//!
//! mitx-core's [`plan_verified_program_enrollment`] decides from the requested programs, the
//! learner's program enrollments and the run. The program enrollments it adjusts are saved
//! first (compare-and-set, one unit of work); then the course-run enrollment is made by the
//! enrollment routine: in audit mode directly, in verified mode together with a fulfilled
//! zero-value order for the run's product (order, line and PaidCourseRun in the unit of work
//! that saves the enrollment row, after the edX call).

use mitx_core::catalog::{CoursewareId, Program, ReadableId};
use mitx_core::enrollment::PURCHASE_KEEP_FAILED;
use mitx_core::enrollment::{
    EnrollRequest, EnrollRequestError, ProgramCandidate, ProgramEnrollment, VerifiedProgramAction,
    VerifiedProgramEnrollError, VerifiedProgramRequest, plan_verified_program_enrollment,
};
use mitx_core::ids::{ProgramId, UserId};
use mitx_store::StoreError;
use mitx_store::enrollments::{EnrollmentRecord, EnrollmentRun};
use mitx_store::program_enrollments::{ProgramEnrollmentRecord, SavedProgramEnrollment};

use crate::Services;
use crate::enrollment::{Alongside, Enrollment, EnrollmentError, enroll_alongside};
use crate::error::{Fault, store_fault};

/// Why the request stopped.
#[derive(Debug, thiserror::Error)]
pub enum VerifiedProgramError {
    /// No run has this courseware id.
    #[error("Not found.")]
    RunNotFound,
    /// The rules refused it (400 or 404, see [`VerifiedProgramEnrollError::is_not_found`]).
    #[error(transparent)]
    Refused(#[from] VerifiedProgramEnrollError),
    /// The enrollment routine failed.
    #[error(transparent)]
    Enrollment(#[from] EnrollmentError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifiedProgramError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            VerifiedProgramError::RunNotFound => Fault::NotFound,
            VerifiedProgramError::Refused(err) if err.is_not_found() => Fault::NotFound,
            VerifiedProgramError::Refused(_) => Fault::Caller,
            VerifiedProgramError::Enrollment(err) => err.fault(),
            VerifiedProgramError::Store(err) => store_fault(err),
        }
    }
}

/// What the request did.
#[derive(Clone, Debug, PartialEq)]
pub enum VerifiedProgramEnrolled {
    /// An active enrollment in the effective mode exists (204).
    Already,
    /// Enrolled now (201).
    Enrolled(Box<(EnrollmentRecord, EnrollmentRun)>),
}

/// `POST /api/v2/verified_program_enrollments/{courseware_id}/` with the body's program
/// readable ids (`None` when the body is not a list of texts).
pub async fn enroll(
    services: &Services,
    user: UserId,
    courseware_id: &str,
    requested: Option<&[String]>,
) -> Result<VerifiedProgramEnrolled, VerifiedProgramError> {
    let store = services.store();
    // A key that is not a courseware id names no run (and never reaches the database).
    if CoursewareId::parse(courseware_id).is_err() {
        return Err(VerifiedProgramError::RunNotFound);
    }
    let run = store
        .enrollment_run_by_courseware_id(courseware_id)
        .await?
        .ok_or(VerifiedProgramError::RunNotFound)?;
    let ids: Vec<ReadableId> = match requested {
        Some(list) if (1..=2).contains(&list.len()) => list
            .iter()
            .map(|t| ReadableId::parse(t.trim()))
            .collect::<Result<_, _>>()
            .map_err(|_| VerifiedProgramEnrollError::ProgramNotFound)?,
        _ => return Err(VerifiedProgramEnrollError::BadProgramList.into()),
    };
    let mut programs: Vec<(Program, Option<ProgramEnrollmentRecord>)> = Vec::new();
    for id in &ids {
        let Some(pk) = store.catalog_program_id_with_b2b(id.as_str()).await? else {
            continue;
        };
        let program_id = ProgramId(pk);
        if programs.iter().any(|(p, _)| p.id == program_id) {
            continue;
        }
        if let Some(program) = store.program_with_requirements(program_id).await? {
            let enrollment = store.program_enrollment(user, program_id).await?;
            programs.push((program, enrollment));
        }
    }
    let existing = store.run_enrollment(user, run.run.id).await?;
    let found: Vec<ProgramCandidate<'_>> = programs
        .iter()
        .map(|(program, row)| ProgramCandidate {
            program,
            enrollment: row.as_ref().map(|r| &r.enrollment),
        })
        .collect();
    let has_product = run.active_product.is_some();
    let plan = plan_verified_program_enrollment(
        user,
        &VerifiedProgramRequest {
            requested: &ids,
            found: &found,
            run: &run.run,
            existing: existing.as_ref().map(|e| &e.enrollment),
            run_has_product: has_product,
            run_has_active_product: has_product,
            now: services.now(),
        },
    )?;
    save_program_enrollments(services, user, &programs, &plan.program_enrollments).await?;
    let prefix = crate::checkout::reference_prefix(services);
    let (request, alongside) = match plan.action {
        VerifiedProgramAction::AlreadyEnrolled => return Ok(VerifiedProgramEnrolled::Already),
        VerifiedProgramAction::EnrollAudit { request } => (request, Alongside::default()),
        VerifiedProgramAction::EnrollVerifiedByZeroValueOrder => {
            let Some(product) = run.active_product else {
                return Err(VerifiedProgramEnrollError::NoActiveRunProduct(run.run.id).into());
            };
            let alongside = Alongside {
                zero_value_order: Some((product.id, &prefix)),
                ..Alongside::default()
            };
            (EnrollRequest::verified(PURCHASE_KEEP_FAILED), alongside)
        }
    };
    match enroll_alongside(
        services,
        user,
        &run,
        request,
        Some(user),
        &no_check,
        &alongside,
    )
    .await?
    {
        Enrollment::Enrolled(record) => {
            Ok(VerifiedProgramEnrolled::Enrolled(Box::new((record, run))))
        }
        Enrollment::EdxFailed(failure) => Err(EnrollmentError::EdxEnroll(failure).into()),
    }
}

/// Saves the program enrollment changes of a two-program request in one unit of work.
async fn save_program_enrollments(
    services: &Services,
    user: UserId,
    programs: &[(Program, Option<ProgramEnrollmentRecord>)],
    changes: &[mitx_core::enrollment::ProgramEnrollmentChange],
) -> Result<(), VerifiedProgramError> {
    let changed: Vec<(&Option<ProgramEnrollmentRecord>, &ProgramEnrollment)> = changes
        .iter()
        .filter_map(|change| {
            let before = programs
                .iter()
                .find(|(p, _)| p.id == change.enrollment.program)
                .map(|(_, row)| row)?;
            let same = before.as_ref().map(|r| &r.enrollment) == Some(&change.enrollment);
            (!same).then_some((before, &change.enrollment))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let now = services.now();
    let mut tx = services.db().begin().await?;
    for (before, after) in changed {
        match tx
            .save_program_enrollment(before.as_ref(), after, Some(user), now)
            .await?
        {
            SavedProgramEnrollment::Saved(_) => {}
            SavedProgramEnrollment::Raced => {
                tx.rollback().await?;
                return Err(StoreError::stale(
                    "program enrollment",
                    format!("{user}/{}", after.program),
                )
                .into());
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

fn no_check(
    _: Option<&EnrollmentRecord>,
    _: chrono::DateTime<chrono::Utc>,
) -> Result<(), EnrollRequestError> {
    Ok(())
}
