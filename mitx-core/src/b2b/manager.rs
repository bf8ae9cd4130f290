//! The organization manager API: access, code assignment operations, the code list and
//! contract statistics (pricing-and-b2b spec 5.9), and the service manager check (5.11).
//!
//! Assigning only records intent: any signed-in user holding a code can redeem it.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codes::{enrollment_code_draft, uuid_code};
use super::record::latest_record;
use super::{AttachmentId, AttachmentRecord, CodeStatus, Contract, EmailStatus, MembershipType};
use super::{Membership, Organization};
use crate::Timestamp;
use crate::ids::{ContractId, DiscountId, OrganizationId, ProductId, UserId};
use crate::money::Money;
use crate::pricing::{DiscountCode, DiscountDraft, RedemptionType};

/// Why a manager request was refused. The Display text is the response `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagerError {
    /// Not signed in (403).
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// Signed in but neither superuser nor manager of the organization (403).
    #[error("You do not have permission to perform this action.")]
    Forbidden,
    /// The organization is not one the caller manages (404).
    #[error("Not found.")]
    NotFound,
    /// The body is not valid (400).
    #[error("Invalid request data.")]
    InvalidRequest,
    /// The code is not a code of this contract (404).
    #[error("Code not found for this contract.")]
    CodeNotFound,
    /// The code already has a record (409).
    #[error("Code has already been assigned or redeemed.")]
    AlreadyAssigned,
    /// Storing the assignment failed (500).
    #[error("Error assigning codes.")]
    AssignFailed,
    /// Revoke/reassign of a code without a record (404).
    #[error("No assignment exists for this code.")]
    NoAssignment,
    /// Revoke of a redeemed code (409).
    #[error("Cannot revoke a code that has already been redeemed.")]
    RevokeRedeemed,
    /// Remind for a code without a record (404).
    #[error("Assignment for email does not exist")]
    NoAssignmentForEmail,
    /// Remind for a redeemed code (409).
    #[error("Cannot send a reminder email to an already claimed assignment.")]
    RemindClaimed,
    /// Remind for a record without an email (409).
    #[error("Cannot send a reminder email for an assignment with no assigned email.")]
    RemindNoEmail,
    /// Reassign of a redeemed code (409).
    #[error("Cannot reassign a code that has already been redeemed.")]
    ReassignRedeemed,
}

impl ManagerError {
    /// The HTTP status of the response.
    pub fn http_status(&self) -> u16 {
        match self {
            ManagerError::NotAuthenticated | ManagerError::Forbidden => 403,
            ManagerError::InvalidRequest => 400,
            ManagerError::NotFound
            | ManagerError::CodeNotFound
            | ManagerError::NoAssignment
            | ManagerError::NoAssignmentForEmail => 404,
            ManagerError::AlreadyAssigned
            | ManagerError::RevokeRedeemed
            | ManagerError::RemindClaimed
            | ManagerError::RemindNoEmail
            | ManagerError::ReassignRedeemed => 409,
            ManagerError::AssignFailed => 500,
        }
    }
}

/// The signed-in caller of the manager API.
#[derive(Clone, Copy, Debug)]
pub struct ManagerCaller<'a> {
    /// The caller.
    pub user: UserId,
    /// Superusers pass the permission check (but list only what they manage).
    pub is_superuser: bool,
    /// Organizations where the caller's membership has `is_manager`.
    pub managed: &'a [OrganizationId],
}

impl ManagerCaller<'_> {
    /// Whether the caller manages `organization`.
    pub fn manages(&self, organization: OrganizationId) -> bool {
        self.managed.contains(&organization)
    }
}

/// Access to `/organizations/{org}/…`: signed in, and superuser or manager of `{org}`.
pub fn check_manager_access(
    caller: Option<&ManagerCaller<'_>>,
    organization: OrganizationId,
) -> Result<(), ManagerError> {
    let caller = caller.ok_or(ManagerError::NotAuthenticated)?;
    if caller.is_superuser || caller.manages(organization) {
        Ok(())
    } else {
        Err(ManagerError::Forbidden)
    }
}

/// `GET /organizations/`: the organizations the caller manages (a superuser who manages
/// none sees none), optionally narrowed by `?sso_organization_id=`; a malformed UUID gives
/// an empty list.
pub fn visible_organizations<'a>(
    caller: &ManagerCaller<'_>,
    organizations: &'a [Organization],
    sso_organization_id: Option<&str>,
) -> Vec<&'a Organization> {
    let wanted = match sso_organization_id {
        None => None,
        Some(text) => match Uuid::parse_str(text) {
            Ok(id) => Some(id),
            Err(_) => return Vec::new(),
        },
    };
    organizations
        .iter()
        .filter(|o| caller.manages(o.id))
        .filter(|o| wanted.is_none_or(|id| o.sso_organization_id == Some(id)))
        .collect()
}

/// `GET /organizations/{id}/`: 404 unless the caller manages it.
pub fn organization_detail(
    caller: &ManagerCaller<'_>,
    organization: OrganizationId,
) -> Result<(), ManagerError> {
    if caller.manages(organization) {
        Ok(())
    } else {
        Err(ManagerError::NotFound)
    }
}

/// An email (trimmed, checked) and optional name of an assignee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// Trimmed email.
    pub email: String,
    /// Name, "" when not given.
    pub name: String,
}

impl Assignee {
    /// Parses one `{email, name?}` entry; a missing or malformed email is
    /// "Invalid request data.".
    pub fn parse(email: &str, name: Option<&str>) -> Result<Self, ManagerError> {
        let email = email.trim();
        if !looks_like_email(email) || name.is_some_and(|n| n.chars().count() > 255) {
            return Err(ManagerError::InvalidRequest);
        }
        Ok(Assignee {
            email: email.to_owned(),
            name: name.unwrap_or("").trim().to_owned(),
        })
    }

    /// Parses a bulk body; any invalid entry refuses the whole request.
    pub fn parse_all<'a>(
        entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<Vec<Self>, ManagerError> {
        entries
            .into_iter()
            .map(|(email, name)| Assignee::parse(email, name))
            .collect()
    }
}

/// One `@`, a non-empty local part, a dotted domain, no whitespace, ≤254 characters.
fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// The person behind a redemption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Email address.
    pub email: String,
    /// Full name.
    pub name: String,
}

/// A code of the contract with its records in this contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedCode {
    /// The discount.
    pub discount: DiscountId,
    /// The code text.
    pub code: DiscountCode,
    /// Its records in this contract.
    pub records: Vec<AttachmentRecord>,
    /// The user of the latest record, if it has one.
    pub redeemer: Option<Person>,
}

impl ManagedCode {
    /// The record that decides the code's status.
    pub fn latest(&self) -> Option<&AttachmentRecord> {
        latest_record(&self.records)
    }

    /// unassigned / assigned / redeemed from the latest record.
    pub fn status(&self) -> CodeStatus {
        self.latest()
            .map_or(CodeStatus::Unassigned, AttachmentRecord::status)
    }

    /// The code as the manager API serializes it.
    pub fn view(&self) -> CodeView {
        let latest = self.latest();
        let text = |f: fn(&AttachmentRecord) -> &str| {
            latest.map(f).filter(|s| !s.is_empty()).map(str::to_owned)
        };
        CodeView {
            id: self.discount,
            code: self.code.to_string(),
            redemption_status: self.status(),
            assigned_to: text(|r| &r.assigned_email),
            assigned_on: latest.map(|r| r.created_on),
            assigned_name: text(|r| &r.assigned_name),
            redeemed_on: latest.and_then(|r| r.redeemed_on),
            redeemed_by: self.redeemer.as_ref().map(|p| p.email.clone()),
            last_sent: latest.and_then(|r| r.last_reminder_sent_on),
            email_status: EmailStatus::api_text(latest.and_then(|r| r.email_status))
                .map(str::to_owned),
            email_status_event_timestamp: latest.and_then(|r| r.email_status_event_timestamp),
        }
    }
}

/// The serialized form of a code in the manager API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeView {
    /// The discount id.
    pub id: DiscountId,
    /// The code text.
    pub code: String,
    /// unassigned / assigned / redeemed.
    pub redemption_status: CodeStatus,
    /// The assigned email.
    pub assigned_to: Option<String>,
    /// The record's creation time.
    pub assigned_on: Option<Timestamp>,
    /// The assigned name.
    pub assigned_name: Option<String>,
    /// When it was redeemed.
    pub redeemed_on: Option<Timestamp>,
    /// The redeemer's email.
    pub redeemed_by: Option<String>,
    /// When the invitation was last sent.
    pub last_sent: Option<Timestamp>,
    /// `pending` for pending and accepted, otherwise the stored value.
    pub email_status: Option<String>,
    /// Time of the last stored Mailgun event.
    pub email_status_event_timestamp: Option<Timestamp>,
}

/// A code named in an effect: an existing one, or one created by the same plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeRef {
    /// A stored code.
    Existing(DiscountId),
    /// A code created earlier in the same plan.
    New(DiscountCode),
}

/// One change a manager operation makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManagerEffect {
    /// Insert a new code linked to the product.
    CreateCode {
        /// The contract product.
        product: ProductId,
        /// The code to insert.
        draft: DiscountDraft,
    },
    /// Insert an assignment record (email status `pending`).
    CreateAssignment {
        /// The code.
        code: CodeRef,
        /// The contract.
        contract: ContractId,
        /// The assignee email.
        email: String,
        /// The assignee name.
        name: String,
        /// The manager.
        assigned_by: UserId,
    },
    /// Delete the record.
    DeleteRecord {
        /// The record.
        record: AttachmentId,
    },
    /// Give the discount a new code text (the old one stops working).
    ReplaceCode {
        /// The discount.
        discount: DiscountId,
        /// The replacement text.
        new_code: DiscountCode,
    },
    /// Clear message id, status timestamp and status, then set status `pending`.
    ResetEmailTracking {
        /// The record.
        record: AttachmentId,
    },
    /// New email/name/assigned_by, last reminder cleared, message tracking cleared,
    /// status `pending`.
    Reassign {
        /// The record.
        record: AttachmentId,
        /// The new email.
        email: String,
        /// The new name.
        name: String,
        /// The manager.
        assigned_by: UserId,
    },
    /// Queue one job sending the invitation email for these codes.
    SendInvitations {
        /// The assigned codes.
        codes: Vec<CodeRef>,
    },
}

/// `POST …/codes/{code}/assign/`: 404 when not a code of the contract, 409 when it has
/// any record; else an assignment and an invitation.
pub fn plan_assign(
    code: Option<&ManagedCode>,
    contract: ContractId,
    assignee: &Assignee,
    assigned_by: UserId,
) -> Result<Vec<ManagerEffect>, ManagerError> {
    let code = code.ok_or(ManagerError::CodeNotFound)?;
    if !code.records.is_empty() {
        return Err(ManagerError::AlreadyAssigned);
    }
    let r = CodeRef::Existing(code.discount);
    Ok(vec![
        ManagerEffect::CreateAssignment {
            code: r.clone(),
            contract,
            email: assignee.email.clone(),
            name: assignee.name.clone(),
            assigned_by,
        },
        ManagerEffect::SendInvitations { codes: vec![r] },
    ])
}

/// `DELETE …/codes/{code}/revoke/`: the record is deleted and the code gets a new text,
/// so the revoked assignee's invitation no longer works.
pub fn plan_revoke(
    code: Option<&ManagedCode>,
    new_code: Uuid,
) -> Result<Vec<ManagerEffect>, ManagerError> {
    let code = code.ok_or(ManagerError::CodeNotFound)?;
    let record = code.latest().ok_or(ManagerError::NoAssignment)?;
    if record.is_redeemed() {
        return Err(ManagerError::RevokeRedeemed);
    }
    Ok(vec![
        ManagerEffect::DeleteRecord { record: record.id },
        ManagerEffect::ReplaceCode {
            discount: code.discount,
            new_code: uuid_code(new_code),
        },
    ])
}

/// `POST …/codes/{code}/remind/`: resend the invitation of an unclaimed assignment.
pub fn plan_remind(code: Option<&ManagedCode>) -> Result<Vec<ManagerEffect>, ManagerError> {
    let code = code.ok_or(ManagerError::CodeNotFound)?;
    let record = code.latest().ok_or(ManagerError::NoAssignmentForEmail)?;
    if record.is_redeemed() {
        return Err(ManagerError::RemindClaimed);
    }
    if record.assigned_email.is_empty() {
        return Err(ManagerError::RemindNoEmail);
    }
    Ok(vec![
        ManagerEffect::ResetEmailTracking { record: record.id },
        ManagerEffect::SendInvitations {
            codes: vec![CodeRef::Existing(code.discount)],
        },
    ])
}

/// `PUT …/codes/{code}/reassign/`: a new code text for a new assignee.
pub fn plan_reassign(
    code: Option<&ManagedCode>,
    assignee: &Assignee,
    assigned_by: UserId,
    new_code: Uuid,
) -> Result<Vec<ManagerEffect>, ManagerError> {
    let code = code.ok_or(ManagerError::CodeNotFound)?;
    let record = code.latest().ok_or(ManagerError::NoAssignment)?;
    if record.is_redeemed() {
        return Err(ManagerError::ReassignRedeemed);
    }
    Ok(vec![
        ManagerEffect::ReplaceCode {
            discount: code.discount,
            new_code: uuid_code(new_code),
        },
        ManagerEffect::Reassign {
            record: record.id,
            email: assignee.email.clone(),
            name: assignee.name.clone(),
            assigned_by,
        },
        ManagerEffect::SendInvitations {
            codes: vec![CodeRef::Existing(code.discount)],
        },
    ])
}

/// The error detail for an email that already holds a code of the contract.
pub const EMAIL_ALREADY_ASSIGNED: &str = "Email has already been assigned or has redeemed a code.";

/// The error detail when the contract has no free code left.
pub const NO_AVAILABLE_CODE: &str = "No available code.";

/// One refused bulk entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkAssignError {
    /// The entry's email.
    pub email: String,
    /// The entry's name.
    pub name: String,
    /// Why it was refused.
    pub detail: String,
}

/// One assigned bulk entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkAssigned {
    /// The entry's email.
    pub email: String,
    /// The entry's name.
    pub name: String,
    /// The code assigned.
    pub code: DiscountCode,
}

/// A contract code for bulk assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractCode {
    /// The discount.
    pub discount: DiscountId,
    /// The code text.
    pub code: DiscountCode,
    /// Has any attachment record.
    pub has_record: bool,
}

/// What bulk assignment reads.
#[derive(Clone, Copy, Debug)]
pub struct BulkAssignInput<'a> {
    /// The contract.
    pub contract: &'a Contract,
    /// Parsed entries in request order.
    pub entries: &'a [Assignee],
    /// Every assigned email and redeemer email of the contract's records.
    pub taken_emails: &'a [String],
    /// The contract's codes.
    pub codes: &'a [ContractCode],
    /// The contract's first product (where shortfall codes are created).
    pub first_product: Option<ProductId>,
    /// The manager.
    pub assigned_by: UserId,
}

/// The result of bulk assignment (200 `{"assigned": [...], "errors": [...]}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkAssignPlan {
    /// Assigned entries.
    pub assigned: Vec<BulkAssigned>,
    /// Refused entries.
    pub errors: Vec<BulkAssignError>,
    /// Changes in order.
    pub effects: Vec<ManagerEffect>,
}

/// `POST …/codes/bulk_assign/`: dedupe by lower-cased email (first wins); emails holding a
/// code of the contract are refused; free codes (no record) are used by id; a code-type
/// contract without a cap creates the shortfall as one-time $0 codes on its first
/// product; what is left gets "No available code.". One email job for all assignments.
pub fn plan_bulk_assign(
    input: &BulkAssignInput<'_>,
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> BulkAssignPlan {
    let taken: Vec<String> = input
        .taken_emails
        .iter()
        .map(|e| e.to_lowercase())
        .collect();
    let mut seen: Vec<String> = Vec::new();
    let mut wanted: Vec<&Assignee> = Vec::new();
    let mut errors = Vec::new();
    for entry in input.entries {
        let key = entry.email.to_lowercase();
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        if taken.contains(&key) {
            errors.push(BulkAssignError {
                email: entry.email.clone(),
                name: entry.name.clone(),
                detail: EMAIL_ALREADY_ASSIGNED.to_owned(),
            });
        } else {
            wanted.push(entry);
        }
    }

    let mut free: Vec<&ContractCode> = input.codes.iter().filter(|c| !c.has_record).collect();
    free.sort_by_key(|c| c.discount);
    let mut pool: Vec<(CodeRef, DiscountCode)> = free
        .iter()
        .map(|c| (CodeRef::Existing(c.discount), c.code.clone()))
        .collect();
    let mut effects = Vec::new();
    let uncapped_code_contract = input.contract.membership_type == MembershipType::Code
        && input.contract.seat_cap().is_none();
    if let (true, Some(product)) = (uncapped_code_contract, input.first_product) {
        for _ in pool.len()..wanted.len() {
            let draft = enrollment_code_draft(new_uuid(), Money::ZERO, RedemptionType::OneTime);
            pool.push((CodeRef::New(draft.code.clone()), draft.code.clone()));
            effects.push(ManagerEffect::CreateCode { product, draft });
        }
    }

    let mut assigned = Vec::new();
    let mut pool = pool.into_iter();
    let mut sent = Vec::new();
    for entry in wanted {
        match pool.next() {
            Some((code_ref, code)) => {
                effects.push(ManagerEffect::CreateAssignment {
                    code: code_ref.clone(),
                    contract: input.contract.id,
                    email: entry.email.clone(),
                    name: entry.name.clone(),
                    assigned_by: input.assigned_by,
                });
                sent.push(code_ref);
                assigned.push(BulkAssigned {
                    email: entry.email.clone(),
                    name: entry.name.clone(),
                    code,
                });
            }
            None => errors.push(BulkAssignError {
                email: entry.email.clone(),
                name: entry.name.clone(),
                detail: NO_AVAILABLE_CODE.to_owned(),
            }),
        }
    }
    if !sent.is_empty() {
        effects.push(ManagerEffect::SendInvitations { codes: sent });
    }
    BulkAssignPlan {
        assigned,
        errors,
        effects,
    }
}

/// The `status` filter of the code list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeListStatus {
    /// The latest record is a redemption.
    Redeemed,
    /// The latest record is not a redemption.
    Assigned,
    /// The invitation email failed and the code is not redeemed.
    Failed,
}

impl CodeListStatus {
    /// Parses the query value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "redeemed" => Some(CodeListStatus::Redeemed),
            "assigned" => Some(CodeListStatus::Assigned),
            "failed" => Some(CodeListStatus::Failed),
            _ => None,
        }
    }
}

/// `GET …/codes/`: codes with at least one record, most records first then by id;
/// `search` is a case-insensitive substring of the latest record's assigned email or name
/// or of the redeemer's email or name; `status` also looks at the latest record.
pub fn list_codes<'a>(
    codes: &'a [ManagedCode],
    search: Option<&str>,
    status: Option<CodeListStatus>,
) -> Vec<&'a ManagedCode> {
    let needle = search.map(str::to_lowercase).filter(|s| !s.is_empty());
    let mut listed: Vec<&ManagedCode> = codes
        .iter()
        .filter(|c| !c.records.is_empty())
        .filter(|c| {
            let Some(latest) = c.latest() else {
                return false;
            };
            let search_ok = needle.as_deref().is_none_or(|n| {
                let redeemer = c.redeemer.as_ref();
                [
                    latest.assigned_email.as_str(),
                    latest.assigned_name.as_str(),
                    redeemer.map_or("", |p| p.email.as_str()),
                    redeemer.map_or("", |p| p.name.as_str()),
                ]
                .iter()
                .any(|field| field.to_lowercase().contains(n))
            });
            let status_ok = status.is_none_or(|s| match s {
                CodeListStatus::Redeemed => latest.is_redeemed(),
                CodeListStatus::Assigned => !latest.is_redeemed(),
                CodeListStatus::Failed => {
                    latest.email_status == Some(EmailStatus::Failed) && !latest.is_redeemed()
                }
            });
            search_ok && status_ok
        })
        .collect();
    listed.sort_by(|a, b| {
        b.records
            .len()
            .cmp(&a.records.len())
            .then(a.discount.cmp(&b.discount))
    });
    listed
}

/// The statistics of the contract detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractStats {
    /// attached / max × 100 rounded (half-even) to 2 places; none without a cap.
    pub attachment_percentage: Option<Decimal>,
    /// `max_learners` as stored.
    pub total_codes: Option<u32>,
    /// Records without a redemption.
    pub assigned_codes: u32,
    /// Records with a redemption.
    pub redeemed_codes: u32,
    /// max − assigned − redeemed; none without a cap.
    pub unassigned_codes: Option<i64>,
    /// Distinct active enrollments in the contract's runs (counted by the store).
    pub total_enrollments: u64,
}

/// Computes the contract detail statistics from the attached-learner count and the
/// contract's attachment records.
pub fn contract_stats(
    contract: &Contract,
    attached_learners: u32,
    records: &[AttachmentRecord],
    total_enrollments: u64,
) -> ContractStats {
    let redeemed = records.iter().filter(|r| r.is_redeemed()).count();
    let assigned = records.len() - redeemed;
    let redeemed = u32::try_from(redeemed).unwrap_or(u32::MAX);
    let assigned = u32::try_from(assigned).unwrap_or(u32::MAX);
    let cap = contract.seat_cap();
    ContractStats {
        attachment_percentage: cap.map(|max| {
            (Decimal::from(attached_learners) * Decimal::ONE_HUNDRED / Decimal::from(max))
                .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
        }),
        total_codes: contract.max_learners,
        assigned_codes: assigned,
        redeemed_codes: redeemed,
        unassigned_codes: cap.map(|max| i64::from(max) - i64::from(assigned) - i64::from(redeemed)),
        total_enrollments,
    }
}

/// The OAuth2 scope a service token needs for the manager check.
pub const MANAGER_CHECK_SCOPE: &str = "b2b:manager-check";

/// Why `GET /api/v0/b2b/service/organization-manager-check/` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagerCheckError {
    /// The token lacks `b2b:manager-check` (403).
    #[error("You do not have permission to perform this action.")]
    MissingScope,
    /// Required parameters are missing or empty (400).
    #[error("Missing required query parameter(s): {}", .0.join(", "))]
    MissingParams(Vec<&'static str>),
    /// `sso_organization_id` is not a UUID (400).
    #[error("sso_organization_id must be a UUID")]
    BadUuid,
}

impl ManagerCheckError {
    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        match self {
            ManagerCheckError::MissingScope => 403,
            ManagerCheckError::MissingParams(_) | ManagerCheckError::BadUuid => 400,
        }
    }
}

/// A valid manager-check query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerCheckQuery {
    /// The Keycloak organization id.
    pub sso_organization_id: Uuid,
    /// The user's global (SSO) id.
    pub user_global_id: String,
}

/// Checks the token scopes and the query parameters of the manager check.
pub fn parse_manager_check(
    scopes: &[&str],
    sso_organization_id: Option<&str>,
    user_global_id: Option<&str>,
) -> Result<ManagerCheckQuery, ManagerCheckError> {
    if !scopes.contains(&MANAGER_CHECK_SCOPE) {
        return Err(ManagerCheckError::MissingScope);
    }
    let sso = sso_organization_id.filter(|s| !s.is_empty());
    let user = user_global_id.filter(|s| !s.is_empty());
    let mut missing = Vec::new();
    if sso.is_none() {
        missing.push("sso_organization_id");
    }
    if user.is_none() {
        missing.push("user_global_id");
    }
    let (Some(sso), Some(user)) = (sso, user) else {
        return Err(ManagerCheckError::MissingParams(missing));
    };
    let sso = Uuid::parse_str(sso).map_err(|_| ManagerCheckError::BadUuid)?;
    Ok(ManagerCheckQuery {
        sso_organization_id: sso,
        user_global_id: user.to_owned(),
    })
}

/// `{"is_manager": …}`: the user's membership in the organization has `is_manager`;
/// an unknown user or organization is simply `false`.
pub fn is_manager(membership: Option<&Membership>) -> bool {
    membership.is_some_and(|m| m.is_manager)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b2b::contract::tests::k42;
    use crate::b2b::organization::tests::org;
    use crate::b2b::record::tests::assigned;
    use crate::b2b::run_key::tests::ts;

    fn code(id: i64, records: Vec<AttachmentRecord>) -> ManagedCode {
        ManagedCode {
            discount: DiscountId(id),
            code: uuid_code(Uuid::from_u128(id as u128)),
            records,
            redeemer: None,
        }
    }

    fn a() -> Assignee {
        Assignee::parse("a@example.com", None).unwrap()
    }

    #[test]
    fn pricing_s46_assign_then_assign_again_conflicts() {
        let x = code(7, vec![]);
        let effects = plan_assign(Some(&x), ContractId(42), &a(), UserId(1)).unwrap();
        assert_eq!(
            effects,
            vec![
                ManagerEffect::CreateAssignment {
                    code: CodeRef::Existing(DiscountId(7)),
                    contract: ContractId(42),
                    email: "a@example.com".into(),
                    name: String::new(),
                    assigned_by: UserId(1),
                },
                ManagerEffect::SendInvitations {
                    codes: vec![CodeRef::Existing(DiscountId(7))]
                },
            ]
        );
        // After the store applied it: status assigned, email status pending.
        let stored = code(7, vec![assigned(1, 7, "a@example.com")]);
        assert_eq!(stored.status(), CodeStatus::Assigned);
        assert_eq!(stored.view().email_status.as_deref(), Some("pending"));
        let err = plan_assign(Some(&stored), ContractId(42), &a(), UserId(1)).unwrap_err();
        assert_eq!(err.http_status(), 409);
        assert_eq!(
            err.to_string(),
            "Code has already been assigned or redeemed."
        );
        let err = plan_assign(None, ContractId(42), &a(), UserId(1)).unwrap_err();
        assert_eq!(
            (err.http_status(), err.to_string()),
            (404, "Code not found for this contract.".into())
        );
        assert_eq!(
            Assignee::parse("not-an-email", None),
            Err(ManagerError::InvalidRequest)
        );
        assert_eq!(
            ManagerError::InvalidRequest.to_string(),
            "Invalid request data."
        );
    }

    #[test]
    fn pricing_s47_revoke_redeemed_conflicts_assigned_is_replaced() {
        let mut redeemed = assigned(1, 7, "a@example.com");
        redeemed.user = Some(UserId(9));
        let x = code(7, vec![redeemed]);
        let err = plan_revoke(Some(&x), Uuid::from_u128(99)).unwrap_err();
        assert_eq!(err.http_status(), 409);
        assert_eq!(
            err.to_string(),
            "Cannot revoke a code that has already been redeemed."
        );
        let x = code(7, vec![assigned(1, 7, "a@example.com")]);
        let effects = plan_revoke(Some(&x), Uuid::from_u128(99)).unwrap();
        assert_eq!(
            effects[0],
            ManagerEffect::DeleteRecord {
                record: AttachmentId(1)
            }
        );
        let ManagerEffect::ReplaceCode { new_code, .. } = &effects[1] else {
            panic!("code replacement expected");
        };
        assert_ne!(new_code, &x.code);
        assert_eq!(
            plan_revoke(Some(&code(7, vec![])), Uuid::from_u128(99)),
            Err(ManagerError::NoAssignment)
        );
    }

    #[test]
    fn pricing_s48_remind_without_email_conflicts() {
        let x = code(7, vec![assigned(1, 7, "")]);
        let err = plan_remind(Some(&x)).unwrap_err();
        assert_eq!(err.http_status(), 409);
        assert_eq!(
            err.to_string(),
            "Cannot send a reminder email for an assignment with no assigned email."
        );
        let ok = code(7, vec![assigned(1, 7, "a@example.com")]);
        assert_eq!(
            plan_remind(Some(&ok)).unwrap()[0],
            ManagerEffect::ResetEmailTracking {
                record: AttachmentId(1)
            }
        );
        assert_eq!(
            plan_remind(Some(&code(7, vec![]))).unwrap_err().to_string(),
            "Assignment for email does not exist"
        );
        let mut claimed = assigned(1, 7, "a@example.com");
        claimed.redeemed_on = Some(ts(2025, 5, 1));
        assert_eq!(
            plan_remind(Some(&code(7, vec![claimed]))),
            Err(ManagerError::RemindClaimed)
        );
    }

    #[test]
    fn reassign_rules() {
        let x = code(7, vec![assigned(1, 7, "a@example.com")]);
        let b = Assignee::parse(" b@example.com ", Some("Bea")).unwrap();
        let effects = plan_reassign(Some(&x), &b, UserId(2), Uuid::from_u128(5)).unwrap();
        assert_eq!(
            effects[1],
            ManagerEffect::Reassign {
                record: AttachmentId(1),
                email: "b@example.com".into(),
                name: "Bea".into(),
                assigned_by: UserId(2)
            }
        );
        let mut r = assigned(1, 7, "a@example.com");
        r.user = Some(UserId(3));
        assert_eq!(
            plan_reassign(Some(&code(7, vec![r])), &b, UserId(2), Uuid::from_u128(5))
                .unwrap_err()
                .to_string(),
            "Cannot reassign a code that has already been redeemed."
        );
    }

    #[test]
    fn pricing_s49_manager_of_other_org_is_forbidden() {
        let managed = [OrganizationId(1)];
        let caller = ManagerCaller {
            user: UserId(1),
            is_superuser: false,
            managed: &managed,
        };
        let err = check_manager_access(Some(&caller), OrganizationId(2)).unwrap_err();
        assert_eq!(err.http_status(), 403);
        assert_eq!(
            check_manager_access(Some(&caller), OrganizationId(1)),
            Ok(())
        );
        assert_eq!(
            check_manager_access(None, OrganizationId(1)).map_err(|e| e.http_status()),
            Err(403)
        );
        let su = ManagerCaller {
            user: UserId(2),
            is_superuser: true,
            managed: &[],
        };
        assert_eq!(check_manager_access(Some(&su), OrganizationId(2)), Ok(()));
        // A superuser who manages nothing lists nothing and gets 404 on details.
        let mut o = org(2, "Q", "Q");
        o.sso_organization_id = Some(Uuid::from_u128(3));
        let orgs = [org(1, "O", "O"), o];
        assert!(visible_organizations(&su, &orgs, None).is_empty());
        assert_eq!(
            organization_detail(&su, OrganizationId(2)),
            Err(ManagerError::NotFound)
        );
        let both = [OrganizationId(1), OrganizationId(2)];
        let m = ManagerCaller {
            user: UserId(1),
            is_superuser: false,
            managed: &both,
        };
        assert_eq!(visible_organizations(&m, &orgs, None).len(), 2);
        let sso = Uuid::from_u128(3).to_string();
        assert_eq!(
            visible_organizations(&m, &orgs, Some(&sso))[0].id,
            OrganizationId(2)
        );
        assert!(visible_organizations(&m, &orgs, Some("nope")).is_empty());
    }

    #[test]
    fn pricing_s50_bulk_assign_more_emails_than_free_codes() {
        let mut contract = k42();
        contract.membership_type = MembershipType::Code;
        contract.max_learners = Some(5);
        let codes: Vec<ContractCode> = (1..=5)
            .map(|id| ContractCode {
                discount: DiscountId(id),
                code: uuid_code(Uuid::from_u128(id as u128)),
                has_record: id <= 2,
            })
            .collect();
        let entries: Vec<Assignee> = (1..=5)
            .map(|n| Assignee::parse(&format!("l{n}@example.com"), None).unwrap())
            .collect();
        let input = BulkAssignInput {
            contract: &contract,
            entries: &entries,
            taken_emails: &[],
            codes: &codes,
            first_product: Some(ProductId(1)),
            assigned_by: UserId(1),
        };
        let plan = plan_bulk_assign(&input, &mut || Uuid::from_u128(1000));
        assert_eq!(plan.assigned.len(), 3);
        assert_eq!(plan.errors.len(), 2);
        assert!(plan.errors.iter().all(|e| e.detail == "No available code."));
        assert_eq!(
            plan.errors
                .iter()
                .map(|e| e.email.as_str())
                .collect::<Vec<_>>(),
            vec!["l4@example.com", "l5@example.com"]
        );
        assert_eq!(
            plan.assigned
                .iter()
                .map(|a| a.code.clone())
                .collect::<Vec<_>>(),
            vec![
                codes[2].code.clone(),
                codes[3].code.clone(),
                codes[4].code.clone()
            ]
        );
        assert!(matches!(
            plan.effects.last(),
            Some(ManagerEffect::SendInvitations { codes }) if codes.len() == 3
        ));
    }

    #[test]
    fn bulk_assign_dedupes_refuses_taken_and_creates_shortfall() {
        let mut contract = k42();
        contract.membership_type = MembershipType::Code;
        let entries = Assignee::parse_all([
            ("A@example.com", Some("A")),
            ("a@EXAMPLE.com", Some("dup")),
            ("taken@example.com", None),
            ("b@example.com", None),
        ])
        .unwrap();
        let taken = ["Taken@Example.com".to_owned()];
        let mut n = 0u128;
        let input = BulkAssignInput {
            contract: &contract,
            entries: &entries,
            taken_emails: &taken,
            codes: &[],
            first_product: Some(ProductId(3)),
            assigned_by: UserId(1),
        };
        let plan = plan_bulk_assign(&input, &mut || {
            n += 1;
            Uuid::from_u128(n)
        });
        assert_eq!(plan.assigned.len(), 2);
        assert_eq!(plan.assigned[0].name, "A");
        assert_eq!(
            plan.errors,
            vec![BulkAssignError {
                email: "taken@example.com".into(),
                name: String::new(),
                detail: "Email has already been assigned or has redeemed a code.".into()
            }]
        );
        let created: Vec<&DiscountDraft> = plan
            .effects
            .iter()
            .filter_map(|e| match e {
                ManagerEffect::CreateCode { draft, product } if *product == ProductId(3) => {
                    Some(draft)
                }
                _ => None,
            })
            .collect();
        assert_eq!(created.len(), 2);
        assert!(
            created
                .iter()
                .all(|d| { d.redemption_type == RedemptionType::OneTime && d.amount.is_zero() })
        );
        // Without a product nothing can be created.
        let no_product = BulkAssignInput {
            first_product: None,
            ..input
        };
        let plan = plan_bulk_assign(&no_product, &mut || Uuid::from_u128(1));
        assert!(plan.assigned.is_empty());
        assert_eq!(plan.errors.len(), 3);
        assert!(Assignee::parse_all([("ok@example.com", None), ("bad", None)]).is_err());
    }

    #[test]
    fn pricing_s51_failed_filter_excludes_redeemed() {
        let mut failed = assigned(1, 7, "f@example.com");
        failed.email_status = Some(EmailStatus::Failed);
        let mut failed_redeemed = assigned(2, 8, "g@example.com");
        failed_redeemed.email_status = Some(EmailStatus::Failed);
        failed_redeemed.user = Some(UserId(4));
        let ok = assigned(3, 9, "h@example.com");
        let codes = [
            code(7, vec![failed]),
            code(8, vec![failed_redeemed]),
            code(9, vec![ok]),
            code(10, vec![]),
        ];
        let listed = list_codes(&codes, None, CodeListStatus::parse("failed"));
        assert_eq!(
            listed.iter().map(|c| c.discount.0).collect::<Vec<_>>(),
            vec![7]
        );
    }

    #[test]
    fn code_list_order_search_and_status() {
        let mut redeemed = assigned(4, 8, "");
        redeemed.user = Some(UserId(4));
        let mut second = assigned(5, 9, "zed@example.com");
        second.created_on = ts(2025, 5, 1);
        let mut with_redeemer = code(8, vec![redeemed]);
        with_redeemer.redeemer = Some(Person {
            email: "Learner@Example.com".into(),
            name: "Lea Learner".into(),
        });
        let codes = [
            code(7, vec![assigned(1, 7, "amy@example.com")]),
            with_redeemer,
            code(9, vec![assigned(2, 9, "old@example.com"), second]),
        ];
        let ids = |v: Vec<&ManagedCode>| v.iter().map(|c| c.discount.0).collect::<Vec<_>>();
        assert_eq!(ids(list_codes(&codes, None, None)), vec![9, 7, 8]);
        assert_eq!(ids(list_codes(&codes, Some("LEARNER"), None)), vec![8]);
        assert_eq!(
            ids(list_codes(&codes, Some("old@"), None)),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(list_codes(&codes, None, Some(CodeListStatus::Redeemed))),
            vec![8]
        );
        assert_eq!(
            ids(list_codes(&codes, None, Some(CodeListStatus::Assigned))),
            vec![9, 7]
        );
        let view = codes[1].view();
        assert_eq!(view.redemption_status, CodeStatus::Redeemed);
        assert_eq!(view.redeemed_by.as_deref(), Some("Learner@Example.com"));
        assert_eq!(view.assigned_to, None);
    }

    #[test]
    fn contract_detail_stats() {
        let mut contract = k42();
        contract.max_learners = Some(3);
        let mut r = assigned(2, 8, "b@example.com");
        r.user = Some(UserId(3));
        let records = [assigned(1, 7, "a@example.com"), r];
        let stats = contract_stats(&contract, 2, &records, 5);
        assert_eq!(stats.attachment_percentage, Some(Decimal::new(6667, 2)));
        assert_eq!(stats.total_codes, Some(3));
        assert_eq!((stats.assigned_codes, stats.redeemed_codes), (1, 1));
        assert_eq!(stats.unassigned_codes, Some(1));
        contract.max_learners = None;
        let stats = contract_stats(&contract, 2, &records, 5);
        assert_eq!(stats.attachment_percentage, None);
        assert_eq!(stats.total_codes, None);
        assert_eq!(stats.unassigned_codes, None);
    }

    #[test]
    fn pricing_s56_manager_check_scope_and_parameters() {
        let err = parse_manager_check(&["read"], Some("x"), Some("y")).unwrap_err();
        assert_eq!(err, ManagerCheckError::MissingScope);
        assert_eq!(err.http_status(), 403);
        let err = parse_manager_check(&[MANAGER_CHECK_SCOPE], None, Some("g-1")).unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert_eq!(
            err.to_string(),
            "Missing required query parameter(s): sso_organization_id"
        );
        assert_eq!(
            parse_manager_check(&[MANAGER_CHECK_SCOPE], None, None)
                .unwrap_err()
                .to_string(),
            "Missing required query parameter(s): sso_organization_id, user_global_id"
        );
        assert_eq!(
            parse_manager_check(&[MANAGER_CHECK_SCOPE], Some("nope"), Some("g")),
            Err(ManagerCheckError::BadUuid)
        );
        let sso = Uuid::from_u128(1).to_string();
        let q = parse_manager_check(&[MANAGER_CHECK_SCOPE], Some(&sso), Some("g")).unwrap();
        assert_eq!(q.sso_organization_id, Uuid::from_u128(1));
        let m = Membership {
            user: UserId(1),
            organization: OrganizationId(1),
            keep_until_seen: false,
            is_manager: true,
        };
        assert!(is_manager(Some(&m)));
        assert!(!is_manager(None));
    }
}
