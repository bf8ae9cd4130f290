//! Discount code generation and the code-maintenance commands (ecommerce spec 6).
//!
//! [`plan_discount_codes`] checks the parameters (exact messages of the original) and
//! returns the discounts to create as [`DiscountDraft`]s; the UUIDs of batch codes come
//! from the caller. [`check_discount_code`] is the "Can be redeemed?" verdict and
//! [`extend_coupons_targets`] the `extend_coupons` matching rule.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::validity::DiscountRecord;
use super::{
    Discount, DiscountCode, DiscountCodeError, DiscountDraft, DiscountType, PaymentType,
    RedemptionType, valid_now,
};
use crate::Timestamp;
use crate::ids::DiscountId;

/// Longest prefix of a batch: 63 characters + a 36-character UUID + room in the
/// 100-character code column.
pub const MAX_PREFIX_CHARS: usize = 63;

/// The parameters of `generate` (staff batch API and `generate_discount_code` command),
/// as received: type names are still text so the original's messages can name them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGenerationRequest {
    /// `percent-off`, `dollars-off` or `fixed-price`.
    pub discount_type: String,
    /// One of the payment type slugs.
    pub payment_type: String,
    /// Percent (0–100) or dollars.
    pub amount: Decimal,
    /// How many codes; above 1 a prefix is required and codes are `prefix + uuid`.
    pub count: u32,
    /// Batch prefix (at most 63 characters).
    pub prefix: Option<String>,
    /// Explicit codes, used when `count ≤ 1` (one discount each).
    pub codes: Vec<String>,
    /// `one-time` redemption.
    pub one_time: bool,
    /// `one-time-per-user` redemption (wins over `one_time`).
    pub once_per_user: bool,
    /// An explicit redemption type slug; a valid one overrides both flags, an invalid one
    /// is ignored.
    pub redemption_type: Option<String>,
    /// Activation date text (parsed by [`parse_supplied_date`]).
    pub activates: Option<String>,
    /// Expiration date text (parsed by [`parse_supplied_date`]).
    pub expires: Option<String>,
}

/// Why a generation request was refused. Display texts are the original's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeGenerationError {
    /// Unknown discount type.
    #[error("Discount type {0} is not valid.")]
    InvalidDiscountType(String),
    /// Unknown payment type.
    #[error("Payment type {0} is not valid.")]
    InvalidPaymentType(String),
    /// Percent-off above 100.
    #[error("Discount amount {0} not valid for discount type percent-off.")]
    PercentTooHigh(Decimal),
    /// A negative amount (refused on write, ecommerce spec 2.2; not checked by the
    /// original generator).
    #[error("Discount amount {0} must not be negative.")]
    NegativeAmount(Decimal),
    /// A batch without prefix.
    #[error("You must specify a prefix to create a batch of codes.")]
    PrefixRequired,
    /// A prefix above 63 characters.
    #[error("Prefix {prefix} is {chars} - prefixes must be 63 characters or less.")]
    PrefixTooLong {
        /// The refused prefix.
        prefix: String,
        /// Its length in characters.
        chars: usize,
    },
    /// An explicit code that is empty or too long.
    #[error(transparent)]
    InvalidCode(#[from] DiscountCodeError),
    /// An unreadable date.
    #[error(transparent)]
    InvalidDate(#[from] DateParseError),
}

/// A date text that [`parse_supplied_date`] could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Could not parse the date '{0}'.")]
pub struct DateParseError(pub String);

/// Reads a date the lenient way the original's tools did: `2026-08-15` is midnight UTC;
/// `2026-08-15T10:00[:00[.fff]]` (or with a space) without offset is UTC; a `Z` or
/// `±HH:MM` / `±HHMM` offset is converted to UTC.
pub fn parse_supplied_date(text: &str) -> Result<Timestamp, DateParseError> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| DateParseError(text.to_owned()))
}

/// The redemption type of generated codes: `unlimited` by default, `one-time` with
/// `one_time`, `one-time-per-user` with `once_per_user` (wins), and a valid explicit
/// slug overrides both (an invalid one is ignored, as in the original).
pub fn resolve_redemption_type(
    one_time: bool,
    once_per_user: bool,
    explicit: Option<&str>,
) -> RedemptionType {
    if let Some(explicit) = explicit.and_then(RedemptionType::parse) {
        return explicit;
    }
    if once_per_user {
        RedemptionType::OneTimePerUser
    } else if one_time {
        RedemptionType::OneTime
    } else {
        RedemptionType::Unlimited
    }
}

/// Checks a generation request and returns the discounts to create, in order. Checks run
/// in the original's order: discount type, payment type, percent above 100, (mitx:
/// negative amount), batch prefix presence and length, then codes and dates. Batch codes
/// are `prefix + uuid` (36 characters with dashes, no separator) with one UUID drawn from
/// `next_uuid` per code. Every draft has `is_bulk = true`, `automatic = false`,
/// `max_redemptions = 0`.
pub fn plan_discount_codes(
    request: &CodeGenerationRequest,
    next_uuid: &mut dyn FnMut() -> Uuid,
) -> Result<Vec<DiscountDraft>, CodeGenerationError> {
    let discount_type = DiscountType::parse(&request.discount_type)
        .ok_or_else(|| CodeGenerationError::InvalidDiscountType(request.discount_type.clone()))?;
    let payment_type = PaymentType::parse(&request.payment_type)
        .ok_or_else(|| CodeGenerationError::InvalidPaymentType(request.payment_type.clone()))?;
    let amount = request.amount;
    if discount_type == DiscountType::PercentOff && amount > Decimal::ONE_HUNDRED {
        return Err(CodeGenerationError::PercentTooHigh(amount));
    }
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(CodeGenerationError::NegativeAmount(amount));
    }
    let codes: Vec<DiscountCode> = if request.count > 1 {
        let prefix = request
            .prefix
            .as_deref()
            .ok_or(CodeGenerationError::PrefixRequired)?;
        let chars = prefix.chars().count();
        if chars > MAX_PREFIX_CHARS {
            return Err(CodeGenerationError::PrefixTooLong {
                prefix: prefix.to_owned(),
                chars,
            });
        }
        (0..request.count)
            .map(|_| DiscountCode::parse(&format!("{prefix}{}", next_uuid().hyphenated())))
            .collect::<Result<_, _>>()?
    } else {
        request
            .codes
            .iter()
            .map(|code| DiscountCode::parse(code))
            .collect::<Result<_, _>>()?
    };
    let redemption_type = resolve_redemption_type(
        request.one_time,
        request.once_per_user,
        request.redemption_type.as_deref(),
    );
    let expiration_date = request
        .expires
        .as_deref()
        .map(parse_supplied_date)
        .transpose()?;
    let activation_date = request
        .activates
        .as_deref()
        .map(parse_supplied_date)
        .transpose()?;
    Ok(codes
        .into_iter()
        .map(|code| DiscountDraft {
            code,
            discount_type,
            amount,
            redemption_type,
            payment_type: Some(payment_type),
            max_redemptions: 0,
            automatic: false,
            activation_date,
            expiration_date,
            is_bulk: true,
            is_program_discount: false,
        })
        .collect())
}

/// The "Can be redeemed?" line of `check_discount_code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RedeemabilityVerdict {
    /// Valid now and capacity remains.
    Yes,
    /// Not valid now, used up, or capped out.
    No,
    /// One-time-per-user: depends on who redeems it.
    Potentially,
}

impl fmt::Display for RedeemabilityVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedeemabilityVerdict::Yes => "Yes",
            RedeemabilityVerdict::No => "No",
            RedeemabilityVerdict::Potentially => "Potentially",
        })
    }
}

/// `check_discount_code`'s verdict: `No` unless [`valid_now`]; then `Potentially` for
/// one-time-per-user; `Yes` for an unused one-time code or an unlimited code with
/// remaining capacity (no cap, or order redemptions in any state below the cap); else
/// `No`. (The original answered `No` for an uncapped unlimited code.)
pub fn check_discount_code(record: &DiscountRecord, now: Timestamp) -> RedeemabilityVerdict {
    let d: &Discount = &record.discount;
    if !valid_now(d, now) {
        return RedeemabilityVerdict::No;
    }
    let used = record.usage.all_redemptions;
    match d.redemption_type {
        RedemptionType::OneTimePerUser => RedeemabilityVerdict::Potentially,
        RedemptionType::Unlimited if d.max_redemptions == 0 || used < d.max_redemptions => {
            RedeemabilityVerdict::Yes
        }
        RedemptionType::OneTime if used == 0 => RedeemabilityVerdict::Yes,
        _ => RedeemabilityVerdict::No,
    }
}

/// `extend_coupons --discount-code-prefix P`: the discounts whose code **starts with** `P`
/// (case-sensitive) and that were never redeemed (no redemption on any order). The
/// original matched `P` anywhere in the code; a batch prefix is a prefix, so `SPRING`
/// no longer catches `X-SPRING-1`. An empty prefix matches nothing.
pub fn extend_coupons_targets(discounts: &[DiscountRecord], prefix: &str) -> Vec<DiscountId> {
    if prefix.is_empty() {
        return Vec::new();
    }
    discounts
        .iter()
        .filter(|r| r.discount.code.as_str().starts_with(prefix) && !r.usage.is_redeemed())
        .map(|r| r.discount.id)
        .collect()
}

/// Whether setting `new_expiration` on `discount` would shorten its life: it expires later
/// today, or never (a code without an expiration date that is given one is shortened).
pub fn expiration_shortened(discount: &Discount, new_expiration: DateTime<Utc>) -> bool {
    discount
        .expiration_date
        .is_none_or(|current| current > new_expiration)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::pricing::basket::tests::{discount, record};

    fn uuids() -> impl FnMut() -> Uuid {
        let mut n: u128 = 0;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    fn batch() -> CodeGenerationRequest {
        CodeGenerationRequest {
            discount_type: "percent-off".into(),
            payment_type: "customer-support".into(),
            amount: dec!(50),
            count: 5,
            prefix: Some("Generated-Code-".into()),
            one_time: true,
            expires: Some("2030-01-01T00:00:00".into()),
            ..Default::default()
        }
    }

    #[test]
    fn ecommerce_s55_create_batch_makes_prefixed_one_time_bulk_codes() {
        let drafts = plan_discount_codes(&batch(), &mut uuids()).unwrap();
        assert_eq!(drafts.len(), 5);
        let expires = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        for d in &drafts {
            assert!(d.code.as_str().starts_with("Generated-Code-"));
            assert_eq!(d.code.as_str().len(), "Generated-Code-".len() + 36);
            assert_eq!(d.redemption_type, RedemptionType::OneTime);
            assert!(d.is_bulk);
            assert!(!d.automatic);
            assert_eq!(d.max_redemptions, 0);
            assert_eq!(d.amount, dec!(50));
            assert_eq!(d.payment_type, Some(PaymentType::CustomerSupport));
            assert_eq!(d.expiration_date, Some(expires));
        }
        assert_eq!(
            drafts[0].code.as_str(),
            "Generated-Code-00000000-0000-0000-0000-000000000001"
        );
    }

    #[test]
    fn ecommerce_s56_generation_parameter_errors() {
        let too_much = CodeGenerationRequest {
            amount: dec!(150),
            ..batch()
        };
        assert_eq!(
            plan_discount_codes(&too_much, &mut uuids())
                .unwrap_err()
                .to_string(),
            "Discount amount 150 not valid for discount type percent-off."
        );
        let no_prefix = CodeGenerationRequest {
            count: 2,
            prefix: None,
            ..batch()
        };
        assert_eq!(
            plan_discount_codes(&no_prefix, &mut uuids())
                .unwrap_err()
                .to_string(),
            "You must specify a prefix to create a batch of codes."
        );
        let long = "a".repeat(64);
        let long_prefix = CodeGenerationRequest {
            prefix: Some(long.clone()),
            ..batch()
        };
        assert_eq!(
            plan_discount_codes(&long_prefix, &mut uuids())
                .unwrap_err()
                .to_string(),
            format!("Prefix {long} is 64 - prefixes must be 63 characters or less.")
        );
        // 63 characters is fine.
        let ok = CodeGenerationRequest {
            prefix: Some("a".repeat(63)),
            ..batch()
        };
        assert!(plan_discount_codes(&ok, &mut uuids()).is_ok());
        let bad_type = CodeGenerationRequest {
            discount_type: "half-off".into(),
            ..batch()
        };
        assert_eq!(
            plan_discount_codes(&bad_type, &mut uuids())
                .unwrap_err()
                .to_string(),
            "Discount type half-off is not valid."
        );
        let bad_payment = CodeGenerationRequest {
            payment_type: "credit_card".into(),
            ..batch()
        };
        assert_eq!(
            plan_discount_codes(&bad_payment, &mut uuids())
                .unwrap_err()
                .to_string(),
            "Payment type credit_card is not valid."
        );
    }

    #[test]
    fn explicit_codes_when_count_is_one() {
        let req = CodeGenerationRequest {
            count: 1,
            prefix: None,
            codes: vec!["A1".into(), " B2 ".into()],
            ..batch()
        };
        let drafts = plan_discount_codes(&req, &mut uuids()).unwrap();
        let codes: Vec<&str> = drafts.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["A1", "B2"]);
    }

    #[test]
    fn redemption_type_resolution() {
        use RedemptionType::*;
        let cases = [
            (false, false, None, Unlimited),
            (true, false, None, OneTime),
            (true, true, None, OneTimePerUser),
            (true, true, Some("unlimited"), Unlimited),
            (true, false, Some("bogus"), OneTime),
        ];
        for (one_time, per_user, explicit, expected) in cases {
            assert_eq!(
                resolve_redemption_type(one_time, per_user, explicit),
                expected
            );
        }
    }

    #[test]
    fn lenient_dates() {
        let midnight = Utc.with_ymd_and_hms(2026, 8, 15, 0, 0, 0).unwrap();
        let cases = [
            ("2026-08-15", midnight),
            ("2026-08-15T00:00:00", midnight),
            ("2026-08-15 00:00:00", midnight),
            ("2026-08-15T00:00:00Z", midnight),
            ("2026-08-15T02:00:00+02:00", midnight),
            ("2026-08-14T20:00:00-0400", midnight),
            ("2026-08-15T00:00", midnight),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_supplied_date(text).unwrap(), expected, "{text}");
        }
        assert!(parse_supplied_date("next tuesday").is_err());
    }

    #[test]
    fn check_discount_code_verdicts() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let mut r = record(discount(1, "C", DiscountType::PercentOff, dec!(10)));
        assert_eq!(check_discount_code(&r, now), RedeemabilityVerdict::Yes);
        r.discount.max_redemptions = 2;
        r.usage.all_redemptions = 2;
        assert_eq!(check_discount_code(&r, now), RedeemabilityVerdict::No);
        r.discount.redemption_type = RedemptionType::OneTimePerUser;
        assert_eq!(check_discount_code(&r, now).to_string(), "Potentially");
        r.discount.redemption_type = RedemptionType::OneTime;
        assert_eq!(check_discount_code(&r, now), RedeemabilityVerdict::No);
        r.usage.all_redemptions = 0;
        assert_eq!(check_discount_code(&r, now), RedeemabilityVerdict::Yes);
        r.discount.expiration_date = Some(now);
        assert_eq!(check_discount_code(&r, now), RedeemabilityVerdict::No);
    }

    #[test]
    fn extend_coupons_matches_the_prefix_at_the_start_and_unredeemed() {
        let a = record(discount(
            1,
            "X-SPRING-1",
            DiscountType::PercentOff,
            dec!(10),
        ));
        let mut b = record(discount(2, "SPRING-2", DiscountType::PercentOff, dec!(10)));
        b.usage.all_redemptions = 1;
        let c = record(discount(3, "spring-3", DiscountType::PercentOff, dec!(10)));
        let d = record(discount(4, "SPRING-4", DiscountType::PercentOff, dec!(10)));
        let all = [a, b, c, d];
        assert_eq!(extend_coupons_targets(&all, "SPRING"), vec![DiscountId(4)]);
        assert_eq!(extend_coupons_targets(&all, ""), Vec::<DiscountId>::new());
    }

    #[test]
    fn an_earlier_date_or_a_first_date_shortens_an_expiration() {
        let at = |d| Utc.with_ymd_and_hms(2027, 1, d, 0, 0, 0).unwrap();
        let mut code = discount(1, "A", DiscountType::PercentOff, dec!(10));
        assert!(expiration_shortened(&code, at(10)), "never expired before");
        code.expiration_date = Some(at(10));
        assert!(expiration_shortened(&code, at(9)));
        assert!(!expiration_shortened(&code, at(10)));
        assert!(!expiration_shortened(&code, at(11)));
    }
}
