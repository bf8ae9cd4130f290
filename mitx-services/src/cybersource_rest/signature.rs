//! CyberSource REST "HTTP Signature" authentication, as CyberSource documents it: every
//! request carries `v-c-merchant-id`, `date` (RFC 1123), `host`, for a body
//! `digest: SHA-256=<base64 SHA-256 of the body>`, and
//! `signature: keyid="<key id>", algorithm="HmacSHA256", headers="<names>",
//! signature="<base64 HMAC-SHA256>"`. The HMAC covers the named headers as
//! `name: value` lines joined by `\n`, in the order `headers` lists them, keyed with the
//! base64-decoded shared secret.
//!
//! `request-target` (`<lower-case method> <path?query>`) is written without parentheses:
//! CyberSource stopped accepting the draft-cavage `(request-target)` form in April 2024.
//! The signer and the fake's verifier share this module, so they cannot drift apart.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The algorithm name CyberSource expects.
pub const ALGORITHM: &str = "HmacSHA256";
/// The signed headers of a request with a body.
pub const HEADERS_WITH_BODY: &str = "host date request-target digest v-c-merchant-id";
/// The signed headers of a request without a body (GET).
pub const HEADERS_WITHOUT_BODY: &str = "host date request-target v-c-merchant-id";

/// The shared secret as bytes, `None` when it is not base64.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.trim())
        .ok()
        .filter(|b| !b.is_empty())
}

/// `SHA-256=<base64 digest>` of a body.
pub fn digest(body: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, body);
    format!("SHA-256={}", STANDARD.encode(hash.as_ref()))
}

/// An HTTP date (RFC 1123, always GMT).
pub fn http_date(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `<lower-case method> <path and query>`.
pub fn request_target(method: &str, path_and_query: &str) -> String {
    format!("{} {path_and_query}", method.to_ascii_lowercase())
}

/// The text the HMAC covers: `name: value` per named header, joined with `\n`. `value_of`
/// gives each header's value (`request-target` included); a missing one is `None`.
pub fn signing_string(headers: &str, value_of: impl Fn(&str) -> Option<String>) -> Option<String> {
    let lines: Option<Vec<String>> = headers
        .split_whitespace()
        .map(|name| value_of(name).map(|value| format!("{name}: {value}")))
        .collect();
    lines.map(|l| l.join("\n"))
}

/// Base64 HMAC-SHA256 of `text` keyed with the decoded secret.
pub fn sign(secret: &[u8], text: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    STANDARD.encode(ring::hmac::sign(&key, text.as_bytes()).as_ref())
}

/// Whether `signature` (base64) is the HMAC of `text`, compared in constant time.
pub fn verify(secret: &[u8], text: &str, signature: &str) -> bool {
    let Ok(tag) = STANDARD.decode(signature) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, text.as_bytes(), &tag).is_ok()
}

/// The `signature` header's value.
pub fn signature_header(key_id: &str, headers: &str, signature: &str) -> String {
    format!(
        "keyid=\"{key_id}\", algorithm=\"{ALGORITHM}\", headers=\"{headers}\", signature=\"{signature}\""
    )
}

/// The parameters of a `signature` header (`keyid`, `algorithm`, `headers`, `signature`).
pub fn parse_signature_header(value: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let name = name
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (val, tail) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, tail)) => (v.to_owned(), tail),
                None => (quoted.to_owned(), ""),
            },
            None => match after.split_once(',') {
                Some((v, tail)) => (v.trim().to_owned(), tail),
                None => (after.trim().to_owned(), ""),
            },
        };
        out.insert(name, val);
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_signature_follow_the_documented_scheme() {
        // SHA-256 of the empty body.
        assert_eq!(
            digest(b""),
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let secret = decode_secret("c2VjcmV0").unwrap();
        assert_eq!(secret, b"secret");
        let text = signing_string(HEADERS_WITH_BODY, |name| {
            Some(
                match name {
                    "host" => "apitest.cybersource.com",
                    "date" => "Thu, 18 Jul 2019 00:18:03 GMT",
                    "request-target" => "post /pts/v2/payments/",
                    "digest" => "SHA-256=abc",
                    "v-c-merchant-id" => "testrest",
                    _ => return None,
                }
                .to_owned(),
            )
        })
        .unwrap();
        assert_eq!(
            text,
            "host: apitest.cybersource.com\ndate: Thu, 18 Jul 2019 00:18:03 GMT\nrequest-target: post /pts/v2/payments/\ndigest: SHA-256=abc\nv-c-merchant-id: testrest"
        );
        let sig = sign(&secret, &text);
        assert!(verify(&secret, &text, &sig));
        assert!(!verify(b"other", &text, &sig));
        let header = signature_header("key-1", HEADERS_WITH_BODY, &sig);
        let parsed = parse_signature_header(&header);
        assert_eq!(parsed["keyid"], "key-1");
        assert_eq!(parsed["algorithm"], "HmacSHA256");
        assert_eq!(parsed["headers"], HEADERS_WITH_BODY);
        assert_eq!(parsed["signature"], sig);
        let when = chrono::DateTime::parse_from_rfc3339("2019-07-18T00:18:03Z")
            .unwrap()
            .to_utc();
        assert_eq!(http_date(when), "Thu, 18 Jul 2019 00:18:03 GMT");
    }
}
