//! Typed integer identifiers, so a course id can never be passed where a run id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }
    )*};
}

id_type! {
    /// A learner or staff account.
    UserId;
    /// A department of the catalog.
    DepartmentId;
    /// A course (the abstract offering, e.g. `course-v1:MITx+6.001x`).
    CourseId;
    /// One run of a course (e.g. `course-v1:MITx+6.001x+1T2026`).
    CourseRunId;
    /// A program (a set of courses with a requirements tree).
    ProgramId;
    /// A node of a program requirements tree.
    RequirementNodeId;
    /// A purchasable product (for a course run or a program).
    ProductId;
    /// An immutable snapshot of a product.
    ProductVersionId;
    /// A discount (a code, a flexible-price tier discount, an enrollment code).
    DiscountId;
    /// A basket.
    BasketId;
    /// An order.
    OrderId;
    /// A course-run or program enrollment row.
    EnrollmentId;
    /// A flexible-pricing tier.
    TierId;
    /// A flexible-pricing request.
    FlexiblePriceId;
    /// A B2B organization.
    OrganizationId;
    /// A B2B contract.
    ContractId;
    /// A course-run or program certificate.
    CertificateId;
}
