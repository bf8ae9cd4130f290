//! Argument rules of the `b2b contract create|modify` commands (pricing-and-b2b spec 7).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Contract, MembershipType, OrgKey, Organization, OrganizationError};
use crate::ids::{ContractId, OrganizationId};
use crate::money::Money;

/// Why a contract command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractCommandError {
    /// `create` for an organization that matches no name or org key, without `--create`.
    #[error("Organization '{0}' does not exist. Use --create to create it.")]
    OrganizationMissing(String),
    /// `--create` without `--org-key`.
    #[error("To create '{0}', you must supply an org key.")]
    OrgKeyRequired(String),
    /// The org key given to `--create` is not valid.
    #[error(transparent)]
    InvalidOrgKey(#[from] OrganizationError),
    /// `modify` for an unknown contract id.
    #[error("Contract with ID '{0}' does not exist.")]
    ContractMissing(String),
}

/// The organization a `create` targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrganizationChoice<'a> {
    /// An existing organization matched by name or org key.
    Existing(&'a Organization),
    /// A new organization named `name` with this key (`--create --org-key K`).
    Create {
        /// The `ORG` argument.
        name: String,
        /// `--org-key`.
        org_key: OrgKey,
    },
}

/// Resolves the `ORG` argument of `b2b contract create`: matched by name or org key; when
/// missing, `--create` with `--org-key` creates it.
pub fn resolve_contract_org<'a>(
    organizations: &'a [Organization],
    org: &str,
    create: bool,
    org_key: Option<&str>,
) -> Result<OrganizationChoice<'a>, ContractCommandError> {
    if let Some(found) = organizations
        .iter()
        .find(|o| o.name == org || o.org_key.as_str() == org)
    {
        return Ok(OrganizationChoice::Existing(found));
    }
    if !create {
        return Err(ContractCommandError::OrganizationMissing(org.to_owned()));
    }
    let key = org_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ContractCommandError::OrgKeyRequired(org.to_owned()))?;
    Ok(OrganizationChoice::Create {
        name: org.to_owned(),
        org_key: OrgKey::parse(key)?,
    })
}

/// The options of `b2b contract create`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateContractOptions {
    /// `--description`.
    pub description: Option<String>,
    /// `--start`.
    pub start: Option<NaiveDate>,
    /// `--end`.
    pub end: Option<NaiveDate>,
    /// `--max-learners N`.
    pub max_learners: Option<u32>,
    /// `--price D`.
    pub price: Option<Money>,
}

/// The contract `b2b contract create ORG NAME TYPE` makes (the store assigns the id).
pub fn new_contract(
    id: ContractId,
    organization: OrganizationId,
    name: &str,
    membership_type: MembershipType,
    options: &CreateContractOptions,
) -> Contract {
    let mut c = Contract::new(id, organization, name);
    c.membership_type = membership_type;
    c.description = options.description.clone().unwrap_or_default();
    c.contract_start = options.start;
    c.contract_end = options.end;
    c.max_learners = options.max_learners;
    c.enrollment_fixed_price = options.price;
    c
}

/// Finds the contract of `b2b contract modify ID`.
pub fn find_contract<'a>(
    contracts: &'a [Contract],
    id: &str,
) -> Result<&'a Contract, ContractCommandError> {
    id.trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| contracts.iter().find(|c| c.id == ContractId(n)))
        .ok_or_else(|| ContractCommandError::ContractMissing(id.to_owned()))
}

/// The options of `b2b contract modify`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyContractOptions {
    /// `--start`.
    pub start: Option<NaiveDate>,
    /// `--end`.
    pub end: Option<NaiveDate>,
    /// `--active`.
    pub active: bool,
    /// `--inactive` or `--delete` (applied after `--active`).
    pub inactive: bool,
    /// 0 allowed (= unlimited).
    pub max_learners: Option<u32>,
    /// `--price D`.
    pub price: Option<Money>,
    /// `--no-price`.
    pub no_price: bool,
    /// `--no-learner-cap`.
    pub no_learner_cap: bool,
    /// `--no-start-date`.
    pub no_start_date: bool,
    /// `--no-end-date`.
    pub no_end_date: bool,
}

/// Applies `modify` options; the `--no-*` flags are applied last, so they win over values
/// given in the same call.
pub fn apply_modify(contract: &Contract, options: &ModifyContractOptions) -> Contract {
    let mut c = contract.clone();
    if let Some(start) = options.start {
        c.contract_start = Some(start);
    }
    if let Some(end) = options.end {
        c.contract_end = Some(end);
    }
    if options.active {
        c.active = true;
    }
    if options.inactive {
        c.active = false;
    }
    if let Some(max) = options.max_learners {
        c.max_learners = Some(max);
    }
    if let Some(price) = options.price {
        c.enrollment_fixed_price = Some(price);
    }
    if options.no_price {
        c.enrollment_fixed_price = None;
    }
    if options.no_learner_cap {
        c.max_learners = None;
    }
    if options.no_start_date {
        c.contract_start = None;
    }
    if options.no_end_date {
        c.contract_end = None;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::contract::tests::{date, k42};
    use crate::b2b::organization::tests::org;

    #[test]
    fn pricing_s58_create_for_missing_org() {
        let orgs = [org(1, "Acme", "ACME")];
        let err = resolve_contract_org(&orgs, "NoSuchOrg", false, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Organization 'NoSuchOrg' does not exist. Use --create to create it."
        );
        let err = resolve_contract_org(&orgs, "NoSuchOrg", true, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "To create 'NoSuchOrg', you must supply an org key."
        );
        assert_eq!(
            resolve_contract_org(&orgs, "NoSuchOrg", true, Some("NSO")).unwrap(),
            OrganizationChoice::Create {
                name: "NoSuchOrg".into(),
                org_key: OrgKey::parse("NSO").unwrap()
            }
        );
        for arg in ["Acme", "ACME"] {
            assert!(matches!(
                resolve_contract_org(&orgs, arg, false, None),
                Ok(OrganizationChoice::Existing(o)) if o.id == OrganizationId(1)
            ));
        }
    }

    #[test]
    fn create_and_modify_contracts() {
        let options = CreateContractOptions {
            description: Some("Pilot".into()),
            start: Some(date(2025, 1, 1)),
            end: None,
            max_learners: Some(20),
            price: Some(Money::from_cents(4900)),
        };
        let c = new_contract(
            ContractId(3),
            OrganizationId(1),
            "C1",
            MembershipType::Code,
            &options,
        );
        assert_eq!(c.slug, "c1");
        assert_eq!(c.membership_type, MembershipType::Code);
        assert_eq!(c.max_learners, Some(20));
        assert!(c.active);

        let contracts = [k42()];
        assert_eq!(
            find_contract(&contracts, "7").unwrap_err().to_string(),
            "Contract with ID '7' does not exist."
        );
        let found = find_contract(&contracts, "42").unwrap();
        let modified = apply_modify(
            found,
            &ModifyContractOptions {
                end: Some(date(2026, 1, 1)),
                inactive: true,
                max_learners: Some(0),
                price: Some(Money::from_cents(100)),
                no_price: true,
                no_start_date: true,
                ..ModifyContractOptions::default()
            },
        );
        assert_eq!(modified.contract_start, None);
        assert_eq!(modified.contract_end, Some(date(2026, 1, 1)));
        assert!(!modified.active);
        assert_eq!(modified.max_learners, Some(0));
        assert_eq!(modified.enrollment_fixed_price, None);
    }
}
