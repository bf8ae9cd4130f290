//! HTTP tests: each starts the real server on 127.0.0.1:0 against a fresh database.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod auth;
mod cache;
mod catalog;
mod contract;
mod enrollments;
mod health;
mod program_enrollments;
mod users;
