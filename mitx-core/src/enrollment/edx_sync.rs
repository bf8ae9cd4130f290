//! Reconciling local run enrollments with the learner's own edX enrollments on dashboard
//! load (courses spec 2.11, flag `SYNC_ON_DASHBOARD_LOAD`, command `sync_enrollments`).

use serde::{Deserialize, Serialize};

use super::types::{ChangeStatus, RunEnrollment};
use crate::catalog::{CourseRun, EnrollmentMode};
use crate::ids::{CourseRunId, UserId};

/// One item of the edX "own enrollments" call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdxEnrollment {
    /// `course_details.course_id`.
    pub course_id: String,
    pub is_active: bool,
    pub mode: String,
}

/// The changes that bring local rows in line with edX.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentSyncDiff {
    /// Existing rows whose active state follows edX (deactivation sets `unenrolled`,
    /// reactivation clears the change status).
    pub updates: Vec<RunEnrollment>,
    /// New rows for edX-only enrollments in known runs (audit, `edx_enrolled`, active per
    /// edX).
    pub creates: Vec<RunEnrollment>,
    /// Active local rows edX does not know: only logged.
    pub local_only: Vec<CourseRunId>,
    /// edX enrollments in runs unknown locally: ignored.
    pub unknown_course_ids: Vec<String>,
}

/// Computes the reconciliation for one user. `local` are the user's rows (any state);
/// `runs` are the known usable runs the edX course ids are matched against.
pub fn diff_edx_enrollments(
    user: UserId,
    local: &[RunEnrollment],
    edx: &[EdxEnrollment],
    runs: &[&CourseRun],
) -> EnrollmentSyncDiff {
    let mut diff = EnrollmentSyncDiff::default();
    let mut seen: Vec<CourseRunId> = Vec::new();
    for item in edx {
        let Some(run) = runs
            .iter()
            .find(|r| r.courseware_id.as_str() == item.course_id)
        else {
            diff.unknown_course_ids.push(item.course_id.clone());
            continue;
        };
        if seen.contains(&run.id) {
            continue;
        }
        seen.push(run.id);
        match local.iter().find(|row| row.run == run.id) {
            Some(row) if row.active != item.is_active => {
                let mut updated = row.clone();
                updated.active = item.is_active;
                updated.change_status = if item.is_active {
                    None
                } else {
                    Some(ChangeStatus::Unenrolled)
                };
                diff.updates.push(updated);
            }
            Some(_) => {}
            None => {
                let mut created = RunEnrollment::new(user, run.id, EnrollmentMode::Audit);
                created.active = item.is_active;
                created.edx_enrolled = true;
                diff.creates.push(created);
            }
        }
    }
    diff.local_only = local
        .iter()
        .filter(|row| row.active && !seen.contains(&row.run))
        .map(|row| row.run)
        .collect();
    diff
}

/// Which API lists the enrollments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DashboardApi {
    V1,
    V2,
}

/// Whether a failed sync fails the listing: v1 swallows sync errors; v2 re-raises them
/// unless `IGNORE_EDX_FAILURES` is on.
pub fn sync_error_is_fatal(api: DashboardApi, ignore_edx_failures: bool) -> bool {
    api == DashboardApi::V2 && !ignore_edx_failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::fixtures::{U, enrollment, r1, r2, run_of};

    fn item(run: &CourseRun, active: bool) -> EdxEnrollment {
        EdxEnrollment {
            course_id: run.courseware_id.as_str().to_owned(),
            is_active: active,
            mode: "audit".into(),
        }
    }

    #[test]
    fn reconciliation() {
        let (a, b, c, d) = (r1(), r2(), run_of(3, 1), run_of(4, 1));
        let active_a = enrollment(&a, EnrollmentMode::Verified);
        let mut inactive_b = enrollment(&b, EnrollmentMode::Audit);
        inactive_b.active = false;
        inactive_b.change_status = Some(ChangeStatus::Unenrolled);
        let local_only_d = enrollment(&d, EnrollmentMode::Audit);
        let local = [active_a.clone(), inactive_b.clone(), local_only_d];
        let edx = [
            item(&a, false),
            item(&b, true),
            item(&c, true),
            EdxEnrollment {
                course_id: "course-v1:Other+X+Y".into(),
                is_active: true,
                mode: "audit".into(),
            },
        ];
        let diff = diff_edx_enrollments(U, &local, &edx, &[&a, &b, &c, &d]);

        let mut deactivated = active_a;
        deactivated.active = false;
        deactivated.change_status = Some(ChangeStatus::Unenrolled);
        let mut reactivated = inactive_b;
        reactivated.active = true;
        reactivated.change_status = None;
        assert_eq!(diff.updates, vec![deactivated, reactivated]);

        assert_eq!(diff.creates.len(), 1);
        let created = &diff.creates[0];
        assert_eq!(created.run, c.id);
        assert!(created.active && created.edx_enrolled);
        assert_eq!(created.mode, EnrollmentMode::Audit);

        assert_eq!(diff.local_only, vec![d.id]);
        assert_eq!(
            diff.unknown_course_ids,
            vec!["course-v1:Other+X+Y".to_owned()]
        );
    }

    #[test]
    fn matching_rows_need_nothing() {
        let a = r1();
        let row = enrollment(&a, EnrollmentMode::Audit);
        let diff = diff_edx_enrollments(U, &[row], &[item(&a, true)], &[&a]);
        assert_eq!(diff, EnrollmentSyncDiff::default());
    }

    #[test]
    fn sync_error_policy() {
        assert!(!sync_error_is_fatal(DashboardApi::V1, false));
        assert!(sync_error_is_fatal(DashboardApi::V2, false));
        assert!(!sync_error_is_fatal(DashboardApi::V2, true));
    }
}
