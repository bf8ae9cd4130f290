//! The exchange-rate refresh job's pure parts (pricing-and-b2b spec 4.1): the API URL,
//! response classification and the rows that replace the table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Currencies never stored, whatever the API returns.
pub const DISALLOWED_CURRENCIES: [&str; 5] = ["CUP", "CUC", "IRR", "SYP", "KPW"];

/// Why the refresh failed (the table is left unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeRateError {
    /// `OPEN_EXCHANGE_RATES_URL` or `OPEN_EXCHANGE_RATES_APP_ID` is empty.
    #[error(
        "Currency exchange API URL cannot be determined. Ensure that the OPEN_EXCHANGE_RATES_URL setting and the OPEN_EXCHANGE_RATES_APP_ID setting are both set."
    )]
    NotConfigured,
    /// HTTP 429 on `latest.json`; carries the body's `description`.
    #[error("Exceeded API calls: {0}")]
    ExceededApiCalls(String),
    /// Any other non-200 status on `latest.json`; carries the body's `description`.
    #[error("Unexpected API error: {0}")]
    UnexpectedApiError(String),
}

/// One row of the rebuilt table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRateRow {
    /// Currency code (3 letters).
    pub currency_code: String,
    /// From `currencies.json`, or null.
    pub description: Option<String>,
    /// Foreign units per 1 USD.
    pub exchange_rate: f64,
}

/// `urljoin(base, "{endpoint}?app_id={quote_plus(app_id)}")`; either setting empty →
/// [`ExchangeRateError::NotConfigured`].
pub fn exchange_rates_url(
    base: &str,
    app_id: &str,
    endpoint: &str,
) -> Result<String, ExchangeRateError> {
    if base.is_empty() || app_id.is_empty() {
        return Err(ExchangeRateError::NotConfigured);
    }
    let reference = format!("{endpoint}?app_id={}", quote_plus(app_id));
    Ok(format!("{}{reference}", url_directory(base)))
}

/// The part of `base` a relative reference is joined to (Python's `urljoin`): everything
/// up to and including the last `/` of the path, or the authority plus `/` when the path
/// is empty. So a base without trailing slash loses its last segment, as in Python.
fn url_directory(base: &str) -> String {
    let path_start = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|after| base[after..].find('/').map(|j| after + j));
    match path_start {
        Some(start) => {
            // The path starts with '/', so a last '/' at or after `start` always exists.
            let last = base[start..].rfind('/').map_or(start, |j| start + j);
            base[..=last].to_owned()
        }
        None => format!("{base}/"),
    }
}

/// Python's `urllib.parse.quote_plus`: unreserved characters kept, space → `+`, every
/// other byte percent-encoded.
fn quote_plus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Whether a `currencies.json` answer is used for descriptions: only when its HTTP
/// status is below 400 (an error status is silently ignored).
pub fn descriptions_usable(status: u16) -> bool {
    status < 400
}

/// Classifies the `latest.json` answer: 200 is fine, 429 is "exceeded API calls", any
/// other status an unexpected API error; both carry the body's `description`.
pub fn check_latest_response(status: u16, description: &str) -> Result<(), ExchangeRateError> {
    match status {
        200 => Ok(()),
        429 => Err(ExchangeRateError::ExceededApiCalls(description.to_owned())),
        _ => Err(ExchangeRateError::UnexpectedApiError(
            description.to_owned(),
        )),
    }
}

/// The rows replacing the whole table (the store deletes every row and inserts these in
/// one transaction): one per rate except [`DISALLOWED_CURRENCIES`], with the description
/// of the same code or null.
pub fn plan_exchange_rate_refresh(
    rates: &BTreeMap<String, f64>,
    descriptions: &BTreeMap<String, String>,
) -> Vec<ExchangeRateRow> {
    rates
        .iter()
        .filter(|(code, _)| !DISALLOWED_CURRENCIES.contains(&code.as_str()))
        .map(|(code, rate)| ExchangeRateRow {
            currency_code: code.clone(),
            description: descriptions.get(code).cloned(),
            exchange_rate: *rate,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_building() {
        assert_eq!(
            exchange_rates_url(
                "https://openexchangerates.org/api/",
                "fake ID/1",
                "latest.json"
            )
            .unwrap(),
            "https://openexchangerates.org/api/latest.json?app_id=fake+ID%2F1"
        );
        assert_eq!(
            exchange_rates_url("https://example.com/api", "x", "currencies.json").unwrap(),
            "https://example.com/currencies.json?app_id=x"
        );
        assert_eq!(
            exchange_rates_url("https://example.com", "x", "latest.json").unwrap(),
            "https://example.com/latest.json?app_id=x"
        );
        assert_eq!(
            exchange_rates_url("", "x", "latest.json"),
            Err(ExchangeRateError::NotConfigured)
        );
    }

    #[test]
    fn latest_response_classification() {
        assert_eq!(check_latest_response(200, ""), Ok(()));
        assert_eq!(
            check_latest_response(429, "Too many"),
            Err(ExchangeRateError::ExceededApiCalls("Too many".into()))
        );
        assert!(matches!(
            check_latest_response(401, "bad key"),
            Err(ExchangeRateError::UnexpectedApiError(_))
        ));
        assert!(descriptions_usable(200));
        assert!(!descriptions_usable(404));
    }
}
