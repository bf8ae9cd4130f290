//! The operator audit log (`audit_log`): who changed what, why, and the record before and
//! after, written in the same unit of work as the change it describes.
//!
//! Domain rows with their own audit tables (enrollments, program enrollments, grades) keep
//! those; this log records operator and workflow changes (products, discounts, service
//! tokens, edX repair commands, ...).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// Who makes an operator change and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// The operator (`--actor`, default `$USER`), or the workflow (`worker`, `api`).
    pub actor: String,
    /// The `--reason`, if given.
    pub reason: Option<String>,
}

impl Audit {
    /// An audit by `actor` with an optional reason.
    pub fn new(actor: impl Into<String>, reason: Option<String>) -> Audit {
        Audit {
            actor: actor.into(),
            reason,
        }
    }
}

/// One row of `audit_log`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Operator.
    pub actor: String,
    /// What was done (`product.deactivate`, `discount.extend`, ...).
    pub action: String,
    /// The kind of record (`product`, `discount`).
    pub entity: String,
    /// The record's id.
    pub entity_id: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// JSON before the change.
    pub data_before: Option<String>,
    /// JSON after the change.
    pub data_after: Option<String>,
    /// When.
    pub created_on: DateTime<Utc>,
}

/// A new `audit_log` row's content (the JSON documents are serialized by the caller, see
/// [`audit_json`]).
#[derive(Debug)]
pub struct AuditChange<'a> {
    /// Who and why.
    pub audit: &'a Audit,
    /// What was done (`product.deactivate`).
    pub action: &'a str,
    /// The kind of record (`product`).
    pub entity: &'a str,
    /// The record's key.
    pub entity_id: String,
    /// JSON before the change.
    pub before: Option<String>,
    /// JSON after the change.
    pub after: Option<String>,
}

/// JSON text of a value for the audit log (serialization of our own types cannot fail;
/// an error would only drop the snapshot text, never the change).
pub fn audit_json<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

backend_queries! {
    use sqlx::Row;

    pub(crate) async fn insert(
        conn: &mut Conn,
        change: &AuditChange<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (actor, action, entity, entity_id, reason, data_before, \
             data_after, created_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&change.audit.actor)
        .bind(change.action)
        .bind(change.entity)
        .bind(&change.entity_id)
        .bind(&change.audit.reason)
        .bind(&change.before)
        .bind(&change.after)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub(crate) async fn rows_for(
        conn: &mut Conn,
        entity: &str,
        entity_id: &str,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT actor, action, entity, entity_id, reason, data_before, data_after, created_on \
             FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY id",
        )
        .bind(entity)
        .bind(entity_id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRow {
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    entity: row.try_get("entity")?,
                    entity_id: row.try_get("entity_id")?,
                    reason: row.try_get("reason")?,
                    data_before: row.try_get("data_before")?,
                    data_after: row.try_get("data_after")?,
                    created_on: row.try_get("created_on")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// The audit rows of one record, oldest first.
    pub async fn audit_log_for(
        &self,
        entity: &str,
        entity_id: &str,
    ) -> Result<Vec<AuditRow>, StoreError> {
        with_db!(conn: self, conn, q => q::rows_for(conn, entity, entity_id).await)
    }
}

impl Tx {
    /// Appends one row to the audit log, in the unit of work of the change.
    pub async fn record_audit(
        &mut self,
        change: &AuditChange<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::insert(conn, change, now).await)
    }
}
