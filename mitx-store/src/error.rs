//! Store errors.

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A record the caller named does not exist.
    #[error("{entity} '{key}' not found")]
    NotFound {
        /// What kind of record.
        entity: &'static str,
        /// The key the caller used.
        key: String,
    },
    /// The change would break a rule of the schema (unique key, check, foreign key).
    #[error("{0}")]
    Conflict(String),
    /// A stored value could not be read back into a domain value.
    #[error("corrupt stored value in {table}.{column}: {reason}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// Why it could not be read.
        reason: String,
    },
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Turns unique/foreign-key/check violations into [`StoreError::Conflict`] with the
    /// database's message, so callers can tell "your data clashes" from "the database is down".
    ///
    /// SQLite reports an `ON DELETE RESTRICT` refusal from an internal trigger (extended
    /// code 1811, `SQLITE_CONSTRAINT_TRIGGER`, "FOREIGN KEY constraint failed"), which sqlx
    /// does not count as a foreign-key violation; it is a conflict all the same.
    pub fn classify(err: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &err
            && (db.is_unique_violation()
                || db.is_foreign_key_violation()
                || db.is_check_violation()
                || (db.code().as_deref() == Some("1811")
                    && db.message().contains("FOREIGN KEY constraint failed")))
        {
            return StoreError::Conflict(db.message().to_owned());
        }
        StoreError::Database(err)
    }

    /// A corrupt-value error.
    pub fn corrupt(table: &'static str, column: &'static str, reason: impl ToString) -> StoreError {
        StoreError::Corrupt {
            table,
            column,
            reason: reason.to_string(),
        }
    }
}
