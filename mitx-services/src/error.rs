//! Whose fault a workflow error is. Every workflow has its own error enum; each says,
//! through [`Fault`], whether the caller can fix it (the server answers 4xx with the
//! message, the CLI exits 1 with it) or whether it is ours (logged with its cause chain;
//! 500 without detail), and whether trying again later can help.

use mitx_store::StoreError;

/// Whose fault, and what the caller can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request is wrong; the message says how.
    Caller,
    /// What the request names does not exist (for this caller).
    NotFound,
    /// Something is busy or unreachable for a moment; try again shortly.
    Busy,
    /// Ours: a bug or a broken dependency. Not the caller's business beyond "failed".
    Internal,
}

/// The fault of a store error met by a workflow.
pub fn store_fault(err: &StoreError) -> Fault {
    match err {
        StoreError::Busy(_) | StoreError::Unavailable(_) | StoreError::Stale { .. } => Fault::Busy,
        StoreError::NotFound { .. } => Fault::NotFound,
        StoreError::Conflict(_) => Fault::Caller,
        StoreError::UnsupportedUrl(_)
        | StoreError::Corrupt { .. }
        | StoreError::Migrate(_)
        | StoreError::Database(_) => Fault::Internal,
    }
}

/// The whole cause chain of an error on one line (for logs).
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
