//! Open edX accounts (courses spec 4.3 "edX user creation", 4.4 user repair): make sure a
//! learner has an edX account before an enrollment call, choosing the username by the
//! spec's rules, handling edX's duplicate-username and duplicate-email answers, and
//! recording a refusal for an operator.
//!
//! Per-user edX API tokens are obtained by logging in to edX through mitx's own OAuth2
//! provider, which mitx does not have yet: accounts are created without them, and calls
//! that need them say so (docs/compatibility.md).

use std::collections::HashSet;

use mitx_core::enrollment::{EdxUsernameError, EdxUsernameSource, choose_edx_username};
use mitx_core::ids::UserId;
use mitx_core::users::legal_address::EDX_US_STATE_CODES;
use mitx_core::users::profile::{Gender, HighestEducation};
use mitx_store::StoreError;
use mitx_store::openedx::EdxUserRecord;
use mitx_store::users::{UserDetail, UserKey};

use super::client::{EdxError, Registration, RegistrationOutcome};
use crate::Services;
use crate::leases::{self, LeaseError};

/// How long account creation waits for another request creating the same account.
const ACCOUNT_LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Registration attempts before giving up (spec: at most 4, a fresh username resets them).
const MAX_ATTEMPTS: u32 = 4;

/// Fresh usernames tried after edX's duplicate-username answers, at most.
const MAX_RENAMES: u32 = 6;

/// Why a learner has no usable edX account.
#[derive(Debug, thiserror::Error)]
pub enum EdxAccountError {
    /// No such user.
    #[error("user {0} not found")]
    UnknownUser(UserId),
    /// The account is inactive.
    #[error("user {0} is inactive")]
    Inactive(UserId),
    /// edX refused the account for good; an operator must look at `sync_error_data`.
    #[error("Open edX refused an account for user {user} ({status}); see its sync error")]
    Refused {
        /// The user.
        user: UserId,
        /// edX's status.
        status: u16,
    },
    /// No username could be derived.
    #[error(transparent)]
    Username(#[from] EdxUsernameError),
    /// edX failed (it can work later).
    #[error(transparent)]
    Edx(#[from] EdxError),
    /// Another request is creating this account.
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The learner's edX username, creating the edX account first when it does not exist yet.
pub async fn ensure_edx_account(
    services: &Services,
    user: UserId,
) -> Result<String, EdxAccountError> {
    if let Some(username) = synced_username(services.store().edx_user(user).await?) {
        return Ok(username);
    }
    let lease = leases::acquire(services, leases::edx_user_lease(user), ACCOUNT_LEASE_WAIT).await?;
    let result = create_account(services, user, &lease).await;
    if result.is_err() {
        lease.release(services).await;
    }
    result
}

fn synced_username(record: Option<EdxUserRecord>) -> Option<String> {
    record
        .filter(|r| r.has_been_synced)
        .and_then(|r| r.edx_username)
}

/// The registration form of a user.
pub fn registration_for(detail: &UserDetail, username: &str) -> Registration {
    let address = detail.legal_address.as_ref();
    let profile = detail.user_profile.as_ref();
    let country = address.and_then(|a| a.country.clone()).unwrap_or_default();
    let state = address
        .and_then(|a| a.state.as_deref())
        .filter(|_| country == "US")
        .and_then(|s| s.strip_prefix("US-"))
        .filter(|code| EDX_US_STATE_CODES.contains(code))
        .unwrap_or_default()
        .to_owned();
    Registration {
        username: username.to_owned(),
        email: detail.user.email.clone(),
        name: detail.user.name.clone(),
        country,
        state,
        gender: profile
            .and_then(|p| p.gender.as_deref())
            .and_then(Gender::from_code)
            .map(|g| g.edx_code().to_owned())
            .unwrap_or_default(),
        year_of_birth: profile
            .and_then(|p| p.year_of_birth)
            .map(|y| y.to_string())
            .unwrap_or_default(),
        level_of_education: profile
            .and_then(|p| p.highest_education.as_deref())
            .and_then(HighestEducation::from_label)
            .map(|e| e.edx_code().to_owned())
            .unwrap_or_default(),
    }
}

async fn create_account(
    services: &Services,
    user: UserId,
    lease: &leases::Lease,
) -> Result<String, EdxAccountError> {
    let store = services.store();
    let existing = store.edx_user(user).await?;
    if let Some(username) = synced_username(existing.clone()) {
        finish(services, lease, None).await?;
        return Ok(username);
    }
    if let Some(record) = &existing
        && record.has_sync_error
    {
        return Err(EdxAccountError::Refused { user, status: 0 });
    }
    let detail = match store.user_detail(&UserKey::Id(user.0)).await {
        Ok(detail) => detail,
        Err(StoreError::NotFound { .. }) => return Err(EdxAccountError::UnknownUser(user)),
        Err(other) => return Err(other.into()),
    };
    if !detail.user.is_active {
        return Err(EdxAccountError::Inactive(user));
    }
    let desired = existing
        .as_ref()
        .and_then(|r| r.desired_edx_username.clone());
    let mut record = EdxUserRecord {
        user,
        edx_username: None,
        desired_edx_username: desired.clone(),
        has_been_synced: false,
        has_sync_error: false,
        sync_error_data: None,
    };
    // The stored username is kept; otherwise one is chosen and reserved locally first, so
    // two learners never race for the same edX name.
    let mut username = match existing.and_then(|r| r.edx_username) {
        Some(name) => name,
        None => {
            reserve_new_username(services, &detail, desired.as_deref(), &mut record, &[]).await?
        }
    };
    record.edx_username = Some(username.clone());
    let mut attempts = 0;
    let mut renames = 0;
    let mut lti_fixed = false;
    loop {
        attempts += 1;
        let registration = registration_for(&detail, &username);
        match services.edx().register(&registration).await? {
            RegistrationOutcome::Created => {
                record.has_been_synced = true;
                finish(services, lease, Some(&record)).await?;
                tracing::info!(user = %user, edx_username = %username, "edX account created");
                return Ok(username);
            }
            RegistrationOutcome::DuplicateUsername(suggestions) if renames < MAX_RENAMES => {
                renames += 1;
                attempts = 0;
                username = reserve_new_username(
                    services,
                    &detail,
                    desired.as_deref(),
                    &mut record,
                    &suggestions,
                )
                .await?;
            }
            RegistrationOutcome::DuplicateEmail if !lti_fixed && attempts < MAX_ATTEMPTS => {
                lti_fixed = true;
                services.edx().fix_lti_user(&detail.user.email).await?;
            }
            RegistrationOutcome::DuplicateUsername(_) | RegistrationOutcome::DuplicateEmail => {
                return refuse(services, lease, record, 409, "duplicate account").await;
            }
            RegistrationOutcome::Refused { status, body } => {
                return refuse(services, lease, record, status, &body).await;
            }
        }
        if attempts >= MAX_ATTEMPTS {
            return refuse(services, lease, record, 409, "too many attempts").await;
        }
    }
}

/// Chooses a username not taken locally (edX's suggestions first, in order), stores it on
/// the user's record, and returns it.
async fn reserve_new_username(
    services: &Services,
    detail: &UserDetail,
    desired: Option<&str>,
    record: &mut EdxUserRecord,
    suggestions: &[String],
) -> Result<String, EdxAccountError> {
    let rejected = record.edx_username.clone();
    let source = EdxUsernameSource {
        existing: None,
        desired,
        username: &detail.user.username,
        email: &detail.user.email,
        name: &detail.user.name,
    };
    let base = mitx_core::enrollment::base_edx_username(&source).ok_or(EdxUsernameError::Empty)?;
    for _ in 0..5 {
        let mut chosen = None;
        for suggestion in suggestions {
            if Some(suggestion) != rejected.as_ref() && !taken_locally(services, suggestion).await?
            {
                chosen = Some(suggestion.clone());
                break;
            }
        }
        let chosen = match chosen {
            Some(name) => name,
            None => {
                let mut taken: HashSet<String> = services
                    .store()
                    .taken_edx_usernames(&base)
                    .await?
                    .into_iter()
                    .collect();
                taken.extend(rejected.clone());
                choose_edx_username(&source, &|name| taken.contains(name), &mut random_in)?
            }
        };
        record.edx_username = Some(chosen.clone());
        let mut tx = services.db().begin().await?;
        match tx.save_edx_user(record, services.now()).await {
            Ok(()) => {
                tx.commit().await?;
                return Ok(chosen);
            }
            // Another learner took the name between our read and our write: choose again.
            Err(StoreError::Conflict(_)) => {
                tx.rollback().await?;
                record.edx_username = rejected.clone();
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(EdxUsernameError::Exhausted(base).into())
}

async fn taken_locally(services: &Services, name: &str) -> Result<bool, StoreError> {
    Ok(services
        .store()
        .taken_edx_usernames(name)
        .await?
        .iter()
        .any(|taken| taken == name))
}

fn random_in(range: std::ops::RangeInclusive<u32>) -> u32 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    let span = range.end() - range.start() + 1;
    range.start() + u32::from_le_bytes(bytes) % span
}

/// Records the outcome (when there is one) and gives the lease back, in one unit of work.
async fn finish(
    services: &Services,
    lease: &leases::Lease,
    record: Option<&EdxUserRecord>,
) -> Result<(), StoreError> {
    let mut tx = services.db().begin().await?;
    if let Some(record) = record {
        tx.save_edx_user(record, services.now()).await?;
    }
    lease.release_in(&mut tx).await?;
    tx.commit().await
}

async fn refuse(
    services: &Services,
    lease: &leases::Lease,
    mut record: EdxUserRecord,
    status: u16,
    body: &str,
) -> Result<String, EdxAccountError> {
    let user = record.user;
    record.has_sync_error = true;
    record.sync_error_data = Some(
        serde_json::json!({"status": status, "body": body})
            .to_string()
            .chars()
            .take(4000)
            .collect(),
    );
    finish(services, lease, Some(&record)).await?;
    tracing::warn!(user = %user, status, "Open edX refused the account; recorded as a sync error");
    Err(EdxAccountError::Refused { user, status })
}

impl EdxAccountError {
    /// The failure as the enrollment rules see it: no usable account is
    /// `OpenEdxUserMissing`, except edX or the database being unreachable, which may pass.
    pub fn failure(&self) -> mitx_core::enrollment::EdxFailure {
        use mitx_core::enrollment::EdxFailure;
        match self {
            EdxAccountError::Edx(err) => match err.failure() {
                EdxFailure::Http { status } if (400..500).contains(&status) && status != 429 => {
                    EdxFailure::UserMissing
                }
                other => other,
            },
            EdxAccountError::Lease(_) | EdxAccountError::Store(_) => EdxFailure::Unknown,
            _ => EdxFailure::UserMissing,
        }
    }
}
