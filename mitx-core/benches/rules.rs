//! Criterion benches for the hot rules: pricing a basket against many candidate discounts,
//! and evaluating program certificate eligibility over a requirements tree.
//!
//! Run: `cargo bench -p mitx-core --bench rules`. Figures are recorded in docs/performance.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mitx_core::catalog::{
    Availability, CourseRun, CoursewareId, EnrollmentMode, Operator, Program, ReadableId,
    RequirementNode, VariantIndustry, VariantLength,
};
use mitx_core::certificates::{Certificate, LearnerFacts, is_program_eligible};
use mitx_core::enrollment::RunEnrollment;
use mitx_core::ids::{CourseId, CourseRunId, DiscountId, ProgramId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::{Discount, DiscountCode, DiscountType, RedemptionType, best_price};
use rust_decimal::Decimal;
use uuid::Uuid;

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
fn price_basket(
    prices: &[(Money, u32)],
    candidates: &[Discount],
    now: chrono::DateTime<Utc>,
) -> Money {
    let valid: Vec<&Discount> = candidates
        .iter()
        .filter(|d| {
            d.activation_date.is_none_or(|a| a <= now) && d.expiration_date.is_none_or(|e| e > now)
        })
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

/// A learner in a program of 40 courses (2 runs each), enrolled verified in the second
/// run of every course and certified in two courses out of three: enough to pass.
fn learner_with_certificates(now: chrono::DateTime<Utc>) -> (Program, LearnerFacts) {
    let requirements = tree();
    assert_eq!(requirements.all_courses().len(), 40);
    let program = Program {
        id: ProgramId(1),
        title: "Bench program".into(),
        readable_id: ReadableId::parse("program-v1:MITx+BENCH").unwrap(),
        live: true,
        program_type: None,
        departments: vec![],
        availability: Availability::Anytime,
        enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
        display_mode: None,
        b2b_only: false,
        requirements,
    };
    let user = UserId(1);
    let mut facts = LearnerFacts::new(user);
    facts.programs.insert(program.id, program.clone());
    for course in 1..=40i64 {
        for n in 0..2i64 {
            let id = CourseRunId(course * 10 + n);
            let run = CourseRun {
                id,
                course_id: CourseId(course),
                title: format!("Course {course}"),
                courseware_id: CoursewareId::parse(&format!("course-v1:MITx+C{course}+{n}T2026"))
                    .unwrap(),
                run_tag: format!("{n}T2026"),
                start_date: Some(now),
                end_date: None,
                enrollment_start: Some(now),
                enrollment_end: None,
                certificate_available_date: None,
                upgrade_deadline: None,
                expiration_date: None,
                live: true,
                is_self_paced: true,
                enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
                b2b_contract: None,
                is_source_run: false,
                is_primary_language: true,
                language: "en".into(),
                has_courseware_url: true,
                variant_length: VariantLength::Full,
                variant_industry: VariantIndustry::General,
            };
            facts.runs.insert(id, run);
        }
        let id = CourseRunId(course * 10 + 1);
        facts
            .run_enrollments
            .insert(id, RunEnrollment::new(user, id, EnrollmentMode::Verified));
        if course <= 4 || course % 3 != 0 {
            let uuid = Uuid::from_u128(course as u128);
            // Every required course (1–4) and two electives in three are certified.
            facts
                .course_certificates
                .insert(id, Certificate::issue(uuid, user, id, now, None));
        }
    }
    (program, facts)
}

fn benches(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let candidates = discounts(50);
    let basket: Vec<(Money, u32)> = (0..10)
        .map(|i| (Money::from_cents(9_999 + 12_345 * i), 1 + (i as u32 % 2)))
        .collect();
    c.bench_function("price basket of 10 items against 50 discounts", |b| {
        b.iter(|| price_basket(black_box(&basket), black_box(&candidates), now))
    });

    let (program, facts) = learner_with_certificates(now);
    assert!(is_program_eligible(&program, &facts));
    c.bench_function(
        "program eligibility over a 3-level tree of 40 courses",
        |b| b.iter(|| is_program_eligible(black_box(&program), black_box(&facts))),
    );
}

criterion_group!(rules, benches);
criterion_main!(rules);
