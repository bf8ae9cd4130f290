//! The certificate and grade shown for one course of a learner's program record
//! (courses spec 3.9).

use rust_decimal::Decimal;

use super::certificate::CourseRunCertificate;
use super::grade::CourseRunGrade;
use super::program::LearnerFacts;
use crate::Timestamp;
use crate::catalog::{CourseRun, EnrollmentMode};
use crate::ids::CourseId;

/// What a program record shows for one course.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordCourseResult<'a> {
    /// The newest non-revoked certificate of the course's runs.
    pub certificate: Option<&'a CourseRunCertificate>,
    /// The grade shown (see [`record_course_result`]).
    pub grade: Option<&'a CourseRunGrade>,
}

impl RecordCourseResult<'_> {
    /// The shown grade rounded half-to-even to 2 decimal places, as rendered.
    pub fn grade_rounded(&self) -> Option<Decimal> {
        self.grade.map(|g| g.grade.rounded_2dp())
    }
}

/// Picks the certificate and grade of `course` for a learner record:
/// - certificate: the newest (latest issue date) non-revoked certificate among the course's
///   runs;
/// - grade: the highest grade among runs holding such a certificate; when there is none,
///   the highest grade among runs where the learner has a `verified` enrollment never
///   moved away (change_status null) and whose certificates are due: certificate available
///   date before now, or no such date and an end date before now; else none.
pub fn record_course_result(
    course: CourseId,
    facts: &LearnerFacts,
    now: Timestamp,
) -> RecordCourseResult<'_> {
    let runs = || facts.runs.values().filter(move |r| r.course_id == course);
    let certificate_of = |run: &CourseRun| {
        facts
            .course_certificates
            .get(&run.id)
            .filter(|c| !c.is_revoked)
    };
    let certificate = runs()
        .filter_map(certificate_of)
        .max_by_key(|c| (c.issue_date, c.uuid));
    let highest = |candidates: Vec<&CourseRun>| {
        candidates
            .into_iter()
            .filter_map(|run| facts.grades.get(&run.id))
            .max_by(|a, b| a.grade.value().total_cmp(&b.grade.value()))
    };
    let certified: Vec<&CourseRun> = runs().filter(|r| certificate_of(r).is_some()).collect();
    let grade = if certified.is_empty() {
        let due: Vec<&CourseRun> = runs()
            .filter(|run| {
                let verified = facts.run_enrollments.get(&run.id).is_some_and(|e| {
                    e.mode == EnrollmentMode::Verified && e.change_status.is_none()
                });
                let finished = match run.certificate_available_date {
                    Some(date) => date < now,
                    None => run.end_date.is_some_and(|end| end < now),
                };
                verified && finished
            })
            .collect();
        highest(due)
    } else {
        highest(certified)
    };
    RecordCourseResult { certificate, grade }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificates::fixtures::{USER, at, course_cert, grade_in, now, run_of};
    use crate::enrollment::{ChangeStatus, RunEnrollment};
    use crate::ids::CourseRunId;

    /// Course 1 with runs 1, 2, 3; the learner is verified in each.
    fn facts() -> LearnerFacts {
        let mut facts = LearnerFacts::new(USER);
        for id in 1..=3 {
            facts.runs.insert(CourseRunId(id), run_of(id, 1));
            facts.run_enrollments.insert(
                CourseRunId(id),
                RunEnrollment::new(USER, CourseRunId(id), EnrollmentMode::Verified),
            );
        }
        facts
    }

    #[test]
    fn certificate_is_newest_non_revoked_and_grade_highest_certified() {
        let mut f = facts();
        let mut older = course_cert(1, 1);
        older.issue_date = at(2025, 6, 1);
        let newer = course_cert(2, 2);
        let mut revoked = course_cert(3, 3);
        revoked.is_revoked = true;
        revoked.issue_date = at(2026, 2, 20);
        f.course_certificates.insert(CourseRunId(1), older);
        f.course_certificates.insert(CourseRunId(2), newer.clone());
        f.course_certificates.insert(CourseRunId(3), revoked);
        f.grades.insert(CourseRunId(1), grade_in(1, 0.876, true));
        f.grades.insert(CourseRunId(2), grade_in(2, 0.7, true));
        f.grades.insert(CourseRunId(3), grade_in(3, 0.99, true)); // revoked run: ignored
        let result = record_course_result(CourseId(1), &f, now());
        assert_eq!(result.certificate, Some(&newer));
        assert_eq!(result.grade.map(|g| g.run), Some(CourseRunId(1)));
        assert_eq!(result.grade_rounded(), Some(Decimal::new(88, 2)));
    }

    #[test]
    fn without_certificate_grade_comes_from_finished_verified_runs() {
        let mut f = facts();
        // run 1: certificate date passed; run 2: no date, ended; run 3: still running
        f.runs
            .get_mut(&CourseRunId(1))
            .unwrap()
            .certificate_available_date = Some(at(2026, 2, 1));
        f.runs.get_mut(&CourseRunId(2)).unwrap().end_date = Some(at(2026, 2, 15));
        f.grades.insert(CourseRunId(1), grade_in(1, 0.4, false));
        f.grades.insert(CourseRunId(2), grade_in(2, 0.5, false));
        f.grades.insert(CourseRunId(3), grade_in(3, 0.9, false));
        let result = record_course_result(CourseId(1), &f, now());
        assert_eq!(result.certificate, None);
        assert_eq!(result.grade.map(|g| g.run), Some(CourseRunId(2)));

        // a deferred or audit enrollment does not count
        f.run_enrollments
            .get_mut(&CourseRunId(2))
            .unwrap()
            .change_status = Some(ChangeStatus::Deferred);
        assert_eq!(
            record_course_result(CourseId(1), &f, now())
                .grade
                .map(|g| g.run),
            Some(CourseRunId(1))
        );
        f.run_enrollments.get_mut(&CourseRunId(1)).unwrap().mode = EnrollmentMode::Audit;
        let result = record_course_result(CourseId(1), &f, now());
        assert_eq!(result.grade, None);
        assert_eq!(result.grade_rounded(), None);
    }
}
