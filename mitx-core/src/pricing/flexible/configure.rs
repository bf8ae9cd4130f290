//! `configure_tiers` planning (pricing-and-b2b spec 4.3): which tier discounts to reuse
//! or create, which tiers to upsert, and which old tier discounts to expire.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::courseware::Courseware;
use super::tiers::Tier;
use crate::Timestamp;
use crate::ids::{DiscountId, TierId};
use crate::pricing::{
    Discount, DiscountCode, DiscountCodeError, DiscountDraft, DiscountType, PaymentType, valid_now,
};

/// Why `configure_tiers` stopped (nothing is changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigureTiersError {
    /// Neither `--course` nor `--program` was given (the original crashed).
    #[error("You must specify a course or a program.")]
    NoTarget,
    /// Unknown course id.
    #[error("Couldn't find the course {0}, stopping.")]
    CourseNotFound(i64),
    /// Unknown program id.
    #[error("Couldn't find the program {0}, stopping.")]
    ProgramNotFound(i64),
    /// The tier info has no threshold-0 row.
    #[error("No zero tier specified in the tier info. This is a requirement - giving up.")]
    NoZeroTier,
    /// A tier-info row that is not `threshold,discount type,amount`.
    #[error("Tier info line {line} is not 'threshold,discount type,amount': {text}")]
    BadTierInfoRow {
        /// 1-based line number.
        line: usize,
        /// The row as read.
        text: String,
    },
    /// The generated code is not a valid discount code (too long).
    #[error(transparent)]
    InvalidCode(#[from] DiscountCodeError),
    /// The year has no January 1st in range.
    #[error("Year {0} is out of range.")]
    YearOutOfRange(i32),
}

/// The courseware `configure_tiers` works on: `--course` wins when both are given.
pub fn choose_configure_target(
    course: Option<i64>,
    program: Option<i64>,
) -> Result<ConfigureTarget, ConfigureTiersError> {
    match (course, program) {
        (Some(id), _) => Ok(ConfigureTarget::Course(id)),
        (None, Some(id)) => Ok(ConfigureTarget::Program(id)),
        (None, None) => Err(ConfigureTiersError::NoTarget),
    }
}

/// The requested target before lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConfigureTarget {
    /// `--course ID`.
    Course(i64),
    /// `--program ID`.
    Program(i64),
}

impl ConfigureTarget {
    /// The error when the lookup found nothing (nothing is created).
    pub fn not_found(self) -> ConfigureTiersError {
        match self {
            ConfigureTarget::Course(id) => ConfigureTiersError::CourseNotFound(id),
            ConfigureTarget::Program(id) => ConfigureTiersError::ProgramNotFound(id),
        }
    }
}

/// One tier to configure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TierSpec {
    /// Income threshold, USD.
    pub threshold: f64,
    /// Discount type of the tier discount.
    pub discount_type: DiscountType,
    /// Discount amount.
    pub amount: Decimal,
}

/// The default tiers: programs get dollars-off 750/650/500 and 0% off; courses get
/// percent-off 75/50/25/0; thresholds 0, 25000, 50000, 75000.
pub fn default_tier_specs(courseware: Courseware) -> Vec<TierSpec> {
    let thresholds = [0.0, 25000.0, 50000.0, 75000.0];
    let discounts: [(DiscountType, i64); 4] = match courseware {
        Courseware::Program(_) => [
            (DiscountType::DollarsOff, 750),
            (DiscountType::DollarsOff, 650),
            (DiscountType::DollarsOff, 500),
            (DiscountType::PercentOff, 0),
        ],
        Courseware::Course(_) => [
            (DiscountType::PercentOff, 75),
            (DiscountType::PercentOff, 50),
            (DiscountType::PercentOff, 25),
            (DiscountType::PercentOff, 0),
        ],
    };
    thresholds
        .into_iter()
        .zip(discounts)
        .map(|(threshold, (discount_type, amount))| TierSpec {
            threshold,
            discount_type,
            amount: Decimal::from(amount),
        })
        .collect()
}

/// Parses `--tier-info` rows (CSV without header: `threshold,discount type,amount`;
/// blank rows skipped). They replace all defaults.
pub fn parse_tier_info(rows: &[Vec<String>]) -> Result<Vec<TierSpec>, ConfigureTiersError> {
    rows.iter()
        .enumerate()
        .filter(|(_, row)| !row.is_empty())
        .map(|(i, row)| {
            let bad = || ConfigureTiersError::BadTierInfoRow {
                line: i + 1,
                text: row.join(","),
            };
            let [threshold, kind, amount] = row.as_slice() else {
                return Err(bad());
            };
            Ok(TierSpec {
                threshold: threshold.trim().parse().map_err(|_| bad())?,
                discount_type: DiscountType::parse(kind.trim()).ok_or_else(bad)?,
                amount: Decimal::from_str(amount.trim()).map_err(|_| bad())?,
            })
        })
        .collect()
}

/// The discount of a planned tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum TierDiscountPlan {
    /// An existing, still valid tier discount with the same type and amount.
    Reuse {
        /// The reused discount.
        discount: DiscountId,
    },
    /// A new `financial-assistance`, unlimited discount.
    Create {
        /// The discount to create.
        draft: DiscountDraft,
    },
}

/// One tier to upsert (keyed by threshold and courseware), made current.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedTier {
    /// 1-based tier number (in the code `{abbrev}-fa-tier{n}-{year}`).
    pub number: usize,
    /// Income threshold.
    pub threshold: f64,
    /// The tier discount.
    pub discount: TierDiscountPlan,
    /// The existing tier of this courseware with that threshold (updated), if any.
    pub existing_tier: Option<TierId>,
}

/// Everything `configure_tiers` does, as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TierConfigurationPlan {
    /// Tiers to upsert with `current = true`.
    pub tiers: Vec<PlannedTier>,
    /// Unmatched `{abbrev}-fa-tier…` discounts to expire (written directly, bypassing the
    /// save-time date check, as the original's bulk update did).
    pub expire_discounts: Vec<DiscountId>,
    /// Their new expiration date: January 1st of last year, midnight UTC.
    pub expiration_date: Timestamp,
    /// Tiers of this courseware that point at an expired discount: `current = false`.
    pub deactivate_tiers: Vec<TierId>,
}

impl TierConfigurationPlan {
    /// How many discounts are created.
    pub fn created_count(&self) -> usize {
        self.tiers
            .iter()
            .filter(|t| matches!(t.discount, TierDiscountPlan::Create { .. }))
            .count()
    }

    /// How many discounts are expired.
    pub fn expired_count(&self) -> usize {
        self.expire_discounts.len()
    }
}

/// The inputs of [`plan_tier_configuration`].
#[derive(Clone, Copy, Debug)]
pub struct TierConfigurationInput<'a> {
    /// The course or program.
    pub courseware: Courseware,
    /// Its readable id (`--program-abbrev` is accepted but ignored, as in the original).
    pub abbrev: &'a str,
    /// The current calendar year.
    pub year: i32,
    /// The tiers to configure ([`default_tier_specs`] or [`parse_tier_info`]).
    pub specs: &'a [TierSpec],
    /// Existing discounts (at least those whose code starts with `{abbrev}-fa-tier`).
    pub existing_discounts: &'a [Discount],
    /// Existing tiers (at least those of this courseware).
    pub existing_tiers: &'a [Tier],
    /// Now, for "valid now".
    pub now: Timestamp,
}

/// Plans `configure_tiers`: requires a threshold-0 spec; for each spec reuses an
/// existing discount whose code starts with `{abbrev}-fa-tier`, ends with `{year}`, is
/// valid now and has the same type and amount (compared as numbers: the original
/// compared CSV amounts as text, so re-running with a CSV always created fresh
/// discounts), else creates `{abbrev}-fa-tier{n}-{year}`; then expires every other
/// `{abbrev}-fa-tier` discount and deactivates this courseware's tiers pointing at them.
pub fn plan_tier_configuration(
    input: &TierConfigurationInput<'_>,
) -> Result<TierConfigurationPlan, ConfigureTiersError> {
    if !input.specs.iter().any(|s| s.threshold == 0.0) {
        return Err(ConfigureTiersError::NoZeroTier);
    }
    let prefix = format!("{}-fa-tier", input.abbrev);
    let year = input.year.to_string();
    let family: Vec<&Discount> = input
        .existing_discounts
        .iter()
        .filter(|d| d.code.as_str().starts_with(&prefix))
        .collect();

    let mut tiers = Vec::with_capacity(input.specs.len());
    let mut matched: Vec<DiscountId> = Vec::new();
    for (i, spec) in input.specs.iter().enumerate() {
        let number = i + 1;
        let reusable = family.iter().find(|d| {
            d.code.as_str().ends_with(&year)
                && valid_now(d, input.now)
                && d.discount_type == spec.discount_type
                && d.amount == spec.amount
        });
        let discount = match reusable {
            Some(d) => {
                matched.push(d.id);
                TierDiscountPlan::Reuse { discount: d.id }
            }
            None => TierDiscountPlan::Create {
                draft: DiscountDraft {
                    payment_type: Some(PaymentType::FinancialAssistance),
                    ..DiscountDraft::new(
                        DiscountCode::parse(&format!("{prefix}{number}-{year}"))?,
                        spec.discount_type,
                        spec.amount,
                    )
                },
            },
        };
        let existing_tier = input
            .existing_tiers
            .iter()
            .find(|t| t.courseware == input.courseware && t.income_threshold_usd == spec.threshold)
            .map(|t| t.id);
        tiers.push(PlannedTier {
            number,
            threshold: spec.threshold,
            discount,
            existing_tier,
        });
    }

    let expire_discounts: Vec<DiscountId> = family
        .iter()
        .map(|d| d.id)
        .filter(|id| !matched.contains(id))
        .collect();
    let upserted: Vec<TierId> = tiers.iter().filter_map(|t| t.existing_tier).collect();
    let deactivate_tiers = input
        .existing_tiers
        .iter()
        .filter(|t| {
            t.courseware == input.courseware
                && expire_discounts.contains(&t.discount.id)
                && !upserted.contains(&t.id)
        })
        .map(|t| t.id)
        .collect();
    let expiration_date = NaiveDate::from_ymd_opt(input.year - 1, 1, 1)
        .ok_or(ConfigureTiersError::YearOutOfRange(input.year))?
        .and_time(NaiveTime::MIN)
        .and_utc();
    Ok(TierConfigurationPlan {
        tiers,
        expire_discounts,
        expiration_date,
        deactivate_tiers,
    })
}
