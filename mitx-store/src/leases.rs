//! Named leases (`leases`): a short-lived claim on a name (`enrollment:7:12`,
//! `edx-user:7`) held across a partner call, which never runs inside a database
//! transaction. A lease expires on its own, so a process that dies holding one blocks the
//! name only until then.
//!
//! Taking a lease is an upsert that succeeds when the name is free, expired, or already
//! held by the same holder; releasing deletes the row only for its holder, so a holder whose
//! lease expired and was taken over cannot release the new holder's lease.

use chrono::{DateTime, Utc};

use crate::{StoreError, Tx, backend_queries, with_db};

backend_queries! {
    pub(crate) async fn acquire(
        conn: &mut Conn,
        name: &str,
        holder: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at, created_on) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at, created_on = excluded.created_on \
             WHERE leases.expires_at <= $4 OR leases.holder = $2 RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(expires_at)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.is_some())
    }

    pub(crate) async fn release(
        conn: &mut Conn,
        name: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn purge_expired(
        conn: &mut Conn,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM leases WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected())
    }
}

impl Tx {
    /// Takes (or renews, for the same holder) the lease `name` until `expires_at`; false
    /// when another holder has it and it has not expired.
    pub async fn acquire_lease(
        &mut self,
        name: &str,
        holder: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::acquire(conn, name, holder, expires_at, now).await)
    }

    /// Gives the lease up (only `holder`'s own); whether it was still held.
    pub async fn release_lease(&mut self, name: &str, holder: &str) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::release(conn, name, holder).await)
    }

    /// Deletes expired leases (housekeeping); how many.
    pub async fn purge_expired_leases(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::purge_expired(conn, now).await)
    }
}
