//! Verifiable credentials (courses spec 3.8): the Open Badges 3.0 credential of a
//! certificate, signed by the external signer or by mitx itself, stored and linked to the
//! certificate by the [`jobs::CREDENTIAL_ISSUE`] job; the public verification of a
//! self-signed credential (signature against its `did:key`, then the certificate's
//! revocation); and the backfill of certificates without a credential.
//!
//! Self-signing is VC-JWT (VC 2.0 secured with JOSE, `alg` EdDSA), see
//! docs/decisions/0012-verifiable-credentials.md: the credential is the JWT payload and
//! the stored JSON is its `EnvelopedVerifiableCredential`.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use mitx_store::StoreError;
use mitx_store::catalog::CertificatePageRecord;
use mitx_store::certificates::{CertificateKind, CredentialFacts};
use mitx_store::jobs::JobRecord;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Services;
use crate::config::{CredentialSettings, SigningSeed};
use crate::error::{Fault, store_fault};
use crate::jobs::{self, CredentialJob, JobContext, JobOutcome};

/// How long the external signer may take.
pub const SIGNER_TIMEOUT: Duration = Duration::from_secs(10);

/// The media type prefix of an enveloped VC-JWT.
const ENVELOPE_PREFIX: &str = "data:application/vc+jwt,";

// ---------------------------------------------------------------------------------------
// Keys: did:key and base58btc
// ---------------------------------------------------------------------------------------

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58 (Bitcoin alphabet) of `bytes`.
pub fn base58_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    // Digits in base 58, least significant first.
    let mut digits: Vec<u8> = Vec::new();
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = "1".repeat(zeros);
    out.extend(digits.iter().rev().map(|d| BASE58[usize::from(*d)] as char));
    out
}

/// The bytes of a base58 (Bitcoin alphabet) text; none when a character is not base58.
pub fn base58_decode(text: &str) -> Option<Vec<u8>> {
    let zeros = text.bytes().take_while(|b| *b == b'1').count();
    let mut bytes: Vec<u8> = Vec::new(); // least significant first
    for c in text.bytes().skip(zeros) {
        let mut carry = BASE58.iter().position(|a| *a == c)? as u32;
        for byte in &mut bytes {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Some(out)
}

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed as a varint).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// `did:key:z…` of an Ed25519 public key (multibase base58btc of the multicodec key).
pub fn did_key(public_key: &[u8]) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(public_key);
    format!("did:key:z{}", base58_encode(&bytes))
}

/// The Ed25519 public key a `did:key` names (with or without a `#fragment`).
pub fn did_key_public_key(did: &str) -> Option<[u8; 32]> {
    let id = did.strip_prefix("did:key:z")?;
    let id = id.split('#').next()?;
    let bytes = base58_decode(id)?;
    let key = bytes.strip_prefix(&ED25519_PUB[..])?;
    <[u8; 32]>::try_from(key).ok()
}

/// mitx's own signing key.
#[derive(Debug)]
pub struct Signer {
    pair: ring::signature::Ed25519KeyPair,
}

impl Signer {
    /// The key of a seed; none if ring refuses it.
    pub fn new(seed: &SigningSeed) -> Option<Signer> {
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed.0)
            .ok()
            .map(|pair| Signer { pair })
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; 32] {
        use ring::signature::KeyPair as _;
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        key
    }

    /// The issuer: `did:key:z6Mk…`.
    pub fn did(&self) -> String {
        did_key(&self.public_key())
    }

    /// The verification method: `{did}#{multibase key}`.
    pub fn kid(&self) -> String {
        let did = self.did();
        let fragment = did.trim_start_matches("did:key:").to_owned();
        format!("{did}#{fragment}")
    }

    /// The compact JWS (VC-JWT) of `credential`.
    pub fn sign_jwt(&self, credential: &Value) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = json!({"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": self.kid()});
        let input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(credential.to_string())
        );
        let signature = self.pair.sign(input.as_bytes());
        format!("{input}.{}", b64.encode(signature.as_ref()))
    }
}

/// The JSON form of a VC-JWT: an `EnvelopedVerifiableCredential` (VC data model 2.0).
pub fn envelope(jwt: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": format!("{ENVELOPE_PREFIX}{jwt}"),
        "type": "EnvelopedVerifiableCredential",
    })
}

// ---------------------------------------------------------------------------------------
// The credential
// ---------------------------------------------------------------------------------------

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The issuer of credentials: mitx's own did:key when it signs, else
/// `did:key:{VERIFIABLE_CREDENTIAL_DID}`.
fn issuer_id(settings: &CredentialSettings, signer: Option<&Signer>) -> String {
    match (settings.signer_url.as_ref(), signer) {
        (None, Some(signer)) => signer.did(),
        _ => format!(
            "did:key:{}",
            settings.issuer_did.as_deref().unwrap_or_default()
        ),
    }
}

/// The Open Badges 3.0 credential of a certificate (courses spec 3.8), unsigned.
pub fn build_credential(
    facts: &CredentialFacts,
    kind: CertificateKind,
    page: &CertificatePageRecord,
    issuer: &str,
    learn_base_url: &str,
) -> Value {
    let certificate = &facts.certificate;
    let valid_from = rfc3339(certificate.issue_date);
    let (achievement_type, path, name) = match kind {
        CertificateKind::Course => ("Course", "courses", facts.subject_title.clone()),
        CertificateKind::Program => (
            "Program",
            "programs",
            if page.product_name.is_empty() {
                facts.subject_title.clone()
            } else {
                page.product_name.clone()
            },
        ),
    };
    let learner = &facts.learner_name;
    let mut achievement = json!({
        "id": format!("{learn_base_url}/{path}/{}", facts.readable_id),
        "type": ["Achievement"],
        "achievementType": achievement_type,
        "name": name,
        "description": format!(
            "{learner} has successfully completed all modules and earned a {achievement_type} Certificate in {name}."
        ),
        "criteria": {"narrative": page.verifiable_credential_criteria},
    });
    if let (Some(image), Some(map)) = (page.image.as_ref(), achievement.as_object_mut()) {
        map.insert(
            "image".into(),
            json!({"id": image, "type": "Image", "caption": name}),
        );
    }
    json!({
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://w3id.org/security/suites/ed25519-2020/v1",
        ],
        "id": format!("urn:uuid:{}", certificate.uuid),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {"id": issuer, "type": ["Profile"], "name": "MIT Learn"},
        "validFrom": valid_from,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "activityStartDate": facts.enrolled_on.map(rfc3339),
            "activityEndDate": valid_from,
            "identifier": [{
                "type": "IdentityObject",
                "identityHash": learner,
                "identityType": "name",
                "hashed": false,
            }],
            "achievement": achievement,
        },
    })
}

/// The credential's page, when it asks for a credential: `should_provision_verifiable_credential`
/// and non-empty criteria.
pub fn credential_page(facts: &CredentialFacts) -> Option<CertificatePageRecord> {
    let page: CertificatePageRecord =
        serde_json::from_value(facts.certificate.page_data.clone()?).ok()?;
    (page.should_provision_verifiable_credential
        && !page.verifiable_credential_criteria.trim().is_empty())
    .then_some(page)
}

/// The uuid of a credential id (`urn:uuid:…`).
pub fn credential_uuid(id: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(id.strip_prefix("urn:uuid:").unwrap_or(id)).ok()
}

// ---------------------------------------------------------------------------------------
// The job
// ---------------------------------------------------------------------------------------

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The signer could not be reached or answered an error status.
    #[error("signer: {0}")]
    Transient(String),
    /// The signer answered something that is not a credential.
    #[error("signer answered no usable credential: {0}")]
    Invalid(String),
}

/// POSTs the credential to the external signer; its answer.
async fn sign_remotely(
    settings: &CredentialSettings,
    url: &str,
    credential: &Value,
) -> Result<Value, SignError> {
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(SIGNER_TIMEOUT)
        .build()
        .map_err(|e| SignError::Transient(e.to_string()))?;
    let mut request = client.post(url).json(credential);
    if let Some(token) = &settings.bearer_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| SignError::Transient(crate::cause_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(SignError::Transient(format!("HTTP {status}")));
    }
    response
        .json::<Value>()
        .await
        .map_err(|e| SignError::Invalid(e.to_string()))
}

/// Runs a [`CredentialJob`]: builds, signs, stores and links the credential. A linked
/// credential, a page that asks for none, or no signer configured end the job with a
/// note; a signer failure is retried (the certificate is never touched).
pub(crate) async fn run_issue_job(
    services: &Services,
    _ctx: &JobContext,
    job: &JobRecord,
) -> JobOutcome {
    let payload: CredentialJob = match jobs::payload(job) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    match issue(services, &payload).await {
        Ok(IssueOutcome::Linked(uuid)) => {
            JobOutcome::Done(Some(format!("credential {uuid} linked")))
        }
        Ok(IssueOutcome::Skipped(why)) => JobOutcome::Done(Some(format!("skipped: {why}"))),
        Err(IssueError::Sign(SignError::Transient(why))) => JobOutcome::Retry(why),
        Err(IssueError::Store(err)) if err.is_transient() => JobOutcome::Retry(err.to_string()),
        Err(err) => JobOutcome::Fail(err.to_string()),
    }
}

/// What [`issue`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssueOutcome {
    /// The credential with this uuid was stored and linked.
    Linked(String),
    /// Nothing to do, and why.
    Skipped(String),
}

/// Why [`issue`] failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues the credential of one certificate (the job's work).
pub async fn issue(
    services: &Services,
    payload: &CredentialJob,
) -> Result<IssueOutcome, IssueError> {
    let kind = if payload.program {
        CertificateKind::Program
    } else {
        CertificateKind::Course
    };
    let Some(facts) = services
        .store()
        .credential_facts(kind, payload.certificate_id)
        .await?
    else {
        return Ok(IssueOutcome::Skipped(
            "the certificate no longer exists".into(),
        ));
    };
    if facts.certificate.credential.is_some() {
        return Ok(IssueOutcome::Skipped(
            "a credential is already linked".into(),
        ));
    }
    let Some(page) = credential_page(&facts) else {
        return Ok(IssueOutcome::Skipped(
            "the certificate page does not ask for a verifiable credential".into(),
        ));
    };
    let settings = &services.settings().credentials;
    let signer = settings.signing_key.as_ref().and_then(Signer::new);
    let issuer = issuer_id(settings, signer.as_ref());
    let credential = build_credential(&facts, kind, &page, &issuer, &settings.learn_base_url);
    let (signed, uuid) = match (&settings.signer_url, &signer) {
        (Some(url), _) => {
            let signed = sign_remotely(settings, url, &credential).await?;
            let uuid = signed
                .get("id")
                .and_then(Value::as_str)
                .and_then(credential_uuid)
                .ok_or_else(|| SignError::Invalid("no urn:uuid id".into()))?;
            (signed, uuid.to_string())
        }
        (None, Some(signer)) => (
            envelope(&signer.sign_jwt(&credential)),
            facts.certificate.uuid.clone(),
        ),
        (None, None) => {
            return Ok(IssueOutcome::Skipped(
                "no signer configured (VERIFIABLE_CREDENTIAL_SIGNER_URL or MITX_CREDENTIAL_SIGNING_KEY)".into(),
            ));
        }
    };
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let linked = tx
        .link_verifiable_credential(kind, payload.certificate_id, &uuid, &signed, now)
        .await?;
    if !linked {
        tx.rollback().await?;
        return Ok(IssueOutcome::Skipped(
            "a credential was linked meanwhile".into(),
        ));
    }
    tx.commit().await?;
    Ok(IssueOutcome::Linked(uuid))
}

// ---------------------------------------------------------------------------------------
// Backfill
// ---------------------------------------------------------------------------------------

/// What [`backfill`] queued.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BackfillReport {
    /// Jobs queued.
    pub queued: usize,
    /// Certificates whose job was already waiting.
    pub already_queued: usize,
    /// Credentials unlinked for re-issue (`--force`).
    pub unlinked: usize,
}

/// Queues the credential job of every non-revoked certificate of `kinds` (of one run or
/// program with `subject`) without a credential; with `force`, also of certificates that
/// have one, whose credential is unlinked first so the job issues a new one.
pub async fn backfill(
    services: &Services,
    kinds: &[CertificateKind],
    subject: Option<i64>,
    force: bool,
    dry_run: bool,
) -> Result<BackfillReport, StoreError> {
    let now = services.now();
    let mut report = BackfillReport::default();
    let mut tx = services.db().begin().await?;
    for kind in kinds {
        let ids = services
            .store()
            .certificates_needing_credentials(*kind, subject, force)
            .await?;
        for id in ids {
            if force && tx.unlink_verifiable_credential(*kind, id, now).await? {
                report.unlinked += 1;
            }
            let job = CredentialJob {
                program: *kind == CertificateKind::Program,
                certificate_id: id,
            };
            if jobs::enqueue(
                &mut tx,
                jobs::CREDENTIAL_ISSUE,
                &job,
                Some(job.dedupe_key()),
                now,
            )
            .await?
            {
                report.queued += 1;
            } else {
                report.already_queued += 1;
            }
        }
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(report)
}

/// Whose fault a store error of these workflows is.
pub fn fault(err: &StoreError) -> Fault {
    store_fault(err)
}

// ---------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------

/// The verdict on a presented credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Signature valid, issued by mitx, and the certificate active.
    pub verified: bool,
    /// `valid`, `revoked`, `invalid` (bad signature or not ours) or `unknown` (no
    /// certificate holds this credential).
    pub status: &'static str,
    /// The credential's id.
    pub credential_id: Option<String>,
    /// Its issuer.
    pub issuer: Option<String>,
    /// The certificate: `{type: course|program, uuid}`.
    pub certificate: Option<Value>,
    /// What failed.
    pub errors: Vec<String>,
}

impl Verification {
    fn invalid(error: impl Into<String>) -> Verification {
        Verification {
            verified: false,
            status: "invalid",
            credential_id: None,
            issuer: None,
            certificate: None,
            errors: vec![error.into()],
        }
    }
}

/// The compact JWS a presented credential carries: the enveloped form, `{"jwt": …}`, or
/// the JWS as a JSON string.
fn presented_jwt(presented: &Value) -> Option<String> {
    if let Some(text) = presented.as_str() {
        return Some(text.trim().to_owned());
    }
    if let Some(jwt) = presented.get("jwt").and_then(Value::as_str) {
        return Some(jwt.trim().to_owned());
    }
    presented
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.strip_prefix(ENVELOPE_PREFIX))
        .map(str::to_owned)
}

/// Checks a VC-JWT's signature against the `did:key` of its `kid` and that the issuer is
/// that key; the credential (payload) when it holds.
pub fn verify_jwt(jwt: &str) -> Result<Value, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS".into());
    };
    let decode_json = |part: &str| -> Result<Value, String> {
        let bytes = b64
            .decode(part)
            .map_err(|e| format!("bad base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("bad JSON: {e}"))
    };
    let header = decode_json(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err("alg must be EdDSA".into());
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or("no kid in the header")?;
    let key = did_key_public_key(kid).ok_or("kid is not an Ed25519 did:key")?;
    let signature = b64
        .decode(signature)
        .map_err(|e| format!("bad signature encoding: {e}"))?;
    let signed = &jwt[..jwt.len() - jwt.rsplit('.').next().map_or(0, |s| s.len() + 1)];
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "signature does not verify".to_owned())?;
    let credential = decode_json(payload)?;
    let issuer = credential
        .pointer("/issuer/id")
        .or_else(|| credential.get("issuer"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let did = kid.split('#').next().unwrap_or_default();
    if issuer != did {
        return Err("the issuer is not the signing key".into());
    }
    Ok(credential)
}

/// Verifies a presented self-signed credential: signature, issuer (mitx's own did:key),
/// then the certificate holding it, which must be active (not revoked, already issued).
pub async fn verify(services: &Services, presented: &Value) -> Result<Verification, StoreError> {
    let Some(jwt) = presented_jwt(presented) else {
        return Ok(Verification::invalid(
            "expected an EnvelopedVerifiableCredential (data:application/vc+jwt,…), {\"jwt\": …} or the JWT",
        ));
    };
    let credential = match verify_jwt(&jwt) {
        Ok(c) => c,
        Err(why) => return Ok(Verification::invalid(why)),
    };
    let credential_id = credential
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let issuer = credential
        .pointer("/issuer/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let ours = services
        .settings()
        .credentials
        .signing_key
        .as_ref()
        .and_then(Signer::new)
        .map(|s| s.did());
    let mut verdict = Verification {
        verified: false,
        status: "invalid",
        credential_id: credential_id.clone(),
        issuer: issuer.clone(),
        certificate: None,
        errors: Vec::new(),
    };
    if ours.is_none() || issuer != ours {
        verdict.errors.push("not issued by this site's key".into());
        return Ok(verdict);
    }
    let Some(uuid) = credential_id.as_deref().and_then(credential_uuid) else {
        verdict
            .errors
            .push("the credential has no urn:uuid id".into());
        return Ok(verdict);
    };
    let uuid = uuid.to_string();
    let store = services.store();
    let mut found = None;
    for kind in [CertificateKind::Course, CertificateKind::Program] {
        if let Some(certificate) = store.certificate_by_credential(kind, &uuid).await? {
            found = Some((kind, certificate));
            break;
        }
    }
    let Some((kind, certificate)) = found else {
        verdict.status = "unknown";
        verdict
            .errors
            .push("no certificate holds this credential".into());
        return Ok(verdict);
    };
    verdict.certificate = Some(json!({"type": kind.name(), "uuid": certificate.uuid}));
    let active = !certificate.is_revoked && certificate.issue_date <= services.now();
    if active {
        verdict.verified = true;
        verdict.status = "valid";
    } else {
        verdict.status = "revoked";
        verdict.errors.push("the certificate is revoked".into());
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_known_values_and_round_trip() {
        assert_eq!(base58_encode(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
        assert_eq!(base58_encode(&[0, 0, 1]), "112");
        assert_eq!(base58_decode("2NEpo7TZRRrLZSi2U").unwrap(), b"Hello World!");
        assert_eq!(base58_decode("112").unwrap(), vec![0, 0, 1]);
        assert_eq!(base58_decode("0OIl"), None);
    }

    #[test]
    fn did_key_of_an_ed25519_key_starts_with_z6mk_and_round_trips() {
        // RFC 8032 test 1.
        let seed =
            SigningSeed::parse("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap();
        let signer = Signer::new(&seed).unwrap();
        let public = signer.public_key();
        assert_eq!(
            public[..4],
            [0xd7, 0x5a, 0x98, 0x01],
            "RFC 8032 public key d75a9801…"
        );
        let did = signer.did();
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(did_key_public_key(&signer.kid()), Some(public));
        let jwt = signer.sign_jwt(&json!({"id": "urn:uuid:x", "issuer": {"id": did}}));
        assert!(verify_jwt(&jwt).is_ok());
        let mut tampered = jwt.clone();
        tampered.insert(jwt.find('.').unwrap() + 2, 'A');
        assert!(verify_jwt(&tampered).is_err());
    }
}
