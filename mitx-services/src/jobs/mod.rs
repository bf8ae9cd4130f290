//! The durable job queue (docs/decisions/0005 and 0008): kinds, enqueueing inside a unit
//! of work, dispatch, the worker and the periodic schedule.
//!
//! A job is a row written in the workflow's own unit of work (transactional outbox). The
//! worker claims due rows, runs them with a lease it keeps renewing, retries failures with
//! exponential backoff and jitter, and marks a job failed after its last attempt or on a
//! permanent error. Handlers are idempotent where they touch a partner: running a job
//! twice (a worker died after the partner call) changes nothing the second time.

pub mod admin;
pub mod backoff;
pub mod periodic;
pub mod schedule;
pub mod worker;

use chrono::{DateTime, Utc};
use mitx_store::jobs::{JobRecord, NewJob};
use mitx_store::{StoreError, Tx};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Services;
use crate::leases::Lease;

/// Render and send an email (`email::EmailJob`).
pub const EMAIL_SEND: &str = "email.send";
/// Push one enrollment edX does not have yet (`enrollment::EdxEnrollJob`).
pub const EDX_ENROLL: &str = "edx.enroll";
/// Store edX's answer to an email (un)subscription after a reactivation.
pub const EDX_EMAIL_SUBSCRIPTION: &str = "edx.email_subscription";
/// Build the verifiable credential of a new certificate and have it signed
/// ([`CredentialJob`]; courses spec 3.8). Queued in the unit of work that creates the
/// certificate; failures never undo the certificate.
pub const CREDENTIAL_ISSUE: &str = "credentials.issue";
/// Generate a learner's certificate for a live program after one of its course
/// certificates was created (courses spec 3.7, trigger a).
pub const PROGRAM_CERTIFICATE: &str = "certificates.program";
/// Email the receipt of a fulfilled order (`order_events::OrderJob`; ecommerce spec 3.3
/// step 3).
pub const ORDER_RECEIPT_EMAIL: &str = "orders.receipt_email";
/// Email the refund of an order (`order_events::OrderJob`; spec 5.5 step 6).
pub const ORDER_REFUND_EMAIL: &str = "orders.refund_email";
/// Re-enrol a refunded order's purchaser in its runs in audit mode (spec 5.5 step 7).
pub const ORDER_DOWNGRADE_TO_AUDIT: &str = "orders.downgrade_to_audit";
/// Unenrol a refunded order's purchaser from its runs (`refunded`; spec 5.6, T10).
pub const ORDER_UNENROLL: &str = "orders.unenroll";
/// Sync an order to the CRM as a deal (spec 3.3 step 4); recorded as skipped until the
/// HubSpot capability lands, as the original does without a HubSpot token.
pub const HUBSPOT_DEAL_SYNC: &str = "hubspot.deal_sync";
/// Announce a learner's refund request to `REFUND_REQUEST_EMAIL`
/// (`{"refund_request": id}`). Queued by `refund_requests::submit`.
pub const ORDERS_REFUND_REQUEST_EMAIL: &str = "orders.refund_request_email";
/// Prefix of the periodic jobs' kinds (`periodic.retry-failed-edx-enrollments`).
pub const PERIODIC_PREFIX: &str = "periodic.";

/// The queue every job uses so far.
pub const DEFAULT_QUEUE: &str = "default";

/// Attempts allowed for a kind before the job is marked failed.
pub fn max_attempts(kind: &str) -> u32 {
    match kind {
        EMAIL_SEND | ORDER_RECEIPT_EMAIL | ORDER_REFUND_EMAIL | ORDERS_REFUND_REQUEST_EMAIL => 8,
        EDX_ENROLL | EDX_EMAIL_SUBSCRIPTION | PROGRAM_CERTIFICATE => 5,
        _ => 3,
    }
}

/// A job row for `kind` with `payload`, due now.
pub fn new_job<T: Serialize>(
    kind: &str,
    payload: &T,
    dedupe_key: Option<String>,
    now: DateTime<Utc>,
) -> NewJob {
    NewJob {
        queue: DEFAULT_QUEUE.into(),
        name: kind.into(),
        // Serializing our own payload types cannot fail; an empty object is harmless.
        payload: serde_json::to_string(payload).unwrap_or_else(|_| "{}".into()),
        dedupe_key,
        run_after: now,
        max_attempts: max_attempts(kind),
    }
}

/// Enqueues a job in the unit of work; `false` when an unfinished job with the same dedupe
/// key already waits.
pub async fn enqueue<T: Serialize>(
    tx: &mut Tx,
    kind: &str,
    payload: &T,
    dedupe_key: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let job = new_job(kind, payload, dedupe_key, now);
    Ok(tx.enqueue_job(&job, now).await?.is_some())
}

/// Payload of [`CREDENTIAL_ISSUE`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CredentialJob {
    /// `true` for a program certificate (`program_certificates`), `false` for a course-run
    /// certificate (`course_run_certificates`).
    pub program: bool,
    /// The certificate row's id.
    pub certificate_id: i64,
}

impl CredentialJob {
    /// The dedupe key: one waiting job per certificate.
    pub fn dedupe_key(&self) -> String {
        let of = if self.program { "program" } else { "course" };
        format!("credential:{of}:{}", self.certificate_id)
    }
}

/// How a job run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// The handler marked the job done in its own unit of work (with its changes).
    Committed,
    /// Done; the note (if any) is kept on the job (`skipped: ...`).
    Done(Option<String>),
    /// A failure that may pass: retried with backoff while attempts remain.
    Retry(String),
    /// A failure that will not pass by itself: the job is marked failed now.
    Fail(String),
}

/// The claimed job a handler runs.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// The job's id.
    pub id: i64,
    /// The worker holding its lease.
    pub worker: String,
    /// This attempt (1-based).
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
}

impl JobContext {
    /// Marks the job done inside the handler's unit of work and gives back `lease` there
    /// too (one statement where the backend allows): it commits with the handler's
    /// changes, or not at all. `false` when this worker lost the job's lease (another
    /// worker took it over): roll back.
    pub async fn complete_releasing(
        &self,
        tx: &mut Tx,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        lease.stop_renewing();
        tx.complete_job_releasing(self.id, &self.worker, (lease.name(), lease.holder()), now)
            .await
    }
}

/// Reads a job's payload.
pub fn payload<T: DeserializeOwned>(job: &JobRecord) -> Result<T, JobOutcome> {
    serde_json::from_str(&job.payload)
        .map_err(|e| JobOutcome::Fail(format!("unreadable payload for {}: {e}", job.name)))
}

/// Who holds the leases a job takes: the job itself, so a later attempt of the same job
/// takes over the lease of an attempt whose worker died.
pub fn lease_holder(job_id: i64) -> String {
    format!("job:{job_id}")
}

/// The lease a job of this kind needs before it runs, if any: the worker takes the leases
/// of a claimed batch in one statement instead of one per job.
pub fn lease_of(job: &JobRecord) -> Option<String> {
    match job.name.as_str() {
        EDX_ENROLL => crate::enrollment::edx_enroll_job_lease(job),
        _ => None,
    }
}

/// Runs one claimed job; `lease` is the lease [`lease_of`] names, when the worker took it.
pub async fn dispatch(
    services: &Services,
    ctx: &JobContext,
    job: &JobRecord,
    lease: Option<Lease>,
) -> JobOutcome {
    let lease = match (job.name.as_str(), lease) {
        (EDX_ENROLL, lease) => lease,
        (_, Some(unexpected)) => {
            unexpected.release(services).await;
            None
        }
        (_, None) => None,
    };
    match job.name.as_str() {
        EMAIL_SEND => crate::email::send_job(services, ctx, job).await,
        EDX_ENROLL => crate::enrollment::run_edx_enroll_job(services, ctx, job, lease).await,
        EDX_EMAIL_SUBSCRIPTION => {
            crate::enrollment::run_email_subscription_job(services, ctx, job).await
        }
        CREDENTIAL_ISSUE => crate::credentials::run_issue_job(services, ctx, job).await,
        PROGRAM_CERTIFICATE => crate::program_certificates::run_job(services, ctx, job).await,
        HUBSPOT_DEAL_SYNC => JobOutcome::Done(Some(
            "skipped: the HubSpot integration is not configured".into(),
        )),
        ORDER_UNENROLL => crate::order_jobs::run_unenroll_job(services, job).await,
        ORDER_DOWNGRADE_TO_AUDIT => crate::refunds::run_downgrade_job(services, job).await,
        ORDER_RECEIPT_EMAIL => crate::order_emails::run_receipt_job(services, job).await,
        ORDER_REFUND_EMAIL => crate::order_emails::run_refund_job(services, job).await,
        ORDERS_REFUND_REQUEST_EMAIL => {
            crate::order_emails::run_refund_request_job(services, job).await
        }
        name => match name.strip_prefix(PERIODIC_PREFIX) {
            Some(periodic_name) => match periodic::run(services, periodic_name).await {
                Ok(report) => JobOutcome::Done(Some(report.summary)),
                Err(err) if err.is_transient() => JobOutcome::Retry(err.to_string()),
                Err(err) => JobOutcome::Fail(err.to_string()),
            },
            None => JobOutcome::Fail(format!("unknown job kind '{name}'")),
        },
    }
}
