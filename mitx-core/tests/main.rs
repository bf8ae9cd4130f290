//! End-to-end stories told through the public API of `mitx-core`, the way the future
//! `mitx-services` layer will drive it: the caller gathers facts, asks the rules, stores
//! what they return and feeds the result into the next rule.
//!
//! Each story crosses several modules and asserts the exact values the rules compute.
//! No private item is used: if a story needs something, it builds it from public types.
//!
//! - [`stories::code_purchase`]: a learner buys a course run with a percent-off code
//!   (pricing → orders → enrollment).
//! - [`stories::flexible_pricing`]: tiers are configured, a learner's income selects a tier,
//!   the finaid discount competes with typed codes in the basket, checkout prices the order.
//! - [`stories::program_certificate`]: grades arrive over time, course certificates are
//!   issued, and the program certificate appears once the requirements tree is met.
//! - [`stories::b2b_codes`]: a capped code contract gets its codes, learners attach them
//!   until the seats are gone, and one of them enrolls through a free checkout.
//! - [`stories::refund`]: a fulfilled order is refunded through the gateway and the
//!   enrollment is downgraded.

// An integration test crate is always built with `cfg(test)`; saying so lets clippy's
// `allow-unwrap-in-tests` cover the helpers too, not only the `#[test]` functions.
#[cfg(test)]
mod stories;
#[cfg(test)]
mod support;
