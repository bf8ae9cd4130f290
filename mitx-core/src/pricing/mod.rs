//! Pricing: discounts and their validity, best price, basket precedence, code
//! generation, and flexible (income-based) pricing (ecommerce spec sections 0, 1.3, 2,
//! 4.3 and 6; pricing-and-b2b spec sections 1–4).
//!
//! Where each rule lives:
//! - `discount.rs`: [`Discount`] and its enums with their stored slugs, [`DiscountCode`],
//!   [`DiscountDraft`] (a discount to create), save-time validation
//!   ([`Discount::check_for_save`], exact date messages) and
//!   [`Discount::friendly_format`].
//! - `price.rs`: the per-type unit price ([`Discount::price_for`], clamped at 0) and
//!   [`best_price`] (lowest wins, never above the list price, no stacking).
//! - `basket.rs`: the pure [`Basket`] model (owner, items, the single optional
//!   discount) and its totals: `total_price`, `discounted_price` (each unit quantized,
//!   then × quantity), the order total rule and the listed discount (zero-amount
//!   percent/dollars discounts hidden).
//! - `validity.rs`: the separate predicates [`valid_now`], [`redeemable_by`],
//!   [`product_ok`] and [`applicable_to_basket`] over plain facts ([`DiscountUsage`]).
//! - `precedence.rs`: which discount a basket keeps: v0 [`apply`] (returns set/keep and
//!   why), the legacy redeem decision [`decide_redeem`] with its finaid comparison, the
//!   legacy cart refresh, the auto-apply set and the v0 re-derivation.
//! - `codes.rs`: discount code generation ([`plan_discount_codes`], UUIDs passed in),
//!   lenient date parsing, redemption-type resolution, `check_discount_code`'s verdict and
//!   `extend_coupons`' matching rule.
//! - [`flexible`]: income-based pricing: coursewares and the eligible walk, currency
//!   conversion, tier selection, auto-approval, the finaid discount lookup, request
//!   statuses and the submission decision, staff emails, the exchange-rate refresh, the
//!   income-thresholds CSV and `configure_tiers` planning.
//!
//! Checkout and the order state machine are in `crate::orders`.

mod basket;
mod codes;
mod discount;
pub mod flexible;
mod precedence;
mod price;
mod validity;

pub use basket::{Basket, BasketItem, BasketOwner};
pub use codes::{
    CodeGenerationError, CodeGenerationRequest, DateParseError, MAX_PREFIX_CHARS,
    RedeemabilityVerdict, check_discount_code, expiration_shortened, extend_coupons_targets,
    parse_supplied_date, plan_discount_codes, resolve_redemption_type,
};
pub use discount::{
    Discount, DiscountCode, DiscountCodeError, DiscountDraft, DiscountSaveError, DiscountType,
    PaymentType, RedemptionType,
};
pub use precedence::{
    ApplyDecision, CartRefresh, KeepReason, RedeemChoice, RedeemDecision, RedeemError, SetReason,
    apply, auto_apply_set, decide_redeem, legacy_cart_refresh, legacy_finaid_choice,
    redeem_lookup_key, rederive_basket_discount,
};
pub use price::best_price;
pub use validity::{
    DiscountRecord, DiscountUsage, applicable_to_basket, product_ok, redeemable_by, valid_now,
};
