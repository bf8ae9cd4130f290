//! The writes and lookups of the gateway login (integrations spec 3.2–3.3): the facts
//! `mitx_core::users::gateway::decide_gateway_user` needs, and applying its decision
//! (create or update the user, ensure the empty profile and legal-address rows, and the
//! SSO organization memberships of `mitx_core::b2b::reconcile_user_orgs`) in one
//! transaction. Also the edX username the userinfo endpoint reads.

use chrono::{DateTime, Utc};
use mitx_core::b2b::MembershipEffect;
use mitx_core::ids::UserId;
use mitx_core::users::gateway::{ClaimChanges, GatewayUserRecord, NewGatewayUser};

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// What the decision needs to know about the accounts a set of claims touches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayFacts {
    /// The user whose `global_id` is the subject.
    pub existing: Option<GatewayUserRecord>,
    /// The account whose `username` equals `preferred_username` exactly.
    pub username_owner: Option<UserId>,
    /// The account whose `email` equals the `email` claim case-insensitively.
    pub email_owner: Option<UserId>,
    /// The existing user has both its profile and legal-address rows and a recorded login
    /// (false when there is no existing user), so an update that changes nothing needs no
    /// write.
    pub rows_present: bool,
}

backend_queries! {
    use sqlx::Row;

    pub(crate) async fn by_global_id(
        conn: &mut Conn,
        global_id: &str,
    ) -> Result<Option<(GatewayUserRecord, bool)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.email, u.name, u.is_active, \
             (EXISTS (SELECT 1 FROM user_profiles p WHERE p.user_id = u.id) \
              AND EXISTS (SELECT 1 FROM legal_addresses a WHERE a.user_id = u.id) \
              AND u.last_login IS NOT NULL) AS rows_present \
             FROM users u WHERE u.global_id = $1",
        )
        .bind(global_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((
            GatewayUserRecord {
                id: UserId(row.try_get("id")?),
                username: row.try_get("username")?,
                email: row.try_get("email")?,
                name: row.try_get("name")?,
                is_active: row.try_get("is_active")?,
            },
            row.try_get("rows_present")?,
        )))
    }

    pub(crate) async fn username_owner(
        conn: &mut Conn,
        username: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| r.try_get("id").map(UserId)).transpose().map_err(StoreError::from)
    }

    pub(crate) async fn email_owner(
        conn: &mut Conn,
        email: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM users WHERE lower(email) = lower($1) ORDER BY id LIMIT 1",
        )
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| r.try_get("id").map(UserId)).transpose().map_err(StoreError::from)
    }

    pub(crate) async fn insert(
        conn: &mut Conn,
        new: &NewGatewayUser,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO users (global_id, username, email, name, is_active, is_staff, \
             is_superuser, created_on, updated_on, last_login) \
             VALUES ($1, $2, $3, $4, TRUE, FALSE, FALSE, $5, $5, $5) RETURNING id",
        )
        .bind(&new.global_id)
        .bind(&new.username)
        .bind(&new.email)
        .bind(&new.name)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn update(
        conn: &mut Conn,
        id: i64,
        changes: &ClaimChanges,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email), \
             name = COALESCE($4, name), updated_on = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(changes.username.as_deref())
        .bind(changes.email.as_deref())
        .bind(changes.name.as_deref())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Records the first login of a user created another way (e.g. `mitx users create`).
    pub(crate) async fn record_first_login(
        conn: &mut Conn,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1 AND last_login IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn ensure_rows(conn: &mut Conn, id: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO user_profiles (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        sqlx::query(
            "INSERT INTO legal_addresses (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn set_edx_username(
        conn: &mut Conn,
        user: i64,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO openedx_users (user_id, platform, edx_username, has_been_synced, \
             created_on, updated_on) VALUES ($1, 'edx', $2, FALSE, $3, $3) \
             ON CONFLICT (user_id, platform) DO UPDATE SET edx_username = $2, updated_on = $3",
        )
        .bind(user)
        .bind(username)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn edx_username(conn: &mut Conn, user: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT edx_username FROM openedx_users WHERE user_id = $1 \
             AND edx_username IS NOT NULL ORDER BY id LIMIT 1",
        )
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| r.try_get("edx_username")).transpose().map_err(StoreError::from)
    }
}

impl Store {
    /// The accounts the claims touch: by `global_id`, by exact username, by email
    /// (case-insensitive).
    pub async fn gateway_facts(
        &self,
        global_id: &str,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Result<GatewayFacts, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            let found = q::by_global_id(&mut conn, global_id).await?;
            let rows_present = found.as_ref().is_some_and(|(_, rows)| *rows);
            let existing = found.map(|(record, _)| record);
            // Usernames and e-mails (ignoring case) are unique, so when the subject's own
            // account already holds the claimed value it is the owner: the steady-state
            // request (unchanged claims) needs no lookup.
            let username_owner = match username.map(str::trim).filter(|u| !u.is_empty()) {
                Some(username) => match &existing {
                    Some(user) if user.username == username => Some(user.id),
                    _ => q::username_owner(&mut conn, username).await?,
                },
                None => None,
            };
            let email_owner = match email.map(str::trim).filter(|e| !e.is_empty()) {
                Some(email) => match &existing {
                    Some(user) if user.email == email => Some(user.id),
                    _ => q::email_owner(&mut conn, email).await?,
                },
                None => None,
            };
            Ok(GatewayFacts { existing, username_owner, email_owner, rows_present })
        })
    }

    /// The user's public edX username, if one is set.
    pub async fn edx_username(&self, user: UserId) -> Result<Option<String>, StoreError> {
        with_db!(conn: self, conn, q => q::edx_username(conn, user.0).await)
    }
}

impl Tx {
    /// Creates a gateway user with empty profile and legal-address rows and applies the
    /// SSO organization `memberships` (effects of `mitx_core::b2b::reconcile_user_orgs`),
    /// in the unit of work. A subject, username or email taken meanwhile is a
    /// [`StoreError::Conflict`] and writes nothing.
    pub async fn create_gateway_user(
        &mut self,
        new: &NewGatewayUser,
        memberships: &[MembershipEffect],
        now: DateTime<Utc>,
    ) -> Result<UserId, StoreError> {
        let id = with_db!(tx: self, conn, q => {
            let id = q::insert(conn, new, now).await?;
            q::ensure_rows(conn, id).await?;
            crate::b2b::MembershipWrites::apply_membership_effects(conn, id, memberships, now).await?;
            id
        });
        Ok(UserId(id))
    }

    /// Applies the claim changes to a known user (skipping the row write when nothing
    /// changes), ensures the profile and legal-address rows and applies the SSO
    /// organization `memberships` (effects of `mitx_core::b2b::reconcile_user_orgs`), in
    /// the unit of work. Callers skip the call when nothing changes and
    /// [`GatewayFacts::rows_present`].
    pub async fn update_gateway_user(
        &mut self,
        user: UserId,
        changes: &ClaimChanges,
        memberships: &[MembershipEffect],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => {
            if !changes.is_empty() {
                q::update(conn, user.0, changes, now).await?;
            }
            q::ensure_rows(conn, user.0).await?;
            q::record_first_login(conn, user.0, now).await?;
            crate::b2b::MembershipWrites::apply_membership_effects(conn, user.0, memberships, now).await?;
        });
        Ok(())
    }

    /// Records the user's public edX username (creating the `openedx_users` row, not yet
    /// synced). A username held by another user is a [`StoreError::Conflict`].
    pub async fn set_edx_username(
        &mut self,
        user: UserId,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::set_edx_username(conn, user.0, username, now).await)
    }
}
