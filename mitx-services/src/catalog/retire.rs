//! Retiring a course run (courses spec 6, `retire_courserun`; `mitx catalog retire-run`).
//!
//! A dry run (the default) reads, plans and reports; it writes nothing and calls nothing.
//! A committed retirement, in this order, each step only when the previous one succeeded:
//! 1. refuses when learners are enrolled and neither `--unenroll` nor
//!    `--allow-active-enrollments` was given;
//! 2. writes the JSON snapshot of the run (`--snapshot-dir`): if it cannot be written,
//!    nothing changes;
//! 3. unenrolls the active learners through the enrollment workflow (`--unenroll`; each
//!    unenrollment is its own unit of work with its own edX call, as for a learner);
//! 4. pushes the new schedule to Studio (`PUT api/v1/course_runs/{K}/`, JWT), outside any
//!    transaction, unless `--skip-edx`;
//! 5. in one unit of work: the run's windows in the past, `live` off, the contract detached,
//!    the products deactivated, and an audit row with the reason.
//!
//! edX goes before the local change, so a failed edX call leaves the run as it was and the
//! command can simply be run again; once the run is retired a second run has nothing to do.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use mitx_core::catalog::{
    FieldChange, RetireOptions, RetireRefusal, check_active_enrollments, plan_retirement,
};
use mitx_core::enrollment::{ChangeStatus, UnenrollEmail};
use mitx_core::ids::{CourseRunId, EnrollmentId, ProductId};
use mitx_store::StoreError;
use mitx_store::audit_log::{Audit, AuditChange, audit_json};
use mitx_store::course_runs::ActiveRunEnrollment;
use mitx_store::enrollments::EnrollmentRun;
use mitx_store::products::{Product, ProductTarget};
use serde::Serialize;

use crate::Services;
use crate::edx::client::{EdxError, StudioRunUpdate};
use crate::enrollment::{self, EnrollmentError};
use crate::error::{Fault, store_fault};

/// What the operator asked for.
#[derive(Clone, Debug, Default)]
pub struct RetireRequest {
    /// The run: courseware id or id.
    pub run: String,
    /// Change things (`--commit`); otherwise a dry run.
    pub commit: bool,
    /// Unenroll the active learners (`--unenroll`).
    pub unenroll: bool,
    /// Retire although learners are enrolled (`--allow-active-enrollments`).
    pub allow_active_enrollments: bool,
    /// Send the unenrollment emails (`--email`).
    pub email: bool,
    /// `--keep-products`, `--keep-contract`.
    pub options: RetireOptions,
    /// Do not update Studio (`--skip-edx`).
    pub skip_edx: bool,
    /// Write the snapshot of the run here before changing anything (`--snapshot-dir`).
    pub snapshot_dir: Option<PathBuf>,
    /// Who and why (`--actor`, `--reason`).
    pub audit: Audit,
}

/// What happens in Studio.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdxStep {
    /// The schedule does not change: no call.
    NotNeeded,
    /// `--skip-edx`.
    Skipped,
    /// The run has no start date, and Studio takes a schedule only with start and end.
    NoSchedule,
    /// A dry run: the update that would be sent.
    WouldUpdate,
    /// Studio has the new schedule.
    Updated,
}

impl EdxStep {
    /// In a few words.
    pub fn describe(&self) -> &'static str {
        match self {
            EdxStep::NotNeeded => "no change in edX needed",
            EdxStep::Skipped => "edX not updated (--skip-edx)",
            EdxStep::NoSchedule => {
                "edX not updated: the run has no start date (Studio needs start and end)"
            }
            EdxStep::WouldUpdate => "would update the run's schedule in Studio",
            EdxStep::Updated => "updated the run's schedule in Studio",
        }
    }
}

/// What a retirement did, or would do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetireReport {
    /// The run's courseware id.
    pub run: String,
    /// The run's id.
    pub run_id: CourseRunId,
    /// Whether anything was changed (`--commit`).
    pub committed: bool,
    /// The run is already retired: nothing to do (nothing was changed).
    pub nothing_to_do: bool,
    /// The run fields that change.
    pub changes: Vec<FieldChange>,
    /// Products deactivated (or to deactivate).
    pub products_deactivated: Vec<ProductId>,
    /// The B2B contract detached (or to detach).
    pub contract_detached: Option<i64>,
    /// Active enrollments found.
    pub active_enrollments: Vec<EnrollmentId>,
    /// Enrollments unenrolled (or to unenroll).
    pub unenrolled: Vec<EnrollmentId>,
    /// Studio.
    pub edx: EdxStep,
    /// The Studio update sent (or that would be sent).
    pub edx_update: Option<StudioRunUpdate>,
    /// The snapshot written.
    pub snapshot: Option<PathBuf>,
}

/// Why a retirement stopped.
#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    /// No such run.
    #[error("Course run '{0}' not found.")]
    NotFound(String),
    /// Refused before anything changed.
    #[error(transparent)]
    Refused(#[from] RetireRefusal),
    /// The snapshot could not be written: nothing was changed.
    #[error("cannot write the snapshot {}: {source}; nothing was changed", .path.display())]
    Snapshot {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An unenrollment failed: the enrollments before it are unenrolled, the run is not
    /// retired yet (run the command again).
    #[error(
        "cannot unenroll enrollment {enrollment}: {source}; {done} enrollment(s) were unenrolled, the run was not retired (run the command again)"
    )]
    Unenroll {
        /// The enrollment.
        enrollment: EnrollmentId,
        /// How many were unenrolled before it.
        done: usize,
        /// Why.
        source: EnrollmentError,
    },
    /// Studio refused the update: the run was not changed locally.
    #[error(
        "cannot update the run in Open edX Studio: {0}; the run was not changed (fix edX, or pass --skip-edx)"
    )]
    Edx(#[source] EdxError),
    /// The database failed (or the run changed meanwhile): nothing of the last step was
    /// written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RetireError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            RetireError::NotFound(_) => Fault::NotFound,
            RetireError::Refused(_) | RetireError::Snapshot { .. } => Fault::Caller,
            RetireError::Unenroll { source, .. } => source.fault(),
            RetireError::Edx(_) => Fault::Busy,
            RetireError::Store(err) => store_fault(err),
        }
    }
}

/// The snapshot written before a retirement changes anything.
#[derive(Serialize)]
struct Snapshot<'a> {
    taken_at: DateTime<Utc>,
    actor: &'a str,
    reason: Option<&'a str>,
    course: &'a str,
    run: &'a mitx_core::catalog::CourseRun,
    product: Option<&'a Product>,
    active_enrollments: &'a [ActiveRunEnrollment],
}

async fn find_run(services: &Services, key: &str) -> Result<EnrollmentRun, RetireError> {
    let store = services.store();
    let key = key.trim();
    if let Some(run) = store.enrollment_run_by_courseware_id(key).await? {
        return Ok(run);
    }
    if let Ok(id) = key.parse::<i64>()
        && let Some(run) = store.enrollment_run(CourseRunId(id)).await?
    {
        return Ok(run);
    }
    Err(RetireError::NotFound(key.to_owned()))
}

/// Retires a run, or (without `commit`) reports what retiring it would change.
pub async fn retire_run(
    services: &Services,
    request: &RetireRequest,
) -> Result<RetireReport, RetireError> {
    let now = services.now();
    let store = services.store();
    let found = find_run(services, &request.run).await?;
    let run = &found.run;
    let target = ProductTarget::CourseRun {
        id: run.id,
        course: run.course_id,
        courseware_id: run.courseware_id.as_str().to_owned(),
    };
    let product = store.product_for_target(&target).await?;
    let active = store.active_run_enrollments(run.id).await?;
    let has_active_product = product.as_ref().is_some_and(|p| p.is_active);
    let plan = plan_retirement(run, now, has_active_product, request.options);
    let to_unenroll: Vec<EnrollmentId> = if request.unenroll {
        active.iter().map(|a| a.id).collect()
    } else {
        Vec::new()
    };
    let schedule_changes = plan.changes.iter().any(|c| {
        matches!(
            c.field,
            "start_date" | "end_date" | "enrollment_start" | "enrollment_end"
        )
    });
    let update = StudioRunUpdate::of_run(&plan.run);
    let edx = if !schedule_changes {
        EdxStep::NotNeeded
    } else if request.skip_edx {
        EdxStep::Skipped
    } else if update.schedule.is_none() {
        EdxStep::NoSchedule
    } else {
        EdxStep::WouldUpdate
    };
    let mut report = RetireReport {
        run: run.courseware_id.as_str().to_owned(),
        run_id: run.id,
        committed: false,
        nothing_to_do: plan.is_noop() && to_unenroll.is_empty(),
        changes: plan.changes.clone(),
        products_deactivated: product
            .as_ref()
            .filter(|_| plan.deactivate_products)
            .map(|p| vec![p.id])
            .unwrap_or_default(),
        contract_detached: plan.detach_contract.map(|c| c.0),
        active_enrollments: active.iter().map(|a| a.id).collect(),
        unenrolled: to_unenroll.clone(),
        edx_update: (edx == EdxStep::WouldUpdate).then(|| update.clone()),
        edx,
        snapshot: None,
    };
    if report.nothing_to_do {
        return Ok(report);
    }
    check_active_enrollments(
        u64::try_from(active.len()).unwrap_or(u64::MAX),
        request.allow_active_enrollments,
        request.unenroll,
    )?;
    if !request.commit {
        return Ok(report);
    }

    if let Some(dir) = &request.snapshot_dir {
        let snapshot = Snapshot {
            taken_at: now,
            actor: &request.audit.actor,
            reason: request.audit.reason.as_deref(),
            course: &found.course_readable_id,
            run,
            product: product.as_ref(),
            active_enrollments: &active,
        };
        report.snapshot = Some(write_snapshot(dir, &report.run, now, &snapshot)?);
    }

    let email = if request.email {
        UnenrollEmail::Send
    } else {
        UnenrollEmail::Suppress
    };
    for (done, enrollment) in active
        .iter()
        .filter(|a| to_unenroll.contains(&a.id))
        .enumerate()
    {
        enrollment::unenroll(
            services,
            enrollment.user,
            enrollment.id,
            ChangeStatus::Unenrolled,
            email,
        )
        .await
        .map_err(|source| RetireError::Unenroll {
            enrollment: enrollment.id,
            done,
            source,
        })?;
    }

    if report.edx == EdxStep::WouldUpdate {
        services
            .edx()
            .update_studio_run(run.courseware_id.as_str(), &update)
            .await
            .map_err(RetireError::Edx)?;
        report.edx = EdxStep::Updated;
    }

    let now = services.now();
    let mut tx = services.db().begin().await?;
    if !plan.changes.is_empty() && !tx.save_course_run(run, &plan.run, now).await? {
        tx.rollback().await?;
        return Err(StoreError::stale("course run", run.courseware_id.as_str()).into());
    }
    if let Some(id) = report.products_deactivated.first() {
        tx.deactivate_product(*id, &request.audit, now).await?;
    }
    tx.record_audit(
        &AuditChange {
            audit: &request.audit,
            action: "course_run.retire",
            entity: "course_run",
            entity_id: run.id.to_string(),
            before: audit_json(run),
            after: audit_json(&plan.run),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    report.committed = true;
    Ok(report)
}

/// Writes the snapshot next to nothing else: a temporary file renamed into place, so a
/// snapshot is either whole or absent.
fn write_snapshot(
    dir: &Path,
    key: &str,
    now: DateTime<Utc>,
    snapshot: &Snapshot<'_>,
) -> Result<PathBuf, RetireError> {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!(
        "retire-{safe}-{}.json",
        now.format("%Y%m%dT%H%M%SZ")
    ));
    let fail = |source: std::io::Error| RetireError::Snapshot {
        path: path.clone(),
        source,
    };
    let text = serde_json::to_vec_pretty(snapshot).map_err(|e| fail(std::io::Error::other(e)))?;
    std::fs::create_dir_all(dir).map_err(fail)?;
    let partial = path.with_extension("json.partial");
    let written = (|| {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&text)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(fail(err));
    }
    Ok(path)
}
