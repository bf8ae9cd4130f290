//! The store conformance suite: every test runs on SQLite, and on PostgreSQL when
//! `MITX_TEST_POSTGRES_URL` is set (a fresh schema per test); without it the PostgreSQL
//! half reports that it was skipped.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[macro_use]
mod support;

mod b2b;
mod catalog;
mod course_runs;
mod discounts;
mod migrations;
mod products;
mod schema;
mod service_tokens;
mod transcript;
mod users;
