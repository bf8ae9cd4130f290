//! B2B organizations and user memberships (pricing-and-b2b spec 5.1).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::slugify;
use crate::ids::{OrganizationId, UserId};

/// Longest org key and org key prefix (both are embedded in edX course keys).
pub const ORG_KEY_MAX_LEN: usize = 30;

/// Longest organization name.
pub const ORG_NAME_MAX_LEN: usize = 255;

/// The key prefix used when neither the caller nor the organization gives one.
pub const DEFAULT_ORG_KEY_PREFIX: &str = "UAI_";

/// Org key of the system organization that parks retired runs so their ids stay reserved.
pub const RETIRED_ORG_KEY: &str = "RETIRED";

/// Name of the inactive managed contract (cap 0) of the `RETIRED` organization.
pub const RETIRED_CONTRACT_NAME: &str = "Retired Runs Holding Contract";

/// Why an organization field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganizationError {
    #[error("org key must not be empty")]
    /// Empty org key.
    EmptyOrgKey,
    #[error("org key '{0}' is longer than 30 characters")]
    /// Org key over 30 characters.
    OrgKeyTooLong(String),
    #[error("org key prefix '{0}' is longer than 30 characters")]
    /// Prefix over 30 characters.
    PrefixTooLong(String),
    #[error("organization name must not be empty")]
    /// Blank name.
    EmptyName,
    #[error("organization name is longer than 255 characters")]
    /// Name over 255 characters.
    NameTooLong,
}

/// The short key of an organization (1–30 characters). It is part of every contract run's
/// course key, so once set it never changes (Keycloak sync leaves it alone).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgKey(String);

impl OrgKey {
    /// Checks the length (1–30 characters).
    pub fn parse(text: &str) -> Result<Self, OrganizationError> {
        if text.is_empty() {
            return Err(OrganizationError::EmptyOrgKey);
        }
        if text.chars().count() > ORG_KEY_MAX_LEN {
            return Err(OrganizationError::OrgKeyTooLong(text.to_owned()));
        }
        Ok(OrgKey(text.to_owned()))
    }

    /// The key a Keycloak organization gets: its alias cut to the first 30 characters.
    pub fn from_alias(alias: &str) -> Result<Self, OrganizationError> {
        let truncated: String = alias.chars().take(ORG_KEY_MAX_LEN).collect();
        OrgKey::parse(&truncated)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgKey {
    type Error = OrganizationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        OrgKey::parse(&value)
    }
}

impl From<OrgKey> for String {
    fn from(value: OrgKey) -> String {
        value.0
    }
}

impl fmt::Display for OrgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A B2B organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Storage id.
    pub id: OrganizationId,
    /// ≤255 characters; the page title mirrors it.
    pub name: String,
    /// Unique key used in contract run keys.
    pub org_key: OrgKey,
    /// ≤30 characters; empty means "use the default" when keys are built.
    pub org_key_prefix: String,
    /// Free text.
    pub description: String,
    /// Logo image location, if any.
    pub logo: Option<String>,
    /// The Keycloak organization id (unique when set).
    pub sso_organization_id: Option<Uuid>,
    /// URL slug (see [`Organization::slug_for`]).
    pub slug: String,
}

impl Organization {
    /// Checks the name and prefix lengths of an organization about to be saved.
    pub fn validate(&self) -> Result<(), OrganizationError> {
        check_name(&self.name)?;
        check_prefix(&self.org_key_prefix)
    }

    /// The prefix used in contract course keys: an explicit one, else the organization's,
    /// else `UAI_`. Empty strings fall through, as in the original.
    pub fn key_prefix<'a>(&'a self, explicit: Option<&'a str>) -> &'a str {
        match explicit {
            Some(p) if !p.is_empty() => p,
            _ if !self.org_key_prefix.is_empty() => &self.org_key_prefix,
            _ => DEFAULT_ORG_KEY_PREFIX,
        }
    }

    /// The organization's slug when saved: the given slug, or `slugify("org-{name}")` when
    /// empty. A rename never recomputes an existing slug (links stay stable).
    pub fn slug_for(name: &str, slug: &str) -> String {
        if slug.is_empty() {
            default_slug(name)
        } else {
            slug.to_owned()
        }
    }
}

/// `slugify("org-{name}")`, the slug of an organization saved without one.
pub fn default_slug(name: &str) -> String {
    slugify(&format!("org-{name}"))
}

/// Checks an organization name (1–255 characters).
pub fn check_name(name: &str) -> Result<(), OrganizationError> {
    if name.trim().is_empty() {
        return Err(OrganizationError::EmptyName);
    }
    if name.chars().count() > ORG_NAME_MAX_LEN {
        return Err(OrganizationError::NameTooLong);
    }
    Ok(())
}

/// Checks an org key prefix (0–30 characters).
pub fn check_prefix(prefix: &str) -> Result<(), OrganizationError> {
    if prefix.chars().count() > ORG_KEY_MAX_LEN {
        return Err(OrganizationError::PrefixTooLong(prefix.to_owned()));
    }
    Ok(())
}

/// A user's membership in an organization (unique per user and organization).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The member.
    pub user: UserId,
    /// The organization.
    pub organization: OrganizationId,
    /// "Do not remove until the org shows up in the SSO payload": set when a membership
    /// comes from a code or a purchase rather than from Keycloak.
    pub keep_until_seen: bool,
    /// Set only by admins; grants the manager API for this organization.
    pub is_manager: bool,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn org(id: i64, name: &str, key: &str) -> Organization {
        Organization {
            id: OrganizationId(id),
            name: name.into(),
            org_key: OrgKey::parse(key).unwrap(),
            org_key_prefix: DEFAULT_ORG_KEY_PREFIX.into(),
            description: String::new(),
            logo: None,
            sso_organization_id: None,
            slug: default_slug(name),
        }
    }

    #[test]
    fn org_key_length_rules() {
        assert_eq!(OrgKey::parse(""), Err(OrganizationError::EmptyOrgKey));
        assert!(OrgKey::parse(&"k".repeat(30)).is_ok());
        assert!(matches!(
            OrgKey::parse(&"k".repeat(31)),
            Err(OrganizationError::OrgKeyTooLong(_))
        ));
        assert_eq!(
            OrgKey::from_alias("acme-university-with-a-very-long-alias")
                .unwrap()
                .as_str(),
            "acme-university-with-a-very-lo"
        );
        assert_eq!(OrgKey::from_alias(""), Err(OrganizationError::EmptyOrgKey));
    }

    #[test]
    fn prefix_falls_back_to_org_then_default() {
        let mut o = org(1, "Acme", "ACME");
        assert_eq!(o.key_prefix(Some("X_")), "X_");
        assert_eq!(o.key_prefix(Some("")), "UAI_");
        o.org_key_prefix = "MIT_".into();
        assert_eq!(o.key_prefix(None), "MIT_");
        o.org_key_prefix = String::new();
        assert_eq!(o.key_prefix(None), "UAI_");
    }

    #[test]
    fn slug_defaults_and_is_preserved() {
        assert_eq!(
            Organization::slug_for("Acme University", ""),
            "org-acme-university"
        );
        assert_eq!(Organization::slug_for("Renamed", "org-acme"), "org-acme");
        assert_eq!(
            check_name(&"n".repeat(256)),
            Err(OrganizationError::NameTooLong)
        );
        assert!(check_prefix(&"p".repeat(31)).is_err());
        let mut o = org(1, "Acme", "ACME");
        assert_eq!(o.validate(), Ok(()));
        o.name = " ".into();
        assert_eq!(o.validate(), Err(OrganizationError::EmptyName));
    }
}
