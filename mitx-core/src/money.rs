//! US dollar amounts as exact decimals.
//!
//! Prices carry 2 decimal places (at most 99,999.99); discount amounts, order totals and
//! transaction amounts carry up to 5. Rounding to cents ("quantize") is always
//! round-half-to-even, the banker's rounding of the original system: 5.025 → 5.02,
//! 5.075 → 5.08, 0.005 → 0.00.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul, Sub};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Largest product price the catalog accepts (decimal(7,2)).
pub const MAX_PRICE: Decimal = Decimal::from_parts(9_999_999, 0, 0, false, 2);

/// Why a money value was refused at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
    #[error("{0} is negative; amounts must be zero or more")]
    Negative(Decimal),
    #[error("{value} has more than {max} decimal places")]
    TooPrecise { value: Decimal, max: u32 },
    #[error("{0} is above the largest price, 99999.99")]
    TooLarge(Decimal),
}

/// An amount in US dollars. Never a float.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(Decimal);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Wraps an exact decimal without checks (internal arithmetic, already-checked values).
    pub const fn new(amount: Decimal) -> Self {
        Money(amount)
    }

    /// A whole number of cents.
    pub fn from_cents(cents: i64) -> Self {
        Money(Decimal::new(cents, 2))
    }

    /// Parses a product price: a non-negative decimal with at most 2 places, at most 99,999.99.
    pub fn parse_price(text: &str) -> Result<Self, MoneyError> {
        let value = parse_decimal(text)?;
        check_scale(value, 2)?;
        if value > MAX_PRICE {
            return Err(MoneyError::TooLarge(value));
        }
        Ok(Money(value.normalize().round_dp(2)))
    }

    /// Parses a stored amount (discount amount, order total): non-negative, at most 5 places.
    pub fn parse_amount(text: &str) -> Result<Self, MoneyError> {
        let value = parse_decimal(text)?;
        check_scale(value, 5)?;
        Ok(Money(value))
    }

    /// The exact decimal value.
    pub const fn amount(self) -> Decimal {
        self.0
    }

    /// Rounds to cents, half to even.
    pub fn quantize(self) -> Money {
        Money(quantize(self.0))
    }

    /// `self − other`, but never below zero (dollars-off floors at 0).
    pub fn saturating_sub(self, other: Money) -> Money {
        if other.0 > self.0 {
            Money::ZERO
        } else {
            Money(self.0 - other.0)
        }
    }

    /// Clamps a computed amount at zero.
    pub fn at_least_zero(self) -> Money {
        if self.0.is_sign_negative() && !self.0.is_zero() {
            Money::ZERO
        } else {
            self
        }
    }

    /// True when exactly zero dollars.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The JSON/text form of a price: 2 decimal places (`"1000.00"`).
    pub fn to_price_string(self) -> String {
        format_dp(quantize(self.0), 2)
    }

    /// The JSON/text form of a stored amount: 5 decimal places (`"800.00000"`).
    pub fn to_amount_string(self) -> String {
        format_dp(
            self.0
                .round_dp_with_strategy(5, RoundingStrategy::MidpointNearestEven),
            5,
        )
    }
}

/// Rounds a decimal to cents, half to even.
pub fn quantize(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

fn format_dp(value: Decimal, dp: u32) -> String {
    let mut v = value;
    v.rescale(dp);
    v.to_string()
}

fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let trimmed = text.trim();
    // Scientific notation and thousands separators are refused: money is typed by people
    // and a "1e3" or "1,000" is more likely a mistake than an intent.
    let value = Decimal::from_str(trimmed).map_err(|_| MoneyError::NotANumber(text.to_owned()))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(MoneyError::Negative(value));
    }
    Ok(value)
}

fn check_scale(value: Decimal, max: u32) -> Result<(), MoneyError> {
    if value.normalize().scale() > max {
        return Err(MoneyError::TooPrecise { value, max });
    }
    Ok(())
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.to_price_string())
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse_amount(s)
    }
}

impl From<Decimal> for Money {
    fn from(value: Decimal) -> Self {
        Money(value)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Mul<u32> for Money {
    type Output = Money;
    fn mul(self, rhs: u32) -> Money {
        Money(self.0 * Decimal::from(rhs))
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn quantize_is_half_to_even() {
        let cases = [
            (dec!(5.025), dec!(5.02)),
            (dec!(5.075), dec!(5.08)),
            (dec!(0.005), dec!(0.00)),
            (dec!(89.445), dec!(89.44)),
            (dec!(74.9925), dec!(74.99)),
            (dec!(29.4975), dec!(29.50)),
            (dec!(1.0051), dec!(1.01)),
        ];
        for (input, expected) in cases {
            assert_eq!(quantize(input), expected, "quantize({input})");
        }
    }

    #[test]
    fn price_parsing() {
        assert_eq!(
            Money::parse_price("1000").unwrap().to_price_string(),
            "1000.00"
        );
        assert_eq!(
            Money::parse_price(" 39.33 ").unwrap().to_price_string(),
            "39.33"
        );
        assert_eq!(
            Money::parse_price("99999.99").unwrap().to_price_string(),
            "99999.99"
        );
        assert!(matches!(
            Money::parse_price("100000"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            Money::parse_price("1.005"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Money::parse_price("-1"),
            Err(MoneyError::Negative(_))
        ));
        assert!(matches!(
            Money::parse_price("ten"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            Money::parse_price(""),
            Err(MoneyError::NotANumber(_))
        ));
        assert_eq!(
            Money::parse_price("1.50000").unwrap().to_price_string(),
            "1.50"
        );
    }

    #[test]
    fn amount_formats() {
        let m = Money::parse_amount("800").unwrap();
        assert_eq!(m.to_amount_string(), "800.00000");
        assert_eq!(m.to_price_string(), "800.00");
        assert_eq!(
            Money::parse_amount("10.55500").unwrap().amount(),
            dec!(10.555)
        );
        assert!(Money::parse_amount("0.000001").is_err());
        assert_eq!(format!("{}", Money::from_cents(4200)), "$42.00");
    }

    #[test]
    fn saturating_sub_floors_at_zero() {
        let p = Money::from_cents(999);
        assert_eq!(p.saturating_sub(Money::from_cents(1000)), Money::ZERO);
        assert_eq!(
            Money::from_cents(1000).saturating_sub(p),
            Money::from_cents(1)
        );
    }
}
