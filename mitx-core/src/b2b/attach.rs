//! Attaching a learner to contracts with an enrollment code:
//! `POST /api/v0/b2b/attach/{code}/` (pricing-and-b2b spec 5.6).
//!
//! Attaching never consumes the code for checkout, and order redemptions do not block it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::membership::{MembershipEffect, join_contract};
use super::{AttachmentId, Contract, Organization};
use crate::Timestamp;
use crate::ids::{ContractId, DiscountId, OrganizationId, UserId};
use crate::pricing::{Discount, RedemptionType};

/// Why a code could not be attached. The Display text is the `detail` of the response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    /// Not signed in (403).
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// Every contract the code could join is full (409).
    #[error("Contract is full.")]
    ContractFull,
    /// No usable discount with this code (404).
    #[error("Invalid or expired enrollment code.")]
    InvalidCode,
    /// The code belongs to no active contract (404).
    #[error("No contracts found for this code.")]
    NoContracts,
    /// Several usable discounts share the code: a data error (500).
    #[error("More than one enrollment code matches.")]
    AmbiguousCode,
}

impl AttachError {
    /// The HTTP status of the response.
    pub fn http_status(&self) -> u16 {
        match self {
            AttachError::NotAuthenticated => 403,
            AttachError::ContractFull => 409,
            AttachError::InvalidCode | AttachError::NoContracts => 404,
            AttachError::AmbiguousCode => 500,
        }
    }
}

/// One discount whose code text matches, with the facts attaching needs.
#[derive(Clone, Debug)]
pub struct CodeFacts<'a> {
    /// The discount.
    pub discount: &'a Discount,
    /// Attachment records of this code that have a user.
    pub records_with_user: usize,
    /// Contracts reached through the code's products (product → run → contract).
    pub contracts: Vec<ContractId>,
    /// Records of this code with no user yet (manager assignments), per contract.
    pub open_records: Vec<(ContractId, AttachmentId)>,
}

/// A contract and its number of attached learners.
#[derive(Clone, Copy, Debug)]
pub struct ContractSeats<'a> {
    /// The contract.
    pub contract: &'a Contract,
    /// Learners attached now.
    pub attached_learners: u32,
}

/// Everything the attach decision reads.
#[derive(Clone, Copy, Debug)]
pub struct AttachRequest<'a> {
    /// `None` when not signed in.
    pub user: Option<UserId>,
    /// Every discount with the requested code text.
    pub codes: &'a [CodeFacts<'a>],
    /// The code's contracts and every contract of their organizations (for auto-attach).
    pub contracts: &'a [ContractSeats<'a>],
    /// The organizations of those contracts.
    pub organizations: &'a [Organization],
    /// Contracts the user is attached to.
    pub user_contracts: &'a [ContractId],
    /// Organizations the user is a member of.
    pub user_memberships: &'a [OrganizationId],
    /// Today's UTC date (contract dates).
    pub today: NaiveDate,
    /// The current instant (code dates, redemption time).
    pub now: Timestamp,
}

/// One thing to store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachEffect {
    /// A membership or contract change.
    Membership(MembershipEffect),
    /// Complete a manager's assignment: set its user and `redeemed_on`.
    FillRecord {
        /// The assignment record.
        record: AttachmentId,
        /// The redeeming user.
        user: UserId,
        /// Now.
        redeemed_on: Timestamp,
    },
    /// Record the redemption.
    CreateRecord {
        /// The code.
        discount: DiscountId,
        /// The contract joined.
        contract: ContractId,
        /// The redeeming user.
        user: UserId,
        /// Now.
        redeemed_on: Timestamp,
    },
}

/// The success statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachStatus {
    /// 201: the user joined at least one contract.
    Created,
    /// 200: nothing to join (e.g. already attached).
    Unchanged,
}

impl AttachStatus {
    /// The HTTP status.
    pub fn http_status(self) -> u16 {
        match self {
            AttachStatus::Created => 201,
            AttachStatus::Unchanged => 200,
        }
    }
}

/// A successful attach: the status, the body's contract (`[contract]` or `[]`), and the
/// effects to store in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachDecision {
    /// 201 or 200.
    pub status: AttachStatus,
    /// The user's first (lowest id) active, in-date contract tied to the code.
    pub contract: Option<ContractId>,
    /// Effects in the order to apply them.
    pub effects: Vec<AttachEffect>,
}

/// Date-valid for attaching: activation ≤ now and expiration ≥ now (open ends allowed).
/// Unlike checkout validity, the expiration instant itself still counts.
pub fn date_valid_for_attach(discount: &Discount, now: Timestamp) -> bool {
    discount.activation_date.is_none_or(|a| a <= now)
        && discount.expiration_date.is_none_or(|e| e >= now)
}

/// Decides `POST /api/v0/b2b/attach/{code}/`.
///
/// 1. The code: date-valid and (unlimited or no record with a user yet); several → 500.
/// 2. None: any active contract of a date-valid code with that text full → 409 "Contract
///    is full.", otherwise 404 "Invalid or expired enrollment code.".
/// 3. No active contract for the code → 404 "No contracts found for this code.".
/// 4. For each active contract the user is not in: full → skipped; otherwise join the
///    organization (`keep_until_seen`; when new: Keycloak and auto contracts), join the
///    contract and fill or create the redemption record.
/// 5. Joined any → 201; else any full → 409; else 200.
pub fn decide_attach(request: &AttachRequest<'_>) -> Result<AttachDecision, AttachError> {
    let user = request.user.ok_or(AttachError::NotAuthenticated)?;
    let (today, now) = (request.today, request.now);
    let seats = |id: ContractId| request.contracts.iter().find(|c| c.contract.id == id);
    let active_contracts = |code: &CodeFacts<'_>| -> Vec<ContractSeats<'_>> {
        let mut found: Vec<ContractSeats<'_>> = code
            .contracts
            .iter()
            .filter_map(|id| seats(*id))
            .filter(|c| c.contract.is_active_on(today))
            .copied()
            .collect();
        found.sort_by_key(|c| c.contract.id);
        found.dedup_by_key(|c| c.contract.id);
        found
    };

    let valid: Vec<&CodeFacts<'_>> = request
        .codes
        .iter()
        .filter(|c| date_valid_for_attach(c.discount, now))
        .collect();
    let usable: Vec<&&CodeFacts<'_>> = valid
        .iter()
        .filter(|c| {
            c.discount.redemption_type == RedemptionType::Unlimited || c.records_with_user == 0
        })
        .collect();
    let code = match usable.as_slice() {
        [] => {
            let any_full = valid.iter().any(|code| {
                active_contracts(code)
                    .iter()
                    .any(|c| c.contract.is_full(c.attached_learners))
            });
            return Err(if any_full {
                AttachError::ContractFull
            } else {
                AttachError::InvalidCode
            });
        }
        [one] => **one,
        _ => return Err(AttachError::AmbiguousCode),
    };

    let code_contracts = active_contracts(code);
    if code_contracts.is_empty() {
        return Err(AttachError::NoContracts);
    }

    let mut attached: Vec<ContractId> = request.user_contracts.to_vec();
    let mut members: Vec<OrganizationId> = request.user_memberships.to_vec();
    let mut effects = Vec::new();
    let (mut joined_any, mut any_full) = (false, false);
    for seat in code_contracts.iter() {
        let contract = seat.contract;
        if attached.contains(&contract.id) {
            continue;
        }
        if contract.is_full(seat.attached_learners) {
            any_full = true;
            continue;
        }
        let Some(organization) = request
            .organizations
            .iter()
            .find(|o| o.id == contract.organization)
        else {
            // A contract always has an organization; one missing from the input cannot
            // be joined, so it is treated like an unknown contract.
            continue;
        };
        let org_contracts = request.contracts.iter().map(|c| c.contract);
        let member = members.contains(&organization.id);
        for effect in join_contract(contract, organization, member, org_contracts, today) {
            if let MembershipEffect::AttachToContract { contract } = effect {
                attached.push(contract);
            }
            effects.push(AttachEffect::Membership(effect));
        }
        members.push(organization.id);
        let open = code
            .open_records
            .iter()
            .find(|(c, _)| *c == contract.id)
            .map(|(_, record)| *record);
        effects.push(match open {
            Some(record) => AttachEffect::FillRecord {
                record,
                user,
                redeemed_on: now,
            },
            None => AttachEffect::CreateRecord {
                discount: code.discount.id,
                contract: contract.id,
                user,
                redeemed_on: now,
            },
        });
        joined_any = true;
    }

    if !joined_any && any_full {
        return Err(AttachError::ContractFull);
    }
    let contract = code_contracts
        .iter()
        .map(|c| c.contract.id)
        .find(|id| attached.contains(id));
    Ok(AttachDecision {
        status: if joined_any {
            AttachStatus::Created
        } else {
            AttachStatus::Unchanged
        },
        contract,
        effects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::MembershipType;
    use crate::b2b::contract::tests::{date, k42};
    use crate::b2b::organization::tests::org;
    use crate::b2b::run_key::tests::ts;
    use crate::pricing::DiscountDraft;
    use crate::pricing::{DiscountCode, DiscountType, PaymentType};
    use rust_decimal::Decimal;
    use uuid::Uuid;

    fn code_discount(id: i64, redemption: RedemptionType) -> Discount {
        DiscountDraft {
            redemption_type: redemption,
            payment_type: Some(PaymentType::Sales),
            is_bulk: true,
            ..DiscountDraft::new(
                DiscountCode::parse("3f1c9a52-0000-4000-8000-000000000001").unwrap(),
                DiscountType::FixedPrice,
                Decimal::ZERO,
            )
        }
        .into_discount(DiscountId(id))
    }

    /// Contract K (id 42) of code type, cap 10.
    fn k() -> Contract {
        let mut c = k42();
        c.membership_type = MembershipType::Code;
        c.max_learners = Some(10);
        c
    }

    fn acme_sso() -> Organization {
        let mut o = org(1, "ACME", "ACME");
        o.sso_organization_id = Some(Uuid::from_u128(0xAC));
        o
    }

    fn today() -> NaiveDate {
        date(2025, 6, 1)
    }

    fn now() -> Timestamp {
        ts(2025, 6, 1)
    }

    fn facts(discount: &Discount) -> CodeFacts<'_> {
        CodeFacts {
            discount,
            records_with_user: 0,
            contracts: vec![ContractId(42)],
            open_records: vec![],
        }
    }

    fn request<'a>(
        user: Option<UserId>,
        codes: &'a [CodeFacts<'a>],
        contracts: &'a [ContractSeats<'a>],
        orgs: &'a [Organization],
        user_contracts: &'a [ContractId],
    ) -> AttachRequest<'a> {
        AttachRequest {
            user,
            codes,
            contracts,
            organizations: orgs,
            user_contracts,
            user_memberships: &[],
            today: today(),
            now: now(),
        }
    }

    #[test]
    fn pricing_s33_new_user_attaches_with_unused_code() {
        let d = code_discount(7, RedemptionType::OneTime);
        let contract = k();
        let codes = [facts(&d)];
        let seats = [ContractSeats {
            contract: &contract,
            attached_learners: 3,
        }];
        let orgs = [acme_sso()];
        let decision =
            decide_attach(&request(Some(UserId(5)), &codes, &seats, &orgs, &[])).unwrap();
        assert_eq!(decision.status.http_status(), 201);
        assert_eq!(decision.contract, Some(ContractId(42)));
        assert_eq!(
            decision.effects,
            vec![
                AttachEffect::Membership(MembershipEffect::CreateMembership {
                    organization: OrganizationId(1),
                    keep_until_seen: true
                }),
                AttachEffect::Membership(MembershipEffect::RegisterInKeycloak {
                    organization: OrganizationId(1),
                    sso_organization_id: Uuid::from_u128(0xAC)
                }),
                AttachEffect::Membership(MembershipEffect::AttachToContract {
                    contract: ContractId(42)
                }),
                AttachEffect::CreateRecord {
                    discount: DiscountId(7),
                    contract: ContractId(42),
                    user: UserId(5),
                    redeemed_on: now()
                },
            ]
        );
    }

    #[test]
    fn manager_assignment_is_filled_and_existing_member_not_reregistered() {
        let d = code_discount(7, RedemptionType::OneTime);
        let contract = k();
        let mut f = facts(&d);
        f.open_records = vec![(ContractId(42), AttachmentId(3))];
        let codes = [f];
        let seats = [ContractSeats {
            contract: &contract,
            attached_learners: 3,
        }];
        let orgs = [acme_sso()];
        let mut req = request(Some(UserId(5)), &codes, &seats, &orgs, &[]);
        let memberships = [OrganizationId(1)];
        req.user_memberships = &memberships;
        let decision = decide_attach(&req).unwrap();
        assert_eq!(
            decision.effects,
            vec![
                AttachEffect::Membership(MembershipEffect::AttachToContract {
                    contract: ContractId(42)
                }),
                AttachEffect::FillRecord {
                    record: AttachmentId(3),
                    user: UserId(5),
                    redeemed_on: now()
                },
            ]
        );
    }

    #[test]
    fn pricing_s34_already_attached_returns_200_without_keycloak() {
        let d = code_discount(7, RedemptionType::Unlimited);
        let contract = k();
        let mut f = facts(&d);
        f.records_with_user = 4;
        let codes = [f];
        let seats = [ContractSeats {
            contract: &contract,
            attached_learners: 4,
        }];
        let orgs = [acme_sso()];
        let mine = [ContractId(42)];
        let decision =
            decide_attach(&request(Some(UserId(5)), &codes, &seats, &orgs, &mine)).unwrap();
        assert_eq!(decision.status.http_status(), 200);
        assert_eq!(decision.contract, Some(ContractId(42)));
        assert!(decision.effects.is_empty());
    }

    #[test]
    fn pricing_s35_unknown_code_is_invalid() {
        let err = decide_attach(&request(Some(UserId(5)), &[], &[], &[], &[])).unwrap_err();
        assert_eq!(err, AttachError::InvalidCode);
        assert_eq!(err.http_status(), 404);
        assert_eq!(err.to_string(), "Invalid or expired enrollment code.");
    }

    #[test]
    fn pricing_s36_code_activating_tomorrow_is_invalid() {
        let mut d = code_discount(7, RedemptionType::OneTime);
        d.activation_date = Some(ts(2025, 6, 2));
        let contract = k();
        let codes = [facts(&d)];
        let seats = [ContractSeats {
            contract: &contract,
            attached_learners: 0,
        }];
        let orgs = [acme_sso()];
        let err = decide_attach(&request(Some(UserId(5)), &codes, &seats, &orgs, &[])).unwrap_err();
        assert_eq!(err.to_string(), "Invalid or expired enrollment code.");
        assert_eq!(err.http_status(), 404);
        // Expiring exactly now still attaches.
        let mut d = code_discount(7, RedemptionType::OneTime);
        d.expiration_date = Some(now());
        assert!(date_valid_for_attach(&d, now()));
    }

    #[test]
    fn pricing_s37_inactive_contract_has_no_contracts() {
        let d = code_discount(7, RedemptionType::OneTime);
        let mut contract = k();
        contract.active = false;
        let codes = [facts(&d)];
        let seats = [ContractSeats {
            contract: &contract,
            attached_learners: 0,
        }];
        let orgs = [acme_sso()];
        let err = decide_attach(&request(Some(UserId(5)), &codes, &seats, &orgs, &[])).unwrap_err();
        assert_eq!(err, AttachError::NoContracts);
        assert_eq!(err.http_status(), 404);
        assert_eq!(err.to_string(), "No contracts found for this code.");
    }

    #[test]
    fn pricing_s38_full_contract_is_409_and_records_nothing() {
        let d = code_discount(7, RedemptionType::OneTime);
        let mut contract = k();
        contract.max_learners = Some(2);
        let codes = [facts(&d)];
        let seats = [ContractSeats {
            contract: &contract,
            attached_learners: 2,
        }];
        let orgs = [acme_sso()];
        let err = decide_attach(&request(Some(UserId(5)), &codes, &seats, &orgs, &[])).unwrap_err();
        assert_eq!(err, AttachError::ContractFull);
        assert_eq!(err.http_status(), 409);
        assert_eq!(err.to_string(), "Contract is full.");
    }

    #[test]
    fn used_one_time_code_on_full_contract_is_409_else_404() {
        let d = code_discount(7, RedemptionType::OneTime);
        let mut contract = k();
        contract.max_learners = Some(1);
        let mut f = facts(&d);
        f.records_with_user = 1;
        let codes = [f];
        let full = [ContractSeats {
            contract: &contract,
            attached_learners: 1,
        }];
        let orgs = [acme_sso()];
        assert_eq!(
            decide_attach(&request(Some(UserId(5)), &codes, &full, &orgs, &[])),
            Err(AttachError::ContractFull)
        );
        contract.max_learners = Some(5);
        let open = [ContractSeats {
            contract: &contract,
            attached_learners: 1,
        }];
        assert_eq!(
            decide_attach(&request(Some(UserId(5)), &codes, &open, &orgs, &[])),
            Err(AttachError::InvalidCode)
        );
    }

    #[test]
    fn two_usable_discounts_with_one_code_are_a_server_error() {
        let a = code_discount(7, RedemptionType::OneTime);
        let b = code_discount(8, RedemptionType::OneTime);
        let codes = [facts(&a), facts(&b)];
        let err = decide_attach(&request(Some(UserId(5)), &codes, &[], &[], &[])).unwrap_err();
        assert_eq!(err.http_status(), 500);
    }

    #[test]
    fn contract_starting_today_accepts_codes() {
        // The original excluded contracts starting today here (start >= today); mitx
        // uses the same "active for use" rule as everywhere else.
        let d = code_discount(7, RedemptionType::OneTime);
        let mut contract = k();
        contract.contract_start = Some(today());
        let codes = [facts(&d)];
        let seats = [ContractSeats {
            contract: &contract,
            attached_learners: 0,
        }];
        let orgs = [acme_sso()];
        let decision =
            decide_attach(&request(Some(UserId(5)), &codes, &seats, &orgs, &[])).unwrap();
        assert_eq!(decision.status, AttachStatus::Created);
    }

    #[test]
    fn pricing_s39_anonymous_is_403() {
        let d = code_discount(7, RedemptionType::OneTime);
        let codes = [facts(&d)];
        let err = decide_attach(&request(None, &codes, &[], &[], &[])).unwrap_err();
        assert_eq!(err, AttachError::NotAuthenticated);
        assert_eq!(err.http_status(), 403);
    }
}
