//! Schema migrations, embedded in the binary: one folder per backend, same file names.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, Migration, MigrationType, Migrator};

use crate::db::Pool;
use crate::{Database, Store, StoreError};

/// (version, description, SQLite text, PostgreSQL text), in order.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "catalog users commerce",
        include_str!("../../migrations/sqlite/0001_catalog_users_commerce.sql"),
        include_str!("../../migrations/postgres/0001_catalog_users_commerce.sql"),
    ),
    (
        2,
        "enrollment orders b2b",
        include_str!("../../migrations/sqlite/0002_enrollment_orders_b2b.sql"),
        include_str!("../../migrations/postgres/0002_enrollment_orders_b2b.sql"),
    ),
    (
        3,
        "catalog revision",
        include_str!("../../migrations/sqlite/0003_catalog_revision.sql"),
        include_str!("../../migrations/postgres/0003_catalog_revision.sql"),
    ),
    (
        4,
        "service tokens",
        include_str!("../../migrations/sqlite/0004_service_tokens.sql"),
        include_str!("../../migrations/postgres/0004_service_tokens.sql"),
    ),
    (
        5,
        "catalog revision: flexible-pricing tiers",
        include_str!("../../migrations/sqlite/0005_catalog_revision_tiers.sql"),
        include_str!("../../migrations/postgres/0005_catalog_revision_tiers.sql"),
    ),
    (
        6,
        "jobs, leases, schedule",
        include_str!("../../migrations/sqlite/0006_jobs_leases.sql"),
        include_str!("../../migrations/postgres/0006_jobs_leases.sql"),
    ),
    (
        7,
        "certificate page revisions",
        include_str!("../../migrations/sqlite/0007_certificate_pages.sql"),
        include_str!("../../migrations/postgres/0007_certificate_pages.sql"),
    ),
];

/// One migration and whether it is applied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    /// Version number (the file name's prefix).
    pub version: i64,
    /// What it does.
    pub description: String,
    /// When it was applied, if it was.
    pub applied_on: Option<DateTime<Utc>>,
}

fn migrator(postgres: bool) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, pg)| {
            let sql = if postgres { pg } else { sqlite };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

impl Database {
    /// Applies every pending migration; returns how many were applied now.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let before = self
            .migration_status()
            .await?
            .iter()
            .filter(|m| m.applied_on.is_some())
            .count();
        match &self.store().pool {
            Pool::Sqlite(pool) => migrator(false).run(pool).await?,
            Pool::Postgres(pool) => migrator(true).run(pool).await?,
        }
        let after = self
            .migration_status()
            .await?
            .iter()
            .filter(|m| m.applied_on.is_some())
            .count();
        Ok(after.saturating_sub(before))
    }
}

impl Store {
    /// Every known migration with its applied time (none when pending).
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        let applied = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                conn.ensure_migrations_table("_sqlx_migrations").await?;
                conn.list_applied_migrations("_sqlx_migrations").await?
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                conn.ensure_migrations_table("_sqlx_migrations").await?;
                conn.list_applied_migrations("_sqlx_migrations").await?
            }
        };
        let times = self.applied_times().await?;
        Ok(MIGRATIONS
            .iter()
            .map(|&(version, description, _, _)| MigrationStatus {
                version,
                description: description.to_owned(),
                applied_on: applied
                    .iter()
                    .find(|a| a.version == version)
                    .and_then(|_| times.iter().find(|(v, _)| *v == version).map(|(_, t)| *t)),
            })
            .collect())
    }

    async fn applied_times(&self) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
        const SQL: &str =
            "SELECT version, installed_on FROM _sqlx_migrations WHERE success ORDER BY version";
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                // SQLite keeps installed_on as text 'YYYY-MM-DD HH:MM:SS' in UTC.
                let rows: Vec<(i64, String)> = sqlx::query_as(SQL).fetch_all(pool).await?;
                rows.into_iter()
                    .filter_map(|(v, t)| {
                        chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S")
                            .ok()
                            .map(|n| (v, n.and_utc()))
                    })
                    .collect()
            }
            Pool::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
        })
    }
}
