//! # mitx-services
//!
//! Workflows built from the core rules and the store: catalog import/export, discount
//! generation, price explanation, and (with later issues) checkout, fulfilment, refunds,
//! deferrals, certificates and the partner syncs. Settings are read here (`config`).

pub mod catalog;
pub mod config;
pub mod discount_codes;
pub mod price_explain;

pub use mitx_core as core;
pub use mitx_store as store;
