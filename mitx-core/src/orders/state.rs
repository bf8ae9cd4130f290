//! The states an order can be in (ecommerce spec 3.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The state of an order. The serde form is the stored text (`pending`, `partially_refunded`).
///
/// `Review` and `PartiallyRefunded` exist for reporting and the CRM stage mapping only: no
/// transition of the table ever enters them (a REVIEW decision cancels; a partial refund
/// ends in `Refunded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Created by checkout, waiting for the payment gateway.
    Pending,
    /// Paid (or free) and fulfilled: enrolments and paid records exist.
    Fulfilled,
    /// Cancelled by the learner, the gateway, a REVIEW decision or an expired session.
    Canceled,
    /// The gateway declined the payment (or staff declined the order).
    Declined,
    /// The gateway reported an error or an unknown decision.
    Errored,
    /// Refunded (fully or partially).
    Refunded,
    /// Reporting only; never entered.
    Review,
    /// Reporting only; never entered.
    PartiallyRefunded,
}

/// Why a state text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an order state")]
pub struct UnknownOrderState(pub String);

impl OrderState {
    /// Every state, in the order of the spec.
    pub const ALL: [OrderState; 8] = [
        OrderState::Pending,
        OrderState::Fulfilled,
        OrderState::Canceled,
        OrderState::Declined,
        OrderState::Errored,
        OrderState::Refunded,
        OrderState::Review,
        OrderState::PartiallyRefunded,
    ];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Pending => "pending",
            OrderState::Fulfilled => "fulfilled",
            OrderState::Canceled => "canceled",
            OrderState::Declined => "declined",
            OrderState::Errored => "errored",
            OrderState::Refunded => "refunded",
            OrderState::Review => "review",
            OrderState::PartiallyRefunded => "partially_refunded",
        }
    }

    /// Parses the stored text (exact, lowercase).
    pub fn parse(text: &str) -> Result<Self, UnknownOrderState> {
        OrderState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownOrderState(text.to_owned()))
    }

    /// Whether the order appears in the learner's order history (fulfilled or refunded).
    pub fn is_in_history(self) -> bool {
        matches!(self, OrderState::Fulfilled | OrderState::Refunded)
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderState {
    type Err = UnknownOrderState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderState::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_text_round_trips() {
        for state in OrderState::ALL {
            assert_eq!(OrderState::parse(state.as_str()), Ok(state));
        }
        assert_eq!(OrderState::PartiallyRefunded.as_str(), "partially_refunded");
        assert_eq!(OrderState::Canceled.to_string(), "canceled");
        assert!(OrderState::parse("cancelled").is_err());
        assert!(OrderState::parse("Pending").is_err());
    }

    #[test]
    fn serde_form_is_the_stored_text() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        for state in OrderState::ALL {
            let de: StrDeserializer<'_, Error> = state.as_str().into_deserializer();
            assert_eq!(OrderState::deserialize(de), Ok(state));
        }
    }

    #[test]
    fn history_states() {
        let shown: Vec<_> = OrderState::ALL
            .into_iter()
            .filter(|s| s.is_in_history())
            .collect();
        assert_eq!(shown, vec![OrderState::Fulfilled, OrderState::Refunded]);
    }
}
