//! Enrollment rules: enroll, upgrade, downgrade, unenroll, program enrollment and
//! deferral (courses spec section 2), plus the pure parts of the Open edX integration that
//! concern enrollments and runs (4.3 username rule, 4.4 repair jobs, 4.6 run sync).
//!
//! Every workflow is a pure decision: it takes the current records and the outcome of any
//! partner call as values and returns the rows to save and the effects to perform.

mod auto_upgrade;
mod deferral;
mod edx;
mod edx_sync;
mod edx_username;
mod enroll;
#[cfg(test)]
mod fixtures;
mod form;
mod program;
mod purchase;
mod retry;
mod run_sync;
mod types;
mod unenroll;
mod verified_program;
mod webhook;

pub use auto_upgrade::{plan_program_upgrade, qualifies_for_program_upgrade};
pub use deferral::{
    DeferralError, DeferralPlan, DeferralRequest, DeferralSource, DeferralStep, DeferralTarget,
    DeferralValidationError, check_audit_deactivation, check_source_downgrade,
    check_target_enrollment, plan_deferral,
};
pub use edx::{EdxFailure, EdxOutcome, FailureKind};
pub use edx_sync::{
    DashboardApi, EdxEnrollment, EnrollmentSyncDiff, diff_edx_enrollments, sync_error_is_fatal,
};
pub use edx_username::{
    EDX_USERNAME_MAX_LEN, EdxUsernameError, EdxUsernameSource, SUFFIX_RANGES, base_edx_username,
    choose_edx_username,
};
pub use enroll::{
    EnrollChange, EnrollEffect, EnrollOutcome, EnrollRequest, EnrollRequestError, EnrollTarget,
    RunEnrollmentPlan, WindowCheck, check_api_enroll, is_repeat_enrollment, needs_edx_enroll_call,
    plan_enroll, plan_enrollments, plan_purchase_enrollment,
};
pub use form::{
    FormEnrollResponse, FormPrecheck, FormRedirect, UserMessage, form_enrollment_result,
    form_refusal, precheck_form_enrollment,
};
pub use program::{
    ProgramEnrollRequestError, ProgramEnrollResponse, ProgramEnrollmentChange,
    ProgramUnenrollError, can_unenroll_from_program, plan_program_enroll_request,
    plan_program_enrollment, plan_program_unenroll,
};
pub use purchase::{
    PURCHASE_KEEP_FAILED, PaidRecord, ProgramPurchasePlan, plan_program_purchase,
    plan_run_purchase, program_purchase_upgrades, refund_downgrade_request, run_purchase_request,
};
pub use retry::{
    EdxLinkState, MAX_ENROLLMENT_RETRIES, REPAIR_GRACE_PERIOD_MINUTES, RetryResult,
    apply_retry_outcome, is_retry_eligible, needs_user_repair,
};
pub use run_sync::{
    EdxCourseItem, RunSyncError, RunSyncOutcome, SyncBatch, SyncTally, apply_edx_course_item,
    is_sync_candidate, plan_sync_batch,
};
pub use types::{ChangeStatus, ProgramEnrollment, RunEnrollment};
pub use unenroll::{
    EnrollmentNotFound, UnenrollEffect, UnenrollEmail, UnenrollOutcome, UnenrollPlan,
    addressable_enrollment, plan_unenroll,
};
pub use verified_program::{
    ProgramCandidate, VerifiedProgramAction, VerifiedProgramEnrollError, VerifiedProgramPlan,
    VerifiedProgramRequest, plan_verified_program_enrollment,
};
pub use webhook::{WebhookEnrollmentPlan, plan_webhook_enrollment};
