//! The Stripe client (ecommerce spec 5.7): hosted Checkout Sessions (create, and retrieve
//! with the PaymentIntent expanded) and the verification of webhook signatures
//! (`Stripe-Signature: t=...,v1=...`). The base URL comes from the settings, so tests point
//! it at [`fake::FakeStripe`].

#[cfg(any(feature = "testing", feature = "fake-payments"))]
pub mod fake;

use std::time::Duration;

use serde_json::Value;

use crate::config::StripeSettings;

/// The reason of the transaction that stores an order's initial Checkout Session (its id
/// is the session id; amount 0).
pub const INITIAL_CHECKOUT_SESSION_REASON: &str = "Initial CheckoutSession";

/// The order's newest Checkout Session (its latest `Initial CheckoutSession`
/// transaction): a reused order gets one per checkout, and only the newest one speaks
/// for it.
pub fn newest_initial_session(
    transactions: &[mitx_store::orders::TransactionRow],
) -> Option<&mitx_store::orders::TransactionRow> {
    transactions
        .iter()
        .filter(|t| t.reason == INITIAL_CHECKOUT_SESSION_REASON)
        .max_by_key(|t| (t.created_on, t.id))
}

/// How old (or how far in the future) a signed webhook event may be, as Stripe's
/// libraries allow by default.
pub const WEBHOOK_TOLERANCE_SECONDS: i64 = 300;

/// Why a Stripe call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// A setting the call needs is empty.
    #[error("Stripe is not configured: {0} is not set")]
    NotConfigured(&'static str),
    /// Stripe answered with an error status.
    #[error("Stripe answered {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// `error.message` of the body (or the body, truncated).
        message: String,
    },
    /// Stripe could not be reached.
    #[error("cannot reach Stripe: {0}")]
    Connection(String),
    /// Stripe answered something that is not the documented shape.
    #[error("unexpected answer from Stripe: {0}")]
    Decode(String),
}

/// Why a webhook request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No endpoint secret is configured, so no event can be trusted.
    #[error("no Stripe webhook secret is configured")]
    NoSecret,
    /// The `Stripe-Signature` header is missing or has no `t` / `v1`.
    #[error("the Stripe-Signature header is missing or malformed")]
    MalformedHeader,
    /// No `v1` signature matches any configured secret.
    #[error("no signature matches the payload")]
    BadSignature,
    /// The timestamp is outside the tolerance (a replay).
    #[error("the event timestamp is outside the tolerance")]
    Stale,
    /// The payload is not a JSON object.
    #[error("the event payload is not JSON")]
    NotJson,
}

/// A created Checkout Session.
#[derive(Clone, Debug, PartialEq)]
pub struct StripeSession {
    /// `cs_...`.
    pub id: String,
    /// The hosted page the browser goes to.
    pub url: String,
    /// The session object.
    pub raw: Value,
}

/// The Stripe client: cheap to clone.
#[derive(Clone, Debug)]
pub struct StripeClient {
    http: reqwest::Client,
    settings: StripeSettings,
}

impl StripeClient {
    /// A client for these settings.
    pub fn new(settings: StripeSettings) -> Result<Self, StripeError> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10).min(settings.timeout))
            .build()
            .map_err(|e| StripeError::Connection(e.to_string()))?;
        Ok(StripeClient { http, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &StripeSettings {
        &self.settings
    }

    fn key(&self) -> Result<&str, StripeError> {
        self.settings
            .api_key
            .as_deref()
            .ok_or(StripeError::NotConfigured(
                "MITOL_PAYMENT_GATEWAY_STRIPE_API_KEY",
            ))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, StripeError> {
        let response = request.bearer_auth(self.key()?).send().await.map_err(|e| {
            if e.is_timeout() || e.is_connect() || e.is_request() {
                StripeError::Connection(e.to_string())
            } else {
                StripeError::Decode(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| StripeError::Connection(e.to_string()))?;
        let body: Option<Value> = serde_json::from_str(&text).ok();
        if (200..300).contains(&status) {
            return body.ok_or_else(|| StripeError::Decode("answer is not JSON".into()));
        }
        let message = body
            .as_ref()
            .and_then(|b| b.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| text.chars().take(500).collect());
        Err(StripeError::Http { status, message })
    }

    /// Creates a hosted Checkout Session for an order: `client_reference_id` = the order
    /// reference, one line per `(name, unit amount in cents)`, USD, tax-inclusive, mode
    /// `payment`.
    pub async fn create_checkout_session(
        &self,
        reference: &str,
        lines: &[(String, i64)],
        success_url: &str,
        cancel_url: &str,
    ) -> Result<StripeSession, StripeError> {
        let mut form: Vec<(String, String)> = vec![
            ("mode".into(), "payment".into()),
            ("client_reference_id".into(), reference.to_owned()),
            ("success_url".into(), success_url.to_owned()),
            ("cancel_url".into(), cancel_url.to_owned()),
        ];
        for (i, (name, cents)) in lines.iter().enumerate() {
            let key = |k: &str| format!("line_items[{i}]{k}");
            form.push((key("[quantity]"), "1".into()));
            form.push((key("[price_data][currency]"), "usd".into()));
            form.push((key("[price_data][unit_amount_decimal]"), cents.to_string()));
            form.push((key("[price_data][tax_behavior]"), "inclusive".into()));
            form.push((key("[price_data][product_data][name]"), name.clone()));
        }
        let url = format!("{}/v1/checkout/sessions", self.settings.api_base_url);
        let raw = self.send(self.http.post(url).form(&form)).await?;
        let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
        match (text("id"), text("url")) {
            (Some(id), Some(url)) => Ok(StripeSession { id, url, raw }),
            _ => Err(StripeError::Decode("session without id or url".into())),
        }
    }

    /// Retrieves a Checkout Session with its PaymentIntent expanded.
    pub async fn retrieve_checkout_session(&self, id: &str) -> Result<Value, StripeError> {
        let id: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let url = format!("{}/v1/checkout/sessions/{id}", self.settings.api_base_url);
        self.send(self.http.get(url).query(&[("expand[]", "payment_intent")]))
            .await
    }
}

/// The three inputs of [`mitx_core::orders::stripe_session_status`] read from a session
/// object: `status`, `payment_status` and the expanded PaymentIntent's `status` (none when
/// the session has no PaymentIntent or it is not expanded).
pub fn session_status_fields(session: &Value) -> (String, String, Option<String>) {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    let intent = session
        .get("payment_intent")
        .filter(|v| v.is_object())
        .map(|pi| text(pi.get("status")));
    (
        text(session.get("status")),
        text(session.get("payment_status")),
        intent,
    )
}

/// Verifies a webhook request as Stripe documents it: the header's `t` and every `v1`;
/// the expected signature is hex HMAC-SHA256 of `"{t}.{payload}"` keyed with an endpoint
/// secret; any secret and any `v1` may match; `t` must be within the tolerance of `now`
/// (Unix seconds). Returns the event.
pub fn verify_webhook(
    payload: &[u8],
    header: Option<&str>,
    secrets: &[String],
    now: i64,
) -> Result<Value, WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let header = header.ok_or(WebhookError::MalformedHeader)?;
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<&str> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let t = timestamp.ok_or(WebhookError::MalformedHeader)?;
    let t_secs: i64 = t.parse().map_err(|_| WebhookError::MalformedHeader)?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedHeader);
    }
    let mut signed = Vec::with_capacity(t.len() + 1 + payload.len());
    signed.extend_from_slice(t.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(payload);
    let matched = secrets.iter().any(|secret| {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        signatures.iter().any(|sig| {
            decode_hex(sig).is_some_and(|tag| ring::hmac::verify(&key, &signed, &tag).is_ok())
        })
    });
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    if (now - t_secs).abs() > WEBHOOK_TOLERANCE_SECONDS {
        return Err(WebhookError::Stale);
    }
    let event: Value = serde_json::from_slice(payload).map_err(|_| WebhookError::NotJson)?;
    if event.is_object() {
        Ok(event)
    } else {
        Err(WebhookError::NotJson)
    }
}

/// A `Stripe-Signature` header for `payload` signed at `t` with `secret` (tests and the
/// fake).
pub fn sign_webhook(payload: &[u8], t: i64, secret: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = t.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(payload);
    let tag = ring::hmac::sign(&key, &signed);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_are_checked() {
        let payload = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
        let secrets = vec!["whsec_old".to_owned(), "whsec_new".to_owned()];
        let header = sign_webhook(payload, 1_000, "whsec_new");
        assert!(verify_webhook(payload, Some(&header), &secrets, 1_100).is_ok());
        // Several v1 values: any may match.
        let two = format!("{},v1=00ff", header);
        assert!(verify_webhook(payload, Some(&two), &secrets, 1_000).is_ok());
        assert_eq!(
            verify_webhook(payload, Some(&header), &secrets, 1_301),
            Err(WebhookError::Stale)
        );
        let other = sign_webhook(payload, 1_000, "whsec_other");
        assert_eq!(
            verify_webhook(payload, Some(&other), &secrets, 1_000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_webhook(b"{}", Some(&header), &secrets, 1_000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_webhook(payload, Some("v1=abc"), &secrets, 1_000),
            Err(WebhookError::MalformedHeader)
        );
        assert_eq!(
            verify_webhook(payload, None, &secrets, 1_000),
            Err(WebhookError::MalformedHeader)
        );
        assert_eq!(
            verify_webhook(payload, Some(&header), &[], 1_000),
            Err(WebhookError::NoSecret)
        );
    }

    #[test]
    fn session_fields_read_the_expanded_intent() {
        let session = serde_json::json!({"status": "complete", "payment_status": "paid",
            "payment_intent": {"id": "pi_1", "status": "succeeded"}});
        assert_eq!(
            session_status_fields(&session),
            ("complete".into(), "paid".into(), Some("succeeded".into()))
        );
        let unexpanded = serde_json::json!({"status": "open", "payment_status": "unpaid",
            "payment_intent": "pi_1"});
        assert_eq!(session_status_fields(&unexpanded).2, None);
    }
}
