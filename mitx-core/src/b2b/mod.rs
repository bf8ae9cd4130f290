//! B2B organizations, contracts, seats and enrollment codes (pricing-and-b2b spec sections
//! 5, 6.2, 6.3 and 7).
//!
//! Every rule is pure: the caller gathers the facts (contracts, attachment counts, code
//! records, memberships), passes `today` for contract dates and `now` for instants, and
//! gets back a decision plus the effects to store, in order.
//!
//! - [`organization`](Organization) and [`contract`](Contract): entities and derived rules
//!   (auto-type, active for use, full, requires codes, free).
//! - run keys: source-run selection, contract run keys and the new run and product.
//! - codes: `ensure_enrollment_codes_exist` as a [`CodePlan`].
//! - records: attachment records and code status.
//! - attach / enroll / checkout gate: the learner-facing decisions.
//! - manager: the organization manager API and the service manager check.
//! - keycloak: organization sync and per-user membership reconciliation.
//! - mailgun: invitation email helpers and the webhook event filter.
//! - commands: `b2b contract create|modify` argument rules.

// Every public item of this module is documented; keep it so.
#![warn(missing_docs)]

mod attach;
mod checkout_gate;
mod codes;
mod commands;
mod contract;
mod enroll;
mod keycloak;
mod mailgun;
mod manager;
mod membership;
mod organization;
mod record;
mod run_key;

pub use attach::{
    AttachDecision, AttachEffect, AttachError, AttachRequest, AttachStatus, CodeFacts,
    ContractSeats, date_valid_for_attach, decide_attach,
};
pub use checkout_gate::{BasketContract, CheckoutGateError, check_b2b_basket};
pub use codes::{
    CodeChange, CodePlan, CodeSummary, LinkedCode, ProductCodes, enrollment_code_draft,
    plan_enrollment_codes, uuid_code,
};
pub use commands::{
    ContractCommandError, CreateContractOptions, ModifyContractOptions, OrganizationChoice,
    apply_modify, find_contract, new_contract, resolve_contract_org,
};
pub use contract::{Contract, MembershipType};
pub use enroll::{
    B2bEnrollResult, BasketCode, BasketStep, CheckoutAttempt, CheckoutFlags, EnrollCheck,
    EnrollCheckInput, EnrollLookupError, EnrollResponse, ProductCodeLink, after_checkout,
    basket_step, check_b2b_enroll, choose_basket_code, is_enrollable_for_b2b, program_to_enroll,
    single_active_product,
};
pub use keycloak::{
    CachedMembership, KeycloakOrganization, MembershipFact, ORG_KEY_TAKEN, OrgSyncAction,
    OrgSyncPlan, ReconcileInput, ReconcilePlan, SsoOrganizationRef, membership_cache_key,
    payload_org_ids, plan_org_sync, reconcile_user_orgs,
};
pub use mailgun::{
    ASSIGNMENT_TAG, INVITATION_SUBJECT, IgnoredEvent, PLACEHOLDER_CODE, WebhookEvent, apply_event,
    code_url, event_status, event_timestamp, stored_message_id,
};
pub use manager::{
    Assignee, BulkAssignError, BulkAssignInput, BulkAssignPlan, BulkAssigned, CodeListStatus,
    CodeRef, CodeView, ContractCode, ContractStats, EMAIL_ALREADY_ASSIGNED, MANAGER_CHECK_SCOPE,
    ManagedCode, ManagerCaller, ManagerCheckError, ManagerCheckQuery, ManagerEffect, ManagerError,
    NO_AVAILABLE_CODE, Person, check_manager_access, contract_stats, is_manager, list_codes,
    organization_detail, parse_manager_check, plan_assign, plan_bulk_assign, plan_reassign,
    plan_remind, plan_revoke, visible_organizations,
};
pub use membership::{MembershipEffect, active_auto_contracts, add_org_membership, join_contract};
pub use organization::{
    DEFAULT_ORG_KEY_PREFIX, Membership, ORG_KEY_MAX_LEN, ORG_NAME_MAX_LEN, OrgKey, Organization,
    OrganizationError, RETIRED_CONTRACT_NAME, RETIRED_ORG_KEY, check_name, check_prefix,
    default_slug,
};
pub use record::{
    AttachmentId, AttachmentRecord, CodeStatus, EmailStatus, code_status, latest_record,
};
pub use run_key::{
    ContractRunError, ContractRunKey, ContractRunOutcome, ContractRunPlan, ContractRunRequest,
    CourseVariants, NewContractProduct, NewContractRun, RunVariant, SourceRunOptions,
    contract_course_key, contract_product_description, contract_run_key, has_contract_run,
    next_run_index, plan_contract_runs, run_tag_suffix, select_source_runs,
};
