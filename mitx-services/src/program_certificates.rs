//! Program certificates (courses spec 3.6-3.7): generation for one learner, triggered by
//! a new course certificate through a job; the daily job for verified program enrollments
//! that have no certificate row at all, in batches of 500; and `mitx certificates
//! generate --program`.
//!
//! The learner's facts are read outside the unit of work; the certificate is inserted
//! with `ON CONFLICT DO NOTHING`, so two generations for the same learner and program
//! never create two certificates, and the jobs a new certificate triggers are queued in
//! the same transaction as the row.

use std::collections::BTreeMap;

use mitx_core::catalog::{CourseRun, Program};
use mitx_core::certificates::{
    CertificateEffect, LearnerFacts, MissingCertificateStats, NotGeneratedReason,
    ProgramCertificateGeneration, generate_program_certificate,
};
use mitx_core::ids::{CourseRunId, ProgramId, UserId};
use mitx_store::StoreError;
use mitx_store::jobs::JobRecord;
use serde::Serialize;

use crate::Services;
use crate::course_certificates::{
    CertificateCatalog, CertificateError, ProgramCertificateJob, random_uuid,
};
use crate::jobs::{self, CredentialJob, JobContext, JobOutcome};

/// Enrollments the daily job reads per batch (the original's batch size).
pub const MISSING_CERTIFICATE_BATCH: i64 = 500;

/// What generating one learner's program certificate did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramOutcome {
    /// A certificate was created.
    Created,
    /// A certificate row (perhaps revoked) already exists: nothing created.
    Existing,
    /// No active verified program enrollment (not forced).
    NoVerifiedEnrollment,
    /// The requirements are not met (not forced).
    RequirementsNotMet,
}

/// Counts of a generation over several learners.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProgramBatchOutcome {
    /// Learners looked at.
    pub processed: u64,
    /// Certificates created.
    pub created: u64,
    /// Learners without a certificate after it (not eligible, or a row existed).
    pub ineligible: u64,
    /// Learners whose generation failed.
    pub failed: u64,
}

/// The catalog as the eligibility rules take it.
struct Catalog {
    runs: BTreeMap<CourseRunId, CourseRun>,
    programs: BTreeMap<ProgramId, Program>,
}

impl Catalog {
    fn new(source: &CertificateCatalog) -> Self {
        Catalog {
            runs: source
                .runs
                .iter()
                .map(|r| (r.run.id, r.run.clone()))
                .collect(),
            programs: source.programs.iter().map(|p| (p.id, p.clone())).collect(),
        }
    }
}

async fn learner_facts(
    services: &Services,
    catalog: &Catalog,
    user: UserId,
    program: ProgramId,
) -> Result<LearnerFacts, StoreError> {
    let store = services.store();
    let mut facts = LearnerFacts::new(user);
    facts.runs = catalog.runs.clone();
    facts.programs = catalog.programs.clone();
    for record in store.user_enrollments(user).await? {
        facts
            .run_enrollments
            .insert(record.enrollment.run, record.enrollment);
    }
    for stored in store.grades_of_user(user).await? {
        facts.grades.insert(stored.grade.run, stored.grade);
    }
    for stored in store.course_certificates_of_user(user).await? {
        facts
            .course_certificates
            .insert(stored.certificate.subject, stored.certificate);
    }
    for stored in store.program_certificates_of_user(user).await? {
        facts
            .program_certificates
            .insert(stored.certificate.subject, stored.certificate);
    }
    if let Some(record) = store.program_enrollment(user, program).await? {
        facts.program_enrollments.insert(program, record.enrollment);
    }
    Ok(facts)
}

async fn generate_with(
    services: &Services,
    catalog: &Catalog,
    user: UserId,
    program: &Program,
    force: bool,
) -> Result<ProgramOutcome, CertificateError> {
    let facts = learner_facts(services, catalog, user, program.id).await?;
    let revision = services
        .store()
        .latest_program_certificate_page_revisions(&[program.id])
        .await?
        .get(&program.id)
        .copied();
    let now = services.now();
    let decision =
        generate_program_certificate(program, &facts, force, revision, now, &mut random_uuid);
    let new = match decision {
        ProgramCertificateGeneration::Created(new) => new,
        ProgramCertificateGeneration::Existing(_) => return Ok(ProgramOutcome::Existing),
        ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::NoVerifiedEnrollment) => {
            return Ok(ProgramOutcome::NoVerifiedEnrollment);
        }
        ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::RequirementsNotMet) => {
            return Ok(ProgramOutcome::RequirementsNotMet);
        }
    };
    let mut tx = services.db().begin().await?;
    let Some(id) = tx.insert_program_certificate(&new.certificate, now).await? else {
        // Another generation created the row since the facts were read.
        return Ok(ProgramOutcome::Existing);
    };
    for effect in &new.effects {
        match effect {
            CertificateEffect::IssueVerifiableCredential if revision.is_some() => {
                let job = CredentialJob {
                    program: true,
                    certificate_id: id,
                };
                let key = job.dedupe_key();
                jobs::enqueue(&mut tx, jobs::CREDENTIAL_ISSUE, &job, Some(key), now).await?;
            }
            CertificateEffect::SyncCrm => {
                // HubSpot sync arrives with the HubSpot integration; noted, not faked.
                tracing::debug!(
                    user = user.0,
                    program = program.id.0,
                    "program certificate created; HubSpot sync is not part of this version"
                );
            }
            _ => {}
        }
    }
    tx.commit().await?;
    tracing::info!(user = user.0, program = %program.readable_id, "program certificate created");
    Ok(ProgramOutcome::Created)
}

/// Generates `user`'s certificate for `program` (3.7): `force` skips the enrollment and
/// eligibility checks (never an existing row's).
pub async fn generate_for(
    services: &Services,
    user: UserId,
    program: &str,
    force: bool,
) -> Result<ProgramOutcome, CertificateError> {
    let source = CertificateCatalog::load(services).await?;
    let target = source
        .program(program)
        .ok_or_else(|| CertificateError::UnknownProgram(program.to_owned()))?
        .clone();
    let catalog = Catalog::new(&source);
    generate_with(services, &catalog, user, &target, force).await
}

/// Generates certificates for `program`: for `user`, or (without one) for every learner
/// with an active verified enrollment in it, never forced then (as the original command).
pub(crate) async fn generate_for_program(
    services: &Services,
    source: &CertificateCatalog,
    program: &Program,
    user: Option<UserId>,
    force: bool,
) -> Result<ProgramBatchOutcome, CertificateError> {
    let catalog = Catalog::new(source);
    let (users, force) = match user {
        Some(user) => (vec![user], force),
        None => (
            services
                .store()
                .verified_program_learners(program.id)
                .await?,
            false,
        ),
    };
    let mut outcome = ProgramBatchOutcome::default();
    for user in users {
        outcome.processed += 1;
        match generate_with(services, &catalog, user, program, force).await {
            Ok(ProgramOutcome::Created) => outcome.created += 1,
            Ok(_) => outcome.ineligible += 1,
            Err(err) => {
                tracing::warn!(user = user.0, program = %program.readable_id, %err, "program certificate generation failed");
                outcome.failed += 1;
            }
        }
    }
    Ok(outcome)
}

/// The job a new course certificate queues for each live program containing its course.
pub async fn run_job(services: &Services, _ctx: &JobContext, job: &JobRecord) -> JobOutcome {
    let payload: ProgramCertificateJob = match jobs::payload(job) {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let result = async {
        let source = CertificateCatalog::load(services).await?;
        let Some(program) = source
            .programs
            .iter()
            .find(|p| p.id.0 == payload.program)
            .cloned()
        else {
            return Ok(None);
        };
        let catalog = Catalog::new(&source);
        generate_with(services, &catalog, UserId(payload.user), &program, false)
            .await
            .map(Some)
    }
    .await;
    match result {
        Ok(None) => JobOutcome::Done(Some("skipped: the program no longer exists".into())),
        Ok(Some(outcome)) => JobOutcome::Done(Some(format!("{outcome:?}").to_lowercase())),
        Err(err) if err.fault() == crate::error::Fault::Busy => JobOutcome::Retry(err.to_string()),
        Err(err) => JobOutcome::Fail(err.to_string()),
    }
}

/// The daily missing-certificate job (3.7 b): active verified enrollments in live
/// programs with no certificate row at all, in id-ordered batches of 500, each learner
/// isolated from the others.
pub async fn generate_missing(
    services: &Services,
) -> Result<MissingCertificateStats, CertificateError> {
    let source = CertificateCatalog::load(services).await?;
    let catalog = Catalog::new(&source);
    let mut stats = MissingCertificateStats::default();
    let mut after = 0;
    loop {
        let batch = services
            .store()
            .missing_program_certificates(after, MISSING_CERTIFICATE_BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.enrollment_id;
        for candidate in &batch {
            let Some(program) = catalog.programs.get(&candidate.program) else {
                continue;
            };
            match generate_with(services, &catalog, candidate.user, program, false).await {
                Ok(ProgramOutcome::Created) => {
                    stats.processed += 1;
                    stats.created += 1;
                }
                Ok(_) => {
                    stats.processed += 1;
                    stats.ineligible += 1;
                }
                Err(err) => {
                    tracing::warn!(user = candidate.user.0, program = candidate.program.0, %err, "missing program certificate failed");
                    stats.record_failure();
                }
            }
        }
        if (batch.len() as i64) < MISSING_CERTIFICATE_BATCH {
            break;
        }
    }
    Ok(stats)
}
