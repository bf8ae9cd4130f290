//! The CyberSource REST API client (ecommerce spec 5.5, 5.6): refunds
//! (`POST /pts/v2/payments/{id}/refunds`), transaction search (`POST /tss/v2/searches`) and
//! transaction details (`GET /tss/v2/transactions/{id}`), authenticated with CyberSource's
//! HTTP Signature scheme ([`signature`]). The base URL comes from the settings, so tests
//! point it at [`fake::FakeCyberSource`].
//!
//! The client never runs inside a database transaction: the refund and resolution
//! workflows call it before their unit of work.

#[cfg(any(feature = "testing", feature = "fake-payments"))]
pub mod fake;
pub mod signature;

use std::time::Duration;

use mitx_core::orders::{GatewayRefundRequest, PaymentData, RefundGatewayResponse};
use serde_json::{Map, Value, json};

use crate::config::CyberSourceRestSettings;
pub use signature::decode_secret;

/// Why a CyberSource REST call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CyberSourceRestError {
    /// A setting the call needs is empty.
    #[error("the CyberSource REST API is not configured: {0} is not set")]
    NotConfigured(&'static str),
    /// CyberSource answered with an error status.
    #[error("CyberSource answered {status}: {body}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The body (truncated).
        body: String,
    },
    /// CyberSource could not be reached (refused, reset, timed out).
    #[error("cannot reach CyberSource: {0}")]
    Connection(String),
    /// CyberSource answered something that is not the documented shape.
    #[error("unexpected answer from CyberSource: {0}")]
    Decode(String),
}

/// CyberSource's answer to a refund request, with its raw body (stored as the refund
/// transaction's data).
#[derive(Clone, Debug, PartialEq)]
pub struct RefundReply {
    /// The answer as the refund rules read it.
    pub response: RefundGatewayResponse,
    /// The JSON body.
    pub raw: Value,
}

/// What a transaction search found for one order reference: the newest transaction's
/// details rebuilt into the receipt-like payload the callbacks carry.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionRecord {
    /// The order reference (`clientReferenceInformation.code`).
    pub reference: String,
    /// The gateway's transaction id.
    pub transaction_id: String,
    /// The rebuilt payload (`reason_code`, `transaction_id`, `req_amount`, ...).
    pub payload: Map<String, Value>,
}

impl TransactionRecord {
    /// The payload flattened for the rules.
    pub fn payment_data(&self) -> PaymentData {
        flatten(&self.payload)
    }

    /// `reason_code` of the payload.
    pub fn reason_code(&self) -> String {
        self.payload
            .get("reason_code")
            .map(scalar_text)
            .unwrap_or_default()
    }
}

/// Top-level keys of a JSON object as text (numbers in their plain form; nested values as
/// JSON text).
pub fn flatten(object: &Map<String, Value>) -> PaymentData {
    object
        .iter()
        .map(|(k, v)| (k.clone(), scalar_text(v)))
        .collect()
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The CyberSource REST client: cheap to clone.
#[derive(Clone, Debug)]
pub struct CyberSourceRestClient {
    http: reqwest::Client,
    settings: CyberSourceRestSettings,
}

struct Credentials<'a> {
    merchant_id: &'a str,
    key_id: &'a str,
    secret: Vec<u8>,
}

impl CyberSourceRestClient {
    /// A client for these settings.
    pub fn new(settings: CyberSourceRestSettings) -> Result<Self, CyberSourceRestError> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10).min(settings.timeout))
            .build()
            .map_err(|e| CyberSourceRestError::Connection(e.to_string()))?;
        Ok(CyberSourceRestClient { http, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &CyberSourceRestSettings {
        &self.settings
    }

    fn credentials(&self) -> Result<Credentials<'_>, CyberSourceRestError> {
        let merchant_id =
            self.settings
                .merchant_id
                .as_deref()
                .ok_or(CyberSourceRestError::NotConfigured(
                    "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_ID",
                ))?;
        let key_id = self
            .settings
            .key_id
            .as_deref()
            .ok_or(CyberSourceRestError::NotConfigured(
                "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET_KEY_ID",
            ))?;
        let secret = self
            .settings
            .shared_secret
            .as_deref()
            .and_then(decode_secret)
            .ok_or(CyberSourceRestError::NotConfigured(
                "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET",
            ))?;
        Ok(Credentials {
            merchant_id,
            key_id,
            secret,
        })
    }

    /// The `host` header value of the base URL (`host[:port]`).
    fn host(&self) -> String {
        let rest = self
            .settings
            .base_url
            .split_once("://")
            .map_or(self.settings.base_url.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, h)| h)
            .to_owned()
    }

    /// Sends a signed request; `Ok((status, body))` for any answer, so callers can read
    /// CyberSource's error bodies.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), CyberSourceRestError> {
        let creds = self.credentials()?;
        let url = format!("{}{path}", self.settings.base_url);
        let host = self.host();
        // The signed date is the wall clock's: CyberSource refuses stale dates, whatever
        // clock the workflow runs on.
        let date = signature::http_date(chrono::Utc::now());
        let target = signature::request_target(method.as_str(), path);
        let body_text = body.map(Value::to_string);
        let digest = body_text
            .as_deref()
            .map(|b| signature::digest(b.as_bytes()));
        let headers = if digest.is_some() {
            signature::HEADERS_WITH_BODY
        } else {
            signature::HEADERS_WITHOUT_BODY
        };
        let text = signature::signing_string(headers, |name| match name {
            "host" => Some(host.clone()),
            "date" => Some(date.clone()),
            "request-target" => Some(target.clone()),
            "digest" => digest.clone(),
            "v-c-merchant-id" => Some(creds.merchant_id.to_owned()),
            _ => None,
        })
        .unwrap_or_default();
        let sig = signature::sign(&creds.secret, &text);
        let mut request = self
            .http
            .request(method, url)
            .header("host", &host)
            .header("date", &date)
            .header("v-c-merchant-id", creds.merchant_id)
            .header(
                "signature",
                signature::signature_header(creds.key_id, headers, &sig),
            )
            .header("accept", "application/hal+json;charset=utf-8");
        if let (Some(body), Some(digest)) = (body_text, digest) {
            request = request
                .header("digest", digest)
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() || e.is_connect() || e.is_request() {
                CyberSourceRestError::Connection(e.to_string())
            } else {
                CyberSourceRestError::Decode(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| CyberSourceRestError::Connection(e.to_string()))?;
        Ok((status, text))
    }

    fn http_error(status: u16, body: &str) -> CyberSourceRestError {
        CyberSourceRestError::Http {
            status,
            body: body.chars().take(2000).collect(),
        }
    }

    fn json(body: &str) -> Result<Value, CyberSourceRestError> {
        serde_json::from_str(body).map_err(|e| CyberSourceRestError::Decode(e.to_string()))
    }

    /// Refunds a captured payment (`POST /pts/v2/payments/{id}/refunds`). A success answer,
    /// or an error answer whose `reason` is `DUPLICATE_REQUEST`, comes back as a
    /// [`RefundReply`] for the refund rules to judge; any other failure is an error.
    pub async fn refund(
        &self,
        request: &GatewayRefundRequest,
    ) -> Result<RefundReply, CyberSourceRestError> {
        let body = json!({
            "clientReferenceInformation": {"transactionId": request.transaction_id},
            "orderInformation": {"amountDetails": {
                "totalAmount": request.amount.amount().round_dp(2).to_string(),
                "currency": request.currency,
            }},
        });
        let path = format!(
            "/pts/v2/payments/{}/refunds",
            path_segment(&request.transaction_id)
        );
        let (status, text) = self.send(reqwest::Method::POST, &path, Some(&body)).await?;
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        if (200..300).contains(&status) {
            let raw = parsed
                .ok_or_else(|| CyberSourceRestError::Decode("refund answer is not JSON".into()))?;
            let response = RefundGatewayResponse {
                status: field(&raw, "status").unwrap_or_default(),
                id: field(&raw, "id"),
                message: field(&raw, "message").unwrap_or_default(),
                error_reason: None,
            };
            return Ok(RefundReply { response, raw });
        }
        match parsed {
            Some(raw) if field(&raw, "reason").as_deref() == Some("DUPLICATE_REQUEST") => {
                let response = RefundGatewayResponse {
                    status: field(&raw, "status").unwrap_or_default(),
                    id: field(&raw, "id"),
                    message: field(&raw, "message").unwrap_or_default(),
                    error_reason: field(&raw, "reason"),
                };
                Ok(RefundReply { response, raw })
            }
            _ => Err(Self::http_error(status, &text)),
        }
    }

    /// Searches the transactions of these order references (`POST /tss/v2/searches`,
    /// newest first) and returns, per reference found, its newest transaction's details
    /// (`GET /tss/v2/transactions/{id}`) rebuilt as a receipt-like payload.
    pub async fn find_transactions(
        &self,
        references: &[String],
    ) -> Result<Vec<TransactionRecord>, CyberSourceRestError> {
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let query = references
            .iter()
            .map(|r| format!("clientReferenceInformation.code:{r}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let body = json!({
            "save": false,
            "name": "mitx pending order resolution",
            "timezone": "UTC",
            "query": query,
            "offset": 0,
            "limit": references.len().max(20),
            "sort": "submitTimeUtc:desc",
        });
        let (status, text) = self
            .send(reqwest::Method::POST, "/tss/v2/searches", Some(&body))
            .await?;
        if !(200..300).contains(&status) {
            return Err(Self::http_error(status, &text));
        }
        let answer = Self::json(&text)?;
        let summaries = answer
            .pointer("/_embedded/transactionSummaries")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out: Vec<TransactionRecord> = Vec::new();
        // Sorted newest first: the first summary of a reference is its newest.
        for summary in summaries {
            let (Some(id), Some(code)) = (
                summary.get("id").and_then(Value::as_str),
                summary
                    .pointer("/clientReferenceInformation/code")
                    .and_then(Value::as_str),
            ) else {
                continue;
            };
            if !references.iter().any(|r| r == code) || out.iter().any(|r| r.reference == code) {
                continue;
            }
            let details = self.transaction(id).await?;
            out.push(TransactionRecord {
                reference: code.to_owned(),
                transaction_id: id.to_owned(),
                payload: receipt_payload(id, code, &details),
            });
        }
        Ok(out)
    }

    /// One transaction's details (`GET /tss/v2/transactions/{id}`).
    pub async fn transaction(&self, id: &str) -> Result<Value, CyberSourceRestError> {
        let path = format!("/tss/v2/transactions/{}", path_segment(id));
        let (status, text) = self.send(reqwest::Method::GET, &path, None).await?;
        if !(200..300).contains(&status) {
            return Err(Self::http_error(status, &text));
        }
        Self::json(&text)
    }
}

/// Keeps an id to the characters a path segment may carry unescaped (gateway ids are
/// digits; anything else is dropped rather than allowed to change the path).
fn path_segment(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

/// Rebuilds the fields of a Secure Acceptance receipt from transaction details, so a
/// resolved order's transaction reads like one recorded from a callback.
pub fn receipt_payload(id: &str, reference: &str, details: &Value) -> Map<String, Value> {
    let text = |pointer: &str| -> Option<String> {
        details
            .pointer(pointer)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
    };
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            out.insert(key.to_owned(), Value::String(v));
        }
    };
    put("transaction_id", Some(id.to_owned()));
    put("req_reference_number", Some(reference.to_owned()));
    put("reason_code", text("/applicationInformation/reasonCode"));
    put(
        "req_amount",
        text("/orderInformation/amountDetails/totalAmount"),
    );
    put(
        "auth_amount",
        text("/orderInformation/amountDetails/authorizedAmount"),
    );
    put(
        "req_currency",
        text("/orderInformation/amountDetails/currency"),
    );
    put(
        "req_bill_to_forename",
        text("/orderInformation/billTo/firstName"),
    );
    put(
        "req_bill_to_surname",
        text("/orderInformation/billTo/lastName"),
    );
    put("req_bill_to_email", text("/orderInformation/billTo/email"));
    put(
        "req_bill_to_address_line1",
        text("/orderInformation/billTo/address1"),
    );
    put(
        "req_bill_to_address_line2",
        text("/orderInformation/billTo/address2"),
    );
    put(
        "req_bill_to_address_city",
        text("/orderInformation/billTo/locality"),
    );
    put(
        "req_bill_to_address_state",
        text("/orderInformation/billTo/administrativeArea"),
    );
    put(
        "req_bill_to_address_postal_code",
        text("/orderInformation/billTo/postalCode"),
    );
    put(
        "req_bill_to_address_country",
        text("/orderInformation/billTo/country"),
    );
    put(
        "req_card_number",
        text("/paymentInformation/card/suffix").map(|s| format!("xxxxxxxxxxxx{s}")),
    );
    put("req_card_type", text("/paymentInformation/card/type"));
    put(
        "req_payment_method",
        text("/paymentInformation/paymentType/name"),
    );
    if let Some(items) = details
        .pointer("/orderInformation/lineItems")
        .and_then(Value::as_array)
    {
        put("req_line_item_count", Some(items.len().to_string()));
        for (i, item) in items.iter().enumerate() {
            let field = |k: &str| item.get(k).map(scalar_text).filter(|s| !s.is_empty());
            put(&format!("req_item_{i}_code"), field("productCode"));
            put(&format!("req_item_{i}_name"), field("productName"));
            put(&format!("req_item_{i}_sku"), field("productSku"));
            put(&format!("req_item_{i}_quantity"), field("quantity"));
            put(&format!("req_item_{i}_unit_price"), field("unitPrice"));
            put(&format!("req_item_{i}_tax_amount"), field("taxAmount"));
        }
    }
    out
}
