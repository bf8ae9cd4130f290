//! Test fixtures for the ecommerce scenarios: NOW and run R (the courses spec R1).
//!
//! NOW and R1 come from the crate-wide `crate::fixtures`.

pub use crate::fixtures::{at, now, r1 as run_r};
