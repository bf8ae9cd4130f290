//! Grades and course-run certificates (courses spec 3.1-3.4): the hourly job, `mitx
//! certificates generate`, the certificate webhook's single learner, and the manual grade
//! override.
//!
//! For each run: fetch every grade from edX (outside any transaction), map edX usernames
//! to learners, then process the learners in batches. A batch is one unit of work: read
//! what is stored about the batch's learners (three set-based reads), let mitx-core decide
//! each grade and certificate, write the changes set-based, and queue the jobs new
//! certificates trigger (verifiable credential, program certificates) in the same
//! transaction. A batch that fails is retried learner by learner, so one bad record never
//! blocks the others (per-user errors are isolated, as in the original).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use mitx_core::catalog::{CourseRun, Program};
use mitx_core::certificates::{
    CertificateEffect, CourseCertificateDecision, EdxGrade, GradeOverrideError, GradeSync,
    GradeTrigger, LearnerRunState, RunCertificateContext, certificate_job_candidates,
    override_grade, process_reported_grade,
};
use mitx_core::ids::{CourseRunId, ProgramId, UserId};
use mitx_store::StoreError;
use mitx_store::enrollments::EnrollmentRun;
use mitx_store::grades::{GradeBatch, GradeWrite};
use mitx_store::jobs::NewJob;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Services;
use crate::edx::client::{EdxClient, EdxError, GradeRecord};
use crate::error::{Fault, store_fault};
use crate::jobs::{self, CredentialJob};

/// The longest letter grade the schema stores (courses spec 1.11).
const MAX_LETTER_GRADE: usize = 10;

/// Why certificate generation could not run.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// No run with that courseware id.
    #[error("no course run with courseware id '{0}'")]
    UnknownRun(String),
    /// No program with that id or readable id.
    #[error("no program '{0}'")]
    UnknownProgram(String),
    /// The learner has no edX account linked, so edX cannot be asked for their grade.
    #[error("user {0} has no edX username; their grades cannot be fetched")]
    NoEdxUsername(i64),
    /// The grade override was refused (courses spec 3.2 messages).
    #[error(transparent)]
    Override(#[from] GradeOverrideError),
    /// edX is not configured or failed.
    #[error("Open edX: {0}")]
    Edx(#[from] EdxError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CertificateError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            CertificateError::UnknownRun(_) | CertificateError::UnknownProgram(_) => {
                Fault::NotFound
            }
            CertificateError::NoEdxUsername(_) | CertificateError::Override(_) => Fault::Caller,
            CertificateError::Edx(err) if !err.failure().is_permanent() => Fault::Busy,
            CertificateError::Edx(_) => Fault::Internal,
            CertificateError::Store(err) => store_fault(err),
        }
    }
}

/// Which runs a generation looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerateRequest {
    /// One run by courseware id (the candidate filter is skipped).
    pub run: Option<String>,
    /// The candidate runs of this program's courses (id or readable id).
    pub program: Option<String>,
    /// Only this learner (their grade is fetched with `?username=`).
    pub user: Option<UserId>,
    /// Issue certificates regardless of the grade's `passed` flag, the enrollment and the
    /// certificate date (the original's forced creation).
    pub force: bool,
}

/// What processing one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// The run.
    pub courseware_id: String,
    /// Grade records edX returned.
    pub fetched: u64,
    /// Records whose edX username matches no learner here (skipped).
    pub unknown_users: u64,
    /// Records with a grade outside 0.0-2.0 or a letter grade over 10 characters (skipped).
    pub invalid: u64,
    /// Grades inserted or updated.
    pub grades_written: u64,
    /// Grades kept because an administrator set them.
    pub admin_grades_kept: u64,
    /// Certificates created.
    pub created: u64,
    /// Certificates deleted (the grade became 0.0).
    pub deleted: u64,
    /// Learners whose processing failed (each isolated from the others).
    pub failed: u64,
    /// Why the run ended early (a grade-fetch error), if it did.
    pub error: Option<String>,
}

/// What a generation did, run by run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GenerateReport {
    /// One entry per run looked at.
    pub runs: Vec<RunReport>,
    /// Program certificates created (`--program`).
    pub program_certificates_created: u64,
    /// Seconds taken.
    pub seconds: f64,
}

impl GenerateReport {
    /// Certificates created over all runs.
    pub fn created(&self) -> u64 {
        self.runs.iter().map(|r| r.created).sum()
    }

    /// Runs that ended early plus learners that failed.
    pub fn failures(&self) -> u64 {
        self.runs
            .iter()
            .map(|r| r.failed + u64::from(r.error.is_some()))
            .sum()
    }

    /// One line for people and the job log.
    pub fn summary(&self) -> String {
        let sum = |f: fn(&RunReport) -> u64| self.runs.iter().map(f).sum::<u64>();
        format!(
            "{} run(s): {} grade(s) fetched, {} written, {} certificate(s) created, {} deleted, \
             {} program certificate(s) created, {} unknown user(s), {} invalid, {} failure(s)",
            self.runs.len(),
            sum(|r| r.fetched),
            sum(|r| r.grades_written),
            self.created(),
            sum(|r| r.deleted),
            self.program_certificates_created,
            sum(|r| r.unknown_users),
            sum(|r| r.invalid),
            self.failures(),
        )
    }
}

/// Progress of a generation, for displays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The runs to process are known.
    Runs(usize),
    /// A run's grades were fetched: this many learners to process.
    RunStarted {
        /// The run.
        courseware_id: String,
        /// Learners to process.
        learners: u64,
    },
    /// This many more learners of the current run were processed.
    Learners(u64),
    /// A run is finished.
    RunFinished,
}

/// A new random (version 4) UUID for a certificate.
pub(crate) fn random_uuid() -> Uuid {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS source does not fail on the platforms mitx runs on; should it, a
        // time-and-counter value still never repeats within this process.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&nanos.to_le_bytes());
        bytes[8..].copy_from_slice(&n.to_le_bytes());
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Payload of [`jobs::PROGRAM_CERTIFICATE`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramCertificateJob {
    /// The learner.
    pub user: i64,
    /// The program.
    pub program: i64,
}

impl ProgramCertificateJob {
    /// One waiting job per learner and program.
    pub fn dedupe_key(&self) -> String {
        format!("program-certificate:{}:{}", self.user, self.program)
    }
}

/// The catalog a generation evaluates against: every run and every program with its tree.
pub(crate) struct CertificateCatalog {
    pub(crate) runs: Vec<EnrollmentRun>,
    pub(crate) programs: Vec<Program>,
}

impl CertificateCatalog {
    pub(crate) async fn load(services: &Services) -> Result<Self, StoreError> {
        let store = services.store();
        Ok(CertificateCatalog {
            runs: store.all_enrollment_runs().await?,
            programs: store.programs_with_requirements().await?,
        })
    }

    pub(crate) fn program(&self, key: &str) -> Option<&Program> {
        self.programs
            .iter()
            .find(|p| p.readable_id.as_str() == key || p.id.0.to_string() == key)
    }
}

/// Generates course-run certificates (the hourly job without arguments; `mitx
/// certificates generate` with them).
pub async fn generate(
    services: &Services,
    request: &GenerateRequest,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<GenerateReport, CertificateError> {
    let started = Instant::now();
    let client = EdxClient::new(services.settings().edx.clone())?;
    let catalog = CertificateCatalog::load(services).await?;
    let now = services.now();
    let program = match &request.program {
        Some(key) => Some(
            catalog
                .program(key)
                .ok_or_else(|| CertificateError::UnknownProgram(key.clone()))?
                .clone(),
        ),
        None => None,
    };
    let runs: Vec<&EnrollmentRun> = match &request.run {
        Some(key) => vec![
            catalog
                .runs
                .iter()
                .find(|r| r.run.courseware_id.as_str() == key)
                .ok_or_else(|| CertificateError::UnknownRun(key.clone()))?,
        ],
        None => {
            let window = services.settings().worker.certificate_window_days;
            let all: Vec<CourseRun> = catalog.runs.iter().map(|r| r.run.clone()).collect();
            let ids: BTreeSet<CourseRunId> = certificate_job_candidates(&all, now, window)
                .into_iter()
                .filter(|run| {
                    program
                        .as_ref()
                        .is_none_or(|p| p.requirements.contains_course(run.course_id))
                })
                .map(|run| run.id)
                .collect();
            catalog
                .runs
                .iter()
                .filter(|r| ids.contains(&r.run.id))
                .collect()
        }
    };
    let username = match request.user {
        Some(user) => Some(
            services
                .store()
                .edx_user(user)
                .await?
                .and_then(|u| u.edx_username)
                .ok_or(CertificateError::NoEdxUsername(user.0))?,
        ),
        None => None,
    };
    let trigger = if request.force {
        GradeTrigger::Forced
    } else {
        GradeTrigger::Scheduled
    };
    progress(Progress::Runs(runs.len()));
    let mut report = GenerateReport::default();
    for run in runs {
        let fetched = match &username {
            Some(name) => client
                .user_grade(run.run.courseware_id.as_str(), name)
                .await
                .map(|g| g.into_iter().collect::<Vec<_>>()),
            None => client.run_grades(run.run.courseware_id.as_str()).await,
        };
        let run_report = match fetched {
            Ok(records) => process_run(services, &catalog, run, records, trigger, progress).await?,
            Err(err) => {
                tracing::warn!(run = %run.run.courseware_id, %err, "grade fetch failed; run skipped");
                RunReport {
                    courseware_id: run.run.courseware_id.to_string(),
                    error: Some(err.to_string()),
                    ..RunReport::default()
                }
            }
        };
        progress(Progress::RunFinished);
        report.runs.push(run_report);
    }
    if let Some(program) = &program {
        let outcome = crate::program_certificates::generate_for_program(
            services,
            &catalog,
            program,
            request.user,
            request.force,
        )
        .await?;
        report.program_certificates_created = outcome.created;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The certificate webhook's work for one learner and run (courses spec 4.5): fetch the
/// grade, upsert it, decide the certificate with the date gate bypassed (a passed grade
/// and an active verified enrollment are still needed).
pub async fn process_webhook_learner(
    services: &Services,
    user: UserId,
    run: CourseRunId,
) -> Result<RunReport, CertificateError> {
    let catalog = CertificateCatalog::load(services).await?;
    let enrollment_run = catalog
        .runs
        .iter()
        .find(|r| r.run.id == run)
        .ok_or_else(|| CertificateError::UnknownRun(run.0.to_string()))?;
    let username = services
        .store()
        .edx_user(user)
        .await?
        .and_then(|u| u.edx_username)
        .ok_or(CertificateError::NoEdxUsername(user.0))?;
    let client = EdxClient::new(services.settings().edx.clone())?;
    let record = client
        .user_grade(enrollment_run.run.courseware_id.as_str(), &username)
        .await?;
    process_run(
        services,
        &catalog,
        enrollment_run,
        record.into_iter().collect(),
        GradeTrigger::Webhook,
        &mut |_| {},
    )
    .await
}

/// One learner's record, validated and mapped to a local learner.
struct Reported {
    user: UserId,
    grade: EdxGrade,
}

async fn process_run(
    services: &Services,
    catalog: &CertificateCatalog,
    run: &EnrollmentRun,
    records: Vec<GradeRecord>,
    trigger: GradeTrigger,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<RunReport, CertificateError> {
    let mut report = RunReport {
        courseware_id: run.run.courseware_id.to_string(),
        fetched: records.len() as u64,
        ..RunReport::default()
    };
    let usernames: Vec<String> = records.iter().map(|r| r.username.clone()).collect();
    let users = services.store().users_by_edx_username(&usernames).await?;
    // One record per learner (the last one edX sent wins).
    let mut by_user: HashMap<UserId, Reported> = HashMap::with_capacity(records.len());
    for record in records {
        let Some(&user) = users.get(&record.username) else {
            report.unknown_users += 1;
            continue;
        };
        if record
            .letter_grade
            .as_ref()
            .is_some_and(|l| l.chars().count() > MAX_LETTER_GRADE)
        {
            report.invalid += 1;
            continue;
        }
        by_user.insert(
            user,
            Reported {
                user,
                grade: EdxGrade {
                    percent: record.percent,
                    passed: record.passed,
                    letter_grade: record.letter_grade,
                },
            },
        );
    }
    let mut learners: Vec<Reported> = by_user.into_values().collect();
    learners.sort_by_key(|r| r.user);
    progress(Progress::RunStarted {
        courseware_id: report.courseware_id.clone(),
        learners: learners.len() as u64,
    });
    let revision = services
        .store()
        .latest_certificate_page_revisions(&[run.run.course_id])
        .await?
        .get(&run.run.course_id)
        .copied();
    let context = RunCertificateContext {
        run: &run.run,
        certificate_page_revision: revision,
        programs: &catalog.programs,
    };
    let batch_size = services.settings().worker.certificate_batch_size;
    let mut no_page_warned = false;
    for batch in learners.chunks(batch_size) {
        let outcome = match process_batch(services, context, batch, trigger).await {
            Ok(outcome) => outcome,
            Err(err) => {
                tracing::warn!(run = %report.courseware_id, %err, "certificate batch failed; retrying its learners one by one");
                let mut merged = BatchOutcome::default();
                for one in batch.chunks(1) {
                    match process_batch(services, context, one, trigger).await {
                        Ok(outcome) => merged.add(outcome),
                        Err(err) => {
                            tracing::warn!(run = %report.courseware_id, user = one[0].user.0, %err, "grade processing failed");
                            merged.failed += 1;
                        }
                    }
                }
                merged
            }
        };
        if outcome.created > 0 && revision.is_none() && !no_page_warned {
            no_page_warned = true;
            tracing::warn!(run = %report.courseware_id, "the course has no certificate page: certificates are issued without a pinned page revision");
        }
        report.invalid += outcome.invalid;
        report.grades_written += outcome.grades_written;
        report.admin_grades_kept += outcome.admin_kept;
        report.created += outcome.created;
        report.deleted += outcome.deleted;
        report.failed += outcome.failed;
        progress(Progress::Learners(batch.len() as u64));
    }
    Ok(report)
}

#[derive(Default)]
struct BatchOutcome {
    invalid: u64,
    grades_written: u64,
    admin_kept: u64,
    created: u64,
    deleted: u64,
    failed: u64,
}

impl BatchOutcome {
    fn add(&mut self, other: BatchOutcome) {
        self.invalid += other.invalid;
        self.grades_written += other.grades_written;
        self.admin_kept += other.admin_kept;
        self.created += other.created;
        self.deleted += other.deleted;
        self.failed += other.failed;
    }
}

/// One unit of work over some learners of one run.
async fn process_batch(
    services: &Services,
    context: RunCertificateContext<'_>,
    batch: &[Reported],
    trigger: GradeTrigger,
) -> Result<BatchOutcome, StoreError> {
    let now = services.now();
    let run = context.run.id;
    let users: Vec<UserId> = batch.iter().map(|r| r.user).collect();
    let mut tx = services.db().begin().await?;
    let stored = tx.run_learners(run, &users).await?;
    let mut outcome = BatchOutcome::default();
    let mut writes = GradeBatch::default();
    let mut effects: HashMap<UserId, Vec<CertificateEffect>> = HashMap::new();
    for reported in batch {
        let learner = LearnerRunState {
            user: reported.user,
            grade: stored.grades.get(&reported.user).map(|g| &g.grade),
            enrollment: stored.enrollments.get(&reported.user),
            certificate: stored
                .certificates
                .get(&reported.user)
                .map(|c| &c.certificate),
        };
        let processing = process_reported_grade(
            context,
            learner,
            &reported.grade,
            trigger,
            now,
            &mut random_uuid,
        );
        match processing.grade {
            GradeSync::Create(after) => writes.grades.push(GradeWrite {
                before: None,
                after,
            }),
            GradeSync::Update { before, after } => writes.grades.push(GradeWrite {
                before: Some(before),
                after,
            }),
            GradeSync::KeepAdminGrade(_) => outcome.admin_kept += 1,
            GradeSync::Unchanged(_) => {}
            GradeSync::SkipInvalid(_) => outcome.invalid += 1,
        }
        match processing.certificate {
            Some(CourseCertificateDecision::Create(new)) => {
                effects.insert(reported.user, new.effects);
                writes.create.push(new.certificate);
            }
            Some(CourseCertificateDecision::Delete { deleted: true }) => {
                if let Some(existing) = stored.certificates.get(&reported.user) {
                    writes.delete.push(existing.id);
                }
            }
            _ => {}
        }
    }
    let applied = tx.apply_grade_batch(&writes, now).await?;
    let queued = certificate_jobs(
        &applied.created,
        &effects,
        context.certificate_page_revision.is_some(),
        now,
    );
    tx.enqueue_jobs(&queued, now).await?;
    tx.commit().await?;
    outcome.grades_written = applied.grades_written;
    outcome.created = applied.created.len() as u64;
    outcome.deleted = applied.deleted;
    Ok(outcome)
}

/// The jobs the certificates just created trigger (courses spec 3.3): a verifiable
/// credential when the course has a certificate page to build it from (3.8), and a
/// program-certificate generation for each live program containing the course (3.7).
fn certificate_jobs(
    created: &[(i64, UserId)],
    effects: &HashMap<UserId, Vec<CertificateEffect>>,
    has_page: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<NewJob> {
    let mut queued = Vec::new();
    for (certificate_id, user) in created {
        for effect in effects.get(user).into_iter().flatten() {
            match effect {
                CertificateEffect::IssueVerifiableCredential if has_page => {
                    let job = CredentialJob {
                        program: false,
                        certificate_id: *certificate_id,
                    };
                    let key = job.dedupe_key();
                    queued.push(jobs::new_job(jobs::CREDENTIAL_ISSUE, &job, Some(key), now));
                }
                CertificateEffect::GenerateProgramCertificate(program) => {
                    queued.push(program_job(*user, *program, now));
                }
                _ => {}
            }
        }
    }
    queued
}

fn program_job(user: UserId, program: ProgramId, now: chrono::DateTime<chrono::Utc>) -> NewJob {
    let job = ProgramCertificateJob {
        user: user.0,
        program: program.0,
    };
    let key = job.dedupe_key();
    jobs::new_job(jobs::PROGRAM_CERTIFICATE, &job, Some(key), now)
}

/// A manual grade override (courses spec 3.2 and `manage_certificates --grade`).
#[derive(Clone, Debug, PartialEq)]
pub struct GradeOverride {
    /// The learner.
    pub user: UserId,
    /// The run's courseware id.
    pub run: String,
    /// 0.0-1.0.
    pub grade: f64,
    /// `A`-`F`.
    pub letter_grade: String,
    /// Pass the learner (unless the grade is 0).
    pub force_pass: bool,
    /// The administrator, when known.
    pub acting_user: Option<UserId>,
}

/// What an override did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverrideReport {
    /// The run.
    pub courseware_id: String,
    /// The grade changed (false: it already held these values).
    pub grade_changed: bool,
    /// A certificate was created.
    pub certificate_created: bool,
    /// The active certificate was deleted (the grade is 0).
    pub certificate_deleted: bool,
}

/// Overrides a learner's grade, then decides the certificate, forced as the original's
/// `manage_certificates --create --grade` does. When the learner has no grade row yet it
/// is fetched from edX first (an override edits an existing row).
pub async fn override_learner_grade(
    services: &Services,
    request: &GradeOverride,
) -> Result<OverrideReport, CertificateError> {
    // The value and the letter are checked before anything is fetched or written.
    if !(0.0..=1.0).contains(&request.grade) {
        return Err(GradeOverrideError::InvalidGrade.into());
    }
    mitx_core::certificates::OverrideLetter::parse(&request.letter_grade)?;
    let catalog = CertificateCatalog::load(services).await?;
    let run = catalog
        .runs
        .iter()
        .find(|r| r.run.courseware_id.as_str() == request.run)
        .ok_or_else(|| CertificateError::UnknownRun(request.run.clone()))?;
    let has_grade = services
        .store()
        .grades_of_user(request.user)
        .await?
        .iter()
        .any(|g| g.grade.run == run.run.id);
    if !has_grade {
        let username = services
            .store()
            .edx_user(request.user)
            .await?
            .and_then(|u| u.edx_username)
            .ok_or(CertificateError::NoEdxUsername(request.user.0))?;
        let client = EdxClient::new(services.settings().edx.clone())?;
        if let Some(record) = client
            .user_grade(run.run.courseware_id.as_str(), &username)
            .await?
        {
            process_run(
                services,
                &catalog,
                run,
                vec![record],
                GradeTrigger::Scheduled,
                &mut |_| {},
            )
            .await?;
        }
    }
    let revision = services
        .store()
        .latest_certificate_page_revisions(&[run.run.course_id])
        .await?
        .get(&run.run.course_id)
        .copied();
    let context = RunCertificateContext {
        run: &run.run,
        certificate_page_revision: revision,
        programs: &catalog.programs,
    };
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let current = tx.grade_for_update(request.user, run.run.id).await?;
    let after = override_grade(
        current.as_ref().map(|g| &g.grade),
        request.grade,
        &request.letter_grade,
        request.force_pass,
    )?;
    let stored = tx.run_learners(run.run.id, &[request.user]).await?;
    let existing_certificate = stored.certificates.get(&request.user);
    let input = mitx_core::certificates::CourseCertificateInput {
        grade: &after,
        course: run.run.course_id,
        enrollment: stored.enrollments.get(&request.user),
        existing: existing_certificate.map(|c| &c.certificate),
        forced: true,
        certificate_page_revision: revision,
        programs: context.programs,
    };
    let decision =
        mitx_core::certificates::decide_course_certificate(&input, now, &mut random_uuid);
    let before = current.map(|g| g.grade);
    let grade_changed = before.as_ref() != Some(&after);
    let mut writes = GradeBatch {
        acting_user: request.acting_user,
        ..GradeBatch::default()
    };
    if grade_changed {
        writes.grades.push(GradeWrite { before, after });
    }
    let mut effects = HashMap::new();
    match decision {
        CourseCertificateDecision::Create(new) => {
            effects.insert(request.user, new.effects);
            writes.create.push(new.certificate);
        }
        CourseCertificateDecision::Delete { deleted: true } => {
            if let Some(existing) = existing_certificate {
                writes.delete.push(existing.id);
            }
        }
        _ => {}
    }
    let applied = tx.apply_grade_batch(&writes, now).await?;
    let queued = certificate_jobs(&applied.created, &effects, revision.is_some(), now);
    tx.enqueue_jobs(&queued, now).await?;
    tx.commit().await?;
    Ok(OverrideReport {
        courseware_id: run.run.courseware_id.to_string(),
        grade_changed,
        certificate_created: !applied.created.is_empty(),
        certificate_deleted: applied.deleted > 0,
    })
}
