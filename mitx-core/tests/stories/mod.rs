//! The stories, one module each.

pub mod b2b_codes;
pub mod code_purchase;
pub mod flexible_pricing;
pub mod program_certificate;
pub mod refund;
