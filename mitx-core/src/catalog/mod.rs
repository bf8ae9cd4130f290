//! The catalog: departments, courses, course runs, programs and program requirement trees
//! (courses spec section 1).

mod course;
mod ids;
mod primary;
mod program;
mod requirements;
mod retire;
mod run;

pub use course::{Course, canonical_runs_per_tag, first_unexpired_run};
pub use ids::{CatalogIdError, CoursewareId, ReadableId, slugify};
pub use primary::{PrimaryLanguageConflict, PrimaryLanguageFacts, primary_language_conflicts};
pub use program::{Availability, CertificateType, Program};
pub use requirements::{Operator, RequirementError, RequirementKind, RequirementNode};
pub use retire::{
    FieldChange, RetireOptions, RetirePlan, RetireRefusal, check_active_enrollments,
    plan_retirement, retirement_cutoff,
};
pub use run::{CourseRun, RunValidationError, VariantIndustry, VariantLength};

use serde::{Deserialize, Serialize};

/// An enrollment mode offered by a run or program. `audit` is free and the default;
/// `verified` is the only paid mode.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EnrollmentMode {
    #[default]
    Audit,
    Verified,
}

impl EnrollmentMode {
    /// The stored slug (`audit`, `verified`).
    pub fn slug(self) -> &'static str {
        match self {
            EnrollmentMode::Audit => "audit",
            EnrollmentMode::Verified => "verified",
        }
    }

    /// Whether enrolling in this mode requires a payment.
    pub fn requires_payment(self) -> bool {
        matches!(self, EnrollmentMode::Verified)
    }

    /// Parses a stored slug.
    pub fn parse(slug: &str) -> Option<Self> {
        match slug {
            "audit" => Some(EnrollmentMode::Audit),
            "verified" => Some(EnrollmentMode::Verified),
            _ => None,
        }
    }
}
