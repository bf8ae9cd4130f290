//! What `mitx serve --demo` needs from the services: the demo learner's gateway claims and
//! transaction ids of the stand-in payment page.

use base64::Engine as _;

use crate::course_certificates::random_uuid;

/// The `X-Userinfo` value (base64 JSON claims) of the demo learner `username`, with a
/// subject derived from the username so signing in again finds the same learner.
pub fn demo_userinfo(username: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, username.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    let sub = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let claims = serde_json::json!({
        "sub": sub.to_string(),
        "preferred_username": username,
        "email": format!("{username}@example.com"),
        "name": username,
    });
    base64::engine::general_purpose::STANDARD.encode(claims.to_string())
}

/// A transaction id for the demo payment page's replies (unique per reply).
pub fn demo_transaction_id() -> String {
    format!("demo-{}", random_uuid().simple())
}

/// A Secure Acceptance key for one demo process (the demo page signs with it, checkout
/// and the callbacks verify with it).
pub fn demo_security_key() -> String {
    format!("{}{}", random_uuid().simple(), random_uuid().simple())
}
