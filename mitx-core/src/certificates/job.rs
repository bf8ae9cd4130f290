//! The periodic course-certificate job: which runs it looks at, when a run's grades may
//! turn into certificates, and what happens for one reported grade (courses spec 3.4, and
//! the certificate webhook of 4.5).

use chrono::Duration;
use uuid::Uuid;

use super::certificate::{CourseRunCertificate, PageRevisionId};
use super::course_run::{
    CourseCertificateDecision, CourseCertificateInput, decide_course_certificate,
};
use super::grade::{CourseRunGrade, EdxGrade, GradeSync, sync_grade};
use crate::Timestamp;
use crate::catalog::{CourseRun, Program};
use crate::enrollment::RunEnrollment;
use crate::ids::UserId;

/// Default of `CERTIFICATE_CREATION_WINDOW_IN_DAYS`: runs whose certificate date passed
/// longer ago than this are no longer polled.
pub const DEFAULT_CERTIFICATE_CREATION_WINDOW_IN_DAYS: u32 = 31;

/// Whether the hourly job polls this run's grades: live (B2B runs included), usable,
/// non-variant, and the certificate available date is unset or later than
/// `now − window_days`. Single-run callers (webhook, command) skip this filter.
pub fn is_certificate_job_candidate(run: &CourseRun, now: Timestamp, window_days: u32) -> bool {
    let window_start = now - Duration::days(i64::from(window_days));
    run.live
        && run.is_usable()
        && run.is_non_variant()
        && run
            .certificate_available_date
            .is_none_or(|date| date > window_start)
}

/// The runs of `runs` the job polls, in input order.
pub fn certificate_job_candidates(
    runs: &[CourseRun],
    now: Timestamp,
    window_days: u32,
) -> Vec<&CourseRun> {
    runs.iter()
        .filter(|run| is_certificate_job_candidate(run, now, window_days))
        .collect()
}

/// The per-run date gate: certificates are decided only when bypassed (a forced run or the
/// certificate webhook), the run is self-paced, or its certificate available date is set
/// and reached. Instructor-paced runs without a date never get certificates from the job.
pub fn certificate_date_reached(run: &CourseRun, now: Timestamp, bypass: bool) -> bool {
    bypass
        || run.is_self_paced
        || run
            .certificate_available_date
            .is_some_and(|date| date <= now)
}

/// Who asked for a grade to be processed; decides the date gate and the `forced` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradeTrigger {
    /// The hourly job: date gate applies, certificates need a passed verified learner.
    Scheduled,
    /// A forced command run: no date gate, and the certificate is issued regardless of
    /// the grade's `passed` flag and the enrollment.
    Forced,
    /// The edX certificate webhook: no date gate, but still needs a passed grade and an
    /// active verified enrollment.
    Webhook,
}

impl GradeTrigger {
    /// Whether the date gate is skipped.
    pub fn bypasses_date_gate(self) -> bool {
        !matches!(self, GradeTrigger::Scheduled)
    }

    /// Whether the certificate decision is forced.
    pub fn forces_certificate(self) -> bool {
        matches!(self, GradeTrigger::Forced)
    }
}

/// The run being processed and what every learner's certificate in it shares.
#[derive(Clone, Copy, Debug)]
pub struct RunCertificateContext<'a> {
    pub run: &'a CourseRun,
    /// The latest revision of the course's certificate page, if the course has one.
    pub certificate_page_revision: Option<PageRevisionId>,
    /// Programs that may contain the course (only live ones containing it are used).
    pub programs: &'a [Program],
}

/// What is stored about one learner in the run being processed.
#[derive(Clone, Copy, Debug)]
pub struct LearnerRunState<'a> {
    pub user: UserId,
    pub grade: Option<&'a CourseRunGrade>,
    pub enrollment: Option<&'a RunEnrollment>,
    /// Including revoked and future-dated rows.
    pub certificate: Option<&'a CourseRunCertificate>,
}

/// What processing one edX grade record amounts to.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeProcessing {
    /// The grade upsert (3.1).
    pub grade: GradeSync,
    /// The certificate decision (3.3); none when the grade was invalid or the date gate
    /// is closed.
    pub certificate: Option<CourseCertificateDecision>,
}

/// Processes one reported grade of a learner in `run`: upsert the grade, then, when the
/// grade was valid and the date gate is open for `trigger`, decide the certificate from
/// the grade as stored (an administrator's grade wins over the report).
pub fn process_reported_grade(
    context: RunCertificateContext<'_>,
    learner: LearnerRunState<'_>,
    reported: &EdxGrade,
    trigger: GradeTrigger,
    now: Timestamp,
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> GradeProcessing {
    let run = context.run;
    let grade = sync_grade(learner.user, run.id, reported, learner.grade);
    let certificate = match grade.stored_grade() {
        Some(stored) if certificate_date_reached(run, now, trigger.bypasses_date_gate()) => {
            let input = CourseCertificateInput {
                grade: stored,
                course: run.course_id,
                enrollment: learner.enrollment,
                existing: learner.certificate,
                forced: trigger.forces_certificate(),
                certificate_page_revision: context.certificate_page_revision,
                programs: context.programs,
            };
            Some(decide_course_certificate(&input, now, new_uuid))
        }
        _ => None,
    };
    GradeProcessing { grade, certificate }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{EnrollmentMode, VariantIndustry, VariantLength};
    use crate::certificates::fixtures::{USER, at, now, r1, uuid};
    use crate::ids::ContractId;
    use chrono::{TimeZone, Utc};

    fn passing() -> EdxGrade {
        EdxGrade {
            percent: 0.8,
            passed: true,
            letter_grade: Some("Pass".into()),
        }
    }

    fn context(run: &CourseRun) -> RunCertificateContext<'_> {
        RunCertificateContext {
            run,
            certificate_page_revision: None,
            programs: &[],
        }
    }

    fn process(
        run: &CourseRun,
        enrollment: &RunEnrollment,
        trigger: GradeTrigger,
        now: Timestamp,
    ) -> GradeProcessing {
        let learner = LearnerRunState {
            user: USER,
            grade: None,
            enrollment: Some(enrollment),
            certificate: None,
        };
        process_reported_grade(context(run), learner, &passing(), trigger, now, &mut || {
            uuid(9)
        })
    }

    #[test]
    fn courses_s32_instructor_paced_run_waits_for_certificate_date() {
        let mut run = r1();
        run.certificate_available_date = Some(at(2026, 3, 5));
        let verified = RunEnrollment::new(USER, run.id, EnrollmentMode::Verified);
        let early = process(&run, &verified, GradeTrigger::Scheduled, now());
        assert!(matches!(early.grade, GradeSync::Create(_)), "grade stored");
        assert_eq!(early.certificate, None);

        let later = Utc.with_ymd_and_hms(2026, 3, 5, 1, 0, 0).unwrap();
        assert!(is_certificate_job_candidate(&run, later, 31));
        let on_date = process(&run, &verified, GradeTrigger::Scheduled, later);
        assert!(on_date.certificate.as_ref().is_some_and(|d| d.created()));
    }

    #[test]
    fn courses_s33_self_paced_run_issues_before_certificate_date() {
        let mut run = r1();
        run.is_self_paced = true;
        run.certificate_available_date = Some(at(2026, 6, 1));
        let verified = RunEnrollment::new(USER, run.id, EnrollmentMode::Verified);
        assert!(is_certificate_job_candidate(&run, now(), 31));
        let result = process(&run, &verified, GradeTrigger::Scheduled, now());
        assert!(result.certificate.is_some_and(|d| d.created()));
    }

    #[test]
    fn courses_s34_run_outside_window_is_skipped() {
        let mut run = r1();
        run.certificate_available_date = Some(at(2026, 1, 15)); // 45 days before NOW
        assert!(!is_certificate_job_candidate(&run, now(), 31));
        assert!(certificate_job_candidates(std::slice::from_ref(&run), now(), 31).is_empty());
        // a wider window takes it again
        assert!(is_certificate_job_candidate(&run, now(), 60));
        // exactly at the window edge is outside (strictly later is required)
        run.certificate_available_date = Some(now() - Duration::days(31));
        assert!(!is_certificate_job_candidate(&run, now(), 31));
        run.certificate_available_date = Some(now() - Duration::days(31) + Duration::seconds(1));
        assert!(is_certificate_job_candidate(&run, now(), 31));
    }

    #[test]
    fn courses_s35_variant_runs_are_never_candidates() {
        let mut finance = r1();
        finance.variant_industry = VariantIndustry::Finance;
        let mut short = r1();
        short.variant_length = VariantLength::Short;
        let mut french = r1();
        french.language = "fr".into();
        french.is_primary_language = false;
        assert!(!is_certificate_job_candidate(&finance, now(), 31));
        assert!(!is_certificate_job_candidate(&short, now(), 31));
        assert!(is_certificate_job_candidate(&french, now(), 31));
    }

    #[test]
    fn candidate_filter_table() {
        type Case = (&'static str, fn(&mut CourseRun), bool);
        let cases: [Case; 7] = [
            ("R1, no certificate date", |_| {}, true),
            ("not live", |r| r.live = false, false),
            ("source flag", |r| r.is_source_run = true, false),
            ("SOURCE tag", |r| r.run_tag = "SOURCE".into(), false),
            ("B2B run", |r| r.b2b_contract = Some(ContractId(3)), true),
            (
                "future date",
                |r| r.certificate_available_date = Some(at(2026, 9, 1)),
                true,
            ),
            (
                "recent date",
                |r| r.certificate_available_date = Some(at(2026, 2, 20)),
                true,
            ),
        ];
        for (name, change, expected) in cases {
            let mut run = r1();
            change(&mut run);
            assert_eq!(
                is_certificate_job_candidate(
                    &run,
                    now(),
                    DEFAULT_CERTIFICATE_CREATION_WINDOW_IN_DAYS
                ),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn date_gate_table() {
        let cases = [
            // (self-paced, certificate date, bypass, open)
            (false, None, false, false),
            (false, None, true, true),
            (true, None, false, true),
            (false, Some(at(2026, 3, 5)), false, false),
            (false, Some(now()), false, true), // reached exactly now
            (false, Some(at(2026, 2, 1)), false, true),
        ];
        for (self_paced, date, bypass, open) in cases {
            let mut run = r1();
            run.is_self_paced = self_paced;
            run.certificate_available_date = date;
            assert_eq!(
                certificate_date_reached(&run, now(), bypass),
                open,
                "{self_paced} {date:?} {bypass}"
            );
        }
    }

    #[test]
    fn invalid_grade_skips_certificate_processing() {
        let mut run = r1();
        run.is_self_paced = true;
        let verified = RunEnrollment::new(USER, run.id, EnrollmentMode::Verified);
        let learner = LearnerRunState {
            user: USER,
            grade: None,
            enrollment: Some(&verified),
            certificate: None,
        };
        let reported = EdxGrade {
            percent: 3.0,
            ..passing()
        };
        let result = process_reported_grade(
            context(&run),
            learner,
            &reported,
            GradeTrigger::Forced,
            now(),
            &mut || uuid(1),
        );
        assert!(matches!(result.grade, GradeSync::SkipInvalid(_)));
        assert_eq!(result.certificate, None);
    }

    #[test]
    fn forced_trigger_issues_without_verified_enrollment() {
        let run = r1();
        let audit = RunEnrollment::new(USER, run.id, EnrollmentMode::Audit);
        let result = process(&run, &audit, GradeTrigger::Forced, now());
        assert!(result.certificate.is_some_and(|d| d.created()));
    }

    #[test]
    fn courses_s45_certificate_webhook_bypasses_date_gate_only() {
        let mut run = r1();
        run.certificate_available_date = Some(at(2027, 3, 1)); // a year ahead
        let verified = RunEnrollment::new(USER, run.id, EnrollmentMode::Verified);
        let result = process(&run, &verified, GradeTrigger::Webhook, now());
        assert!(result.certificate.is_some_and(|d| d.created()));

        let audit = RunEnrollment::new(USER, run.id, EnrollmentMode::Audit);
        let result = process(&run, &audit, GradeTrigger::Webhook, now());
        assert!(result.certificate.is_some_and(|d| !d.created()));
        // the scheduled job would not even decide yet
        let result = process(&run, &verified, GradeTrigger::Scheduled, now());
        assert_eq!(result.certificate, None);
    }
}
