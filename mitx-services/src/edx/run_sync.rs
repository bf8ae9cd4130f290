//! The course-run data sync (courses spec 4.6; `mitx edx sync-run`, daily job
//! `sync-courseruns-data`): titles, dates and pacing of runs pulled from the edX course list.
//!
//! The candidate runs are read first; their keys go to edX in batches of at most 100 per
//! course-list call (pages followed); `mitx_core` decides what each item changes; each
//! changed run is saved in a unit of work of its own (compare-and-set on what was read), so
//! one bad run never holds back the others and no transaction is open during an edX call.
//! Each save bumps the catalog revision (by trigger), so the HTTP catalog cache refreshes.

use std::collections::{HashMap, HashSet};

use mitx_core::catalog::CourseRun;
use mitx_core::enrollment::{
    RunSyncOutcome, SyncTally, apply_edx_course_item, is_sync_candidate, plan_sync_batch,
};
use mitx_core::ids::CourseRunId;
use mitx_store::StoreError;
use serde::Serialize;

use super::client::COURSE_LIST_BATCH;
use crate::Services;
use crate::error::{Fault, store_fault};

/// Why a sync could not run at all (failures of single runs are counted in the report).
#[derive(Debug, thiserror::Error)]
pub enum RunSyncError {
    /// `--run` names no run.
    #[error("Course run '{0}' not found.")]
    UnknownRun(String),
    /// The database failed while reading the runs.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RunSyncError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            RunSyncError::UnknownRun(_) => Fault::NotFound,
            RunSyncError::Store(err) => store_fault(err),
        }
    }
}

/// One failure of a sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncFailure {
    /// The run's courseware id; none when a whole course-list call failed.
    pub run: Option<String>,
    /// Why.
    pub reason: String,
}

/// What a sync did: the spec's (updated, failures) count and the details behind it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunSyncReport {
    /// Runs saved with new data.
    pub updated: u32,
    /// Failures: a course-list call that failed counts once, each run that could not be
    /// applied or saved once, and when no candidate has a valid key each candidate once.
    pub failures: u32,
    /// The courseware ids of the runs saved.
    pub updated_runs: Vec<String>,
    /// The failures, with their reasons.
    pub failed: Vec<SyncFailure>,
    /// Runs whose key is not an edX course key (not requested).
    pub skipped: Vec<String>,
    /// Runs looked at.
    pub candidates: usize,
}

impl RunSyncReport {
    /// `Sync complete: X updated, Y failures` (the original command's line).
    pub fn summary(&self) -> String {
        SyncTally {
            updated: self.updated,
            failures: self.failures,
        }
        .summary()
    }
}

/// Syncs every candidate run: live (B2B included), usable, unexpired, run tag not
/// starting with `fake-`.
pub async fn sync_all_runs(services: &Services) -> Result<RunSyncReport, StoreError> {
    let now = services.now();
    let runs: Vec<CourseRun> = services
        .store()
        .live_unexpired_runs(now)
        .await?
        .into_iter()
        .map(|r| r.run)
        .filter(|run| is_sync_candidate(run, now))
        .collect();
    Ok(sync_runs(services, &runs).await)
}

/// Syncs one run named by courseware id or id, whether or not it is a candidate of the
/// periodic sync (an operator naming a run wants it synced).
pub async fn sync_one_run(services: &Services, key: &str) -> Result<RunSyncReport, RunSyncError> {
    let store = services.store();
    let key = key.trim();
    let mut run = store.enrollment_run_by_courseware_id(key).await?;
    if run.is_none()
        && let Ok(id) = key.parse::<i64>()
    {
        run = store.enrollment_run(CourseRunId(id)).await?;
    }
    let run = run.ok_or_else(|| RunSyncError::UnknownRun(key.to_owned()))?;
    Ok(sync_runs(services, &[run.run]).await)
}

/// Syncs these runs (courses spec 4.6).
pub async fn sync_runs(services: &Services, runs: &[CourseRun]) -> RunSyncReport {
    let refs: Vec<&CourseRun> = runs.iter().collect();
    let batch = plan_sync_batch(&refs);
    let mut tally = SyncTally::start(&batch);
    let by_id: HashMap<CourseRunId, &CourseRun> = runs.iter().map(|r| (r.id, r)).collect();
    let mut report = RunSyncReport {
        candidates: runs.len(),
        ..RunSyncReport::default()
    };
    for id in &batch.skipped {
        if let Some(run) = by_id.get(id) {
            let key = run.courseware_id.as_str().to_owned();
            tracing::warn!(run = %key, "run sync: not an edX course key, skipped");
            if batch.requested.is_empty() {
                report.failed.push(SyncFailure {
                    run: Some(key.clone()),
                    reason: "not an Open edX course key".into(),
                });
            }
            report.skipped.push(key);
        }
    }
    let requested: Vec<&CourseRun> = batch
        .requested
        .iter()
        .filter_map(|id| by_id.get(id).copied())
        .collect();
    for chunk in requested.chunks(COURSE_LIST_BATCH) {
        sync_chunk(services, chunk, &mut tally, &mut report).await;
    }
    report.updated = tally.updated;
    report.failures = tally.failures;
    tracing::info!(
        updated = report.updated,
        failures = report.failures,
        "run sync finished"
    );
    report
}

/// One course-list call and the saves it leads to.
async fn sync_chunk(
    services: &Services,
    chunk: &[&CourseRun],
    tally: &mut SyncTally,
    report: &mut RunSyncReport,
) {
    let keys: Vec<&str> = chunk.iter().map(|r| r.courseware_id.as_str()).collect();
    let items = match services.edx().course_list(&keys).await {
        Ok(items) => items,
        Err(err) => {
            tracing::warn!(%err, runs = chunk.len(), "run sync: course list failed");
            tally.record_api_error();
            report.failed.push(SyncFailure {
                run: None,
                reason: format!("course list of {} run(s) failed: {err}", chunk.len()),
            });
            return;
        }
    };
    let by_key: HashMap<&str, &CourseRun> = chunk
        .iter()
        .map(|r| (r.courseware_id.as_str(), *r))
        .collect();
    let mut seen = HashSet::new();
    for item in items {
        let item = match item {
            Ok(item) => item,
            Err(bad) => {
                // An item edX sent but mitx cannot read: one failure, like an API error.
                tally.record_api_error();
                report.failed.push(SyncFailure {
                    run: bad.id,
                    reason: bad.reason,
                });
                continue;
            }
        };
        let Some(run) = by_key.get(item.id.as_str()).copied() else {
            continue;
        };
        if !seen.insert(run.id) {
            continue;
        }
        let outcome = apply_edx_course_item(run, &item);
        tally.record(&outcome);
        let key = run.courseware_id.as_str().to_owned();
        match outcome {
            RunSyncOutcome::Unchanged => {}
            RunSyncOutcome::Failed(err) => {
                tracing::warn!(run = %key, %err, "run sync: edX data refused");
                report.failed.push(SyncFailure {
                    run: Some(key),
                    reason: err.to_string(),
                });
            }
            RunSyncOutcome::Updated(after) => match save(services, run, &after).await {
                Ok(true) => report.updated_runs.push(key),
                Ok(false) => {
                    tally.record_save_failure();
                    report.failed.push(SyncFailure {
                        run: Some(key),
                        reason: "changed by another writer during the sync; the next sync retries"
                            .into(),
                    });
                }
                Err(err) => {
                    tracing::warn!(run = %key, %err, "run sync: save failed");
                    tally.record_save_failure();
                    report.failed.push(SyncFailure {
                        run: Some(key),
                        reason: format!("cannot save: {err}"),
                    });
                }
            },
        }
    }
}

/// Saves one run in its own unit of work; `false` when it changed since it was read.
async fn save(
    services: &Services,
    before: &CourseRun,
    after: &CourseRun,
) -> Result<bool, StoreError> {
    let now = services.now();
    let mut tx = services.db().begin().await?;
    if tx.save_course_run(before, after, now).await? {
        tx.commit().await?;
        Ok(true)
    } else {
        tx.rollback().await?;
        Ok(false)
    }
}
