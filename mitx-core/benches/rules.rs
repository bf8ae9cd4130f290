//! Criterion benches for the hot rules: pricing a basket against many candidate discounts,
//! and evaluating program certificate eligibility over a requirements tree.
//!
//! Run: `cargo bench -p mitx-core --bench rules`. Figures are recorded in docs/performance.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mitx_core::catalog::{Operator, RequirementNode};
use mitx_core::ids::{CourseId, DiscountId};
use mitx_core::money::Money;
use mitx_core::pricing::{Discount, DiscountCode, DiscountType, RedemptionType, best_price};
use rust_decimal::Decimal;

fn discounts(n: usize) -> Vec<Discount> {
    (0..n)
        .map(|i| {
            let discount_type = match i % 3 {
                0 => DiscountType::PercentOff,
                1 => DiscountType::DollarsOff,
                _ => DiscountType::FixedPrice,
            };
            let amount = match discount_type {
                DiscountType::PercentOff => Decimal::from(5 + (i % 60) as i64),
                DiscountType::DollarsOff => Decimal::new(1000 + 733 * i as i64, 2),
                DiscountType::FixedPrice => Decimal::from(40 + 7 * i as i64),
            };
            Discount {
                id: DiscountId(i as i64),
                code: DiscountCode::parse(&format!("CODE{i}")).unwrap(),
                discount_type,
                amount,
                redemption_type: RedemptionType::Unlimited,
                payment_type: None,
                max_redemptions: 0,
                automatic: false,
                activation_date: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
                expiration_date: if i % 7 == 0 {
                    Some(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap())
                } else {
                    None
                },
                is_bulk: false,
                is_program_discount: false,
            }
        })
        .collect()
}

/// Prices every item of a basket against every candidate discount that is valid now,
/// quantizing each item and summing (the basket's discounted total).
fn price_basket(prices: &[(Money, u32)], candidates: &[Discount], now: chrono::DateTime<Utc>) -> Money {
    let valid: Vec<&Discount> = candidates
        .iter()
        .filter(|d| d.activation_date.is_none_or(|a| a <= now) && d.expiration_date.is_none_or(|e| e > now))
        .collect();
    prices
        .iter()
        .map(|&(price, quantity)| best_price(price, valid.iter().copied()).quantize() * quantity)
        .sum()
}

/// Three levels: root → 4 groups (1 required all-of, 3 elective min-of) → each with
/// nested min-of groups of courses; 40 courses in all.
fn tree() -> RequirementNode {
    let mut next = 0i64;
    let mut course = || {
        next += 1;
        RequirementNode::course(CourseId(next))
    };
    let required = RequirementNode::required_courses(&[])
        .with_child(course())
        .with_child(course())
        .with_child(course())
        .with_child(course());
    let mut root = RequirementNode::root().with_child(required);
    for _ in 0..3 {
        let mut groups = Vec::new();
        for _ in 0..3 {
            let leaves = (0..4).map(|_| course()).collect();
            groups.push(RequirementNode::operator(Operator::MinNumberOf(2), leaves));
        }
        root = root.with_child(RequirementNode::electives(2, groups));
    }
    root
}

fn benches(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let candidates = discounts(50);
    let basket: Vec<(Money, u32)> = (0..10).map(|i| (Money::from_cents(9_999 + 12_345 * i), 1 + (i as u32 % 2))).collect();
    c.bench_function("price basket of 10 items against 50 discounts", |b| {
        b.iter(|| price_basket(black_box(&basket), black_box(&candidates), now))
    });

    let t = tree();
    assert_eq!(t.all_courses().len(), 40);
    let passed: HashSet<CourseId> = (1..=40).filter(|i| i % 3 != 0).map(CourseId).collect();
    c.bench_function("program eligibility over a 3-level tree of 40 courses", |b| {
        b.iter(|| {
            black_box(&t).evaluate(&mut |course| passed.contains(&course), &mut |_| false)
        })
    });
}

criterion_group!(rules, benches);
criterion_main!(rules);
