//! Test fixtures of the courses spec acceptance scenarios (NOW, R1) and small builders.
//!
//! NOW and R1 come from the crate-wide `crate::fixtures`.

use uuid::Uuid;

use crate::catalog::{
    CourseRun, CoursewareId, EnrollmentMode, Program, ReadableId, RequirementNode,
};
pub use crate::fixtures::{at, now, r1};
use crate::ids::{CourseId, CourseRunId, ProgramId, UserId};

use super::certificate::{Certificate, CourseRunCertificate};
use super::grade::{CourseRunGrade, Grade};

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
