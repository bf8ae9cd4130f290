//! Code invitation emails and the Mailgun delivery webhook, as pure filters
//! (pricing-and-b2b spec 5.10). The HMAC signature check and the HTTP side live in the
//! services layer; here are the rules that decide what a webhook event changes.

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use super::{AttachmentRecord, EmailStatus};
use crate::Timestamp;

/// Subject of the code invitation email.
pub const INVITATION_SUBJECT: &str = "You've been invited to MIT Learn";

/// The `X-Mailgun-Tag` of invitation emails (not set on test emails); webhook events
/// without it are dropped.
pub const ASSIGNMENT_TAG: &str = "enrollment-code-assignment";

/// The code the manager "send test email" action uses.
pub const PLACEHOLDER_CODE: &str = "PLACEHOLDER_CODE";

/// The link in the invitation: `MIT_LEARN_ATTACH_URL` (default
/// `{MIT_LEARN_BASE_URL}/enrollmentcode/`) followed by the code.
pub fn code_url(attach_url: Option<&str>, learn_base_url: &str, code: &str) -> String {
    match attach_url.filter(|u| !u.is_empty()) {
        Some(url) => format!("{url}{code}"),
        None => format!(
            "{}/enrollmentcode/{code}",
            learn_base_url.trim_end_matches('/')
        ),
    }
}

/// The stored message id: Mailgun's id without the surrounding `<>`.
pub fn stored_message_id(mailgun_id: &str) -> String {
    mailgun_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// A Mailgun event timestamp (epoch seconds with a fraction) as an instant.
pub fn event_timestamp(epoch_seconds: f64) -> Option<Timestamp> {
    if !epoch_seconds.is_finite() {
        return None;
    }
    let whole = epoch_seconds.floor();
    // Float-to-int casts saturate, and an out-of-range second count is refused by
    // `from_timestamp`; the fraction is in [0, 1), so the nanoseconds fit in u32.
    let secs = whole as i64;
    let nanos = ((epoch_seconds - whole) * 1e9) as u32;
    DateTime::from_timestamp(secs, nanos.min(999_999_999))
}

/// One webhook event, already parsed from `event-data`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// `event-data.event`.
    pub event: String,
    /// `event-data.severity` (for `failed`: `permanent` or `temporary`).
    pub severity: Option<String>,
    /// `event-data.tags`.
    pub tags: Vec<String>,
    /// `event-data.message.headers.message-id`.
    pub message_id: String,
    /// `event-data.timestamp`.
    pub timestamp: Timestamp,
}

/// Why an event changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IgnoredEvent {
    /// Not an invitation email.
    NotAnInvitation,
    /// Not one of delivered/accepted/opened/clicked/failed.
    UntrackedEvent,
    /// A temporary failure: Mailgun retries, the status stays.
    TemporaryFailure,
    /// The record already has an event at or after this one.
    Stale,
}

/// The status an event would set, or why it is ignored (before the record is known).
pub fn event_status(event: &WebhookEvent) -> Result<EmailStatus, IgnoredEvent> {
    if !event.tags.iter().any(|t| t == ASSIGNMENT_TAG) {
        return Err(IgnoredEvent::NotAnInvitation);
    }
    let status = match event.event.as_str() {
        "delivered" => EmailStatus::Delivered,
        "accepted" => EmailStatus::Accepted,
        "opened" => EmailStatus::Opened,
        "clicked" => EmailStatus::Clicked,
        "failed" => EmailStatus::Failed,
        _ => return Err(IgnoredEvent::UntrackedEvent),
    };
    if status == EmailStatus::Failed && event.severity.as_deref() == Some("temporary") {
        return Err(IgnoredEvent::TemporaryFailure);
    }
    Ok(status)
}

/// The (status, event timestamp) to store on the record found by message id: only when
/// the record has no event timestamp yet or this event is strictly newer.
pub fn apply_event(
    record: &AttachmentRecord,
    event: &WebhookEvent,
) -> Result<(EmailStatus, Timestamp), IgnoredEvent> {
    let status = event_status(event)?;
    if record
        .email_status_event_timestamp
        .is_some_and(|stored| event.timestamp <= stored)
    {
        return Err(IgnoredEvent::Stale);
    }
    Ok((status, event.timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::record::tests::assigned;
    use crate::b2b::run_key::tests::ts;

    fn event(kind: &str, severity: Option<&str>) -> WebhookEvent {
        WebhookEvent {
            event: kind.into(),
            severity: severity.map(str::to_owned),
            tags: vec![ASSIGNMENT_TAG.into()],
            message_id: "abc@mailgun".into(),
            timestamp: ts(2025, 4, 2),
        }
    }

    #[test]
    fn pricing_s57_temporary_failure_is_ignored() {
        let record = assigned(1, 7, "a@example.com");
        assert_eq!(
            apply_event(&record, &event("failed", Some("temporary"))),
            Err(IgnoredEvent::TemporaryFailure)
        );
        assert_eq!(
            apply_event(&record, &event("failed", Some("permanent"))),
            Ok((EmailStatus::Failed, ts(2025, 4, 2)))
        );
    }

    #[test]
    fn only_tagged_tracked_and_newer_events_apply() {
        let mut record = assigned(1, 7, "a@example.com");
        let mut untagged = event("delivered", None);
        untagged.tags.clear();
        assert_eq!(event_status(&untagged), Err(IgnoredEvent::NotAnInvitation));
        assert_eq!(
            event_status(&event("complained", None)),
            Err(IgnoredEvent::UntrackedEvent)
        );
        record.email_status_event_timestamp = Some(ts(2025, 4, 2));
        assert_eq!(
            apply_event(&record, &event("opened", None)),
            Err(IgnoredEvent::Stale)
        );
        let mut newer = event("opened", None);
        newer.timestamp = ts(2025, 4, 3);
        assert_eq!(
            apply_event(&record, &newer),
            Ok((EmailStatus::Opened, ts(2025, 4, 3)))
        );
    }

    #[test]
    fn invitation_helpers() {
        assert_eq!(
            code_url(None, "https://learn.mit.edu/", "abc"),
            "https://learn.mit.edu/enrollmentcode/abc"
        );
        assert_eq!(
            code_url(
                Some("https://x.test/attach/"),
                "https://learn.mit.edu",
                "abc"
            ),
            "https://x.test/attach/abc"
        );
        assert_eq!(
            stored_message_id("<20250402.1@mg.example.com>"),
            "20250402.1@mg.example.com"
        );
        assert_eq!(
            event_timestamp(1_743_552_000.5),
            DateTime::from_timestamp(1_743_552_000, 500_000_000)
        );
        assert_eq!(event_timestamp(f64::NAN), None);
    }
}
