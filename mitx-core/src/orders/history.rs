//! The learner's order history and the order status API's ownership rule (ecommerce
//! spec 7).

use super::state::OrderState;
use crate::Timestamp;
use crate::ids::{OrderId, UserId};

/// Default page size of the order history.
pub const ORDER_HISTORY_DEFAULT_LIMIT: usize = 20;

/// What the history rule needs to know about an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderSummary {
    /// The order.
    pub id: OrderId,
    /// Its purchaser.
    pub purchaser: UserId,
    /// Its state.
    pub state: OrderState,
    /// When it was created.
    pub created_on: Timestamp,
}

/// The caller's fulfilled and refunded orders, newest first (ties: higher id first).
/// The API always paginates (`{count, next, previous, results}`), default limit 20.
pub fn order_history(orders: &[OrderSummary], caller: UserId) -> Vec<OrderSummary> {
    let mut shown: Vec<OrderSummary> = orders
        .iter()
        .copied()
        .filter(|o| o.purchaser == caller && o.state.is_in_history())
        .collect();
    shown.sort_by(|a, b| b.created_on.cmp(&a.created_on).then(b.id.cmp(&a.id)));
    shown
}

/// Order status and receipt APIs only show the caller's own orders; another user's order
/// answers 404 exactly like a missing one.
pub fn visible_to(order: &OrderSummary, caller: UserId) -> bool {
    order.purchaser == caller
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::fixtures::at;

    fn order(id: i64, purchaser: i64, state: OrderState, day: u32) -> OrderSummary {
        OrderSummary {
            id: OrderId(id),
            purchaser: UserId(purchaser),
            state,
            created_on: at(2026, 1, day),
        }
    }

    #[test]
    fn ecommerce_s57_history_lists_own_fulfilled_and_refunded_newest_first() {
        let orders = [
            order(1, 1, OrderState::Fulfilled, 1),
            order(2, 1, OrderState::Refunded, 3),
            order(3, 1, OrderState::Pending, 4),
            order(4, 2, OrderState::Fulfilled, 5),
            order(5, 1, OrderState::Canceled, 6),
            order(6, 1, OrderState::Fulfilled, 2),
        ];
        let ids: Vec<i64> = order_history(&orders, UserId(1))
            .iter()
            .map(|o| o.id.0)
            .collect();
        assert_eq!(ids, vec![2, 6, 1]);
        assert_eq!(ORDER_HISTORY_DEFAULT_LIMIT, 20);
    }

    #[test]
    fn ecommerce_s58_other_users_orders_are_not_visible() {
        let o = order(1, 1, OrderState::Fulfilled, 1);
        assert!(visible_to(&o, UserId(1)));
        assert!(!visible_to(&o, UserId(2)));
    }
}
