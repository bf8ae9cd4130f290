//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL schema when
//! `MITX_TEST_POSTGRES_URL` is set. Each call gets its own, so tests run in parallel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{ConnectOptions, Database, StoreError};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "MITX_TEST_POSTGRES_URL";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A migrated database for one test, dropped with [`TestDb::cleanup`].
#[derive(Debug)]
pub struct TestDb {
    /// The write-capable handle (dereferences to the read [`crate::Store`]).
    pub store: Database,
    /// The URL (for commands that connect themselves).
    pub url: String,
    /// The PostgreSQL schema, when on PostgreSQL.
    pub schema: Option<String>,
    admin_url: Option<String>,
}

impl TestDb {
    /// A new, migrated SQLite file in the temp directory.
    pub async fn sqlite() -> Result<TestDb, StoreError> {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name("mitx_test")));
        let url = format!("sqlite://{}", path.display());
        let store = Database::connect(&url).await?;
        store.migrate().await?;
        Ok(TestDb {
            store,
            url,
            schema: None,
            admin_url: None,
        })
    }

    /// A new, migrated PostgreSQL schema, or `None` when `MITX_TEST_POSTGRES_URL` is unset
    /// (the test then reports itself skipped). Under `CI=true` an unset variable fails the
    /// test instead: CI must never count a skipped PostgreSQL test as passed.
    pub async fn postgres() -> Result<Option<TestDb>, StoreError> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but {POSTGRES_URL_VAR} is unset: the PostgreSQL tests cannot be skipped"
            );
            return Ok(None);
        };
        TestDb::postgres_at(&admin_url).await.map(Some)
    }

    /// A new, migrated schema on the PostgreSQL server at `admin_url`.
    pub async fn postgres_at(admin_url: &str) -> Result<TestDb, StoreError> {
        let admin_url = admin_url.to_owned();
        let schema = unique_name("mitx_test");
        let admin = Database::connect(&admin_url).await?;
        admin
            .execute_admin(&format!("CREATE SCHEMA {schema}"))
            .await?;
        admin.close().await;
        let options = ConnectOptions {
            schema: Some(schema.clone()),
            ..ConnectOptions::default()
        };
        let store = Database::connect_with(&admin_url, &options).await?;
        store.migrate().await?;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
        Ok(TestDb {
            store,
            url,
            schema: Some(schema),
            admin_url: Some(admin_url),
        })
    }

    /// Closes the store and removes the database (file or schema).
    pub async fn cleanup(self) -> Result<(), StoreError> {
        self.store.close().await;
        match (self.schema, self.admin_url) {
            (Some(schema), Some(admin_url)) => {
                let admin = Database::connect(&admin_url).await?;
                admin
                    .execute_admin(&format!("DROP SCHEMA {schema} CASCADE"))
                    .await?;
                admin.close().await;
            }
            _ => {
                if let Some(path) = self.url.strip_prefix("sqlite://") {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{path}{suffix}"));
                    }
                }
            }
        }
        Ok(())
    }
}
