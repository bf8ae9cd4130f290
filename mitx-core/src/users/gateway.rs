//! The API gateway's identity header (integrations spec 3.2–3.3). The server base64-decodes
//! `X-Userinfo` and parses its JSON into [`GatewayClaims`]; everything after that is decided
//! here, as data: ignore the header, reject it, stay anonymous, or create / update / log in a
//! user, plus the SSO organization memberships to add and remove.
//!
//! The header is trusted without a signature: the gateway strips client-supplied copies, so
//! the service must only be reachable through it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::UserId;

/// Maximum length of `global_id` (the Keycloak subject).
pub const GLOBAL_ID_MAX_CHARS: usize = 36;
/// Maximum length of the stored `username` (`preferred_username`).
pub const USERNAME_MAX_CHARS: usize = 500;
/// Maximum length of the stored `name`.
pub const NAME_MAX_CHARS: usize = 255;

/// The OIDC claims read from `X-Userinfo`; other claims are ignored, all are optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayClaims {
    /// Keycloak user UUID: the identity, stored as `global_id`.
    pub sub: Option<String>,
    /// Stored as `username` (not the public edX username).
    pub preferred_username: Option<String>,
    /// Stored as `email`, always overwritten.
    pub email: Option<String>,
    /// Stored as `name` only while the stored name is empty.
    pub name: Option<String>,
    /// Organizations keyed by alias (`null` is read as none).
    #[serde(deserialize_with = "null_as_empty")]
    pub organization: BTreeMap<String, GatewayOrganizationClaim>,
}

fn null_as_empty<'de, D>(
    deserializer: D,
) -> Result<BTreeMap<String, GatewayOrganizationClaim>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::deserialize(deserializer)?.unwrap_or_default())
}

/// One entry of the `organization` claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayOrganizationClaim {
    /// The organization's UUID (matched against local `sso_organization_id`).
    pub id: Option<String>,
}

impl GatewayClaims {
    /// The subject, when present and non-blank.
    pub fn subject(&self) -> Option<&str> {
        self.sub.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// Whether a stored claim holds a NUL character.
    pub fn has_nul(&self) -> bool {
        [&self.sub, &self.preferred_username, &self.email, &self.name]
            .into_iter()
            .flatten()
            .any(|v| v.contains('\0'))
    }

    /// The organization UUIDs of the `organization` claim, sorted, duplicates and entries
    /// without a valid UUID dropped (they can match no local organization).
    pub fn organization_ids(&self) -> Vec<Uuid> {
        let ids: BTreeSet<Uuid> = self
            .organization
            .values()
            .filter_map(|org| org.id.as_deref())
            .filter_map(|id| Uuid::parse_str(id.trim()).ok())
            .collect();
        ids.into_iter().collect()
    }
}

/// The gateway settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewaySettings {
    /// `MITOL_APIGATEWAY_DISABLE_MIDDLEWARE`: the header is ignored entirely.
    pub disabled: bool,
    /// `MITOL_APIGATEWAY_USERINFO_CREATE`: unknown subjects get an account.
    pub create_users: bool,
    /// `MITOL_APIGATEWAY_USERINFO_UPDATE`: known users get the claims applied.
    pub update_users: bool,
}

impl Default for GatewaySettings {
    /// The code defaults: disabled (gateway deployments turn it on), create and update on.
    fn default() -> Self {
        Self {
            disabled: true,
            create_users: true,
            update_users: true,
        }
    }
}

/// The header as the server found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayHeader {
    /// No header, or an empty one.
    Absent,
    /// Not base64, or not a JSON object of claims.
    Undecodable,
    /// The decoded claims.
    Decoded(GatewayClaims),
}

/// Why a request stays anonymous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnonymousReason {
    /// No header.
    NoHeader,
    /// Claims without `sub`.
    NoSubject,
    /// Unknown subject and user creation is off.
    CreationDisabled,
    /// The claims cannot be applied: `email` missing or blank.
    MissingEmail,
    /// The claims cannot be applied: `preferred_username` missing or blank.
    MissingUsername,
    /// A claim is longer than its column (`sub` 36, `preferred_username` 500, `name` 255).
    ClaimTooLong,
    /// `preferred_username` is another account's username.
    UsernameTaken,
    /// `email` is another account's email (case-insensitive).
    EmailTaken,
    /// The account is inactive (claims may still be applied, but no login).
    Inactive,
    /// A claim holds a NUL character, which a text column cannot store (PostgreSQL refuses
    /// it): decided before any lookup, so both backends answer alike.
    NulInClaim,
}

/// The first decision, before any lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayStep {
    /// Gateway support is disabled: leave authentication to the other mechanisms.
    Ignore,
    /// The header cannot be decoded: answer 400 before any database work.
    BadRequest,
    /// Anonymous request (see [`session_ends`] for the current session).
    Anonymous(AnonymousReason),
    /// Look the user up by `global_id` = this subject, then call [`decide_gateway_user`].
    LookUp(String),
}

/// Where the current session came from, to know whether an anonymous outcome ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionOrigin {
    /// No authenticated session.
    None,
    /// Created by a gateway login.
    Gateway,
    /// Created otherwise (admin password login).
    Other,
}

/// Whether an anonymous outcome ends the current session: only gateway-created sessions are
/// ended; an admin password session survives requests without the header.
pub fn session_ends(origin: SessionOrigin) -> bool {
    origin == SessionOrigin::Gateway
}

/// Decides what to do with the header before touching the database.
pub fn gateway_step(settings: &GatewaySettings, header: &GatewayHeader) -> GatewayStep {
    if settings.disabled {
        return GatewayStep::Ignore;
    }
    match header {
        GatewayHeader::Absent => GatewayStep::Anonymous(AnonymousReason::NoHeader),
        GatewayHeader::Undecodable => GatewayStep::BadRequest,
        GatewayHeader::Decoded(claims) if claims.has_nul() => {
            GatewayStep::Anonymous(AnonymousReason::NulInClaim)
        }
        GatewayHeader::Decoded(claims) => match claims.subject() {
            None => GatewayStep::Anonymous(AnonymousReason::NoSubject),
            Some(subject) => GatewayStep::LookUp(subject.to_owned()),
        },
    }
}

/// The stored fields of the user found by `global_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayUserRecord {
    /// The account.
    pub id: UserId,
    /// Stored `username`.
    pub username: String,
    /// Stored `email`.
    pub email: String,
    /// Stored `name` (`""` when never set).
    pub name: String,
    /// Inactive accounts are never logged in.
    pub is_active: bool,
}

/// The caller's lookups for one set of claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewayLookup<'a> {
    /// The user whose `global_id` is the subject, if any.
    pub existing: Option<&'a GatewayUserRecord>,
    /// The account whose `username` equals `preferred_username` (exact), if any.
    pub username_owner: Option<UserId>,
    /// The account whose `email` equals the `email` claim case-insensitively, if any.
    pub email_owner: Option<UserId>,
}

/// The user to create for an unknown subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGatewayUser {
    /// `sub`
    pub global_id: String,
    /// `preferred_username`
    pub username: String,
    /// `email`
    pub email: String,
    /// `name`, `""` when absent.
    pub name: String,
}

/// The fields of a known user that the claims change (`None` = unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimChanges {
    /// New `username`.
    pub username: Option<String>,
    /// New `email`.
    pub email: Option<String>,
    /// New `name` (only when the stored one is empty).
    pub name: Option<String>,
}

impl ClaimChanges {
    /// Whether nothing changes (the write can be skipped; rows and orgs are still ensured).
    pub fn is_empty(&self) -> bool {
        self.username.is_none() && self.email.is_none() && self.name.is_none()
    }
}

/// What to do with a subject the caller has looked up. `Create` and `Update` are applied in
/// one transaction together with: ensuring empty profile and legal-address rows, and
/// reconciling SSO organizations ([`crate::b2b::reconcile_user_orgs`] with
/// [`GatewayClaims::organization_ids`]); if that transaction fails, the request is anonymous.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayDecision {
    /// Create the user, then log the new user in.
    Create(NewGatewayUser),
    /// Apply the changes; log the user in when `authenticate` (false for inactive users).
    Update {
        /// The account.
        user_id: UserId,
        /// What the claims change.
        changes: ClaimChanges,
        /// Whether to log the user in afterwards.
        authenticate: bool,
    },
    /// Updates are off: just log the (active) user in.
    Authenticate(UserId),
    /// Nothing is written; the request is anonymous.
    Anonymous(AnonymousReason),
}

/// The claim values a write needs, checked.
struct AppliedClaims<'a> {
    global_id: &'a str,
    username: &'a str,
    email: &'a str,
    name: Option<&'a str>,
}

impl AppliedClaims<'_> {
    /// The name to write when the stored one is empty; too long a name fails the write.
    fn name_to_write(&self) -> Result<Option<&str>, AnonymousReason> {
        match self.name {
            Some(name) if name.chars().count() > NAME_MAX_CHARS => {
                Err(AnonymousReason::ClaimTooLong)
            }
            name => Ok(name),
        }
    }
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn applied_claims(claims: &GatewayClaims) -> Result<AppliedClaims<'_>, AnonymousReason> {
    let global_id = claims.subject().ok_or(AnonymousReason::NoSubject)?;
    let email = non_blank(claims.email.as_deref()).ok_or(AnonymousReason::MissingEmail)?;
    let username =
        non_blank(claims.preferred_username.as_deref()).ok_or(AnonymousReason::MissingUsername)?;
    let name = non_blank(claims.name.as_deref());
    let too_long = global_id.chars().count() > GLOBAL_ID_MAX_CHARS
        || username.chars().count() > USERNAME_MAX_CHARS;
    if too_long {
        return Err(AnonymousReason::ClaimTooLong);
    }
    Ok(AppliedClaims {
        global_id,
        username,
        email,
        name,
    })
}

/// Another account (not `me`) holds the username or the email.
fn conflict(lookup: &GatewayLookup<'_>, me: Option<UserId>) -> Option<AnonymousReason> {
    let other = |owner: Option<UserId>| owner.is_some_and(|id| Some(id) != me);
    if other(lookup.username_owner) {
        Some(AnonymousReason::UsernameTaken)
    } else if other(lookup.email_owner) {
        Some(AnonymousReason::EmailTaken)
    } else {
        None
    }
}

/// Decides create / update / login / anonymous for decoded claims with a subject.
///
/// Mapping: `sub`→`global_id`, `preferred_username`→`username`, `email`→`email` (always
/// overwritten), `name`→`name` only while the stored name is empty. Missing `email` or
/// `preferred_username`, over-long claims, or a username/email held by another account make
/// the whole write fail: nothing is saved and the request is anonymous.
pub fn decide_gateway_user(
    settings: &GatewaySettings,
    claims: &GatewayClaims,
    lookup: &GatewayLookup<'_>,
) -> GatewayDecision {
    let Some(existing) = lookup.existing else {
        if !settings.create_users {
            return GatewayDecision::Anonymous(AnonymousReason::CreationDisabled);
        }
        let applied = match applied_claims(claims) {
            Ok(applied) => applied,
            Err(reason) => return GatewayDecision::Anonymous(reason),
        };
        let name = match applied.name_to_write() {
            Ok(name) => name.unwrap_or_default(),
            Err(reason) => return GatewayDecision::Anonymous(reason),
        };
        if let Some(reason) = conflict(lookup, None) {
            return GatewayDecision::Anonymous(reason);
        }
        return GatewayDecision::Create(NewGatewayUser {
            global_id: applied.global_id.to_owned(),
            username: applied.username.to_owned(),
            email: applied.email.to_owned(),
            name: name.to_owned(),
        });
    };
    if !settings.update_users {
        return if existing.is_active {
            GatewayDecision::Authenticate(existing.id)
        } else {
            GatewayDecision::Anonymous(AnonymousReason::Inactive)
        };
    }
    let applied = match applied_claims(claims) {
        Ok(applied) => applied,
        Err(reason) => return GatewayDecision::Anonymous(reason),
    };
    let name = if existing.name.is_empty() {
        match applied.name_to_write() {
            Ok(name) => name,
            Err(reason) => return GatewayDecision::Anonymous(reason),
        }
    } else {
        None
    };
    if let Some(reason) = conflict(lookup, Some(existing.id)) {
        return GatewayDecision::Anonymous(reason);
    }
    let changed = |stored: &str, claim: &str| (stored != claim).then(|| claim.to_owned());
    let changes = ClaimChanges {
        username: changed(&existing.username, applied.username),
        email: changed(&existing.email, applied.email),
        name: name.map(str::to_owned),
    };
    GatewayDecision::Update {
        user_id: existing.id,
        changes,
        authenticate: existing.is_active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "7f3c2a9e-1b2d-4c5e-8f90-123456789abc";

    fn on() -> GatewaySettings {
        GatewaySettings {
            disabled: false,
            ..GatewaySettings::default()
        }
    }

    /// The claims of scenario 30.
    fn claims() -> GatewayClaims {
        GatewayClaims {
            sub: Some(SUB.into()),
            preferred_username: Some("jdoe".into()),
            email: Some("jdoe@example.com".into()),
            name: Some("Jane Doe".into()),
            ..GatewayClaims::default()
        }
    }

    fn nobody() -> GatewayLookup<'static> {
        GatewayLookup {
            existing: None,
            username_owner: None,
            email_owner: None,
        }
    }

    fn existing() -> GatewayUserRecord {
        GatewayUserRecord {
            id: UserId(7),
            username: "jdoe".into(),
            email: "old@example.com".into(),
            name: "J. Doe".into(),
            is_active: true,
        }
    }

    #[test]
    fn a_nul_in_a_stored_claim_is_anonymous_before_any_lookup() {
        for claims in [
            GatewayClaims {
                sub: Some("\0".into()),
                ..claims()
            },
            GatewayClaims {
                email: Some("a\0@example.com".into()),
                ..claims()
            },
            GatewayClaims {
                preferred_username: Some("j\0".into()),
                ..claims()
            },
            GatewayClaims {
                name: Some("\0".into()),
                ..claims()
            },
        ] {
            assert_eq!(
                gateway_step(&on(), &GatewayHeader::Decoded(claims.clone())),
                GatewayStep::Anonymous(AnonymousReason::NulInClaim),
                "{claims:?}"
            );
        }
        assert_eq!(
            gateway_step(&on(), &GatewayHeader::Decoded(claims())),
            GatewayStep::LookUp(SUB.into())
        );
    }

    #[test]
    fn integrations_s30_unknown_subject_creates_user() {
        let header = GatewayHeader::Decoded(claims());
        assert_eq!(
            gateway_step(&on(), &header),
            GatewayStep::LookUp(SUB.into())
        );
        assert_eq!(
            decide_gateway_user(&on(), &claims(), &nobody()),
            GatewayDecision::Create(NewGatewayUser {
                global_id: SUB.into(),
                username: "jdoe".into(),
                email: "jdoe@example.com".into(),
                name: "Jane Doe".into(),
            })
        );
        let no_name = GatewayClaims {
            name: None,
            ..claims()
        };
        match decide_gateway_user(&on(), &no_name, &nobody()) {
            GatewayDecision::Create(user) => assert_eq!(user.name, ""),
            other => panic!("{other:?}"),
        }
        let off = GatewaySettings {
            create_users: false,
            ..on()
        };
        assert_eq!(
            decide_gateway_user(&off, &claims(), &nobody()),
            GatewayDecision::Anonymous(AnonymousReason::CreationDisabled)
        );
    }

    #[test]
    fn integrations_s31_update_overwrites_email_keeps_name() {
        let user = existing();
        let lookup = GatewayLookup {
            existing: Some(&user),
            username_owner: Some(UserId(7)), // its own username: no conflict
            email_owner: None,
        };
        assert_eq!(
            decide_gateway_user(&on(), &claims(), &lookup),
            GatewayDecision::Update {
                user_id: UserId(7),
                changes: ClaimChanges {
                    username: None,
                    email: Some("jdoe@example.com".into()),
                    name: None,
                },
                authenticate: true,
            }
        );
        // An empty stored name is filled; the username follows preferred_username.
        let unnamed = GatewayUserRecord {
            name: String::new(),
            username: "old-name".into(),
            ..existing()
        };
        let lookup = GatewayLookup {
            existing: Some(&unnamed),
            ..nobody()
        };
        match decide_gateway_user(&on(), &claims(), &lookup) {
            GatewayDecision::Update { changes, .. } => assert_eq!(
                changes,
                ClaimChanges {
                    username: Some("jdoe".into()),
                    email: Some("jdoe@example.com".into()),
                    name: Some("Jane Doe".into()),
                }
            ),
            other => panic!("{other:?}"),
        }
        // Same values: no-op changes, still logged in.
        let same = GatewayUserRecord {
            email: "jdoe@example.com".into(),
            ..existing()
        };
        let lookup = GatewayLookup {
            existing: Some(&same),
            email_owner: Some(UserId(7)),
            ..nobody()
        };
        match decide_gateway_user(&on(), &claims(), &lookup) {
            GatewayDecision::Update {
                changes,
                authenticate,
                ..
            } => assert!(changes.is_empty() && authenticate),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn update_disabled_and_inactive_users() {
        let user = existing();
        let inactive = GatewayUserRecord {
            is_active: false,
            ..existing()
        };
        let no_update = GatewaySettings {
            update_users: false,
            ..on()
        };
        let with = |u| GatewayLookup {
            existing: Some(u),
            ..nobody()
        };
        assert_eq!(
            decide_gateway_user(&no_update, &claims(), &with(&user)),
            GatewayDecision::Authenticate(UserId(7))
        );
        assert_eq!(
            decide_gateway_user(&no_update, &claims(), &with(&inactive)),
            GatewayDecision::Anonymous(AnonymousReason::Inactive)
        );
        match decide_gateway_user(&on(), &claims(), &with(&inactive)) {
            GatewayDecision::Update { authenticate, .. } => assert!(!authenticate),
            other => panic!("{other:?}"),
        }
        // With updates off, a claim set that could not be applied still logs in.
        let bare = GatewayClaims {
            sub: Some(SUB.into()),
            ..GatewayClaims::default()
        };
        assert_eq!(
            decide_gateway_user(&no_update, &bare, &with(&user)),
            GatewayDecision::Authenticate(UserId(7))
        );
    }

    #[test]
    fn integrations_s32_undecodable_header_is_rejected() {
        assert_eq!(
            gateway_step(&on(), &GatewayHeader::Undecodable),
            GatewayStep::BadRequest
        );
    }

    #[test]
    fn integrations_s33_no_subject_is_anonymous() {
        for sub in [None, Some(""), Some("  ")] {
            let header = GatewayHeader::Decoded(GatewayClaims {
                sub: sub.map(Into::into),
                ..claims()
            });
            assert_eq!(
                gateway_step(&on(), &header),
                GatewayStep::Anonymous(AnonymousReason::NoSubject),
                "{sub:?}"
            );
        }
    }

    #[test]
    fn integrations_s34_missing_header_ends_only_gateway_sessions() {
        assert_eq!(
            gateway_step(&on(), &GatewayHeader::Absent),
            GatewayStep::Anonymous(AnonymousReason::NoHeader)
        );
        assert!(session_ends(SessionOrigin::Gateway));
        assert!(!session_ends(SessionOrigin::Other));
        assert!(!session_ends(SessionOrigin::None));
    }

    #[test]
    fn integrations_s35_disabled_middleware_ignores_header() {
        let disabled = GatewaySettings::default();
        assert!(disabled.disabled);
        for header in [
            GatewayHeader::Decoded(claims()),
            GatewayHeader::Undecodable,
            GatewayHeader::Absent,
        ] {
            assert_eq!(gateway_step(&disabled, &header), GatewayStep::Ignore);
        }
    }

    #[test]
    fn integrations_s36_organization_claim_ids() {
        let acme_sso = Uuid::parse_str("0b6c1d3e-aaaa-bbbb-cccc-111122223333").unwrap();
        let claims = GatewayClaims {
            organization: BTreeMap::from([
                (
                    "acme".to_owned(),
                    GatewayOrganizationClaim {
                        id: Some(acme_sso.to_string()),
                    },
                ),
                (
                    "broken".to_owned(),
                    GatewayOrganizationClaim {
                        id: Some("not-a-uuid".into()),
                    },
                ),
                ("empty".to_owned(), GatewayOrganizationClaim { id: None }),
            ]),
            ..claims()
        };
        assert_eq!(claims.organization_ids(), [acme_sso]);
        // The reconciliation itself: b2b::keycloak::tests::integrations_s36_*.
    }

    #[test]
    fn integrations_s37_username_collision_is_anonymous() {
        assert_eq!(
            decide_gateway_user(
                &on(),
                &claims(),
                &GatewayLookup {
                    username_owner: Some(UserId(99)),
                    ..nobody()
                }
            ),
            GatewayDecision::Anonymous(AnonymousReason::UsernameTaken)
        );
        let user = existing();
        assert_eq!(
            decide_gateway_user(
                &on(),
                &claims(),
                &GatewayLookup {
                    existing: Some(&user),
                    username_owner: Some(UserId(99)),
                    email_owner: None,
                }
            ),
            GatewayDecision::Anonymous(AnonymousReason::UsernameTaken)
        );
        assert_eq!(
            decide_gateway_user(
                &on(),
                &claims(),
                &GatewayLookup {
                    existing: Some(&user),
                    username_owner: None,
                    email_owner: Some(UserId(98)),
                }
            ),
            GatewayDecision::Anonymous(AnonymousReason::EmailTaken)
        );
    }

    #[test]
    fn unusable_claims_are_anonymous() {
        let table: &[(GatewayClaims, AnonymousReason)] = &[
            (
                GatewayClaims {
                    email: None,
                    ..claims()
                },
                AnonymousReason::MissingEmail,
            ),
            (
                GatewayClaims {
                    preferred_username: Some(" ".into()),
                    ..claims()
                },
                AnonymousReason::MissingUsername,
            ),
            (
                GatewayClaims {
                    sub: Some("x".repeat(37)),
                    ..claims()
                },
                AnonymousReason::ClaimTooLong,
            ),
            (
                GatewayClaims {
                    name: Some("n".repeat(256)),
                    ..claims()
                },
                AnonymousReason::ClaimTooLong,
            ),
        ];
        let user = GatewayUserRecord {
            name: String::new(),
            ..existing()
        };
        for (claims, reason) in table {
            for lookup in [
                nobody(),
                GatewayLookup {
                    existing: Some(&user),
                    ..nobody()
                },
            ] {
                assert_eq!(
                    decide_gateway_user(&on(), claims, &lookup),
                    GatewayDecision::Anonymous(*reason)
                );
            }
        }
        // A long name is harmless while the stored name is kept.
        let named = existing();
        let long_name = GatewayClaims {
            name: Some("n".repeat(256)),
            ..claims()
        };
        let lookup = GatewayLookup {
            existing: Some(&named),
            ..nobody()
        };
        assert!(matches!(
            decide_gateway_user(&on(), &long_name, &lookup),
            GatewayDecision::Update { .. }
        ));
    }
}
