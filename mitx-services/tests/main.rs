//! Workflow tests: the workflows of mitx-services against a fresh database (SQLite, and
//! PostgreSQL when `MITX_TEST_POSTGRES_URL` is set) and the fake Open edX.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

mod baskets;
mod catalog;
mod certificates;
mod deferral;
mod edx_accounts;
mod enrollments;
mod orders;
mod payment_partners;
mod program_upgrade;
mod queue;
mod refunds;
mod run_sync;
mod users;
