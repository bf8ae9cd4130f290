//! Raw SQL for tests and operations: running one statement built at run time, counting a
//! table's rows, and listing the schema's tables and columns.
//!
//! These are escape hatches, not part of the domain API: workflows use the typed store
//! functions. The conformance suite uses them to probe the schema's constraints directly on
//! both backends, and operators' tools can use them for diagnostics.

#[cfg(feature = "testing")]
use crate::Database;
use crate::db::Pool;
use crate::{Store, StoreError};

/// Tables that belong to the migration machinery or the database itself, not to mitx.
const INTERNAL_TABLES: &[&str] = &["_sqlx_migrations", "sqlite_sequence"];

#[cfg(feature = "testing")]
impl Database {
    /// Runs one SQL statement (no parameters) and returns the number of rows it changed.
    ///
    /// A test/ops helper: the text is sent as is, so it must come from the program, never
    /// from user input. PostgreSQL accepts one statement per call. Unique, check and
    /// foreign-key violations come back as [`StoreError::Conflict`].
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let done = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            Pool::Postgres(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
        };
        done.map_err(StoreError::classify)
    }
}

impl Store {
    /// The number of rows in `table` (a test/ops helper). The name must be a plain
    /// identifier (ASCII letters, digits, `_`); anything else is refused as not found.
    pub async fn count(&self, table: &str) -> Result<i64, StoreError> {
        let plain = !table.is_empty()
            && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !table.starts_with(|c: char| c.is_ascii_digit());
        if !plain {
            return Err(StoreError::NotFound {
                entity: "table",
                key: table.to_owned(),
            });
        }
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        let count: i64 = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Pool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .map_err(StoreError::classify)?;
        Ok(count)
    }

    /// Every (table, column) of the current schema, sorted, without the migration
    /// bookkeeping tables (a test/ops helper: the conformance suite checks both backends
    /// against one expected list). On PostgreSQL "current schema" is the first schema of
    /// the connection's `search_path`.
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut columns: Vec<(String, String)> =
            match &self.pool {
                Pool::Sqlite(pool) => {
                    sqlx::query_as(
                        "SELECT m.name, p.name FROM sqlite_master AS m \
                     JOIN pragma_table_info(m.name) AS p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
                    )
                    .fetch_all(pool)
                    .await?
                }
                Pool::Postgres(pool) => sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema()",
                )
                .fetch_all(pool)
                .await?,
            };
        columns.retain(|(table, _)| !INTERNAL_TABLES.contains(&table.as_str()));
        columns.sort();
        Ok(columns)
    }
}
