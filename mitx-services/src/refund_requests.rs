//! A learner's refund request (ecommerce spec 5.6): validated with the core's rule
//! (`validate_refund_request`: own order, fulfilled, not B2B, consent given), recorded as
//! `pending`, and announced to `REFUND_REQUEST_EMAIL` by a job queued in the same unit of
//! work. Refund eligibility is informational and not enforced.

use mitx_core::ids::{OrderId, UserId};
use mitx_core::orders::{
    RefundReason, RefundRequestErrors, RefundRequestFacts, validate_refund_request,
};
use mitx_store::StoreError;
use mitx_store::order_views::{NewRefundRequest, RefundRequestRecord};

use crate::Services;
use crate::error::{Fault, store_fault};
use crate::jobs;
use crate::order_emails::RefundRequestEmailJob;

/// What the learner submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRequestInput {
    /// The order.
    pub order: OrderId,
    /// The reason, or none (blank).
    pub refund_reason: Option<RefundReason>,
    /// Free text.
    pub refund_reason_text: String,
    /// The learner acknowledged the consequences.
    pub consent_given: bool,
}

/// Why a refund request was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RefundRequestError {
    /// The request is refused (400 `{"errors": {...}}`).
    #[error(transparent)]
    Invalid(#[from] RefundRequestErrors),
    /// No order has that id (400 `errors.order`, as the original's related-field check).
    #[error("Invalid pk \"{0}\" - object does not exist.")]
    NoSuchOrder(i64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RefundRequestError {
    /// Who is at fault.
    pub fn fault(&self) -> Fault {
        match self {
            RefundRequestError::Invalid(_) | RefundRequestError::NoSuchOrder(_) => Fault::Caller,
            RefundRequestError::Store(err) => store_fault(err),
        }
    }
}

/// The slug stored for a reason ("" for none).
pub fn reason_slug(reason: Option<RefundReason>) -> &'static str {
    match reason {
        None => "",
        Some(RefundReason::EnrolledInAnotherCourse) => "enrolled_in_another_course",
        Some(RefundReason::CourseNotAsExpected) => "course_not_as_expected",
        Some(RefundReason::TechnicalDifficulties) => "technical_difficulties",
        Some(RefundReason::FinancialReasons) => "financial_reasons",
        Some(RefundReason::Other) => "other",
    }
}

/// Validates and records `requester`'s refund request and queues its notification.
pub async fn submit(
    services: &Services,
    requester: UserId,
    input: &RefundRequestInput,
) -> Result<RefundRequestRecord, RefundRequestError> {
    let order = services
        .store()
        .order_view(input.order)
        .await?
        .ok_or(RefundRequestError::NoSuchOrder(input.order.0))?;
    validate_refund_request(&RefundRequestFacts {
        requester,
        purchaser: order.purchaser.id,
        state: order.state,
        is_b2b_contract_order: order.is_b2b_contract_order(),
        consent_given: input.consent_given,
    })?;
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let id = tx
        .insert_refund_request(
            &NewRefundRequest {
                order: input.order,
                user: requester,
                refund_reason: reason_slug(input.refund_reason).to_owned(),
                refund_reason_text: input.refund_reason_text.clone(),
                consent_given: input.consent_given,
            },
            now,
        )
        .await?;
    jobs::enqueue(
        &mut tx,
        jobs::ORDERS_REFUND_REQUEST_EMAIL,
        &RefundRequestEmailJob { refund_request: id },
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        order = input.order.0,
        refund_request = id,
        "refund request recorded"
    );
    services
        .store()
        .refund_request(id)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "refund request",
            key: id.to_string(),
        })
        .map_err(RefundRequestError::from)
}
