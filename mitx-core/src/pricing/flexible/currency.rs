//! Income conversion to US dollars (pricing-and-b2b spec 2.2).
//!
//! Incomes and exchange rates are `f64` in the original (and here); the converted income
//! is rounded to 2 decimal places the way Python's `round(x, 2)` does: half-to-even on
//! the exact binary value.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// The currency that needs no exchange-rate row.
pub const USD: &str = "USD";

/// Why an income could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// No usable exchange-rate row for the currency (the form error).
    #[error("Currency not supported")]
    NotSupported(String),
}

/// `income_usd = round(original_income / rate, 2)`, or the income itself (rounded) for
/// `USD`. `rate` is the stored row for `currency` (foreign units per 1 USD); a missing
/// row, or a zero/negative/non-finite rate (which would divide into nonsense), is
/// "Currency not supported".
pub fn convert_income(
    original_income: f64,
    currency: &str,
    rate: Option<f64>,
) -> Result<f64, CurrencyError> {
    if currency == USD {
        return Ok(round_to_cents(original_income));
    }
    match rate {
        Some(rate) if rate.is_finite() && rate > 0.0 => Ok(round_to_cents(original_income / rate)),
        _ => Err(CurrencyError::NotSupported(currency.to_owned())),
    }
}

/// Python's `round(x, 2)` for floats: half-to-even on the exact binary value, returned
/// as the nearest `f64`. Non-finite or out-of-range values are returned unchanged.
pub fn round_to_cents(x: f64) -> f64 {
    Decimal::from_f64_retain(x)
        .map(|d| d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
        .and_then(|d| d.to_f64())
        .unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(convert_income(40000.0, "USD", None), Ok(40000.0));
        assert_eq!(convert_income(2_500_000.0, "INR", Some(83.2)), Ok(30048.08));
        assert_eq!(convert_income(1_000_000.0, "KES", Some(129.5)), Ok(7722.01));
        assert_eq!(convert_income(500_000.0, "MXN", Some(17.0)), Ok(29411.76));
        let err = convert_income(10.0, "XYZ", None).unwrap_err();
        assert_eq!(err.to_string(), "Currency not supported");
        assert!(convert_income(10.0, "EUR", Some(0.0)).is_err());
    }

    #[test]
    fn rounding_matches_python() {
        // Python: round(2.675, 2) == 2.67 (binary value below the midpoint),
        // round(0.125, 2) == 0.12 (exact midpoint, to even), round(0.375, 2) == 0.38.
        assert_eq!(round_to_cents(2.675), 2.67);
        assert_eq!(round_to_cents(0.125), 0.12);
        assert_eq!(round_to_cents(0.375), 0.38);
        assert_eq!(round_to_cents(30048.076923076922), 30048.08);
        assert!(round_to_cents(f64::NAN).is_nan());
    }
}
