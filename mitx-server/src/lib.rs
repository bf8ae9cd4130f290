//! # mitx-server
//!
//! The thin axum HTTP API (issue 4). Until then this crate only fixes its place in the
//! dependency graph (server -> services).

pub use mitx_services as services;
