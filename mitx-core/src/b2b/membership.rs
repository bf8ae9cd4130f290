//! Joining organizations and contracts: the effects shared by code attachment, B2B
//! enrollment and Keycloak reconciliation (pricing-and-b2b spec 5.6, 5.7, 6.3).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Contract, Organization};
use crate::ids::{ContractId, OrganizationId};

/// A change to a user's organization memberships or contract attachments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipEffect {
    /// Create the user's membership in the organization.
    CreateMembership {
        /// The organization.
        organization: OrganizationId,
        /// Set for code/purchase joins, clear for SSO joins.
        keep_until_seen: bool,
    },
    /// Add the user to the Keycloak organization (HTTP failures are logged and ignored).
    RegisterInKeycloak {
        /// The organization.
        organization: OrganizationId,
        /// Its Keycloak id.
        sso_organization_id: Uuid,
    },
    /// Attach the user to the contract (idempotent).
    AttachToContract {
        /// The contract.
        contract: ContractId,
    },
    /// Detach the user from the contract (idempotent).
    DetachFromContract {
        /// The contract.
        contract: ContractId,
    },
    /// Delete the user's membership in the organization.
    DeleteMembership {
        /// The organization.
        organization: OrganizationId,
    },
    /// The organization showed up in the SSO payload: clear `keep_until_seen`.
    ClearKeepUntilSeen {
        /// The organization.
        organization: OrganizationId,
    },
}

/// The organization's contracts that members join automatically now: auto-type and
/// active for use on `today`, in id order.
pub fn active_auto_contracts<'a>(
    organization: OrganizationId,
    contracts: impl IntoIterator<Item = &'a Contract>,
    today: NaiveDate,
) -> Vec<ContractId> {
    let mut ids: Vec<ContractId> = contracts
        .into_iter()
        .filter(|c| c.organization == organization && c.is_auto_type() && c.is_active_on(today))
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `process_add_org_membership`: nothing when the user is already a member; otherwise
/// create the membership with `keep_until_seen`, register the user in the Keycloak
/// organization when it has an SSO id, and attach the user to the organization's active
/// auto-type contracts (no seat check). An existing membership keeps its flag.
pub fn add_org_membership<'a>(
    organization: &Organization,
    already_member: bool,
    keep_until_seen: bool,
    org_contracts: impl IntoIterator<Item = &'a Contract>,
    today: NaiveDate,
) -> Vec<MembershipEffect> {
    if already_member {
        return Vec::new();
    }
    let mut effects = vec![MembershipEffect::CreateMembership {
        organization: organization.id,
        keep_until_seen,
    }];
    if let Some(sso) = organization.sso_organization_id {
        effects.push(MembershipEffect::RegisterInKeycloak {
            organization: organization.id,
            sso_organization_id: sso,
        });
    }
    effects.extend(
        active_auto_contracts(organization.id, org_contracts, today)
            .into_iter()
            .map(|contract| MembershipEffect::AttachToContract { contract }),
    );
    effects
}

/// Joining one contract outside SSO (a code or a fulfilled enrollment in a contract run):
/// the organization membership with `keep_until_seen = true`, then the contract itself.
pub fn join_contract<'a>(
    contract: &Contract,
    organization: &Organization,
    already_member: bool,
    org_contracts: impl IntoIterator<Item = &'a Contract>,
    today: NaiveDate,
) -> Vec<MembershipEffect> {
    let mut effects = add_org_membership(organization, already_member, true, org_contracts, today);
    let attach = MembershipEffect::AttachToContract {
        contract: contract.id,
    };
    if !effects.contains(&attach) {
        effects.push(attach);
    }
    effects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::MembershipType;
    use crate::b2b::contract::tests::{date, k42};
    use crate::b2b::organization::tests::org;

    #[test]
    fn new_membership_registers_and_attaches_auto_contracts() {
        let mut acme = org(1, "ACME", "ACME");
        acme.sso_organization_id = Some(Uuid::from_u128(7));
        let auto = k42();
        let mut code = k42();
        code.id = ContractId(43);
        code.membership_type = MembershipType::Code;
        let mut inactive = k42();
        inactive.id = ContractId(44);
        inactive.active = false;
        let contracts = [auto, code.clone(), inactive];
        let effects = join_contract(&code, &acme, false, &contracts, date(2025, 6, 1));
        assert_eq!(
            effects,
            vec![
                MembershipEffect::CreateMembership {
                    organization: OrganizationId(1),
                    keep_until_seen: true
                },
                MembershipEffect::RegisterInKeycloak {
                    organization: OrganizationId(1),
                    sso_organization_id: Uuid::from_u128(7)
                },
                MembershipEffect::AttachToContract {
                    contract: ContractId(42)
                },
                MembershipEffect::AttachToContract {
                    contract: ContractId(43)
                },
            ]
        );
        // An existing member only joins the contract.
        assert_eq!(
            join_contract(&code, &acme, true, &contracts, date(2025, 6, 1)),
            vec![MembershipEffect::AttachToContract {
                contract: ContractId(43)
            }]
        );
    }
}
