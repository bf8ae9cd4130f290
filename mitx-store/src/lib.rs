//! # mitx-store
//!
//! Persistence for mitx on SQLite (the embedded default) and PostgreSQL.
//!
//! One SQL code path serves both backends (see `docs/decisions/0004-store-one-sql-path.md`):
//! every query is written once with `$1` placeholders and run through [`Store`], which
//! holds either a SQLite or a PostgreSQL pool; the [`with_db!`] macro expands the same
//! query code for whichever backend is in use, with native types on each side. Money
//! columns go through [`money::DbMoney`] (NUMERIC on PostgreSQL, an exact scaled integer
//! on SQLite).
//!
//! Reads go through [`Store`]; every write is a method of the unit of work [`Tx`], which
//! only the write-capable [`Database`] opens (mitx-services holds it; the server and the CLI
//! get a [`Store`]). See `docs/decisions/0007-unit-of-work.md`.

pub mod audit_log;
pub mod b2b;
pub mod baskets;
pub mod catalog;
pub mod catalog_api;
mod certificate_views;
pub mod certificates;
pub mod course_runs;
mod db;
pub mod discount_admin;
pub mod discounts;
pub mod enrollments;
mod error;
pub mod gateway_users;
pub mod grades;
pub mod jobs;
pub mod leases;
pub mod migrate;
pub mod money;
pub mod openedx;
pub mod order_admin;
pub mod order_views;
pub mod orders;
pub mod pricing_facts;
pub mod products;
pub mod program_enrollments;
mod raw;
pub mod records;
pub mod service_tokens;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transcript;
pub mod users;

pub use db::{Backend, ConnectOptions, Database, Store, Tx, redact};
pub use error::StoreError;
