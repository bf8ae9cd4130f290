//! Keycloak organization reconciliation: the organization sync (pricing-and-b2b spec 6.2)
//! and the per-user membership reconciliation at sign-in (6.3), as plans over input data.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::membership::{MembershipEffect, active_auto_contracts};
use super::organization::{check_name, default_slug};
use super::{Contract, OrgKey, Organization};
use crate::ids::{OrganizationId, UserId};

/// The error a sync row gets when its org key is taken by another organization.
pub const ORG_KEY_TAKEN: &str = "Organization with this Org key already exists.";

/// An organization as the Keycloak admin API returns it (unknown fields ignored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeycloakOrganization {
    /// Keycloak organization id (the local `sso_organization_id`).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    #[serde(default)]
    /// Short alias; its first 30 characters become the org key.
    pub alias: String,
    #[serde(default)]
    /// Ignored by the sync.
    pub enabled: bool,
    #[serde(default)]
    /// Optional description.
    pub description: Option<String>,
}

/// One step of the organization sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrgSyncAction {
    /// A new organization (placed under the organizations index page).
    Create {
        /// Name and page title.
        name: String,
        /// The Keycloak id.
        sso_organization_id: Uuid,
        /// The alias cut to 30 characters.
        org_key: OrgKey,
        /// The description or "".
        description: String,
        /// `slugify("org-{name}")`.
        slug: String,
    },
    /// Update name (and page title) and description; the org key is never touched.
    Update {
        /// The matched local organization.
        organization: OrganizationId,
        /// New name and page title.
        name: String,
        /// New description (or "").
        description: String,
    },
    /// Refused (logged); the loop continues.
    Skip {
        /// The Keycloak id.
        sso_organization_id: Uuid,
        /// Why it was refused.
        error: String,
    },
}

/// The plan of `reconcile_keycloak_orgs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSyncPlan {
    /// One action per Keycloak organization, in input order.
    pub actions: Vec<OrgSyncAction>,
    /// Organizations to create.
    pub created: u32,
    /// Every matched organization counts, even when nothing changed.
    pub updated: u32,
}

impl OrgSyncPlan {
    /// `(created, updated)`.
    pub fn counts(&self) -> (u32, u32) {
        (self.created, self.updated)
    }
}

/// Plans the organization sync: each Keycloak organization is matched by SSO id; no match
/// → a new organization (org key = alias cut to 30 characters, description or ""); match →
/// name and description updated. Organizations are never deleted or deactivated, the
/// `enabled` flag is ignored and memberships are untouched.
pub fn plan_org_sync(keycloak: &[KeycloakOrganization], local: &[Organization]) -> OrgSyncPlan {
    let mut actions = Vec::new();
    let (mut created, mut updated) = (0, 0);
    let mut used_keys: Vec<OrgKey> = local.iter().map(|o| o.org_key.clone()).collect();
    for kc in keycloak {
        let description = kc.description.clone().unwrap_or_default();
        let skip = |error: String| OrgSyncAction::Skip {
            sso_organization_id: kc.id,
            error,
        };
        if let Err(e) = check_name(&kc.name) {
            actions.push(skip(e.to_string()));
            continue;
        }
        if let Some(existing) = local.iter().find(|o| o.sso_organization_id == Some(kc.id)) {
            actions.push(OrgSyncAction::Update {
                organization: existing.id,
                name: kc.name.clone(),
                description,
            });
            updated += 1;
            continue;
        }
        let org_key = match OrgKey::from_alias(&kc.alias) {
            Ok(key) => key,
            Err(e) => {
                actions.push(skip(e.to_string()));
                continue;
            }
        };
        if used_keys.contains(&org_key) {
            actions.push(skip(ORG_KEY_TAKEN.to_owned()));
            continue;
        }
        used_keys.push(org_key.clone());
        actions.push(OrgSyncAction::Create {
            name: kc.name.clone(),
            sso_organization_id: kc.id,
            org_key,
            description,
            slug: default_slug(&kc.name),
        });
        created += 1;
    }
    OrgSyncPlan {
        actions,
        created,
        updated,
    }
}

/// One entry of the `organization` map of the gateway user header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoOrganizationRef {
    /// The Keycloak organization id.
    pub id: Uuid,
}

/// The organization ids of the gateway user header (`{alias: {"id": …}}`), in key order.
pub fn payload_org_ids(organizations: &BTreeMap<String, SsoOrganizationRef>) -> Vec<Uuid> {
    organizations.values().map(|o| o.id).collect()
}

/// The cache key of a user's reconciled memberships.
pub fn membership_cache_key(user: UserId) -> String {
    format!("org-membership-cache-{user}")
}

/// One cached membership: (organization SSO id, expected = NOT keep_until_seen).
pub type CachedMembership = (String, bool);

/// A membership of the user, as reconciliation reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipFact {
    /// The organization.
    pub organization: OrganizationId,
    /// The membership's flag.
    pub keep_until_seen: bool,
}

/// What reconciliation reads.
#[derive(Clone, Copy, Debug)]
pub struct ReconcileInput<'a> {
    /// Organization ids of the SSO payload.
    pub payload: &'a [Uuid],
    /// The cached pairs, if any.
    pub cache: Option<&'a [CachedMembership]>,
    /// The user's memberships.
    pub memberships: &'a [MembershipFact],
    /// Every local organization (only those with an SSO id take part).
    pub organizations: &'a [Organization],
    /// The contracts of those organizations.
    pub contracts: &'a [Contract],
    /// Today's UTC date (contract dates).
    pub today: NaiveDate,
}

/// The reconciliation plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcilePlan {
    /// In order: additions, removals, then `keep_until_seen` clearing.
    pub effects: Vec<MembershipEffect>,
    /// Memberships created.
    pub added: u32,
    /// Memberships removed.
    pub removed: u32,
    /// Pairs to store in the cache; `None` when the cache short-circuited.
    pub cache: Option<Vec<CachedMembership>>,
}

impl ReconcilePlan {
    /// `(#added, #removed)`.
    pub fn counts(&self) -> (u32, u32) {
        (self.added, self.removed)
    }
}

/// Reconciles a user's memberships with the organizations of the SSO payload.
///
/// 1. A non-empty cache whose expected SSO ids equal the payload → nothing, (0, 0).
/// 2. Organizations of the payload the user is not in: membership with
///    `keep_until_seen = false` and the organization's active auto-type contracts.
/// 3. Memberships with `keep_until_seen = false` of SSO organizations missing from the
///    payload: detached from all the organization's auto-type contracts, then deleted.
///    Code contracts, enrollments and non-SSO organizations are untouched.
/// 4. The cache pairs are computed, THEN `keep_until_seen` is cleared on memberships of
///    payload organizations; the pre-clearing pairs are stored, so a code-joined
///    organization is only cached from the following sign-in on.
///
/// Payload ids without a local organization are ignored until the next sync.
pub fn reconcile_user_orgs(input: &ReconcileInput<'_>) -> ReconcilePlan {
    let mut payload: Vec<String> = input.payload.iter().map(Uuid::to_string).collect();
    payload.sort();
    if let Some(cache) = input.cache.filter(|c| !c.is_empty()) {
        let mut expected: Vec<&str> = cache
            .iter()
            .filter(|(_, expected)| *expected)
            .map(|(id, _)| id.as_str())
            .collect();
        expected.sort_unstable();
        if expected == payload.iter().map(String::as_str).collect::<Vec<_>>() {
            return ReconcilePlan {
                effects: Vec::new(),
                added: 0,
                removed: 0,
                cache: None,
            };
        }
    }

    let sso_of = |org: OrganizationId| {
        input
            .organizations
            .iter()
            .find(|o| o.id == org)
            .and_then(|o| o.sso_organization_id)
    };
    let in_payload = |sso: Uuid| input.payload.contains(&sso);
    let mut effects = Vec::new();
    let mut current: Vec<MembershipFact> = input.memberships.to_vec();

    let mut added = 0;
    let mut to_add: Vec<&Organization> = input
        .organizations
        .iter()
        .filter(|o| o.sso_organization_id.is_some_and(in_payload))
        .filter(|o| !input.memberships.iter().any(|m| m.organization == o.id))
        .collect();
    to_add.sort_by_key(|o| o.id);
    for org in to_add {
        effects.push(MembershipEffect::CreateMembership {
            organization: org.id,
            keep_until_seen: false,
        });
        effects.extend(
            active_auto_contracts(org.id, input.contracts, input.today)
                .into_iter()
                .map(|contract| MembershipEffect::AttachToContract { contract }),
        );
        current.push(MembershipFact {
            organization: org.id,
            keep_until_seen: false,
        });
        added += 1;
    }

    let mut removed = 0;
    for m in input.memberships {
        let Some(sso) = sso_of(m.organization) else {
            continue;
        };
        if m.keep_until_seen || in_payload(sso) {
            continue;
        }
        let mut auto: Vec<_> = input
            .contracts
            .iter()
            .filter(|c| c.organization == m.organization && c.is_auto_type())
            .map(|c| c.id)
            .collect();
        auto.sort_unstable();
        effects.extend(
            auto.into_iter()
                .map(|contract| MembershipEffect::DetachFromContract { contract }),
        );
        effects.push(MembershipEffect::DeleteMembership {
            organization: m.organization,
        });
        current.retain(|c| c.organization != m.organization);
        removed += 1;
    }

    // Memberships of organizations without an SSO id are left out of the cache: they can
    // never appear in the payload (the original cached them as "None", which kept the
    // short-circuit from ever matching for such users).
    let mut cache: Vec<CachedMembership> = current
        .iter()
        .filter_map(|m| sso_of(m.organization).map(|sso| (sso.to_string(), !m.keep_until_seen)))
        .collect();
    cache.sort();

    for m in &current {
        if m.keep_until_seen && sso_of(m.organization).is_some_and(in_payload) {
            effects.push(MembershipEffect::ClearKeepUntilSeen {
                organization: m.organization,
            });
        }
    }

    ReconcilePlan {
        effects,
        added,
        removed,
        cache: Some(cache),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::MembershipType;
    use crate::b2b::contract::tests::{date, k42};
    use crate::b2b::organization::tests::org;
    use crate::ids::ContractId;

    fn kc(id: u128, name: &str, alias: &str) -> KeycloakOrganization {
        KeycloakOrganization {
            id: Uuid::from_u128(id),
            name: name.into(),
            alias: alias.into(),
            enabled: true,
            description: None,
        }
    }

    #[test]
    fn pricing_s52_new_org_from_keycloak() {
        let plan = plan_org_sync(
            &[kc(
                1,
                "Acme University",
                "acme-university-with-a-very-long-alias",
            )],
            &[],
        );
        assert_eq!(plan.counts(), (1, 0));
        assert_eq!(
            plan.actions,
            vec![OrgSyncAction::Create {
                name: "Acme University".into(),
                sso_organization_id: Uuid::from_u128(1),
                org_key: OrgKey::parse("acme-university-with-a-very-lo").unwrap(),
                description: String::new(),
                slug: "org-acme-university".into(),
            }]
        );
    }

    #[test]
    fn pricing_s53_update_keeps_org_key() {
        let mut local = org(5, "Acme", "ACME");
        local.sso_organization_id = Some(Uuid::from_u128(2));
        let mut k = kc(2, "Acme Corp", "acme2");
        k.description = Some("Corp".into());
        let plan = plan_org_sync(&[k], &[local]);
        assert_eq!(plan.counts(), (0, 1));
        assert_eq!(
            plan.actions,
            vec![OrgSyncAction::Update {
                organization: OrganizationId(5),
                name: "Acme Corp".into(),
                description: "Corp".into(),
            }]
        );
    }

    #[test]
    fn taken_org_key_is_skipped_and_loop_continues() {
        let local = org(5, "Other", "acme");
        let plan = plan_org_sync(
            &[
                kc(3, "Acme", "acme"),
                kc(4, "Beta", "beta"),
                kc(6, "Beta 2", "beta"),
            ],
            &[local],
        );
        assert_eq!(plan.counts(), (1, 0));
        assert_eq!(
            plan.actions[0],
            OrgSyncAction::Skip {
                sso_organization_id: Uuid::from_u128(3),
                error: "Organization with this Org key already exists.".into()
            }
        );
        assert!(matches!(plan.actions[2], OrgSyncAction::Skip { .. }));
        let plan = plan_org_sync(&[kc(7, "No alias", "")], &[]);
        assert!(matches!(plan.actions[0], OrgSyncAction::Skip { .. }));
    }

    fn sso_org(id: i64, sso: u128) -> Organization {
        let mut o = org(id, &format!("Org {id}"), &format!("O{id}"));
        o.sso_organization_id = Some(Uuid::from_u128(sso));
        o
    }

    fn contract(id: i64, org: i64, t: MembershipType, active: bool) -> Contract {
        let mut c = k42();
        c.id = ContractId(id);
        c.organization = OrganizationId(org);
        c.membership_type = t;
        c.active = active;
        c
    }

    #[test]
    fn pricing_s54_login_joins_org_and_only_active_auto_contract() {
        let orgs = [sso_org(1, 0xA)];
        let contracts = [
            contract(10, 1, MembershipType::Auto, true),
            contract(11, 1, MembershipType::Managed, false),
            contract(12, 1, MembershipType::Code, true),
        ];
        let payload = [Uuid::from_u128(0xA)];
        let plan = reconcile_user_orgs(&ReconcileInput {
            payload: &payload,
            cache: None,
            memberships: &[],
            organizations: &orgs,
            contracts: &contracts,
            today: date(2025, 6, 1),
        });
        assert_eq!(plan.counts(), (1, 0));
        assert_eq!(
            plan.effects,
            vec![
                MembershipEffect::CreateMembership {
                    organization: OrganizationId(1),
                    keep_until_seen: false
                },
                MembershipEffect::AttachToContract {
                    contract: ContractId(10)
                },
            ]
        );
        assert_eq!(
            plan.cache,
            Some(vec![(Uuid::from_u128(0xA).to_string(), true)])
        );
    }

    #[test]
    fn integrations_s36_claimed_org_joined_and_stale_sso_membership_removed() {
        // Claim `organization: {"acme": {"id": <A>}}`; the user still holds a membership
        // (no keep_until_seen) in SSO org B, which the claim no longer lists.
        let orgs = [sso_org(1, 0xA), sso_org(2, 0xB)];
        let contracts = [
            contract(10, 1, MembershipType::Managed, true),
            contract(20, 2, MembershipType::Managed, true),
        ];
        let memberships = [MembershipFact {
            organization: OrganizationId(2),
            keep_until_seen: false,
        }];
        let plan = reconcile_user_orgs(&ReconcileInput {
            payload: &[Uuid::from_u128(0xA)],
            cache: None,
            memberships: &memberships,
            organizations: &orgs,
            contracts: &contracts,
            today: date(2025, 6, 1),
        });
        assert_eq!(plan.counts(), (1, 1));
        assert_eq!(
            plan.effects,
            vec![
                MembershipEffect::CreateMembership {
                    organization: OrganizationId(1),
                    keep_until_seen: false
                },
                MembershipEffect::AttachToContract {
                    contract: ContractId(10)
                },
                MembershipEffect::DetachFromContract {
                    contract: ContractId(20)
                },
                MembershipEffect::DeleteMembership {
                    organization: OrganizationId(2)
                },
            ]
        );
    }

    #[test]
    fn pricing_s55_matching_cache_does_nothing() {
        let a = Uuid::from_u128(0xA);
        let cache = [(a.to_string(), true)];
        let plan = reconcile_user_orgs(&ReconcileInput {
            payload: &[a],
            cache: Some(&cache),
            memberships: &[],
            organizations: &[sso_org(1, 0xA)],
            contracts: &[],
            today: date(2025, 6, 1),
        });
        assert_eq!(plan.counts(), (0, 0));
        assert!(plan.effects.is_empty());
        assert_eq!(plan.cache, None);
    }

    #[test]
    fn removal_and_keep_until_seen_clearing_order() {
        let orgs = [
            sso_org(1, 0xA),
            sso_org(2, 0xB),
            sso_org(3, 0xC),
            org(4, "Plain", "P"),
        ];
        let contracts = [
            contract(20, 2, MembershipType::Auto, false),
            contract(21, 2, MembershipType::Code, true),
            contract(22, 2, MembershipType::Managed, true),
        ];
        let memberships = [
            MembershipFact {
                organization: OrganizationId(1),
                keep_until_seen: true,
            },
            MembershipFact {
                organization: OrganizationId(2),
                keep_until_seen: false,
            },
            MembershipFact {
                organization: OrganizationId(3),
                keep_until_seen: true,
            },
            MembershipFact {
                organization: OrganizationId(4),
                keep_until_seen: false,
            },
        ];
        let stale = [(Uuid::from_u128(0xB).to_string(), true)];
        let payload = [Uuid::from_u128(0xA)];
        let plan = reconcile_user_orgs(&ReconcileInput {
            payload: &payload,
            cache: Some(&stale),
            memberships: &memberships,
            organizations: &orgs,
            contracts: &contracts,
            today: date(2025, 6, 1),
        });
        assert_eq!(plan.counts(), (0, 1));
        assert_eq!(
            plan.effects,
            vec![
                MembershipEffect::DetachFromContract {
                    contract: ContractId(20)
                },
                MembershipEffect::DetachFromContract {
                    contract: ContractId(22)
                },
                MembershipEffect::DeleteMembership {
                    organization: OrganizationId(2)
                },
                MembershipEffect::ClearKeepUntilSeen {
                    organization: OrganizationId(1)
                },
            ]
        );
        // Pre-clearing pairs: A is still "not expected" until the next sign-in.
        let mut expected = vec![
            (Uuid::from_u128(0xA).to_string(), false),
            (Uuid::from_u128(0xC).to_string(), false),
        ];
        expected.sort();
        assert_eq!(plan.cache, Some(expected));
    }

    #[test]
    fn payload_ids_and_cache_key() {
        let mut map = BTreeMap::new();
        map.insert(
            "acme".to_owned(),
            SsoOrganizationRef {
                id: Uuid::from_u128(1),
            },
        );
        assert_eq!(payload_org_ids(&map), vec![Uuid::from_u128(1)]);
        assert_eq!(membership_cache_key(UserId(12)), "org-membership-cache-12");
    }
}
