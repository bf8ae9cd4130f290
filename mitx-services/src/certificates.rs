//! Certificates as operators change them. For now: revoking and un-revoking (courses spec
//! 3.5, `mitx certificates revoke|unrevoke`). Grade sync, certificate generation and
//! records come with the rest of issue 10.

use mitx_core::certificates::{Certificate, CertificateSubject, NoChangesMade, set_revoked};
use mitx_core::ids::UserId;
use mitx_store::StoreError;
use mitx_store::audit_log::{Audit, AuditChange, audit_json};
use mitx_store::certificates::{CertificateRow, CertifiedFor};

use crate::Services;
use crate::error::{Fault, store_fault};

/// What [`set_revocation`] did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Revocation {
    /// The certificate as it is now.
    pub certificate: CertificateRow,
    /// Whether the flag changed (`false`: it already had the requested value).
    pub changed: bool,
}

/// Why a revocation changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// The learner has no certificate, revoked or not, for that run or program.
    #[error("No changes made: the learner has no certificate for that {0}.")]
    NoCertificate(&'static str),
    /// Another change of the same certificate came first.
    #[error(
        "the certificate was changed by someone else meanwhile; nothing was written, try again"
    )]
    Raced,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RevocationError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            RevocationError::NoCertificate(_) => Fault::NotFound,
            RevocationError::Raced => Fault::Busy,
            RevocationError::Store(err) => store_fault(err),
        }
    }
}

/// The core's decision for a stored row: the flag to store.
fn decide<S: CertificateSubject>(
    row: Option<&CertificateRow>,
    user: UserId,
    subject: S,
    revoked: bool,
) -> Result<bool, NoChangesMade> {
    let existing = row.map(|row| Certificate {
        // The decision does not depend on the uuid; an unparsable stored one reads as nil.
        uuid: uuid::Uuid::parse_str(&row.uuid).unwrap_or_default(),
        user,
        subject,
        is_revoked: row.is_revoked,
        issue_date: row.issue_date,
        certificate_page_revision: None,
        verifiable_credential: None,
    });
    set_revoked(existing.as_ref(), revoked).map(|certificate| certificate.is_revoked)
}

/// Sets the revocation of `user`'s certificate for `of` to `revoked`, with an audit row,
/// in one unit of work. Nothing cascades (program certificates, grades and credentials
/// stay); a revoked certificate disappears from every public read. Asking for the state
/// the certificate already has changes nothing and writes no audit row.
pub async fn set_revocation(
    services: &Services,
    user: UserId,
    of: CertifiedFor,
    revoked: bool,
    audit: &Audit,
) -> Result<Revocation, RevocationError> {
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let row = tx.certificate(user, of).await?;
    let decided = match of {
        CertifiedFor::Run(run) => decide(row.as_ref(), user, run, revoked),
        CertifiedFor::Program(program) => decide(row.as_ref(), user, program, revoked),
    };
    let (Ok(flag), Some(row)) = (decided, row) else {
        return Err(RevocationError::NoCertificate(match of {
            CertifiedFor::Run(_) => "course run",
            CertifiedFor::Program(_) => "program",
        }));
    };
    if flag == row.is_revoked {
        return Ok(Revocation {
            certificate: row,
            changed: false,
        });
    }
    if !tx
        .set_certificate_revoked(of, row.id, row.is_revoked, flag, now)
        .await?
    {
        return Err(RevocationError::Raced);
    }
    let after = CertificateRow {
        is_revoked: flag,
        ..row.clone()
    };
    let (action, entity) = match (of, flag) {
        (CertifiedFor::Run(_), true) => ("certificate.revoke", "course_run_certificate"),
        (CertifiedFor::Run(_), false) => ("certificate.unrevoke", "course_run_certificate"),
        (CertifiedFor::Program(_), true) => ("certificate.revoke", "program_certificate"),
        (CertifiedFor::Program(_), false) => ("certificate.unrevoke", "program_certificate"),
    };
    tx.record_audit(
        &AuditChange {
            audit,
            action,
            entity,
            entity_id: row.id.to_string(),
            before: audit_json(&row),
            after: audit_json(&after),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Revocation {
        certificate: after,
        changed: true,
    })
}
