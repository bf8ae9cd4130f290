//! Story 3: passing a program.
//!
//! Program 20 requires courses 1 and 2 and one elective of courses 3 and 4. The learner is
//! verified in runs of courses 1–3 and audits course 4. Grades arrive from edX over the
//! spring; each passing verified grade becomes a course certificate (the run of course 3
//! only once its certificate date has passed), and the program certificate is generated
//! the moment the last needed course certificate exists, and only once.

use mitx_core::Timestamp;
use mitx_core::catalog::{
    Availability, CourseRun, EnrollmentMode, Program, ReadableId, RequirementNode,
};
use mitx_core::certificates::{
    Certificate, CertificateEffect, CourseCertificateDecision, CourseRunCertificate,
    CourseRunGrade, DEFAULT_CERTIFICATE_CREATION_WINDOW_IN_DAYS, EdxGrade, Grade, GradeProcessing,
    GradeSync, GradeTrigger, LearnerFacts, LearnerRunState, NewCertificate, NoCertificateReason,
    NotGeneratedReason, PageRevisionId, ProgramCertificateGeneration, RunCertificateContext,
    certificate_date_reached, generate_program_certificate, is_certificate_job_candidate,
    is_program_eligible, needs_missing_certificate_check, process_reported_grade, set_revoked,
};
use mitx_core::enrollment::ProgramEnrollment;
use mitx_core::ids::{CourseId, CourseRunId, ProgramId, UserId};
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::support::{at, course_run, enrolled, no_uuid, uuid_sequence};

const LEARNER: UserId = UserId(7);
const PROGRAM: ProgramId = ProgramId(20);
const COURSE_PAGE: PageRevisionId = PageRevisionId(5);
const PROGRAM_PAGE: PageRevisionId = PageRevisionId(9);
const R1: CourseRunId = CourseRunId(1);
const R2: CourseRunId = CourseRunId(2);
const R3: CourseRunId = CourseRunId(3);
const R4: CourseRunId = CourseRunId(4);

fn program() -> Program {
    let requirements = RequirementNode::root()
        .with_child(RequirementNode::required_courses(&[
            CourseId(1),
            CourseId(2),
        ]))
        .with_child(RequirementNode::electives(
            1,
            vec![
                RequirementNode::course(CourseId(3)),
                RequirementNode::course(CourseId(4)),
            ],
        ));
    Program {
        id: PROGRAM,
        title: "Data, Economics, and Design of Policy".into(),
        readable_id: ReadableId::parse("program-v1:MITx+DEDP").unwrap(),
        live: true,
        program_type: Some("MicroMasters®".into()),
        departments: vec![],
        availability: Availability::Anytime,
        enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
        display_mode: None,
        b2b_only: false,
        requirements,
    }
}

/// Runs 1, 2 and 4 are self-paced; run 3 is instructor-paced with certificates from
/// June 15th.
fn runs() -> Vec<CourseRun> {
    let mut runs = vec![
        course_run(1, 1, "course-v1:MITx+14.73x+1T2026"),
        course_run(2, 2, "course-v1:MITx+14.100x+1T2026"),
        course_run(3, 3, "course-v1:MITx+14.310x+1T2026"),
        course_run(4, 4, "course-v1:MITx+JPAL102x+1T2026"),
    ];
    for run in &mut runs {
        run.is_self_paced = run.id != R3;
    }
    runs[2].certificate_available_date = Some(at(2026, 6, 15, 0));
    runs
}

/// What the store knows about the learner before any grade arrives.
fn learner_facts(program: &Program) -> LearnerFacts {
    let mut facts = LearnerFacts::new(LEARNER);
    for run in runs() {
        let mode = if run.id == R4 {
            EnrollmentMode::Audit
        } else {
            EnrollmentMode::Verified
        };
        facts
            .run_enrollments
            .insert(run.id, enrolled(LEARNER, &run, mode));
        facts.runs.insert(run.id, run);
    }
    facts.programs.insert(PROGRAM, program.clone());
    facts.program_enrollments.insert(
        PROGRAM,
        ProgramEnrollment {
            user: LEARNER,
            program: PROGRAM,
            active: true,
            change_status: None,
            mode: EnrollmentMode::Verified,
        },
    );
    facts
}

fn edx(percent: f64, passed: bool, letter: &str) -> EdxGrade {
    EdxGrade {
        percent,
        passed,
        letter_grade: Some(letter.into()),
    }
}

/// What the grade job does for one reported grade: decide, then store what was decided.
fn report(
    facts: &mut LearnerFacts,
    programs: &[Program],
    run: CourseRunId,
    reported: &EdxGrade,
    now: Timestamp,
    uuids: &mut dyn FnMut() -> Uuid,
) -> GradeProcessing {
    let run = facts.runs[&run].clone();
    let outcome = process_reported_grade(
        RunCertificateContext {
            run: &run,
            certificate_page_revision: Some(COURSE_PAGE),
            programs,
        },
        LearnerRunState {
            user: LEARNER,
            grade: facts.grades.get(&run.id),
            enrollment: facts.run_enrollments.get(&run.id),
            certificate: facts.course_certificates.get(&run.id),
        },
        reported,
        GradeTrigger::Scheduled,
        now,
        uuids,
    );
    if let Some(stored) = outcome.grade.stored_grade() {
        facts.grades.insert(run.id, stored.clone());
    }
    if let Some(CourseCertificateDecision::Create(new)) = &outcome.certificate {
        facts
            .course_certificates
            .insert(run.id, new.certificate.clone());
    }
    outcome
}

fn grade_row(run: CourseRunId, value: f64, passed: bool, letter: &str) -> CourseRunGrade {
    CourseRunGrade {
        user: LEARNER,
        run,
        grade: Grade::new(value).unwrap(),
        letter_grade: Some(letter.into()),
        passed,
        set_by_admin: false,
    }
}

/// The certificate the job creates for `run` with uuid `n`, issued at `now`.
fn issued(run: CourseRunId, n: u128, now: Timestamp) -> NewCertificate<CourseRunId> {
    NewCertificate {
        certificate: Certificate {
            uuid: Uuid::from_u128(n),
            user: LEARNER,
            subject: run,
            is_revoked: false,
            issue_date: now,
            certificate_page_revision: Some(COURSE_PAGE),
            verifiable_credential: None,
        },
        effects: vec![
            CertificateEffect::IssueVerifiableCredential,
            CertificateEffect::GenerateProgramCertificate(PROGRAM),
        ],
    }
}

#[test]
fn passing_a_program() {
    let program = program();
    program.requirements.validate().unwrap();
    assert_eq!(
        program.requirements.required_course_ids(),
        [CourseId(1), CourseId(2)]
    );
    assert_eq!(
        program.requirements.elective_course_ids(),
        [CourseId(3), CourseId(4)]
    );
    assert_eq!(
        program.requirements.minimum_elective_courses_requirement(),
        Some(1)
    );
    assert_eq!(
        program.certificate_type().label(),
        "MicroMasters Credential"
    );
    assert!(program.requires_payment());

    let programs = [program.clone()];
    let mut facts = learner_facts(&program);
    let mut uuids = uuid_sequence(1);
    let regenerate = |facts: &LearnerFacts, now| {
        generate_program_certificate(
            &program,
            facts,
            false,
            Some(PROGRAM_PAGE),
            now,
            &mut no_uuid,
        )
    };

    // April 1st: 85% in course 1, passed, verified → certificate #1, and the program's
    // generation is triggered (nothing comes of it yet).
    let april = at(2026, 4, 1, 3);
    let out = report(
        &mut facts,
        &programs,
        R1,
        &edx(0.85, true, "B"),
        april,
        &mut uuids,
    );
    assert_eq!(out.grade, GradeSync::Create(grade_row(R1, 0.85, true, "B")));
    assert_eq!(out.grade.stored_grade().unwrap().grade_percent(), dec!(85));
    assert_eq!(
        out.certificate,
        Some(CourseCertificateDecision::Create(issued(R1, 1, april)))
    );
    assert_eq!(
        facts.course_certificates[&R1].link(),
        "/certificate/00000000-0000-0000-0000-000000000001/"
    );
    assert!(facts.course_passed(CourseId(1)));
    assert!(!is_program_eligible(&program, &facts));
    assert_eq!(
        regenerate(&facts, april),
        ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::RequirementsNotMet)
    );

    // Course 2: 55%, not passed → no certificate.
    let out = report(
        &mut facts,
        &programs,
        R2,
        &edx(0.55, false, "F"),
        april,
        &mut uuids,
    );
    assert!(out.grade.writes());
    assert_eq!(
        out.certificate,
        Some(CourseCertificateDecision::Nothing(
            NoCertificateReason::NotEligible
        ))
    );

    // April 20th: the regraded 72% passes → the grade row is updated, certificate #2.
    let regrade = at(2026, 4, 20, 3);
    let out = report(
        &mut facts,
        &programs,
        R2,
        &edx(0.72, true, "C"),
        regrade,
        &mut uuids,
    );
    assert_eq!(
        out.grade,
        GradeSync::Update {
            before: grade_row(R2, 0.55, false, "F"),
            after: grade_row(R2, 0.72, true, "C"),
        }
    );
    assert_eq!(
        out.certificate,
        Some(CourseCertificateDecision::Create(issued(R2, 2, regrade)))
    );
    // Both required courses are passed; no elective yet.
    assert!(!is_program_eligible(&program, &facts));

    // Course 4 is only audited: a passing grade earns nothing, and a passed grade in a run
    // that offers verified does not pass the course without a certificate.
    let out = report(
        &mut facts,
        &programs,
        R4,
        &edx(0.93, true, "A"),
        regrade,
        &mut uuids,
    );
    assert_eq!(
        out.certificate,
        Some(CourseCertificateDecision::Nothing(
            NoCertificateReason::NotEligible
        ))
    );
    assert!(facts.grades[&R4].passed && !facts.course_passed(CourseId(4)));
    assert!(!is_program_eligible(&program, &facts));

    // May 1st: course 3 passes, but its certificates start on June 15th: the grade is
    // stored and the certificate decision waits.
    let may = at(2026, 5, 1, 3);
    let r3 = facts.runs[&R3].clone();
    assert!(!certificate_date_reached(&r3, may, false));
    let out = report(
        &mut facts,
        &programs,
        R3,
        &edx(0.8, true, "B"),
        may,
        &mut uuids,
    );
    assert_eq!(out.grade, GradeSync::Create(grade_row(R3, 0.8, true, "B")));
    assert_eq!(out.certificate, None);
    assert!(!is_program_eligible(&program, &facts));

    // June 16th: the hourly job still polls run 3 (within 31 days of its date); the grade
    // is unchanged and certificate #3 is issued.
    let june = at(2026, 6, 16, 3);
    assert!(is_certificate_job_candidate(
        &r3,
        june,
        DEFAULT_CERTIFICATE_CREATION_WINDOW_IN_DAYS
    ));
    let out = report(
        &mut facts,
        &programs,
        R3,
        &edx(0.8, true, "B"),
        june,
        &mut uuids,
    );
    assert!(matches!(out.grade, GradeSync::Unchanged(_)));
    assert_eq!(
        out.certificate,
        Some(CourseCertificateDecision::Create(issued(R3, 3, june)))
    );

    // That was the last needed certificate: the program certificate is created (#4).
    assert!(is_program_eligible(&program, &facts));
    let generated = generate_program_certificate(
        &program,
        &facts,
        false,
        Some(PROGRAM_PAGE),
        june,
        &mut uuids,
    );
    let expected = Certificate {
        uuid: Uuid::from_u128(4),
        user: LEARNER,
        subject: PROGRAM,
        is_revoked: false,
        issue_date: june,
        certificate_page_revision: Some(PROGRAM_PAGE),
        verifiable_credential: None,
    };
    assert_eq!(
        generated,
        ProgramCertificateGeneration::Created(NewCertificate {
            certificate: expected.clone(),
            effects: vec![
                CertificateEffect::SyncCrm,
                CertificateEffect::IssueVerifiableCredential
            ],
        })
    );
    assert_eq!(
        expected.link(),
        "/certificate/program/00000000-0000-0000-0000-000000000004/"
    );
    facts.program_certificates.insert(PROGRAM, expected.clone());

    // Generating again returns the stored row and draws no new uuid.
    let again = regenerate(&facts, june);
    assert_eq!(
        again,
        ProgramCertificateGeneration::Existing(expected.clone())
    );
    assert!(!again.created());
    // The daily missing-certificate job no longer looks at this enrollment.
    assert!(!needs_missing_certificate_check(
        &facts.program_enrollments[&PROGRAM],
        &program,
        true
    ));

    // Revoking course 1's certificate makes the learner ineligible, but nothing cascades:
    // the program certificate stays (generation returns it, it does not re-check).
    let revoked: CourseRunCertificate =
        set_revoked(facts.course_certificates.get(&R1), true).unwrap();
    assert!(!revoked.is_active(june));
    facts.course_certificates.insert(R1, revoked);
    assert!(!is_program_eligible(&program, &facts));
    assert_eq!(
        regenerate(&facts, june),
        ProgramCertificateGeneration::Existing(expected)
    );
}

#[test]
fn a_program_certificate_needs_a_verified_program_enrollment() {
    let program = program();
    let mut facts = learner_facts(&program);
    let now = at(2026, 6, 16, 3);
    // Every course certificate exists ...
    for run in [R1, R2, R3] {
        facts.course_certificates.insert(
            run,
            Certificate::issue(Uuid::from_u128(10), LEARNER, run, now, None),
        );
    }
    assert!(is_program_eligible(&program, &facts));
    // ... but the learner only audits the program.
    facts.program_enrollments.get_mut(&PROGRAM).unwrap().mode = EnrollmentMode::Audit;
    assert_eq!(
        generate_program_certificate(&program, &facts, false, None, now, &mut no_uuid),
        ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::NoVerifiedEnrollment)
    );
    // A forced generation ignores the enrollment.
    let forced =
        generate_program_certificate(&program, &facts, true, None, now, &mut uuid_sequence(99));
    assert_eq!(
        forced.certificate().map(|c| (c.uuid, c.subject)),
        Some((Uuid::from_u128(99), PROGRAM))
    );
}
