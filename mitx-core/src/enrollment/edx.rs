//! The outcome of an Open edX enrollment call, as the rules see it (courses spec 2.1, 4.3,
//! 4.4). The services layer makes the call and passes the outcome in as a value.

use serde::{Deserialize, Serialize};

/// Why an edX enroll / unenroll call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EdxFailure {
    /// edX answered with an HTTP error status (the original's `EdxApiEnrollErrorException`
    /// and `HTTPError`).
    Http { status: u16 },
    /// Any other error raised by the edX client (`UnknownEdxApiEnrollException`).
    Unknown,
    /// The user has no usable edX API tokens (`NoEdxApiAuthError`).
    NoAuth,
    /// The user's edX account is missing and could not be repaired
    /// (`OpenEdxUserMissingError`).
    UserMissing,
    /// The connection to edX failed (refused, reset, timed out).
    Connection,
}

/// Whether retrying a failed call later can help (courses spec 4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The same call will fail again until someone fixes data; counts against the
    /// enrollment's retry budget.
    Permanent,
    /// A passing problem (network, edX overloaded); does not count.
    Transient,
}

impl EdxFailure {
    /// Permanent: a missing edX user (or missing tokens, which have the same cause and the
    /// same repair), or an HTTP 4xx other than 429. Transient: network errors, 5xx, 429 and
    /// unknown errors.
    pub fn kind(self) -> FailureKind {
        match self {
            EdxFailure::UserMissing | EdxFailure::NoAuth => FailureKind::Permanent,
            EdxFailure::Http { status } if (400..500).contains(&status) && status != 429 => {
                FailureKind::Permanent
            }
            EdxFailure::Http { .. } | EdxFailure::Unknown | EdxFailure::Connection => {
                FailureKind::Transient
            }
        }
    }

    /// Shorthand for `kind() == Permanent`.
    pub fn is_permanent(self) -> bool {
        self.kind() == FailureKind::Permanent
    }
}

/// What happened to the edX call of one workflow step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EdxOutcome {
    /// edX accepted the call.
    Succeeded,
    /// No call was made because the (first) run is a fake run; counts as a success, as in
    /// the original (`edx_enrolled` ends up true).
    NotCalled,
    /// The call failed.
    Failed(EdxFailure),
}

impl EdxOutcome {
    /// Whether the step counts as an edX success (`NotCalled` does).
    pub fn succeeded(self) -> bool {
        !matches!(self, EdxOutcome::Failed(_))
    }

    /// The failure, if the call failed.
    pub fn failure(self) -> Option<EdxFailure> {
        match self {
            EdxOutcome::Failed(failure) => Some(failure),
            EdxOutcome::Succeeded | EdxOutcome::NotCalled => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_classification() {
        let cases = [
            (EdxFailure::Http { status: 400 }, FailureKind::Permanent),
            (EdxFailure::Http { status: 404 }, FailureKind::Permanent),
            (EdxFailure::Http { status: 499 }, FailureKind::Permanent),
            (EdxFailure::Http { status: 429 }, FailureKind::Transient),
            (EdxFailure::Http { status: 500 }, FailureKind::Transient),
            (EdxFailure::Http { status: 503 }, FailureKind::Transient),
            (EdxFailure::Http { status: 302 }, FailureKind::Transient),
            (EdxFailure::UserMissing, FailureKind::Permanent),
            (EdxFailure::NoAuth, FailureKind::Permanent),
            (EdxFailure::Connection, FailureKind::Transient),
            (EdxFailure::Unknown, FailureKind::Transient),
        ];
        for (failure, expected) in cases {
            assert_eq!(failure.kind(), expected, "{failure:?}");
        }
    }

    #[test]
    fn not_called_counts_as_success() {
        assert!(EdxOutcome::Succeeded.succeeded());
        assert!(EdxOutcome::NotCalled.succeeded());
        let failed = EdxOutcome::Failed(EdxFailure::Connection);
        assert!(!failed.succeeded());
        assert_eq!(failed.failure(), Some(EdxFailure::Connection));
    }
}
