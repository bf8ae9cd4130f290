//! `mitx price explain`: which discount a user's basket holding one product ends up with,
//! and why, shown candidate by candidate.
//!
//! Pure over [`PriceFacts`]: the same order as the v0 basket re-derivation
//! (`mitx_core::pricing::rederive_basket_discount`, ecommerce spec 2.6 and 4.2): the
//! auto-apply set (assigned to the user, the user's approved flexible-price tier discount,
//! automatic discounts; date-valid) applied in turn with `allow_finaid = true` to a
//! basket whose discount was cleared, then the typed code with `allow_finaid = false`.
//! Each step records `apply`'s decision; discounts that never reached a step (not date
//! valid, tiers the flexible-pricing walk passed over) are listed with the reason. The
//! basket is the product alone with quantity 1 and no current discount: the explanation
//! answers "what would this user pay for this product now".

use chrono::{DateTime, Utc};
use mitx_core::ids::{DiscountId, ProductId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::flexible::{Courseware, finaid_discount};
use mitx_core::pricing::{
    ApplyDecision, Basket, BasketItem, BasketOwner, DiscountRecord, KeepReason, PaymentType,
    RedemptionType, SetReason, applicable_to_basket, apply, auto_apply_set, best_price,
    redeemable_by, valid_now,
};
use mitx_store::pricing_facts::PriceFacts;
use mitx_store::products::serialize_price;
use serde::Serialize;

/// Where a candidate discount came from (one discount can have several origins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The code the learner typed.
    TypedCode,
    /// Pre-assigned to the user.
    Assigned,
    /// Flagged automatic.
    Automatic,
    /// A flexible-pricing tier discount of the user.
    FlexiblePriceTier,
}

impl Origin {
    /// Text for tables.
    pub fn label(self) -> &'static str {
        match self {
            Origin::TypedCode => "typed code",
            Origin::Assigned => "assigned",
            Origin::Automatic => "automatic",
            Origin::FlexiblePriceTier => "flexible-price tier",
        }
    }
}

/// The validity checks of a candidate (ecommerce spec 2.5), each kept separate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Validity {
    /// Dates: activation ≤ now < expiration.
    pub valid_now: bool,
    /// Redemption limits on fulfilled orders for this user ("check_validity").
    pub redeemable_by_user: bool,
    /// The v0 basket check ("is_valid") with the step's `allow_finaid`.
    pub applicable_to_basket: bool,
    /// What fails, in words (empty when every check passes).
    pub problems: Vec<String>,
}

impl Validity {
    /// `valid`, or the problems joined.
    pub fn verdict(&self) -> String {
        if self.problems.is_empty() {
            "valid".to_owned()
        } else {
            self.problems.join("; ")
        }
    }
}

/// What happened to a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// `apply` stored it in the basket (it may be replaced by a later step).
    Set,
    /// `apply` left the basket unchanged.
    Kept,
    /// It never reached `apply`.
    NotConsidered,
}

/// One row of the explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The step number (1-based) when the candidate went through `apply`.
    pub step: Option<usize>,
    /// The discount.
    pub discount_id: DiscountId,
    /// Its code.
    pub code: String,
    /// `percent-off`, `dollars-off`, `fixed-price`.
    pub discount_type: String,
    /// Its amount.
    pub amount: String,
    /// `"25.00% off"` and the like.
    pub friendly: String,
    /// Where it came from.
    pub origins: Vec<Origin>,
    /// Whether the step allowed financial-assistance discounts.
    pub allow_finaid: Option<bool>,
    /// The validity checks.
    pub validity: Validity,
    /// The product's unit price under this discount alone (quantized).
    #[serde(serialize_with = "serialize_price")]
    pub unit_price: Money,
    /// What happened.
    pub decision: Decision,
    /// `apply`'s reason, when it ran.
    pub apply_reason: Option<ApplyDecision>,
    /// Why, in words.
    pub reason: String,
    /// Whether the basket ends up with this discount (on its last step).
    pub winner: bool,
}

/// One courseware of the flexible-pricing walk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlexibleStep {
    /// The courseware.
    pub courseware: Courseware,
    /// Its readable id.
    pub name: String,
    /// What the user's request there gives.
    pub outcome: String,
}

/// The whole explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriceExplanation {
    /// The learner.
    pub user: UserId,
    /// The product.
    pub product: ProductId,
    /// The product's courseware id.
    pub courseware: Option<String>,
    /// List price.
    #[serde(serialize_with = "serialize_price")]
    pub list_price: Money,
    /// The price the user would pay.
    #[serde(serialize_with = "serialize_price")]
    pub final_price: Money,
    /// The winning discount's code.
    pub winning_code: Option<String>,
    /// Every candidate, in step order, then those not considered.
    pub candidates: Vec<Candidate>,
    /// The flexible-pricing walk.
    pub flexible_walk: Vec<FlexibleStep>,
    /// Other facts worth knowing (inactive product, unknown code).
    pub notes: Vec<String>,
    /// One line: the final price and why.
    pub summary: String,
}

fn origins_of(
    facts: &PriceFacts,
    record: &DiscountRecord,
    finaid: Option<DiscountId>,
) -> Vec<Origin> {
    let id = record.discount.id;
    let mut origins = Vec::new();
    if facts
        .typed_code
        .as_ref()
        .and_then(|t| t.record.as_ref())
        .is_some_and(|r| r.discount.id == id)
    {
        origins.push(Origin::TypedCode);
    }
    if record.is_assigned_to(facts.user) || facts.assigned.iter().any(|r| r.discount.id == id) {
        origins.push(Origin::Assigned);
    }
    if record.discount.automatic {
        origins.push(Origin::Automatic);
    }
    if finaid == Some(id) || facts.tier_records.iter().any(|r| r.discount.id == id) {
        origins.push(Origin::FlexiblePriceTier);
    }
    origins
}

fn date_problems(record: &DiscountRecord, now: DateTime<Utc>) -> Vec<String> {
    let d = &record.discount;
    let mut problems = Vec::new();
    if let Some(a) = d.activation_date
        && a > now
    {
        problems.push(format!(
            "not active until {}",
            a.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if let Some(e) = d.expiration_date
        && e <= now
    {
        problems.push(format!("expired {}", e.format("%Y-%m-%d %H:%M UTC")));
    }
    problems
}

fn validity(
    record: &DiscountRecord,
    basket: &Basket,
    user: UserId,
    allow_finaid: bool,
    now: DateTime<Utc>,
) -> Validity {
    let d = &record.discount;
    let usage = &record.usage;
    let mut problems = date_problems(record, now);
    if !allow_finaid && d.payment_type == Some(PaymentType::FinancialAssistance) {
        problems.push("financial-assistance discounts cannot be typed".to_owned());
    }
    if !usage.allows_any_of(basket.product_ids()) {
        problems.push("restricted to other products".to_owned());
    }
    if !usage.assigned_to.is_empty() && !usage.assigned_to.contains(&user) {
        problems.push("assigned to other users".to_owned());
    }
    if d.max_redemptions > 0 && usage.all_redemptions >= d.max_redemptions {
        problems.push(format!(
            "cap of {} redemptions reached ({} on orders in any state)",
            d.max_redemptions, usage.all_redemptions
        ));
    }
    match d.redemption_type {
        RedemptionType::OneTime if usage.fulfilled_count() > 0 => {
            problems.push("one-time code already redeemed on a fulfilled order".to_owned());
        }
        RedemptionType::OneTimePerUser if usage.fulfilled_by(user) => {
            problems.push("already redeemed by this user".to_owned());
        }
        _ => {}
    }
    if d.max_redemptions > 0
        && usage.fulfilled_count() >= d.max_redemptions as usize
        && usage.all_redemptions < d.max_redemptions
    {
        problems.push(format!(
            "cap of {} redemptions reached on fulfilled orders",
            d.max_redemptions
        ));
    }
    Validity {
        valid_now: valid_now(d, now),
        redeemable_by_user: redeemable_by(record, user, now),
        applicable_to_basket: applicable_to_basket(record, basket, allow_finaid, now),
        problems,
    }
}

fn set_reason_text(reason: SetReason, current: Option<&DiscountRecord>) -> String {
    match reason {
        SetReason::Vacant => "the basket had no discount yet".to_owned(),
        SetReason::AssignedToUser => {
            "assigned to this user: replaces any non-tier discount regardless of price".to_owned()
        }
        SetReason::TierOverAssigned => {
            "a flexible-price tier discount replaces a user-assigned one".to_owned()
        }
        SetReason::NotMoreExpensive => match current {
            Some(c) => format!("not more expensive than the current {}", c.discount.code),
            None => "not more expensive than the current discount".to_owned(),
        },
    }
}

fn keep_reason_text(
    reason: KeepReason,
    validity: &Validity,
    unit_price: Money,
    current_price: Money,
    current: Option<&DiscountRecord>,
) -> String {
    let holder = current.map_or_else(String::new, |c| format!(" ({})", c.discount.code));
    match reason {
        KeepReason::AnonymousBasket => "anonymous baskets hold no discounts".to_owned(),
        KeepReason::NotApplicable => format!("not applicable: {}", validity.verdict()),
        KeepReason::TierDiscountHeld => {
            format!(
                "a flexible-price tier discount is held{holder}; an assigned discount never replaces it"
            )
        }
        KeepReason::FinaidNotAllowed => {
            "tier discounts are only auto-applied, never typed".to_owned()
        }
        KeepReason::AssignedDiscountHeld => {
            format!("a user-assigned discount is held{holder}; only a tier discount replaces it")
        }
        KeepReason::NotCheaper => {
            if !validity.redeemable_by_user {
                format!("not redeemable by this user: {}", validity.verdict())
            } else if unit_price.is_zero() {
                "gives $0.00, which never wins the price comparison (kept quirk of the original)"
                    .to_owned()
            } else {
                format!("{unit_price} is more than the current {current_price}{holder}")
            }
        }
    }
}

/// Explains the price of `facts.product` for `facts.user` at `now`.
pub fn explain(facts: &PriceFacts, now: DateTime<Utc>) -> PriceExplanation {
    let user = facts.user;
    let price = facts.product.price;
    let basket = Basket {
        owner: BasketOwner::User(user),
        items: vec![BasketItem::single(facts.product.id, price)],
        discount: None,
    };
    let unit_under = |record: &DiscountRecord| best_price(price, [&record.discount]).quantize();

    let finaid =
        finaid_discount(Some(user), &facts.eligible, &facts.flexible_requests, now).map(|d| d.id);
    let finaid_ids: Vec<DiscountId> = finaid.into_iter().collect();

    // The auto-apply pool as the original queries it: assigned OR finaid OR automatic,
    // in id order, without repeats.
    let mut pool: Vec<DiscountRecord> = facts
        .assigned
        .iter()
        .chain(&facts.automatic)
        .chain(
            facts
                .tier_records
                .iter()
                .filter(|r| finaid == Some(r.discount.id)),
        )
        .cloned()
        .collect();
    pool.sort_by_key(|r| r.discount.id);
    pool.dedup_by_key(|r| r.discount.id);
    let auto: Vec<&DiscountRecord> = auto_apply_set(&basket, &pool, &finaid_ids, now);

    let typed = facts.typed_code.as_ref().and_then(|t| t.record.as_ref());
    let steps = auto
        .iter()
        .map(|r| (*r, true))
        .chain(typed.map(|r| (r, false)));

    let mut working = basket.clone();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut last_set_row: Option<usize> = None;
    for (index, (record, allow_finaid)) in steps.enumerate() {
        let decision = apply(&working, record, allow_finaid, now);
        let check = validity(record, &working, user, allow_finaid, now);
        let unit_price = unit_under(record);
        let current = working.discount.clone();
        let current_price = working.discounted_price();
        let (kind, reason) = match decision {
            ApplyDecision::Set(reason) => {
                (Decision::Set, set_reason_text(reason, current.as_ref()))
            }
            ApplyDecision::Keep(reason) => (
                Decision::Kept,
                keep_reason_text(reason, &check, unit_price, current_price, current.as_ref()),
            ),
        };
        if decision.is_set() {
            working.discount = Some(record.clone());
            last_set_row = Some(candidates.len());
        }
        candidates.push(candidate_row(
            facts,
            record,
            finaid,
            Some(index + 1),
            Some(allow_finaid),
            check,
            unit_price,
            kind,
            Some(decision),
            reason,
        ));
    }
    if let Some(row) = last_set_row
        && let Some(candidate) = candidates.get_mut(row)
    {
        candidate.winner = true;
    }

    // Discounts that never reached `apply`.
    let stepped: Vec<DiscountId> = candidates.iter().map(|c| c.discount_id).collect();
    let mut others: Vec<(&DiscountRecord, String)> = Vec::new();
    for record in &pool {
        if !stepped.contains(&record.discount.id) {
            let mut problems = date_problems(record, now);
            if problems.is_empty() {
                problems.push("not in the auto-apply set".to_owned());
            }
            others.push((record, format!("not auto-applied: {}", problems.join("; "))));
        }
    }
    for record in &facts.tier_records {
        if !stepped.contains(&record.discount.id)
            && !others
                .iter()
                .any(|(r, _)| r.discount.id == record.discount.id)
        {
            others.push((
                record,
                "flexible-price tier discount not selected by the walk (see the flexible-pricing walk)"
                    .to_owned(),
            ));
        }
    }
    for (record, reason) in others {
        let check = validity(record, &basket, user, true, now);
        candidates.push(candidate_row(
            facts,
            record,
            finaid,
            None,
            None,
            check,
            unit_under(record),
            Decision::NotConsidered,
            None,
            reason,
        ));
    }

    let mut notes = Vec::new();
    if !facts.product.is_active {
        notes.push("the product is inactive: it cannot be added to a basket".to_owned());
    }
    if let Some(t) = &facts.typed_code
        && t.record.is_none()
    {
        notes.push(format!("the typed code '{}' does not exist", t.text));
    }

    let final_price = working.discounted_price();
    let winner = candidates.iter().find(|c| c.winner);
    let summary = match winner {
        Some(w) => format!(
            "Final price {final_price} (list {price}): {} ({}, {}) won at step {}: {}.",
            w.code,
            w.friendly,
            w.origins
                .iter()
                .map(|o| o.label())
                .collect::<Vec<_>>()
                .join(", "),
            w.step.unwrap_or_default(),
            w.reason
        ),
        None => format!("Final price {final_price}: the list price, no discount applies."),
    };
    PriceExplanation {
        user,
        product: facts.product.id,
        courseware: facts.product.courseware.clone(),
        list_price: price,
        final_price,
        winning_code: working
            .discount
            .as_ref()
            .map(|r| r.discount.code.to_string()),
        candidates,
        flexible_walk: flexible_walk(facts, now),
        notes,
        summary,
    }
}

#[allow(clippy::too_many_arguments)]
fn candidate_row(
    facts: &PriceFacts,
    record: &DiscountRecord,
    finaid: Option<DiscountId>,
    step: Option<usize>,
    allow_finaid: Option<bool>,
    validity: Validity,
    unit_price: Money,
    decision: Decision,
    apply_reason: Option<ApplyDecision>,
    reason: String,
) -> Candidate {
    let d = &record.discount;
    Candidate {
        step,
        discount_id: d.id,
        code: d.code.to_string(),
        discount_type: d.discount_type.slug().to_owned(),
        amount: d.amount.normalize().to_string(),
        friendly: d.friendly_format(),
        origins: origins_of(facts, record, finaid),
        allow_finaid,
        validity,
        unit_price,
        decision,
        apply_reason,
        reason,
        winner: false,
    }
}

/// The flexible-pricing walk in words: each eligible courseware and what the user's
/// request on it gives (the first approved, current, date-valid tier wins).
fn flexible_walk(facts: &PriceFacts, now: DateTime<Utc>) -> Vec<FlexibleStep> {
    let mut found = false;
    facts
        .eligible
        .iter()
        .enumerate()
        .map(|(i, &courseware)| {
            let name = facts
                .courseware_names
                .get(i)
                .cloned()
                .unwrap_or_else(|| courseware.to_string());
            let request = facts
                .flexible_requests
                .iter()
                .find(|r| r.user == facts.user && r.courseware == courseware);
            let outcome = if found {
                "not reached: an earlier courseware already gave the tier discount".to_owned()
            } else {
                match request {
                    None => "no request".to_owned(),
                    Some(r) => match &r.tier {
                        None => format!("request {}: no tier", r.status),
                        Some(t) => {
                            let d = &t.discount;
                            let dates_ok = d.activation_date.is_none_or(|a| a <= now)
                                && d.expiration_date.is_none_or(|e| e >= now);
                            if !dates_ok {
                                format!(
                                    "request {}: tier discount {} is not date-valid",
                                    r.status, d.code
                                )
                            } else if !t.current {
                                format!("request {}: tier {} is not current", r.status, d.code)
                            } else if !r.status.is_approved() {
                                format!(
                                    "request {} is not approved: tier {} not used",
                                    r.status, d.code
                                )
                            } else {
                                found = true;
                                format!(
                                    "request {}: tier from ${} gives {} ({})",
                                    r.status,
                                    t.income_threshold_usd,
                                    d.code,
                                    d.friendly_format()
                                )
                            }
                        }
                    },
                }
            };
            FlexibleStep {
                courseware,
                name,
                outcome,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use mitx_core::ids::{CourseId, FlexiblePriceId, ProgramId, TierId};
    use mitx_core::pricing::flexible::{FlexiblePriceRequest, PricedObject, RequestStatus, Tier};
    use mitx_core::pricing::{
        DiscountCode, DiscountDraft, DiscountType, DiscountUsage, rederive_basket_discount,
    };
    use mitx_store::pricing_facts::{ProductFacts, TypedCode};
    use rust_decimal::Decimal;

    use super::*;

    const L: UserId = UserId(1);
    const OTHER: UserId = UserId(2);
    const P: ProductId = ProductId(10);
    const COURSE: CourseId = CourseId(3);
    const PROGRAM: ProgramId = ProgramId(7);

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn record(id: i64, code: &str, kind: DiscountType, amount: i64) -> DiscountRecord {
        DiscountRecord::bare(
            DiscountDraft::new(
                DiscountCode::parse(code).unwrap(),
                kind,
                Decimal::from(amount),
            )
            .into_discount(DiscountId(id)),
        )
    }

    fn assigned(mut r: DiscountRecord) -> DiscountRecord {
        r.usage.assigned_to = vec![L];
        r
    }

    fn facts() -> PriceFacts {
        PriceFacts {
            user: L,
            product: ProductFacts {
                id: P,
                price: Money::parse_price("1000.00").unwrap(),
                description: "run".into(),
                is_active: true,
                courseware: Some("course-v1:MITx+1+1T".into()),
                object: PricedObject::CourseRun(COURSE),
            },
            eligible: vec![Courseware::Program(PROGRAM), Courseware::Course(COURSE)],
            courseware_names: vec!["program-v1:P".into(), "course-v1:MITx+1".into()],
            assigned: Vec::new(),
            automatic: Vec::new(),
            typed_code: None,
            flexible_requests: Vec::new(),
            tier_records: Vec::new(),
        }
    }

    fn typed(facts: &mut PriceFacts, r: Option<DiscountRecord>, text: &str) {
        facts.typed_code = Some(TypedCode {
            text: text.into(),
            record: r,
        });
    }

    fn with_tier(facts: &mut PriceFacts, status: RequestStatus, current: bool) -> DiscountRecord {
        let mut r = record(50, "TIER-75", DiscountType::PercentOff, 75);
        r.discount.payment_type = Some(PaymentType::FinancialAssistance);
        r.usage = DiscountUsage {
            tier_linked: true,
            ..DiscountUsage::default()
        };
        facts.tier_records.push(r.clone());
        facts.flexible_requests.push(FlexiblePriceRequest {
            id: FlexiblePriceId(1),
            user: L,
            courseware: Courseware::Program(PROGRAM),
            status,
            tier: Some(Tier {
                id: TierId(1),
                courseware: Courseware::Program(PROGRAM),
                income_threshold_usd: 0.0,
                discount: r.discount.clone(),
                current,
            }),
            created_on: now(),
        });
        r
    }

    /// The explanation's winner is what the core re-derivation returns.
    fn assert_matches_core(facts: &PriceFacts, e: &PriceExplanation) {
        let basket = Basket {
            owner: BasketOwner::User(facts.user),
            items: vec![BasketItem::single(facts.product.id, facts.product.price)],
            discount: None,
        };
        let finaid = finaid_discount(
            Some(facts.user),
            &facts.eligible,
            &facts.flexible_requests,
            now(),
        )
        .map(|d| d.id);
        let mut pool: Vec<DiscountRecord> = facts
            .assigned
            .iter()
            .chain(&facts.automatic)
            .chain(
                facts
                    .tier_records
                    .iter()
                    .filter(|r| Some(r.discount.id) == finaid),
            )
            .cloned()
            .collect();
        pool.sort_by_key(|r| r.discount.id);
        pool.dedup_by_key(|r| r.discount.id);
        let ids: Vec<DiscountId> = finaid.into_iter().collect();
        let auto: Vec<DiscountRecord> = auto_apply_set(&basket, &pool, &ids, now())
            .into_iter()
            .cloned()
            .collect();
        let typed = facts.typed_code.as_ref().and_then(|t| t.record.as_ref());
        let core = rederive_basket_discount(&basket, &auto, typed, now());
        assert_eq!(
            e.winning_code,
            core.map(|r| r.discount.code.to_string()),
            "{e:#?}"
        );
    }

    #[test]
    fn no_discounts_gives_the_list_price() {
        let f = facts();
        let e = explain(&f, now());
        assert_eq!(e.final_price, Money::parse_price("1000.00").unwrap());
        assert!(e.candidates.is_empty());
        assert_eq!(e.winning_code, None);
        assert_eq!(
            e.summary,
            "Final price $1000.00: the list price, no discount applies."
        );
        assert_eq!(e.flexible_walk.len(), 2);
        assert_eq!(e.flexible_walk[0].outcome, "no request");
    }

    #[test]
    fn typed_code_alone_sets_the_vacant_basket() {
        let mut f = facts();
        typed(
            &mut f,
            Some(record(1, "SAVE20", DiscountType::PercentOff, 20)),
            "SAVE20",
        );
        let e = explain(&f, now());
        assert_eq!(e.final_price, Money::parse_price("800.00").unwrap());
        assert_eq!(e.winning_code.as_deref(), Some("SAVE20"));
        let c = &e.candidates[0];
        assert_eq!(c.step, Some(1));
        assert_eq!(c.allow_finaid, Some(false));
        assert_eq!(c.origins, vec![Origin::TypedCode]);
        assert_eq!(c.decision, Decision::Set);
        assert_eq!(c.apply_reason, Some(ApplyDecision::Set(SetReason::Vacant)));
        assert_eq!(c.unit_price, Money::parse_price("800.00").unwrap());
        assert!(c.winner);
        assert_eq!(c.validity.verdict(), "valid");
        assert_eq!(
            e.summary,
            "Final price $800.00 (list $1000.00): SAVE20 (20.00% off, typed code) won at step 1: the basket had no discount yet."
        );
        assert_matches_core(&f, &e);
    }

    #[test]
    fn cheaper_typed_code_beats_an_automatic_discount_and_ties_go_to_the_newcomer() {
        let mut f = facts();
        let mut auto = record(1, "AUTO10", DiscountType::PercentOff, 10);
        auto.discount.automatic = true;
        f.automatic.push(auto);
        typed(
            &mut f,
            Some(record(2, "SAVE30", DiscountType::PercentOff, 30)),
            "SAVE30",
        );
        let e = explain(&f, now());
        assert_eq!(e.winning_code.as_deref(), Some("SAVE30"));
        assert_eq!(e.final_price, Money::parse_price("700.00").unwrap());
        assert_eq!(e.candidates[0].origins, vec![Origin::Automatic]);
        assert_eq!(e.candidates[0].decision, Decision::Set);
        assert!(!e.candidates[0].winner);
        assert_eq!(
            e.candidates[1].apply_reason,
            Some(ApplyDecision::Set(SetReason::NotMoreExpensive))
        );
        assert_matches_core(&f, &e);

        // A more expensive typed code is kept out, with the prices in the reason.
        typed(
            &mut f,
            Some(record(3, "SAVE5", DiscountType::PercentOff, 5)),
            "SAVE5",
        );
        let e = explain(&f, now());
        assert_eq!(e.winning_code.as_deref(), Some("AUTO10"));
        assert_eq!(e.final_price, Money::parse_price("900.00").unwrap());
        assert_eq!(e.candidates[1].decision, Decision::Kept);
        assert_eq!(
            e.candidates[1].reason,
            "$950.00 is more than the current $900.00 (AUTO10)"
        );
        assert_matches_core(&f, &e);
    }

    #[test]
    fn assigned_discount_beats_cheaper_typed_code_and_tier_beats_assigned() {
        let mut f = facts();
        f.assigned
            .push(assigned(record(1, "MINE", DiscountType::DollarsOff, 100)));
        typed(
            &mut f,
            Some(record(2, "HALF", DiscountType::PercentOff, 50)),
            "HALF",
        );
        let e = explain(&f, now());
        assert_eq!(e.winning_code.as_deref(), Some("MINE"));
        assert_eq!(e.final_price, Money::parse_price("900.00").unwrap());
        assert_eq!(
            e.candidates[1].apply_reason,
            Some(ApplyDecision::Keep(KeepReason::AssignedDiscountHeld))
        );
        assert_matches_core(&f, &e);

        // An approved current tier replaces the assigned discount.
        with_tier(&mut f, RequestStatus::Approved, true);
        let e = explain(&f, now());
        assert_eq!(e.winning_code.as_deref(), Some("TIER-75"));
        assert_eq!(e.final_price, Money::parse_price("250.00").unwrap());
        let tier = e.candidates.iter().find(|c| c.code == "TIER-75").unwrap();
        assert_eq!(tier.origins, vec![Origin::FlexiblePriceTier]);
        assert_eq!(
            tier.apply_reason,
            Some(ApplyDecision::Set(SetReason::TierOverAssigned))
        );
        assert!(e.flexible_walk[0].outcome.contains("gives TIER-75"));
        assert!(e.flexible_walk[1].outcome.starts_with("not reached"));
        assert_matches_core(&f, &e);
    }

    #[test]
    fn unapproved_tier_is_listed_but_not_considered() {
        let mut f = facts();
        with_tier(&mut f, RequestStatus::PendingManualApproval, true);
        let e = explain(&f, now());
        assert_eq!(e.winning_code, None);
        assert_eq!(e.candidates.len(), 1);
        assert_eq!(e.candidates[0].decision, Decision::NotConsidered);
        assert_eq!(e.candidates[0].step, None);
        assert_eq!(
            e.flexible_walk[0].outcome,
            "request pending-manual-approval is not approved: tier TIER-75 not used"
        );
        assert_matches_core(&f, &e);
    }

    #[test]
    fn typed_tier_code_is_refused_and_unknown_code_is_noted() {
        let mut f = facts();
        let mut tier = record(9, "FINAID", DiscountType::PercentOff, 90);
        tier.discount.payment_type = Some(PaymentType::FinancialAssistance);
        typed(&mut f, Some(tier), "FINAID");
        let e = explain(&f, now());
        assert_eq!(e.winning_code, None);
        let c = &e.candidates[0];
        assert_eq!(
            c.apply_reason,
            Some(ApplyDecision::Keep(KeepReason::NotApplicable))
        );
        assert_eq!(
            c.reason,
            "not applicable: financial-assistance discounts cannot be typed"
        );
        assert_matches_core(&f, &e);

        typed(&mut f, None, "NOPE");
        let e = explain(&f, now());
        assert_eq!(
            e.notes,
            vec!["the typed code 'NOPE' does not exist".to_owned()]
        );
    }

    #[test]
    fn expired_automatic_and_others_assignment_are_explained() {
        let mut f = facts();
        let mut old = record(1, "OLD", DiscountType::PercentOff, 50);
        old.discount.automatic = true;
        old.discount.expiration_date = Some(now() - Duration::days(1));
        f.automatic.push(old);
        let mut theirs = record(2, "THEIRS", DiscountType::PercentOff, 50);
        theirs.usage.assigned_to = vec![OTHER];
        typed(&mut f, Some(theirs), "THEIRS");
        let e = explain(&f, now());
        assert_eq!(e.winning_code, None);
        let typed_row = e.candidates.iter().find(|c| c.code == "THEIRS").unwrap();
        assert_eq!(typed_row.reason, "not applicable: assigned to other users");
        let old_row = e.candidates.iter().find(|c| c.code == "OLD").unwrap();
        assert_eq!(old_row.decision, Decision::NotConsidered);
        assert_eq!(
            old_row.reason,
            "not auto-applied: expired 2026-02-28 12:00 UTC"
        );
        assert_matches_core(&f, &e);
    }

    #[test]
    fn used_one_time_code_and_zero_price_quirk() {
        let mut f = facts();
        let mut auto = record(1, "AUTO10", DiscountType::PercentOff, 10);
        auto.discount.automatic = true;
        f.automatic.push(auto);
        let mut used = record(2, "ONCE", DiscountType::PercentOff, 50);
        used.discount.redemption_type = RedemptionType::OneTime;
        used.usage.fulfilled_redeemers = vec![OTHER];
        used.usage.all_redemptions = 1;
        typed(&mut f, Some(used), "ONCE");
        let e = explain(&f, now());
        assert_eq!(e.winning_code.as_deref(), Some("AUTO10"));
        assert_eq!(
            e.candidates[1].reason,
            "not redeemable by this user: one-time code already redeemed on a fulfilled order"
        );
        assert_matches_core(&f, &e);

        typed(
            &mut f,
            Some(record(3, "FREE", DiscountType::PercentOff, 100)),
            "FREE",
        );
        let e = explain(&f, now());
        assert_eq!(e.winning_code.as_deref(), Some("AUTO10"));
        assert!(e.candidates[1].reason.contains("never wins"));
        assert_matches_core(&f, &e);
    }
}
