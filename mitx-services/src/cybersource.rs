//! CyberSource Secure Acceptance (ecommerce spec 5.2): the signed checkout form and the
//! verification of the signed fields CyberSource posts back.
//!
//! The signature is `Base64(HMAC-SHA256(security key, "name=value,..."))` over the fields
//! named in `signed_field_names`, in that order. Checkout signs every field it sends
//! (names sorted by byte value, `signed_field_names` itself included); a callback is
//! checked over the names *it* lists, in the order given.

use std::collections::BTreeMap;

use base64::Engine as _;
use ring::hmac;

/// The name of the field listing the signed names.
pub const SIGNED_FIELD_NAMES: &str = "signed_field_names";
/// The name of the signature field.
pub const SIGNATURE: &str = "signature";

/// The message the signature covers: `name=value` for each name, joined with `,`.
/// `None` when a listed field is missing.
fn message<'a>(
    names: impl Iterator<Item = &'a str>,
    value: impl Fn(&str) -> Option<&'a str>,
) -> Option<String> {
    let mut parts = Vec::new();
    for name in names {
        parts.push(format!("{name}={}", value(name)?));
    }
    Some(parts.join(","))
}

fn hmac_base64(key: &str, message: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, message.as_bytes()))
}

/// Signs `fields` in place: adds `signed_field_names` (every field name, itself included,
/// sorted by byte value) and `signature`.
pub fn sign(fields: &mut BTreeMap<String, String>, security_key: &str) {
    fields.remove(SIGNATURE);
    fields.insert(SIGNED_FIELD_NAMES.to_owned(), String::new());
    // BTreeMap<String, _> iterates in byte order, the order the signature needs.
    let names = fields.keys().cloned().collect::<Vec<_>>().join(",");
    fields.insert(SIGNED_FIELD_NAMES.to_owned(), names);
    let signed = message(fields.keys().map(String::as_str), |n| {
        fields.get(n).map(String::as_str)
    })
    .unwrap_or_default();
    let signature = hmac_base64(security_key, &signed);
    fields.insert(SIGNATURE.to_owned(), signature);
}

/// Whether posted fields carry a valid signature: the names listed in
/// `signed_field_names`, in the order given, rebuilt into the message; a missing
/// `signature`, `signed_field_names` or listed field is invalid. The comparison runs in
/// constant time.
pub fn verify(posted: &dyn Fn(&str) -> Option<String>, security_key: &str) -> bool {
    let (Some(names), Some(signature)) = (posted(SIGNED_FIELD_NAMES), posted(SIGNATURE)) else {
        return false;
    };
    let values: BTreeMap<&str, String> = names
        .split(',')
        .filter_map(|n| Some((n, posted(n)?)))
        .collect();
    let Some(signed) = message(names.split(','), |n| values.get(n).map(String::as_str)) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, security_key.as_bytes());
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    hmac::verify(&key, signed.as_bytes(), &expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s40_signing_sorts_names_and_includes_signed_field_names() {
        let mut fields: BTreeMap<String, String> = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        sign(&mut fields, "k");
        assert_eq!(fields["signed_field_names"], "a,b,signed_field_names");
        assert_eq!(
            fields["signature"],
            "501jrgE49jQwh3lsybjcu1/oP+7FN1A6bbSl9Nfg5g0="
        );
        let lookup = |n: &str| fields.get(n).cloned();
        assert!(verify(&lookup, "k"));
        assert!(!verify(&lookup, "other"));
    }

    fn s41_fields(signature: &str) -> BTreeMap<String, String> {
        [
            (
                "signed_field_names",
                "transaction_id,decision,req_reference_number,reason_code,signed_field_names",
            ),
            ("transaction_id", "7000000000000000000001"),
            ("decision", "ACCEPT"),
            ("req_reference_number", "mitxonline-prod-1001"),
            ("reason_code", "100"),
            ("signature", signature),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn s41_callbacks_verify_in_the_posted_order() {
        let good = s41_fields("zabxqrL4MqWhlfFhixQiyspxMNiKgQ6mi6ttIDSnAyA=");
        assert!(verify(&|n: &str| good.get(n).cloned(), "test-secret-key"));
        let bad = s41_fields("zabxqrL4MqWhlfFhixQiyspxMNiKgQ6mi6ttIDSnAyB=");
        assert!(!verify(&|n: &str| bad.get(n).cloned(), "test-secret-key"));
        let mut missing = s41_fields("zabxqrL4MqWhlfFhixQiyspxMNiKgQ6mi6ttIDSnAyA=");
        missing.remove("reason_code");
        assert!(!verify(
            &|n: &str| missing.get(n).cloned(),
            "test-secret-key"
        ));
        let mut unsigned = good.clone();
        unsigned.remove("signature");
        assert!(!verify(
            &|n: &str| unsigned.get(n).cloned(),
            "test-secret-key"
        ));
        let mut tampered = good.clone();
        tampered.insert("decision".into(), "DECLINE".into());
        assert!(!verify(
            &|n: &str| tampered.get(n).cloned(),
            "test-secret-key"
        ));
    }
}
