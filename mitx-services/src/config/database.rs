//! The database connection.

use std::time::Duration;

use mitx_store::{Backend, ConnectOptions};

use super::{ConfigError, Env};

/// Where the data lives and how the pool behaves.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `DATABASE_URL` (`sqlite://PATH` or `postgres://...`).
    pub url: String,
    /// `MITX_DB_MAX_CONNECTIONS` (`None`: the backend's default).
    pub max_connections: Option<u32>,
    /// `MITX_DB_ACQUIRE_TIMEOUT_SECONDS`.
    pub acquire_timeout: Duration,
    /// `MITX_SQLITE_BUSY_TIMEOUT_SECONDS`.
    pub sqlite_busy_timeout: Duration,
}

impl DatabaseSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let url = env.text("DATABASE_URL")?;
        if Backend::of_url(&url).is_none() {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                problem: format!(
                    "'{}' is neither sqlite://PATH nor postgres://...",
                    mitx_store::redact(&url)
                ),
            });
        }
        let max_connections = match env.optional("MITX_DB_MAX_CONNECTIONS")? {
            None => None,
            Some(_) => Some(
                u32::try_from(env.number("MITX_DB_MAX_CONNECTIONS", 1..=1000)?).unwrap_or(1000),
            ),
        };
        Ok(DatabaseSettings {
            url,
            max_connections,
            acquire_timeout: env.seconds("MITX_DB_ACQUIRE_TIMEOUT_SECONDS", 1..=600)?,
            sqlite_busy_timeout: env.seconds("MITX_SQLITE_BUSY_TIMEOUT_SECONDS", 0..=600)?,
        })
    }

    /// The store's connect options.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            schema: None,
            sqlite_busy_timeout: self.sqlite_busy_timeout,
            max_connections: self.max_connections,
            acquire_timeout: self.acquire_timeout,
        }
    }
}
