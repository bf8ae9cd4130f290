//! End-to-end tests of the `mitx` binary: each test runs the real binary against a fresh
//! database (SQLite always, PostgreSQL when `MITX_TEST_POSTGRES_URL` is set).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod catalog;
mod certificates;
mod discounts;
mod enrollments;
mod ops;
mod orders;
mod price;
mod products;
mod records;
mod run_sync;
mod serve;
mod support;
mod tokens;
mod users;
mod worker;
