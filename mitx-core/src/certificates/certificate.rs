//! Certificate records, the "active certificate" predicate every public read uses, links,
//! and the effects that follow a certificate's creation (courses spec 1.12).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::ids::{CourseRunId, ProgramId, UserId};

/// A revision of a CMS certificate page, pinned on a certificate when it is created so the
/// certificate keeps rendering the text it was issued with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PageRevisionId(pub i64);

impl fmt::Display for PageRevisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a certificate is for: a course run or a program. Decides the public link.
pub trait CertificateSubject: Copy + fmt::Debug + PartialEq {
    /// The path a certificate of this kind is shown at, given its uuid.
    fn link(uuid: Uuid) -> String;
}

impl CertificateSubject for CourseRunId {
    fn link(uuid: Uuid) -> String {
        format!("/certificate/{uuid}/")
    }
}

impl CertificateSubject for ProgramId {
    fn link(uuid: Uuid) -> String {
        format!("/certificate/program/{uuid}/")
    }
}

/// A certificate row (unique per user and subject). The uuid is its public, immutable
/// identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate<S> {
    pub uuid: Uuid,
    pub user: UserId,
    /// The course run or program certified.
    pub subject: S,
    pub is_revoked: bool,
    /// Defaults to the creation time; a later date hides the certificate until then.
    pub issue_date: Timestamp,
    pub certificate_page_revision: Option<PageRevisionId>,
    /// The uuid of the linked verifiable credential, once one was signed.
    pub verifiable_credential: Option<Uuid>,
}

/// A certificate for a course run.
pub type CourseRunCertificate = Certificate<CourseRunId>;

/// A certificate for a program.
pub type ProgramCertificate = Certificate<ProgramId>;

impl<S: CertificateSubject> Certificate<S> {
    /// A new, non-revoked certificate issued `now`.
    pub fn issue(
        uuid: Uuid,
        user: UserId,
        subject: S,
        now: Timestamp,
        certificate_page_revision: Option<PageRevisionId>,
    ) -> Self {
        Certificate {
            uuid,
            user,
            subject,
            is_revoked: false,
            issue_date: now,
            certificate_page_revision,
            verifiable_credential: None,
        }
    }

    /// "Active": not revoked and already issued. Every public read (APIs, certificate
    /// pages, dashboards, enrollment lists) shows only active certificates.
    pub fn is_active(&self, now: Timestamp) -> bool {
        !self.is_revoked && self.issue_date <= now
    }

    /// The public link: `/certificate/{uuid}/` or `/certificate/program/{uuid}/`.
    pub fn link(&self) -> String {
        S::link(self.uuid)
    }

    /// What a public read returns for this row: itself when active, else nothing (a 404 at
    /// certificate endpoints, `certificate: null` in enrollment lists).
    pub fn public(&self, now: Timestamp) -> Option<&Self> {
        self.is_active(now).then_some(self)
    }
}

/// Something to do after a certificate row was created, returned as data so the caller
/// performs it (and a failure in one does not undo the certificate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateEffect {
    /// The course has no certificate page, so no revision was pinned: log a warning.
    WarnNoCertificatePage,
    /// Build, sign and link a verifiable credential (courses spec 3.8).
    IssueVerifiableCredential,
    /// Run program certificate generation (3.7) for this live program containing the
    /// certified course.
    GenerateProgramCertificate(ProgramId),
    /// Push the new program certificate to the CRM.
    SyncCrm,
}

/// A certificate to insert together with the effects that follow its creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCertificate<S> {
    pub certificate: Certificate<S>,
    pub effects: Vec<CertificateEffect>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificates::fixtures::{at, course_cert, now, uuid};

    #[test]
    fn links() {
        let c = course_cert(1, 0xabc);
        assert_eq!(
            c.link(),
            "/certificate/00000000-0000-0000-0000-000000000abc/"
        );
        let p: ProgramCertificate =
            Certificate::issue(uuid(0xabc), UserId(1), ProgramId(3), now(), None);
        assert_eq!(
            p.link(),
            "/certificate/program/00000000-0000-0000-0000-000000000abc/"
        );
    }

    #[test]
    fn courses_s36_revoked_certificate_is_not_public() {
        let mut c = course_cert(1, 1);
        assert!(c.is_active(now()));
        assert_eq!(c.public(now()), Some(&c));
        c.is_revoked = true;
        assert!(!c.is_active(now()));
        assert_eq!(c.public(now()), None);
    }

    #[test]
    fn courses_s37_future_issue_date_is_not_public() {
        let mut c = course_cert(1, 1);
        c.issue_date = at(2026, 3, 2);
        assert!(!c.is_active(now()));
        assert_eq!(c.public(now()), None);
        // visible from the issue date on, inclusive
        assert!(c.is_active(at(2026, 3, 2)));
        c.issue_date = now();
        assert!(c.is_active(now()));
    }
}
