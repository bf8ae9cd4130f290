//! Test fixtures of the courses spec acceptance scenarios (NOW, R1, R2) and small builders.
//!
//! NOW and R1 come from the crate-wide `crate::fixtures`.

use crate::catalog::{
    Availability, CourseRun, CoursewareId, EnrollmentMode, Program, ReadableId, RequirementNode,
};
pub use crate::fixtures::{at, now, r1};
use crate::ids::{CourseId, CourseRunId, ProgramId, UserId};

use super::types::{ProgramEnrollment, RunEnrollment};

/// The learner U of the scenarios.
pub const U: UserId = UserId(7);

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
