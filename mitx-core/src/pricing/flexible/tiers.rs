//! Flexible-pricing tiers: selection by income and auto-approval (pricing-and-b2b spec
//! 1.4, 2.3, 2.4).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::courseware::Courseware;
use crate::ids::TierId;
use crate::pricing::Discount;

/// A flexible-pricing tier of a courseware.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    /// Storage id.
    pub id: TierId,
    /// The course or program the tier prices.
    pub courseware: Courseware,
    /// Inclusive lower bound of the tier, USD per year.
    pub income_threshold_usd: f64,
    /// The tier's discount (an ordinary discount, usually `financial-assistance`).
    pub discount: Discount,
    /// Only current tiers are used.
    pub current: bool,
}

/// Why no tier could be selected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TierSelectionError {
    /// No current tier at or below the income on any eligible courseware: the courseware
    /// lacks its 0-threshold tier (a configuration error; the submission fails).
    #[error(
        "$0-income-threshold Tier has not yet been configured for Courseware with id {courseware_id}."
    )]
    NoZeroTier {
        /// The id of the courseware the selection started from.
        courseware_id: i64,
    },
}

/// Selects the tier for `income_usd`: for each courseware of `eligible` in order, among
/// its current tiers with threshold ≤ income take the highest threshold; the first
/// courseware with a hit wins. `parent` names the courseware in the error.
pub fn select_tier<'a>(
    parent: Courseware,
    eligible: &[Courseware],
    tiers: &'a [Tier],
    income_usd: f64,
) -> Result<&'a Tier, TierSelectionError> {
    eligible
        .iter()
        .find_map(|&courseware| {
            tiers
                .iter()
                .filter(|t| {
                    t.courseware == courseware && t.current && t.income_threshold_usd <= income_usd
                })
                // `reduce` keeps the first of equal thresholds (the original's order was
                // unspecified among duplicates).
                .reduce(|best, t| {
                    if t.income_threshold_usd > best.income_threshold_usd {
                        t
                    } else {
                        best
                    }
                })
        })
        .ok_or(TierSelectionError::NoZeroTier {
            courseware_id: parent.id(),
        })
}

/// The income threshold of a country absent from the thresholds table.
pub const DEFAULT_COUNTRY_INCOME_THRESHOLD: u32 = 75_000;

/// Auto-approval: a tier whose discount amount is 0 (nothing to verify) or a country
/// threshold of 0 auto-approves; otherwise only an income strictly above the country's
/// threshold does (declaring a high income needs no documents). `country_threshold` is
/// the table row for the country of income; `None` uses
/// [`DEFAULT_COUNTRY_INCOME_THRESHOLD`] (the caller logs the missing country).
pub fn auto_approves(
    income_usd: f64,
    country_threshold: Option<u32>,
    tier_discount_amount: Decimal,
) -> bool {
    let threshold = country_threshold.unwrap_or(DEFAULT_COUNTRY_INCOME_THRESHOLD);
    tier_discount_amount.is_zero() || threshold == 0 || income_usd > f64::from(threshold)
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ids::{CourseId, ProgramId};
    use crate::pricing::basket::tests::discount;
    use crate::pricing::{DiscountType, PaymentType};

    /// A current tier with a financial-assistance discount.
    pub(crate) fn tier(
        id: i64,
        courseware: Courseware,
        threshold: f64,
        kind: DiscountType,
        amount: Decimal,
    ) -> Tier {
        let mut d = discount(1000 + id, &format!("tier-{id}"), kind, amount);
        d.payment_type = Some(PaymentType::FinancialAssistance);
        Tier {
            id: TierId(id),
            courseware,
            income_threshold_usd: threshold,
            discount: d,
            current: true,
        }
    }

    /// The default program tiers of configure_tiers for `program`.
    pub(crate) fn program_tiers(program: ProgramId) -> Vec<Tier> {
        let cw = Courseware::Program(program);
        vec![
            tier(1, cw, 0.0, DiscountType::DollarsOff, dec!(750)),
            tier(2, cw, 25000.0, DiscountType::DollarsOff, dec!(650)),
            tier(3, cw, 50000.0, DiscountType::DollarsOff, dec!(500)),
            tier(4, cw, 75000.0, DiscountType::PercentOff, dec!(0)),
        ]
    }

    #[test]
    fn auto_approval_table() {
        let cases = [
            (25000.0, Some(25000), dec!(650), false),
            (25000.01, Some(25000), dec!(650), true),
            (10.0, Some(0), dec!(750), true),
            (80000.0, Some(75000), dec!(0), true),
            (60000.0, None, dec!(500), false),
            (75000.01, None, dec!(500), true),
        ];
        for (income, threshold, amount, expected) in cases {
            assert_eq!(
                auto_approves(income, threshold, amount),
                expected,
                "{income} {threshold:?} {amount}"
            );
        }
    }

    #[test]
    fn first_courseware_with_a_hit_wins() {
        let program = Courseware::Program(ProgramId(7));
        let course = Courseware::Course(CourseId(12));
        let tiers = vec![
            tier(1, course, 0.0, DiscountType::PercentOff, dec!(75)),
            tier(2, program, 50000.0, DiscountType::DollarsOff, dec!(500)),
        ];
        let eligible = [program, course];
        assert_eq!(
            select_tier(program, &eligible, &tiers, 10.0).unwrap().id,
            TierId(1)
        );
        assert_eq!(
            select_tier(program, &eligible, &tiers, 60000.0).unwrap().id,
            TierId(2)
        );
    }

    fn tier_set() -> impl Strategy<Value = Vec<Tier>> {
        let one = (0usize..3, 0u32..100_000, any::<bool>()).prop_map(|(cw, threshold, current)| {
            let courseware = match cw {
                0 => Courseware::Program(ProgramId(1)),
                1 => Courseware::Program(ProgramId(2)),
                _ => Courseware::Course(CourseId(3)),
            };
            Tier {
                current,
                ..tier(
                    i64::from(threshold),
                    courseware,
                    f64::from(threshold),
                    DiscountType::PercentOff,
                    dec!(10),
                )
            }
        });
        prop::collection::vec(one, 0..8)
    }

    proptest! {
        #[test]
        fn tier_selection_is_monotone_in_income(
            tiers in tier_set(),
            low in 0.0f64..120_000.0,
            delta in 0.0f64..120_000.0,
        ) {
            let eligible = [
                Courseware::Program(ProgramId(1)),
                Courseware::Program(ProgramId(2)),
                Courseware::Course(CourseId(3)),
            ];
            let high = low + delta;
            let parent = eligible[0];
            if let Ok(low_tier) = select_tier(parent, &eligible, &tiers, low) {
                // A tier found for the lower income is still eligible for the higher one.
                let high_tier = select_tier(parent, &eligible, &tiers, high);
                prop_assert!(high_tier.is_ok());
                if let Ok(high_tier) = high_tier {
                    prop_assert!(
                        high_tier.income_threshold_usd >= low_tier.income_threshold_usd,
                        "income {} → {}, but {} → {}",
                        low, low_tier.income_threshold_usd, high, high_tier.income_threshold_usd
                    );
                }
            }
        }
    }
}
