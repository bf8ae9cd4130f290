//! Checkout and the payment gateways (ecommerce spec 5.1, 5.2): the original's setting
//! names, so an existing deployment's environment carries over.

use mitx_core::orders::GatewayType;

use super::{ConfigError, Env};

/// How checkout reaches the payment gateway.
#[derive(Clone)]
pub struct PaymentSettings {
    /// `ECOMMERCE_DEFAULT_PAYMENT_GATEWAY` (`None` means CyberSource).
    pub default_gateway: GatewayType,
    /// `MITOL_PAYMENT_GATEWAY_CYBERSOURCE_ACCESS_KEY`.
    pub cybersource_access_key: String,
    /// `MITOL_PAYMENT_GATEWAY_CYBERSOURCE_PROFILE_ID`.
    pub cybersource_profile_id: String,
    /// `MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY`: the HMAC key of the Secure
    /// Acceptance signature (both directions).
    pub cybersource_security_key: String,
    /// `MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURE_ACCEPTANCE_URL`: where the checkout form
    /// posts.
    pub cybersource_secure_acceptance_url: String,
}

impl std::fmt::Debug for PaymentSettings {
    // The keys never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentSettings")
            .field("default_gateway", &self.default_gateway)
            .field("cybersource_access_key", &"***")
            .field("cybersource_profile_id", &self.cybersource_profile_id)
            .field("cybersource_security_key", &"***")
            .field(
                "cybersource_secure_acceptance_url",
                &self.cybersource_secure_acceptance_url,
            )
            .finish()
    }
}

impl PaymentSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let gateway = env.text("ECOMMERCE_DEFAULT_PAYMENT_GATEWAY")?;
        let default_gateway = GatewayType::parse_setting(&gateway)
            .map_err(|e| env.error("ECOMMERCE_DEFAULT_PAYMENT_GATEWAY", e.to_string()))?;
        Ok(PaymentSettings {
            default_gateway,
            cybersource_access_key: env
                .optional("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_ACCESS_KEY")?
                .unwrap_or_default(),
            cybersource_profile_id: env
                .optional("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_PROFILE_ID")?
                .unwrap_or_default(),
            cybersource_security_key: env
                .optional("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY")?
                .unwrap_or_default(),
            cybersource_secure_acceptance_url: env
                .required_url("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURE_ACCEPTANCE_URL")?,
        })
    }
}
