//! The public (edX) username (integrations spec 4.4). It is chosen once, when the profile is
//! completed, and never changes; it is not the Keycloak `preferred_username`.

use serde::{Deserialize, Serialize};

use super::field_errors::{FieldRuleError, NON_FIELD_ERRORS};

/// Maximum length of a public username (edX's limit).
pub const PUBLIC_USERNAME_MAX_CHARS: usize = 30;

/// The message edX returns for a taken name, which the original replaces with its own.
pub const EDX_USERNAME_TAKEN_MSG: &str = "It looks like this username is already taken";

/// Why a public username was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Blank, or longer than 30 characters after trimming.
    #[error(transparent)]
    Field(#[from] FieldRuleError),
    /// A character outside letters, digits, `_`, space, `.`, `+`, `-`.
    #[error(
        "Username can only contain letters, numbers, spaces, and the following characters: _+-"
    )]
    InvalidCharacters,
    /// The name clashes (case-insensitively) with an existing edX username, or edX says so.
    #[error("A user already exists with this username. Please try a different one.")]
    AlreadyExists,
    /// edX's registration validation refused the name with this message.
    #[error("{0}")]
    RejectedByEdx(String),
    /// edX could not be asked (unreachable or 5xx).
    #[error("Unable to register at this time, please try again later")]
    RegistrationUnavailable,
}

impl UsernameError {
    /// The error body key: `non_field_errors` when edX was unavailable, else `username`.
    pub fn field(&self) -> &'static str {
        match self {
            UsernameError::RegistrationUnavailable => NON_FIELD_ERRORS,
            _ => "username",
        }
    }
}

/// A syntactically valid public username: trimmed, 1–30 characters, each a Unicode letter or
/// digit, `_`, space, `.`, `+` or `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicUsername(String);

impl PublicUsername {
    /// Trims, then checks length before characters (the framework's length check runs
    /// before the field's own rule).
    pub fn parse(text: &str) -> Result<Self, UsernameError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FieldRuleError::Blank.into());
        }
        if trimmed.chars().count() > PUBLIC_USERNAME_MAX_CHARS {
            return Err(FieldRuleError::TooLong(PUBLIC_USERNAME_MAX_CHARS).into());
        }
        // Python's `\w` is Unicode letters and digits plus `_`; `is_alphanumeric` is the
        // closest Rust class.
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | ' ' | '.' | '+' | '-');
        if !trimmed.chars().all(allowed) {
            return Err(UsernameError::InvalidCharacters);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The username text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PublicUsername {
    type Error = UsernameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PublicUsername> for String {
    fn from(value: PublicUsername) -> Self {
        value.0
    }
}

/// What edX's registration validation said about a username.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EdxUsernameCheck {
    /// No objection.
    Accepted,
    /// Refused with this message.
    Rejected(String),
    /// edX unreachable or answering 5xx.
    Unavailable,
}

/// Decides whether a new public username may be registered, given whether it clashes
/// case-insensitively with an existing edX username (a local lookup) and edX's own check.
/// The local clash is decided first (a field rule in the original, so edX is not consulted);
/// edX's "already taken" message is replaced by the local one.
pub fn check_username_registration(
    clashes_with_existing: bool,
    edx: &EdxUsernameCheck,
) -> Result<(), UsernameError> {
    if clashes_with_existing {
        return Err(UsernameError::AlreadyExists);
    }
    match edx {
        EdxUsernameCheck::Accepted => Ok(()),
        EdxUsernameCheck::Rejected(message) if message == EDX_USERNAME_TAKEN_MSG => {
            Err(UsernameError::AlreadyExists)
        }
        EdxUsernameCheck::Rejected(message) => Err(UsernameError::RejectedByEdx(message.clone())),
        EdxUsernameCheck::Unavailable => Err(UsernameError::RegistrationUnavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHARSET_MSG: &str =
        "Username can only contain letters, numbers, spaces, and the following characters: _+-";

    #[test]
    fn parse_rules() {
        let table: &[(&str, Result<&str, &str>)] = &[
            ("jdoe", Ok("jdoe")),
            ("  Jane Doe  ", Ok("Jane Doe")),
            ("j.doe+mit_x-1", Ok("j.doe+mit_x-1")),
            ("José Ñúñez", Ok("José Ñúñez")),
            ("日本語ユーザー", Ok("日本語ユーザー")),
            ("jdoe@example.com", Err(CHARSET_MSG)),
            ("j/doe", Err(CHARSET_MSG)),
            ("   ", Err("This field may not be blank.")),
            (
                "abcdefghijklmnopqrstuvwxyz12345",
                Err("Ensure this field has no more than 30 characters."),
            ),
            (
                "abcdefghijklmnopqrstuvwxyz1234",
                Ok("abcdefghijklmnopqrstuvwxyz1234"),
            ),
            // Length is checked first, on the trimmed text.
            (
                "  abcdefghijklmnopqrstuvwxyz!@#$%  ",
                Err("Ensure this field has no more than 30 characters."),
            ),
        ];
        for (text, expected) in table {
            let got = PublicUsername::parse(text)
                .map(|u| u.as_str().to_owned())
                .map_err(|e| e.to_string());
            assert_eq!(
                got,
                expected.map(str::to_owned).map_err(str::to_owned),
                "{text:?}"
            );
        }
    }

    /// Expected outcome: `Ok` or `(error field, message)`.
    type Expected = Result<(), (&'static str, &'static str)>;

    #[test]
    fn registration_decision() {
        let table: &[(bool, EdxUsernameCheck, Expected)] = &[
            (false, EdxUsernameCheck::Accepted, Ok(())),
            (
                true,
                EdxUsernameCheck::Accepted,
                Err((
                    "username",
                    "A user already exists with this username. Please try a different one.",
                )),
            ),
            (
                true,
                EdxUsernameCheck::Unavailable,
                Err((
                    "username",
                    "A user already exists with this username. Please try a different one.",
                )),
            ),
            (
                false,
                EdxUsernameCheck::Rejected(EDX_USERNAME_TAKEN_MSG.into()),
                Err((
                    "username",
                    "A user already exists with this username. Please try a different one.",
                )),
            ),
            (
                false,
                EdxUsernameCheck::Rejected("Usernames must contain only letters".into()),
                Err(("username", "Usernames must contain only letters")),
            ),
            (
                false,
                EdxUsernameCheck::Unavailable,
                Err((
                    "non_field_errors",
                    "Unable to register at this time, please try again later",
                )),
            ),
        ];
        for (clash, edx, expected) in table {
            let got =
                check_username_registration(*clash, edx).map_err(|e| (e.field(), e.to_string()));
            assert_eq!(
                got,
                expected.map_err(|(f, m)| (f, m.to_owned())),
                "{clash} {edx:?}"
            );
        }
    }

    proptest::proptest! {
        /// Parsing is idempotent and never yields text that fails to parse again.
        #[test]
        fn parse_is_idempotent(text in "[ a-zA-Z0-9_.+@é-]{0,40}") {
            if let Ok(name) = PublicUsername::parse(&text) {
                proptest::prop_assert_eq!(PublicUsername::parse(name.as_str()), Ok(name.clone()));
                proptest::prop_assert!(name.as_str().chars().count() <= PUBLIC_USERNAME_MAX_CHARS);
            }
        }
    }
}
