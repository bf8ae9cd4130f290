//! Course-run enrollments (courses spec 2.1–2.3, 2.6, 4.4, and the email settings of 5.3):
//! enroll through the API, the form and the CLI; unenroll; change edX email settings; the
//! edX retry job and its command.
//!
//! Every change follows one shape: take the enrollment's lease (`enrollment:{user}:{run}`),
//! read the learner's row, ask mitx-core, make the edX call outside any transaction, then
//! save the row (compare-and-set), its audit row, the emails and follow-up jobs, and give
//! the lease back, in one unit of work. Concurrent requests for the same enrollment queue on
//! the lease, so edX is called once per change and the audit rows chain.

use chrono::{DateTime, Utc};
use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::{
    ChangeStatus, EdxFailure, EdxOutcome, EnrollEffect, EnrollOutcome, EnrollRequest,
    EnrollRequestError, EnrollmentNotFound, FormEnrollResponse, FormPrecheck, RetryResult,
    RunEnrollment, UnenrollEffect, UnenrollEmail, UnenrollOutcome, WindowCheck,
    addressable_enrollment, apply_retry_outcome, check_api_enroll, form_enrollment_result,
    form_refusal, is_repeat_enrollment, is_retry_eligible, needs_edx_enroll_call, plan_enroll,
    plan_unenroll, precheck_form_enrollment,
};
use mitx_core::ids::{CourseRunId, EnrollmentId, UserId};
use mitx_core::orders::is_uai_courseware_id;
use mitx_store::enrollments::{
    EdxRetryFilter, EnrollmentRecord, EnrollmentRun, RetryResetFilter, SavedEnrollment,
};
use mitx_store::jobs::JobRecord;
use mitx_store::users::{User, UserKey};
use mitx_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Services;
use crate::edx::tokens::{self, TokenError};
use crate::edx::users::ensure_edx_account;
use crate::email::{self, EmailJob, Template};
use crate::error::{Fault, store_fault};
use crate::jobs::{self, JobContext, JobOutcome};
use crate::leases::{self, Lease, LeaseError};

/// How many times a change that lost a race to another writer is planned again.
const MAX_REPLANS: usize = 3;

/// Why an enrollment workflow stopped.
#[derive(Debug, thiserror::Error)]
pub enum EnrollmentError {
    /// The API's checks refused the run (2.2); the message belongs to `run_id`.
    #[error(transparent)]
    Rejected(#[from] EnrollRequestError),
    /// Not the learner's active enrollment.
    #[error(transparent)]
    NotFound(#[from] EnrollmentNotFound),
    /// edX refused the enrollment and failures are not kept: nothing was written.
    #[error("Could not enroll in the course run: Open edX failed ({}).", describe(*.0))]
    EdxEnroll(EdxFailure),
    /// edX refused the unenrollment and failures are not kept: nothing was written.
    #[error("Could not unenroll from the course run: Open edX failed ({}).", describe(*.0))]
    EdxUnenroll(EdxFailure),
    /// The email settings could not be changed in edX (the message is edX's or ours).
    #[error("{0}")]
    EmailSettings(String),
    /// Another request is changing this enrollment.
    #[error(transparent)]
    Busy(#[from] LeaseError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EnrollmentError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            EnrollmentError::Rejected(_)
            | EnrollmentError::EdxEnroll(_)
            | EnrollmentError::EdxUnenroll(_)
            | EnrollmentError::EmailSettings(_) => Fault::Caller,
            EnrollmentError::NotFound(_) => Fault::NotFound,
            EnrollmentError::Busy(LeaseError::Busy(_)) => Fault::Busy,
            EnrollmentError::Busy(LeaseError::Store(err)) | EnrollmentError::Store(err) => {
                store_fault(err)
            }
        }
    }
}

fn describe(failure: EdxFailure) -> String {
    match failure {
        EdxFailure::Http { status } => format!("HTTP {status}"),
        EdxFailure::Unknown => "unknown error".into(),
        EdxFailure::NoAuth => "no API token".into(),
        EdxFailure::UserMissing => "no edX account".into(),
        EdxFailure::Connection => "unreachable".into(),
    }
}

/// The outcome of the core routine for one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enrollment {
    /// The row as saved (or as it was, for a repeat that changed nothing).
    Enrolled(EnrollmentRecord),
    /// edX failed and failures are not kept: nothing was written.
    EdxFailed(EdxFailure),
}

/// The learner's row check made under the lease (2.2 for the API; nothing for commands).
pub type RowCheck<'a> =
    &'a (dyn Fn(Option<&EnrollmentRecord>, DateTime<Utc>) -> Result<(), EnrollRequestError> + Sync);

/// The core routine (2.1) for one run: enrolls, upgrades, downgrades or reactivates the
/// learner's row per `request`. `check` validates the learner's current row under the
/// lease (the API's window check).
pub async fn enroll(
    services: &Services,
    user: UserId,
    run: &EnrollmentRun,
    request: EnrollRequest,
    acting: Option<UserId>,
    check: RowCheck<'_>,
) -> Result<Enrollment, EnrollmentError> {
    enroll_alongside(
        services,
        user,
        run,
        request,
        acting,
        check,
        &Alongside::default(),
    )
    .await
}

/// Writes an operator workflow adds to the unit of work that saves an enrollment change
/// (deferrals: the audit-log row with the operator's reason, the repointed paid run).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Alongside<'a> {
    /// An `audit_log` row about the saved row: who, why, and the action name.
    pub audit: Option<(&'a mitx_store::audit_log::Audit, &'a str)>,
    /// Repoint the learner's fulfilled paid-run rows from the first run to the second.
    pub repoint_paid_run: Option<(CourseRunId, CourseRunId)>,
    /// Record a fulfilled zero-value order for this product of the run and its paid run,
    /// with this reference-number prefix.
    pub zero_value_order: Option<(mitx_core::ids::ProductId, &'a str)>,
}

impl Alongside<'_> {
    fn is_empty(&self) -> bool {
        self.audit.is_none() && self.repoint_paid_run.is_none() && self.zero_value_order.is_none()
    }

    /// Writes them in `tx`: `before` and `after` are the row's states around the change.
    async fn write(
        &self,
        tx: &mut Tx,
        user: UserId,
        before: Option<&RunEnrollment>,
        after: &EnrollmentRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use mitx_store::audit_log::{AuditChange, audit_json};
        if let Some((from, to)) = self.repoint_paid_run {
            tx.repoint_paid_course_runs(user, from, to, now).await?;
        }
        if let Some((product, prefix)) = self.zero_value_order {
            tx.create_zero_value_order(user, after.enrollment.run, product, prefix, now)
                .await?;
        }
        // A row that did not change gets no audit-log row.
        if let Some((audit, action)) = self.audit.filter(|_| before != Some(&after.enrollment)) {
            tx.record_audit(
                &AuditChange {
                    audit,
                    action,
                    entity: "course_run_enrollment",
                    entity_id: after.id.0.to_string(),
                    before: before.and_then(audit_json),
                    after: audit_json(&after.enrollment),
                },
                now,
            )
            .await?;
        }
        Ok(())
    }
}

/// [`enroll`] with `alongside` written in the same unit of work as the row (also when the
/// row needed no change).
pub(crate) async fn enroll_alongside(
    services: &Services,
    user: UserId,
    run: &EnrollmentRun,
    request: EnrollRequest,
    acting: Option<UserId>,
    check: RowCheck<'_>,
    alongside: &Alongside<'_>,
) -> Result<Enrollment, EnrollmentError> {
    let lease = leases::acquire(
        services,
        leases::enrollment_lease(user, run.run.id),
        leases::LEASE_WAIT,
    )
    .await?;
    let result = enroll_leased(
        services, user, run, request, acting, check, alongside, &lease,
    )
    .await;
    settle_lease(services, lease, result).await
}

/// A result, and whether the lease was already given back in its unit of work.
enum Leased<T> {
    Released(T),
    Held(T),
}

impl<T> Leased<T> {
    fn into_inner(self) -> T {
        match self {
            Leased::Released(v) | Leased::Held(v) => v,
        }
    }
}

/// Gives `lease` back unless the workflow's unit of work already did, and returns the
/// result.
async fn settle_lease<T, E>(
    services: &Services,
    lease: Lease,
    result: Result<Leased<T>, E>,
) -> Result<T, E> {
    if !matches!(result, Ok(Leased::Released(_))) {
        lease.release(services).await;
    }
    result.map(Leased::into_inner)
}

#[allow(clippy::too_many_arguments)]
async fn enroll_leased(
    services: &Services,
    user: UserId,
    run: &EnrollmentRun,
    request: EnrollRequest,
    acting: Option<UserId>,
    check: RowCheck<'_>,
    alongside: &Alongside<'_>,
    lease: &Lease,
) -> Result<Leased<Enrollment>, EnrollmentError> {
    let store = services.store();
    let mut existing = store.run_enrollment(user, run.run.id).await?;
    check(existing.as_ref(), services.now())?;
    if let Some(record) = existing.as_ref()
        && is_repeat_enrollment(Some(&record.enrollment), &request)
    {
        if alongside.is_empty() {
            return Ok(Leased::Held(Enrollment::Enrolled(record.clone())));
        }
        let now = services.now();
        let mut tx = services.db().begin().await?;
        alongside
            .write(&mut tx, user, Some(&record.enrollment), record, now)
            .await?;
        lease.release_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(Leased::Released(Enrollment::Enrolled(record.clone())));
    }
    let edx = edx_enroll(services, user, run, request.mode, None).await;
    for _ in 0..MAX_REPLANS {
        let now = services.now();
        let outcome = plan_enroll(
            user,
            existing.as_ref().map(|e| &e.enrollment),
            &run.run,
            request,
            edx,
        );
        let plan = match outcome {
            EnrollOutcome::NoLocalChanges { edx_failure } => {
                return Ok(Leased::Held(Enrollment::EdxFailed(edx_failure)));
            }
            EnrollOutcome::Applied { mut runs, .. } => match runs.pop() {
                Some(plan) => plan,
                None => return Ok(Leased::Held(Enrollment::EdxFailed(EdxFailure::Unknown))),
            },
        };
        let learner = recipient(
            services,
            user,
            plan.effects.contains(&EnrollEffect::SendEnrollmentEmail),
        )
        .await?;
        let mut tx = services.db().begin().await?;
        let saved = tx
            .save_enrollment(existing.as_ref(), &plan.enrollment, acting, now)
            .await;
        let record = match saved {
            Ok(SavedEnrollment::Saved(record)) => record,
            Ok(SavedEnrollment::Raced) => {
                // A writer outside the lease (a webhook, an older process) changed the row:
                // plan again from what is there now, with the same edX outcome.
                tx.rollback().await?;
                existing = store.run_enrollment(user, run.run.id).await?;
                continue;
            }
            Err(err) => {
                drop(tx);
                report_failure(services, user, run, &err).await;
                return Err(err.into());
            }
        };
        alongside
            .write(
                &mut tx,
                user,
                existing.as_ref().map(|e| &e.enrollment),
                &record,
                now,
            )
            .await?;
        for effect in &plan.effects {
            match effect {
                EnrollEffect::AuditLog => {}
                EnrollEffect::AttachToContract { contract } => {
                    attach_to_contract(&mut tx, user, run, *contract, now).await?;
                }
                EnrollEffect::QueueEmailSubscribe => {
                    jobs::enqueue(
                        &mut tx,
                        jobs::EDX_EMAIL_SUBSCRIPTION,
                        &EmailSubscriptionJob {
                            enrollment: record.id,
                            subscribe: true,
                        },
                        None,
                        now,
                    )
                    .await?;
                }
                EnrollEffect::SendEnrollmentEmail => {
                    queue_learner_email(&mut tx, learner.as_ref(), run, Template::Enrollment, now)
                        .await?;
                }
            }
        }
        lease.release_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(Leased::Released(Enrollment::Enrolled(record)));
    }
    Err(StoreError::stale("enrollment", format!("{user}/{}", run.run.id)).into())
}

/// Joins the learner to a B2B run's contract and its organization.
async fn attach_to_contract(
    tx: &mut Tx,
    user: UserId,
    run: &EnrollmentRun,
    contract: mitx_core::ids::ContractId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use mitx_core::b2b::MembershipEffect;
    let mut effects = Vec::new();
    if let Some(organization) = run.b2b_organization {
        effects.push(MembershipEffect::CreateMembership {
            organization: mitx_core::ids::OrganizationId(organization),
            keep_until_seen: true,
        });
    }
    effects.push(MembershipEffect::AttachToContract { contract });
    tx.apply_membership_effects(user, &effects, now).await
}

/// The edX enroll call (2.1 step 1; 4.3 "Enroll call"): none for a fake run; first the
/// learner's edX account (unless its username is already known), then the enrollment with
/// the service token.
async fn edx_enroll(
    services: &Services,
    user: UserId,
    run: &EnrollmentRun,
    mode: EnrollmentMode,
    known_username: Option<String>,
) -> EdxOutcome {
    if !needs_edx_enroll_call(&[&run.run]) {
        return EdxOutcome::NotCalled;
    }
    let account = match known_username {
        Some(username) => Ok(username),
        None => ensure_edx_account(services, user).await,
    };
    let username = match account {
        Ok(username) => username,
        Err(err) => {
            tracing::warn!(%user, run = %run.run.id, err = %crate::cause_chain(&err), "no edX account for the enrollment");
            return EdxOutcome::Failed(err.failure());
        }
    };
    match services
        .edx()
        .enroll(&username, run.run.courseware_id.as_str(), mode.slug())
        .await
    {
        Ok(_) => EdxOutcome::Succeeded,
        Err(err) => {
            tracing::warn!(%user, run = %run.run.id, %err, "edX enroll failed");
            EdxOutcome::Failed(err.failure())
        }
    }
}

/// The learner an email goes to, read before the unit of work opens: a workflow never
/// reads through the pool while it holds a transaction (on SQLite the pool's other
/// connections may all be waiting for that transaction's write lock).
async fn recipient(
    services: &Services,
    user: UserId,
    wanted: bool,
) -> Result<Option<User>, StoreError> {
    if !wanted {
        return Ok(None);
    }
    services.store().find_user(&UserKey::Id(user.0)).await
}

/// Queues an email to the learner about `run` in the unit of work.
async fn queue_learner_email(
    tx: &mut Tx,
    learner: Option<&User>,
    run: &EnrollmentRun,
    template: Template,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match learner {
        Some(learner) => email::queue(tx, &learner_email(learner, run, template), now).await,
        None => Ok(()),
    }
}

fn date(at: Option<DateTime<Utc>>) -> String {
    at.map(|d| d.format("%B %-d, %Y").to_string())
        .unwrap_or_default()
}

/// The enrollment or unenrollment email of a learner for a run.
pub fn learner_email(learner: &User, run: &EnrollmentRun, template: Template) -> EmailJob {
    let number = run
        .course_readable_id
        .rsplit('+')
        .next()
        .unwrap_or(&run.course_readable_id)
        .to_owned();
    EmailJob {
        template,
        to: learner.email.clone(),
        context: json!({
            "user_name": learner.name,
            "course_title": run.course_title,
            "course_number": number,
            "run_title": run.run.title,
            "courseware_id": run.run.courseware_id.as_str(),
            "start_date": date(run.run.start_date),
            "end_date": date(run.run.end_date),
            "uai": is_uai_courseware_id(run.run.courseware_id.as_str()),
        }),
    }
}

/// Emails the support address that an enrollment failed locally (2.1: "any per-run
/// exception"). Best effort: a failure here is logged.
async fn report_failure(services: &Services, user: UserId, run: &EnrollmentRun, err: &StoreError) {
    if matches!(store_fault(err), Fault::Busy) {
        return;
    }
    let now = services.now();
    let job = EmailJob {
        template: Template::EnrollmentFailure,
        to: services.settings().email.support.clone(),
        context: json!({
            "failure_type": "enrollment",
            "object": format!("course run {} ({})", run.run.id, run.run.courseware_id.as_str()),
            "learner": format!("user {user}"),
            "occurred_at": now.to_rfc3339(),
            "details": crate::cause_chain(err),
        }),
    };
    let queued = async {
        let mut tx = services.db().begin().await?;
        email::queue(&mut tx, &job, now).await?;
        tx.commit().await
    }
    .await;
    if let Err(queue_err) = queued {
        tracing::error!(%user, run = %run.run.id, %queue_err, "enrollment failure email not queued");
    }
}

/// Enrolls through the JSON API (2.2): the run must exist, not be B2B, and (with
/// [`WindowCheck::Enforce`]) be open unless the learner already holds an active enrollment.
pub async fn enroll_via_api(
    services: &Services,
    user: UserId,
    requested: CourseRunId,
    window: WindowCheck,
) -> Result<(EnrollmentRecord, EnrollmentRun), EnrollmentError> {
    let run = services.store().enrollment_run(requested).await?;
    let Some(run) = run else {
        return Err(EnrollRequestError::InvalidRun(requested).into());
    };
    let check = |existing: Option<&EnrollmentRecord>, now| {
        check_api_enroll(
            requested,
            Some(&run.run),
            existing.map(|e| &e.enrollment),
            window,
            now,
        )
    };
    let keep = services.settings().edx.ignore_failures;
    match enroll(
        services,
        user,
        &run,
        EnrollRequest::audit(keep),
        Some(user),
        &check,
    )
    .await?
    {
        Enrollment::Enrolled(record) => Ok((record, run)),
        Enrollment::EdxFailed(failure) => Err(EnrollmentError::EdxEnroll(failure)),
    }
}

/// The form enrollment (2.6): the API's checks, then the form's, then the core routine.
pub async fn enroll_via_form(
    services: &Services,
    user: UserId,
    requested: Option<CourseRunId>,
) -> Result<FormEnrollResponse, EnrollmentError> {
    let store = services.store();
    let run = match requested {
        Some(id) => store.enrollment_run(id).await?,
        None => None,
    };
    let (Some(run), Some(requested)) = (run, requested) else {
        return Ok(match precheck_form_enrollment(false, false, false, None) {
            FormPrecheck::Respond(response) => response,
            FormPrecheck::Proceed => form_refusal(&EnrollRequestError::InvalidRun(CourseRunId(0))),
        });
    };
    let facts = store.form_enrollment_facts(user, run.run.id).await?;
    let existing = store.run_enrollment(user, run.run.id).await?;
    if let FormPrecheck::Respond(response) = precheck_form_enrollment(
        true,
        facts.country_blocked,
        facts.already_paid,
        existing.as_ref().map(|e| &e.enrollment),
    ) {
        return Ok(response);
    }
    let check = |existing: Option<&EnrollmentRecord>, now| {
        check_api_enroll(
            requested,
            Some(&run.run),
            existing.map(|e| &e.enrollment),
            WindowCheck::Enforce,
            now,
        )
    };
    let keep = services.settings().edx.ignore_failures;
    let result = enroll(
        services,
        user,
        &run,
        EnrollRequest::audit(keep),
        Some(user),
        &check,
    )
    .await;
    let enrolled = match result {
        Ok(Enrollment::Enrolled(record)) => Some(record),
        Ok(Enrollment::EdxFailed(_)) => None,
        Err(EnrollmentError::Rejected(refusal)) => return Ok(form_refusal(&refusal)),
        Err(other) => return Err(other),
    };
    let response = form_enrollment_result(
        enrolled.as_ref().is_some_and(|r| r.enrollment.edx_enrolled),
        enrolled.is_some() && keep,
        &run.course_title,
        run.active_product.is_some(),
        false,
    );
    if response.ensure_pending_order
        && let Some(product) = run.active_product
    {
        // The enrollment stands whatever happens to the order: a failure is logged.
        if let Err(err) = crate::checkout::ensure_pending_order(services, user, product.id).await {
            tracing::warn!(%user, run = %run.run.id, %err, "pending order for the run's product not created");
        }
    }
    Ok(response)
}

/// The learner's own active enrollment `id` and its run; another learner's, an inactive
/// or an unknown one is not found.
async fn own_enrollment(
    services: &Services,
    user: UserId,
    id: EnrollmentId,
) -> Result<(EnrollmentRecord, EnrollmentRun), EnrollmentError> {
    let record = services.store().enrollment_by_id(id).await?;
    addressable_enrollment(user, record.as_ref().map(|r| &r.enrollment))?;
    let Some(record) = record else {
        return Err(EnrollmentNotFound.into());
    };
    let run = services
        .store()
        .enrollment_run(record.enrollment.run)
        .await?
        .ok_or(EnrollmentNotFound)?;
    Ok((record, run))
}

/// Unenrolls the learner from their active enrollment `id` (2.3): edX first (failures kept
/// per `IGNORE_EDX_FAILURES`), then the row, its audit row, the paid-run rows and the email.
pub async fn unenroll(
    services: &Services,
    user: UserId,
    id: EnrollmentId,
    change_status: ChangeStatus,
    email: UnenrollEmail,
) -> Result<EnrollmentRecord, EnrollmentError> {
    let unenrolling = Unenrolling {
        change_status,
        email,
        keep_failed: services.settings().edx.ignore_failures,
        acting: Some(user),
    };
    unenroll_alongside(services, user, id, unenrolling, &Alongside::default()).await
}

/// How [`unenroll_alongside`] unenrolls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unenrolling {
    pub change_status: ChangeStatus,
    pub email: UnenrollEmail,
    /// Deactivate locally even when edX refuses.
    pub keep_failed: bool,
    /// Who acts (`None`: an operator command).
    pub acting: Option<UserId>,
}

/// [`unenroll`] with the keep-failed choice of the caller and `alongside` written in the
/// same unit of work as the row.
pub(crate) async fn unenroll_alongside(
    services: &Services,
    user: UserId,
    id: EnrollmentId,
    unenrolling: Unenrolling,
    alongside: &Alongside<'_>,
) -> Result<EnrollmentRecord, EnrollmentError> {
    let (record, run) = own_enrollment(services, user, id).await?;
    let run_id = record.enrollment.run;
    let lease = leases::acquire(
        services,
        leases::enrollment_lease(user, run_id),
        leases::LEASE_WAIT,
    )
    .await?;
    let result = unenroll_leased(services, user, id, &run, unenrolling, alongside, &lease).await;
    settle_lease(services, lease, result).await
}

async fn unenroll_leased(
    services: &Services,
    user: UserId,
    id: EnrollmentId,
    run: &EnrollmentRun,
    unenrolling: Unenrolling,
    alongside: &Alongside<'_>,
    lease: &Lease,
) -> Result<Leased<EnrollmentRecord>, EnrollmentError> {
    let Unenrolling {
        change_status,
        email,
        keep_failed: keep,
        acting,
    } = unenrolling;
    // Read again under the lease: a concurrent request may have unenrolled meanwhile.
    let record = services.store().enrollment_by_id(id).await?;
    addressable_enrollment(user, record.as_ref().map(|r| &r.enrollment))?;
    let Some(mut record) = record else {
        return Err(EnrollmentNotFound.into());
    };
    let edx = edx_unenroll(services, user, run, &record.enrollment).await;
    for _ in 0..MAX_REPLANS {
        let now = services.now();
        let plan = match plan_unenroll(&record.enrollment, change_status, edx, keep, email) {
            UnenrollOutcome::Failed { edx_failure } => {
                return Err(EnrollmentError::EdxUnenroll(edx_failure));
            }
            UnenrollOutcome::Deactivated(plan) => plan,
        };
        let learner = recipient(
            services,
            user,
            plan.effects
                .contains(&UnenrollEffect::SendUnenrollmentEmail),
        )
        .await?;
        let mut tx = services.db().begin().await?;
        let saved = tx
            .save_enrollment(Some(&record), &plan.enrollment, acting, now)
            .await?;
        let saved = match saved {
            SavedEnrollment::Saved(saved) => saved,
            SavedEnrollment::Raced => {
                tx.rollback().await?;
                let fresh = services.store().enrollment_by_id(id).await?;
                addressable_enrollment(user, fresh.as_ref().map(|r| &r.enrollment))?;
                record = fresh.ok_or(EnrollmentNotFound)?;
                continue;
            }
        };
        alongside
            .write(&mut tx, user, Some(&record.enrollment), &saved, now)
            .await?;
        for effect in &plan.effects {
            match effect {
                UnenrollEffect::AuditLog => {}
                UnenrollEffect::DeletePaidCourseRuns { user, run } => {
                    tx.delete_paid_course_runs(*user, *run).await?;
                }
                UnenrollEffect::SendUnenrollmentEmail => {
                    queue_learner_email(
                        &mut tx,
                        learner.as_ref(),
                        run,
                        Template::Unenrollment,
                        now,
                    )
                    .await?;
                }
            }
        }
        lease.release_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(Leased::Released(saved));
    }
    Err(StoreError::stale("enrollment", id).into())
}

/// The edX unenroll call. Nothing to undo in edX (no call) for a fake run, or for a row edX
/// never had when the learner has no edX account at all.
async fn edx_unenroll(
    services: &Services,
    user: UserId,
    run: &EnrollmentRun,
    row: &RunEnrollment,
) -> EdxOutcome {
    if !needs_edx_enroll_call(&[&run.run]) {
        return EdxOutcome::NotCalled;
    }
    let account = match services.store().edx_user(user).await {
        Ok(account) => account
            .filter(|a| a.has_been_synced)
            .and_then(|a| a.edx_username),
        Err(err) => {
            tracing::warn!(%user, %err, "edX account not read");
            return EdxOutcome::Failed(EdxFailure::Unknown);
        }
    };
    let Some(username) = account else {
        return if row.edx_enrolled {
            EdxOutcome::Failed(EdxFailure::UserMissing)
        } else {
            EdxOutcome::NotCalled
        };
    };
    match services
        .edx()
        .unenroll(&username, run.run.courseware_id.as_str())
        .await
    {
        Ok(_) => EdxOutcome::Succeeded,
        Err(err) => {
            tracing::warn!(%user, run = %run.run.id, %err, "edX unenroll failed");
            EdxOutcome::Failed(err.failure())
        }
    }
}

/// `PATCH /api/v1/enrollments/{id}/` (5.3): subscribes or unsubscribes the learner to the
/// course's edX emails with the learner's own edX token; `edx_emails_subscription` follows
/// edX's answer. Returns edX's `success`.
pub async fn set_email_subscription(
    services: &Services,
    user: UserId,
    id: EnrollmentId,
    subscribe: bool,
) -> Result<bool, EnrollmentError> {
    let (_, run) = own_enrollment(services, user, id).await?;
    let token = tokens::access_token(services, user).await.map_err(|err| {
        EnrollmentError::EmailSettings(format!("Unable to change course email settings: {err}"))
    })?;
    let success = services
        .edx()
        .change_email_settings(&token, run.run.courseware_id.as_str(), subscribe)
        .await
        .map_err(|err| EnrollmentError::EmailSettings(err.to_string()))?;
    if success {
        store_subscription(services, id, subscribe).await?;
    }
    Ok(success)
}

/// Records edX's email subscription on the row (compare-and-set, audited).
async fn store_subscription(
    services: &Services,
    id: EnrollmentId,
    subscribe: bool,
) -> Result<(), StoreError> {
    for _ in 0..MAX_REPLANS {
        let Some(record) = services.store().enrollment_by_id(id).await? else {
            return Ok(());
        };
        if record.enrollment.edx_emails_subscription == subscribe {
            return Ok(());
        }
        let mut after = record.enrollment.clone();
        after.edx_emails_subscription = subscribe;
        let mut tx = services.db().begin().await?;
        match tx
            .save_enrollment(
                Some(&record),
                &after,
                Some(record.enrollment.user),
                services.now(),
            )
            .await?
        {
            SavedEnrollment::Saved(_) => return tx.commit().await,
            SavedEnrollment::Raced => tx.rollback().await?,
        }
    }
    Err(StoreError::stale("enrollment", id))
}

/// The payload of [`jobs::EDX_EMAIL_SUBSCRIPTION`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSubscriptionJob {
    /// The enrollment.
    pub enrollment: EnrollmentId,
    /// Subscribe (true) or unsubscribe.
    pub subscribe: bool,
}

/// Runs an [`EmailSubscriptionJob`] (4.4: after a reactivation the learner is subscribed
/// again and edX's answer is stored).
pub(crate) async fn run_email_subscription_job(
    services: &Services,
    _ctx: &JobContext,
    job: &JobRecord,
) -> JobOutcome {
    let payload: EmailSubscriptionJob = match jobs::payload(job) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let record = match services.store().enrollment_by_id(payload.enrollment).await {
        Ok(Some(record)) if record.enrollment.active => record,
        Ok(_) => {
            return JobOutcome::Done(Some("skipped: the enrollment is no longer active".into()));
        }
        Err(err) => return JobOutcome::Retry(err.to_string()),
    };
    let user = record.enrollment.user;
    let run = match services.store().enrollment_run(record.enrollment.run).await {
        Ok(Some(run)) => run,
        Ok(None) => return JobOutcome::Done(Some("skipped: the run no longer exists".into())),
        Err(err) => return JobOutcome::Retry(err.to_string()),
    };
    let token = match tokens::access_token(services, user).await {
        Ok(token) => token,
        Err(err @ (TokenError::NoToken | TokenError::Revoked)) => {
            return JobOutcome::Done(Some(format!("skipped: {err}")));
        }
        Err(err) => return JobOutcome::Retry(err.to_string()),
    };
    match services
        .edx()
        .change_email_settings(&token, run.run.courseware_id.as_str(), payload.subscribe)
        .await
    {
        Ok(true) => match store_subscription(services, payload.enrollment, payload.subscribe).await
        {
            Ok(()) => JobOutcome::Done(None),
            Err(err) => JobOutcome::Retry(err.to_string()),
        },
        Ok(false) => JobOutcome::Done(Some("edX answered success=false".into())),
        Err(err) if err.failure().is_permanent() => JobOutcome::Fail(err.to_string()),
        Err(err) => JobOutcome::Retry(err.to_string()),
    }
}

/// The payload of [`jobs::EDX_ENROLL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdxEnrollJob {
    /// The enrollment.
    pub enrollment: EnrollmentId,
    /// Its learner.
    pub user: UserId,
    /// Its run.
    pub run: CourseRunId,
}

/// What one edX retry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryDone {
    /// The retry ran: its result (enrolled, counted or transient failure).
    Attempted(RetryResult),
    /// Nothing to do any more (edX has it, or it is inactive, or gone).
    NotNeeded,
}

/// What [`retry_edx_enrollment`] did, and whether it marked its job done with the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retried {
    /// The outcome.
    pub done: RetryDone,
    /// The job (if one was given) was completed in the same unit of work.
    pub job_completed: bool,
}

/// Pushes one enrollment edX does not have (4.4): in the row's own mode; success sets
/// `edx_enrolled` and `edx_emails_subscription` and queues the enrollment email; a
/// permanent failure counts against the row's retry budget; a transient one changes
/// nothing. With `job`, the job is marked done in the same unit of work as the row (not on
/// a transient failure, which the queue retries). `force` retries rows edX already has.
pub async fn retry_edx_enrollment(
    services: &Services,
    target: EdxEnrollJob,
    force: bool,
    job: Option<&JobContext>,
    taken: Option<Lease>,
) -> Result<Retried, EnrollmentError> {
    let name = leases::enrollment_lease(target.user, target.run);
    let lease = match (taken, job) {
        (Some(lease), _) if lease.name() == name => lease,
        (taken, job) => {
            if let Some(other) = taken {
                other.release(services).await;
            }
            match job {
                // The job holds the lease, so its next attempt resumes after a dead worker.
                Some(ctx) => {
                    let holder = jobs::lease_holder(ctx.id);
                    leases::acquire_as(services, name, holder, leases::LEASE_WAIT).await?
                }
                None => leases::acquire(services, name, leases::LEASE_WAIT).await?,
            }
        }
    };
    let result = retry_leased(services, target, force, job, &lease).await;
    settle_lease(services, lease, result).await
}

async fn retry_leased(
    services: &Services,
    target: EdxEnrollJob,
    force: bool,
    job: Option<&JobContext>,
    lease: &Lease,
) -> Result<Leased<Retried>, EnrollmentError> {
    let not_needed = Leased::Held(Retried {
        done: RetryDone::NotNeeded,
        job_completed: false,
    });
    let Some(facts) = services.store().enrollment_facts(target.enrollment).await? else {
        return Ok(not_needed);
    };
    let (record, run) = (facts.record, facts.run);
    if !record.enrollment.active || (record.enrollment.edx_enrolled && !force) {
        return Ok(not_needed);
    }
    let edx = edx_enroll(
        services,
        record.enrollment.user,
        &run,
        record.enrollment.mode,
        facts.edx_username,
    )
    .await;
    let outcome = match edx {
        EdxOutcome::Succeeded | EdxOutcome::NotCalled => Ok(()),
        EdxOutcome::Failed(failure) => Err(failure),
    };
    let (after, result) = apply_retry_outcome(&record.enrollment, outcome);
    let attempted = |job_completed| Retried {
        done: RetryDone::Attempted(result),
        job_completed,
    };
    if result == RetryResult::TransientFailure {
        return Ok(Leased::Held(attempted(false)));
    }
    let learner = (result == RetryResult::Enrolled).then_some(facts.learner);
    let now = services.now();
    let mut tx = services.db().begin().await?;
    if after != record.enrollment {
        match tx.save_enrollment(Some(&record), &after, None, now).await? {
            SavedEnrollment::Saved(_) => {}
            SavedEnrollment::Raced => {
                // Changed outside the lease meanwhile: the next retry looks again.
                tx.rollback().await?;
                return Ok(Leased::Held(Retried {
                    done: RetryDone::Attempted(RetryResult::TransientFailure),
                    job_completed: false,
                }));
            }
        }
    }
    if result == RetryResult::Enrolled {
        queue_learner_email(&mut tx, learner.as_ref(), &run, Template::Enrollment, now).await?;
    }
    match job {
        Some(ctx) => {
            if !ctx.complete_releasing(&mut tx, lease, now).await? {
                // Another worker took this job over; its run records the outcome.
                tx.rollback().await?;
                return Ok(Leased::Held(attempted(false)));
            }
        }
        None => lease.release_in(&mut tx).await?,
    }
    tx.commit().await?;
    Ok(Leased::Released(attempted(job.is_some())))
}

/// The enrollment lease an [`EdxEnrollJob`] runs under.
pub(crate) fn edx_enroll_job_lease(job: &JobRecord) -> Option<String> {
    let target: EdxEnrollJob = jobs::payload(job).ok()?;
    Some(leases::enrollment_lease(target.user, target.run))
}

/// Runs an [`EdxEnrollJob`], under `lease` when the worker already took it.
pub(crate) async fn run_edx_enroll_job(
    services: &Services,
    ctx: &JobContext,
    job: &JobRecord,
    lease: Option<Lease>,
) -> JobOutcome {
    let target: EdxEnrollJob = match jobs::payload(job) {
        Ok(p) => p,
        Err(outcome) => {
            if let Some(lease) = lease {
                lease.release(services).await;
            }
            return outcome;
        }
    };
    match retry_edx_enrollment(services, target, false, Some(ctx), lease).await {
        Ok(Retried {
            job_completed: true,
            ..
        }) => JobOutcome::Committed,
        Ok(Retried {
            done: RetryDone::NotNeeded,
            ..
        }) => JobOutcome::Done(Some(
            "not needed: edX has it, or it is inactive or gone".into(),
        )),
        Ok(Retried {
            done: RetryDone::Attempted(RetryResult::TransientFailure),
            ..
        }) => JobOutcome::Retry("Open edX failed transiently".into()),
        Ok(Retried {
            done: RetryDone::Attempted(result),
            ..
        }) => JobOutcome::Done(Some(format!("{result:?}"))),
        Err(err) => JobOutcome::Retry(crate::cause_chain(&err)),
    }
}

/// The periodic retry (4.4): queues an [`EdxEnrollJob`] for every active enrollment of an
/// active user that edX does not have, created more than 5 minutes ago, with fewer than 5
/// permanent failures. One unfinished job per enrollment; returns how many were queued.
pub async fn queue_edx_retries(services: &Services) -> Result<u64, StoreError> {
    use mitx_core::enrollment::{MAX_ENROLLMENT_RETRIES, REPAIR_GRACE_PERIOD_MINUTES};
    let now = services.now();
    let mut filter = EdxRetryFilter {
        created_before: Some(now - chrono::Duration::minutes(REPAIR_GRACE_PERIOD_MINUTES)),
        below_retry_count: Some(MAX_ENROLLMENT_RETRIES),
        active_users_only: true,
        limit: 500,
        ..EdxRetryFilter::default()
    };
    let mut queued = 0;
    loop {
        let batch = services.store().edx_retry_candidates(&filter).await?;
        let Some(last) = batch.last() else { break };
        filter.after_id = last.id.0;
        let mut tx = services.db().begin().await?;
        for record in &batch {
            if !is_retry_eligible(&record.enrollment, true, record.created_on, now) {
                continue;
            }
            let target = EdxEnrollJob {
                enrollment: record.id,
                user: record.enrollment.user,
                run: record.enrollment.run,
            };
            let key = Some(format!("edx.enroll:{}", record.id.0));
            if jobs::enqueue(&mut tx, jobs::EDX_ENROLL, &target, key, now).await? {
                queued += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// Which enrollments `mitx edx retry-enrollments` pushes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryScope {
    /// Only these learners (all when empty).
    pub users: Vec<UserId>,
    /// Only this run.
    pub run: Option<CourseRunId>,
    /// Also rows edX already has.
    pub force: bool,
}

/// One enrollment `mitx edx retry-enrollments` looked at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetryLine {
    /// The enrollment.
    pub enrollment: EnrollmentId,
    /// Its learner.
    pub user: UserId,
    /// Its run.
    pub run: CourseRunId,
    /// What happened.
    pub outcome: String,
    /// Whether edX has it now.
    pub enrolled: bool,
}

/// The rows `mitx edx retry-enrollments` would push: active rows of active users that edX
/// does not have (all active rows with `force`), whatever their age or retry count.
pub async fn retry_candidates(
    services: &Services,
    scope: &RetryScope,
) -> Result<Vec<EnrollmentRecord>, StoreError> {
    let users: Vec<Option<UserId>> = if scope.users.is_empty() {
        vec![None]
    } else {
        scope.users.iter().copied().map(Some).collect()
    };
    let mut out = Vec::new();
    for user in users {
        let mut filter = EdxRetryFilter {
            user,
            run: scope.run,
            include_edx_enrolled: scope.force,
            active_users_only: true,
            limit: 1000,
            ..EdxRetryFilter::default()
        };
        loop {
            let batch = services.store().edx_retry_candidates(&filter).await?;
            let Some(last) = batch.last() else { break };
            filter.after_id = last.id.0;
            out.extend(batch);
        }
    }
    Ok(out)
}

/// Pushes one candidate now (`mitx edx retry-enrollments`), reporting the outcome.
pub async fn retry_one(services: &Services, record: &EnrollmentRecord, force: bool) -> RetryLine {
    let target = EdxEnrollJob {
        enrollment: record.id,
        user: record.enrollment.user,
        run: record.enrollment.run,
    };
    let done = retry_edx_enrollment(services, target, force, None, None)
        .await
        .map(|r| r.done);
    let (outcome, enrolled) = match done {
        Ok(RetryDone::Attempted(RetryResult::Enrolled)) => ("enrolled".to_owned(), true),
        Ok(RetryDone::Attempted(RetryResult::CountedFailure)) => {
            ("failed (counted against its retries)".to_owned(), false)
        }
        Ok(RetryDone::Attempted(RetryResult::TransientFailure)) => {
            ("failed (transient; try again later)".to_owned(), false)
        }
        Ok(RetryDone::NotNeeded) => ("not needed".to_owned(), true),
        Err(err) => (format!("error: {err}"), false),
    };
    RetryLine {
        enrollment: record.id,
        user: record.enrollment.user,
        run: record.enrollment.run,
        outcome,
        enrolled,
    }
}

/// `mitx edx reset-retries`: puts the retry counter of matching rows edX does not have back
/// to zero, with an audit row; how many changed.
pub async fn reset_edx_retries(
    services: &Services,
    filter: &RetryResetFilter,
    audit: &mitx_store::audit_log::Audit,
) -> Result<u64, StoreError> {
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let changed = tx.reset_edx_retry_counts(filter, now).await?;
    if changed > 0 {
        let scope = json!({
            "user": filter.user.map(|u| u.0),
            "run": filter.run.map(|r| r.0),
            "only_exhausted": filter.only_exhausted_at.is_some(),
            "rows": changed,
        });
        tx.record_audit(
            &mitx_store::audit_log::AuditChange {
                audit,
                action: "enrollment.reset_edx_retries",
                entity: "course_run_enrollment",
                entity_id: "*".into(),
                before: None,
                after: Some(scope.to_string()),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}
