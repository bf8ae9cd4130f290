//! The edX user repair (courses spec 4.4 `repair_faulty_openedx_users`): active users who
//! have logged in, were created more than 5 minutes ago and have no synced edX account (and
//! no recorded sync error) get one.

use mitx_core::enrollment::{EdxLinkState, REPAIR_GRACE_PERIOD_MINUTES, needs_user_repair};
use mitx_store::StoreError;
use serde::Serialize;

use super::users::ensure_edx_account;
use crate::Services;

/// Users one run looks at, at most.
const BATCH: i64 = 500;

/// What one repair run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RepairOutcome {
    /// Users looked at.
    pub checked: u64,
    /// Accounts created (or found synced meanwhile).
    pub repaired: u64,
    /// Users still without an account.
    pub failed: u64,
}

impl RepairOutcome {
    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "checked {} user(s): {} repaired, {} failed",
            self.checked, self.repaired, self.failed
        )
    }
}

/// Creates the missing edX accounts of up to 500 users.
pub async fn repair_users(services: &Services) -> Result<RepairOutcome, StoreError> {
    let now = services.now();
    let created_before = now - chrono::Duration::minutes(REPAIR_GRACE_PERIOD_MINUTES);
    let candidates = services
        .store()
        .edx_repair_candidates(created_before, BATCH)
        .await?;
    let mut outcome = RepairOutcome::default();
    for candidate in candidates {
        let state = EdxLinkState {
            user_is_active: candidate.is_active,
            has_logged_in: candidate.has_logged_in,
            user_created_on: candidate.created_on,
            has_openedx_user: candidate.has_openedx_user,
            // Missing API tokens alone are not repaired: mitx cannot mint them yet.
            has_api_auth: true,
            has_been_synced: candidate.has_been_synced,
            has_sync_error: candidate.has_sync_error,
        };
        if !needs_user_repair(&state, now) {
            continue;
        }
        outcome.checked += 1;
        match ensure_edx_account(services, candidate.user).await {
            Ok(_) => outcome.repaired += 1,
            Err(err) => {
                outcome.failed += 1;
                tracing::warn!(user = %candidate.user, err = %crate::cause_chain(&err), "edX account not repaired");
            }
        }
    }
    Ok(outcome)
}
