//! Email change requests (integrations spec 4.5): `POST /api/v0/change-emails/` creates a
//! request with a confirmation code mailed to the new address; `PUT|PATCH
//! /api/v0/change-emails/<code>/` confirms it.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::field_errors::NON_FIELD_ERRORS;
use crate::Timestamp;
use crate::ids::UserId;

/// Default lifetime of a change request (`AUTH_CHANGE_EMAIL_TTL_IN_MINUTES`).
pub const DEFAULT_CHANGE_EMAIL_TTL_MINUTES: i64 = 1440;

/// Why a change request is refused (400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeEmailError {
    /// The new address is exactly the current one.
    #[error("Provided email address is same as your current one")]
    SameAsCurrent,
    /// Another account already uses the new address (exact match).
    #[error("Invalid email address")]
    InUse,
    /// The current password does not match.
    #[error("Invalid Password")]
    InvalidPassword,
}

impl ChangeEmailError {
    /// The error body key: `email`, or `non_field_errors` for the password.
    pub fn field(&self) -> &'static str {
        match self {
            ChangeEmailError::SameAsCurrent | ChangeEmailError::InUse => "email",
            ChangeEmailError::InvalidPassword => NON_FIELD_ERRORS,
        }
    }
}

/// A confirmation code: 32 lower-case hex characters (a UUID without dashes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeEmailCode(String);

impl ChangeEmailCode {
    /// The code for a random UUID supplied by the caller.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid.simple().to_string())
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored email change request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEmailRequest {
    /// The requesting user.
    pub user_id: UserId,
    /// The address to switch to.
    pub new_email: String,
    /// The code mailed to `new_email`.
    pub code: ChangeEmailCode,
    /// Whether it has been confirmed (a confirmed request cannot be used again).
    pub confirmed: bool,
    /// After this instant the code no longer works.
    pub expires_on: Timestamp,
}

/// Checks a change request, in the original's order: the address rules first (same as the
/// current address, exact; used by another account, exact), then the password.
/// `new_email_used_by_other` and `password_matches` are the caller's lookups.
pub fn check_change_email(
    current_email: &str,
    new_email: &str,
    new_email_used_by_other: bool,
    password_matches: bool,
) -> Result<(), ChangeEmailError> {
    if current_email == new_email {
        return Err(ChangeEmailError::SameAsCurrent);
    }
    if new_email_used_by_other {
        return Err(ChangeEmailError::InUse);
    }
    if !password_matches {
        return Err(ChangeEmailError::InvalidPassword);
    }
    Ok(())
}

/// The request to store after [`check_change_email`] passed; it expires `ttl_minutes` after
/// `now`. The confirmation email goes to `new_email` with the code.
pub fn new_change_email_request(
    user_id: UserId,
    new_email: &str,
    code_uuid: Uuid,
    now: Timestamp,
    ttl_minutes: i64,
) -> ChangeEmailRequest {
    ChangeEmailRequest {
        user_id,
        new_email: new_email.to_owned(),
        code: ChangeEmailCode::from_uuid(code_uuid),
        confirmed: false,
        expires_on: now + Duration::minutes(ttl_minutes),
    }
}

/// Why a confirmation is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmChangeEmailError {
    /// Unknown, expired or already confirmed code (404).
    #[error("Not found.")]
    NotFound,
    /// The new address is now used by some account, case-insensitively (400, `{"errors":
    /// ["Unable to change email"]}`).
    #[error("Unable to change email")]
    UnableToChange,
}

/// What a confirmation does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfirmChangeEmail {
    /// Mark the request confirmed, replace the user's email, queue the edX email change.
    Replace {
        /// Whose email changes.
        user_id: UserId,
        /// The new address.
        new_email: String,
    },
    /// `confirmed: false` was sent: nothing changes (the request stays usable).
    Nothing,
}

/// Decides a confirmation. Only unexpired (`expires_on > now`), unconfirmed requests are
/// found; the address-in-use check (any account, case-insensitive — the caller's lookup)
/// comes before looking at `confirmed`.
pub fn confirm_change_email(
    request: Option<&ChangeEmailRequest>,
    now: Timestamp,
    new_email_in_use: bool,
    confirmed: bool,
) -> Result<ConfirmChangeEmail, ConfirmChangeEmailError> {
    let request = request
        .filter(|r| !r.confirmed && r.expires_on > now)
        .ok_or(ConfirmChangeEmailError::NotFound)?;
    if new_email_in_use {
        return Err(ConfirmChangeEmailError::UnableToChange);
    }
    Ok(if confirmed {
        ConfirmChangeEmail::Replace {
            user_id: request.user_id,
            new_email: request.new_email.clone(),
        }
    } else {
        ConfirmChangeEmail::Nothing
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2024, 1, 5, 14, 3, 0).unwrap()
    }

    /// Expected outcome: `Ok` or `(error field, message)`.
    type Expected = Result<(), (&'static str, &'static str)>;
    /// A confirmation case: (request, at, address in use, expected message).
    type ConfirmCase<'a> = (
        Option<&'a ChangeEmailRequest>,
        Timestamp,
        bool,
        Result<(), &'a str>,
    );

    #[test]
    fn integrations_s48_change_email() {
        // Request rules: (new email, used by other, password ok) → result.
        let table: &[(&str, bool, bool, Expected)] = &[
            (
                "new@example.com",
                false,
                false,
                Err(("non_field_errors", "Invalid Password")),
            ),
            (
                "jdoe@example.com",
                false,
                true,
                Err((
                    "email",
                    "Provided email address is same as your current one",
                )),
            ),
            (
                "taken@example.com",
                true,
                true,
                Err(("email", "Invalid email address")),
            ),
            // Address errors win over a wrong password.
            (
                "taken@example.com",
                true,
                false,
                Err(("email", "Invalid email address")),
            ),
            ("new@example.com", false, true, Ok(())),
        ];
        for (new_email, used, password_ok, expected) in table {
            let got = check_change_email("jdoe@example.com", new_email, *used, *password_ok)
                .map_err(|e| (e.field(), e.to_string()));
            assert_eq!(
                got,
                expected.map_err(|(f, m)| (f, m.to_owned())),
                "{new_email}"
            );
        }

        let uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let request = new_change_email_request(
            UserId(5),
            "new@example.com",
            uuid,
            now(),
            DEFAULT_CHANGE_EMAIL_TTL_MINUTES,
        );
        assert_eq!(request.code.as_str(), "0123456789abcdef0123456789abcdef");
        assert_eq!(request.expires_on, now() + Duration::days(1));
        assert!(!request.confirmed);

        // Confirmation: replaces the email once.
        let outcome = confirm_change_email(Some(&request), now(), false, true).unwrap();
        assert_eq!(
            outcome,
            ConfirmChangeEmail::Replace {
                user_id: UserId(5),
                new_email: "new@example.com".into()
            }
        );
        let confirmed = ChangeEmailRequest {
            confirmed: true,
            ..request.clone()
        };
        let table: &[ConfirmCase<'_>] = &[
            (Some(&confirmed), now(), false, Err("Not found.")), // repeat → 404
            (Some(&request), request.expires_on, false, Err("Not found.")), // expired → 404
            (None, now(), false, Err("Not found.")),
            (Some(&request), now(), true, Err("Unable to change email")),
            (
                Some(&request),
                request.expires_on - Duration::seconds(1),
                false,
                Ok(()),
            ),
        ];
        for (req, at, in_use, expected) in table {
            let got = confirm_change_email(*req, *at, *in_use, true)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "{at} {in_use}");
        }
        assert_eq!(
            confirm_change_email(Some(&request), now(), false, false),
            Ok(ConfirmChangeEmail::Nothing)
        );
    }
}
