//! Reconciling a learner's enrollments with edX (courses spec 2.11; `mitx edx
//! sync-enrollments --user U`). The spec lists the learner's enrollments with the learner's
//! own token; mitx lists them with the service token (`GET /api/enrollment/v1/enrollments
//! ?username=U`), which needs no learner token (docs/compatibility.md).

use mitx_core::enrollment::{DashboardApi, diff_edx_enrollments, sync_error_is_fatal};
use mitx_core::ids::{CourseRunId, UserId};
use mitx_store::StoreError;
use mitx_store::enrollments::SavedEnrollment;
use serde::Serialize;

use super::client::EdxError;
use crate::Services;
use crate::error::{Fault, store_fault};

/// Why a sync could not run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The learner has no synced edX account.
    #[error("user {0} has no Open edX account yet")]
    NoAccount(UserId),
    /// edX failed.
    #[error(transparent)]
    Edx(#[from] EdxError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            SyncError::NoAccount(_) => Fault::Caller,
            SyncError::Edx(_) => Fault::Busy,
            SyncError::Store(err) => store_fault(err),
        }
    }
}

/// What a sync changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Rows whose active state now follows edX.
    pub updated: Vec<CourseRunId>,
    /// Rows created for edX-only enrollments.
    pub created: Vec<CourseRunId>,
    /// Active local rows edX does not have (only reported; `mitx edx retry-enrollments`
    /// pushes them).
    pub local_only: Vec<CourseRunId>,
    /// edX course ids with no local run.
    pub unknown_course_ids: Vec<String>,
    /// Rows changed by someone else while syncing (left as they are).
    pub skipped: Vec<CourseRunId>,
}

/// Brings the learner's rows in line with edX.
pub async fn sync_enrollments(services: &Services, user: UserId) -> Result<SyncReport, SyncError> {
    let store = services.store();
    let username = store
        .edx_user(user)
        .await?
        .filter(|a| a.has_been_synced)
        .and_then(|a| a.edx_username)
        .ok_or(SyncError::NoAccount(user))?;
    let remote = services.edx().find_enrollments(&username, None).await?;
    let edx: Vec<_> = remote.iter().map(|e| e.as_edx_enrollment()).collect();
    let local = store.user_enrollments(user).await?;
    let mut runs = Vec::new();
    for item in &edx {
        if let Some(run) = store
            .enrollment_run_by_courseware_id(&item.course_id)
            .await?
        {
            runs.push(run.run);
        }
    }
    let run_refs: Vec<_> = runs.iter().collect();
    let rows: Vec<_> = local.iter().map(|r| r.enrollment.clone()).collect();
    let diff = diff_edx_enrollments(user, &rows, &edx, &run_refs);
    let mut report = SyncReport {
        local_only: diff.local_only.clone(),
        unknown_course_ids: diff.unknown_course_ids.clone(),
        ..SyncReport::default()
    };
    let now = services.now();
    let mut tx = services.db().begin().await?;
    for after in &diff.updates {
        let before = local.iter().find(|r| r.enrollment.run == after.run);
        match tx.save_enrollment(before, after, None, now).await? {
            SavedEnrollment::Saved(_) => report.updated.push(after.run),
            SavedEnrollment::Raced => report.skipped.push(after.run),
        }
    }
    for created in &diff.creates {
        match tx.save_enrollment(None, created, None, now).await? {
            SavedEnrollment::Saved(_) => report.created.push(created.run),
            SavedEnrollment::Raced => report.skipped.push(created.run),
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// The reconciliation before an enrollment list (2.11), when `SYNC_ON_DASHBOARD_LOAD` is
/// on: v1 swallows sync errors (logged); v2 returns them unless `IGNORE_EDX_FAILURES` is
/// on. A learner without an edX account has nothing to reconcile.
pub async fn sync_on_dashboard_load(
    services: &Services,
    user: UserId,
    api: DashboardApi,
) -> Result<(), SyncError> {
    if !services.settings().server.sync_on_dashboard_load {
        return Ok(());
    }
    match sync_enrollments(services, user).await {
        Ok(report) => {
            if !report.local_only.is_empty() {
                tracing::info!(%user, local_only = ?report.local_only, "active enrollments edX does not have");
            }
            Ok(())
        }
        Err(SyncError::NoAccount(_)) => Ok(()),
        Err(err) if sync_error_is_fatal(api, services.settings().edx.ignore_failures) => Err(err),
        Err(err) => {
            tracing::warn!(%user, ?api, err = %crate::cause_chain(&err), "dashboard sync with edX failed; listing anyway");
            Ok(())
        }
    }
}
