//! User profile and legal-address rules that need no I/O (integrations spec section 4), the
//! API-gateway identity decisions (section 3.2–3.3) and the ISO country data they rely on.
//!
//! - [`countries`]: ISO 3166-1 countries and the US/CA ISO 3166-2 subdivisions, the public
//!   country list.
//! - [`legal_address`]: legal address validation, `compliance_missing_fields`, edX state codes.
//! - [`profile`]: profile choices, the year-of-birth and `addl_field_flag` rules, onboarding.
//! - [`username`]: the public (edX) username rules.
//! - [`user_update`]: the `PATCH users/me` and profile details / extra payload rules.
//! - [`change_email`]: email change requests and their confirmation.
//! - [`gateway`]: `X-Userinfo` claims → anonymous / create / update decisions, SSO
//!   organization membership reconciliation.
//! - [`grants`]: the `grants` permission strings of `users/me`.
//! - [`field_errors`]: per-field messages shaped like the REST error bodies.

pub mod change_email;
pub mod countries;
pub mod field_errors;
pub mod gateway;
pub mod grants;
pub mod legal_address;
pub mod profile;
pub mod user_update;
pub mod username;
