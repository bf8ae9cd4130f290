//! Fulfilment decisions that need no I/O (ecommerce spec 3.3): which payment transaction to
//! record, the zero-payment and administrative payloads, and whether the purchaser's basket
//! "matches" the order and can be deleted.

use std::collections::BTreeMap;

use serde::Serialize;

use super::gateway::GatewayType;
use super::transaction::{PaymentData, PaymentTransaction, TransactionId};
use crate::ids::{DiscountId, ProductId, UserId};
use crate::money::Money;

/// Why no payment transaction can be recorded; the order stays pending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FulfilmentError {
    /// The gateway payload has no (usable) transaction id.
    #[error("Missing transaction id from payment API response")]
    MissingTransactionId,
    /// The payload's amount is not a decimal amount.
    #[error("payment amount '{0}' is not a valid amount")]
    InvalidAmount(String),
}

/// The `data` part of an administrative payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AdministrativeReason {
    /// Why no payment was taken.
    pub reason: &'static str,
}

/// A payload recorded when no gateway was involved. Serialises to the original JSON shape
/// `{"amount": 0, "transaction_id": ..., "data": {"reason": ...}, "is_administrative": true}`.
/// The stored transaction id is always a fresh UUID, never `transaction_id` here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AdministrativePayload {
    /// Always 0.
    pub amount: u32,
    /// A label for the kind of fulfilment.
    pub transaction_id: &'static str,
    /// The reason.
    pub data: AdministrativeReason,
    /// Always true.
    pub is_administrative: bool,
}

/// Recorded when a checkout total is zero (T2).
pub const ZERO_PAYMENT_PAYLOAD: AdministrativePayload = AdministrativePayload {
    amount: 0,
    transaction_id: "zero-payment-transaction",
    data: AdministrativeReason {
        reason: "No payment required",
    },
    is_administrative: true,
};

/// Recorded when an operator fulfils a pending order with `--no-check` (T7).
pub const ADMINISTRATIVE_PAYLOAD: AdministrativePayload = AdministrativePayload {
    amount: 0,
    transaction_id: "administratively-fulfilled",
    data: AdministrativeReason {
        reason: "Order fulfilled administratively.",
    },
    is_administrative: true,
};

/// The payment payload a fulfilment is based on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentPayload {
    /// A zero-payment or administrative payload (`is_administrative: true`).
    Administrative(AdministrativePayload),
    /// The fields posted back by CyberSource (or rebuilt from a transaction search).
    CyberSource(PaymentData),
    /// A Stripe event: its `id` and the session's `data.object.amount_total` in cents.
    Stripe {
        /// The event id.
        event_id: Option<String>,
        /// `data.object.amount_total`, in cents, when present.
        amount_total_cents: Option<i64>,
    },
}

impl PaymentPayload {
    /// The gateway the payload came from (administrative payloads have none).
    pub fn gateway(&self) -> Option<GatewayType> {
        match self {
            PaymentPayload::Administrative(_) => None,
            PaymentPayload::CyberSource(_) => Some(GatewayType::CyberSource),
            PaymentPayload::Stripe { .. } => Some(GatewayType::Stripe),
        }
    }
}

/// Step 1 of fulfilment: the payment transaction to record.
///
/// * order total 0 or an administrative payload → `fresh_uuid`, amount 0;
/// * CyberSource → the payload's `transaction_id`; amount from `amount` if present, else 0
///   (CyberSource receipts carry `req_amount`/`auth_amount`, not `amount`, so card payments
///   are recorded with amount 0, as in the original);
/// * Stripe → the event id; amount `amount_total / 100` if present, else 0;
/// * a missing id → "Missing transaction id from payment API response".
pub fn payment_transaction(
    order_total: Money,
    payload: &PaymentPayload,
    fresh_uuid: uuid::Uuid,
) -> Result<PaymentTransaction, FulfilmentError> {
    let fresh = || PaymentTransaction {
        transaction_id: TransactionId::from_uuid(fresh_uuid),
        amount: Money::ZERO,
    };
    if order_total.is_zero() {
        return Ok(fresh());
    }
    match payload {
        PaymentPayload::Administrative(_) => Ok(fresh()),
        PaymentPayload::CyberSource(data) => {
            let transaction_id = parse_id(data.get("transaction_id"))?;
            let amount = match data.get("amount") {
                Some(text) => Money::parse_amount(text)
                    .map_err(|_| FulfilmentError::InvalidAmount(text.to_owned()))?,
                None => Money::ZERO,
            };
            Ok(PaymentTransaction {
                transaction_id,
                amount,
            })
        }
        PaymentPayload::Stripe {
            event_id,
            amount_total_cents,
        } => {
            let transaction_id = parse_id(event_id.as_deref())?;
            let amount = match amount_total_cents {
                Some(cents) if *cents < 0 => {
                    return Err(FulfilmentError::InvalidAmount(cents.to_string()));
                }
                Some(cents) => Money::from_cents(*cents),
                None => Money::ZERO,
            };
            Ok(PaymentTransaction {
                transaction_id,
                amount,
            })
        }
    }
}

fn parse_id(text: Option<&str>) -> Result<TransactionId, FulfilmentError> {
    text.and_then(|t| TransactionId::parse(t).ok())
        .ok_or(FulfilmentError::MissingTransactionId)
}

/// The basket side of the basket/order comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasketSnapshot {
    /// The owner; `None` for an anonymous basket.
    pub user: Option<UserId>,
    /// The product of every basket item.
    pub products: Vec<ProductId>,
    /// The discount of every basket discount.
    pub discounts: Vec<DiscountId>,
}

/// The order side of the basket/order comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSnapshot {
    /// The purchaser.
    pub purchaser: UserId,
    /// The (current) product of every line.
    pub products: Vec<ProductId>,
    /// The discount of every redemption.
    pub discounts: Vec<DiscountId>,
}

/// Step 5 of fulfilment: the purchaser's basket "matches" the order (and is deleted) when it
/// belongs to the purchaser, holds the same products as the order's lines and the same
/// discounts as its redemptions (compared as multisets).
///
/// This keeps the intent of the original's comparison. The original compares every basket
/// item with every line (all pairs), so a basket with two or more items never matches and
/// survives the payment; mitx deletes it when it really holds the purchased products.
/// Anonymous baskets never match.
pub fn basket_matches_order(basket: &BasketSnapshot, order: &OrderSnapshot) -> bool {
    basket.user == Some(order.purchaser)
        && multiset(&basket.products) == multiset(&order.products)
        && multiset(&basket.discounts) == multiset(&order.discounts)
}

fn multiset<T: Ord + Copy>(items: &[T]) -> BTreeMap<T, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(*item).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid() -> uuid::Uuid {
        uuid::Uuid::from_u128(42)
    }

    fn cybersource(fields: &[(&str, &str)]) -> PaymentPayload {
        PaymentPayload::CyberSource(fields.iter().copied().collect())
    }

    #[test]
    fn payment_transaction_decisions() {
        let fresh = TransactionId::from_uuid(uuid());
        let total = Money::from_cents(80_000);
        type Case = (
            Money,
            PaymentPayload,
            Result<(String, Money), FulfilmentError>,
        );
        let cases: Vec<Case> = vec![
            // zero total: a fresh UUID whatever the payload says
            (
                Money::ZERO,
                cybersource(&[("transaction_id", "abc")]),
                Ok((fresh.to_string(), Money::ZERO)),
            ),
            (
                total,
                PaymentPayload::Administrative(ADMINISTRATIVE_PAYLOAD),
                Ok((fresh.to_string(), Money::ZERO)),
            ),
            // CyberSource receipts have req_amount, not amount: recorded as 0
            (
                total,
                cybersource(&[
                    ("transaction_id", "7000000000000000000001"),
                    ("req_amount", "800.00"),
                ]),
                Ok(("7000000000000000000001".into(), Money::ZERO)),
            ),
            (
                total,
                cybersource(&[("transaction_id", "t1"), ("amount", "800.00")]),
                Ok(("t1".into(), Money::from_cents(80_000))),
            ),
            (
                total,
                cybersource(&[("decision", "ACCEPT")]),
                Err(FulfilmentError::MissingTransactionId),
            ),
            (
                total,
                cybersource(&[("transaction_id", "")]),
                Err(FulfilmentError::MissingTransactionId),
            ),
            (
                total,
                cybersource(&[("transaction_id", "t1"), ("amount", "lots")]),
                Err(FulfilmentError::InvalidAmount("lots".into())),
            ),
            (
                total,
                PaymentPayload::Stripe {
                    event_id: Some("evt_1".into()),
                    amount_total_cents: Some(80_000),
                },
                Ok(("evt_1".into(), Money::from_cents(80_000))),
            ),
            (
                total,
                PaymentPayload::Stripe {
                    event_id: Some("evt_2".into()),
                    amount_total_cents: None,
                },
                Ok(("evt_2".into(), Money::ZERO)),
            ),
            (
                total,
                PaymentPayload::Stripe {
                    event_id: None,
                    amount_total_cents: Some(1),
                },
                Err(FulfilmentError::MissingTransactionId),
            ),
        ];
        for (order_total, payload, expected) in cases {
            let got = payment_transaction(order_total, &payload, uuid())
                .map(|t| (t.transaction_id.to_string(), t.amount));
            assert_eq!(got, expected, "{payload:?}");
        }
        assert_eq!(
            FulfilmentError::MissingTransactionId.to_string(),
            "Missing transaction id from payment API response"
        );
    }

    #[test]
    fn administrative_payload_constants() {
        assert_eq!(
            ZERO_PAYMENT_PAYLOAD.transaction_id,
            "zero-payment-transaction"
        );
        assert_eq!(ZERO_PAYMENT_PAYLOAD.data.reason, "No payment required");
        assert_eq!(
            ADMINISTRATIVE_PAYLOAD.transaction_id,
            "administratively-fulfilled"
        );
        assert_eq!(
            ADMINISTRATIVE_PAYLOAD.data.reason,
            "Order fulfilled administratively."
        );
        assert_eq!(
            (
                ZERO_PAYMENT_PAYLOAD.amount,
                ADMINISTRATIVE_PAYLOAD.is_administrative
            ),
            (0, true)
        );
        assert_eq!(
            PaymentPayload::Administrative(ZERO_PAYMENT_PAYLOAD).gateway(),
            None
        );
    }

    #[test]
    fn basket_match_rule() {
        let (l, b) = (UserId(1), UserId(2));
        let (p, q) = (ProductId(10), ProductId(11));
        let d = DiscountId(5);
        let order = OrderSnapshot {
            purchaser: l,
            products: vec![p, q],
            discounts: vec![d],
        };
        let basket = |user, products: Vec<ProductId>, discounts: Vec<DiscountId>| BasketSnapshot {
            user,
            products,
            discounts,
        };
        let cases = [
            // two items in another order: matches (the original's all-pairs check would not)
            (basket(Some(l), vec![q, p], vec![d]), true),
            (basket(Some(l), vec![p], vec![d]), false),
            (basket(Some(l), vec![p, q], vec![]), false),
            (basket(Some(b), vec![p, q], vec![d]), false),
            (basket(None, vec![p, q], vec![d]), false),
            (basket(Some(l), vec![p, p], vec![d]), false),
        ];
        for (bk, expected) in cases {
            assert_eq!(basket_matches_order(&bk, &order), expected, "{bk:?}");
        }
        let single = OrderSnapshot {
            purchaser: l,
            products: vec![p],
            discounts: vec![],
        };
        assert!(basket_matches_order(
            &basket(Some(l), vec![p], vec![]),
            &single
        ));
    }
}
