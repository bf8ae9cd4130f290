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

/// How long a lease lasts unless renewed or given back. The holder renews it every third of
/// this while it works, so a long partner call keeps it and a dead process frees it soon.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

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

/// A lease this process holds; renewed in the background until released or dropped.
#[derive(Debug)]
pub struct Lease {
    name: String,
    holder: String,
    renewer: tokio::task::JoinHandle<()>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

impl Lease {
    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops renewing it (it is about to be given back; if that does not commit, it
    /// expires within the TTL).
    pub fn stop_renewing(&self) {
        self.renewer.abort();
    }

    /// Who holds it.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Gives the lease back inside `tx`, so it is released exactly when the outcome is
    /// committed (and kept if the unit of work rolls back, until [`Lease::release`] or its
    /// expiry). Renewal stops now: a rolled-back release then expires within the TTL.
    pub async fn release_in(&self, tx: &mut Tx) -> Result<(), StoreError> {
        self.stop_renewing();
        tx.release_lease(&self.name, &self.holder).await.map(drop)
    }

    /// Gives the lease back on its own (when no unit of work followed, or it failed). A
    /// failure is logged: the lease then simply expires.
    pub async fn release(self, services: &Services) {
        self.renewer.abort();
        if let Err(err) = services.db().release_lease(&self.name, &self.holder).await {
            tracing::warn!(lease = %self.name, %err, "lease not released; it will expire");
        }
    }
}

fn ttl() -> chrono::Duration {
    chrono::Duration::from_std(LEASE_TTL).unwrap_or_else(|_| chrono::Duration::seconds(30))
}

/// Takes (or renews) the lease for `holder`: one statement, its own unit of work.
async fn take(services: &Services, name: &str, holder: &str) -> Result<bool, StoreError> {
    let now = services.now();
    services
        .db()
        .acquire_lease(name, holder, now + ttl(), now)
        .await
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
    acquire_as(services, name, holder, wait).await
}

/// Takes the lease `name` for `holder` (a job's lease holder is the job, so a later attempt
/// of the same job takes over the lease of an attempt whose worker died).
pub async fn acquire_as(
    services: &Services,
    name: String,
    holder: String,
    wait: Duration,
) -> Result<Lease, LeaseError> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if take(services, &name, &holder).await? {
            return Ok(held(services, name, holder));
        }
        if started.elapsed() >= wait {
            return Err(LeaseError::Busy(name));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// A lease just taken: renewed in the background from now on.
fn held(services: &Services, name: String, holder: String) -> Lease {
    let renewer = tokio::spawn(renew(services.clone(), name.clone(), holder.clone()));
    Lease {
        name,
        holder,
        renewer,
    }
}

/// Takes several `(name, holder)` leases in one statement without waiting (the worker's
/// batch of claimed jobs): the leases taken; a name someone else holds is left out, and
/// its taker waits for it with [`acquire_as`] as usual.
pub async fn acquire_batch(
    services: &Services,
    claims: &[(String, String)],
) -> Result<Vec<Lease>, StoreError> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let now = services.now();
    let taken = services
        .db()
        .acquire_leases(claims, now + ttl(), now)
        .await?;
    Ok(taken
        .into_iter()
        .map(|(name, holder)| held(services, name, holder))
        .collect())
}

/// Renews a lease every third of its TTL until aborted.
async fn renew(services: Services, name: String, holder: String) {
    loop {
        tokio::time::sleep(LEASE_TTL / 3).await;
        match take(&services, &name, &holder).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(lease = %name, "lease lost to another holder while working");
                return;
            }
            Err(err) => tracing::warn!(lease = %name, %err, "lease not renewed"),
        }
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

/// The lease of one order's refund, by its reference number (what both refund commands
/// are given, so the lease is taken before the order is read).
pub fn order_refund_lease(reference: &str) -> String {
    format!("order-refund:{reference}")
}
