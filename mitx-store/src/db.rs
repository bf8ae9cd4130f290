//! The connection pool for either backend, and the unit of work.
//!
//! Two handles share one pool:
//! * [`Store`] reads. Server handlers and CLI commands get this one (through mitx-services)
//!   and cannot change data with it.
//! * [`Database`] is the write-capable handle only mitx-services holds: it opens the unit of
//!   work ([`Database::begin`] → [`Tx`]), runs migrations, and dereferences to [`Store`] for
//!   reads. Every store write function takes the [`Tx`], so a domain change, its audit
//!   rows, its outbox jobs and its lease release commit or roll back together.
//!
//! On SQLite a unit of work starts with `BEGIN IMMEDIATE`: it takes the write lock up front,
//! so concurrent writers queue on the busy timeout instead of failing halfway with
//! `SQLITE_BUSY` when a read transaction tries to upgrade. On PostgreSQL it is a plain
//! `BEGIN` (READ COMMITTED); workflows that need a row lock read through the `FOR UPDATE`
//! fragment ([`backend_queries!`] provides `FOR_UPDATE` and `SKIP_LOCKED` per backend).

use std::ops::Deref;
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

/// How to connect: pool size and waits. The defaults suit one `mitx serve` or `mitx worker`
/// process.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// PostgreSQL `search_path` (tests give each test a fresh schema). Ignored for SQLite.
    pub schema: Option<String>,
    /// How long a SQLite writer waits for the write lock before giving up with
    /// [`StoreError::Busy`].
    pub sqlite_busy_timeout: Duration,
    /// Connections in the pool (default: 4 for SQLite, 10 for PostgreSQL).
    pub max_connections: Option<u32>,
    /// How long a request waits for a free pooled connection before
    /// [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            schema: None,
            sqlite_busy_timeout: Duration::from_secs(10),
            max_connections: None,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The read handle: cheap to clone, shared by every request. It has no way to change data
/// (see the module docs).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The write-capable handle: opens units of work and runs migrations. Dereferences to
/// [`Store`] for reads.
#[derive(Clone, Debug)]
pub struct Database {
    store: Store,
}

impl Deref for Database {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// An open unit of work on either backend. Dropping it without [`Tx::commit`] rolls back.
#[derive(Debug)]
pub enum Tx {
    /// SQLite (begun with `BEGIN IMMEDIATE`).
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

    /// The backend of this transaction.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Database {
    /// Connects to `sqlite://PATH` (the file is created if missing) or `postgres://...` with
    /// the default options.
    pub async fn connect(url: &str) -> Result<Database, StoreError> {
        Database::connect_with(url, &ConnectOptions::default()).await
    }

    /// Connects with explicit options.
    pub async fn connect_with(url: &str, options: &ConnectOptions) -> Result<Database, StoreError> {
        let pool = match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let connect = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(options.sqlite_busy_timeout);
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.unwrap_or(4))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Sqlite(pool)
            }
            Some(Backend::Postgres) => {
                let mut connect = PgConnectOptions::from_str(url)?;
                if let Some(schema) = &options.schema {
                    connect = connect.options([("search_path", schema.as_str())]);
                }
                probe_postgres(&connect).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.unwrap_or(10))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Postgres(pool)
            }
            None => return Err(StoreError::UnsupportedUrl(redact(url))),
        };
        Ok(Database {
            store: Store { pool },
        })
    }

    /// The read handle on the same pool.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Opens a unit of work: `BEGIN IMMEDIATE` on SQLite (waits for the write lock up to the
    /// busy timeout, then [`StoreError::Busy`]), `BEGIN` on PostgreSQL.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.store.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs one statement built at run time (test set-up: creating and dropping schemas).
    #[cfg(feature = "testing")]
    pub(crate) async fn execute_admin(&self, sql: &str) -> Result<(), StoreError> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.store.pool {
            Pool::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop)?,
        }
        Ok(())
    }
}

impl Store {
    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Connections of the pool: `(open, idle)`.
    pub fn pool_stats(&self) -> (u32, u32) {
        let (size, idle) = match &self.pool {
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
        };
        (size, u32::try_from(idle).unwrap_or(u32::MAX))
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
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

/// How long the first PostgreSQL connection may take before the server is reported
/// unreachable.
const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens and closes one PostgreSQL connection, so an unreachable server or a refused login
/// is reported at once as "cannot connect to PostgreSQL at HOST:PORT: CAUSE" (never with
/// the password), instead of as a pool timeout after the acquire timeout.
async fn probe_postgres(options: &PgConnectOptions) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let target = format!("{}:{}", options.get_host(), options.get_port());
    let failed = |cause: String| {
        StoreError::Unavailable(format!("cannot connect to PostgreSQL at {target}: {cause}"))
    };
    match tokio::time::timeout(POSTGRES_CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(err)) => Err(failed(connect_cause(&err))),
        Err(_) => Err(failed(format!(
            "no answer within {} s",
            POSTGRES_CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// Why a connection failed, in a few words: the kind of a network error ("connection
/// refused"), the server's message for a refused login.
fn connect_cause(err: &sqlx::Error) -> String {
    use std::io::ErrorKind;
    match err {
        sqlx::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::TimedOut
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::PermissionDenied => io.kind().to_string(),
            _ => io.to_string(),
        },
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// A URL with any password hidden (for messages and logs): the password of its user
/// part (`postgres://app:***@db/mitx`) and the value of `password`-like query parameters
/// (`?sslpassword=***`).
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &base[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme_end + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("pass") => {
                    format!("{key}=***")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
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
/// connection type; functions take `conn: &mut Conn`. The per-backend SQL fragments
/// `FOR_UPDATE` (" FOR UPDATE" on PostgreSQL; empty on SQLite, whose unit of work already
/// holds the write lock) and `SKIP_LOCKED` (" FOR UPDATE SKIP LOCKED"; empty on SQLite)
/// are in scope.
#[macro_export]
macro_rules! backend_queries {
    ($($item:item)*) => {
        pub(crate) mod sqlite {
            #![allow(dead_code, unused_imports)]
            use super::*;
            pub(crate) type Db = sqlx::Sqlite;
            pub(crate) type Conn = sqlx::SqliteConnection;
            pub(crate) const FOR_UPDATE: &str = "";
            pub(crate) const SKIP_LOCKED: &str = "";
            /// Whether a statement may change rows in a `WITH` clause (one round trip for
            /// a change and its audit row).
            pub(crate) const WRITING_CTE: bool = false;
            $($item)*
        }
        pub(crate) mod postgres {
            #![allow(dead_code, unused_imports)]
            use super::*;
            pub(crate) type Db = sqlx::Postgres;
            pub(crate) type Conn = sqlx::PgConnection;
            pub(crate) const FOR_UPDATE: &str = " FOR UPDATE";
            pub(crate) const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
            pub(crate) const WRITING_CTE: bool = true;
            $($item)*
        }
    };
}

#[cfg(test)]
mod redact_tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_in_the_user_part_and_the_query() {
        assert_eq!(
            redact("postgres://u:hunter2@host:5432/db"),
            "postgres://u:***@host:5432/db"
        );
        assert_eq!(
            redact("postgres://u@host/db?password=hunter2&sslmode=require"),
            "postgres://u@host/db?password=***&sslmode=require"
        );
        assert_eq!(redact("sqlite://mitx.db"), "sqlite://mitx.db");
    }
}
