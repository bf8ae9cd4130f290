//! Attachment records: who was given or redeemed an enrollment code for a contract
//! (pricing-and-b2b spec 5.5), and the status of a code derived from them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::{ContractId, DiscountId, UserId};

/// Storage id of an attachment record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttachmentId(pub i64);

impl fmt::Display for AttachmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Delivery status of the invitation email of an assignment (Mailgun events plus
/// `pending`, set when an invitation is queued).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    /// An invitation is queued or being sent.
    Pending,
    /// Mailgun accepted the message.
    Accepted,
    /// Delivered to the recipient's server.
    Delivered,
    /// Opened.
    Opened,
    /// A link was clicked.
    Clicked,
    /// Permanently failed.
    Failed,
}

impl EmailStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Accepted => "accepted",
            EmailStatus::Delivered => "delivered",
            EmailStatus::Opened => "opened",
            EmailStatus::Clicked => "clicked",
            EmailStatus::Failed => "failed",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        [
            EmailStatus::Pending,
            EmailStatus::Accepted,
            EmailStatus::Delivered,
            EmailStatus::Opened,
            EmailStatus::Clicked,
            EmailStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// What the manager API shows: `pending` for both pending and accepted (Mailgun has
    /// the message but has not delivered it yet), otherwise the stored value.
    pub fn api_text(status: Option<EmailStatus>) -> Option<&'static str> {
        status.map(|s| match s {
            EmailStatus::Accepted => EmailStatus::Pending.as_str(),
            other => other.as_str(),
        })
    }
}

/// The redemption status of an enrollment code within a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeStatus {
    /// No attachment record.
    Unassigned,
    /// A record with an email but no user and no redemption date.
    Assigned,
    /// A record with a user or a redemption date.
    Redeemed,
}

impl CodeStatus {
    /// The API text (`unassigned`, `assigned`, `redeemed`).
    pub fn as_str(self) -> &'static str {
        match self {
            CodeStatus::Unassigned => "unassigned",
            CodeStatus::Assigned => "assigned",
            CodeStatus::Redeemed => "redeemed",
        }
    }
}

/// `DiscountContractAttachmentRedemption`: one assignment and/or redemption of a code for
/// a contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    /// Storage id.
    pub id: AttachmentId,
    /// The code.
    pub discount: DiscountId,
    /// The contract.
    pub contract: ContractId,
    /// The learner who redeemed the code, once redeemed.
    pub user: Option<UserId>,
    /// "" when the code was redeemed without an assignment.
    pub assigned_email: String,
    /// The assignee's name.
    pub assigned_name: String,
    /// The manager who assigned it.
    pub assigned_by: Option<UserId>,
    /// When the code was redeemed.
    pub redeemed_on: Option<Timestamp>,
    /// When the invitation was last sent.
    pub last_reminder_sent_on: Option<Timestamp>,
    /// Mailgun message id without `<>`; "" until sent.
    pub email_message_id: String,
    /// Latest stored Mailgun status.
    pub email_status: Option<EmailStatus>,
    /// Time of that Mailgun event.
    pub email_status_event_timestamp: Option<Timestamp>,
    /// Creation time ("assigned on").
    pub created_on: Timestamp,
}

impl AttachmentRecord {
    /// A record with a user or a redemption date is a redemption.
    pub fn is_redeemed(&self) -> bool {
        self.user.is_some() || self.redeemed_on.is_some()
    }

    /// Redeemed, or else assigned.
    pub fn status(&self) -> CodeStatus {
        if self.is_redeemed() {
            CodeStatus::Redeemed
        } else {
            CodeStatus::Assigned
        }
    }
}

/// The most recent record (by creation time, then id), which decides a code's status.
pub fn latest_record<'a>(
    records: impl IntoIterator<Item = &'a AttachmentRecord>,
) -> Option<&'a AttachmentRecord> {
    records.into_iter().max_by_key(|r| (r.created_on, r.id))
}

/// A code's status from its records: none → unassigned, else the latest record's status.
pub fn code_status<'a>(records: impl IntoIterator<Item = &'a AttachmentRecord>) -> CodeStatus {
    latest_record(records).map_or(CodeStatus::Unassigned, AttachmentRecord::status)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::b2b::run_key::tests::ts;

    /// An assignment of `discount` to `email` in contract 42, not redeemed.
    pub fn assigned(id: i64, discount: i64, email: &str) -> AttachmentRecord {
        AttachmentRecord {
            id: AttachmentId(id),
            discount: DiscountId(discount),
            contract: ContractId(42),
            user: None,
            assigned_email: email.into(),
            assigned_name: String::new(),
            assigned_by: Some(UserId(1)),
            redeemed_on: None,
            last_reminder_sent_on: None,
            email_message_id: String::new(),
            email_status: Some(EmailStatus::Pending),
            email_status_event_timestamp: None,
            created_on: ts(2025, 4, 1),
        }
    }

    #[test]
    fn code_status_from_records() {
        assert_eq!(code_status(&[]), CodeStatus::Unassigned);
        let a = assigned(1, 7, "a@example.com");
        assert_eq!(code_status([&a]), CodeStatus::Assigned);
        let mut r = a.clone();
        r.user = Some(UserId(5));
        assert_eq!(r.status(), CodeStatus::Redeemed);
        let mut d = a.clone();
        d.redeemed_on = Some(ts(2025, 4, 2));
        assert_eq!(d.status(), CodeStatus::Redeemed);
        // The latest record decides.
        let mut later = a.clone();
        later.id = AttachmentId(2);
        later.created_on = ts(2025, 5, 1);
        assert_eq!(code_status([&r, &later]), CodeStatus::Assigned);
        assert_eq!(CodeStatus::Redeemed.as_str(), "redeemed");
    }

    #[test]
    fn email_status_text() {
        assert_eq!(EmailStatus::parse("failed"), Some(EmailStatus::Failed));
        assert_eq!(EmailStatus::parse("bounced"), None);
        assert_eq!(
            EmailStatus::api_text(Some(EmailStatus::Accepted)),
            Some("pending")
        );
        assert_eq!(
            EmailStatus::api_text(Some(EmailStatus::Opened)),
            Some("opened")
        );
        assert_eq!(EmailStatus::api_text(None), None);
    }
}
