//! Quote a price with mitx-core used as a library.
//!
//! A learner in India asks for the price of a course run in a program. They declared an
//! income of 2,500,000 INR (rate 83.2 INR per USD) on the program's flexible-pricing form
//! and type the code `SAVE20` (20% off) at checkout. The example converts the income,
//! selects the tier, decides auto-approval, finds the learner's finaid discount, applies
//! both discounts to the basket with the v0 precedence rules and explains why the final
//! price won.
//!
//! Run: `cargo run --example price_quote`

use std::error::Error;

use chrono::{TimeZone, Utc};
use mitx_core::Timestamp;
use mitx_core::ids::{CourseId, DiscountId, FlexiblePriceId, ProductId, ProgramId, TierId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::flexible::{
    Courseware, FlexiblePriceRequest, PricedObject, ProgramLinks, RequestStatus, Tier,
    auto_approves, convert_income, eligible_coursewares, finaid_discount, select_tier,
};
use mitx_core::pricing::{
    ApplyDecision, Basket, BasketItem, Discount, DiscountCode, DiscountRecord, DiscountType,
    DiscountUsage, KeepReason, PaymentType, RedemptionType, SetReason, apply,
};
use rust_decimal::Decimal;

fn discount(
    id: i64,
    code: &str,
    kind: DiscountType,
    amount: i64,
    payment: PaymentType,
) -> Result<Discount, Box<dyn Error>> {
    Ok(Discount {
        id: DiscountId(id),
        code: DiscountCode::parse(code)?,
        discount_type: kind,
        amount: Decimal::from(amount),
        redemption_type: RedemptionType::Unlimited,
        payment_type: Some(payment),
        max_redemptions: 0,
        automatic: false,
        activation_date: None,
        expiration_date: None,
        is_bulk: false,
        is_program_discount: false,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let now: Timestamp = Utc
        .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .ok_or("bad date")?;
    let learner = UserId(1);
    let program = ProgramId(7);
    let course = CourseId(12);
    let product = ProductId(60);
    let list_price = Money::parse_price("1000.00")?;

    // The program's default tiers (configure_tiers): 0 → $750 off, 25000 → $650 off,
    // 50000 → $500 off, 75000 → 0% off.
    let tier_rows = [
        (0.0, DiscountType::DollarsOff, 750),
        (25_000.0, DiscountType::DollarsOff, 650),
        (50_000.0, DiscountType::DollarsOff, 500),
        (75_000.0, DiscountType::PercentOff, 0),
    ];
    let mut tiers = Vec::new();
    for (n, (threshold, kind, amount)) in tier_rows.into_iter().enumerate() {
        let n = n as i64 + 1;
        let code = format!("program-v1:MITx+DEDP-fa-tier{n}-2026");
        tiers.push(Tier {
            id: TierId(n),
            courseware: Courseware::Program(program),
            income_threshold_usd: threshold,
            discount: discount(
                100 + n,
                &code,
                kind,
                amount,
                PaymentType::FinancialAssistance,
            )?,
            current: true,
        });
    }

    let mut links = ProgramLinks::new();
    links.add_course(program, course);
    let eligible = eligible_coursewares(PricedObject::CourseRun(course), &links);

    // The learner's flexible-pricing submission.
    let income_usd = convert_income(2_500_000.0, "INR", Some(83.2))?;
    let tier = select_tier(Courseware::Program(program), &eligible, &tiers, income_usd)?;
    let india_threshold = Some(25_000);
    let status = if auto_approves(income_usd, india_threshold, tier.discount.amount) {
        RequestStatus::AutoApproved
    } else {
        RequestStatus::PendingManualApproval
    };
    println!("Flexible pricing");
    println!("  declared income      2500000 INR at 83.2 INR/USD = {income_usd:.2} USD");
    println!(
        "  tier                 threshold {} USD: {}",
        tier.income_threshold_usd,
        tier.discount.friendly_format()
    );
    println!(
        "  status               {} (India's threshold is 25000 USD; {income_usd:.2} is above it, so no documents are needed)",
        status.slug()
    );
    let requests = [FlexiblePriceRequest {
        id: FlexiblePriceId(1),
        user: learner,
        courseware: Courseware::Program(program),
        status,
        tier: Some(tier.clone()),
        created_on: now,
    }];

    // The candidates for the basket: the typed code and the learner's finaid discount.
    let code = DiscountRecord::bare(discount(
        1,
        "SAVE20",
        DiscountType::PercentOff,
        20,
        PaymentType::Marketing,
    )?);
    let finaid = finaid_discount(Some(learner), &eligible, &requests, now)
        .cloned()
        .map(|d| DiscountRecord {
            discount: d,
            usage: DiscountUsage {
                tier_linked: true,
                ..DiscountUsage::default()
            },
        });

    let mut basket = Basket::for_user(learner);
    basket.items.push(BasketItem::single(product, list_price));

    println!();
    println!("Candidates for product {product} listed at {list_price}");
    let mut steps: Vec<(&DiscountRecord, bool, &str)> =
        vec![(&code, false, "typed by the learner")];
    if let Some(finaid) = &finaid {
        steps.push((finaid, true, "the learner's approved flexible-price tier"));
    }
    for (candidate, allow_finaid, origin) in steps {
        let unit = candidate.discount.price_for(list_price).quantize();
        let decision = apply(&basket, candidate, allow_finaid, now);
        println!(
            "  {:<36} {:<18} unit price {:>9}  -> {}",
            candidate.discount.code.as_str(),
            candidate.discount.friendly_format(),
            unit.to_string(),
            explain(decision, origin)
        );
        if decision.is_set() {
            basket.discount = Some(candidate.clone());
        }
    }

    let total = basket.discounted_price();
    let winner = basket
        .discount
        .as_ref()
        .map(|d| d.discount.code.as_str().to_owned())
        .unwrap_or_else(|| "no discount".into());
    println!();
    println!("Quote: {total} (list {list_price}) with {winner}");
    println!(
        "Why: discounts never stack; the basket holds one. Between a tier discount and a typed code the equal-or-lower price wins, so {winner} gives the price."
    );
    Ok(())
}

fn explain(decision: ApplyDecision, origin: &str) -> String {
    let why = match decision {
        ApplyDecision::Set(SetReason::Vacant) => "stored: the basket had no discount",
        ApplyDecision::Set(SetReason::AssignedToUser) => "stored: assigned to this learner",
        ApplyDecision::Set(SetReason::TierOverAssigned) => {
            "stored: a tier discount beats an assigned one"
        }
        ApplyDecision::Set(SetReason::NotMoreExpensive) => {
            "stored: its price is equal or lower than the current one"
        }
        ApplyDecision::Keep(KeepReason::NotCheaper) => "rejected: not cheaper than the current one",
        ApplyDecision::Keep(KeepReason::NotApplicable) => "rejected: not valid for this basket",
        ApplyDecision::Keep(reason) => return format!("rejected ({reason:?}; {origin})"),
    };
    format!("{why} ({origin})")
}
