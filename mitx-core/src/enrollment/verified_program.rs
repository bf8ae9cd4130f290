//! Program-linked course enrollment `POST /api/v2/verified_program_enrollments/{courseware_id}/`
//! (courses spec 2.7): which program enrollments to adjust, which mode the course-run
//! enrollment gets, and how it is made.

use serde::{Deserialize, Serialize};

use super::enroll::EnrollRequest;
use super::program::{ProgramEnrollmentChange, plan_program_enrollment};
use super::purchase::PURCHASE_KEEP_FAILED;
use super::types::{ProgramEnrollment, RunEnrollment};
use crate::Timestamp;
use crate::catalog::{CourseRun, EnrollmentMode, Program, ReadableId, RequirementKind};
use crate::ids::{CourseRunId, ProgramId, UserId};

/// Why the request was refused. [`Self::is_not_found`] tells 404 from 400; the spec gives
/// no message texts, so these are ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifiedProgramEnrollError {
    /// The body is not a list of one or two program ids (400).
    #[error("Expected a list of one or two program readable ids")]
    BadProgramList,
    /// A requested program does not exist (404).
    #[error("Program not found")]
    ProgramNotFound,
    /// The user has no enrollment in a requested program (404).
    #[error("No program enrollment found for {0}")]
    NotEnrolled(ReadableId),
    /// Two programs that are not related one-way (400).
    #[error("Programs {0} and {1} are not related: exactly one must contain the other")]
    ProgramsNotRelated(ReadableId, ReadableId),
    /// Only the sub-program enrollment is verified (400).
    #[error("The enrollment in sub-program {sub} is verified but the enrollment in {root} is not")]
    SubProgramOnlyVerified { root: ReadableId, sub: ReadableId },
    /// The run is not enrollable and the user holds no active enrollment in it (400).
    #[error("Course run is not open for enrollment: {0}")]
    RunNotEnrollable(CourseRunId),
    /// A verified enrollment needs an active verified program enrollment (400).
    #[error("A verified enrollment requires an active verified enrollment in {0}")]
    ProgramEnrollmentNotVerified(ReadableId),
    /// A verified enrollment needs an active product for the run (400).
    #[error("Course run {0} has no active product")]
    NoActiveRunProduct(CourseRunId),
}

impl VerifiedProgramEnrollError {
    /// Whether the HTTP layer answers 404 (otherwise 400).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            VerifiedProgramEnrollError::ProgramNotFound
                | VerifiedProgramEnrollError::NotEnrolled(_)
        )
    }
}

/// A requested program as found, with the user's enrollment in it (any state).
#[derive(Clone, Copy, Debug)]
pub struct ProgramCandidate<'a> {
    pub program: &'a Program,
    pub enrollment: Option<&'a ProgramEnrollment>,
}

/// Everything the decision needs.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedProgramRequest<'a> {
    /// The program readable ids of the body, in order.
    pub requested: &'a [ReadableId],
    /// The requested programs that exist (looked up by readable id).
    pub found: &'a [ProgramCandidate<'a>],
    /// The run named by the path.
    pub run: &'a CourseRun,
    /// The user's row for the run, if any.
    pub existing: Option<&'a RunEnrollment>,
    /// The run has any product (for `is_upgradable`).
    pub run_has_product: bool,
    /// The run has an active product (needed for the zero-value order).
    pub run_has_active_product: bool,
    pub now: Timestamp,
}

/// How the course-run enrollment is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum VerifiedProgramAction {
    /// An active enrollment in the effective mode exists: nothing to do (204).
    AlreadyEnrolled,
    /// Run the core routine with this (audit, keep-failed) request (201).
    EnrollAudit { request: EnrollRequest },
    /// Create and fulfil a zero-value order for the run's product (a 100% program
    /// discount), which enrolls verified through fulfilment (201).
    EnrollVerifiedByZeroValueOrder,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedProgramPlan {
    /// Program enrollment rows to save first (two-program requests only).
    pub program_enrollments: Vec<ProgramEnrollmentChange>,
    /// The program whose enrollment decided the mode.
    pub program: ProgramId,
    /// The effective mode of the course-run enrollment.
    pub mode: EnrollmentMode,
    pub action: VerifiedProgramAction,
}

fn contains_program(tree: &Program, other: ProgramId) -> bool {
    let mut found = false;
    tree.requirements.walk(&mut |node, _| {
        if node.kind
            == (RequirementKind::Program {
                required_program: other,
            })
        {
            found = true;
        }
    });
    found
}

fn is_verified(enrollment: &ProgramEnrollment) -> bool {
    enrollment.mode == EnrollmentMode::Verified
}

/// Decides a program-linked course enrollment (2.7).
pub fn plan_verified_program_enrollment(
    user: UserId,
    request: &VerifiedProgramRequest<'_>,
) -> Result<VerifiedProgramPlan, VerifiedProgramEnrollError> {
    if !(1..=2).contains(&request.requested.len()) {
        return Err(VerifiedProgramEnrollError::BadProgramList);
    }
    if request.found.len() != request.requested.len() {
        return Err(VerifiedProgramEnrollError::ProgramNotFound);
    }
    let mut enrolled: Vec<(&Program, &ProgramEnrollment)> = Vec::new();
    for candidate in request.found {
        let Some(row) = candidate.enrollment else {
            return Err(VerifiedProgramEnrollError::NotEnrolled(
                candidate.program.readable_id.clone(),
            ));
        };
        enrolled.push((candidate.program, row));
    }

    let mut changes = Vec::new();
    let (program, program_enrollment) = match enrolled.as_slice() {
        [single] => (single.0, single.1.clone()),
        [a, b] => {
            let a_has_b = contains_program(a.0, b.0.id);
            let b_has_a = contains_program(b.0, a.0.id);
            let (root, sub) = match (a_has_b, b_has_a) {
                (true, false) => (a, b),
                (false, true) => (b, a),
                _ => {
                    return Err(VerifiedProgramEnrollError::ProgramsNotRelated(
                        a.0.readable_id.clone(),
                        b.0.readable_id.clone(),
                    ));
                }
            };
            let mode = match (is_verified(root.1), is_verified(sub.1)) {
                (false, false) => EnrollmentMode::Audit,
                (true, _) => EnrollmentMode::Verified,
                (false, true) => {
                    return Err(VerifiedProgramEnrollError::SubProgramOnlyVerified {
                        root: root.0.readable_id.clone(),
                        sub: sub.0.readable_id.clone(),
                    });
                }
            };
            let root_change = plan_program_enrollment(user, root.0.id, Some(root.1), mode);
            let sub_change = plan_program_enrollment(user, sub.0.id, Some(sub.1), mode);
            // Continue with the program that contains the run's course: the sub-program
            // when it does, else the root.
            let course = request.run.course_id;
            let chosen = if sub.0.requirements.contains_course(course) {
                (sub.0, sub_change.enrollment.clone())
            } else {
                (root.0, root_change.enrollment.clone())
            };
            changes.push(root_change);
            changes.push(sub_change);
            chosen
        }
        _ => return Err(VerifiedProgramEnrollError::BadProgramList),
    };

    let run = request.run;
    let holds_active = request.existing.is_some_and(|e| e.active);
    if !run.is_enrollable(request.now) && !holds_active {
        return Err(VerifiedProgramEnrollError::RunNotEnrollable(run.id));
    }
    let tree = &program.requirements;
    let in_program = tree.required_course_ids().contains(&run.course_id)
        || tree.elective_course_ids().contains(&run.course_id);
    let mode = if program_enrollment.mode == EnrollmentMode::Audit
        || !in_program
        || !run.is_upgradable(request.now, request.run_has_product)
    {
        EnrollmentMode::Audit
    } else {
        EnrollmentMode::Verified
    };

    let action = if request.existing.is_some_and(|e| e.active && e.mode == mode) {
        VerifiedProgramAction::AlreadyEnrolled
    } else if mode == EnrollmentMode::Audit {
        VerifiedProgramAction::EnrollAudit {
            request: EnrollRequest::audit(PURCHASE_KEEP_FAILED),
        }
    } else {
        if !(program_enrollment.active && is_verified(&program_enrollment)) {
            return Err(VerifiedProgramEnrollError::ProgramEnrollmentNotVerified(
                program.readable_id.clone(),
            ));
        }
        if !request.run_has_active_product {
            return Err(VerifiedProgramEnrollError::NoActiveRunProduct(run.id));
        }
        VerifiedProgramAction::EnrollVerifiedByZeroValueOrder
    };
    Ok(VerifiedProgramPlan {
        program_enrollments: changes,
        program: program.id,
        mode,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::RequirementNode;
    use crate::enrollment::fixtures::{U, at, enrollment, now, program, program_enrollment, r1};
    use crate::ids::CourseId;

    /// P1 requires C1 (R1's course); P2 contains P1 as a sub-program and C2.
    fn p1() -> Program {
        program(
            1,
            RequirementNode::root().with_child(RequirementNode::required_courses(&[CourseId(1)])),
        )
    }

    fn p2() -> Program {
        program(
            2,
            RequirementNode::root().with_child(
                RequirementNode::required_courses(&[CourseId(2)])
                    .with_child(RequirementNode::program(ProgramId(1))),
            ),
        )
    }

    fn request<'a>(
        ids: &'a [ReadableId],
        found: &'a [ProgramCandidate<'a>],
        run: &'a CourseRun,
        existing: Option<&'a RunEnrollment>,
    ) -> VerifiedProgramRequest<'a> {
        VerifiedProgramRequest {
            requested: ids,
            found,
            run,
            existing,
            run_has_product: true,
            run_has_active_product: true,
            now: now(),
        }
    }

    #[test]
    fn single_verified_program_enrolls_verified_through_zero_value_order() {
        let p = p1();
        let pe = program_enrollment(p.id, EnrollmentMode::Verified);
        let run = r1();
        let ids = [p.readable_id.clone()];
        let found = [ProgramCandidate {
            program: &p,
            enrollment: Some(&pe),
        }];
        let plan = plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap();
        assert_eq!(plan.mode, EnrollmentMode::Verified);
        assert_eq!(
            plan.action,
            VerifiedProgramAction::EnrollVerifiedByZeroValueOrder
        );
        assert!(plan.program_enrollments.is_empty());

        // Already verified in the run: 204.
        let row = enrollment(&run, EnrollmentMode::Verified);
        let plan =
            plan_verified_program_enrollment(U, &request(&ids, &found, &run, Some(&row))).unwrap();
        assert_eq!(plan.action, VerifiedProgramAction::AlreadyEnrolled);

        // No active product: 400.
        let mut req = request(&ids, &found, &run, None);
        req.run_has_active_product = false;
        let err = plan_verified_program_enrollment(U, &req).unwrap_err();
        assert_eq!(err, VerifiedProgramEnrollError::NoActiveRunProduct(run.id));
        assert!(!err.is_not_found());
    }

    #[test]
    fn effective_mode_falls_back_to_audit() {
        let p = p1();
        let verified = program_enrollment(p.id, EnrollmentMode::Verified);
        let audit = program_enrollment(p.id, EnrollmentMode::Audit);
        let ids = [p.readable_id.clone()];
        let mut past_deadline = r1();
        past_deadline.upgrade_deadline = Some(at(2026, 2, 1));
        let mut other_course = r1();
        other_course.course_id = CourseId(9);
        let cases = [
            ("audit program enrollment", &audit, r1()),
            ("course not in program", &verified, other_course),
            ("run not upgradable", &verified, past_deadline),
        ];
        for (name, pe, run) in cases {
            let found = [ProgramCandidate {
                program: &p,
                enrollment: Some(pe),
            }];
            let plan =
                plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap();
            assert_eq!(plan.mode, EnrollmentMode::Audit, "{name}");
            assert_eq!(
                plan.action,
                VerifiedProgramAction::EnrollAudit {
                    request: EnrollRequest::audit(true)
                },
                "{name}"
            );
        }
    }

    #[test]
    fn closed_run_needs_an_active_enrollment() {
        let p = p1();
        let pe = program_enrollment(p.id, EnrollmentMode::Audit);
        let ids = [p.readable_id.clone()];
        let found = [ProgramCandidate {
            program: &p,
            enrollment: Some(&pe),
        }];
        let mut run = r1();
        run.enrollment_end = Some(at(2026, 2, 20));
        let err =
            plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap_err();
        assert_eq!(err, VerifiedProgramEnrollError::RunNotEnrollable(run.id));
        let row = enrollment(&run, EnrollmentMode::Audit);
        let plan =
            plan_verified_program_enrollment(U, &request(&ids, &found, &run, Some(&row))).unwrap();
        assert_eq!(plan.action, VerifiedProgramAction::AlreadyEnrolled);
    }

    #[test]
    fn request_shape_errors() {
        let p = p1();
        let run = r1();
        let none: [ReadableId; 0] = [];
        assert_eq!(
            plan_verified_program_enrollment(U, &request(&none, &[], &run, None)),
            Err(VerifiedProgramEnrollError::BadProgramList)
        );
        let ids = [p.readable_id.clone()];
        let err = plan_verified_program_enrollment(U, &request(&ids, &[], &run, None)).unwrap_err();
        assert_eq!(err, VerifiedProgramEnrollError::ProgramNotFound);
        assert!(err.is_not_found());
        let found = [ProgramCandidate {
            program: &p,
            enrollment: None,
        }];
        let err =
            plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(
            err.to_string(),
            "No program enrollment found for program-v1:MITx+P1"
        );
    }

    #[test]
    fn two_programs_rules() {
        let sub = p1();
        let root = p2();
        let ids = [root.readable_id.clone(), sub.readable_id.clone()];
        let run = r1();
        let audit_root = program_enrollment(root.id, EnrollmentMode::Audit);
        let verified_root = program_enrollment(root.id, EnrollmentMode::Verified);
        let mut inactive_sub = program_enrollment(sub.id, EnrollmentMode::Audit);
        inactive_sub.active = false;
        inactive_sub.change_status = Some(crate::enrollment::ChangeStatus::Unenrolled);
        let verified_sub = program_enrollment(sub.id, EnrollmentMode::Verified);

        // Neither verified: audit in both (the sub row is reactivated), course enrollment audit.
        let found = [
            ProgramCandidate {
                program: &root,
                enrollment: Some(&audit_root),
            },
            ProgramCandidate {
                program: &sub,
                enrollment: Some(&inactive_sub),
            },
        ];
        let plan = plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap();
        let modes: Vec<(ProgramId, EnrollmentMode, bool)> = plan
            .program_enrollments
            .iter()
            .map(|c| (c.enrollment.program, c.enrollment.mode, c.enrollment.active))
            .collect();
        assert_eq!(
            modes,
            vec![
                (root.id, EnrollmentMode::Audit, true),
                (sub.id, EnrollmentMode::Audit, true)
            ]
        );
        assert_eq!(plan.program, sub.id, "the sub-program contains C1");
        assert_eq!(plan.mode, EnrollmentMode::Audit);

        // Only the root verified: verified in both, then a verified course enrollment.
        let found = [
            ProgramCandidate {
                program: &sub,
                enrollment: Some(&inactive_sub),
            },
            ProgramCandidate {
                program: &root,
                enrollment: Some(&verified_root),
            },
        ];
        let plan = plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap();
        assert!(
            plan.program_enrollments
                .iter()
                .all(|c| c.enrollment.mode == EnrollmentMode::Verified && c.enrollment.active)
        );
        assert_eq!(plan.mode, EnrollmentMode::Verified);
        assert_eq!(
            plan.action,
            VerifiedProgramAction::EnrollVerifiedByZeroValueOrder
        );

        // Only the sub verified: 400.
        let found = [
            ProgramCandidate {
                program: &root,
                enrollment: Some(&audit_root),
            },
            ProgramCandidate {
                program: &sub,
                enrollment: Some(&verified_sub),
            },
        ];
        let err =
            plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap_err();
        assert!(matches!(
            err,
            VerifiedProgramEnrollError::SubProgramOnlyVerified { .. }
        ));
        assert!(!err.is_not_found());
    }

    #[test]
    fn unrelated_or_mutual_programs_are_refused() {
        let a = p1();
        let b = program(3, RequirementNode::root());
        let ids = [a.readable_id.clone(), b.readable_id.clone()];
        let ea = program_enrollment(a.id, EnrollmentMode::Audit);
        let eb = program_enrollment(b.id, EnrollmentMode::Audit);
        let run = r1();
        let found = [
            ProgramCandidate {
                program: &a,
                enrollment: Some(&ea),
            },
            ProgramCandidate {
                program: &b,
                enrollment: Some(&eb),
            },
        ];
        let err =
            plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap_err();
        assert!(matches!(
            err,
            VerifiedProgramEnrollError::ProgramsNotRelated(..)
        ));

        // Mutual containment is refused too.
        let mut a2 = a.clone();
        a2.requirements = a2
            .requirements
            .with_child(RequirementNode::program(ProgramId(3)));
        let mut b2 = b.clone();
        b2.requirements = b2
            .requirements
            .with_child(RequirementNode::program(ProgramId(1)));
        let found = [
            ProgramCandidate {
                program: &a2,
                enrollment: Some(&ea),
            },
            ProgramCandidate {
                program: &b2,
                enrollment: Some(&eb),
            },
        ];
        let err =
            plan_verified_program_enrollment(U, &request(&ids, &found, &run, None)).unwrap_err();
        assert!(matches!(
            err,
            VerifiedProgramEnrollError::ProgramsNotRelated(..)
        ));
    }
}
