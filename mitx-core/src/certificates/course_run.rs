//! The course-run certificate decision taken for each grade (courses spec 3.3).

use uuid::Uuid;

use super::certificate::{
    Certificate, CertificateEffect, CourseRunCertificate, NewCertificate, PageRevisionId,
};
use super::grade::CourseRunGrade;
use crate::Timestamp;
use crate::catalog::Program;
use crate::enrollment::RunEnrollment;
use crate::ids::{CourseId, ProgramId};

/// Everything the decision looks at for one learner in one run.
#[derive(Clone, Copy, Debug)]
pub struct CourseCertificateInput<'a> {
    /// The grade as stored after the sync (its user and run name the certificate).
    pub grade: &'a CourseRunGrade,
    /// The course the run belongs to (to find the programs containing it).
    pub course: CourseId,
    /// The learner's enrollment in the run, if any (active or not).
    pub enrollment: Option<&'a RunEnrollment>,
    /// The learner's certificate row for the run, revoked and future-dated ones included.
    pub existing: Option<&'a CourseRunCertificate>,
    /// Issue regardless of the grade's `passed` flag and the enrollment.
    pub forced: bool,
    /// The latest revision of the course's certificate page, when the course page has one.
    pub certificate_page_revision: Option<PageRevisionId>,
    /// Programs that may contain the course; only live ones that contain it are used.
    pub programs: &'a [Program],
}

/// Why no certificate was created or deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoCertificateReason {
    /// Not passed with an active verified enrollment, and not forced.
    NotEligible,
    /// A revoked or future-dated row already holds the (user, run) slot: the uniqueness
    /// conflict is swallowed, so nothing is created and nothing is un-revoked.
    InactiveCertificateExists,
}

/// What to do with the learner's certificate for the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CourseCertificateDecision {
    /// The grade is 0.0: delete the active certificate, if there is one (revoked and
    /// future-dated rows are kept). `deleted` is whether a row goes.
    Delete { deleted: bool },
    /// Insert this certificate and perform its effects (created = true).
    Create(NewCertificate<crate::ids::CourseRunId>),
    /// An active certificate already exists: it is returned as is (created = false).
    AlreadyIssued { uuid: Uuid },
    /// Nothing happens.
    Nothing(NoCertificateReason),
}

impl CourseCertificateDecision {
    /// Whether a certificate row is created.
    pub fn created(&self) -> bool {
        matches!(self, CourseCertificateDecision::Create(_))
    }

    /// Whether a certificate row is deleted.
    pub fn deleted(&self) -> bool {
        matches!(self, CourseCertificateDecision::Delete { deleted: true })
    }
}

/// The live programs containing `course`: each gets a program-certificate generation run
/// (3.7) whenever a certificate for one of the course's runs is created, by any path.
pub fn programs_to_generate(programs: &[Program], course: CourseId) -> Vec<ProgramId> {
    let mut ids: Vec<ProgramId> = Vec::new();
    for program in programs {
        if program.live
            && program.requirements.contains_course(course)
            && !ids.contains(&program.id)
        {
            ids.push(program.id);
        }
    }
    ids
}

/// The certificate rows of a newly certified course run: pin the certificate page
/// revision when there is one (warn otherwise), sign a verifiable credential, then run
/// program certificate generation for every live program containing the course.
pub fn new_course_certificate(
    input: &CourseCertificateInput<'_>,
    uuid: Uuid,
    now: Timestamp,
) -> NewCertificate<crate::ids::CourseRunId> {
    let certificate = Certificate::issue(
        uuid,
        input.grade.user,
        input.grade.run,
        now,
        input.certificate_page_revision,
    );
    let mut effects = Vec::new();
    if input.certificate_page_revision.is_none() {
        effects.push(CertificateEffect::WarnNoCertificatePage);
    }
    effects.push(CertificateEffect::IssueVerifiableCredential);
    effects.extend(
        programs_to_generate(input.programs, input.course)
            .into_iter()
            .map(CertificateEffect::GenerateProgramCertificate),
    );
    NewCertificate {
        certificate,
        effects,
    }
}

/// Decides the certificate for one grade (3.3):
/// 1. a 0.0 grade deletes the active certificate (result "deleted" iff one existed);
/// 2. else a passed grade with an active `verified` enrollment, or `forced`, gets or
///    creates an active certificate: an active row is returned unchanged, a revoked or
///    future-dated row blocks creation silently, otherwise a new row is created with a
///    uuid drawn from `new_uuid`;
/// 3. else nothing.
pub fn decide_course_certificate(
    input: &CourseCertificateInput<'_>,
    now: Timestamp,
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> CourseCertificateDecision {
    if input.grade.grade.is_zero() {
        let deleted = input.existing.is_some_and(|c| c.is_active(now));
        return CourseCertificateDecision::Delete { deleted };
    }
    let verified = input.enrollment.is_some_and(|e| {
        e.is_active_verified() && e.user == input.grade.user && e.run == input.grade.run
    });
    if !((input.grade.passed && verified) || input.forced) {
        return CourseCertificateDecision::Nothing(NoCertificateReason::NotEligible);
    }
    match input.existing {
        Some(existing) if existing.is_active(now) => CourseCertificateDecision::AlreadyIssued {
            uuid: existing.uuid,
        },
        Some(_) => {
            CourseCertificateDecision::Nothing(NoCertificateReason::InactiveCertificateExists)
        }
        None => CourseCertificateDecision::Create(new_course_certificate(input, new_uuid(), now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EnrollmentMode;
    use crate::certificates::fixtures::{USER, at, course_cert, grade_in, now, program, uuid};
    use crate::enrollment::ChangeStatus;
    use crate::ids::CourseRunId;

    fn enrollment(mode: EnrollmentMode) -> RunEnrollment {
        RunEnrollment::new(USER, CourseRunId(1), mode)
    }

    fn input<'a>(
        grade: &'a CourseRunGrade,
        enrollment: Option<&'a RunEnrollment>,
        existing: Option<&'a CourseRunCertificate>,
        programs: &'a [Program],
    ) -> CourseCertificateInput<'a> {
        CourseCertificateInput {
            grade,
            course: CourseId(1),
            enrollment,
            existing,
            forced: false,
            certificate_page_revision: Some(PageRevisionId(40)),
            programs,
        }
    }

    fn uuids() -> impl FnMut() -> Uuid {
        let mut n = 100;
        move || {
            n += 1;
            uuid(n)
        }
    }

    #[test]
    fn courses_s29_passed_verified_learner_gets_certificate_once() {
        let grade = grade_in(1, 0.25, true);
        let verified = enrollment(EnrollmentMode::Verified);
        let programs = [
            program(10, true, &[1, 2]),
            program(11, false, &[1]), // not live
            program(12, true, &[3]),  // does not contain C1
        ];
        let first = decide_course_certificate(
            &input(&grade, Some(&verified), None, &programs),
            now(),
            &mut uuids(),
        );
        let CourseCertificateDecision::Create(new) = &first else {
            panic!("expected a certificate, got {first:?}");
        };
        assert!(first.created());
        assert_eq!(new.certificate.uuid, uuid(101));
        assert_eq!(
            (new.certificate.user, new.certificate.subject),
            (USER, CourseRunId(1))
        );
        assert!(!new.certificate.is_revoked);
        assert_eq!(new.certificate.issue_date, now());
        assert_eq!(
            new.certificate.certificate_page_revision,
            Some(PageRevisionId(40))
        );
        assert_eq!(
            new.effects,
            vec![
                CertificateEffect::IssueVerifiableCredential,
                CertificateEffect::GenerateProgramCertificate(ProgramId(10)),
            ]
        );

        // processing again: created = false, same certificate
        let stored = new.certificate.clone();
        let again = decide_course_certificate(
            &input(&grade, Some(&verified), Some(&stored), &programs),
            now(),
            &mut uuids(),
        );
        assert_eq!(
            again,
            CourseCertificateDecision::AlreadyIssued { uuid: uuid(101) }
        );
        assert!(!again.created());
    }

    #[test]
    fn courses_s30_audit_learner_gets_no_certificate() {
        let grade = grade_in(1, 0.25, true);
        let audit = enrollment(EnrollmentMode::Audit);
        let decision =
            decide_course_certificate(&input(&grade, Some(&audit), None, &[]), now(), &mut uuids());
        assert_eq!(
            decision,
            CourseCertificateDecision::Nothing(NoCertificateReason::NotEligible)
        );
    }

    #[test]
    fn courses_s31_zero_grade_deletes_active_certificate() {
        let grade = grade_in(1, 0.0, false);
        let verified = enrollment(EnrollmentMode::Verified);
        let cert = course_cert(1, 5);
        let decision = decide_course_certificate(
            &input(&grade, Some(&verified), Some(&cert), &[]),
            now(),
            &mut uuids(),
        );
        assert_eq!(
            decision,
            CourseCertificateDecision::Delete { deleted: true }
        );
        assert!(decision.deleted());

        // nothing to delete, a revoked row or a future-dated row is kept
        let mut revoked = cert.clone();
        revoked.is_revoked = true;
        let mut future = cert.clone();
        future.issue_date = at(2026, 4, 1);
        for existing in [None, Some(&revoked), Some(&future)] {
            let decision = decide_course_certificate(
                &input(&grade, Some(&verified), existing, &[]),
                now(),
                &mut uuids(),
            );
            assert_eq!(
                decision,
                CourseCertificateDecision::Delete { deleted: false }
            );
        }
    }

    #[test]
    fn decision_table() {
        let verified = enrollment(EnrollmentMode::Verified);
        let mut inactive = verified.clone();
        inactive.active = false;
        inactive.change_status = Some(ChangeStatus::Unenrolled);
        let mut other_run = verified.clone();
        other_run.run = CourseRunId(2);
        let mut revoked = course_cert(1, 5);
        revoked.is_revoked = true;
        let mut future = course_cert(1, 6);
        future.issue_date = at(2026, 4, 1);
        let passed = grade_in(1, 0.6, true);
        let failed = grade_in(1, 0.3, false);

        type Case<'a> = (
            &'static str,
            &'a CourseRunGrade,
            Option<&'a RunEnrollment>,
            Option<&'a CourseRunCertificate>,
            bool,
            Option<NoCertificateReason>, // None = created
        );
        let cases: [Case<'_>; 9] = [
            (
                "passed verified",
                &passed,
                Some(&verified),
                None,
                false,
                None,
            ),
            (
                "failed verified",
                &failed,
                Some(&verified),
                None,
                false,
                Some(NoCertificateReason::NotEligible),
            ),
            ("failed forced", &failed, None, None, true, None),
            (
                "passed no enrollment",
                &passed,
                None,
                None,
                false,
                Some(NoCertificateReason::NotEligible),
            ),
            (
                "passed inactive",
                &passed,
                Some(&inactive),
                None,
                false,
                Some(NoCertificateReason::NotEligible),
            ),
            (
                "passed other run's enrollment",
                &passed,
                Some(&other_run),
                None,
                false,
                Some(NoCertificateReason::NotEligible),
            ),
            (
                "revoked row",
                &passed,
                Some(&verified),
                Some(&revoked),
                false,
                Some(NoCertificateReason::InactiveCertificateExists),
            ),
            (
                "future-dated row",
                &passed,
                Some(&verified),
                Some(&future),
                false,
                Some(NoCertificateReason::InactiveCertificateExists),
            ),
            (
                "revoked row forced",
                &failed,
                None,
                Some(&revoked),
                true,
                Some(NoCertificateReason::InactiveCertificateExists),
            ),
        ];
        for (name, grade, enrollment, existing, forced, expected) in cases {
            let mut input = input(grade, enrollment, existing, &[]);
            input.forced = forced;
            let decision = decide_course_certificate(&input, now(), &mut uuids());
            match expected {
                None => assert!(decision.created(), "{name}: {decision:?}"),
                Some(reason) => assert_eq!(
                    decision,
                    CourseCertificateDecision::Nothing(reason),
                    "{name}"
                ),
            }
        }
    }

    #[test]
    fn missing_certificate_page_warns() {
        let grade = grade_in(1, 0.9, true);
        let mut input = input(&grade, None, None, &[]);
        input.forced = true;
        input.certificate_page_revision = None;
        let CourseCertificateDecision::Create(new) =
            decide_course_certificate(&input, now(), &mut uuids())
        else {
            panic!("forced certificate expected");
        };
        assert_eq!(new.certificate.certificate_page_revision, None);
        assert_eq!(
            new.effects,
            vec![
                CertificateEffect::WarnNoCertificatePage,
                CertificateEffect::IssueVerifiableCredential,
            ]
        );
    }

    #[test]
    fn programs_to_generate_are_live_and_contain_the_course_once() {
        let programs = [
            program(1, true, &[1]),
            program(2, false, &[1]),
            program(3, true, &[2, 1]),
            program(1, true, &[1]),
        ];
        assert_eq!(
            programs_to_generate(&programs, CourseId(1)),
            vec![ProgramId(1), ProgramId(3)]
        );
        assert!(programs_to_generate(&programs, CourseId(9)).is_empty());
    }
}
