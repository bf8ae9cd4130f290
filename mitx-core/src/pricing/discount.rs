//! The discount entity shared by codes, flexible-price tiers and B2B enrollment codes.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::DiscountId;

/// How a discount changes a price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiscountType {
    /// `amount` percent off (0–100 scale).
    PercentOff,
    /// `amount` dollars off, floored at zero.
    DollarsOff,
    /// The price becomes `amount` (never raises the price).
    FixedPrice,
}

/// How often a discount may be redeemed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedemptionType {
    OneTime,
    OneTimePerUser,
    Unlimited,
}

/// The bookkeeping category of a discount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentType {
    Marketing,
    Sales,
    FinancialAssistance,
    CustomerSupport,
    Staff,
    Legacy,
}

/// Why a discount code text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscountCodeError {
    #[error("discount code must not be empty")]
    Empty,
    #[error("discount code '{0}' is longer than 100 characters")]
    TooLong(String),
}

/// A discount code as typed: surrounding whitespace removed, case kept (lookups are exact
/// and case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DiscountCode(String);

impl DiscountCode {
    /// Trims and checks length (1–100 characters).
    pub fn parse(text: &str) -> Result<Self, DiscountCodeError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(DiscountCodeError::Empty);
        }
        if trimmed.chars().count() > 100 {
            return Err(DiscountCodeError::TooLong(trimmed.to_owned()));
        }
        Ok(DiscountCode(trimmed.to_owned()))
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DiscountCode {
    type Error = DiscountCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DiscountCode::parse(&value)
    }
}

impl From<DiscountCode> for String {
    fn from(value: DiscountCode) -> String {
        value.0
    }
}

impl fmt::Display for DiscountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A discount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub id: DiscountId,
    pub code: DiscountCode,
    pub discount_type: DiscountType,
    /// Percent on a 0–100 scale, or dollars; up to 5 decimal places.
    pub amount: Decimal,
    pub redemption_type: RedemptionType,
    pub payment_type: Option<PaymentType>,
    /// 0 = no cap.
    pub max_redemptions: u32,
    pub automatic: bool,
    pub activation_date: Option<Timestamp>,
    pub expiration_date: Option<Timestamp>,
    pub is_bulk: bool,
    pub is_program_discount: bool,
}
