//! Leases held across partner calls. A workflow that calls a partner (edX enroll, unenroll,
//! account creation) takes the lease of what it changes (`enrollment:{user}:{run}`,
//! `edx-user:{user}`) before it reads, makes the call outside any transaction, and gives
//! the lease back in the unit of work that records the outcome. Concurrent requests for the
//! same thing queue on the lease instead of calling the partner twice; a process that dies
//! holding one blocks the name only until it expires.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mitx_store::{StoreError, Tx};

use crate::Services;

/// How long a lease lasts unless given back: longer than one edX call may take.
pub const LEASE_TTL: Duration = Duration::from_secs(120);

/// How long a request waits for a lease before giving up as busy.
pub const LEASE_WAIT: Duration = Duration::from_secs(15);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Why a lease could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another request held it for longer than we were willing to wait.
    #[error("{0} is busy: another request is changing it; try again shortly")]
    Busy(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lease this process holds.
#[derive(Debug)]
pub struct Lease {
    name: String,
    holder: String,
}

impl Lease {
    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gives the lease back inside `tx`, so it is released exactly when the outcome is
    /// committed (and kept if the unit of work rolls back, until [`Lease::release`] or its
    /// expiry).
    pub async fn release_in(&self, tx: &mut Tx) -> Result<(), StoreError> {
        tx.release_lease(&self.name, &self.holder).await.map(drop)
    }

    /// Gives the lease back on its own (when no unit of work followed, or it failed). A
    /// failure is logged: the lease then simply expires.
    pub async fn release(self, services: &Services) {
        let result = async {
            let mut tx = services.db().begin().await?;
            tx.release_lease(&self.name, &self.holder).await?;
            tx.commit().await
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(lease = %self.name, %err, "lease not released; it will expire");
        }
    }
}

/// Takes the lease `name`, waiting up to `wait` while someone else holds it.
pub async fn acquire(
    services: &Services,
    name: String,
    wait: Duration,
) -> Result<Lease, LeaseError> {
    let holder = format!(
        "{}:{}",
        services.instance(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        let now = services.now();
        let expires = now
            + chrono::Duration::from_std(LEASE_TTL)
                .unwrap_or_else(|_| chrono::Duration::minutes(2));
        let mut tx = services.db().begin().await?;
        let taken = tx.acquire_lease(&name, &holder, expires, now).await?;
        tx.commit().await?;
        if taken {
            return Ok(Lease { name, holder });
        }
        if started.elapsed() >= wait {
            return Err(LeaseError::Busy(name));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The lease of one learner's enrollment in one run.
pub fn enrollment_lease(user: mitx_core::ids::UserId, run: mitx_core::ids::CourseRunId) -> String {
    format!("enrollment:{}:{}", user.0, run.0)
}

/// The lease of one learner's edX account.
pub fn edx_user_lease(user: mitx_core::ids::UserId) -> String {
    format!("edx-user:{}", user.0)
}
