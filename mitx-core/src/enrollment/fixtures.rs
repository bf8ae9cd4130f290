//! Test fixtures of the courses spec acceptance scenarios (NOW, R1, R2) and small builders.
//!
//! `crate::catalog::run::tests` holds the same NOW / R1 but `catalog::run` is a private
//! module, so they are rebuilt here from the public catalog API.

use chrono::{TimeZone, Utc};

use crate::Timestamp;
use crate::catalog::{
    Availability, CourseRun, CoursewareId, EnrollmentMode, Program, ReadableId, RequirementNode,
    VariantIndustry, VariantLength,
};
use crate::ids::{CourseId, CourseRunId, ProgramId, UserId};

use super::types::{ProgramEnrollment, RunEnrollment};

/// The learner U of the scenarios.
pub const U: UserId = UserId(7);

/// Midnight UTC of a date.
pub fn at(y: i32, m: u32, d: u32) -> Timestamp {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
}

/// NOW of the courses spec acceptance scenarios (2026-03-01T12:00:00Z).
pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
}

/// R1 of the courses spec acceptance scenarios (course C1).
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

/// R2 = `…+2T2026`, same course, enrollable.
pub fn r2() -> CourseRun {
    let mut run = r1();
    run.id = CourseRunId(2);
    run.courseware_id = CoursewareId::parse("course-v1:MITx+6.001x+2T2026").unwrap();
    run.run_tag = "2T2026".into();
    run.start_date = Some(at(2026, 6, 15));
    run.end_date = Some(at(2026, 10, 1));
    run.upgrade_deadline = Some(at(2026, 9, 1));
    run
}

/// A run `id` of course `course` cloned from R1.
pub fn run_of(id: i64, course: i64) -> CourseRun {
    let mut run = r1();
    run.id = CourseRunId(id);
    run.course_id = CourseId(course);
    run.courseware_id = CoursewareId::parse(&format!("course-v1:MITx+C{course}+R{id}")).unwrap();
    run.run_tag = format!("R{id}");
    run
}

/// U's row in `run` with the given mode.
pub fn enrollment(run: &CourseRun, mode: EnrollmentMode) -> RunEnrollment {
    let mut row = RunEnrollment::new(U, run.id, mode);
    row.edx_enrolled = true;
    row
}

/// A live program with the given requirements tree.
pub fn program(id: i64, tree: RequirementNode) -> Program {
    Program {
        id: ProgramId(id),
        title: format!("Program {id}"),
        readable_id: ReadableId::parse(&format!("program-v1:MITx+P{id}")).unwrap(),
        live: true,
        program_type: Some("Series".into()),
        departments: vec![],
        availability: Availability::Anytime,
        enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
        display_mode: None,
        b2b_only: false,
        requirements: tree,
    }
}

/// U's active program enrollment in `program` with the given mode.
pub fn program_enrollment(program: ProgramId, mode: EnrollmentMode) -> ProgramEnrollment {
    ProgramEnrollment {
        user: U,
        program,
        active: true,
        change_status: None,
        mode,
    }
}
