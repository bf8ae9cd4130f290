//! Story 2: flexible pricing, then checkout.
//!
//! Staff configure the default tiers of program DEDP (`configure_tiers`). A learner in
//! India declares 2,500,000 INR on the program's form; the income converts to USD, selects
//! the $650-off tier and is auto-approved. In the basket, the finaid discount prices the
//! $1000.00 course-run product at $350.00; a typed 20% code cannot beat it, a fixed $300
//! code can. A second learner's request waits for staff before it lowers any price.

use mitx_core::ids::{CourseId, DiscountId, FlexiblePriceId, ProductId, ProgramId, TierId, UserId};
use mitx_core::orders::{
    CheckoutDiscount, CheckoutFacts, CheckoutItem, order_total, validate_checkout,
};
use mitx_core::pricing::flexible::{
    Courseware, FlexiblePriceRequest, PricedObject, ProgramLinks, RequestStatus, RequestTarget,
    SubmissionContext, SubmissionError, SubmissionForm, SubmissionPlan, Tier,
    TierConfigurationInput, TierDiscountPlan, decide_submission, default_tier_specs,
    eligible_coursewares, existing_request_coursewares, finaid_discount, find_existing_request,
    form_courseware, is_finaid_approved, plan_tier_configuration,
};
use mitx_core::pricing::{
    self, ApplyDecision, Basket, BasketItem, DiscountRecord, DiscountType, DiscountUsage,
    KeepReason, PaymentType, RedeemChoice, SetReason, auto_apply_set, decide_redeem, product_ok,
    redeemable_by, rederive_basket_discount,
};
use rust_decimal_macros::dec;

use crate::support::{at, discount, price};

const PROGRAM: ProgramId = ProgramId(7);
const COURSE: CourseId = CourseId(12);
const PRODUCT: ProductId = ProductId(60);
const ABBREV: &str = "program-v1:MITx+DEDP";

/// `configure_tiers --program 7` on a program without tiers, stored with ids 1–4 and
/// discount ids 101–104.
fn configure_tiers() -> Vec<Tier> {
    let courseware = Courseware::Program(PROGRAM);
    let specs = default_tier_specs(courseware);
    let plan = plan_tier_configuration(&TierConfigurationInput {
        courseware,
        abbrev: ABBREV,
        year: 2026,
        specs: &specs,
        existing_discounts: &[],
        existing_tiers: &[],
        now: at(2026, 1, 5, 10),
    })
    .unwrap();
    assert_eq!((plan.created_count(), plan.expired_count()), (4, 0));
    assert!(plan.deactivate_tiers.is_empty());
    assert_eq!(plan.expiration_date, at(2025, 1, 1, 0));
    plan.tiers
        .iter()
        .map(|planned| {
            let TierDiscountPlan::Create { draft } = &planned.discount else {
                panic!("nothing to reuse on a fresh program: {planned:?}")
            };
            assert!(planned.existing_tier.is_none());
            let n = i64::try_from(planned.number).unwrap();
            Tier {
                id: TierId(n),
                courseware,
                income_threshold_usd: planned.threshold,
                discount: draft.clone().into_discount(DiscountId(100 + n)),
                current: true,
            }
        })
        .collect()
}

fn links() -> ProgramLinks {
    let mut links = ProgramLinks::new();
    links.add_course(PROGRAM, COURSE);
    links
}

/// Submits the program's form for `user`.
fn submit(
    tiers: &[Tier],
    existing: Option<&FlexiblePriceRequest>,
    form: &SubmissionForm,
    exchange_rate: Option<f64>,
    country_income_threshold: Option<u32>,
) -> Result<SubmissionPlan, SubmissionError> {
    let links = links();
    // The form is opened from the course page; requests are stored against its program.
    let courseware = form_courseware(Courseware::Course(COURSE), &links);
    assert_eq!(courseware, Courseware::Program(PROGRAM));
    let eligible = eligible_coursewares(PricedObject::Program(PROGRAM), &links);
    let ctx = SubmissionContext {
        courseware,
        eligible: &eligible,
        tiers,
        existing,
        exchange_rate,
        country_income_threshold,
    };
    decide_submission(form, &ctx, at(2026, 3, 1, 12))
}

/// The request row the store writes for a plan.
fn stored_request(
    id: i64,
    user: UserId,
    plan: &SubmissionPlan,
    tiers: &[Tier],
) -> FlexiblePriceRequest {
    FlexiblePriceRequest {
        id: FlexiblePriceId(id),
        user,
        courseware: plan.courseware,
        status: plan.status,
        tier: tiers.iter().find(|t| t.id == plan.tier).cloned(),
        created_on: plan.date_exchange_rate,
    }
}

/// A basket discount record for a tier discount.
fn tier_record(tier_discount: &pricing::Discount) -> DiscountRecord {
    DiscountRecord {
        discount: tier_discount.clone(),
        usage: DiscountUsage {
            tier_linked: true,
            ..DiscountUsage::default()
        },
    }
}

fn basket_for(user: UserId) -> Basket {
    let mut basket = Basket::for_user(user);
    basket
        .items
        .push(BasketItem::single(PRODUCT, price("1000.00")));
    basket
}

#[test]
fn flexible_pricing_then_checkout() {
    let now = at(2026, 3, 1, 12);
    let learner = UserId(1);
    let tiers = configure_tiers();
    let codes: Vec<&str> = tiers.iter().map(|t| t.discount.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "program-v1:MITx+DEDP-fa-tier1-2026",
            "program-v1:MITx+DEDP-fa-tier2-2026",
            "program-v1:MITx+DEDP-fa-tier3-2026",
            "program-v1:MITx+DEDP-fa-tier4-2026",
        ]
    );
    let offers: Vec<String> = tiers.iter().map(|t| t.discount.friendly_format()).collect();
    assert_eq!(
        offers,
        ["$750.00 off", "$650.00 off", "$500.00 off", "0.00% off"]
    );
    assert!(
        tiers
            .iter()
            .all(|t| t.discount.payment_type == Some(PaymentType::FinancialAssistance))
    );

    // The learner has no request yet, so the form is shown and accepted.
    let already = existing_request_coursewares(Courseware::Course(COURSE), &links());
    assert_eq!(
        already,
        [Courseware::Course(COURSE), Courseware::Program(PROGRAM)]
    );
    assert!(find_existing_request(learner, &already, &[]).is_none());
    let form = SubmissionForm {
        original_income: 2_500_000.0,
        currency: "INR".into(),
        country_of_income: "IN".into(),
        country_of_residence: "IN".into(),
    };
    let plan = submit(&tiers, None, &form, Some(83.2), Some(25_000)).unwrap();
    // 2,500,000 / 83.2 = 30048.0769… → 30048.08 USD: tier 2 (from 25,000), and above
    // India's 25,000 threshold, so no documents are needed.
    assert_eq!(plan.income_usd.to_string(), "30048.08");
    assert_eq!(plan.tier, TierId(2));
    assert_eq!(plan.status, RequestStatus::AutoApproved);
    assert_eq!(plan.target, RequestTarget::CreateNew);
    assert_eq!(plan.date_exchange_rate, now);
    let request = stored_request(1, learner, &plan, &tiers);

    // Submitting again is refused: the request exists and was not reset.
    let err = submit(&tiers, Some(&request), &form, Some(83.2), Some(25_000)).unwrap_err();
    assert_eq!(err, SubmissionError::AlreadyExists(FlexiblePriceId(1)));
    assert_eq!(
        err.to_string(),
        "A Flexible Price request already exists for this user and course or program."
    );

    // The product is a run of a course in the program: its lookup walks the program first.
    let requests = [request];
    let eligible = eligible_coursewares(PricedObject::CourseRun(COURSE), &links());
    assert_eq!(
        eligible,
        [Courseware::Program(PROGRAM), Courseware::Course(COURSE)]
    );
    assert!(is_finaid_approved(Some(learner), &eligible, &requests));
    assert!(finaid_discount(None, &eligible, &requests, now).is_none());
    let finaid = finaid_discount(Some(learner), &eligible, &requests, now).unwrap();
    assert_eq!(finaid.code.as_str(), "program-v1:MITx+DEDP-fa-tier2-2026");
    let tier = tier_record(finaid);

    // The tier discount is never something a learner can type ...
    let mut basket = basket_for(learner);
    assert_eq!(
        pricing::apply(&basket, &tier, false, now),
        ApplyDecision::Keep(KeepReason::NotApplicable)
    );
    // ... but the basket applies it on the learner's behalf: $1000.00 − $650.00.
    assert_eq!(
        pricing::apply(&basket, &tier, true, now),
        ApplyDecision::Set(SetReason::Vacant)
    );
    basket.discount = Some(tier.clone());
    assert_eq!(basket.discounted_price().to_price_string(), "350.00");

    // A typed 20% code gives $800.00: not cheaper, the tier stays.
    let save20 = DiscountRecord::bare(discount(
        1,
        "SAVE20",
        DiscountType::PercentOff,
        dec!(20),
        PaymentType::Marketing,
    ));
    assert_eq!(
        pricing::apply(&basket, &save20, false, now),
        ApplyDecision::Keep(KeepReason::NotCheaper)
    );
    // The legacy redeem endpoint agrees: it stores the strictly cheaper tier instead.
    let legacy = decide_redeem(
        "SAVE20",
        learner,
        Some(&basket),
        Some(&save20),
        Some(finaid),
        now,
    )
    .unwrap();
    assert_eq!(legacy.choice, RedeemChoice::Finaid);
    assert_eq!(
        (legacy.store, legacy.code.as_str()),
        (DiscountId(102), codes[1])
    );

    // A typed fixed price of $300 beats the tier.
    let fixed300 = DiscountRecord::bare(discount(
        2,
        "FLAT300",
        DiscountType::FixedPrice,
        dec!(300),
        PaymentType::Sales,
    ));
    assert_eq!(
        pricing::apply(&basket, &fixed300, false, now),
        ApplyDecision::Set(SetReason::NotMoreExpensive)
    );
    let legacy = decide_redeem(
        "FLAT300",
        learner,
        Some(&basket),
        Some(&fixed300),
        Some(finaid),
        now,
    )
    .unwrap();
    assert_eq!(legacy.choice, RedeemChoice::Code);

    // The v0 re-derivation after an item is added reaches the same answers: the tier is
    // auto-applied, then the typed code competes with it.
    let candidates = [save20.clone(), tier.clone()];
    let auto = auto_apply_set(&basket, &candidates, &[finaid.id], now);
    assert_eq!(auto, [&tier]);
    let auto: Vec<DiscountRecord> = auto.into_iter().cloned().collect();
    let kept = rederive_basket_discount(&basket, &auto, Some(&save20), now).unwrap();
    assert_eq!(kept.discount.id, DiscountId(102));
    let won = rederive_basket_discount(&basket, &auto, Some(&fixed300), now).unwrap();
    assert_eq!(won.discount.id, DiscountId(2));

    basket.discount = Some(won);
    assert_eq!(basket.discounted_price().to_price_string(), "300.00");

    // Checkout with the fixed-price code: valid, and the order is priced at $300.00.
    let code = basket.discount.clone().unwrap();
    let facts = CheckoutFacts {
        items: vec![CheckoutItem::CourseRun {
            country_blocked: false,
            already_paid: false,
            upgradable: true,
        }],
        discounts: vec![CheckoutDiscount {
            redeemable: redeemable_by(&code, learner, now),
            product_ok: product_ok(&code, &basket, now),
            linked_to_b2b_contract: false,
        }],
        ..CheckoutFacts::default()
    };
    assert_eq!(validate_checkout(&facts), Ok(()));
    let total = order_total(&[price("1000.00")], &[code.discount]);
    assert_eq!(total, basket.order_total());
    assert_eq!(total.to_amount_string(), "300.00000");
}

#[test]
fn a_request_waiting_for_staff_lowers_no_price_until_approved() {
    let now = at(2026, 3, 1, 12);
    let learner = UserId(2);
    let tiers = configure_tiers();

    // 20,000 USD selects tier 1 ($750 off). The US has no row in the thresholds table, so
    // the default 75,000 applies and the income is not above it: staff must review.
    let form = SubmissionForm {
        original_income: 20_000.0,
        currency: "USD".into(),
        country_of_income: "US".into(),
        country_of_residence: "US".into(),
    };
    let plan = submit(&tiers, None, &form, None, None).unwrap();
    assert_eq!(plan.tier, TierId(1));
    assert_eq!(plan.status, RequestStatus::PendingManualApproval);

    let mut request = stored_request(2, learner, &plan, &tiers);
    let eligible = eligible_coursewares(PricedObject::CourseRun(COURSE), &links());
    assert!(finaid_discount(Some(learner), &eligible, &[request.clone()], now).is_none());
    assert!(!is_finaid_approved(
        Some(learner),
        &eligible,
        &[request.clone()]
    ));
    let basket = basket_for(learner);
    assert_eq!(basket.discounted_price().to_price_string(), "1000.00");

    // Staff approve the request: the tier discount now prices the product at $250.00.
    request.status = RequestStatus::Approved;
    let requests = [request];
    let finaid = finaid_discount(Some(learner), &eligible, &requests, now).unwrap();
    assert_eq!(finaid.id, DiscountId(101));
    let tier = tier_record(finaid);
    let mut basket = basket;
    assert!(pricing::apply(&basket, &tier, true, now).is_set());
    basket.discount = Some(tier);
    assert_eq!(basket.discounted_price().to_price_string(), "250.00");

    // Another learner's approval is of no use to anyone else.
    assert!(finaid_discount(Some(UserId(3)), &eligible, &requests, now).is_none());
}
