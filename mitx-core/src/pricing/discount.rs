//! The discount entity shared by codes, flexible-price tiers and B2B enrollment codes
//! (ecommerce spec 1.3): its enums and their stored slugs, the code newtype, the
//! save-time checks and `friendly_format`.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::DiscountId;
use crate::money::Money;

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
    /// Once in total (counting fulfilled orders only).
    OneTime,
    /// Once per user (counting fulfilled orders only).
    OneTimePerUser,
    /// No per-user limit; `max_redemptions` may still cap it.
    Unlimited,
}

/// The bookkeeping category of a discount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentType {
    /// Marketing campaigns.
    Marketing,
    /// Sales (B2B enrollment codes, program upgrade codes).
    Sales,
    /// Flexible-pricing tier discounts; never typed by learners.
    FinancialAssistance,
    /// Support goodwill codes.
    CustomerSupport,
    /// Staff codes.
    Staff,
    /// Migrated codes.
    Legacy,
}

impl DiscountType {
    /// Every discount type, in the order the original lists them.
    pub const ALL: [DiscountType; 3] = [
        DiscountType::PercentOff,
        DiscountType::DollarsOff,
        DiscountType::FixedPrice,
    ];

    /// The stored slug (`percent-off`, `dollars-off`, `fixed-price`).
    pub fn slug(self) -> &'static str {
        match self {
            DiscountType::PercentOff => "percent-off",
            DiscountType::DollarsOff => "dollars-off",
            DiscountType::FixedPrice => "fixed-price",
        }
    }

    /// Parses a stored slug (exact match).
    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.slug() == slug)
    }
}

impl RedemptionType {
    /// Every redemption type.
    pub const ALL: [RedemptionType; 3] = [
        RedemptionType::OneTime,
        RedemptionType::OneTimePerUser,
        RedemptionType::Unlimited,
    ];

    /// The stored slug (`one-time`, `one-time-per-user`, `unlimited`).
    pub fn slug(self) -> &'static str {
        match self {
            RedemptionType::OneTime => "one-time",
            RedemptionType::OneTimePerUser => "one-time-per-user",
            RedemptionType::Unlimited => "unlimited",
        }
    }

    /// Parses a stored slug (exact match).
    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.slug() == slug)
    }
}

impl PaymentType {
    /// Every payment type.
    pub const ALL: [PaymentType; 6] = [
        PaymentType::Marketing,
        PaymentType::Sales,
        PaymentType::FinancialAssistance,
        PaymentType::CustomerSupport,
        PaymentType::Staff,
        PaymentType::Legacy,
    ];

    /// The stored slug (`marketing`, `financial-assistance`, ...).
    pub fn slug(self) -> &'static str {
        match self {
            PaymentType::Marketing => "marketing",
            PaymentType::Sales => "sales",
            PaymentType::FinancialAssistance => "financial-assistance",
            PaymentType::CustomerSupport => "customer-support",
            PaymentType::Staff => "staff",
            PaymentType::Legacy => "legacy",
        }
    }

    /// Parses a stored slug (exact match).
    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.slug() == slug)
    }
}

/// Why a discount code text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscountCodeError {
    /// Nothing left after trimming.
    #[error("discount code must not be empty")]
    Empty,
    /// More than 100 characters.
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

    /// A code made of a UUID alone (B2B enrollment codes): 36 non-blank characters, so
    /// always within the 1–100 limit.
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        DiscountCode(uuid.hyphenated().to_string())
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
    /// Storage id.
    pub id: DiscountId,
    /// The code learners type (not unique in storage; treated as unique).
    pub code: DiscountCode,
    /// How the discount changes a price.
    pub discount_type: DiscountType,
    /// Percent on a 0–100 scale, or dollars; up to 5 decimal places.
    pub amount: Decimal,
    /// How often it may be redeemed.
    pub redemption_type: RedemptionType,
    /// Bookkeeping category; `financial-assistance` codes can never be typed by learners.
    pub payment_type: Option<PaymentType>,
    /// 0 = no cap.
    pub max_redemptions: u32,
    /// Auto-applied in v0 basket flows.
    pub automatic: bool,
    /// Not redeemable before this instant.
    pub activation_date: Option<Timestamp>,
    /// Not redeemable after this instant.
    pub expiration_date: Option<Timestamp>,
    /// Made by batch generation.
    pub is_bulk: bool,
    /// The 100%-off code used for program-paid run upgrades.
    pub is_program_discount: bool,
}

/// A discount about to be created (no id yet): what code generation and tier
/// configuration return for the store to insert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountDraft {
    /// The code to create.
    pub code: DiscountCode,
    /// How the discount changes a price.
    pub discount_type: DiscountType,
    /// Percent on a 0–100 scale, or dollars.
    pub amount: Decimal,
    /// How often it may be redeemed.
    pub redemption_type: RedemptionType,
    /// Bookkeeping category.
    pub payment_type: Option<PaymentType>,
    /// 0 = no cap.
    pub max_redemptions: u32,
    /// Auto-applied in v0 basket flows.
    pub automatic: bool,
    /// Not redeemable before this instant.
    pub activation_date: Option<Timestamp>,
    /// Not redeemable after this instant.
    pub expiration_date: Option<Timestamp>,
    /// Made by batch generation.
    pub is_bulk: bool,
    /// The 100%-off code used for program-paid run upgrades.
    pub is_program_discount: bool,
}

impl DiscountDraft {
    /// An unlimited, manually applied, undated discount with no payment type, no cap and
    /// no flags; set other fields with struct update syntax.
    pub fn new(code: DiscountCode, discount_type: DiscountType, amount: Decimal) -> Self {
        DiscountDraft {
            code,
            discount_type,
            amount,
            redemption_type: RedemptionType::Unlimited,
            payment_type: None,
            max_redemptions: 0,
            automatic: false,
            activation_date: None,
            expiration_date: None,
            is_bulk: false,
            is_program_discount: false,
        }
    }

    /// The discount once the store has given it an id.
    pub fn into_discount(self, id: DiscountId) -> Discount {
        Discount {
            id,
            code: self.code,
            discount_type: self.discount_type,
            amount: self.amount,
            redemption_type: self.redemption_type,
            payment_type: self.payment_type,
            max_redemptions: self.max_redemptions,
            automatic: self.automatic,
            activation_date: self.activation_date,
            expiration_date: self.expiration_date,
            is_bulk: self.is_bulk,
            is_program_discount: self.is_program_discount,
        }
    }

    /// The save-time checks of [`Discount::check_for_save`], for a discount not yet stored.
    pub fn check_for_save(&self, now: Timestamp) -> Result<(), DiscountSaveError> {
        check_fields(
            self.discount_type,
            self.amount,
            self.activation_date,
            self.expiration_date,
            now,
        )
    }
}

/// Why a discount cannot be saved (every create and update is checked). The date messages
/// are the original's; the source raised them as an unhandled error (500) and mitx
/// returns them as a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscountSaveError {
    /// The expiration date is already in the past.
    #[error("Expiration date {} must be in the future.", python_datetime(.expiration))]
    ExpirationInPast {
        /// The refused expiration date.
        expiration: Timestamp,
    },
    /// The activation date is after the expiration date.
    #[error(
        "Expiration date {} must be after the activation date {}.",
        python_datetime(.expiration),
        python_datetime(.activation)
    )]
    ExpirationBeforeActivation {
        /// The refused expiration date.
        expiration: Timestamp,
        /// The activation date it precedes.
        activation: Timestamp,
    },
    /// A negative amount would raise prices (refused on write, ecommerce spec 2.2).
    #[error("Discount amount {0} must not be negative.")]
    NegativeAmount(Decimal),
    /// More than 100 percent off would make prices negative (refused on write).
    #[error("Discount amount {0} not valid for discount type percent-off.")]
    PercentAbove100(Decimal),
}

/// A timestamp the way the original printed it in messages (Python `str(datetime)`):
/// `2026-08-15 00:00:00+00:00`, with microseconds only when non-zero.
pub(crate) fn python_datetime(ts: &Timestamp) -> String {
    if ts.timestamp_subsec_micros() == 0 {
        ts.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        ts.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
    }
}

fn check_fields(
    discount_type: DiscountType,
    amount: Decimal,
    activation: Option<Timestamp>,
    expiration: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), DiscountSaveError> {
    if let Some(expiration) = expiration {
        // Equal to now is still accepted: the original refused only `expiration < now`.
        if expiration < now {
            return Err(DiscountSaveError::ExpirationInPast { expiration });
        }
        if let Some(activation) = activation
            && activation > expiration
        {
            return Err(DiscountSaveError::ExpirationBeforeActivation {
                expiration,
                activation,
            });
        }
    }
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(DiscountSaveError::NegativeAmount(amount));
    }
    if discount_type == DiscountType::PercentOff && amount > Decimal::ONE_HUNDRED {
        return Err(DiscountSaveError::PercentAbove100(amount));
    }
    Ok(())
}

impl Discount {
    /// Save-time validation: an expiration date must not be in the past, must not precede
    /// the activation date; amounts must not be negative nor above 100 percent.
    pub fn check_for_save(&self, now: Timestamp) -> Result<(), DiscountSaveError> {
        check_fields(
            self.discount_type,
            self.amount,
            self.activation_date,
            self.expiration_date,
            now,
        )
    }

    /// The human form used in emails and staff views: `"25.00% off"`, `"$10.00 off"`,
    /// `"a fixed price of $42.00"` (amount rounded half-to-even to 2 places).
    pub fn friendly_format(&self) -> String {
        let amount = Money::new(self.amount).to_price_string();
        match self.discount_type {
            DiscountType::PercentOff => format!("{amount}% off"),
            DiscountType::DollarsOff => format!("${amount} off"),
            DiscountType::FixedPrice => format!("a fixed price of ${amount}"),
        }
    }

    /// True for a zero-amount percent-off or dollars-off discount: it changes nothing and
    /// basket JSON leaves it out of `discounts`.
    pub fn is_noop(&self) -> bool {
        self.amount.is_zero()
            && matches!(
                self.discount_type,
                DiscountType::PercentOff | DiscountType::DollarsOff
            )
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use rust_decimal_macros::dec;

    use super::*;
    use crate::pricing::basket::tests::discount;

    #[test]
    fn slugs_round_trip() {
        for t in DiscountType::ALL {
            assert_eq!(DiscountType::parse(t.slug()), Some(t));
        }
        for t in RedemptionType::ALL {
            assert_eq!(RedemptionType::parse(t.slug()), Some(t));
        }
        for t in PaymentType::ALL {
            assert_eq!(PaymentType::parse(t.slug()), Some(t));
        }
        assert_eq!(
            PaymentType::parse("financial-assistance"),
            Some(PaymentType::FinancialAssistance)
        );
        assert_eq!(DiscountType::parse("Percent-Off"), None);
    }

    #[test]
    fn friendly_format_texts() {
        let cases = [
            (DiscountType::PercentOff, dec!(25), "25.00% off"),
            (DiscountType::PercentOff, dec!(75.00000), "75.00% off"),
            (DiscountType::DollarsOff, dec!(10), "$10.00 off"),
            (DiscountType::DollarsOff, dec!(650), "$650.00 off"),
            (
                DiscountType::FixedPrice,
                dec!(42),
                "a fixed price of $42.00",
            ),
            (DiscountType::DollarsOff, dec!(10.555), "$10.56 off"),
            (DiscountType::DollarsOff, dec!(10.545), "$10.54 off"),
        ];
        for (kind, amount, expected) in cases {
            assert_eq!(discount(1, "C", kind, amount).friendly_format(), expected);
        }
    }

    #[test]
    fn save_time_date_validation_messages() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let mut d = discount(1, "C", DiscountType::PercentOff, dec!(10));
        assert_eq!(d.check_for_save(now), Ok(()));

        d.expiration_date = Some(now - Duration::days(1));
        assert_eq!(
            d.check_for_save(now).unwrap_err().to_string(),
            "Expiration date 2026-02-28 12:00:00+00:00 must be in the future."
        );
        d.expiration_date = Some(now);
        assert_eq!(d.check_for_save(now), Ok(()));

        d.expiration_date = Some(now + Duration::days(1));
        d.activation_date = Some(now + Duration::days(2));
        assert_eq!(
            d.check_for_save(now).unwrap_err().to_string(),
            "Expiration date 2026-03-02 12:00:00+00:00 must be after the activation date \
             2026-03-03 12:00:00+00:00."
        );
        d.activation_date = d.expiration_date;
        assert_eq!(d.check_for_save(now), Ok(()));
    }

    #[test]
    fn save_time_amount_validation() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let over = discount(1, "C", DiscountType::PercentOff, dec!(100.5));
        assert_eq!(
            over.check_for_save(now),
            Err(DiscountSaveError::PercentAbove100(dec!(100.5)))
        );
        let big_dollars = discount(1, "C", DiscountType::DollarsOff, dec!(5000));
        assert_eq!(big_dollars.check_for_save(now), Ok(()));
        let negative = discount(1, "C", DiscountType::FixedPrice, dec!(-1));
        assert_eq!(
            negative.check_for_save(now).unwrap_err().to_string(),
            "Discount amount -1 must not be negative."
        );
    }

    #[test]
    fn python_datetime_micros() {
        let ts = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + Duration::microseconds(1500);
        assert_eq!(python_datetime(&ts), "2026-03-01 12:00:00.001500+00:00");
    }
}
