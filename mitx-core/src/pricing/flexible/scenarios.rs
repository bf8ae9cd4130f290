//! Acceptance scenarios 1–24 of the pricing-and-b2b spec (flexible pricing).
//!
//! Defaults: program P (id 7) with the default program tiers; a course C (id 12) in P
//! whose run product costs 1000.00; rates INR 83.2, KES 129.5, MXN 17.0; thresholds from
//! the seed CSV (IN/KE 25000, MX 50000, US 75000, AF 0).

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use rust_decimal_macros::dec;

use super::tiers::tests::{program_tiers, tier};
use super::*;
use crate::Timestamp;
use crate::ids::{CourseId, DiscountId, FlexiblePriceId, ProgramId, TierId, UserId};
use crate::money::Money;
use crate::pricing::{Discount, DiscountType, best_price};

const P: ProgramId = ProgramId(7);
const C: CourseId = CourseId(12);
const LEARNER: UserId = UserId(1);

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

fn links() -> ProgramLinks {
    let mut links = ProgramLinks::new();
    links.add_course(P, C);
    links
}

fn rate(currency: &str) -> Option<f64> {
    match currency {
        "INR" => Some(83.2),
        "KES" => Some(129.5),
        "MXN" => Some(17.0),
        _ => None,
    }
}

fn country_threshold(country: &str) -> Option<u32> {
    match country {
        "IN" | "KE" | "PK" => Some(25000),
        "MX" | "BR" => Some(50000),
        "US" | "GB" => Some(75000),
        "AF" => Some(0),
        _ => None,
    }
}

fn form(country: &str, income: f64, currency: &str) -> SubmissionForm {
    SubmissionForm {
        original_income: income,
        currency: currency.into(),
        country_of_income: country.into(),
        country_of_residence: country.into(),
    }
}

/// A learner submits the form of program P.
fn submit_with(
    tiers: &[Tier],
    existing: Option<&FlexiblePriceRequest>,
    country: &str,
    income: f64,
    currency: &str,
) -> Result<SubmissionPlan, SubmissionError> {
    let courseware = Courseware::Program(P);
    let eligible = eligible_coursewares(PricedObject::Program(P), &links());
    let ctx = SubmissionContext {
        courseware,
        eligible: &eligible,
        tiers,
        existing,
        exchange_rate: rate(currency),
        country_income_threshold: country_threshold(country),
    };
    decide_submission(&form(country, income, currency), &ctx, now())
}

fn submit(country: &str, income: f64, currency: &str) -> SubmissionPlan {
    submit_with(&program_tiers(P), None, country, income, currency).unwrap()
}

/// The stored request an accepted plan produces.
fn stored(plan: &SubmissionPlan, tiers: &[Tier]) -> FlexiblePriceRequest {
    let id = match plan.target {
        RequestTarget::ReuseReset(id) => id,
        RequestTarget::CreateNew => FlexiblePriceId(100),
    };
    FlexiblePriceRequest {
        id,
        user: LEARNER,
        courseware: plan.courseware,
        status: plan.status,
        tier: tiers.iter().find(|t| t.id == plan.tier).cloned(),
        created_on: now(),
    }
}

fn tier_of(plan: &SubmissionPlan) -> Tier {
    program_tiers(P)
        .into_iter()
        .find(|t| t.id == plan.tier)
        .unwrap()
}

/// The basket price of C's run product for the learner.
fn course_price(requests: &[FlexiblePriceRequest], price: &str, at: Timestamp) -> String {
    let eligible = eligible_coursewares(PricedObject::CourseRun(C), &links());
    let finaid = finaid_discount(Some(LEARNER), &eligible, requests, at);
    let list: Money = price.parse().unwrap();
    best_price(list, finaid).quantize().to_price_string()
}

#[test]
fn pricing_s1_us_income_in_usd_needs_no_rate_and_is_pending() {
    let plan = submit("US", 40000.0, "USD");
    assert_eq!(plan.income_usd, 40000.0);
    assert_eq!(tier_of(&plan).income_threshold_usd, 25000.0);
    assert_eq!(plan.status, RequestStatus::PendingManualApproval);
    assert_eq!(plan.target, RequestTarget::CreateNew);
    assert_eq!(plan.justification, "");
    assert_eq!(plan.date_exchange_rate, now());
}

#[test]
fn pricing_s2_example_a_india_auto_approved_350() {
    let plan = submit("IN", 2_500_000.0, "INR");
    assert_eq!(plan.income_usd, 30048.08);
    assert_eq!(tier_of(&plan).income_threshold_usd, 25000.0);
    assert_eq!(plan.status, RequestStatus::AutoApproved);
    let request = stored(&plan, &program_tiers(P));
    assert_eq!(course_price(&[request], "1000.00", now()), "350.00");
}

#[test]
fn pricing_s3_example_b_pending_then_staff_approval_email_and_250() {
    let plan = submit("KE", 1_000_000.0, "KES");
    assert_eq!(plan.income_usd, 7722.01);
    assert_eq!(plan.status, RequestStatus::PendingManualApproval);
    let mut request = stored(&plan, &program_tiers(P));
    assert_eq!(
        course_price(std::slice::from_ref(&request), "1000.00", now()),
        "1000.00"
    );

    request.status = RequestStatus::Approved;
    let email = staff_update_email(
        request.status,
        "Data, Economics, and Design of Policy",
        request.tier.as_ref().map(|t| &t.discount),
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        email.subject,
        "Your personalized course price for Data, Economics, and Design of Policy MITxOnline"
    );
    assert_eq!(
        email.body,
        StatusEmailBody::Approved {
            amount: Some("$750.00 off".into())
        }
    );
    assert_eq!(course_price(&[request], "1000.00", now()), "250.00");
}

#[test]
fn pricing_s4_unsupported_currency_stores_nothing() {
    let err = submit_with(&program_tiers(P), None, "US", 1000.0, "XYZ").unwrap_err();
    assert_eq!(err.to_string(), "Currency not supported");
    assert!(matches!(err, SubmissionError::Currency(_)));
}

#[test]
fn pricing_s5_refresh_drops_disallowed_currencies() {
    let rates: BTreeMap<String, f64> = [("IRR", 42000.0), ("KPW", 900.0), ("EUR", 0.92)]
        .into_iter()
        .map(|(c, r)| (c.to_owned(), r))
        .collect();
    let rows = plan_exchange_rate_refresh(&rates, &BTreeMap::new());
    let codes: Vec<&str> = rows.iter().map(|r| r.currency_code.as_str()).collect();
    assert_eq!(codes, ["EUR"]);
}

#[test]
fn pricing_s6_tier_boundaries() {
    let tiers = program_tiers(P);
    let eligible = [Courseware::Program(P)];
    let parent = Courseware::Program(P);
    let low = select_tier(parent, &eligible, &tiers, 24999.99).unwrap();
    assert_eq!(low.income_threshold_usd, 0.0);
    assert_eq!(low.discount.friendly_format(), "$750.00 off");
    let at = select_tier(parent, &eligible, &tiers, 25000.00).unwrap();
    assert_eq!(at.income_threshold_usd, 25000.0);
    assert_eq!(at.discount.friendly_format(), "$650.00 off");
}

#[test]
fn pricing_s7_auto_approval_is_strictly_above_the_country_threshold() {
    let at = submit("IN", 25000.00, "USD");
    assert_eq!(at.status, RequestStatus::PendingManualApproval);
    let above = submit("IN", 25000.01, "USD");
    assert_eq!(above.status, RequestStatus::AutoApproved);
}

#[test]
fn pricing_s8_zero_threshold_country_auto_approves() {
    let plan = submit("AF", 10.0, "USD");
    assert_eq!(plan.status, RequestStatus::AutoApproved);
    assert_eq!(tier_of(&plan).discount.friendly_format(), "$750.00 off");
    let request = stored(&plan, &program_tiers(P));
    assert_eq!(course_price(&[request], "1000.00", now()), "250.00");
}

#[test]
fn pricing_s9_example_c_no_discount_tier_auto_approves() {
    let plan = submit("US", 80000.0, "USD");
    assert_eq!(tier_of(&plan).income_threshold_usd, 75000.0);
    assert_eq!(plan.status, RequestStatus::AutoApproved);
    let request = stored(&plan, &program_tiers(P));
    assert_eq!(
        course_price(std::slice::from_ref(&request), "1000.00", now()),
        "1000.00"
    );
    assert_eq!(
        form_page_view(true, Some(&request)),
        FormPageView::Approved { no_discount: true }
    );
}

#[test]
fn pricing_s10_unknown_country_uses_default_threshold() {
    let plan = submit("ZZ", 60000.0, "USD");
    assert_eq!(plan.status, RequestStatus::PendingManualApproval);
    assert_eq!(tier_of(&plan).income_threshold_usd, 50000.0);
    let mut request = stored(&plan, &program_tiers(P));
    request.status = RequestStatus::Approved;
    assert_eq!(course_price(&[request], "1000.00", now()), "500.00");
}

#[test]
fn pricing_s11_missing_zero_tier_is_a_configuration_error() {
    let course = Courseware::Course(CourseId(31));
    let tiers = vec![
        tier(1, course, 25000.0, DiscountType::PercentOff, dec!(50)),
        tier(2, course, 50000.0, DiscountType::PercentOff, dec!(25)),
    ];
    let eligible = eligible_coursewares(PricedObject::Course(CourseId(31)), &links());
    let err = select_tier(course, &eligible, &tiers, 10000.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "$0-income-threshold Tier has not yet been configured for Courseware with id 31."
    );
}

#[test]
fn pricing_s12_non_current_tiers_are_ignored() {
    let cw = Courseware::Program(P);
    let mut tiers = vec![
        tier(1, cw, 0.0, DiscountType::DollarsOff, dec!(750)),
        tier(3, cw, 50000.0, DiscountType::DollarsOff, dec!(500)),
    ];
    tiers[1].current = false;
    let got = select_tier(cw, &[cw], &tiers, 60000.0).unwrap();
    assert_eq!(got.id, TierId(1));
}

#[test]
fn pricing_s13_existing_pending_request_refuses_resubmission() {
    let first = stored(&submit("KE", 1_000_000.0, "KES"), &program_tiers(P));
    let requests = [first.clone()];
    let coursewares = existing_request_coursewares(Courseware::Program(P), &links());
    let existing = find_existing_request(LEARNER, &coursewares, &requests);
    assert_eq!(existing, Some(&first));
    // The form shows the status page instead of the form ...
    assert_eq!(form_page_view(true, existing), FormPageView::Processing);
    // ... and the submission routine itself refuses.
    let err = submit_with(&program_tiers(P), existing, "KE", 10.0, "USD").unwrap_err();
    assert_eq!(
        err.to_string(),
        "A Flexible Price request already exists for this user and course or program."
    );
}

#[test]
fn pricing_s14_reset_then_resubmission_reuses_the_record() {
    let tiers = program_tiers(P);
    let mut request = stored(&submit("IN", 2_500_000.0, "INR"), &tiers);
    request.status = RequestStatus::Approved;
    request.id = FlexiblePriceId(55);

    request.status = RequestStatus::Reset;
    let email = staff_update_email(request.status, "DEDP", None, None, None).unwrap();
    assert_eq!(
        email.subject,
        "Update to your personalized course price for DEDP MITxOnline"
    );
    assert_eq!(email.body, StatusEmailBody::Reset);
    assert_eq!(form_page_view(true, Some(&request)), FormPageView::Form);

    let plan = submit_with(&tiers, Some(&request), "KE", 1_000_000.0, "KES").unwrap();
    assert_eq!(plan.target, RequestTarget::ReuseReset(FlexiblePriceId(55)));
    assert_eq!(plan.income_usd, 7722.01);
    assert_eq!(plan.status, RequestStatus::PendingManualApproval);
}

#[test]
fn pricing_s15_denial_uses_staff_subject_and_body() {
    let mut request = stored(&submit("KE", 1_000_000.0, "KES"), &program_tiers(P));
    request.status = RequestStatus::Denied;
    let email = staff_update_email(
        request.status,
        "DEDP",
        request.tier.as_ref().map(|t| &t.discount),
        Some("Decision"),
        Some("Not eligible"),
    )
    .unwrap();
    assert_eq!(email.subject, "Decision");
    assert_eq!(
        email.body,
        StatusEmailBody::StaffWritten {
            text: "Not eligible".into()
        }
    );
    assert_eq!(course_price(&[request], "1000.00", now()), "1000.00");
    // No email for auto-approved or created.
    assert_eq!(
        staff_update_email(RequestStatus::AutoApproved, "DEDP", None, None, None),
        None
    );
    assert_eq!(
        staff_update_email(RequestStatus::Created, "DEDP", None, None, None),
        None
    );
    let pending = staff_update_email(
        RequestStatus::PendingManualApproval,
        "DEDP",
        None,
        None,
        None,
    )
    .unwrap();
    assert_eq!(pending.subject, "Documents received for DEDP MITxOnline");
}

#[test]
fn pricing_s16_admin_list_filters() {
    let base = stored(&submit("KE", 1_000_000.0, "KES"), &program_tiers(P));
    let make = |id: i64, status, courseware| FlexiblePriceRequest {
        id: FlexiblePriceId(id),
        status,
        courseware,
        ..base.clone()
    };
    let people = [
        (
            make(
                1,
                RequestStatus::PendingManualApproval,
                Courseware::Program(P),
            ),
            "smith",
        ),
        (
            make(2, RequestStatus::Approved, Courseware::Program(P)),
            "smith",
        ),
        (
            make(
                3,
                RequestStatus::PendingManualApproval,
                Courseware::Course(C),
            ),
            "smith",
        ),
        (
            make(
                4,
                RequestStatus::PendingManualApproval,
                Courseware::Program(P),
            ),
            "jones",
        ),
        (
            make(5, RequestStatus::Approved, Courseware::Course(C)),
            "jones",
        ),
    ];
    let filter = AdminRequestFilter {
        q: Some("smith".into()),
        status: RequestStatus::parse("pending-manual-approval"),
        courseware: Courseware::parse_filter("program:7"),
    };
    let hits: Vec<i64> = people
        .iter()
        .filter(|(r, who)| filter.matches(r, who, "", &format!("{who}@example.com")))
        .map(|(r, _)| r.id.0)
        .collect();
    assert_eq!(hits, vec![1]);
    // q is case-sensitive.
    let upper = AdminRequestFilter {
        q: Some("Smith".into()),
        ..AdminRequestFilter::default()
    };
    assert!(!upper.matches(&people[0].0, "smith", "smith", "smith@example.com"));
}

#[test]
fn pricing_s17_expired_tier_discount_gives_no_finaid() {
    let mut tiers = program_tiers(P);
    for t in &mut tiers {
        t.discount.expiration_date = Some(now() - Duration::days(1));
    }
    let mut request = stored(&submit("AF", 10.0, "USD"), &tiers);
    request.status = RequestStatus::Approved;
    let requests = [request];
    assert_eq!(course_price(&requests, "1000.00", now()), "1000.00");
    // The UI "is approved" walk has no date filter.
    let eligible = eligible_coursewares(PricedObject::CourseRun(C), &links());
    assert!(is_finaid_approved(Some(LEARNER), &eligible, &requests));
    // Expiring exactly now still counts (inclusive filter).
    let mut edge = requests[0].clone();
    if let Some(t) = edge.tier.as_mut() {
        t.discount.expiration_date = Some(now());
    }
    assert_eq!(course_price(&[edge], "1000.00", now()), "250.00");
}

#[test]
fn pricing_s18_program_request_beats_course_request() {
    let program_request = {
        let mut r = stored(&submit("AF", 10.0, "USD"), &program_tiers(P));
        r.status = RequestStatus::Approved;
        r
    };
    let course_tier = tier(
        20,
        Courseware::Course(C),
        0.0,
        DiscountType::PercentOff,
        dec!(50),
    );
    let course_request = FlexiblePriceRequest {
        id: FlexiblePriceId(101),
        courseware: Courseware::Course(C),
        tier: Some(course_tier),
        ..program_request.clone()
    };
    let requests = [course_request, program_request.clone()];
    let eligible = eligible_coursewares(PricedObject::CourseRun(C), &links());
    let got: &Discount = finaid_discount(Some(LEARNER), &eligible, &requests, now()).unwrap();
    assert_eq!(
        Some(got.id),
        program_request.tier.as_ref().map(|t| t.discount.id)
    );
    assert_eq!(course_price(&requests, "1000.00", now()), "250.00");
    // Anonymous visitors get nothing.
    assert_eq!(finaid_discount(None, &eligible, &requests, now()), None);
}

#[test]
fn pricing_s19_percent_rounding_99_99_at_25() {
    let t = tier(
        1,
        Courseware::Course(C),
        0.0,
        DiscountType::PercentOff,
        dec!(25),
    );
    let price: Money = "99.99".parse().unwrap();
    assert_eq!(
        best_price(price, [&t.discount])
            .quantize()
            .to_price_string(),
        "74.99"
    );
}

#[test]
fn pricing_s20_dollars_off_above_price_is_zero() {
    let t = tier(
        1,
        Courseware::Program(P),
        0.0,
        DiscountType::DollarsOff,
        dec!(650),
    );
    let price: Money = "500.00".parse().unwrap();
    assert_eq!(
        best_price(price, [&t.discount])
            .quantize()
            .to_price_string(),
        "0.00"
    );
}

#[test]
fn pricing_s21_missing_app_id_fails_before_any_change() {
    let err =
        exchange_rates_url("https://openexchangerates.org/api/", "", "latest.json").unwrap_err();
    assert_eq!(err, ExchangeRateError::NotConfigured);
    assert!(
        err.to_string()
            .starts_with("Currency exchange API URL cannot be determined.")
    );
}

#[test]
fn pricing_s22_descriptions_joined_by_code() {
    let descriptions: BTreeMap<String, String> = [("EUR".to_owned(), "Euro".to_owned())]
        .into_iter()
        .collect();
    let rates: BTreeMap<String, f64> = [("EUR".to_owned(), 0.92), ("JPY".to_owned(), 151.3)]
        .into_iter()
        .collect();
    let rows = plan_exchange_rate_refresh(&rates, &descriptions);
    assert_eq!(
        rows,
        vec![
            ExchangeRateRow {
                currency_code: "EUR".into(),
                description: Some("Euro".into()),
                exchange_rate: 0.92
            },
            ExchangeRateRow {
                currency_code: "JPY".into(),
                description: None,
                exchange_rate: 151.3
            },
        ]
    );
}

#[test]
fn pricing_s23_configure_tiers_for_a_course_is_idempotent() {
    let course = Courseware::Course(CourseId(40));
    let abbrev = "course-v1:MITx+14.100x";
    let at = Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap();
    let specs = default_tier_specs(course);
    let first = plan_tier_configuration(&TierConfigurationInput {
        courseware: course,
        abbrev,
        year: 2025,
        specs: &specs,
        existing_discounts: &[],
        existing_tiers: &[],
        now: at,
    })
    .unwrap();
    assert_eq!(first.created_count(), 4);
    assert_eq!(first.expired_count(), 0);
    let mut discounts = Vec::new();
    let mut tiers = Vec::new();
    for (planned, expected_amount) in first.tiers.iter().zip([75, 50, 25, 0]) {
        let TierDiscountPlan::Create { draft } = &planned.discount else {
            panic!("expected a new discount");
        };
        assert_eq!(
            draft.code.as_str(),
            format!("course-v1:MITx+14.100x-fa-tier{}-2025", planned.number)
        );
        assert_eq!(draft.discount_type, DiscountType::PercentOff);
        assert_eq!(draft.amount, rust_decimal::Decimal::from(expected_amount));
        assert_eq!(
            draft.payment_type,
            Some(crate::pricing::PaymentType::FinancialAssistance)
        );
        let d = draft
            .clone()
            .into_discount(DiscountId(500 + planned.number as i64));
        tiers.push(Tier {
            id: TierId(600 + planned.number as i64),
            courseware: course,
            income_threshold_usd: planned.threshold,
            discount: d.clone(),
            current: true,
        });
        discounts.push(d);
    }
    let thresholds: Vec<f64> = first.tiers.iter().map(|t| t.threshold).collect();
    assert_eq!(thresholds, [0.0, 25000.0, 50000.0, 75000.0]);

    let again = plan_tier_configuration(&TierConfigurationInput {
        courseware: course,
        abbrev,
        year: 2025,
        specs: &specs,
        existing_discounts: &discounts,
        existing_tiers: &tiers,
        now: at,
    })
    .unwrap();
    assert_eq!(again.created_count(), 0);
    assert_eq!(again.expired_count(), 0);
    assert!(again.deactivate_tiers.is_empty());
    assert!(again.tiers.iter().all(|t| t.existing_tier.is_some()));
    assert_eq!(
        again.expiration_date,
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
    );

    // Next year: new codes are created, last year's are expired and their tiers retired
    // unless re-pointed by the upsert.
    let next_year = plan_tier_configuration(&TierConfigurationInput {
        year: 2026,
        now: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        ..TierConfigurationInput {
            courseware: course,
            abbrev,
            year: 2025,
            specs: &specs[..3],
            existing_discounts: &discounts,
            existing_tiers: &tiers,
            now: at,
        }
    })
    .unwrap();
    assert_eq!(next_year.created_count(), 3);
    assert_eq!(next_year.expired_count(), 4);
    assert_eq!(next_year.deactivate_tiers, vec![TierId(604)]);
    assert_eq!(
        next_year.expiration_date,
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
    );
}

#[test]
fn pricing_s24_tier_info_without_zero_tier_gives_up() {
    let rows: Vec<Vec<String>> = ["10000,dollars-off,100", "40000,dollars-off,50"]
        .iter()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let specs = parse_tier_info(&rows).unwrap();
    assert_eq!(specs.len(), 2);
    let err = plan_tier_configuration(&TierConfigurationInput {
        courseware: Courseware::Program(P),
        abbrev: "program-v1:MITx+DEDP",
        year: 2025,
        specs: &specs,
        existing_discounts: &[],
        existing_tiers: &[],
        now: now(),
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No zero tier specified in the tier info. This is a requirement - giving up."
    );
}

#[test]
fn configure_tiers_target_and_defaults() {
    assert_eq!(
        choose_configure_target(Some(1), Some(2)),
        Ok(ConfigureTarget::Course(1))
    );
    assert_eq!(
        choose_configure_target(None, Some(2))
            .unwrap()
            .not_found()
            .to_string(),
        "Couldn't find the program 2, stopping."
    );
    assert_eq!(
        ConfigureTarget::Course(9).not_found().to_string(),
        "Couldn't find the course 9, stopping."
    );
    assert_eq!(
        choose_configure_target(None, None),
        Err(ConfigureTiersError::NoTarget)
    );
    let program: Vec<String> = default_tier_specs(Courseware::Program(P))
        .iter()
        .map(|s| format!("{}:{}", s.discount_type.slug(), s.amount))
        .collect();
    assert_eq!(
        program,
        [
            "dollars-off:750",
            "dollars-off:650",
            "dollars-off:500",
            "percent-off:0"
        ]
    );
    assert!(parse_tier_info(&[vec!["0".into(), "half-off".into(), "1".into()]]).is_err());
}

#[test]
fn course_example_mexico() {
    // Course tiers (percent 75/50/25/0), product 300.00, MX, 500 000 MXN at 17.0.
    let course = Courseware::Course(CourseId(50));
    let tiers: Vec<Tier> = default_tier_specs(course)
        .into_iter()
        .enumerate()
        .map(|(i, s)| tier(i as i64 + 1, course, s.threshold, s.discount_type, s.amount))
        .collect();
    let income = convert_income(500_000.0, "MXN", rate("MXN")).unwrap();
    assert_eq!(income, 29411.76);
    let chosen = select_tier(course, &[course], &tiers, income).unwrap();
    assert_eq!(chosen.discount.friendly_format(), "50.00% off");
    assert!(!auto_approves(
        income,
        country_threshold("MX"),
        chosen.discount.amount
    ));
    let price: Money = "300.00".parse().unwrap();
    assert_eq!(
        best_price(price, [&chosen.discount])
            .quantize()
            .to_price_string(),
        "150.00"
    );
}
