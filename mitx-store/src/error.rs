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
    /// A compare-and-set update found the row changed since it was read: read it again and
    /// decide again.
    #[error("{entity} {key} changed while it was being updated")]
    Stale {
        /// What kind of record.
        entity: &'static str,
        /// Its key.
        key: String,
    },
    /// Another writer holds the lock this change needs (SQLite's write lock past the busy
    /// timeout, a PostgreSQL lock timeout, deadlock or serialization failure). Retrying
    /// later can succeed.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// The database cannot be reached or has no free connection. Retrying later can succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
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
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    /// Lock waits and unreachable databases become [`StoreError::Busy`] and
    /// [`StoreError::Unavailable`], so callers can answer "try again" instead of failing.
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            let sqlite_busy = code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
            let pg_busy = matches!(code, "40001" | "40P01" | "55P03" | "57014");
            if sqlite_busy || pg_busy {
                return StoreError::Busy(db.message().to_owned());
            }
        }
        match err {
            sqlx::Error::PoolTimedOut => {
                StoreError::Unavailable("no free database connection (pool timed out)".into())
            }
            sqlx::Error::PoolClosed => StoreError::Unavailable("the pool is closed".into()),
            sqlx::Error::Io(io) => StoreError::Unavailable(io.to_string()),
            sqlx::Error::Tls(tls) => StoreError::Unavailable(tls.to_string()),
            other => StoreError::Database(other),
        }
    }
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
        StoreError::from(err)
    }

    /// A corrupt-value error.
    pub fn corrupt(table: &'static str, column: &'static str, reason: impl ToString) -> StoreError {
        StoreError::Corrupt {
            table,
            column,
            reason: reason.to_string(),
        }
    }

    /// A stale compare-and-set.
    pub fn stale(entity: &'static str, key: impl ToString) -> StoreError {
        StoreError::Stale {
            entity,
            key: key.to_string(),
        }
    }

    /// Whether retrying later can succeed (busy or unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Busy(_) | StoreError::Unavailable(_))
    }
}
