//! Which payment gateway an order goes through (ecommerce spec 1.4, 5.1, 5.7).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A payment gateway. Stored in `Order.gateway_type`; the default is CyberSource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GatewayType {
    /// CyberSource Secure Acceptance (the default gateway).
    #[default]
    CyberSource,
    /// Stripe hosted Checkout Sessions (per-user feature flag).
    Stripe,
}

/// Why a gateway name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a payment gateway")]
pub struct UnknownGateway(pub String);

impl GatewayType {
    /// The stored text (`CyberSource`, `Stripe`).
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayType::CyberSource => "CyberSource",
            GatewayType::Stripe => "Stripe",
        }
    }

    /// Parses the `ECOMMERCE_DEFAULT_PAYMENT_GATEWAY` setting or a stored value. The
    /// setting value `None` (and an empty value) means CyberSource, as in the original.
    pub fn parse_setting(text: &str) -> Result<Self, UnknownGateway> {
        match text.trim() {
            "" | "None" | "CyberSource" => Ok(GatewayType::CyberSource),
            "Stripe" => Ok(GatewayType::Stripe),
            other => Err(UnknownGateway(other.to_owned())),
        }
    }

    /// Gateway choice at checkout (5.1): Stripe when the user has a global id and the Stripe
    /// feature flag is on for them, else the configured default.
    pub fn for_checkout(has_global_id: bool, stripe_flag_on: bool, default: GatewayType) -> Self {
        if has_global_id && stripe_flag_on {
            GatewayType::Stripe
        } else {
            default
        }
    }
}

impl fmt::Display for GatewayType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_none_means_cybersource() {
        assert_eq!(
            GatewayType::parse_setting("None"),
            Ok(GatewayType::CyberSource)
        );
        assert_eq!(
            GatewayType::parse_setting("Stripe"),
            Ok(GatewayType::Stripe)
        );
        assert!(GatewayType::parse_setting("PayPal").is_err());
    }

    #[test]
    fn checkout_gateway_choice() {
        let d = GatewayType::CyberSource;
        assert_eq!(
            GatewayType::for_checkout(true, true, d),
            GatewayType::Stripe
        );
        assert_eq!(GatewayType::for_checkout(false, true, d), d);
        assert_eq!(GatewayType::for_checkout(true, false, d), d);
    }
}
