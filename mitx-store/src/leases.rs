//! Named leases (`leases`): a short-lived claim on a name (`enrollment:7:12`,
//! `edx-user:7`) held across a partner call, which never runs inside a database
//! transaction. A lease expires on its own, so a process that dies holding one blocks the
//! name only until then.
//!
//! Taking a lease is an upsert that succeeds when the name is free, expired, or already
//! held by the same holder; releasing deletes the row only for its holder, so a holder whose
//! lease expired and was taken over cannot release the new holder's lease.

use chrono::{DateTime, Utc};

use crate::{Database, StoreError, Tx, backend_queries, with_db};

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

    /// One upsert for several names (sorted, so two workers taking overlapping sets lock
    /// them in one order); returns the names taken.
    pub(crate) async fn acquire_many(
        conn: &mut Conn,
        claims: &[(String, String)],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut claims: Vec<&(String, String)> = claims.iter().collect();
        claims.sort();
        claims.dedup_by(|a, b| a.0 == b.0);
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let values = (0..claims.len())
            .map(|i| format!("(${}, ${}, $1, $2)", 2 * i + 3, 2 * i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO leases (name, holder, expires_at, created_on) VALUES {values} \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at, created_on = excluded.created_on \
             WHERE leases.expires_at <= $2 OR leases.holder = excluded.holder RETURNING name, holder"
        ));
        let mut query = sqlx::query(sql).bind(expires_at).bind(now);
        for (name, holder) in claims {
            query = query.bind(name.as_str()).bind(holder.as_str());
        }
        let rows = query
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        rows.iter()
            .map(|row| {
                let name = sqlx::Row::try_get::<String, _>(row, "name")?;
                let holder = sqlx::Row::try_get::<String, _>(row, "holder")?;
                Ok((name, holder))
            })
            .collect()
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

impl Database {
    /// [`Tx::acquire_lease`] as its own single-statement unit of work (one round trip).
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::acquire(conn, name, holder, expires_at, now).await)
    }

    /// Takes several leases (`(name, holder)` pairs) in one statement, its own unit of
    /// work; returns the pairs taken (the others are held by someone else).
    pub async fn acquire_leases(
        &self,
        claims: &[(String, String)],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        with_db!(conn: self, conn, q => q::acquire_many(conn, claims, expires_at, now).await)
    }

    /// [`Tx::release_lease`] as its own single-statement unit of work.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::release(conn, name, holder).await)
    }
}
