//! Users, their legal addresses and profiles: creation (the `create_user` command) and the
//! operator lookups (`mitx users show|list`).
//!
//! Emails are unique case-insensitively (integrations spec 4.1): the schema's UNIQUE is
//! exact, so creation checks `lower(email)` first inside the same transaction.

use chrono::{DateTime, Utc};
use mitx_core::ids::UserId;
use mitx_core::users::user_update::UserUpdate;
use serde::Serialize;

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// The message of a `PATCH users/me` whose new email belongs to another account (the
/// framework's unique-field text).
pub const EMAIL_IN_USE: &str = "user with this email already exists.";

/// A user account to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewUser {
    /// Login name (unique, 1–150 characters).
    pub username: String,
    /// Email (unique case-insensitively).
    pub email: String,
    /// Full name ("" when unknown).
    pub name: String,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// ISO 3166-1 alpha-2 country of the legal address, if known.
    pub country: Option<String>,
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Keycloak subject, when known.
    pub global_id: Option<String>,
    /// Login name.
    pub username: String,
    /// Email.
    pub email: String,
    /// Full name.
    pub name: String,
    /// Active flag.
    pub is_active: bool,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
}

/// A user's legal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LegalAddress {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// ISO 3166-2 state (`US-MA`), if any.
    pub state: Option<String>,
    /// Street.
    pub street_address_1: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
}

/// A user's profile (the fields operators look at).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserProfile {
    /// Year of birth.
    pub year_of_birth: Option<i64>,
    /// Gender code.
    pub gender: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Job function.
    pub job_function: Option<String>,
    /// Company size bucket.
    pub company_size: Option<i64>,
    /// Years of experience bucket.
    pub years_experience: Option<i64>,
    /// Leadership level.
    pub leadership_level: Option<String>,
    /// Highest education.
    pub highest_education: Option<String>,
    /// Student.
    pub type_is_student: bool,
    /// Professional.
    pub type_is_professional: bool,
    /// Educator.
    pub type_is_educator: bool,
    /// Other.
    pub type_is_other: bool,
    /// Additional profile fields complete.
    pub addl_field_flag: bool,
}

/// A user with the related rows `mitx users show` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserDetail {
    /// The account.
    #[serde(flatten)]
    pub user: User,
    /// Legal address, if one exists.
    pub legal_address: Option<LegalAddress>,
    /// Profile, if one exists.
    pub user_profile: Option<UserProfile>,
}

/// How to name a user on the command line: an id, a username or an email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserKey {
    /// A numeric id (a numeric text is also tried as a username).
    Id(i64),
    /// A username or an email.
    Text(String),
}

impl UserKey {
    /// Digits are an id (falling back to a username of digits), anything else a username
    /// or an email.
    pub fn parse(text: &str) -> UserKey {
        let trimmed = text.trim();
        match trimmed.parse::<i64>() {
            Ok(id) if !trimmed.starts_with('+') => UserKey::Id(id),
            _ => UserKey::Text(trimmed.to_owned()),
        }
    }

    fn text(&self) -> String {
        match self {
            UserKey::Id(id) => id.to_string(),
            UserKey::Text(text) => text.clone(),
        }
    }
}

/// Splits a full name into first and last name for the legal address (the last word is
/// the last name).
fn split_name(name: &str) -> (String, String) {
    let trimmed = name.trim();
    match trimmed.rsplit_once(' ') {
        Some((first, last)) => (first.trim().to_owned(), last.to_owned()),
        None => (trimmed.to_owned(), String::new()),
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

backend_queries! {
    use sqlx::Row;

    const USER_COLUMNS: &str = "id, global_id, username, email, name, is_active, is_staff, \
        is_superuser, created_on, updated_on";

    fn user_from_row(row: &<Db as sqlx::Database>::Row) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(row.try_get("id")?),
            global_id: row.try_get("global_id")?,
            username: row.try_get("username")?,
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            is_active: row.try_get("is_active")?,
            is_staff: row.try_get("is_staff")?,
            is_superuser: row.try_get("is_superuser")?,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
        })
    }

    /// Whether another account (any but `except`) has `email`, ignoring case.
    pub(crate) async fn email_taken(
        conn: &mut Conn,
        email: &str,
        except: Option<i64>,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM users WHERE lower(email) = lower($1) \
             AND ($2 IS NULL OR id <> $2)",
        )
        .bind(email)
        .bind(except)
        .fetch_one(&mut *conn)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    pub(crate) async fn insert_user(
        conn: &mut Conn,
        new: &NewUser,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO users (username, email, name, is_active, is_staff, is_superuser, \
             created_on, updated_on) VALUES ($1, $2, $3, TRUE, $4, $5, $6, $6) RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.email)
        .bind(&new.name)
        .bind(new.is_staff)
        .bind(new.is_superuser)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn insert_legal_address(
        conn: &mut Conn,
        user: i64,
        address: &LegalAddress,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO legal_addresses (user_id, first_name, last_name, country, state, \
             street_address_1, city, postal_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user)
        .bind(&address.first_name)
        .bind(&address.last_name)
        .bind(&address.country)
        .bind(&address.state)
        .bind(&address.street_address_1)
        .bind(&address.city)
        .bind(&address.postal_code)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn insert_empty_profile(conn: &mut Conn, user: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO user_profiles (user_id) VALUES ($1)")
            .bind(user)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn user_by_id(conn: &mut Conn, id: i64) -> Result<Option<User>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn user_by_text(
        conn: &mut Conn,
        text: &str,
    ) -> Result<Option<User>, StoreError> {
        // An exact username wins over an email match.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1 OR lower(email) = lower($1) \
             ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END, id LIMIT 1"
        ));
        let row = sqlx::query(sql)
            .bind(text)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn legal_address(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Option<LegalAddress>, StoreError> {
        let row = sqlx::query(
            "SELECT first_name, last_name, country, state, street_address_1, city, postal_code \
             FROM legal_addresses WHERE user_id = $1",
        )
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(LegalAddress {
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            country: row.try_get("country")?,
            state: row.try_get("state")?,
            street_address_1: row.try_get("street_address_1")?,
            city: row.try_get("city")?,
            postal_code: row.try_get("postal_code")?,
        }))
    }

    pub(crate) async fn profile(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Option<UserProfile>, StoreError> {
        let row = sqlx::query(
            "SELECT year_of_birth, gender, company, job_title, industry, job_function, \
             company_size, years_experience, leadership_level, highest_education, \
             type_is_student, type_is_professional, type_is_educator, type_is_other, \
             addl_field_flag FROM user_profiles WHERE user_id = $1",
        )
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(UserProfile {
            year_of_birth: row.try_get("year_of_birth")?,
            gender: row.try_get("gender")?,
            company: row.try_get("company")?,
            job_title: row.try_get("job_title")?,
            industry: row.try_get("industry")?,
            job_function: row.try_get("job_function")?,
            company_size: row.try_get("company_size")?,
            years_experience: row.try_get("years_experience")?,
            leadership_level: row.try_get("leadership_level")?,
            highest_education: row.try_get("highest_education")?,
            type_is_student: row.try_get("type_is_student")?,
            type_is_professional: row.try_get("type_is_professional")?,
            type_is_educator: row.try_get("type_is_educator")?,
            type_is_other: row.try_get("type_is_other")?,
            addl_field_flag: row.try_get("addl_field_flag")?,
        }))
    }

    /// See [`crate::Tx::update_user`].
    pub(crate) async fn update_user(
        conn: &mut Conn,
        read: &UserDetail,
        update: &UserUpdate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let user = read.user.id.0;
        let stale = || StoreError::stale("user", user);
        if let Some(email) = &update.email
            && email_taken(conn, email, Some(user)).await?
        {
            return Err(StoreError::Conflict(EMAIL_IN_USE.to_owned()));
        }
        let name = update.name.as_deref().unwrap_or(&read.user.name);
        let email = update.email.as_deref().unwrap_or(&read.user.email);
        let n = sqlx::query(
            "UPDATE users SET name = $2, email = $3, updated_on = $4 \
             WHERE id = $1 AND name = $5 AND email = $6",
        )
        .bind(user)
        .bind(name)
        .bind(email)
        .bind(now)
        .bind(&read.user.name)
        .bind(&read.user.email)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?
        .rows_affected();
        if n != 1 {
            return Err(stale());
        }
        if let Some(a) = &update.legal_address {
            sqlx::query(
                "INSERT INTO legal_addresses (user_id, first_name, last_name, country, state, \
                 street_address_1, city, postal_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (user_id) DO UPDATE SET first_name = $2, last_name = $3, \
                 country = $4, state = $5, street_address_1 = $6, city = $7, postal_code = $8",
            )
            .bind(user)
            .bind(&a.first_name)
            .bind(&a.last_name)
            .bind(a.country.map(|c| c.as_str()))
            .bind(&a.state)
            .bind(&a.street_address_1)
            .bind(&a.city)
            .bind(&a.postal_code)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        }
        if let Some(p) = &update.user_profile {
            let query = match &read.user_profile {
                // Compare-and-set: the new profile was merged into the one read.
                Some(_) => "UPDATE user_profiles SET year_of_birth = $2, gender = $3, company = $4, \
                    job_title = $5, industry = $6, job_function = $7, company_size = $8, \
                    years_experience = $9, leadership_level = $10, highest_education = $11, \
                    type_is_student = $12, type_is_professional = $13, type_is_educator = $14, \
                    type_is_other = $15, addl_field_flag = $16 \
                    WHERE user_id = $1 AND year_of_birth IS NOT DISTINCT FROM $17 \
                    AND gender IS NOT DISTINCT FROM $18 AND company IS NOT DISTINCT FROM $19 \
                    AND job_title IS NOT DISTINCT FROM $20 AND industry IS NOT DISTINCT FROM $21 \
                    AND job_function IS NOT DISTINCT FROM $22 \
                    AND company_size IS NOT DISTINCT FROM $23 \
                    AND years_experience IS NOT DISTINCT FROM $24 \
                    AND leadership_level IS NOT DISTINCT FROM $25 \
                    AND highest_education IS NOT DISTINCT FROM $26 \
                    AND type_is_student = $27 AND type_is_professional = $28 \
                    AND type_is_educator = $29 AND type_is_other = $30",
                None => "INSERT INTO user_profiles (user_id, year_of_birth, gender, company, \
                    job_title, industry, job_function, company_size, years_experience, \
                    leadership_level, highest_education, type_is_student, type_is_professional, \
                    type_is_educator, type_is_other, addl_field_flag) \
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                    ON CONFLICT (user_id) DO NOTHING",
            };
            let mut q = sqlx::query(query)
                .bind(user)
                .bind(p.year_of_birth)
                .bind(p.gender.map(|g| g.code()))
                .bind(&p.company)
                .bind(&p.job_title)
                .bind(&p.industry)
                .bind(&p.job_function)
                .bind(p.company_size.map(|c| c.value()))
                .bind(p.years_experience.map(|y| y.value()))
                .bind(&p.leadership_level)
                .bind(p.highest_education.map(|e| e.label()))
                .bind(p.type_is_student)
                .bind(p.type_is_professional)
                .bind(p.type_is_educator)
                .bind(p.type_is_other)
                .bind(p.addl_field_flag);
            if let Some(old) = &read.user_profile {
                q = q
                    .bind(old.year_of_birth)
                    .bind(&old.gender)
                    .bind(&old.company)
                    .bind(&old.job_title)
                    .bind(&old.industry)
                    .bind(&old.job_function)
                    .bind(old.company_size)
                    .bind(old.years_experience)
                    .bind(&old.leadership_level)
                    .bind(&old.highest_education)
                    .bind(old.type_is_student)
                    .bind(old.type_is_professional)
                    .bind(old.type_is_educator)
                    .bind(old.type_is_other);
            }
            let n = q
                .execute(&mut *conn)
                .await
                .map_err(StoreError::classify)?
                .rows_affected();
            if n != 1 {
                return Err(stale());
            }
        }
        sqlx::query(
            "UPDATE openedx_users SET has_sync_error = FALSE, sync_error_data = NULL \
             WHERE user_id = $1 AND (has_sync_error OR sync_error_data IS NOT NULL)",
        )
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn list_users(
        conn: &mut Conn,
        search: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        let pattern = search.map(|s| format!("%{}%", like_escape(&s.to_lowercase())));
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE $1 IS NULL \
             OR lower(username) LIKE $1 ESCAPE '\\' OR lower(email) LIKE $1 ESCAPE '\\' \
             OR lower(name) LIKE $1 ESCAPE '\\' ORDER BY id LIMIT $2"
        ));
        let rows = sqlx::query(sql)
            .bind(pattern)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}

impl Store {
    /// The user named by `key` (an id, a username or an email, case-insensitively), or
    /// `None`.
    pub async fn find_user(&self, key: &UserKey) -> Result<Option<User>, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            match key {
                UserKey::Id(id) => match q::user_by_id(&mut conn, *id).await? {
                    Some(user) => Ok(Some(user)),
                    None => q::user_by_text(&mut conn, &id.to_string()).await,
                },
                UserKey::Text(text) => q::user_by_text(&mut conn, text).await,
            }
        })
    }

    /// Like [`Store::find_user`], with the legal address and profile; a missing user is
    /// [`StoreError::NotFound`].
    pub async fn user_detail(&self, key: &UserKey) -> Result<UserDetail, StoreError> {
        let user = self
            .find_user(key)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: "user",
                key: key.text(),
            })?;
        let id = user.id.0;
        let (legal_address, user_profile) = with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            (q::legal_address(&mut conn, id).await?, q::profile(&mut conn, id).await?)
        });
        Ok(UserDetail {
            user,
            legal_address,
            user_profile,
        })
    }

    /// Users by id, optionally only those whose username, email or name contains `search`
    /// (case-insensitively), at most `limit`.
    pub async fn list_users(
        &self,
        search: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        with_db!(conn: self, conn, q => q::list_users(conn, search, i64::from(limit)).await)
    }
}

impl Tx {
    /// Applies a validated `PATCH users/me` (`read` is the user as the caller read it, the
    /// update was decided from it) in the unit of work: name and email (a new email used by
    /// another account, case-insensitively, is a [`StoreError::Conflict`] with
    /// [`EMAIL_IN_USE`]), the legal address (replaced whole) and the profile; clears the
    /// user's Open edX sync-error flags. Compare-and-set: when the stored name, email or
    /// profile no longer match `read`, nothing is written and the error is
    /// [`StoreError::Stale`].
    pub async fn update_user(
        &mut self,
        read: &UserDetail,
        update: &UserUpdate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::update_user(conn, read, update, now).await)
    }

    /// Creates a user with a legal address (first/last name split from `name`, the given
    /// country) and an empty profile, in the unit of work. A username or email (compared
    /// case-insensitively) already in use is a [`StoreError::Conflict`].
    pub async fn create_user(
        &mut self,
        new: &NewUser,
        now: DateTime<Utc>,
    ) -> Result<UserDetail, StoreError> {
        let (first_name, last_name) = split_name(&new.name);
        let address = LegalAddress {
            first_name,
            last_name,
            country: new.country.clone(),
            ..LegalAddress::default()
        };
        let user = with_db!(tx: self, conn, q => {
            if q::email_taken(conn, &new.email, None).await? {
                return Err(StoreError::Conflict(format!(
                    "A user with email {} already exists.",
                    new.email
                )));
            }
            if q::user_by_text(conn, &new.username).await?.is_some_and(|u| u.username == new.username) {
                return Err(StoreError::Conflict(format!(
                    "A user with username {} already exists.",
                    new.username
                )));
            }
            let id = q::insert_user(conn, new, now).await?;
            q::insert_legal_address(conn, id, &address).await?;
            q::insert_empty_profile(conn, id).await?;
            q::user_by_id(conn, id).await?
        });
        let user = user.ok_or_else(|| StoreError::NotFound {
            entity: "user",
            key: new.username.clone(),
        })?;
        Ok(UserDetail {
            user,
            legal_address: Some(address),
            user_profile: Some(UserProfile::default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names() {
        assert_eq!(UserKey::parse("42"), UserKey::Id(42));
        assert_eq!(UserKey::parse(" alice "), UserKey::Text("alice".into()));
        assert_eq!(UserKey::parse("+1"), UserKey::Text("+1".into()));
        assert_eq!(
            split_name("Ada King Lovelace"),
            ("Ada King".into(), "Lovelace".into())
        );
        assert_eq!(split_name("Cher"), ("Cher".into(), String::new()));
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
