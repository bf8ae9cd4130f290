//! The email sent after a staff update of a request (pricing-and-b2b spec 3.5).
//!
//! Sent asynchronously after every staff update, even when the status did not change;
//! failures are logged by the sender, never surfaced. Recipient: the user's email.

use serde::{Deserialize, Serialize};

use super::request::RequestStatus;
use crate::pricing::Discount;

/// The body of a status email, as data for the template renderer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StatusEmailBody {
    /// Assistance awarded "in the amount of {amount}" plus a dashboard link; `amount` is
    /// the tier discount's `friendly_format` (absent when the request has no tier).
    Approved {
        /// e.g. `"$750.00 off"`.
        amount: Option<String>,
    },
    /// Documents received; review within 5 working days.
    DocumentsReceived,
    /// The price was reset; please resubmit.
    Reset,
    /// A staff-written body (denials).
    StaffWritten {
        /// The text as supplied.
        text: String,
    },
}

/// A status email to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEmail {
    /// Subject line.
    pub subject: String,
    /// Body data.
    pub body: StatusEmailBody,
}

/// The email for a request's new status after a staff update, or `None` for
/// `auto-approved` and `created` (the original's worker raised an error for those; mitx
/// simply sends nothing). `title` is the courseware title; `staff_subject`/`staff_body`
/// are the optional `email_subject`/`email_body` of the update, used only for denials
/// (missing ones become empty).
pub fn staff_update_email(
    status: RequestStatus,
    title: &str,
    tier_discount: Option<&Discount>,
    staff_subject: Option<&str>,
    staff_body: Option<&str>,
) -> Option<StatusEmail> {
    let (subject, body) = match status {
        RequestStatus::Approved => (
            format!("Your personalized course price for {title} MITxOnline"),
            StatusEmailBody::Approved {
                amount: tier_discount.map(Discount::friendly_format),
            },
        ),
        RequestStatus::PendingManualApproval => (
            format!("Documents received for {title} MITxOnline"),
            StatusEmailBody::DocumentsReceived,
        ),
        RequestStatus::Reset => (
            format!("Update to your personalized course price for {title} MITxOnline"),
            StatusEmailBody::Reset,
        ),
        RequestStatus::Denied => (
            staff_subject.unwrap_or_default().to_owned(),
            StatusEmailBody::StaffWritten {
                text: staff_body.unwrap_or_default().to_owned(),
            },
        ),
        RequestStatus::AutoApproved | RequestStatus::Created => return None,
    };
    Some(StatusEmail { subject, body })
}
