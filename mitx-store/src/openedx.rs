//! The Open edX linkage of users (courses spec 1.15): `openedx_users` (the edX account and
//! whether it exists in edX) and `openedx_api_auth` (per-user edX API tokens), plus what the
//! repair jobs of spec 4.4 read.

use chrono::{DateTime, Utc};
use mitx_core::ids::UserId;
use serde::Serialize;

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// A user's edX account as mitx knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EdxUserRecord {
    /// The local user.
    pub user: UserId,
    /// The edX username (unique), once chosen.
    pub edx_username: Option<String>,
    /// The username the learner asked for.
    pub desired_edx_username: Option<String>,
    /// The account exists in edX.
    pub has_been_synced: bool,
    /// edX refused the account for good (400/409); left to an operator.
    pub has_sync_error: bool,
    /// edX's answer when it refused.
    pub sync_error_data: Option<String>,
}

/// A user's edX API tokens (`openedx_api_auth`).
#[derive(Clone, PartialEq, Eq)]
pub struct EdxApiAuth {
    /// Refresh token.
    pub refresh_token: String,
    /// Access token, if one was obtained.
    pub access_token: Option<String>,
    /// When the access token expires.
    pub access_token_expires_on: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for EdxApiAuth {
    // Tokens are secrets: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdxApiAuth")
            .field("refresh_token", &"***")
            .field("access_token", &self.access_token.as_ref().map(|_| "***"))
            .field("access_token_expires_on", &self.access_token_expires_on)
            .finish()
    }
}

/// A user the edX user-repair job looks at, with the facts of
/// `mitx_core::enrollment::needs_user_repair`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepairCandidate {
    /// The user.
    pub user: UserId,
    /// Active flag.
    pub is_active: bool,
    /// Has logged in at least once.
    pub has_logged_in: bool,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// An `openedx_users` row exists.
    pub has_openedx_user: bool,
    /// An `openedx_api_auth` row exists.
    pub has_api_auth: bool,
    /// The edX account exists.
    pub has_been_synced: bool,
    /// edX refused the account for good.
    pub has_sync_error: bool,
}

backend_queries! {
    use sqlx::Row;

    fn edx_user_from_row(row: &<Db as sqlx::Database>::Row) -> Result<EdxUserRecord, StoreError> {
        Ok(EdxUserRecord {
            user: UserId(row.try_get("user_id")?),
            edx_username: row.try_get("edx_username")?,
            desired_edx_username: row.try_get("desired_edx_username")?,
            has_been_synced: row.try_get("has_been_synced")?,
            has_sync_error: row.try_get("has_sync_error")?,
            sync_error_data: row.try_get("sync_error_data")?,
        })
    }

    pub(crate) async fn edx_user(conn: &mut Conn, user: i64) -> Result<Option<EdxUserRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, edx_username, desired_edx_username, has_been_synced, has_sync_error, \
             sync_error_data FROM openedx_users WHERE user_id = $1 AND platform = 'edx'",
        )
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(edx_user_from_row).transpose()
    }

    pub(crate) async fn save_edx_user(
        conn: &mut Conn,
        record: &EdxUserRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO openedx_users (user_id, platform, edx_username, desired_edx_username, \
             has_been_synced, has_sync_error, sync_error_data, created_on, updated_on) \
             VALUES ($1, 'edx', $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (user_id, platform) DO UPDATE SET edx_username = excluded.edx_username, \
             desired_edx_username = excluded.desired_edx_username, \
             has_been_synced = excluded.has_been_synced, has_sync_error = excluded.has_sync_error, \
             sync_error_data = excluded.sync_error_data, updated_on = excluded.updated_on",
        )
        .bind(record.user.0)
        .bind(record.edx_username.as_deref())
        .bind(record.desired_edx_username.as_deref())
        .bind(record.has_been_synced)
        .bind(record.has_sync_error)
        .bind(record.sync_error_data.as_deref())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn taken_usernames(conn: &mut Conn, base: &str) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}%", crate::users::like_escape(base));
        let rows = sqlx::query(
            "SELECT edx_username FROM openedx_users WHERE edx_username LIKE $1 ESCAPE '\\'",
        )
        .bind(pattern)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(|r| r.try_get("edx_username").map_err(StoreError::from)).collect()
    }

    pub(crate) async fn api_auth(conn: &mut Conn, user: i64) -> Result<Option<EdxApiAuth>, StoreError> {
        let row = sqlx::query(
            "SELECT refresh_token, access_token, access_token_expires_on FROM openedx_api_auth \
             WHERE user_id = $1",
        )
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(EdxApiAuth {
            refresh_token: row.try_get("refresh_token")?,
            access_token: row.try_get("access_token")?,
            access_token_expires_on: row.try_get("access_token_expires_on")?,
        }))
    }

    pub(crate) async fn save_api_auth(
        conn: &mut Conn,
        user: i64,
        auth: &EdxApiAuth,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO openedx_api_auth (user_id, refresh_token, access_token, \
             access_token_expires_on, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (user_id) DO UPDATE SET refresh_token = excluded.refresh_token, \
             access_token = excluded.access_token, \
             access_token_expires_on = excluded.access_token_expires_on, \
             updated_on = excluded.updated_on",
        )
        .bind(user)
        .bind(&auth.refresh_token)
        .bind(auth.access_token.as_deref())
        .bind(auth.access_token_expires_on)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn repair_candidates(
        conn: &mut Conn,
        created_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RepairCandidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.is_active, u.last_login IS NOT NULL AS has_logged_in, u.created_on, \
             o.user_id IS NOT NULL AS has_openedx_user, a.user_id IS NOT NULL AS has_api_auth, \
             COALESCE(o.has_been_synced, FALSE) AS has_been_synced, \
             COALESCE(o.has_sync_error, FALSE) AS has_sync_error \
             FROM users u \
             LEFT JOIN openedx_users o ON o.user_id = u.id AND o.platform = 'edx' \
             LEFT JOIN openedx_api_auth a ON a.user_id = u.id \
             WHERE u.is_active AND u.last_login IS NOT NULL AND u.created_on < $1 \
             AND (o.user_id IS NULL OR NOT o.has_been_synced) \
             AND (o.user_id IS NULL OR NOT o.has_sync_error) \
             ORDER BY u.id LIMIT $2",
        )
        .bind(created_before)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RepairCandidate {
                    user: UserId(row.try_get("id")?),
                    is_active: row.try_get("is_active")?,
                    has_logged_in: row.try_get("has_logged_in")?,
                    created_on: row.try_get("created_on")?,
                    has_openedx_user: row.try_get("has_openedx_user")?,
                    has_api_auth: row.try_get("has_api_auth")?,
                    has_been_synced: row.try_get("has_been_synced")?,
                    has_sync_error: row.try_get("has_sync_error")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// The user's edX account record, if any.
    pub async fn edx_user(&self, user: UserId) -> Result<Option<EdxUserRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::edx_user(conn, user.0).await)
    }

    /// Every stored edX username starting with `base` (to pick a free one).
    pub async fn taken_edx_usernames(&self, base: &str) -> Result<Vec<String>, StoreError> {
        with_db!(conn: self, conn, q => q::taken_usernames(conn, base).await)
    }

    /// The user's edX API tokens, if any.
    pub async fn edx_api_auth(&self, user: UserId) -> Result<Option<EdxApiAuth>, StoreError> {
        with_db!(conn: self, conn, q => q::api_auth(conn, user.0).await)
    }

    /// Active users who have logged in, were created before `created_before`, and whose
    /// edX account is missing or not synced, without a recorded sync error (courses spec
    /// 4.4), by id. Missing API tokens alone do not qualify: mitx cannot mint them yet
    /// (docs/compatibility.md).
    pub async fn edx_repair_candidates(
        &self,
        created_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RepairCandidate>, StoreError> {
        with_db!(conn: self, conn, q => q::repair_candidates(conn, created_before, limit).await)
    }
}

impl Tx {
    /// The user's edX account record inside the unit of work.
    pub async fn edx_user(&mut self, user: UserId) -> Result<Option<EdxUserRecord>, StoreError> {
        with_db!(tx: self, conn, q => q::edx_user(conn, user.0).await)
    }

    /// Creates or replaces the user's edX account record. A username held by another user
    /// is a [`StoreError::Conflict`].
    pub async fn save_edx_user(
        &mut self,
        record: &EdxUserRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::save_edx_user(conn, record, now).await)
    }

    /// Creates or replaces the user's edX API tokens.
    pub async fn save_edx_api_auth(
        &mut self,
        user: UserId,
        auth: &EdxApiAuth,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::save_api_auth(conn, user.0, auth, now).await)
    }
}
