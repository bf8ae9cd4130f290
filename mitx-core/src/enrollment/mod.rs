//! Enrollment rules: enroll, upgrade, downgrade, unenroll, program enrollment and
//! deferral (courses spec section 2).

mod types;

pub use types::{ChangeStatus, ProgramEnrollment, RunEnrollment};
