//! # mitx-core
//!
//! The pure domain rules of mitx, MITx Online rebuilt in Rust. Every price, order state,
//! enrollment, certificate and B2B decision is made here, so the server, the CLI, the
//! batch jobs and library users all inherit the same exact rules.
//!
//! The crate does no I/O, has no async, keeps no global state and never reads the clock:
//! "now" is always a parameter. Values are parsed once at the edge into newtypes
//! ([`money::Money`], [`catalog::ReadableId`], [`catalog::CoursewareId`],
//! [`pricing::DiscountCode`], [`orders::ReferenceNumber`]) so the rules never see an
//! unchecked value.
//!
//! Module map (each mirrors a section of the specs under `shared/spec/`):
//! - [`money`]: USD decimal amounts, half-to-even rounding to cents.
//! - [`catalog`]: courses, runs, programs, run predicates, the requirements tree.
//! - [`enrollment`]: enroll / upgrade / downgrade / unenroll / defer rules.
//! - [`pricing`]: discounts, best price, validity predicates, basket precedence,
//!   flexible (income-based) pricing.
//! - [`orders`]: the order state machine as a transition table returning effects,
//!   reference numbers, checkout validation, refunds.
//! - [`certificates`]: course-run and program certificate decisions.
//! - [`b2b`]: organizations, contracts, seats, enrollment codes.
//! - [`users`]: legal address, profile, username and e-mail change rules, and the API
//!   gateway (`X-Userinfo`) decisions.

pub mod b2b;
pub mod catalog;
pub mod certificates;
pub mod enrollment;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod ids;
pub mod money;
pub mod orders;
pub mod pricing;
pub mod users;

/// An instant in UTC. Every rule that depends on time takes one of these as `now`.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
