//! Verifiable credentials (courses spec 3.8) and learner records (3.9).

use base64::Engine as _;

use super::{ConfigError, Env};

/// An Ed25519 private key seed (32 bytes). Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSeed(pub [u8; 32]);

impl std::fmt::Debug for SigningSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSeed(***)")
    }
}

impl SigningSeed {
    /// 64 hex digits, or base64 (standard or URL-safe, padded or not) of 32 bytes.
    pub fn parse(text: &str) -> Option<SigningSeed> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()?
        } else {
            let trimmed = text.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(trimmed)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
                .ok()?
        };
        <[u8; 32]>::try_from(bytes.as_slice()).ok().map(SigningSeed)
    }
}

/// How credentials are built and signed, and how records are shared.
#[derive(Clone)]
pub struct CredentialSettings {
    /// `VERIFIABLE_CREDENTIAL_SIGNER_URL`: the external signer (takes precedence over the
    /// signing key).
    pub signer_url: Option<String>,
    /// `VERIFIABLE_CREDENTIAL_BEARER_TOKEN`.
    pub bearer_token: Option<String>,
    /// `VERIFIABLE_CREDENTIAL_DID`: the issuer's `did:key` method-specific id used with the
    /// external signer.
    pub issuer_did: Option<String>,
    /// `MIT_LEARN_BASE_URL`: base of achievement ids.
    pub learn_base_url: String,
    /// `MITX_CREDENTIAL_SIGNING_KEY`: mitx signs credentials itself (VC-JWT, EdDSA) when
    /// no signer URL is set.
    pub signing_key: Option<SigningSeed>,
    /// `ENABLE_PROGRAM_SPECIFIC_PATHWAY_SCHOOLS`: records offer only the schools linked to
    /// the program.
    pub program_specific_pathway_schools: bool,
}

impl std::fmt::Debug for CredentialSettings {
    // The token and the key never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialSettings")
            .field("signer_url", &self.signer_url)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "***"))
            .field("issuer_did", &self.issuer_did)
            .field("learn_base_url", &self.learn_base_url)
            .field("signing_key", &self.signing_key)
            .field(
                "program_specific_pathway_schools",
                &self.program_specific_pathway_schools,
            )
            .finish()
    }
}

impl CredentialSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let signing_key = match env.optional("MITX_CREDENTIAL_SIGNING_KEY")? {
            None => None,
            Some(text) => Some(SigningSeed::parse(&text).ok_or_else(|| {
                env.error(
                    "MITX_CREDENTIAL_SIGNING_KEY",
                    "must be an Ed25519 seed: 32 bytes as 64 hex digits or base64",
                )
            })?),
        };
        Ok(CredentialSettings {
            signer_url: env.url("VERIFIABLE_CREDENTIAL_SIGNER_URL")?,
            bearer_token: env.optional("VERIFIABLE_CREDENTIAL_BEARER_TOKEN")?,
            issuer_did: env.optional("VERIFIABLE_CREDENTIAL_DID")?,
            learn_base_url: env.required_url("MIT_LEARN_BASE_URL")?,
            signing_key,
            program_specific_pathway_schools: env
                .flag("ENABLE_PROGRAM_SPECIFIC_PATHWAY_SCHOOLS")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SigningSeed;

    #[test]
    fn seeds_parse_from_hex_and_base64_and_hide_in_debug() {
        let hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let seed = SigningSeed::parse(hex).unwrap();
        assert_eq!(seed.0[0], 0x9d);
        let b64 = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
        assert_eq!(SigningSeed::parse(b64), Some(seed.clone()));
        assert_eq!(
            SigningSeed::parse(b64.trim_end_matches('=')),
            Some(seed.clone())
        );
        assert_eq!(format!("{seed:?}"), "SigningSeed(***)");
        assert_eq!(SigningSeed::parse("abcd"), None);
    }
}
