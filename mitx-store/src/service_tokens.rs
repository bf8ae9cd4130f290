//! Service tokens for machine clients (MIT Learn's catalog pull and other services): the
//! replacement of the original's DRF API keys and OAuth2 client-credential tokens.
//!
//! A token's secret is `mitx_` followed by 40 lowercase hex characters (20 random bytes,
//! drawn by the caller: randomness is an input, see docs/decisions/0003). The secret is
//! shown once when the token is created and never stored: the table keeps only its
//! SHA-256 hex digest ([`token_hash`]), so a copy of the database grants no access. Each
//! token has a unique name, a set of scopes (`catalog:read`), and can be revoked (kept,
//! never deleted). Creating and revoking write an `audit_log` row.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit_log::{Audit, AuditChange, audit_json};
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// Every token's secret starts with this.
pub const TOKEN_PREFIX: &str = "mitx_";

/// Random bytes in a secret (40 hex characters).
pub const SECRET_BYTES: usize = 20;

/// Reading the catalog through the internal ETL feed (`/api/internal/courses/`).
pub const SCOPE_CATALOG_READ: &str = "catalog:read";

/// Calling the Open edX webhooks (`/api/openedx_webhook/...`, courses spec 4.5): stands in
/// for the original's staff OAuth2 bearer until mitx has its own OAuth2 provider.
pub const SCOPE_OPENEDX_WEBHOOK: &str = "openedx:webhook";

/// The scopes a token may carry.
pub const KNOWN_SCOPES: &[&str] = &[SCOPE_CATALOG_READ, SCOPE_OPENEDX_WEBHOOK];

/// Longest token name.
pub const MAX_NAME_CHARS: usize = 100;

/// `last_used_on` is written at most this often per token.
pub const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// The secret of a token made from `bytes`: `mitx_` + 40 lowercase hex characters.
pub fn token_from_bytes(bytes: &[u8; SECRET_BYTES]) -> String {
    let mut out = String::with_capacity(TOKEN_PREFIX.len() + 2 * SECRET_BYTES);
    out.push_str(TOKEN_PREFIX);
    out.push_str(&hex(bytes));
    out
}

/// Whether `text` has the shape of a secret (`mitx_` + 40 lowercase hex characters).
pub fn is_well_formed_token(text: &str) -> bool {
    text.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 2 * SECRET_BYTES
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The stored form of a secret: the SHA-256 of its text, as 64 lowercase hex characters.
pub fn token_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Why a new token's name, secret or scopes were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenInputError {
    /// The name is empty, too long, or has characters other than letters, digits and
    /// `-_.:@`.
    #[error("Invalid token name '{0}': use 1 to 100 letters, digits or '-', '_', '.', ':', '@'.")]
    Name(String),
    /// The secret is not `mitx_` + 40 lowercase hex characters.
    #[error("Invalid token secret: expected 'mitx_' followed by 40 lowercase hex characters.")]
    Secret,
    /// A scope that no endpoint knows.
    #[error("Unknown scope '{scope}'; known scopes: {known}.", known = KNOWN_SCOPES.join(", "))]
    UnknownScope {
        /// The scope given.
        scope: String,
    },
    /// No scope at all.
    #[error("Give at least one scope (known scopes: {known}).", known = KNOWN_SCOPES.join(", "))]
    NoScope,
}

/// Checks a token name: 1 to 100 characters, letters, digits and `-_.:@`.
pub fn validate_token_name(name: &str) -> Result<(), TokenInputError> {
    let count = name.chars().count();
    let ok = (1..=MAX_NAME_CHARS).contains(&count)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'));
    if ok {
        Ok(())
    } else {
        Err(TokenInputError::Name(name.to_owned()))
    }
}

/// The scopes as stored: known ones only, at least one, sorted, without duplicates.
pub fn normalize_scopes(scopes: &[String]) -> Result<Vec<String>, TokenInputError> {
    let mut out: Vec<String> = Vec::new();
    for scope in scopes {
        let scope = scope.trim();
        if !KNOWN_SCOPES.contains(&scope) {
            return Err(TokenInputError::UnknownScope {
                scope: scope.to_owned(),
            });
        }
        out.push(scope.to_owned());
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(TokenInputError::NoScope);
    }
    Ok(out)
}

/// A token to create, checked: it holds the hash of the secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewServiceToken {
    name: String,
    token_hash: String,
    scopes: Vec<String>,
}

impl NewServiceToken {
    /// Checks the name, the secret's shape and the scopes, and hashes the secret.
    pub fn new(
        name: &str,
        secret: &str,
        scopes: &[String],
    ) -> Result<NewServiceToken, TokenInputError> {
        validate_token_name(name)?;
        if !is_well_formed_token(secret) {
            return Err(TokenInputError::Secret);
        }
        Ok(NewServiceToken {
            name: name.to_owned(),
            token_hash: token_hash(secret),
            scopes: normalize_scopes(scopes)?,
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scopes (sorted).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

/// A stored token (without its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceToken {
    /// Id.
    pub id: i64,
    /// Unique name (who uses it: `mit-learn-etl`).
    pub name: String,
    /// Scopes, sorted.
    pub scopes: Vec<String>,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last accepted (to the minute), if ever.
    pub last_used_on: Option<DateTime<Utc>>,
    /// Revoked, if it is.
    pub revoked_on: Option<DateTime<Utc>>,
}

impl ServiceToken {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the token is revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_on.is_some()
    }
}

/// The outcome of a revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenRevocation {
    /// False when the token was already revoked (nothing written).
    pub changed: bool,
    /// The token now.
    pub token: ServiceToken,
}

/// The audit entity of tokens (`audit_log.entity`; `entity_id` is the token's name).
pub const AUDIT_ENTITY: &str = "service_token";

backend_queries! {
    use sqlx::Row;

    const TOKEN_COLUMNS: &str =
        "id, name, scopes, created_on, last_used_on, revoked_on";

    fn token_from_row(row: &<Db as sqlx::Database>::Row) -> Result<ServiceToken, StoreError> {
        let scopes: String = row.try_get("scopes")?;
        Ok(ServiceToken {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            created_on: row.try_get("created_on")?,
            last_used_on: row.try_get("last_used_on")?,
            revoked_on: row.try_get("revoked_on")?,
        })
    }

    pub(crate) async fn insert_token(
        conn: &mut Conn,
        new: &NewServiceToken,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO service_tokens (name, token_hash, scopes, created_on) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.token_hash)
        .bind(new.scopes.join(" "))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn token_by_name(
        conn: &mut Conn,
        name: &str,
    ) -> Result<Option<ServiceToken>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM service_tokens WHERE name = $1"
        ));
        let row = sqlx::query(sql).bind(name).fetch_optional(&mut *conn).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub(crate) async fn active_token_by_hash(
        conn: &mut Conn,
        hash: &str,
    ) -> Result<Option<ServiceToken>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM service_tokens \
             WHERE token_hash = $1 AND revoked_on IS NULL"
        ));
        let row = sqlx::query(sql).bind(hash).fetch_optional(&mut *conn).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub(crate) async fn list_tokens(conn: &mut Conn) -> Result<Vec<ServiceToken>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM service_tokens ORDER BY name"
        ));
        let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
        rows.iter().map(token_from_row).collect()
    }

    pub(crate) async fn revoke_token(
        conn: &mut Conn,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE service_tokens SET revoked_on = $2 WHERE id = $1 AND revoked_on IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn touch_token(
        conn: &mut Conn,
        id: i64,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE service_tokens SET last_used_on = $2 \
             WHERE id = $1 AND revoked_on IS NULL \
             AND (last_used_on IS NULL OR last_used_on <= $3)",
        )
        .bind(id)
        .bind(now)
        .bind(stale_before)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// The unrevoked token whose secret hashes to `hash`, if any.
    pub async fn find_active_service_token(
        &self,
        hash: &str,
    ) -> Result<Option<ServiceToken>, StoreError> {
        with_db!(conn: self, conn, q => q::active_token_by_hash(conn, hash).await)
    }

    /// One token by name (revoked or not).
    pub async fn service_token(&self, name: &str) -> Result<Option<ServiceToken>, StoreError> {
        with_db!(conn: self, conn, q => q::token_by_name(conn, name).await)
    }

    /// Every token (revoked ones included), by name.
    pub async fn list_service_tokens(&self) -> Result<Vec<ServiceToken>, StoreError> {
        with_db!(conn: self, conn, q => q::list_tokens(conn).await)
    }
}

impl Tx {
    /// Stores a new token (its hash only) with an audit row, in the unit of work. A name
    /// or secret already in use (revoked tokens included) → [`StoreError::Conflict`].
    pub async fn create_service_token(
        &mut self,
        new: &NewServiceToken,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<ServiceToken, StoreError> {
        let token = with_db!(tx: self, conn, q => {
            let id = q::insert_token(conn, new, now).await?;
            q::token_by_name(conn, &new.name).await?.filter(|t| t.id == id).ok_or_else(|| {
                StoreError::NotFound { entity: "service token", key: new.name.clone() }
            })?
        });
        self.record_audit(
            &token_change(
                audit,
                "service_token.create",
                &token.name,
                None,
                audit_json(&token),
            ),
            now,
        )
        .await?;
        Ok(token)
    }

    /// Revokes the token named `name` with an audit row, in the unit of work. An already
    /// revoked token is left as it is (`changed: false`, nothing written); an unknown
    /// name → [`StoreError::NotFound`].
    pub async fn revoke_service_token(
        &mut self,
        name: &str,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<TokenRevocation, StoreError> {
        let (before, after) = with_db!(tx: self, conn, q => {
            let not_found = || StoreError::NotFound { entity: "service token", key: name.to_owned() };
            let before = q::token_by_name(conn, name).await?.ok_or_else(not_found)?;
            if q::revoke_token(conn, before.id, now).await? == 0 {
                (before, None)
            } else {
                let token = q::token_by_name(conn, name).await?.ok_or_else(not_found)?;
                (before, Some(token))
            }
        });
        let Some(token) = after else {
            return Ok(TokenRevocation {
                changed: false,
                token: before,
            });
        };
        self.record_audit(
            &token_change(
                audit,
                "service_token.revoke",
                name,
                audit_json(&before),
                audit_json(&token),
            ),
            now,
        )
        .await?;
        Ok(TokenRevocation {
            changed: true,
            token,
        })
    }

    /// Records that token `id` was used at `now`, unless it was already recorded less than
    /// a minute before (so a busy client costs at most one write a minute). Returns whether
    /// it wrote.
    pub async fn touch_service_token(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let stale_before = now - Duration::seconds(TOUCH_INTERVAL_SECONDS);
        with_db!(tx: self, conn, q => Ok(q::touch_token(conn, id, now, stale_before).await? > 0))
    }
}

/// The audit-log row of a token change.
fn token_change<'a>(
    audit: &'a Audit,
    action: &'a str,
    name: &str,
    before: Option<String>,
    after: Option<String>,
) -> AuditChange<'a> {
    AuditChange {
        audit,
        action,
        entity: AUDIT_ENTITY,
        entity_id: name.to_owned(),
        before,
        after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_documented_shape() {
        let secret = token_from_bytes(&[0xab; SECRET_BYTES]);
        assert_eq!(secret, format!("mitx_{}", "ab".repeat(20)));
        assert!(is_well_formed_token(&secret));
        assert!(!is_well_formed_token("mitx_"));
        assert!(!is_well_formed_token(&format!("mitx_{}", "AB".repeat(20))));
        assert!(!is_well_formed_token(&format!("mitx_{}", "ab".repeat(21))));
        assert!(!is_well_formed_token(&"ab".repeat(20)));
    }

    #[test]
    fn hash_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_and_scopes_are_checked() {
        assert!(validate_token_name("mit-learn-etl").is_ok());
        assert!(validate_token_name("").is_err());
        assert!(validate_token_name("has space").is_err());
        assert!(validate_token_name(&"x".repeat(101)).is_err());
        assert!(validate_token_name(&"x".repeat(100)).is_ok());
        let scopes = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            normalize_scopes(&scopes(&["catalog:read", "catalog:read"])).unwrap(),
            vec!["catalog:read".to_owned()]
        );
        assert_eq!(
            normalize_scopes(&scopes(&["catalog:raed"])),
            Err(TokenInputError::UnknownScope {
                scope: "catalog:raed".into()
            })
        );
        assert_eq!(normalize_scopes(&[]), Err(TokenInputError::NoScope));
    }
}
