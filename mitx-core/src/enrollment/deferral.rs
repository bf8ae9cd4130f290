//! Deferral: moving a learner's seat from run A to run B (courses spec 2.9,
//! `defer_enrollment`).
//!
//! [`plan_deferral`] validates the request and returns the steps to run in order. Each step
//! is one call of an existing rule ([`plan_unenroll`](super::plan_unenroll) or
//! [`plan_enroll`](super::plan_enroll)) with its own edX call; after each, the caller asks the
//! matching `check_*` function whether the deferral may continue. The caller passes each
//! step the rows as they are after the previous steps.

use serde::{Deserialize, Serialize};

use super::enroll::{EnrollOutcome, EnrollRequest};
use super::types::{ChangeStatus, RunEnrollment};
use super::unenroll::UnenrollOutcome;
use crate::Timestamp;
use crate::catalog::{CourseRun, CoursewareId, EnrollmentMode};
use crate::ids::{CourseRunId, UserId};

/// Why a deferral was refused by validation (step 3). Shown after
/// `Invalid enrollment deferral - `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeferralValidationError {
    /// A's enrollment is inactive and the deferral is not forced.
    #[error(
        "Cannot defer from inactive enrollment (run: {run}, user: {user}). Set force=True to defer anyway."
    )]
    InactiveFrom { run: CoursewareId, user: UserId },
    /// A and B are the same run (refused even when forced).
    #[error("Cannot defer to the same course run (run: {0})")]
    SameRun(CoursewareId),
    /// B is not enrollable and the deferral is not forced.
    #[error("Cannot defer to a course run that is outside of its enrollment period (run: {0}).")]
    NotEnrollable(CoursewareId),
    /// A and B belong to different courses and the deferral is not forced.
    #[error(
        "Cannot defer to a course run of a different course ('{from}' -> '{to}'). Set force=True to defer anyway."
    )]
    DifferentCourse { from: String, to: String },
}

/// Why a deferral failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeferralError {
    /// The user has no enrollment (active or not) in A.
    #[error("'from' course run enrollment does not exist ({0})")]
    FromEnrollmentMissing(String),
    /// B does not exist among usable runs.
    #[error("'to' course does not exist ({0})")]
    ToRunMissing(String),
    /// Step 3 refused the deferral.
    #[error("Invalid enrollment deferral - {0}")]
    Invalid(#[from] DeferralValidationError),
    /// Step 5: the audit enrollment in B could not be deactivated in edX.
    #[error("Failed to deactivate audit enrollment for course run '{0}'")]
    AuditDeactivationFailed(CoursewareId),
    /// Step 6: edX refused the verified enrollment in B and failures are not kept.
    #[error("Api call to enroll on edX was not successful for course run '{0}'")]
    TargetEnrollFailed(CoursewareId),
    /// Step 7: edX refused switching A to audit and failures are not kept.
    #[error(
        "Api call to change enrollment mode to audit on edX was not successful for course run '{0}'"
    )]
    SourceDowngradeFailed(CoursewareId),
}

/// Run A with the user's row in it and its course title.
#[derive(Clone, Copy, Debug)]
pub struct DeferralSource<'a> {
    pub enrollment: &'a RunEnrollment,
    pub run: &'a CourseRun,
    pub course_title: &'a str,
}

/// Run B with its course title and the user's row in it, if any.
#[derive(Clone, Copy, Debug)]
pub struct DeferralTarget<'a> {
    pub run: &'a CourseRun,
    pub course_title: &'a str,
    pub enrollment: Option<&'a RunEnrollment>,
}

/// A deferral request with the records it needs.
#[derive(Clone, Copy, Debug)]
pub struct DeferralRequest<'a> {
    /// The `--from-run` key as given (for the not-found message).
    pub from_courseware_id: &'a str,
    /// The `--to-run` key as given; `None` defers in place.
    pub to_courseware_id: Option<&'a str>,
    /// A, or `None` when the user has no row in it.
    pub from: Option<DeferralSource<'a>>,
    /// B, or `None` when it is not given or does not exist.
    pub to: Option<DeferralTarget<'a>>,
    pub keep_failed: bool,
    pub force: bool,
    /// A fulfilled PaidCourseRun exists for A.
    pub from_paid: bool,
    pub now: Timestamp,
}

/// One step of a deferral, to run in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum DeferralStep {
    /// Step 5: unenroll the active audit row in B (2.3 with `unenrolled`, keep-failed as
    /// requested), then [`check_audit_deactivation`].
    UnenrollAuditTarget { run: CourseRunId, keep_failed: bool },
    /// Step 6: the core routine on B with `request` (verified, no change status), then
    /// [`check_target_enrollment`].
    EnrollTarget {
        run: CourseRunId,
        request: EnrollRequest,
    },
    /// Step 7: the core routine on A with `request` (audit, `deferred`), then
    /// [`check_source_downgrade`].
    DowngradeSource {
        run: CourseRunId,
        request: EnrollRequest,
    },
    /// Step 8: repoint the fulfilled PaidCourseRun of A to B.
    RepointPayment { from: CourseRunId, to: CourseRunId },
}

/// What a deferral does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum DeferralPlan {
    /// No B (step 2): run the core routine on A with `request` (audit, `deferred`); the
    /// result is (that enrollment, none). No validation.
    DeferInPlace {
        run: CourseRunId,
        request: EnrollRequest,
    },
    /// A is already deferred and the user holds an active verified row in B (step 4): the
    /// result is (A, B) unchanged.
    AlreadyDeferred,
    /// Steps 5 to 8; the result is (A after step 7 or none, B after step 6).
    Move { steps: Vec<DeferralStep> },
}

/// Validates a deferral (steps 1 to 4) and returns its plan.
pub fn plan_deferral(request: &DeferralRequest<'_>) -> Result<DeferralPlan, DeferralError> {
    let Some(from) = request.from else {
        return Err(DeferralError::FromEnrollmentMissing(
            request.from_courseware_id.to_owned(),
        ));
    };
    let Some(to_key) = request.to_courseware_id else {
        return Ok(DeferralPlan::DeferInPlace {
            run: from.run.id,
            request: EnrollRequest::audit(request.keep_failed)
                .with_change_status(Some(ChangeStatus::Deferred)),
        });
    };
    let Some(to) = request.to else {
        return Err(DeferralError::ToRunMissing(to_key.to_owned()));
    };

    if !from.enrollment.active && !request.force {
        return Err(DeferralValidationError::InactiveFrom {
            run: from.run.courseware_id.clone(),
            user: from.enrollment.user,
        }
        .into());
    }
    if from.run.id == to.run.id {
        return Err(DeferralValidationError::SameRun(to.run.courseware_id.clone()).into());
    }
    if !to.run.is_enrollable(request.now) && !request.force {
        return Err(DeferralValidationError::NotEnrollable(to.run.courseware_id.clone()).into());
    }
    if from.run.course_id != to.run.course_id && !request.force {
        return Err(DeferralValidationError::DifferentCourse {
            from: from.course_title.to_owned(),
            to: to.course_title.to_owned(),
        }
        .into());
    }

    let already_deferred = from.enrollment.change_status == Some(ChangeStatus::Deferred);
    let active_in_target = |mode| to.enrollment.is_some_and(|e| e.active && e.mode == mode);
    if already_deferred && active_in_target(EnrollmentMode::Verified) {
        return Ok(DeferralPlan::AlreadyDeferred);
    }

    let mut steps = Vec::new();
    if active_in_target(EnrollmentMode::Audit) {
        steps.push(DeferralStep::UnenrollAuditTarget {
            run: to.run.id,
            keep_failed: request.keep_failed,
        });
    }
    steps.push(DeferralStep::EnrollTarget {
        run: to.run.id,
        request: EnrollRequest::verified(request.keep_failed),
    });
    if !already_deferred {
        steps.push(DeferralStep::DowngradeSource {
            run: from.run.id,
            request: EnrollRequest::audit(request.keep_failed)
                .with_change_status(Some(ChangeStatus::Deferred)),
        });
    }
    if request.from_paid {
        steps.push(DeferralStep::RepointPayment {
            from: from.run.id,
            to: to.run.id,
        });
    }
    Ok(DeferralPlan::Move { steps })
}

/// After step 5: the deferral stops when edX refused the unenrollment (and failures are not
/// kept) or the row still shows `edx_enrolled`.
pub fn check_audit_deactivation(
    outcome: &UnenrollOutcome,
    target: &CoursewareId,
) -> Result<(), DeferralError> {
    match outcome.enrollment() {
        Some(row) if !row.edx_enrolled => Ok(()),
        _ => Err(DeferralError::AuditDeactivationFailed(target.clone())),
    }
}

/// After step 6: the deferral stops when edX failed and failures are not kept.
pub fn check_target_enrollment(
    outcome: &EnrollOutcome,
    keep_failed: bool,
    target: &CoursewareId,
) -> Result<(), DeferralError> {
    if outcome.edx_succeeded() || keep_failed {
        Ok(())
    } else {
        Err(DeferralError::TargetEnrollFailed(target.clone()))
    }
}

/// After step 7: the deferral stops when edX failed and failures are not kept.
pub fn check_source_downgrade(
    outcome: &EnrollOutcome,
    keep_failed: bool,
    source: &CoursewareId,
) -> Result<(), DeferralError> {
    if outcome.edx_succeeded() || keep_failed {
        Ok(())
    } else {
        Err(DeferralError::SourceDowngradeFailed(source.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::edx::{EdxFailure, EdxOutcome};
    use crate::enrollment::enroll::plan_enroll;
    use crate::enrollment::fixtures::{U, at, enrollment, now, r1, r2, run_of};
    use crate::enrollment::unenroll::{UnenrollEmail, plan_unenroll};

    /// The stored world of a deferral test: rows by run, the paid run, calls made to edX.
    struct World {
        rows: Vec<RunEnrollment>,
        paid_run: Option<CourseRunId>,
        edx_calls: Vec<String>,
    }

    impl World {
        fn row(&self, run: CourseRunId) -> Option<&RunEnrollment> {
            self.rows.iter().find(|r| r.run == run)
        }

        fn save(&mut self, row: RunEnrollment) {
            self.rows.retain(|r| r.run != row.run);
            self.rows.push(row);
        }
    }

    /// Runs a plan the way the services layer does, with edX answering `edx` to every call.
    fn execute(
        world: &mut World,
        plan: &DeferralPlan,
        runs: &[&CourseRun],
        edx: EdxOutcome,
    ) -> Result<(), DeferralError> {
        let run = |id: CourseRunId| *runs.iter().find(|r| r.id == id).unwrap();
        let DeferralPlan::Move { steps } = plan else {
            if let DeferralPlan::DeferInPlace { run: id, request } = plan {
                world.edx_calls.push(format!("enroll {id}"));
                let outcome = plan_enroll(U, world.row(*id), run(*id), *request, edx);
                for p in outcome.runs() {
                    world.save(p.enrollment.clone());
                }
            }
            return Ok(());
        };
        for step in steps {
            match *step {
                DeferralStep::UnenrollAuditTarget {
                    run: id,
                    keep_failed,
                } => {
                    world.edx_calls.push(format!("unenroll {id}"));
                    let row = world.row(id).unwrap().clone();
                    let outcome = plan_unenroll(
                        &row,
                        ChangeStatus::Unenrolled,
                        edx,
                        keep_failed,
                        UnenrollEmail::Send,
                    );
                    if let Some(row) = outcome.enrollment() {
                        world.save(row.clone());
                    }
                    check_audit_deactivation(&outcome, &run(id).courseware_id)?;
                }
                DeferralStep::EnrollTarget { run: id, request } => {
                    world
                        .edx_calls
                        .push(format!("enroll {id} {}", request.mode.slug()));
                    let outcome = plan_enroll(U, world.row(id), run(id), request, edx);
                    for p in outcome.runs() {
                        world.save(p.enrollment.clone());
                    }
                    check_target_enrollment(&outcome, request.keep_failed, &run(id).courseware_id)?;
                }
                DeferralStep::DowngradeSource { run: id, request } => {
                    world
                        .edx_calls
                        .push(format!("enroll {id} {}", request.mode.slug()));
                    let outcome = plan_enroll(U, world.row(id), run(id), request, edx);
                    for p in outcome.runs() {
                        world.save(p.enrollment.clone());
                    }
                    check_source_downgrade(&outcome, request.keep_failed, &run(id).courseware_id)?;
                }
                DeferralStep::RepointPayment { from, to } => {
                    assert_eq!(world.paid_run, Some(from));
                    world.paid_run = Some(to);
                }
            }
        }
        Ok(())
    }

    fn request<'a>(
        from: Option<DeferralSource<'a>>,
        to: Option<DeferralTarget<'a>>,
        force: bool,
        from_paid: bool,
    ) -> DeferralRequest<'a> {
        DeferralRequest {
            from_courseware_id: "course-v1:MITx+6.001x+1T2026",
            to_courseware_id: Some("course-v1:MITx+6.001x+2T2026"),
            from,
            to,
            keep_failed: false,
            force,
            from_paid,
            now: now(),
        }
    }

    fn source<'a>(row: &'a RunEnrollment, run: &'a CourseRun) -> Option<DeferralSource<'a>> {
        Some(DeferralSource {
            enrollment: row,
            run,
            course_title: "Intro",
        })
    }

    fn target<'a>(
        run: &'a CourseRun,
        row: Option<&'a RunEnrollment>,
    ) -> Option<DeferralTarget<'a>> {
        Some(DeferralTarget {
            run,
            course_title: if run.course_id == r1().course_id {
                "Intro"
            } else {
                "Other"
            },
            enrollment: row,
        })
    }

    #[test]
    fn courses_s21_deferral_moves_the_verified_seat_and_the_payment() {
        let (a, b) = (r1(), r2());
        let from_row = enrollment(&a, EnrollmentMode::Verified);
        let plan = plan_deferral(&request(
            source(&from_row, &a),
            target(&b, None),
            false,
            true,
        ))
        .unwrap();
        assert_eq!(
            plan,
            DeferralPlan::Move {
                steps: vec![
                    DeferralStep::EnrollTarget {
                        run: b.id,
                        request: EnrollRequest::verified(false)
                    },
                    DeferralStep::DowngradeSource {
                        run: a.id,
                        request: EnrollRequest::audit(false)
                            .with_change_status(Some(ChangeStatus::Deferred))
                    },
                    DeferralStep::RepointPayment {
                        from: a.id,
                        to: b.id
                    },
                ]
            }
        );
        let mut world = World {
            rows: vec![from_row],
            paid_run: Some(a.id),
            edx_calls: vec![],
        };
        execute(&mut world, &plan, &[&a, &b], EdxOutcome::Succeeded).unwrap();
        let in_b = world.row(b.id).unwrap();
        assert!(in_b.active);
        assert_eq!(in_b.mode, EnrollmentMode::Verified);
        assert_eq!(in_b.change_status, None);
        let in_a = world.row(a.id).unwrap();
        assert!(in_a.active);
        assert_eq!(in_a.mode, EnrollmentMode::Audit);
        assert_eq!(in_a.change_status, Some(ChangeStatus::Deferred));
        assert_eq!(world.paid_run, Some(b.id));
        assert_eq!(world.edx_calls, vec!["enroll 2 verified", "enroll 1 audit"]);
    }

    #[test]
    fn courses_s22_active_audit_row_in_target_is_unenrolled_then_reactivated_verified() {
        let (a, b) = (r1(), r2());
        let from_row = enrollment(&a, EnrollmentMode::Verified);
        let audit_in_b = enrollment(&b, EnrollmentMode::Audit);
        let plan = plan_deferral(&request(
            source(&from_row, &a),
            target(&b, Some(&audit_in_b)),
            false,
            false,
        ))
        .unwrap();
        let DeferralPlan::Move { steps } = &plan else {
            panic!("expected a move")
        };
        assert_eq!(
            steps[0],
            DeferralStep::UnenrollAuditTarget {
                run: b.id,
                keep_failed: false
            }
        );
        let mut world = World {
            rows: vec![from_row.clone(), audit_in_b.clone()],
            paid_run: None,
            edx_calls: vec![],
        };
        execute(&mut world, &plan, &[&a, &b], EdxOutcome::Succeeded).unwrap();
        assert_eq!(
            world.edx_calls,
            vec!["unenroll 2", "enroll 2 verified", "enroll 1 audit"]
        );
        let in_b = world.row(b.id).unwrap();
        assert!(in_b.active && in_b.edx_enrolled);
        assert_eq!(in_b.mode, EnrollmentMode::Verified);
        assert_eq!(in_b.change_status, None);

        // If edX refuses the unenrollment, the deferral stops with the spec's error.
        let mut world = World {
            rows: vec![from_row, audit_in_b],
            paid_run: None,
            edx_calls: vec![],
        };
        let err = execute(
            &mut world,
            &plan,
            &[&a, &b],
            EdxOutcome::Failed(EdxFailure::Http { status: 500 }),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Failed to deactivate audit enrollment for course run 'course-v1:MITx+6.001x+2T2026'"
        );
        assert_eq!(world.edx_calls, vec!["unenroll 2"]);
    }

    #[test]
    fn courses_s23_same_run_is_refused_even_when_forced() {
        let a = r1();
        let row = enrollment(&a, EnrollmentMode::Verified);
        for force in [false, true] {
            let err = plan_deferral(&request(
                source(&row, &a),
                target(&a, Some(&row)),
                force,
                false,
            ))
            .unwrap_err();
            assert_eq!(
                err,
                DeferralError::Invalid(DeferralValidationError::SameRun(a.courseware_id.clone()))
            );
            assert!(
                err.to_string().starts_with(
                    "Invalid enrollment deferral - Cannot defer to the same course run"
                )
            );
        }
        // Validation happens before any step, so no edX call is made.
    }

    #[test]
    fn courses_s24_target_outside_enrollment_period() {
        let a = r1();
        let mut r3 = r2();
        r3.id = CourseRunId(3);
        r3.enrollment_end = Some(at(2026, 2, 1));
        let row = enrollment(&a, EnrollmentMode::Verified);
        let err =
            plan_deferral(&request(source(&row, &a), target(&r3, None), false, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid enrollment deferral - Cannot defer to a course run that is outside of its \
             enrollment period (run: course-v1:MITx+6.001x+2T2026)."
        );
        let plan =
            plan_deferral(&request(source(&row, &a), target(&r3, None), true, false)).unwrap();
        assert!(matches!(plan, DeferralPlan::Move { .. }));
    }

    #[test]
    fn courses_s25_target_of_another_course() {
        let a = r1();
        let other = run_of(5, 2);
        let row = enrollment(&a, EnrollmentMode::Verified);
        let err = plan_deferral(&request(
            source(&row, &a),
            target(&other, None),
            false,
            false,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid enrollment deferral - Cannot defer to a course run of a different course \
             ('Intro' -> 'Other'). Set force=True to defer anyway."
        );
        let plan = plan_deferral(&request(
            source(&row, &a),
            target(&other, None),
            true,
            false,
        ))
        .unwrap();
        let mut world = World {
            rows: vec![row],
            paid_run: None,
            edx_calls: vec![],
        };
        execute(&mut world, &plan, &[&a, &other], EdxOutcome::Succeeded).unwrap();
        assert_eq!(world.row(other.id).unwrap().mode, EnrollmentMode::Verified);
    }

    #[test]
    fn courses_s26_deferral_without_target_defers_in_place() {
        let a = r1();
        let row = enrollment(&a, EnrollmentMode::Verified);
        let mut req = request(source(&row, &a), None, false, false);
        req.to_courseware_id = None;
        let plan = plan_deferral(&req).unwrap();
        assert_eq!(
            plan,
            DeferralPlan::DeferInPlace {
                run: a.id,
                request: EnrollRequest::audit(false)
                    .with_change_status(Some(ChangeStatus::Deferred))
            }
        );
        let mut world = World {
            rows: vec![row],
            paid_run: None,
            edx_calls: vec![],
        };
        execute(&mut world, &plan, &[&a], EdxOutcome::Succeeded).unwrap();
        let in_a = world.row(a.id).unwrap();
        assert_eq!(in_a.mode, EnrollmentMode::Audit);
        assert_eq!(in_a.change_status, Some(ChangeStatus::Deferred));
        assert!(in_a.active);
        assert_eq!(world.rows.len(), 1, "no second enrollment");
    }

    #[test]
    fn not_found_messages() {
        let (a, b) = (r1(), r2());
        let err = plan_deferral(&request(None, target(&b, None), false, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'from' course run enrollment does not exist (course-v1:MITx+6.001x+1T2026)"
        );
        let row = enrollment(&a, EnrollmentMode::Verified);
        let err = plan_deferral(&request(source(&row, &a), None, false, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'to' course does not exist (course-v1:MITx+6.001x+2T2026)"
        );
    }

    #[test]
    fn inactive_source_needs_force_and_is_reactivated() {
        let (a, b) = (r1(), r2());
        let mut row = enrollment(&a, EnrollmentMode::Verified);
        row.active = false;
        row.change_status = Some(ChangeStatus::Refunded);
        let err =
            plan_deferral(&request(source(&row, &a), target(&b, None), false, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid enrollment deferral - Cannot defer from inactive enrollment (run: \
             course-v1:MITx+6.001x+1T2026, user: 7). Set force=True to defer anyway."
        );
        let plan =
            plan_deferral(&request(source(&row, &a), target(&b, None), true, false)).unwrap();
        let mut world = World {
            rows: vec![row],
            paid_run: None,
            edx_calls: vec![],
        };
        execute(&mut world, &plan, &[&a, &b], EdxOutcome::Succeeded).unwrap();
        let in_a = world.row(a.id).unwrap();
        assert!(in_a.active);
        assert_eq!(in_a.mode, EnrollmentMode::Audit);
        assert_eq!(
            in_a.change_status, None,
            "reactivation clears the change status"
        );
    }

    #[test]
    fn already_deferred_source() {
        let (a, b) = (r1(), r2());
        let mut row = enrollment(&a, EnrollmentMode::Audit);
        row.change_status = Some(ChangeStatus::Deferred);
        let verified_in_b = enrollment(&b, EnrollmentMode::Verified);
        let plan = plan_deferral(&request(
            source(&row, &a),
            target(&b, Some(&verified_in_b)),
            false,
            false,
        ))
        .unwrap();
        assert_eq!(plan, DeferralPlan::AlreadyDeferred);

        // Without a verified row in B only B is enrolled; A is not switched again.
        let plan =
            plan_deferral(&request(source(&row, &a), target(&b, None), false, false)).unwrap();
        assert_eq!(
            plan,
            DeferralPlan::Move {
                steps: vec![DeferralStep::EnrollTarget {
                    run: b.id,
                    request: EnrollRequest::verified(false)
                }]
            }
        );
    }

    #[test]
    fn edx_failure_without_keep_failed_stops_the_move() {
        let (a, b) = (r1(), r2());
        let row = enrollment(&a, EnrollmentMode::Verified);
        let plan =
            plan_deferral(&request(source(&row, &a), target(&b, None), false, true)).unwrap();
        let mut world = World {
            rows: vec![row.clone()],
            paid_run: Some(a.id),
            edx_calls: vec![],
        };
        let err = execute(
            &mut world,
            &plan,
            &[&a, &b],
            EdxOutcome::Failed(EdxFailure::Connection),
        )
        .unwrap_err();
        assert_eq!(
            err,
            DeferralError::TargetEnrollFailed(b.courseware_id.clone())
        );
        assert_eq!(world.rows, vec![row], "nothing saved");
        assert_eq!(world.paid_run, Some(a.id));
    }
}
