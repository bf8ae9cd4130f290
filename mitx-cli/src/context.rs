//! What every command gets: the global options and a lazily opened store.

use anyhow::Context as _;
use mitx_store::Store;
use tokio::sync::OnceCell;

use crate::Cli;

/// The global options and the store.
#[derive(Debug)]
pub struct Context {
    /// The database URL.
    pub database_url: String,
    /// Machine output.
    pub json: bool,
    /// Errors only.
    pub quiet: bool,
    store: OnceCell<Store>,
}

impl Context {
    /// From the parsed command line.
    pub fn new(cli: &Cli) -> Self {
        Context {
            database_url: cli.database_url.clone(),
            json: cli.json,
            quiet: cli.quiet,
            store: OnceCell::new(),
        }
    }

    /// The store, connected on first use (without migrating).
    pub async fn store(&self) -> anyhow::Result<&Store> {
        self.store
            .get_or_try_init(|| async {
                Store::connect(&self.database_url).await.with_context(|| {
                    format!("cannot open database {}", redact_url(&self.database_url))
                })
            })
            .await
    }

    /// The store, refusing to work on a database whose migrations are not all applied.
    pub async fn migrated_store(&self) -> anyhow::Result<&Store> {
        let store = self.store().await?;
        let pending = store
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
        Ok(store)
    }

    /// Closes the store if it was opened.
    pub async fn close(&self) {
        if let Some(store) = self.store.get() {
            store.close().await;
        }
    }

    /// Whether to print progress and notes on stderr.
    pub fn chatty(&self) -> bool {
        !self.quiet
    }
}

/// A database URL with its password hidden.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://mitx.db"), "sqlite://mitx.db");
    }
}
