//! Emails (integrations spec 5): a workflow queues an [`EmailJob`] in its unit of work;
//! the worker renders it from its template (HTML, and text derived from the HTML) and
//! sends it through the configured transport. The default transport writes each message
//! to the outbox folder; SMTP is a setting.

mod render;
mod text;
mod transport;

use chrono::{DateTime, Utc};
use mitx_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use render::{RenderedEmail, render};
pub use text::html_to_text;
pub use transport::Mailer;

use crate::jobs;

/// The emails mitx sends so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// A course-run enrollment edX confirmed (not a downgrade).
    Enrollment,
    /// An unenrollment edX confirmed.
    Unenrollment,
    /// An enrollment that failed, to the support address.
    EnrollmentFailure,
    /// A learner shared a program record with a partner school (integrations spec 5).
    RecordShare,
    /// The receipt of a fulfilled order (ecommerce spec 7).
    OrderReceipt,
    /// An order was refunded.
    OrderRefund,
    /// A learner asked for a refund, to the refund-request address.
    RefundRequest,
}

impl Template {
    /// The template file.
    pub fn file(self) -> &'static str {
        match self {
            Template::Enrollment => "enrollment.html",
            Template::Unenrollment => "unenrollment.html",
            Template::EnrollmentFailure => "enrollment_failure.html",
            Template::RecordShare => "record_share.html",
            Template::OrderReceipt => "order_receipt.html",
            Template::OrderRefund => "order_refund.html",
            Template::RefundRequest => "refund_request.html",
        }
    }
}

/// An email to send: the template, the recipient and what the template shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailJob {
    /// Which email.
    pub template: Template,
    /// The recipient's address.
    pub to: String,
    /// The template's values (course title, dates, names...).
    pub context: Value,
}

/// Why an email could not be rendered or sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The template failed (a bug: every template is tested).
    #[error("template {template}: {message}")]
    Template {
        /// The template.
        template: &'static str,
        /// Why.
        message: String,
    },
    /// An address is not valid.
    #[error("invalid address '{0}'")]
    Address(String),
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The outbox folder could not be written.
    #[error("cannot write to the outbox {path}: {source}")]
    Outbox {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The SMTP server refused or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(String),
}

impl EmailError {
    /// Whether trying again later can help (the transport failed, not the message).
    pub fn is_transient(&self) -> bool {
        matches!(self, EmailError::Outbox { .. } | EmailError::Smtp(_))
    }
}

/// Queues an email in the unit of work of the change it reports.
pub async fn queue(tx: &mut Tx, email: &EmailJob, now: DateTime<Utc>) -> Result<(), StoreError> {
    let job = jobs::new_job(jobs::EMAIL_SEND, email, None, now);
    tx.enqueue_job(&job, now).await.map(drop)
}

/// Runs an [`EmailJob`]: renders it and hands it to the transport. The message is named
/// after the job, so a job that runs twice (its worker died after sending) rewrites the
/// same outbox file.
pub(crate) async fn send_job(
    services: &crate::Services,
    _ctx: &jobs::JobContext,
    job: &mitx_store::jobs::JobRecord,
) -> jobs::JobOutcome {
    let email: EmailJob = match jobs::payload(job) {
        Ok(email) => email,
        Err(outcome) => return outcome,
    };
    let settings = services.settings();
    let rendered = match render(&email, &settings.email, &settings.site) {
        Ok(rendered) => rendered,
        Err(err) => return jobs::JobOutcome::Fail(err.to_string()),
    };
    match services
        .mailer()
        .send(&rendered, &format!("job-{}", job.id))
        .await
    {
        Ok(()) => jobs::JobOutcome::Done(None),
        Err(err) if err.is_transient() => jobs::JobOutcome::Retry(err.to_string()),
        Err(err) => jobs::JobOutcome::Fail(err.to_string()),
    }
}
