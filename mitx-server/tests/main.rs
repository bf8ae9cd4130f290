//! HTTP tests: each starts the real server on 127.0.0.1:0 against a fresh database.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod auth;
mod b2b;
mod cache;
mod catalog;
mod contract;
mod enrollments;
mod health;
mod learner;
mod program_enrollments;
mod robustness;
mod service_tokens;
mod users;
