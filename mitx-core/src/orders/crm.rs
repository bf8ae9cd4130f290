//! The CRM (HubSpot) deal stage of an order (ecommerce spec 7).

use std::fmt;

use serde::Serialize;

use super::state::OrderState;

/// The deal stage an order maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DealStage {
    /// fulfilled, review.
    #[serde(rename = "processed")]
    Processed,
    /// pending.
    #[serde(rename = "checkout pending")]
    CheckoutPending,
    /// canceled.
    #[serde(rename = "checkout abandoned")]
    CheckoutAbandoned,
    /// declined, errored, refunded, partially_refunded.
    #[serde(rename = "checkout completed")]
    CheckoutCompleted,
}

impl DealStage {
    /// The stage name.
    pub fn as_str(self) -> &'static str {
        match self {
            DealStage::Processed => "processed",
            DealStage::CheckoutPending => "checkout pending",
            DealStage::CheckoutAbandoned => "checkout abandoned",
            DealStage::CheckoutCompleted => "checkout completed",
        }
    }

    /// The stage of an order in `state`.
    pub fn for_state(state: OrderState) -> Self {
        match state {
            OrderState::Fulfilled | OrderState::Review => DealStage::Processed,
            OrderState::Pending => DealStage::CheckoutPending,
            OrderState::Canceled => DealStage::CheckoutAbandoned,
            OrderState::Declined
            | OrderState::Errored
            | OrderState::Refunded
            | OrderState::PartiallyRefunded => DealStage::CheckoutCompleted,
        }
    }
}

impl fmt::Display for DealStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_mapping_covers_every_state() {
        let expected = [
            (OrderState::Pending, "checkout pending"),
            (OrderState::Fulfilled, "processed"),
            (OrderState::Canceled, "checkout abandoned"),
            (OrderState::Declined, "checkout completed"),
            (OrderState::Errored, "checkout completed"),
            (OrderState::Refunded, "checkout completed"),
            (OrderState::Review, "processed"),
            (OrderState::PartiallyRefunded, "checkout completed"),
        ];
        for (state, stage) in expected {
            assert_eq!(DealStage::for_state(state).to_string(), stage, "{state}");
        }
    }
}
