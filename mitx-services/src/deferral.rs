//! Deferral: moving a learner's seat from run A to run B (courses spec 2.9,
//! `defer_enrollment`; `mitx enrollments defer`).
//!
//! mitx-core's [`plan_deferral`] validates the request and lists the steps; each step is
//! one call of the enrollment routine of [`crate::enrollment`] (its edX call outside any
//! transaction, under the enrollment's lease, then the row and its audit row in one unit of
//! work). The operator's audit-log row (actor and `--reason`) joins the unit of work of
//! every row the deferral changes, and the repointing of the fulfilled paid run joins the
//! unit of work of the last step, so the seat and its payment move together.

use mitx_core::catalog::CoursewareId;
use mitx_core::enrollment::{
    DeferralError, DeferralPlan, DeferralRequest, DeferralSource, DeferralStep, DeferralTarget,
    EnrollRequest, UnenrollEmail, plan_deferral,
};
use mitx_core::ids::{CourseRunId, UserId};
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::enrollments::{EnrollmentRecord, EnrollmentRun};
use serde::Serialize;

use crate::Services;
use crate::enrollment::{
    Alongside, Enrollment, EnrollmentError, Unenrolling, enroll_alongside, unenroll_alongside,
};
use crate::error::{Fault, store_fault};

/// The audit-log action of every row a deferral changes.
pub const AUDIT_ACTION: &str = "enrollment.defer";

/// Why a deferral stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeferWorkflowError {
    /// The rules refused it (not found, invalid, or edX refused a step).
    #[error(transparent)]
    Deferral(#[from] DeferralError),
    /// An enrollment step failed for another reason (busy, database).
    #[error(transparent)]
    Enrollment(#[from] EnrollmentError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeferWorkflowError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            DeferWorkflowError::Deferral(
                DeferralError::FromEnrollmentMissing(_) | DeferralError::ToRunMissing(_),
            ) => Fault::NotFound,
            DeferWorkflowError::Deferral(_) => Fault::Caller,
            DeferWorkflowError::Enrollment(err) => err.fault(),
            DeferWorkflowError::Store(err) => store_fault(err),
        }
    }
}

/// A deferral as the operator asked for it.
#[derive(Clone, Debug)]
pub struct DeferralOrder<'a> {
    /// The learner.
    pub user: UserId,
    /// Run A's courseware id.
    pub from_run: &'a str,
    /// Run B's courseware id; `None` defers in place.
    pub to_run: Option<&'a str>,
    /// Keep local changes when edX fails.
    pub keep_failed: bool,
    /// Skip the checks that `force` skips (inactive A, B closed, another course).
    pub force: bool,
    /// Who and why (stored in the audit log).
    pub audit: &'a Audit,
}

/// What a deferral did (or, for a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeferralOutcome {
    /// The plan the rules chose.
    pub plan: DeferralPlan,
    /// Run A's enrollment after the deferral (before it, for a dry run).
    pub from: Option<EnrollmentSummary>,
    /// Run B's enrollment after the deferral (before it, for a dry run).
    pub to: Option<EnrollmentSummary>,
    /// Nothing was changed (a dry run, or the deferral had already been made).
    pub unchanged: bool,
}

/// One enrollment row, for people and JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnrollmentSummary {
    /// Row id.
    pub id: i64,
    /// Run id.
    pub run: CourseRunId,
    /// Run courseware id.
    pub courseware_id: String,
    /// `audit` or `verified`.
    pub mode: String,
    /// Active.
    pub active: bool,
    /// `deferred`, `unenrolled`, ... or none.
    pub change_status: Option<String>,
    /// edX has it.
    pub edx_enrolled: bool,
}

impl EnrollmentSummary {
    fn of(record: &EnrollmentRecord, run: &EnrollmentRun) -> Self {
        let row = &record.enrollment;
        EnrollmentSummary {
            id: record.id.0,
            run: row.run,
            courseware_id: run.run.courseware_id.as_str().to_owned(),
            mode: row.mode.slug().to_owned(),
            active: row.active,
            change_status: row.change_status.map(|c| c.as_str().to_owned()),
            edx_enrolled: row.edx_enrolled,
        }
    }
}

/// The records a deferral is decided on.
struct Facts {
    from_run: Option<EnrollmentRun>,
    from: Option<EnrollmentRecord>,
    to_run: Option<EnrollmentRun>,
    to: Option<EnrollmentRecord>,
    from_paid: bool,
}

async fn facts(services: &Services, order: &DeferralOrder<'_>) -> Result<Facts, StoreError> {
    let store = services.store();
    // A key that is not a courseware id names no run (and never reaches the database).
    let run_by_key = |key: &str| {
        let key = key.trim().to_owned();
        async move {
            if CoursewareId::parse(&key).is_err() {
                return Ok(None);
            }
            store.enrollment_run_by_courseware_id(&key).await
        }
    };
    let from_run = run_by_key(order.from_run).await?;
    let from = match &from_run {
        Some(run) => store.run_enrollment(order.user, run.run.id).await?,
        None => None,
    };
    let to_run = match order.to_run {
        Some(key) => run_by_key(key).await?,
        None => None,
    };
    let to = match &to_run {
        Some(run) => store.run_enrollment(order.user, run.run.id).await?,
        None => None,
    };
    let from_paid = match &from {
        Some(row) => {
            store
                .form_enrollment_facts(order.user, row.enrollment.run)
                .await?
                .already_paid
        }
        None => false,
    };
    Ok(Facts {
        from_run,
        from,
        to_run,
        to,
        from_paid,
    })
}

fn plan(
    services: &Services,
    order: &DeferralOrder<'_>,
    facts: &Facts,
) -> Result<DeferralPlan, DeferralError> {
    let from = match (&facts.from_run, &facts.from) {
        (Some(run), Some(row)) => Some(DeferralSource {
            enrollment: &row.enrollment,
            run: &run.run,
            course_title: &run.course_title,
        }),
        _ => None,
    };
    let to = facts.to_run.as_ref().map(|run| DeferralTarget {
        run: &run.run,
        course_title: &run.course_title,
        enrollment: facts.to.as_ref().map(|r| &r.enrollment),
    });
    plan_deferral(&DeferralRequest {
        from_courseware_id: order.from_run,
        to_courseware_id: order.to_run,
        from,
        to,
        keep_failed: order.keep_failed,
        force: order.force,
        from_paid: facts.from_paid,
        now: services.now(),
    })
}

fn summary(
    record: Option<&EnrollmentRecord>,
    run: Option<&EnrollmentRun>,
) -> Option<EnrollmentSummary> {
    match (record, run) {
        (Some(record), Some(run)) => Some(EnrollmentSummary::of(record, run)),
        _ => None,
    }
}

/// Validates the deferral and returns its plan with the rows as they are now; changes
/// nothing and calls nobody (`--dry-run`).
pub async fn preview(
    services: &Services,
    order: &DeferralOrder<'_>,
) -> Result<DeferralOutcome, DeferWorkflowError> {
    let facts = facts(services, order).await?;
    let plan = plan(services, order, &facts)?;
    Ok(DeferralOutcome {
        plan,
        from: summary(facts.from.as_ref(), facts.from_run.as_ref()),
        to: summary(facts.to.as_ref(), facts.to_run.as_ref()),
        unchanged: true,
    })
}

/// Defers the learner's seat (2.9): validates, then runs the plan's steps in order, each
/// with its own edX call; stops at the first step the rules refuse.
pub async fn defer(
    services: &Services,
    order: &DeferralOrder<'_>,
) -> Result<DeferralOutcome, DeferWorkflowError> {
    let facts = facts(services, order).await?;
    let plan = plan(services, order, &facts)?;
    let (Some(from_run), Some(from_row)) = (facts.from_run.as_ref(), facts.from.as_ref()) else {
        // plan_deferral refuses a deferral without A's row.
        return Err(DeferralError::FromEnrollmentMissing(order.from_run.to_owned()).into());
    };
    let audit = Some((order.audit, AUDIT_ACTION));
    match &plan {
        DeferralPlan::DeferInPlace { request, .. } => {
            let alongside = Alongside {
                audit,
                ..Alongside::default()
            };
            let from = enroll_step(services, order.user, from_run, *request, &alongside)
                .await?
                .ok_or_else(|| {
                    DeferralError::SourceDowngradeFailed(from_run.run.courseware_id.clone())
                })?;
            Ok(DeferralOutcome {
                plan: plan.clone(),
                from: Some(EnrollmentSummary::of(&from, from_run)),
                to: None,
                unchanged: false,
            })
        }
        DeferralPlan::AlreadyDeferred => Ok(DeferralOutcome {
            plan: plan.clone(),
            from: Some(EnrollmentSummary::of(from_row, from_run)),
            to: summary(facts.to.as_ref(), facts.to_run.as_ref()),
            unchanged: true,
        }),
        DeferralPlan::Move { steps } => {
            let Some(to_run) = facts.to_run.as_ref() else {
                return Err(DeferralError::ToRunMissing(
                    order.to_run.unwrap_or_default().to_owned(),
                )
                .into());
            };
            let repoint = steps.iter().find_map(|step| match step {
                DeferralStep::RepointPayment { from, to } => Some((*from, *to)),
                _ => None,
            });
            // The repointing joins the unit of work of the last enrollment step.
            let last_enroll = steps
                .iter()
                .rposition(|s| {
                    matches!(
                        s,
                        DeferralStep::EnrollTarget { .. } | DeferralStep::DowngradeSource { .. }
                    )
                })
                .unwrap_or(0);
            let mut from_after = facts.from.clone();
            let mut to_after = facts.to.clone();
            for (index, step) in steps.iter().enumerate() {
                let alongside = Alongside {
                    audit,
                    repoint_paid_run: if index == last_enroll { repoint } else { None },
                    ..Alongside::default()
                };
                match *step {
                    DeferralStep::UnenrollAuditTarget { keep_failed, .. } => {
                        let target = to_run.run.courseware_id.clone();
                        let Some(row) = to_after.as_ref() else {
                            return Err(DeferralError::AuditDeactivationFailed(target).into());
                        };
                        let unenrolling = Unenrolling {
                            change_status: mitx_core::enrollment::ChangeStatus::Unenrolled,
                            // The seat is taken again at once (verified): no goodbye email.
                            email: UnenrollEmail::Suppress,
                            keep_failed,
                            acting: None,
                        };
                        let result = unenroll_alongside(
                            services,
                            order.user,
                            row.id,
                            unenrolling,
                            &alongside,
                        )
                        .await;
                        let saved = match result {
                            Ok(saved) => saved,
                            Err(EnrollmentError::EdxUnenroll(_)) => {
                                return Err(DeferralError::AuditDeactivationFailed(target).into());
                            }
                            Err(other) => return Err(other.into()),
                        };
                        if saved.enrollment.edx_enrolled {
                            return Err(DeferralError::AuditDeactivationFailed(target).into());
                        }
                        to_after = Some(saved);
                    }
                    DeferralStep::EnrollTarget { request, .. } => {
                        let saved = enroll_step(services, order.user, to_run, request, &alongside)
                            .await?
                            .ok_or_else(|| {
                                DeferralError::TargetEnrollFailed(to_run.run.courseware_id.clone())
                            })?;
                        to_after = Some(saved);
                    }
                    DeferralStep::DowngradeSource { request, .. } => {
                        let saved =
                            enroll_step(services, order.user, from_run, request, &alongside)
                                .await?
                                .ok_or_else(|| {
                                    DeferralError::SourceDowngradeFailed(
                                        from_run.run.courseware_id.clone(),
                                    )
                                })?;
                        from_after = Some(saved);
                    }
                    // Written with the last enrollment step.
                    DeferralStep::RepointPayment { .. } => {}
                }
            }
            Ok(DeferralOutcome {
                plan: plan.clone(),
                from: summary(from_after.as_ref(), Some(from_run)),
                to: summary(to_after.as_ref(), Some(to_run)),
                unchanged: false,
            })
        }
    }
}

/// One enrollment step: the row as saved, or `None` when edX failed and failures are not
/// kept (nothing was written).
async fn enroll_step(
    services: &Services,
    user: UserId,
    run: &EnrollmentRun,
    request: EnrollRequest,
    alongside: &Alongside<'_>,
) -> Result<Option<EnrollmentRecord>, DeferWorkflowError> {
    match enroll_alongside(services, user, run, request, None, &no_check, alongside).await? {
        Enrollment::Enrolled(record) => Ok(Some(record)),
        Enrollment::EdxFailed(failure) => {
            tracing::warn!(%user, run = %run.run.id, ?failure, "deferral step refused: Open edX failed");
            Ok(None)
        }
    }
}

/// Operator commands check nothing about the learner's row beyond the rules of 2.9.
fn no_check(
    _: Option<&EnrollmentRecord>,
    _: chrono::DateTime<chrono::Utc>,
) -> Result<(), mitx_core::enrollment::EnrollRequestError> {
    Ok(())
}
