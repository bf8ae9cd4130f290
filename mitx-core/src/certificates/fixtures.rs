//! Test fixtures of the courses spec acceptance scenarios (NOW, R1) and small builders.
//!
//! `crate::catalog::run::tests` holds the same NOW / R1 but `catalog::run` is a private
//! module, so they are rebuilt here from the public catalog API.

use chrono::{TimeZone, Utc};
use uuid::Uuid;

use crate::Timestamp;
use crate::catalog::{
    CourseRun, CoursewareId, EnrollmentMode, Program, ReadableId, RequirementNode, VariantIndustry,
    VariantLength,
};
use crate::ids::{CourseId, CourseRunId, ProgramId, UserId};

use super::certificate::{Certificate, CourseRunCertificate};
use super::grade::{CourseRunGrade, Grade};

/// Midnight UTC of a date.
pub fn at(y: i32, m: u32, d: u32) -> Timestamp {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
}

/// NOW of the courses spec acceptance scenarios (2026-03-01T12:00:00Z).
pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
}

/// R1 of the courses spec acceptance scenarios (course C1, instructor-paced).
pub fn r1() -> CourseRun {
    CourseRun {
        id: CourseRunId(1),
        course_id: CourseId(1),
        title: "Intro".into(),
        courseware_id: CoursewareId::parse("course-v1:MITx+6.001x+1T2026").unwrap(),
        run_tag: "1T2026".into(),
        start_date: Some(at(2026, 2, 1)),
        end_date: Some(at(2026, 6, 1)),
        enrollment_start: Some(at(2026, 1, 1)),
        enrollment_end: None,
        certificate_available_date: None,
        upgrade_deadline: Some(at(2026, 5, 1)),
        expiration_date: None,
        live: true,
        is_self_paced: false,
        enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
        b2b_contract: None,
        is_source_run: false,
        is_primary_language: true,
        language: "en".into(),
        has_courseware_url: true,
        variant_length: VariantLength::Full,
        variant_industry: VariantIndustry::General,
    }
}

/// A run of course `course` with the given id, otherwise like R1.
pub fn run_of(id: i64, course: i64) -> CourseRun {
    let mut run = r1();
    run.id = CourseRunId(id);
    run.course_id = CourseId(course);
    run.courseware_id = CoursewareId::parse(&format!("course-v1:MITx+C{course}+R{id}")).unwrap();
    run
}

/// A deterministic uuid.
pub fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// The learner used throughout.
pub const USER: UserId = UserId(1);

/// A grade row of USER in `run`.
pub fn grade_in(run: i64, value: f64, passed: bool) -> CourseRunGrade {
    CourseRunGrade {
        user: USER,
        run: CourseRunId(run),
        grade: Grade::new(value).unwrap(),
        letter_grade: None,
        passed,
        set_by_admin: false,
    }
}

/// A non-revoked certificate of USER for `run`, issued 2026-02-01.
pub fn course_cert(run: i64, n: u128) -> CourseRunCertificate {
    Certificate::issue(uuid(n), USER, CourseRunId(run), at(2026, 2, 1), None)
}

/// A program requiring all of `courses`, offering audit and verified.
pub fn program(id: i64, live: bool, courses: &[i64]) -> Program {
    let ids: Vec<CourseId> = courses.iter().map(|&c| CourseId(c)).collect();
    Program {
        id: ProgramId(id),
        title: format!("Program {id}"),
        readable_id: ReadableId::parse(&format!("program-v1:MITx+P{id}")).unwrap(),
        live,
        program_type: None,
        departments: vec![],
        availability: Default::default(),
        enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
        display_mode: None,
        b2b_only: false,
        requirements: RequirementNode::root().with_child(RequirementNode::required_courses(&ids)),
    }
}
