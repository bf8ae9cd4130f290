//! Revoking and un-revoking certificates (courses spec 3.5).

use super::certificate::{Certificate, CertificateSubject};

/// The learner has no certificate (revoked or not) for the run or program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("No changes made")]
pub struct NoChangesMade;

/// Sets `is_revoked` to `revoked` on the user's certificate, found including revoked
/// rows. Returns the row to store (even when the flag already had that value), or
/// [`NoChangesMade`] when there is no row. Nothing cascades: program certificates, grades
/// and verifiable credentials stay as they are; a revoked certificate simply stops being
/// active (see [`Certificate::is_active`]).
pub fn set_revoked<S: CertificateSubject>(
    existing: Option<&Certificate<S>>,
    revoked: bool,
) -> Result<Certificate<S>, NoChangesMade> {
    let mut certificate = existing.ok_or(NoChangesMade)?.clone();
    certificate.is_revoked = revoked;
    Ok(certificate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificates::fixtures::{course_cert, now, uuid};
    use crate::certificates::{CourseRunCertificate, ProgramCertificate};
    use crate::ids::{ProgramId, UserId};

    #[test]
    fn courses_s36_revoke_and_unrevoke() {
        let cert = course_cert(1, 7);
        let revoked = set_revoked(Some(&cert), true).unwrap();
        assert!(revoked.is_revoked);
        assert_eq!(revoked.uuid, cert.uuid);
        assert_eq!(revoked.public(now()), None);
        let restored = set_revoked(Some(&revoked), false).unwrap();
        assert!(!restored.is_revoked);
        assert_eq!(restored.public(now()), Some(&restored));
        assert_eq!(restored, cert);
    }

    #[test]
    fn revoke_without_certificate_makes_no_changes() {
        let none: Option<&CourseRunCertificate> = None;
        let err = set_revoked(none, true).unwrap_err();
        assert_eq!(err.to_string(), "No changes made");
        let none: Option<&ProgramCertificate> = None;
        assert_eq!(set_revoked(none, false), Err(NoChangesMade));
        let program = ProgramCertificate::issue(uuid(1), UserId(1), ProgramId(2), now(), None);
        assert!(set_revoked(Some(&program), true).unwrap().is_revoked);
    }
}
