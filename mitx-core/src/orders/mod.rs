//! The order state machine, reference numbers, checkout validation and refunds
//! (ecommerce spec sections 1.4, 3, 4, 5, 7).
//!
//! - [`transition`]: the state machine of spec 3.2 as a static table ([`TRANSITIONS`]) and
//!   the effects of each transition as data ([`Effect`]), with the idempotent callback rule
//!   ([`apply_callback`]).
//! - fulfilment: which payment transaction to record, and whether the basket matches the
//!   order ([`payment_transaction`], [`basket_matches_order`]).
//! - callbacks: CyberSource decision mapping, browser redirects, Stripe session status.
//! - checkout: validation (4.4), the v0 response, pending-order reuse, totals.
//! - refunds, pending-order resolution, basket operations, receipts, CRM stages.

#![warn(missing_docs)]

mod basket_ops;
mod callback;
mod checkout;
mod crm;
#[cfg(test)]
mod fixtures;
mod fulfilment;
mod gateway;
mod history;
mod receipt;
mod reference;
mod refund;
mod resolve;
mod state;
mod transaction;
mod transition;
mod uai;

pub use basket_ops::{
    ANONYMOUS_BASKET_SESSION_KEY, AddToCartOutcome, AddToCartPlan, BasketOwner, CLAIM_REDIRECT,
    CartMode, CartViewError, ClaimDecision, CreateFromProductOutcome,
    DEFAULT_ANONYMOUS_BASKET_CULL_AGE_SECONDS, basket_writes_apply_discounts, check_cart_view,
    plan_add_to_cart, plan_claim, should_cull,
};
pub use callback::{
    BrowserRedirect, CallbackError, LearnRedirect, REASON_CODE_SUCCESS, ServerCallbackReply,
    StripeCheckoutStatus, UserMessage, cybersource_callback, cybersource_trigger, first_line_title,
    payment_return_redirect, stripe_session_status, zero_value_redirect,
};
pub use checkout::{
    CheckoutDiscount, CheckoutFacts, CheckoutItem, CheckoutRejection, CheckoutResponse, HttpMethod,
    NoProductVersions, PayloadValue, PendingOrderCandidate, PendingOrderPlan, gateway_amount,
    line_discounted_price, newest_version, order_total, plan_pending_order, validate_checkout,
};
pub use crm::DealStage;
pub use fulfilment::{
    ADMINISTRATIVE_PAYLOAD, AdministrativePayload, AdministrativeReason, BasketSnapshot,
    FulfilmentError, OrderSnapshot, PaymentPayload, ZERO_PAYMENT_PAYLOAD, basket_matches_order,
    payment_transaction,
};
pub use gateway::{GatewayType, UnknownGateway};
pub use history::{ORDER_HISTORY_DEFAULT_LIMIT, OrderSummary, order_history, visible_to};
pub use receipt::{ReceiptLineAmounts, card_type_name, receipt_line, receipt_total};
pub use reference::{
    Environment, ORDER_STATUS_NOT_FOUND, OrderLookup, REFERENCE_NUMBER_PREFIX, ReferenceError,
    ReferenceNumber,
};
pub use refund::{
    AdminRefundMessage, GatewayRefundRequest, REFUND_REQUEST_B2B, REFUND_REQUEST_NO_CONSENT,
    REFUND_REQUEST_NOT_FULFILLED, REFUND_REQUEST_NOT_OWN, REFUND_SUCCESS_STATES,
    REFUND_WINDOW_DAYS, RefundCommandError, RefundError, RefundGatewayResponse, RefundLookup,
    RefundReason, RefundRequestErrors, RefundRequestFacts, RefundRequestStatus, StoredTransaction,
    check_refundable, is_refund_eligible, operator_refund_action, operator_refund_done,
    operator_refund_target, refund_event, refund_lookup, refund_request, refund_source_transaction,
    validate_refund_request,
};
pub use resolve::{
    BadReasonCode, GatewayRecord, ResolutionOutcome, ResolveError, ResolveSummary, ResolveTarget,
    resolution_trigger, resolve_target,
};
pub use state::{OrderState, UnknownOrderState};
pub use transaction::{
    PaymentData, PaymentTransaction, RefundTransaction, TransactionId, TransactionIdError,
    TransactionType,
};
pub use transition::{
    CRM_DEAL_SYNC_DELAY_SECONDS, CallbackOutcome, Effect, EffectKind, EnrollmentAction, Event,
    IllegalTransition, Origin, TRANSITIONS, Transition, TransitionContext, TransitionRule, Trigger,
    apply_callback, find_rule, transition, transition_new,
};
pub use uai::{PurchasedItem, is_uai_courseware_id, is_uai_order, is_uai_program_id};
