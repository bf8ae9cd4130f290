//! What every command gets: the global options, the settings, and lazily started services.

use anyhow::Context as _;
use mitx_services::Services;
use mitx_services::config::Settings;
use mitx_services::store::Store;
use tokio::sync::OnceCell;

use crate::Cli;
use crate::output::Format;

/// The global options and the services.
#[derive(Debug)]
pub struct Context {
    /// The database URL.
    pub database_url: String,
    /// Machine output (`--json` or `--format json`).
    pub json: bool,
    /// How results are printed on stdout.
    pub format: Format,
    /// Errors only.
    pub quiet: bool,
    services: OnceCell<Services>,
}

impl Context {
    /// From the parsed command line.
    pub fn new(cli: &Cli) -> Self {
        Context {
            database_url: cli.database_url.clone(),
            json: cli.json || cli.format == Some(Format::Json),
            format: Format::resolve(cli.format, cli.json),
            quiet: cli.quiet,
            services: OnceCell::new(),
        }
    }

    /// The settings of the environment, with `--database-url` applied; a bad value names
    /// its variable.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let url = self.database_url.clone();
        Settings::from_lookup(&|name| {
            if name == "DATABASE_URL" {
                Some(url.clone())
            } else {
                std::env::var(name).ok()
            }
        })
        .context("invalid setting")
    }

    /// The services, started on first use (without migrating).
    pub async fn services(&self) -> anyhow::Result<&Services> {
        self.services
            .get_or_try_init(|| async {
                let settings = self.settings()?;
                Services::start(settings).await.map_err(anyhow::Error::from)
            })
            .await
    }

    /// The services, refusing to work on a database whose migrations are not all applied.
    pub async fn migrated(&self) -> anyhow::Result<&Services> {
        let services = self.services().await?;
        let pending = services
            .store()
            .migration_status()
            .await?
            .iter()
            .filter(|m| m.applied_on.is_none())
            .count();
        if pending > 0 {
            anyhow::bail!(
                "the database has {pending} pending migration(s): run `mitx db migrate` first"
            );
        }
        Ok(services)
    }

    /// The read handle of a migrated database.
    pub async fn migrated_store(&self) -> anyhow::Result<&Store> {
        Ok(self.migrated().await?.store())
    }

    /// Closes the database if it was opened.
    pub async fn close(&self) {
        if let Some(services) = self.services.get() {
            services.close().await;
        }
    }

    /// Whether to print progress and notes on stderr.
    pub fn chatty(&self) -> bool {
        !self.quiet
    }
}
