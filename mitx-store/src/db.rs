//! The connection pool for either backend, and transactions.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::StoreError;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend named by a database URL, if any.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A handle on the database: cheap to clone, shared by every workflow.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on either backend. Dropping it without [`Tx::commit`] rolls back.
#[derive(Debug)]
pub enum Tx {
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Makes the transaction's changes durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Discards the transaction's changes.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl Store {
    /// Connects to `sqlite://PATH` (the file is created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_in_schema(url, None).await
    }

    /// Like [`Store::connect`], with PostgreSQL's `search_path` set to `schema` (tests give
    /// each test a fresh schema). Ignored for SQLite.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Store, StoreError> {
        match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    pool: Pool::Sqlite(pool),
                })
            }
            Some(Backend::Postgres) => {
                let mut options = PgConnectOptions::from_str(url)?;
                if let Some(schema) = schema {
                    options = options.options([("search_path", schema)]);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    pool: Pool::Postgres(pool),
                })
            }
            None => Err(StoreError::UnsupportedUrl(url.to_owned())),
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    /// Runs one statement built at run time (test set-up: creating and dropping schemas).
    pub(crate) async fn execute_admin(&self, sql: &str) -> Result<(), StoreError> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    /// Closes every connection (waits for running queries).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// Runs the same code against whichever backend a [`Store`] or [`Tx`] holds. The body is
/// expanded once per backend, so one query text serves both with native types.
///
/// `with_db!(store, conn => body)` binds `conn` to `&SqlitePool` or `&PgPool`;
/// `with_db!(conn: store, conn, q => body)` binds `conn` to a pooled `&mut Connection`;
/// `with_db!(tx: tx, conn => body)` binds `conn` to the backend's `&mut Connection`, and
/// `module` names the per-backend module generated by [`backend_queries!`].
#[macro_export]
macro_rules! with_db {
    ($store:expr, $pool:ident, $module:ident => $body:expr) => {
        match &$store.pool {
            $crate::db::Pool::Sqlite($pool) => {
                #[allow(unused_imports)]
                use self::sqlite as $module;
                $body
            }
            $crate::db::Pool::Postgres($pool) => {
                #[allow(unused_imports)]
                use self::postgres as $module;
                $body
            }
        }
    };
    (conn: $store:expr, $conn:ident, $module:ident => $body:expr) => {
        match &$store.pool {
            $crate::db::Pool::Sqlite(pool) => {
                #[allow(unused_imports)]
                use self::sqlite as $module;
                let mut pooled = pool.acquire().await?;
                let $conn = &mut *pooled;
                $body
            }
            $crate::db::Pool::Postgres(pool) => {
                #[allow(unused_imports)]
                use self::postgres as $module;
                let mut pooled = pool.acquire().await?;
                let $conn = &mut *pooled;
                $body
            }
        }
    };
    (tx: $tx:expr, $conn:ident, $module:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(tx) => {
                #[allow(unused_imports)]
                use self::sqlite as $module;
                let $conn = &mut **tx;
                $body
            }
            $crate::Tx::Postgres(tx) => {
                #[allow(unused_imports)]
                use self::postgres as $module;
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Generates the same query functions for both backends: `backend_queries! { ... }` in a
/// module expands its items into `mod sqlite` (with `type Db = sqlx::Sqlite`) and
/// `mod postgres` (with `type Db = sqlx::Postgres`). Inside, `Conn` is the backend's
/// connection type; functions take `conn: &mut Conn`.
#[macro_export]
macro_rules! backend_queries {
    ($($item:item)*) => {
        pub(crate) mod sqlite {
            #![allow(dead_code, unused_imports)]
            use super::*;
            pub(crate) type Db = sqlx::Sqlite;
            pub(crate) type Conn = sqlx::SqliteConnection;
            $($item)*
        }
        pub(crate) mod postgres {
            #![allow(dead_code, unused_imports)]
            use super::*;
            pub(crate) type Db = sqlx::Postgres;
            pub(crate) type Conn = sqlx::PgConnection;
            $($item)*
        }
    };
}
