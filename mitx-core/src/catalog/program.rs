//! Programs (courses spec 1.5).

use serde::{Deserialize, Serialize};

use super::{EnrollmentMode, ReadableId, RequirementNode};
use crate::ids::{DepartmentId, ProgramId};

/// Whether a program runs at any time or on dates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    #[default]
    Anytime,
    Dated,
}

/// The certificate a program awards, derived from its program type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateType {
    #[serde(rename = "MicroMasters Credential")]
    MicroMastersCredential,
    #[serde(rename = "Certificate of Completion")]
    CertificateOfCompletion,
}

impl CertificateType {
    /// The label shown in the API.
    pub fn label(self) -> &'static str {
        match self {
            CertificateType::MicroMastersCredential => "MicroMasters Credential",
            CertificateType::CertificateOfCompletion => "Certificate of Completion",
        }
    }
}

/// A program: courses bound by a requirements tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub id: ProgramId,
    pub title: String,
    pub readable_id: ReadableId,
    pub live: bool,
    /// Free text, `Series` by default.
    pub program_type: Option<String>,
    pub departments: Vec<DepartmentId>,
    pub availability: Availability,
    pub enrollment_modes: Vec<EnrollmentMode>,
    /// `Some("course")` presents the program like a course.
    pub display_mode: Option<String>,
    pub b2b_only: bool,
    pub requirements: RequirementNode,
}

impl Program {
    /// "MicroMasters Credential" when the program type mentions MicroMasters.
    pub fn certificate_type(&self) -> CertificateType {
        match &self.program_type {
            Some(t) if t.contains("MicroMasters") => CertificateType::MicroMastersCredential,
            _ => CertificateType::CertificateOfCompletion,
        }
    }

    /// Any offered mode requires payment (v2 `certificate_available`; a paid sub-program
    /// must be completed with a certificate, not just its tree).
    pub fn requires_payment(&self) -> bool {
        self.enrollment_modes.iter().any(|m| m.requires_payment())
    }
}
