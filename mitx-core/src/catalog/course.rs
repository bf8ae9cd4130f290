//! Courses and the course-level choices made over their runs (courses spec 1.2, 1.3).

use serde::{Deserialize, Serialize};

use super::{CourseRun, ReadableId};
use crate::Timestamp;
use crate::ids::{CourseId, DepartmentId};

/// A course: the abstract offering that has runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Course {
    pub id: CourseId,
    pub title: String,
    pub readable_id: ReadableId,
    pub live: bool,
    pub departments: Vec<DepartmentId>,
}

impl Course {
    /// The text after the last `+` of the readable id.
    pub fn course_number(&self) -> &str {
        self.readable_id.course_number()
    }
}

/// The run shown as a course's "next run" (`next_run_id`): among usable, non-B2B,
/// enrollable runs in the default language, prefer those not yet ended, earliest start
/// first, primary-language first on ties; if every candidate has ended, fall back to the
/// ended ones in the same order.
///
/// For a B2B context pass `contracts`: then only runs of those contracts are candidates.
pub fn first_unexpired_run<'a>(
    runs: &'a [CourseRun],
    now: Timestamp,
    contracts: Option<&[crate::ids::ContractId]>,
) -> Option<&'a CourseRun> {
    let candidates: Vec<&CourseRun> = runs
        .iter()
        .filter(|r| r.is_usable() && r.is_enrollable(now) && r.is_default_language())
        .filter(|r| match contracts {
            None => !r.is_b2b(),
            Some(ids) => r.b2b_contract.is_some_and(|c| ids.contains(&c)),
        })
        .collect();
    let order = |r: &&&CourseRun| (r.start_date, !r.is_primary_language, r.id);
    candidates
        .iter()
        .filter(|r| r.end_date.is_none_or(|e| e > now))
        .min_by_key(order)
        .or_else(|| candidates.iter().min_by_key(order))
        .copied()
}

/// One run per run tag for v2 course listings: the primary-language run of each tag,
/// else the lowest id. The result keeps the input order of the chosen runs.
pub fn canonical_runs_per_tag(runs: &[CourseRun]) -> Vec<&CourseRun> {
    let mut chosen: Vec<&CourseRun> = Vec::new();
    for run in runs {
        match chosen.iter_mut().find(|c| c.run_tag == run.run_tag) {
            None => chosen.push(run),
            Some(current) => {
                let better = (run.is_primary_language && !current.is_primary_language)
                    || (run.is_primary_language == current.is_primary_language
                        && run.id < current.id);
                if better {
                    *current = run;
                }
            }
        }
    }
    let mut in_order: Vec<&CourseRun> = runs
        .iter()
        .filter(|r| chosen.iter().any(|c| std::ptr::eq(*c, *r)))
        .collect();
    in_order.dedup_by_key(|r| r.id);
    in_order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CoursewareId;
    use crate::catalog::run::tests::{at, now, r1};
    use crate::ids::{ContractId, CourseRunId};

    fn run(id: i64, tag: &str, start: Timestamp, end: Option<Timestamp>) -> CourseRun {
        let mut r = r1();
        r.id = CourseRunId(id);
        r.run_tag = tag.into();
        r.courseware_id =
            CoursewareId::parse(&format!("course-v1:MITx+6.001x+{tag}_{id}")).unwrap();
        r.start_date = Some(start);
        r.end_date = end;
        r
    }

    #[test]
    fn next_run_prefers_unexpired_earliest_start() {
        let runs = vec![
            run(1, "1T2026", at(2026, 2, 1), Some(at(2026, 6, 1))),
            run(2, "2T2026", at(2026, 1, 1), Some(at(2026, 2, 1))), // ended
            run(3, "3T2026", at(2026, 4, 1), None),
        ];
        assert_eq!(
            first_unexpired_run(&runs, now(), None).map(|r| r.id),
            Some(CourseRunId(1))
        );
    }

    #[test]
    fn next_run_falls_back_to_ended_runs() {
        let runs = vec![
            run(1, "1T2026", at(2026, 1, 10), Some(at(2026, 2, 1))),
            run(2, "2T2026", at(2026, 1, 1), Some(at(2026, 2, 1))),
        ];
        assert_eq!(
            first_unexpired_run(&runs, now(), None).map(|r| r.id),
            Some(CourseRunId(2))
        );
    }

    #[test]
    fn next_run_excludes_source_b2b_foreign_language_and_closed_runs() {
        let mut source = run(1, "SOURCE", at(2026, 1, 1), None);
        source.is_source_run = true;
        let mut b2b = run(2, "1T7C2026", at(2026, 1, 2), None);
        b2b.b2b_contract = Some(ContractId(7));
        let mut french = run(3, "1T2026", at(2026, 1, 3), None);
        french.language = "fr".into();
        french.is_primary_language = false;
        let mut closed = run(4, "2T2026", at(2026, 1, 4), None);
        closed.live = false;
        let runs = vec![source, b2b, french, closed];
        assert_eq!(first_unexpired_run(&runs, now(), None), None);
        assert_eq!(
            first_unexpired_run(&runs, now(), Some(&[ContractId(7)])).map(|r| r.id),
            Some(CourseRunId(2))
        );
    }

    #[test]
    fn canonical_run_per_tag_prefers_primary_then_lowest_id() {
        let mut a = run(5, "1T2026", at(2026, 1, 1), None);
        a.is_primary_language = false;
        let b = run(7, "1T2026", at(2026, 1, 1), None);
        let mut c = run(8, "2T2026", at(2026, 1, 1), None);
        c.is_primary_language = false;
        let mut d = run(6, "2T2026", at(2026, 1, 1), None);
        d.is_primary_language = false;
        let runs = vec![a, b, c, d];
        let ids: Vec<i64> = canonical_runs_per_tag(&runs)
            .iter()
            .map(|r| r.id.0)
            .collect();
        assert_eq!(ids, vec![7, 6]);
    }
}
