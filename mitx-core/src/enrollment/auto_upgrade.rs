//! Program-enrollment auto-upgrade (courses spec 2.8, daily job and
//! `upgrade_eligible_program_enrollments`): an audit program enrollment becomes verified
//! once the learner holds verified enrollments covering the program's requirements.

use super::program::{ProgramEnrollmentChange, plan_program_enrollment};
use super::types::ProgramEnrollment;
use crate::catalog::{EnrollmentMode, Program};
use crate::ids::CourseId;

/// Whether `enrollment` qualifies for the automatic upgrade.
///
/// Requires an active audit program enrollment without an active program certificate,
/// every required course among `verified_courses` (courses in which the user has at least
/// one active verified run enrollment) and, when an elective minimum is defined, at least
/// that many elective courses among them.
///
/// Unlike the original (a QUIRK), a program with nothing to meet (no required courses and
/// no elective minimum above zero) does **not** qualify: the upgrade is meant to recognise
/// verified work, and there is none to recognise.
pub fn qualifies_for_program_upgrade(
    enrollment: &ProgramEnrollment,
    program: &Program,
    has_active_program_certificate: bool,
    verified_courses: &[CourseId],
) -> bool {
    if !enrollment.active
        || enrollment.mode != EnrollmentMode::Audit
        || has_active_program_certificate
    {
        return false;
    }
    let tree = &program.requirements;
    let required = tree.required_course_ids();
    let minimum = tree.minimum_elective_courses_requirement();
    if required.is_empty() && minimum.is_none_or(|m| m == 0) {
        return false;
    }
    if !required.iter().all(|c| verified_courses.contains(c)) {
        return false;
    }
    match minimum {
        None => true,
        Some(minimum) => {
            let electives = tree
                .elective_course_ids()
                .into_iter()
                .filter(|c| verified_courses.contains(c))
                .count();
            u32::try_from(electives).unwrap_or(u32::MAX) >= minimum
        }
    }
}

/// The upgrade itself: the program enrollment in verified mode, or `None` when it does not
/// qualify.
pub fn plan_program_upgrade(
    enrollment: &ProgramEnrollment,
    program: &Program,
    has_active_program_certificate: bool,
    verified_courses: &[CourseId],
) -> Option<ProgramEnrollmentChange> {
    qualifies_for_program_upgrade(
        enrollment,
        program,
        has_active_program_certificate,
        verified_courses,
    )
    .then(|| {
        plan_program_enrollment(
            enrollment.user,
            enrollment.program,
            Some(enrollment),
            EnrollmentMode::Verified,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::RequirementNode;
    use crate::enrollment::fixtures::{program, program_enrollment};
    use crate::ids::ProgramId;

    fn c(ids: &[i64]) -> Vec<CourseId> {
        ids.iter().map(|&i| CourseId(i)).collect()
    }

    /// required {1} + electives min 2 of {2, 3, 4}
    fn p() -> Program {
        program(
            1,
            RequirementNode::root()
                .with_child(RequirementNode::required_courses(&c(&[1])))
                .with_child(RequirementNode::electives(
                    2,
                    c(&[2, 3, 4])
                        .into_iter()
                        .map(RequirementNode::course)
                        .collect(),
                )),
        )
    }

    #[test]
    fn upgrade_eligibility_table() {
        let audit = program_enrollment(ProgramId(1), EnrollmentMode::Audit);
        let cases: [(&str, &[i64], bool); 5] = [
            ("required and two electives", &[1, 2, 4], true),
            ("required and one elective", &[1, 3], false),
            ("electives without required", &[2, 3, 4], false),
            ("nothing", &[], false),
            ("extra courses do not count", &[1, 2, 9], false),
        ];
        for (name, verified, expected) in cases {
            assert_eq!(
                qualifies_for_program_upgrade(&audit, &p(), false, &c(verified)),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn only_active_audit_enrollments_without_certificate() {
        let all = c(&[1, 2, 3]);
        let verified = program_enrollment(ProgramId(1), EnrollmentMode::Verified);
        assert!(!qualifies_for_program_upgrade(&verified, &p(), false, &all));
        let mut inactive = program_enrollment(ProgramId(1), EnrollmentMode::Audit);
        inactive.active = false;
        assert!(!qualifies_for_program_upgrade(&inactive, &p(), false, &all));
        let audit = program_enrollment(ProgramId(1), EnrollmentMode::Audit);
        assert!(!qualifies_for_program_upgrade(&audit, &p(), true, &all));

        let change = plan_program_upgrade(&audit, &p(), false, &all).unwrap();
        assert_eq!(change.enrollment.mode, EnrollmentMode::Verified);
        assert!(change.mode_changed);
        assert_eq!(plan_program_upgrade(&audit, &p(), true, &all), None);
    }

    #[test]
    fn required_only_program_needs_no_electives() {
        let required_only = program(
            2,
            RequirementNode::root().with_child(RequirementNode::required_courses(&c(&[1, 2]))),
        );
        let audit = program_enrollment(ProgramId(2), EnrollmentMode::Audit);
        assert!(qualifies_for_program_upgrade(
            &audit,
            &required_only,
            false,
            &c(&[1, 2])
        ));
        assert!(!qualifies_for_program_upgrade(
            &audit,
            &required_only,
            false,
            &c(&[1])
        ));
    }

    #[test]
    fn empty_program_does_not_qualify_automatically() {
        // The original's QUIRK upgrades these immediately; mitx does not.
        let audit = program_enrollment(ProgramId(3), EnrollmentMode::Audit);
        let empty = program(3, RequirementNode::root());
        assert!(!qualifies_for_program_upgrade(&audit, &empty, false, &[]));
        let zero_minimum = program(
            3,
            RequirementNode::root().with_child(RequirementNode::electives(
                0,
                vec![RequirementNode::course(CourseId(5))],
            )),
        );
        assert!(!qualifies_for_program_upgrade(
            &audit,
            &zero_minimum,
            false,
            &c(&[5])
        ));
    }
}
