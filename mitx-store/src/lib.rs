//! # mitx-store
//!
//! Persistence for mitx on SQLite (embedded default) and PostgreSQL. The schema,
//! migrations and the conformance suite arrive with issue 3; until then this crate only
//! fixes its place in the dependency graph (store -> core).
//!
//! Nothing here pretends to store anything: there is no API yet.

pub use mitx_core as core;
