//! Grades, course-run and program certificates end to end against the fake Open edX, on
//! both backends (courses spec 3.1-3.7; scenarios 27-34 and 38-42 of section 7).

use chrono::{TimeZone, Utc};
use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::EnrollRequest;
use mitx_core::ids::{CourseRunId, ProgramId, UserId};
use mitx_services::clock::Clock;
use mitx_services::course_certificates::{
    self, CertificateError, GenerateReport, GenerateRequest, GradeOverride,
};
use mitx_services::enrollment::{self, Enrollment};
use mitx_services::jobs::{self, periodic};
use mitx_services::program_certificates::{self, ProgramOutcome};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::certificates::CertifiedFor;
use mitx_services::testing;

use crate::support::{World, backends, t0, world};

/// A small catalog of its own: four courses, runs with the dates each scenario needs,
/// and two live programs.
const CATALOG: &str = r#"{
  "version": 1,
  "courses": [
    {"readable_id": "course-v1:TEST+C1", "title": "C1", "live": true, "runs": [
      {"courseware_id": "course-v1:TEST+C1+1T2026", "run_tag": "1T2026", "title": "C1 self-paced",
       "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z",
       "enrollment_start": "2026-01-01T00:00:00Z", "upgrade_deadline": "2026-05-01T00:00:00Z",
       "live": true, "is_self_paced": true, "modes": ["audit", "verified"], "price": "100.00"},
      {"courseware_id": "course-v1:TEST+C1+IP", "run_tag": "IP", "title": "C1 instructor-paced",
       "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z",
       "enrollment_start": "2026-01-01T00:00:00Z", "certificate_available_date": "2026-03-05T00:00:00Z",
       "live": true, "is_self_paced": false, "modes": ["audit", "verified"], "price": "100.00"},
      {"courseware_id": "course-v1:TEST+C1+SP", "run_tag": "SP", "title": "C1 self-paced, dated",
       "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z",
       "enrollment_start": "2026-01-01T00:00:00Z", "certificate_available_date": "2026-06-01T00:00:00Z",
       "live": true, "is_self_paced": true, "modes": ["audit", "verified"], "price": "100.00"},
      {"courseware_id": "course-v1:TEST+C1+OLD", "run_tag": "OLD", "title": "C1 long over",
       "start_date": "2025-09-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z",
       "enrollment_start": "2025-08-01T00:00:00Z", "certificate_available_date": "2026-01-15T00:00:00Z",
       "live": true, "is_self_paced": false, "modes": ["audit", "verified"], "price": "100.00"}
    ]},
    {"readable_id": "course-v1:TEST+C2", "title": "C2", "live": true, "runs": [
      {"courseware_id": "course-v1:TEST+C2+1T2026", "run_tag": "1T2026", "title": "C2",
       "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z",
       "enrollment_start": "2026-01-01T00:00:00Z", "live": true, "is_self_paced": true,
       "modes": ["audit", "verified"], "price": "100.00"}
    ]},
    {"readable_id": "course-v1:TEST+C3", "title": "C3", "live": true, "runs": [
      {"courseware_id": "course-v1:TEST+C3+1T2026", "run_tag": "1T2026", "title": "C3",
       "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z",
       "enrollment_start": "2026-01-01T00:00:00Z", "live": true, "is_self_paced": true,
       "modes": ["audit", "verified"], "price": "100.00"}
    ]},
    {"readable_id": "course-v1:TEST+C4", "title": "C4", "live": true, "runs": [
      {"courseware_id": "course-v1:TEST+C4+1T2026", "run_tag": "1T2026", "title": "C4",
       "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z",
       "enrollment_start": "2026-01-01T00:00:00Z", "live": true, "is_self_paced": true,
       "modes": ["audit", "verified"], "price": "100.00"}
    ]}
  ],
  "programs": [
    {"readable_id": "program-v1:TEST+ALL", "title": "All of C1 and C2", "live": true,
     "modes": ["audit", "verified"],
     "requirements": [{"operator": "all_of", "title": "Required", "children": [
        {"course": "course-v1:TEST+C1"}, {"course": "course-v1:TEST+C2"}]}]},
    {"readable_id": "program-v1:TEST+ELECT", "title": "C1 and two of C2-C4", "live": true,
     "modes": ["audit", "verified"],
     "requirements": [
        {"operator": "all_of", "title": "Required", "children": [{"course": "course-v1:TEST+C1"}]},
        {"operator": "min_number_of", "value": 2, "title": "Electives", "elective": true, "children": [
          {"course": "course-v1:TEST+C2"}, {"course": "course-v1:TEST+C3"}, {"course": "course-v1:TEST+C4"}]}]}
  ]
}"#;

const R1: &str = "course-v1:TEST+C1+1T2026";
const ALL: &str = "program-v1:TEST+ALL";
const ELECT: &str = "program-v1:TEST+ELECT";

async fn test_world(db: testing::TestDb, clock: Clock) -> World {
    let w = world(db, false, clock, &[("MITX_CERTIFICATE_BATCH_SIZE", "2")]).await;
    let data = serde_json::from_str(CATALOG).unwrap();
    mitx_services::catalog::import(&w.services, &data, false)
        .await
        .unwrap();
    w
}

async fn run_id(w: &World, key: &str) -> CourseRunId {
    w.services
        .store()
        .enrollment_run_by_courseware_id(key)
        .await
        .unwrap()
        .unwrap()
        .run
        .id
}

async fn program_id(w: &World, key: &str) -> ProgramId {
    ProgramId(
        w.services
            .store()
            .catalog_program_id_with_b2b(key)
            .await
            .unwrap()
            .unwrap(),
    )
}

/// Enrolls through the real workflow (which creates the learner's edX account in the
/// fake) and returns the learner's edX username.
async fn enroll(w: &World, user: UserId, key: &str, mode: EnrollmentMode) -> String {
    let run = w
        .services
        .store()
        .enrollment_run_by_courseware_id(key)
        .await
        .unwrap()
        .unwrap();
    let outcome = enrollment::enroll(
        &w.services,
        user,
        &run,
        EnrollRequest::new(mode, false),
        None,
        &|_, _| Ok(()),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, Enrollment::Enrolled(_)), "{outcome:?}");
    username(w, user).await
}

async fn username(w: &World, user: UserId) -> String {
    w.services
        .store()
        .edx_user(user)
        .await
        .unwrap()
        .and_then(|u| u.edx_username)
        .expect("edX username")
}

async fn generate(w: &World, run: Option<&str>) -> GenerateReport {
    let request = GenerateRequest {
        run: run.map(str::to_owned),
        ..GenerateRequest::default()
    };
    course_certificates::generate(&w.services, &request, &mut |_| {})
        .await
        .unwrap()
}

/// (grade, passed, set_by_admin) of the learner in the run.
async fn grade_of(w: &World, user: UserId, run: CourseRunId) -> Option<(f64, bool, bool)> {
    w.services
        .store()
        .grades_of_user(user)
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.grade.run == run)
        .map(|g| (g.grade.grade.value(), g.grade.passed, g.grade.set_by_admin))
}

/// The learner's certificate for the run: (uuid, revoked).
async fn certificate_of(w: &World, user: UserId, run: CourseRunId) -> Option<(String, bool)> {
    w.services
        .store()
        .course_certificates_of_user(user)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.certificate.subject == run)
        .map(|c| (c.certificate.uuid.to_string(), c.certificate.is_revoked))
}

async fn program_certificate_of(w: &World, user: UserId, program: ProgramId) -> Option<bool> {
    w.services
        .store()
        .program_certificates_of_user(user)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.certificate.subject == program)
        .map(|c| c.certificate.is_revoked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s29_s30_s31_certificates_follow_grades_and_modes() {
    for db in backends().await {
        let w = test_world(db, Clock::fixed(t0())).await;
        let run = run_id(&w, R1).await;
        let verified = w.learner("verified").await;
        let audit = w.learner("auditor").await;
        let v_name = enroll(&w, verified, R1, EnrollmentMode::Verified).await;
        let a_name = enroll(&w, audit, R1, EnrollmentMode::Audit).await;
        w.edx.set_grade(R1, &v_name, 0.25, true, Some("Pass"));
        w.edx.set_grade(R1, &a_name, 0.9, true, Some("Pass"));
        w.edx.set_grade(R1, "nobody-here", 0.9, true, Some("Pass"));
        w.edx.set_grade(R1, "too-high", 2.5, true, None);

        // s29 and s30: the verified learner gets a certificate, the auditor does not.
        let first = generate(&w, Some(R1)).await;
        let r = &first.runs[0];
        assert_eq!((r.fetched, r.unknown_users), (4, 2), "{r:?}");
        assert_eq!((r.grades_written, r.created, r.failed), (2, 1, 0), "{r:?}");
        assert_eq!(grade_of(&w, verified, run).await, Some((0.25, true, false)));
        assert_eq!(grade_of(&w, audit, run).await, Some((0.9, true, false)));
        let (uuid, revoked) = certificate_of(&w, verified, run)
            .await
            .expect("certificate");
        assert!(!revoked);
        assert_eq!(certificate_of(&w, audit, run).await, None, "s30: audit");

        // Processing again: nothing created, nothing written, the same certificate.
        let again = generate(&w, Some(R1)).await;
        assert_eq!(
            (again.runs[0].grades_written, again.runs[0].created),
            (0, 0)
        );
        assert_eq!(
            certificate_of(&w, verified, run).await,
            Some((uuid.clone(), false))
        );

        // s31: the grade becomes 0.0: the certificate is deleted.
        w.edx.set_grade(R1, &v_name, 0.0, false, Some("Fail"));
        let zero = generate(&w, Some(R1)).await;
        assert_eq!((zero.runs[0].grades_written, zero.runs[0].deleted), (1, 1));
        assert_eq!(certificate_of(&w, verified, run).await, None);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s27_s28_an_administrators_grade_wins_over_edx() {
    for db in backends().await {
        let w = test_world(db, Clock::fixed(t0())).await;
        let run = run_id(&w, R1).await;
        let learner = w.learner("graded").await;
        let name = enroll(&w, learner, R1, EnrollmentMode::Audit).await;
        w.edx.set_grade(R1, &name, 0.5, true, Some("Pass"));
        generate(&w, Some(R1)).await;

        // s28: bad values are refused before anything is written.
        let mut request = GradeOverride {
            user: learner,
            run: R1.into(),
            grade: 0.85,
            letter_grade: "b".into(),
            force_pass: true,
            acting_user: None,
        };
        let err = course_certificates::override_learner_grade(&w.services, &request)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid letter grade string. Allowed values: A-F"
        );
        request.letter_grade = "B".into();
        request.grade = 1.2;
        let err = course_certificates::override_learner_grade(&w.services, &request)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for grade. Allowed range: 0.0 - 1.0"
        );
        assert!(matches!(err, CertificateError::Override(_)));
        assert_eq!(grade_of(&w, learner, run).await, Some((0.5, true, false)));

        // s28: (0.85, B, force-pass).
        request.grade = 0.85;
        let report = course_certificates::override_learner_grade(&w.services, &request)
            .await
            .unwrap();
        assert!(report.grade_changed);
        assert_eq!(grade_of(&w, learner, run).await, Some((0.85, true, true)));
        // Forced, as the original's override: the audit learner now holds a certificate.
        assert!(report.certificate_created);

        // s27: edX now reports 0.40 failed: the administrator's grade stays.
        w.edx.set_grade(R1, &name, 0.40, false, Some("Fail"));
        let report = generate(&w, Some(R1)).await;
        assert_eq!(report.runs[0].admin_grades_kept, 1);
        assert_eq!(report.runs[0].grades_written, 0);
        assert_eq!(grade_of(&w, learner, run).await, Some((0.85, true, true)));
        assert!(certificate_of(&w, learner, run).await.is_some());
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s32_s33_s34_the_hourly_job_respects_dates_and_the_window() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = test_world(db, clock.clone()).await;
        let learner = w.learner("dated").await;
        let ip = run_id(&w, "course-v1:TEST+C1+IP").await;
        let sp = run_id(&w, "course-v1:TEST+C1+SP").await;
        let old = run_id(&w, "course-v1:TEST+C1+OLD").await;
        let name = enroll(
            &w,
            learner,
            "course-v1:TEST+C1+IP",
            EnrollmentMode::Verified,
        )
        .await;
        enroll(
            &w,
            learner,
            "course-v1:TEST+C1+SP",
            EnrollmentMode::Verified,
        )
        .await;
        enroll(
            &w,
            learner,
            "course-v1:TEST+C1+OLD",
            EnrollmentMode::Verified,
        )
        .await;
        for key in [
            "course-v1:TEST+C1+IP",
            "course-v1:TEST+C1+SP",
            "course-v1:TEST+C1+OLD",
        ] {
            w.edx.set_grade(key, &name, 0.8, true, Some("Pass"));
        }

        // The periodic job, as the worker runs it.
        let report = periodic::run(&w.services, periodic::GENERATE_COURSE_CERTIFICATES)
            .await
            .unwrap();
        assert_eq!(report.failures, 0, "{}", report.summary);
        // s32: instructor-paced before its date: grade stored, no certificate.
        assert_eq!(grade_of(&w, learner, ip).await, Some((0.8, true, false)));
        assert_eq!(certificate_of(&w, learner, ip).await, None);
        // s33: self-paced: issued before its certificate date.
        assert!(certificate_of(&w, learner, sp).await.is_some());
        // s34: the date passed 45 days ago: not a candidate, its grades are not fetched.
        assert_eq!(grade_of(&w, learner, old).await, None);

        // s32: on 2026-03-05T01:00 the job issues it.
        clock.advance(Utc.with_ymd_and_hms(2026, 3, 5, 1, 0, 0).unwrap() - t0());
        periodic::run(&w.services, periodic::GENERATE_COURSE_CERTIFICATES)
            .await
            .unwrap();
        assert!(certificate_of(&w, learner, ip).await.is_some());
        assert_eq!(grade_of(&w, learner, old).await, None);
        w.cleanup().await;
    }
}

/// Certificates in `keys` for `user` (verified enrollments, passing grades), then the
/// jobs they queue.
async fn certify(w: &World, user: UserId, keys: &[&str]) {
    for key in keys {
        let name = enroll(w, user, key, EnrollmentMode::Verified).await;
        w.edx.set_grade(key, &name, 0.9, true, Some("Pass"));
        let report = generate(w, Some(key)).await;
        assert_eq!(report.runs[0].created, 1, "{key}: {report:?}");
    }
    let drained = w.drain().await;
    assert_eq!(drained.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s38_s39_program_certificates_follow_course_certificates() {
    for db in backends().await {
        let w = test_world(db, Clock::fixed(t0())).await;
        let all = program_id(&w, ALL).await;
        let elect = program_id(&w, ELECT).await;
        let learner = w.learner("programmer").await;
        for program in [all, elect] {
            testing::database(&w.services)
                .program_enrollment_fixture(learner, program, EnrollmentMode::Verified, t0())
                .await
                .unwrap();
        }
        // s38: C1 only: no program certificate.
        certify(&w, learner, &[R1]).await;
        assert_eq!(
            w.jobs(jobs::PROGRAM_CERTIFICATE).await.len(),
            2,
            "one per live program containing C1"
        );
        assert_eq!(program_certificate_of(&w, learner, all).await, None);
        // s38: the C2 certificate triggers the ALL certificate through a job; s39: ELECT
        // (C1 + two electives) still needs another elective.
        certify(&w, learner, &["course-v1:TEST+C2+1T2026"]).await;
        assert_eq!(program_certificate_of(&w, learner, all).await, Some(false));
        assert_eq!(program_certificate_of(&w, learner, elect).await, None);
        // s39: adding C4 completes the electives.
        certify(&w, learner, &["course-v1:TEST+C4+1T2026"]).await;
        assert_eq!(
            program_certificate_of(&w, learner, elect).await,
            Some(false)
        );
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s40_s41_s42_program_generation_rules() {
    for db in backends().await {
        let w = test_world(db, Clock::fixed(t0())).await;
        let all = program_id(&w, ALL).await;
        let learner = w.learner("auditing").await;
        certify(&w, learner, &[R1, "course-v1:TEST+C2+1T2026"]).await;
        // s40: an audit program enrollment: (none, false) ... even with every certificate.
        testing::database(&w.services)
            .program_enrollment_fixture(learner, all, EnrollmentMode::Audit, t0())
            .await
            .unwrap();
        let outcome = program_certificates::generate_for(&w.services, learner, ALL, false)
            .await
            .unwrap();
        assert_eq!(outcome, ProgramOutcome::NoVerifiedEnrollment);
        // ... and forced, created even without any program enrollment.
        let nobody = w.learner("nobody").await;
        let forced = program_certificates::generate_for(&w.services, nobody, ALL, true)
            .await
            .unwrap();
        assert_eq!(forced, ProgramOutcome::Created);

        // s41: a revoked program certificate is returned, nothing new is created.
        let audit = Audit::new("tester", Some("test".to_owned()));
        mitx_services::certificates::set_revocation(
            &w.services,
            nobody,
            CertifiedFor::Program(all),
            true,
            &audit,
        )
        .await
        .unwrap();
        let again = program_certificates::generate_for(&w.services, nobody, ALL, true)
            .await
            .unwrap();
        assert_eq!(again, ProgramOutcome::Existing);
        assert_eq!(program_certificate_of(&w, nobody, all).await, Some(true));

        // s42: the only C1 certificate sits on a deferred enrollment: C1 does not count.
        let deferred = w.learner("deferred").await;
        certify(&w, deferred, &[R1, "course-v1:TEST+C2+1T2026"]).await;
        testing::database(&w.services)
            .run_enrollment_fixture(deferred, run_id(&w, R1).await, Some("deferred"), "audit")
            .await
            .unwrap();
        testing::database(&w.services)
            .program_enrollment_fixture(deferred, all, EnrollmentMode::Verified, t0())
            .await
            .unwrap();
        let outcome = program_certificates::generate_for(&w.services, deferred, ALL, false)
            .await
            .unwrap();
        assert_eq!(outcome, ProgramOutcome::RequirementsNotMet);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_job_finds_missing_program_certificates_and_revocation_counts() {
    for db in backends().await {
        let w = test_world(db, Clock::fixed(t0())).await;
        let all = program_id(&w, ALL).await;
        let learner = w.learner("late").await;
        let revoked = w.learner("revoked").await;
        certify(&w, learner, &[R1, "course-v1:TEST+C2+1T2026"]).await;
        certify(&w, revoked, &[R1, "course-v1:TEST+C2+1T2026"]).await;
        // Enrolled in the program only after the course certificates (no trigger fired).
        for user in [learner, revoked] {
            testing::database(&w.services)
                .program_enrollment_fixture(user, all, EnrollmentMode::Verified, t0())
                .await
                .unwrap();
        }
        // A revoked course certificate no longer counts toward the program.
        let audit = Audit::new("tester", Some("test".to_owned()));
        let c2 = run_id(&w, "course-v1:TEST+C2+1T2026").await;
        mitx_services::certificates::set_revocation(
            &w.services,
            revoked,
            CertifiedFor::Run(c2),
            true,
            &audit,
        )
        .await
        .unwrap();
        let report = periodic::run(&w.services, periodic::GENERATE_MISSING_PROGRAM_CERTIFICATES)
            .await
            .unwrap();
        assert_eq!(
            report.summary,
            "processed 2, created 1, ineligible 1, failed 0"
        );
        assert_eq!(program_certificate_of(&w, learner, all).await, Some(false));
        assert_eq!(program_certificate_of(&w, revoked, all).await, None);
        // Un-revoking restores eligibility.
        mitx_services::certificates::set_revocation(
            &w.services,
            revoked,
            CertifiedFor::Run(c2),
            false,
            &audit,
        )
        .await
        .unwrap();
        let report = periodic::run(&w.services, periodic::GENERATE_MISSING_PROGRAM_CERTIFICATES)
            .await
            .unwrap();
        assert_eq!(
            report.summary,
            "processed 1, created 1, ineligible 0, failed 0"
        );
        w.cleanup().await;
    }
}
