//! Flexible (income-based) pricing (pricing-and-b2b spec sections 1–4).
//!
//! - [`courseware`]: the Course/Program courseware, program links, the eligible walk
//!   order, the form's courseware and the existing-request coursewares;
//! - [`currency`]: income conversion to USD (f64, Python-style rounding to cents);
//! - [`tiers`]: tiers, tier selection, auto-approval;
//! - [`request`]: request statuses, the finaid discount lookup, the submission decision,
//!   the form page and the staff list filter;
//! - [`emails`]: the email after a staff update;
//! - [`exchange_rates`]: the refresh job's URL, response checks and rows;
//! - [`thresholds`]: the country income thresholds CSV;
//! - [`configure`]: `configure_tiers` planning.

pub mod configure;
pub mod courseware;
pub mod currency;
pub mod emails;
pub mod exchange_rates;
pub mod request;
pub mod thresholds;
pub mod tiers;

#[cfg(test)]
mod scenarios;

pub use configure::{
    ConfigureTarget, ConfigureTiersError, PlannedTier, TierConfigurationInput,
    TierConfigurationPlan, TierDiscountPlan, TierSpec, choose_configure_target, default_tier_specs,
    parse_tier_info, plan_tier_configuration,
};
pub use courseware::{
    Courseware, PricedObject, ProgramLinks, eligible_coursewares, existing_request_coursewares,
    form_courseware,
};
pub use currency::{CurrencyError, USD, convert_income, round_to_cents};
pub use emails::{StatusEmail, StatusEmailBody, staff_update_email};
pub use exchange_rates::{
    DISALLOWED_CURRENCIES, ExchangeRateError, ExchangeRateRow, check_latest_response,
    descriptions_usable, exchange_rates_url, plan_exchange_rate_refresh,
};
pub use request::{
    AdminRequestFilter, FlexiblePriceRequest, FormPageView, RequestStatus, RequestTarget,
    SubmissionContext, SubmissionError, SubmissionForm, SubmissionPlan, decide_submission,
    finaid_discount, find_existing_request, form_page_view, is_finaid_approved,
};
pub use thresholds::{
    CountryIncomeThreshold, INCOME_THRESHOLD_COLUMNS, ThresholdCsvError, parse_income_thresholds,
};
pub use tiers::{
    DEFAULT_COUNTRY_INCOME_THRESHOLD, Tier, TierSelectionError, auto_approves, select_tier,
};
