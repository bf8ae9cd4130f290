//! Payment and refund transactions as the rules see them (ecommerce spec 1.4, 3.3, 5.5).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// Why a transaction id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionIdError {
    /// Blank ids would collide in the globally unique column.
    #[error("transaction id must not be empty")]
    Empty,
    /// The column is varchar(255).
    #[error("transaction id '{0}' is longer than 255 characters")]
    TooLong(String),
}

/// A gateway transaction id (globally unique across all orders, at most 255 characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransactionId(String);

impl TransactionId {
    /// Checks that the id is non-empty (after trimming) and at most 255 characters.
    pub fn parse(text: &str) -> Result<Self, TransactionIdError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(TransactionIdError::Empty);
        }
        if trimmed.chars().count() > 255 {
            return Err(TransactionIdError::TooLong(trimmed.to_owned()));
        }
        Ok(TransactionId(trimmed.to_owned()))
    }

    /// A fresh id from a UUID supplied by the caller (zero-value and administrative
    /// fulfilments), in the hyphenated form.
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        TransactionId(uuid.hyphenated().to_string())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TransactionId {
    type Error = TransactionIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TransactionId::parse(&value)
    }
}

impl From<TransactionId> for String {
    fn from(value: TransactionId) -> String {
        value.0
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a transaction moved money in or out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionType {
    /// A payment (the default), including zero-value and administrative ones.
    #[default]
    Payment,
    /// A refund through the gateway.
    Refund,
}

/// The flat view of a stored transaction's `data` (the raw gateway payload): top-level keys
/// with their values as text. mitx-core has no JSON dependency, so the storage layer
/// flattens the JSON object into this map (numbers in their plain decimal form).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentData(BTreeMap<String, String>);

impl PaymentData {
    /// An empty payload.
    pub fn new() -> Self {
        PaymentData(BTreeMap::new())
    }

    /// The value of a key, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether the payload has the key (whatever its value).
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Adds or replaces a key.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// The underlying map.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl From<BTreeMap<String, String>> for PaymentData {
    fn from(value: BTreeMap<String, String>) -> Self {
        PaymentData(value)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for PaymentData {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        PaymentData(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// A payment transaction to record (get-or-create by id within the order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTransaction {
    /// The gateway's id (or a fresh UUID for zero-value/administrative fulfilment).
    pub transaction_id: TransactionId,
    /// The amount recorded (0 when the gateway payload carries none).
    pub amount: Money,
}

/// A refund transaction to record after the gateway accepted a refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundTransaction {
    /// The id from the gateway's refund response.
    pub transaction_id: TransactionId,
    /// The refund amount that was requested.
    pub amount: Money,
    /// The operator's reason (may be blank).
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_checked() {
        assert_eq!(TransactionId::parse(" 1234 ").unwrap().as_str(), "1234");
        assert_eq!(TransactionId::parse("  "), Err(TransactionIdError::Empty));
        assert!(matches!(
            TransactionId::parse(&"x".repeat(256)),
            Err(TransactionIdError::TooLong(_))
        ));
        let u = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(
            TransactionId::from_uuid(u).as_str(),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
    }

    #[test]
    fn payment_data_lookup() {
        let data: PaymentData = [("transaction_id", "1234"), ("req_amount", "10.00")]
            .into_iter()
            .collect();
        assert_eq!(data.get("req_amount"), Some("10.00"));
        assert!(!data.contains("paypal_token"));
    }
}
