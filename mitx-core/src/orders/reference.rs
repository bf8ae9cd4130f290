//! Order reference numbers `mitxonline-{ENVIRONMENT}-{id}` (ecommerce spec 1.4) and the
//! "id or reference" lookup of the order status API (spec 7).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::OrderId;

/// The fixed start of every reference number.
pub const REFERENCE_NUMBER_PREFIX: &str = "mitxonline-";

/// Why a reference number was refused or could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The column is nullable, but a present reference is never blank.
    #[error("reference number must not be empty")]
    Empty,
    /// The column is varchar(255).
    #[error("reference number '{0}' is longer than 255 characters")]
    TooLong(String),
    /// The environment name would make an ambiguous prefix.
    #[error("environment name '{0}' must be non-empty and must not contain '-'")]
    BadEnvironment(String),
    /// The reference was issued by another environment (or is not ours at all).
    #[error("reference number '{reference}' does not start with '{prefix}'")]
    WrongPrefix {
        /// The reference as given.
        reference: String,
        /// The expected prefix, `mitxonline-{ENVIRONMENT}-`.
        prefix: String,
    },
    /// The part after the prefix is not an order id.
    #[error("reference number '{0}' does not end with an order id")]
    NotAnId(String),
}

/// The deployment environment name (`ENVIRONMENT`, e.g. `prod`), part of every reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Environment(String);

impl Environment {
    /// Checks the name: non-empty and without `-`, so the prefix can be removed
    /// unambiguously.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.contains('-') {
            return Err(ReferenceError::BadEnvironment(text.to_owned()));
        }
        Ok(Environment(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `mitxonline-{ENVIRONMENT}-`.
    pub fn reference_prefix(&self) -> String {
        format!("{REFERENCE_NUMBER_PREFIX}{}-", self.0)
    }
}

impl TryFrom<String> for Environment {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Environment::parse(&value)
    }
}

impl From<Environment> for String {
    fn from(value: Environment) -> String {
        value.0
    }
}

/// A stored order reference number. Orders created here get `mitxonline-{ENVIRONMENT}-{id}`;
/// stored references from other sources are accepted as any non-blank text up to 255
/// characters and only decoded on demand.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReferenceNumber(String);

impl ReferenceNumber {
    /// The reference assigned to a new order right after its first insert.
    pub fn for_order(environment: &Environment, id: OrderId) -> Self {
        ReferenceNumber(format!("{}{id}", environment.reference_prefix()))
    }

    /// Accepts a stored or submitted reference: trimmed, non-empty, at most 255 characters.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if trimmed.chars().count() > 255 {
            return Err(ReferenceError::TooLong(trimmed.to_owned()));
        }
        Ok(ReferenceNumber(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The order id: the reference without the prefix `mitxonline-{ENVIRONMENT}-`.
    /// Unlike the original (a text replace followed by an int cast that crashes), a
    /// foreign prefix or a non-numeric rest is a typed error.
    pub fn order_id(&self, environment: &Environment) -> Result<OrderId, ReferenceError> {
        let prefix = environment.reference_prefix();
        let rest = self
            .0
            .strip_prefix(&prefix)
            .ok_or_else(|| ReferenceError::WrongPrefix {
                reference: self.0.clone(),
                prefix: prefix.clone(),
            })?;
        // Only plain decimal digits: "+5" or " 5" are not references we ever issue.
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ReferenceError::NotAnId(self.0.clone()));
        }
        rest.parse::<i64>()
            .map(OrderId)
            .map_err(|_| ReferenceError::NotAnId(self.0.clone()))
    }
}

impl TryFrom<String> for ReferenceNumber {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ReferenceNumber::parse(&value)
    }
}

impl From<ReferenceNumber> for String {
    fn from(value: ReferenceNumber) -> String {
        value.0
    }
}

impl fmt::Display for ReferenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the order status API finds an order from its path segment: all digits → by id,
/// anything else → by reference number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderLookup {
    /// A numeric id.
    ById(OrderId),
    /// A reference number.
    ByReference(ReferenceNumber),
}

impl OrderLookup {
    /// Parses the path segment.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let trimmed = text.trim();
        if !trimmed.is_empty()
            && trimmed.bytes().all(|b| b.is_ascii_digit())
            && let Ok(id) = trimmed.parse::<i64>()
        {
            return Ok(OrderLookup::ById(OrderId(id)));
        }
        ReferenceNumber::parse(trimmed).map(OrderLookup::ByReference)
    }
}

/// The body of the order status API when the caller has no such order (404):
/// `{"state": "Not found."}`.
pub const ORDER_STATUS_NOT_FOUND: &str = "Not found.";

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> Environment {
        Environment::parse("prod").unwrap()
    }

    #[test]
    fn ecommerce_s39_reference_numbers_encode_and_decode() {
        let r = ReferenceNumber::for_order(&prod(), OrderId(1001));
        assert_eq!(r.as_str(), "mitxonline-prod-1001");
        let decoded = ReferenceNumber::parse("mitxonline-prod-1001")
            .unwrap()
            .order_id(&prod());
        assert_eq!(decoded, Ok(OrderId(1001)));
        assert_eq!(r.order_id(&prod()), Ok(OrderId(1001)));
    }

    #[test]
    fn decoding_errors_are_typed() {
        let rc = Environment::parse("rc").unwrap();
        let r = ReferenceNumber::parse("mitxonline-prod-1001").unwrap();
        assert_eq!(
            r.order_id(&rc),
            Err(ReferenceError::WrongPrefix {
                reference: "mitxonline-prod-1001".into(),
                prefix: "mitxonline-rc-".into()
            })
        );
        for bad in [
            "mitxonline-prod-",
            "mitxonline-prod-12a",
            "mitxonline-prod-+5",
        ] {
            assert_eq!(
                ReferenceNumber::parse(bad).unwrap().order_id(&prod()),
                Err(ReferenceError::NotAnId(bad.into()))
            );
        }
        assert_eq!(ReferenceNumber::parse("  "), Err(ReferenceError::Empty));
        assert!(Environment::parse("pr-od").is_err());
        assert!(Environment::parse("").is_err());
    }

    #[test]
    fn ecommerce_s58_order_status_lookup_by_id_or_reference() {
        assert_eq!(
            OrderLookup::parse("1001"),
            Ok(OrderLookup::ById(OrderId(1001)))
        );
        assert_eq!(
            OrderLookup::parse("mitxonline-prod-1001"),
            Ok(OrderLookup::ByReference(
                ReferenceNumber::parse("mitxonline-prod-1001").unwrap()
            ))
        );
        assert_eq!(ORDER_STATUS_NOT_FOUND, "Not found.");
    }
}
