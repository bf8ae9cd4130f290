//! Inbound webhooks from Open edX (courses spec 4.5). Open edX tells mitx about a change it
//! already made, so no edX call is made: the local rows are brought in line.
//!
//! The enrollment webhook runs under the enrollment's lease like every enrollment change and
//! saves the row with a compare-and-set and its audit row in one unit of work; a repeat
//! finds the row as wanted and changes nothing.

use mitx_core::catalog::CoursewareId;
use mitx_core::enrollment::plan_webhook_enrollment;
use mitx_core::ids::{CourseRunId, UserId};
use mitx_store::StoreError;
use mitx_store::enrollments::{EnrollmentRecord, SavedEnrollment};

use crate::Services;
use crate::leases::{self, Lease, LeaseError};

/// How many times a change that lost a race is planned again.
const MAX_ATTEMPTS: usize = 3;

/// Why the enrollment webhook stopped. The texts are the original's.
#[derive(Debug, thiserror::Error)]
pub enum EnrollmentWebhookError {
    /// No user has this email.
    #[error("User not found")]
    UserNotFound,
    /// No run has this courseware id.
    #[error("Course run with id {0} not found")]
    RunNotFound(String),
    /// Anything else (the database, a busy lease): logged, answered 400.
    #[error("Failed to create enrollment")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for EnrollmentWebhookError {
    fn from(err: StoreError) -> Self {
        EnrollmentWebhookError::Failed(Box::new(err))
    }
}

impl From<LeaseError> for EnrollmentWebhookError {
    fn from(err: LeaseError) -> Self {
        EnrollmentWebhookError::Failed(Box::new(err))
    }
}

/// What the enrollment webhook did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEnrolled {
    /// The row as it is now.
    pub record: EnrollmentRecord,
    /// It was created now (201) rather than found (200).
    pub created: bool,
}

/// `POST /api/openedx_webhook/enrollment/`: get-or-create the learner's audit enrollment
/// with `edx_enrolled=true`, reactivating an inactive row.
pub async fn enrollment_webhook(
    services: &Services,
    email: &str,
    course_id: &str,
) -> Result<WebhookEnrolled, EnrollmentWebhookError> {
    let store = services.store();
    // Texts the database cannot hold (NUL) name nobody and nothing.
    if email.contains('\0') {
        return Err(EnrollmentWebhookError::UserNotFound);
    }
    if CoursewareId::parse(course_id).is_err() {
        return Err(EnrollmentWebhookError::RunNotFound(course_id.to_owned()));
    }
    let user = store
        .user_id_by_email(email)
        .await?
        .ok_or(EnrollmentWebhookError::UserNotFound)?;
    let run = store
        .enrollment_run_by_courseware_id(course_id)
        .await?
        .ok_or_else(|| EnrollmentWebhookError::RunNotFound(course_id.to_owned()))?;
    let lease = leases::acquire(
        services,
        leases::enrollment_lease(user, run.run.id),
        leases::LEASE_WAIT,
    )
    .await?;
    let result = enroll_leased(services, user, run.run.id, &lease).await;
    match result {
        Ok((done, true)) => Ok(done),
        Ok((done, false)) => {
            lease.release(services).await;
            Ok(done)
        }
        Err(err) => {
            lease.release(services).await;
            Err(err)
        }
    }
}

/// The webhook's change under the lease; whether the lease was given back in the unit of
/// work.
async fn enroll_leased(
    services: &Services,
    user: UserId,
    run: CourseRunId,
    lease: &Lease,
) -> Result<(WebhookEnrolled, bool), EnrollmentWebhookError> {
    let store = services.store();
    for _ in 0..MAX_ATTEMPTS {
        let existing = store.run_enrollment(user, run).await?;
        let plan = plan_webhook_enrollment(user, run, existing.as_ref().map(|e| &e.enrollment));
        if let Some(record) = existing.as_ref().filter(|_| !plan.changed) {
            let done = WebhookEnrolled {
                record: record.clone(),
                created: false,
            };
            return Ok((done, false));
        }
        let now = services.now();
        let mut tx = services.db().begin().await?;
        match tx
            .save_enrollment(existing.as_ref(), &plan.enrollment, Some(user), now)
            .await?
        {
            SavedEnrollment::Saved(record) => {
                lease.release_in(&mut tx).await?;
                tx.commit().await?;
                let done = WebhookEnrolled {
                    record,
                    created: plan.created,
                };
                return Ok((done, true));
            }
            SavedEnrollment::Raced => tx.rollback().await?,
        }
    }
    Err(StoreError::stale("enrollment", format!("{user}/{run}")).into())
}

/// Why the certificate webhook stopped. The texts are the original's.
#[derive(Debug, thiserror::Error)]
pub enum CertificateWebhookError {
    /// No user has this email.
    #[error("User with email '{0}' not found.")]
    UserNotFound(String),
    /// No run has this courseware id.
    #[error("Course run with id '{0}' not found.")]
    RunNotFound(String),
    /// The database failed while looking them up.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the certificate webhook did (the answer is 200 with an empty body either way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateWebhookOutcome {
    /// The learner already holds an active certificate for the run: no work.
    AlreadyCertified,
    /// The grade was fetched and processed (certificates created: 0 or 1).
    Processed {
        /// Certificates created.
        created: u64,
    },
    /// Processing failed (edX unreachable, no edX account...): logged, still 200.
    Failed(String),
}

/// `POST /api/openedx_webhook/certificate/`: unless the learner already holds an active
/// certificate for the run, fetch their grade from edX, store it and decide the
/// certificate with the date gate bypassed (a passed grade and an active verified
/// enrollment are still needed; courses spec 4.5).
pub async fn certificate_webhook(
    services: &Services,
    email: &str,
    course_id: &str,
) -> Result<CertificateWebhookOutcome, CertificateWebhookError> {
    let store = services.store();
    let not_found = || CertificateWebhookError::UserNotFound(email.to_owned());
    if email.contains('\0') {
        return Err(not_found());
    }
    if CoursewareId::parse(course_id).is_err() {
        return Err(CertificateWebhookError::RunNotFound(course_id.to_owned()));
    }
    let user = store.user_id_by_email(email).await?.ok_or_else(not_found)?;
    let run = store
        .enrollment_run_by_courseware_id(course_id)
        .await?
        .filter(|r| r.run.is_usable())
        .ok_or_else(|| CertificateWebhookError::RunNotFound(course_id.to_owned()))?;
    let now = services.now();
    let certified = store
        .course_certificates_of_user(user)
        .await?
        .iter()
        .any(|c| c.certificate.subject == run.run.id && c.certificate.is_active(now));
    if certified {
        return Ok(CertificateWebhookOutcome::AlreadyCertified);
    }
    match crate::course_certificates::process_webhook_learner(services, user, run.run.id).await {
        Ok(report) => Ok(CertificateWebhookOutcome::Processed {
            created: report.created,
        }),
        Err(err) => {
            tracing::warn!(user = user.0, run = %course_id, cause = %crate::cause_chain(&err), "certificate webhook: processing failed");
            Ok(CertificateWebhookOutcome::Failed(err.to_string()))
        }
    }
}
