//! The store conformance suite: every test runs on SQLite, and on PostgreSQL when
//! `MITX_TEST_POSTGRES_URL` is set (a fresh schema per test); without it the PostgreSQL
//! half reports that it was skipped.

#[macro_use]
mod support;

mod catalog;
mod migrations;
mod schema;
