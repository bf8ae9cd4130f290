//! Flexible-price requests: statuses, the finaid discount lookup, the learner's
//! submission decision, the form page and the staff list filter (pricing-and-b2b spec
//! 1.5, 2.5, 3.1–3.3, 3.8).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::courseware::Courseware;
use super::currency::{CurrencyError, convert_income};
use super::tiers::{Tier, TierSelectionError, auto_approves, select_tier};
use crate::Timestamp;
use crate::ids::{FlexiblePriceId, TierId, UserId};
use crate::pricing::Discount;

/// The status of a flexible-price request. There is no `skipped` status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestStatus {
    /// The default for records made outside the form.
    #[default]
    Created,
    /// Waiting for documents / staff review.
    PendingManualApproval,
    /// Approved by the submission rule (§2.4).
    AutoApproved,
    /// Approved by staff.
    Approved,
    /// Denied by staff.
    Denied,
    /// Reset by staff: the learner may submit again (the same record is reused).
    Reset,
}

impl RequestStatus {
    /// All statuses.
    pub const ALL: [RequestStatus; 6] = [
        RequestStatus::Created,
        RequestStatus::PendingManualApproval,
        RequestStatus::AutoApproved,
        RequestStatus::Approved,
        RequestStatus::Denied,
        RequestStatus::Reset,
    ];

    /// The stored slug.
    pub fn slug(self) -> &'static str {
        match self {
            RequestStatus::Created => "created",
            RequestStatus::PendingManualApproval => "pending-manual-approval",
            RequestStatus::AutoApproved => "auto-approved",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
            RequestStatus::Reset => "reset",
        }
    }

    /// Parses a stored slug.
    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// "Approved" means approved or auto-approved.
    pub fn is_approved(self) -> bool {
        matches!(self, RequestStatus::Approved | RequestStatus::AutoApproved)
    }

    /// Terminal statuses: approved, auto-approved, denied. (Staff may still set any status;
    /// no transition validation exists.)
    pub fn is_terminal(self) -> bool {
        self.is_approved() || self == RequestStatus::Denied
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// The parts of a stored request the rules read. (Unique per user and courseware.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlexiblePriceRequest {
    /// Storage id.
    pub id: FlexiblePriceId,
    /// The learner.
    pub user: UserId,
    /// The course or program the request is for.
    pub courseware: Courseware,
    /// Current status.
    pub status: RequestStatus,
    /// The selected tier, with its discount.
    pub tier: Option<Tier>,
    /// When the record was created (the most recent wins in the existing-request lookup).
    pub created_on: Timestamp,
}

/// The date filter of the finaid lookup: activation null or ≤ now, expiration null or
/// ≥ now (inclusive, unlike `valid_now`).
fn date_valid_inclusive(discount: &Discount, now: Timestamp) -> bool {
    discount.activation_date.is_none_or(|a| a <= now)
        && discount.expiration_date.is_none_or(|e| e >= now)
}

/// The shared walk of [`finaid_discount`] and [`is_finaid_approved`].
fn approved_tier_walk<'a>(
    user: Option<UserId>,
    eligible: &[Courseware],
    requests: &'a [FlexiblePriceRequest],
    date_filter: Option<Timestamp>,
) -> Option<&'a Tier> {
    let user = user?;
    eligible.iter().find_map(|&courseware| {
        requests
            .iter()
            .filter(|r| r.user == user && r.courseware == courseware)
            .find_map(|r| {
                r.tier
                    .as_ref()
                    .filter(|t| {
                        date_filter.is_none_or(|now| date_valid_inclusive(&t.discount, now))
                    })
                    .map(|t| (r, t))
            })
            .filter(|(r, t)| t.current && r.status.is_approved())
            .map(|(_, t)| t)
    })
}

/// `finaid_discount(product, user)`: none for anonymous users. Walks `eligible` (the
/// product's [`super::eligible_coursewares`]); for the user's request on each courseware
/// whose tier discount is date-valid (inclusive), returns the tier's discount if the tier
/// is current and the request approved, else keeps walking.
pub fn finaid_discount<'a>(
    user: Option<UserId>,
    eligible: &[Courseware],
    requests: &'a [FlexiblePriceRequest],
    now: Timestamp,
) -> Option<&'a Discount> {
    approved_tier_walk(user, eligible, requests, Some(now)).map(|t| &t.discount)
}

/// The "is approved" flag of the UI: the same walk as [`finaid_discount`] without the
/// date filter.
pub fn is_finaid_approved(
    user: Option<UserId>,
    eligible: &[Courseware],
    requests: &[FlexiblePriceRequest],
) -> bool {
    approved_tier_walk(user, eligible, requests, None).is_some()
}

/// The existing request of a form: among the user's requests on `coursewares` (see
/// [`super::existing_request_coursewares`]), the most recently created.
pub fn find_existing_request<'a>(
    user: UserId,
    coursewares: &[Courseware],
    requests: &'a [FlexiblePriceRequest],
) -> Option<&'a FlexiblePriceRequest> {
    requests
        .iter()
        .filter(|r| r.user == user && coursewares.contains(&r.courseware))
        .max_by_key(|r| r.created_on)
}

/// The learner's form input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmissionForm {
    /// Income as typed (a whole number).
    pub original_income: f64,
    /// Currency code of the income.
    pub currency: String,
    /// ISO alpha-2 country of income.
    pub country_of_income: String,
    /// ISO alpha-2 country of residence.
    pub country_of_residence: String,
}

/// What the submission decision needs from storage.
#[derive(Clone, Copy, Debug)]
pub struct SubmissionContext<'a> {
    /// The form's parent courseware (requests are stored against it).
    pub courseware: Courseware,
    /// `eligible(courseware)`, the tier lookup order.
    pub eligible: &'a [Courseware],
    /// The tiers of those coursewares.
    pub tiers: &'a [Tier],
    /// The user's existing request (see [`find_existing_request`]).
    pub existing: Option<&'a FlexiblePriceRequest>,
    /// The exchange-rate row of the form's currency.
    pub exchange_rate: Option<f64>,
    /// The income-threshold row of the country of income.
    pub country_income_threshold: Option<u32>,
}

/// Why a submission was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionError {
    /// A non-reset request exists. The form view ignores the POST and shows the status
    /// page; the submission routine itself raises this message.
    #[error("A Flexible Price request already exists for this user and course or program.")]
    AlreadyExists(FlexiblePriceId),
    /// The currency has no exchange rate (form error).
    #[error(transparent)]
    Currency(#[from] CurrencyError),
    /// No tier could be selected (configuration error).
    #[error(transparent)]
    Tier(#[from] TierSelectionError),
}

/// Which record a submission writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestTarget {
    /// Overwrite the learner's `reset` record (same id).
    ReuseReset(FlexiblePriceId),
    /// Create a new record.
    CreateNew,
}

/// What to store for an accepted submission (after storing the raw form submission).
/// No email is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmissionPlan {
    /// The record to write.
    pub target: RequestTarget,
    /// The courseware of the record.
    pub courseware: Courseware,
    /// The converted income, rounded to 2 decimal places.
    pub income_usd: f64,
    /// Income as typed.
    pub original_income: f64,
    /// Currency as typed.
    pub original_currency: String,
    /// Country of income.
    pub country_of_income: String,
    /// Country of residence.
    pub country_of_residence: String,
    /// `date_exchange_rate` = the submission time.
    pub date_exchange_rate: Timestamp,
    /// The selected tier.
    pub tier: TierId,
    /// Always `""` at submission.
    pub justification: String,
    /// `auto-approved` or `pending-manual-approval`.
    pub status: RequestStatus,
}

/// The learner submission (§3.3): an existing non-reset request refuses it; then the
/// income is converted, the tier selected, and the status decided by
/// [`auto_approves`]. A `reset` record is reused, otherwise a new one is created.
pub fn decide_submission(
    form: &SubmissionForm,
    ctx: &SubmissionContext<'_>,
    now: Timestamp,
) -> Result<SubmissionPlan, SubmissionError> {
    let target = match ctx.existing {
        Some(existing) if existing.status == RequestStatus::Reset => {
            RequestTarget::ReuseReset(existing.id)
        }
        Some(existing) => return Err(SubmissionError::AlreadyExists(existing.id)),
        None => RequestTarget::CreateNew,
    };
    let income_usd = convert_income(form.original_income, &form.currency, ctx.exchange_rate)?;
    let tier = select_tier(ctx.courseware, ctx.eligible, ctx.tiers, income_usd)?;
    let status = if auto_approves(
        income_usd,
        ctx.country_income_threshold,
        tier.discount.amount,
    ) {
        RequestStatus::AutoApproved
    } else {
        RequestStatus::PendingManualApproval
    };
    Ok(SubmissionPlan {
        target,
        courseware: ctx.courseware,
        income_usd,
        original_income: form.original_income,
        original_currency: form.currency.clone(),
        country_of_income: form.country_of_income.clone(),
        country_of_residence: form.country_of_residence.clone(),
        date_exchange_rate: now,
        tier: tier.id,
        justification: String::new(),
        status,
    })
}

/// What the request form page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormPageView {
    /// Anonymous visitor: the guest text.
    Guest,
    /// No request, or a reset one: the form.
    Form,
    /// Approved or auto-approved; `no_discount` when the tier discount amount is 0.
    Approved {
        /// Show the approved-no-discount text.
        no_discount: bool,
    },
    /// Denied text.
    Denied,
    /// Any other status: the processing text.
    Processing,
}

/// The form page for a visitor and their existing request.
pub fn form_page_view(signed_in: bool, existing: Option<&FlexiblePriceRequest>) -> FormPageView {
    if !signed_in {
        return FormPageView::Guest;
    }
    match existing {
        None => FormPageView::Form,
        Some(r) => match r.status {
            RequestStatus::Reset => FormPageView::Form,
            s if s.is_approved() => FormPageView::Approved {
                no_discount: r.tier.as_ref().is_some_and(|t| t.discount.amount.is_zero()),
            },
            RequestStatus::Denied => FormPageView::Denied,
            _ => FormPageView::Processing,
        },
    }
}

/// The staff list filters of `applications_admin/`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRequestFilter {
    /// Case-sensitive substring of the username, name or email.
    pub q: Option<String>,
    /// Exact status.
    pub status: Option<RequestStatus>,
    /// Exact courseware (`course:{id}` / `program:{id}`).
    pub courseware: Option<Courseware>,
}

impl AdminRequestFilter {
    /// Whether a request (and its user's username, name and email) passes the filters.
    pub fn matches(
        &self,
        request: &FlexiblePriceRequest,
        username: &str,
        name: &str,
        email: &str,
    ) -> bool {
        let q_ok = self
            .q
            .as_deref()
            .is_none_or(|q| username.contains(q) || name.contains(q) || email.contains(q));
        q_ok && self.status.is_none_or(|s| s == request.status)
            && self.courseware.is_none_or(|c| c == request.courseware)
    }
}
