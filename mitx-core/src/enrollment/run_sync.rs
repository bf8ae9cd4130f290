//! The periodic sync of course-run data from the edX course list (courses spec 4.6,
//! `sync_courserun`): which runs are synced, how one edX item updates a run, and the
//! (updated, failures) count.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::catalog::{CourseRun, RunValidationError};
use crate::ids::CourseRunId;

/// One item of the edX course list, parsed at the edge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdxCourseItem {
    /// The course key (`id`).
    pub id: String,
    /// The title (`name`); a missing title cannot be saved.
    pub name: Option<String>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub enrollment_start: Option<Timestamp>,
    pub enrollment_end: Option<Timestamp>,
    pub certificate_available_date: Option<Timestamp>,
    /// `self` or `instructor`.
    pub pacing: Option<String>,
}

/// Whether a run takes part in the sync: live (B2B included), usable, not expired
/// (`expiration_date` null or after now), and its run tag does not start with `fake-`.
pub fn is_sync_candidate(run: &CourseRun, now: Timestamp) -> bool {
    run.live
        && run.is_usable()
        && run.expiration_date.is_none_or(|e| e > now)
        && !run.run_tag.starts_with("fake-")
}

/// The runs to request from edX, split by key validity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncBatch {
    /// Runs with a valid edX key, to request (≤100 keys per call).
    pub requested: Vec<CourseRunId>,
    /// Runs whose key does not match the edX pattern: skipped (logged).
    pub skipped: Vec<CourseRunId>,
}

/// Splits the candidate runs by key validity.
pub fn plan_sync_batch(runs: &[&CourseRun]) -> SyncBatch {
    let (valid, invalid): (Vec<&&CourseRun>, Vec<&&CourseRun>) =
        runs.iter().partition(|r| r.courseware_id.is_edx_key());
    SyncBatch {
        requested: valid.iter().map(|r| r.id).collect(),
        skipped: invalid.iter().map(|r| r.id).collect(),
    }
}

/// Why a synced run cannot be saved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunSyncError {
    /// edX sent no title.
    #[error("edX sent no title for {0}")]
    MissingTitle(String),
    /// The synced dates break a run date rule.
    #[error("{0}")]
    Invalid(#[from] RunValidationError),
}

/// What one edX item does to a run.
#[derive(Clone, Debug, PartialEq)]
pub enum RunSyncOutcome {
    /// Nothing differs: no save, counted neither as success nor failure.
    Unchanged,
    /// The run to save.
    Updated(Box<CourseRun>),
    /// The run cannot be saved: one failure.
    Failed(RunSyncError),
}

/// Applies an edX item to a run: title ← name, dates, enrollment window, self-paced ←
/// (pacing == "self"), certificate available date ← the edX one or else the end date.
/// When start or end changes the expiration date is cleared first (it is recomputed
/// later and would otherwise fail validation).
pub fn apply_edx_course_item(run: &CourseRun, item: &EdxCourseItem) -> RunSyncOutcome {
    let Some(title) = item.name.clone() else {
        return RunSyncOutcome::Failed(RunSyncError::MissingTitle(item.id.clone()));
    };
    let mut updated = run.clone();
    if run.start_date != item.start || run.end_date != item.end {
        updated.expiration_date = None;
    }
    updated.title = title;
    updated.start_date = item.start;
    updated.end_date = item.end;
    updated.enrollment_start = item.enrollment_start;
    updated.enrollment_end = item.enrollment_end;
    updated.is_self_paced = item.pacing.as_deref() == Some("self");
    updated.certificate_available_date = item.certificate_available_date.or(item.end);
    if updated == *run {
        return RunSyncOutcome::Unchanged;
    }
    match updated.validate() {
        Ok(()) => RunSyncOutcome::Updated(Box::new(updated)),
        Err(err) => RunSyncOutcome::Failed(err.into()),
    }
}

/// The (updated, failures) count of a sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTally {
    pub updated: u32,
    pub failures: u32,
}

impl SyncTally {
    /// The starting count: when no candidate has a valid key, every candidate is a failure
    /// (and no call is made).
    pub fn start(batch: &SyncBatch) -> Self {
        let failures = if batch.requested.is_empty() {
            u32::try_from(batch.skipped.len()).unwrap_or(u32::MAX)
        } else {
            0
        };
        SyncTally {
            updated: 0,
            failures,
        }
    }

    /// Counts one item's outcome.
    pub fn record(&mut self, outcome: &RunSyncOutcome) {
        match outcome {
            RunSyncOutcome::Unchanged => {}
            RunSyncOutcome::Updated(_) => self.updated += 1,
            RunSyncOutcome::Failed(_) => self.failures += 1,
        }
    }

    /// A save the store refused after an `Updated` decision: that success becomes a
    /// failure.
    pub fn record_save_failure(&mut self) {
        self.updated = self.updated.saturating_sub(1);
        self.failures += 1;
    }

    /// The course-list call failed: one failure for the whole call.
    pub fn record_api_error(&mut self) {
        self.failures += 1;
    }

    /// The command's summary line.
    pub fn summary(&self) -> String {
        format!(
            "Sync complete: {} updated, {} failures",
            self.updated, self.failures
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CoursewareId;
    use crate::enrollment::fixtures::{at, now, r1, run_of};

    fn s47_item() -> EdxCourseItem {
        EdxCourseItem {
            id: "course-v1:MITx+6.001x+1T2026".into(),
            name: Some("Intro".into()),
            start: Some(at(2026, 2, 1)),
            end: Some(at(2026, 6, 1)),
            enrollment_start: Some(at(2026, 1, 1)),
            enrollment_end: None,
            certificate_available_date: None,
            pacing: Some("self".into()),
        }
    }

    #[test]
    fn courses_s47_sync_updates_then_finds_nothing_to_do() {
        let run = r1();
        assert!(is_sync_candidate(&run, now()));
        let batch = plan_sync_batch(&[&run]);
        assert_eq!(batch.requested, vec![run.id]);

        let mut tally = SyncTally::start(&batch);
        let outcome = apply_edx_course_item(&run, &s47_item());
        tally.record(&outcome);
        let RunSyncOutcome::Updated(saved) = outcome else {
            panic!("expected an update, got {outcome:?}");
        };
        assert!(saved.is_self_paced);
        assert_eq!(saved.certificate_available_date, Some(at(2026, 6, 1)));
        assert_eq!(saved.title, "Intro");
        assert_eq!(
            tally,
            SyncTally {
                updated: 1,
                failures: 0
            }
        );

        let mut again = SyncTally::start(&batch);
        let outcome = apply_edx_course_item(&saved, &s47_item());
        assert_eq!(outcome, RunSyncOutcome::Unchanged);
        again.record(&outcome);
        assert_eq!(
            again,
            SyncTally {
                updated: 0,
                failures: 0
            }
        );
        assert_eq!(again.summary(), "Sync complete: 0 updated, 0 failures");
    }

    #[test]
    fn date_change_clears_expiration() {
        let mut run = r1();
        run.expiration_date = Some(at(2026, 7, 1));
        let mut item = s47_item();
        item.end = Some(at(2026, 8, 1));
        item.certificate_available_date = Some(at(2026, 8, 15));
        let RunSyncOutcome::Updated(saved) = apply_edx_course_item(&run, &item) else {
            panic!("expected an update");
        };
        assert_eq!(saved.expiration_date, None);
        assert_eq!(saved.certificate_available_date, Some(at(2026, 8, 15)));

        // Unchanged dates keep the expiration date.
        let mut item = s47_item();
        item.name = Some("New title".into());
        let RunSyncOutcome::Updated(saved) = apply_edx_course_item(&run, &item) else {
            panic!("expected an update");
        };
        assert_eq!(saved.expiration_date, Some(at(2026, 7, 1)));
        assert!(saved.is_self_paced);
    }

    #[test]
    fn unsaveable_items_are_failures() {
        let run = r1();
        let mut no_title = s47_item();
        no_title.name = None;
        let mut tally = SyncTally::default();
        let outcome = apply_edx_course_item(&run, &no_title);
        assert!(matches!(
            outcome,
            RunSyncOutcome::Failed(RunSyncError::MissingTitle(_))
        ));
        tally.record(&outcome);
        let mut backwards = s47_item();
        backwards.end = Some(at(2026, 1, 15));
        let outcome = apply_edx_course_item(&run, &backwards);
        assert_eq!(
            outcome,
            RunSyncOutcome::Failed(RunSyncError::Invalid(RunValidationError::EndBeforeStart))
        );
        tally.record(&outcome);
        tally.record_api_error();
        assert_eq!(
            tally,
            SyncTally {
                updated: 0,
                failures: 3
            }
        );
        let mut saved = SyncTally {
            updated: 2,
            failures: 0,
        };
        saved.record_save_failure();
        assert_eq!(
            saved,
            SyncTally {
                updated: 1,
                failures: 1
            }
        );
    }

    #[test]
    fn candidate_filter_and_key_split() {
        type Case = (&'static str, fn(&mut CourseRun), bool);
        let cases: [Case; 7] = [
            ("default", |_| {}, true),
            ("not live", |r| r.live = false, false),
            ("source run", |r| r.is_source_run = true, false),
            (
                "expired",
                |r| r.expiration_date = Some(at(2026, 2, 1)),
                false,
            ),
            (
                "expiring later",
                |r| r.expiration_date = Some(at(2026, 7, 1)),
                true,
            ),
            ("fake- tag", |r| r.run_tag = "fake-1".into(), false),
            (
                "b2b",
                |r| r.b2b_contract = Some(crate::ids::ContractId(1)),
                true,
            ),
        ];
        for (name, change, expected) in cases {
            let mut run = r1();
            change(&mut run);
            assert_eq!(is_sync_candidate(&run, now()), expected, "{name}");
        }

        let good = r1();
        let mut bad = run_of(2, 1);
        bad.courseware_id = CoursewareId::parse("course-v1:MITx+6.001x").unwrap();
        let batch = plan_sync_batch(&[&good, &bad]);
        assert_eq!(batch.requested, vec![good.id]);
        assert_eq!(batch.skipped, vec![bad.id]);
        assert_eq!(SyncTally::start(&batch), SyncTally::default());

        let only_bad = plan_sync_batch(&[&bad, &bad]);
        assert_eq!(
            SyncTally::start(&only_bad),
            SyncTally {
                updated: 0,
                failures: 2
            }
        );
    }
}
