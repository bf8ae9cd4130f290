//! Request bodies as DRF parses them: JSON objects or HTML forms
//! (`application/x-www-form-urlencoded`), with DRF's field error messages. Every failure is
//! a 400 with a JSON body; nothing here panics on any input.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value, json};

use crate::ApiError;

/// Whether the body is an HTML form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space); `None` when
/// the bytes are not UTF-8 after decoding.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The first value of `key` in a form body.
pub fn form_value(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| form_decode(k).as_deref() == Some(key))
        .and_then(|(_, v)| form_decode(v))
}

/// Every value of `key` in a form-encoded text (query strings repeat keys), in order.
pub fn form_values(text: &str, key: &str) -> Vec<String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .filter(|(k, _)| form_decode(k).as_deref() == Some(key))
        .filter_map(|(_, v)| form_decode(v))
        .collect()
}

/// Whether a form body has `key` at all.
pub fn form_has(body: &[u8], key: &str) -> bool {
    std::str::from_utf8(body).is_ok_and(|text| {
        text.split('&')
            .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
            .any(|k| form_decode(k).as_deref() == Some(key))
    })
}

/// A JSON body that must be an object (an empty body is an empty object).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequestBody(json!({
            "errors": { "non_field_errors": [format!("JSON parse error - {e}")] }
        }))
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => {
            let kind = match other {
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Number(_) => "int",
                Value::Bool(_) => "bool",
                _ => "NoneType",
            };
            Err(ApiError::BadRequestBody(json!({
                "errors": {
                    "non_field_errors": [format!("Invalid data. Expected a dictionary, but got {kind}.")]
                }
            })))
        }
    }
}

/// The raw value of `field` from a JSON or form body.
pub fn field(headers: &HeaderMap, body: &[u8], field: &str) -> Result<Option<Value>, ApiError> {
    if is_form(headers) {
        Ok(form_value(body, field).map(Value::String))
    } else {
        Ok(json_object(body)?.remove(field))
    }
}

/// `{"errors": {field: [message]}}`.
pub fn field_error(field: &str, message: &str) -> ApiError {
    let mut map = BTreeMap::new();
    map.insert(field.to_owned(), json!([message]));
    ApiError::Validation(map)
}

/// A required integer field (DRF `IntegerField`).
pub fn required_int(raw: Option<Value>, field: &str) -> Result<i64, ApiError> {
    let invalid = || field_error(field, "A valid integer is required.");
    match raw {
        None | Some(Value::Null) => Err(field_error(field, "This field is required.")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(invalid),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(field_error(field, "This field is required."))
        }
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

/// A required boolean field (DRF `BooleanField`).
pub fn required_bool(raw: Option<Value>, field: &str) -> Result<bool, ApiError> {
    let invalid = || field_error(field, "Must be a valid boolean.");
    match raw {
        None | Some(Value::Null) => Err(field_error(field, "This field is required.")),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(1) => Ok(true),
            Some(0) => Ok(false),
            _ => Err(invalid()),
        },
        Some(Value::String(s)) => match s.trim() {
            "true" | "True" | "TRUE" | "1" | "on" | "yes" => Ok(true),
            "false" | "False" | "FALSE" | "0" | "off" | "no" => Ok(false),
            _ => Err(invalid()),
        },
        Some(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        assert_eq!(form_value(b"run=12&x=1", "run").as_deref(), Some("12"));
        assert_eq!(form_value(b"a=1&run=%31%32", "run").as_deref(), Some("12"));
        assert_eq!(form_value(b"run=a+b", "run").as_deref(), Some("a b"));
        assert_eq!(form_value(b"run", "run").as_deref(), Some(""));
        assert_eq!(form_value(b"run=%", "run").as_deref(), Some("%"));
        assert_eq!(form_value(b"run=%zz", "run").as_deref(), Some("%zz"));
        assert_eq!(form_value(b"run=%ff", "run"), None);
        assert_eq!(form_value(b"other=1", "run"), None);
        assert!(form_has(b"run=1&isapi", "isapi"));
        assert!(!form_has(b"run=1", "isapi"));
    }

    #[test]
    fn integers_and_booleans_follow_drf() {
        assert_eq!(required_int(Some(json!(5)), "x").ok(), Some(5));
        assert_eq!(required_int(Some(json!(" 7 ")), "x").ok(), Some(7));
        assert!(required_int(Some(json!(1.5)), "x").is_err());
        assert!(required_int(Some(json!("abc")), "x").is_err());
        assert!(required_int(Some(json!([1])), "x").is_err());
        assert!(required_int(None, "x").is_err());
        assert_eq!(required_bool(Some(json!("on")), "x").ok(), Some(true));
        assert_eq!(required_bool(Some(json!(false)), "x").ok(), Some(false));
        assert!(required_bool(Some(json!("maybe")), "x").is_err());
        assert!(required_bool(None, "x").is_err());
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(json_object(b"").is_ok_and(|m| m.is_empty()));
        assert!(json_object(b"{").is_err());
        assert!(json_object(b"[]").is_err());
        assert!(json_object(b"{\"a\":1}").is_ok_and(|m| m.len() == 1));
    }
}
