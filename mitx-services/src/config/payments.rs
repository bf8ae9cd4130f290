//! The payment partners' server-side APIs: the CyberSource REST API (refunds, transaction
//! search) and Stripe (Checkout Sessions, webhooks). Secure Acceptance (the browser-side
//! checkout form) has its own settings.

use std::time::Duration;

use super::{ConfigError, Env};

/// How mitx reaches the CyberSource REST API (ecommerce spec 5.5, 5.6).
#[derive(Clone)]
pub struct CyberSourceRestSettings {
    /// `MITX_CYBERSOURCE_REST_API_BASE_URL` (`https://apitest.cybersource.com` by default;
    /// `https://api.cybersource.com` in production).
    pub base_url: String,
    /// `MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_ID`.
    pub merchant_id: Option<String>,
    /// `MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET_KEY_ID`: the shared secret's key id.
    pub key_id: Option<String>,
    /// `MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET`: the base64 shared secret.
    pub shared_secret: Option<String>,
    /// `MITX_PAYMENT_API_TIMEOUT_SECONDS`.
    pub timeout: Duration,
}

impl std::fmt::Debug for CyberSourceRestSettings {
    // The shared secret never reaches logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CyberSourceRestSettings")
            .field("base_url", &self.base_url)
            .field("merchant_id", &self.merchant_id)
            .field("key_id", &self.key_id)
            .field("shared_secret", &self.shared_secret.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl CyberSourceRestSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let shared_secret = env.optional("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET")?;
        if let Some(secret) = &shared_secret
            && crate::cybersource_rest::decode_secret(secret).is_none()
        {
            return Err(env.error(
                "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET",
                "must be the base64 shared secret key from the CyberSource Business Center",
            ));
        }
        Ok(CyberSourceRestSettings {
            base_url: env.required_url("MITX_CYBERSOURCE_REST_API_BASE_URL")?,
            merchant_id: env.optional("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_ID")?,
            key_id: env.optional("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET_KEY_ID")?,
            shared_secret,
            timeout: env.seconds("MITX_PAYMENT_API_TIMEOUT_SECONDS", 1..=600)?,
        })
    }
}

/// How mitx reaches Stripe (ecommerce spec 5.7).
#[derive(Clone)]
pub struct StripeSettings {
    /// `MITX_STRIPE_API_BASE_URL` (`https://api.stripe.com`).
    pub api_base_url: String,
    /// `MITOL_PAYMENT_GATEWAY_STRIPE_API_KEY`: the secret (or restricted) API key.
    pub api_key: Option<String>,
    /// `MITX_STRIPE_WEBHOOK_SECRETS`: the endpoint secrets (`whsec_...`) a webhook event may
    /// be signed with (several while a secret is being rolled).
    pub webhook_secrets: Vec<String>,
    /// `MITX_PAYMENT_API_TIMEOUT_SECONDS`.
    pub timeout: Duration,
}

impl std::fmt::Debug for StripeSettings {
    // Keys and secrets never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("api_base_url", &self.api_base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl StripeSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let webhook_secrets = env
            .text("MITX_STRIPE_WEBHOOK_SECRETS")?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(StripeSettings {
            api_base_url: env.required_url("MITX_STRIPE_API_BASE_URL")?,
            api_key: env.optional("MITOL_PAYMENT_GATEWAY_STRIPE_API_KEY")?,
            webhook_secrets,
            timeout: env.seconds("MITX_PAYMENT_API_TIMEOUT_SECONDS", 1..=600)?,
        })
    }
}
