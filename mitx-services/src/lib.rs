//! # mitx-services
//!
//! Workflows (checkout, fulfil, refund, defer, certificate generation, partner syncs)
//! built from the core rules, the store and partner clients. The first workflows arrive
//! with issues 3 and 4; until then this crate only fixes its place in the dependency
//! graph (services -> store, core).

pub use mitx_core as core;
pub use mitx_store as store;
