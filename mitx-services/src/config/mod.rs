//! Settings from the environment (12-factor), one typed struct per concern, validated once
//! at start: `mitx serve` and `mitx worker` refuse to start on a bad value and name the
//! variable. A setting that exists in the original system keeps its original name; new
//! ones are prefixed `MITX_`. [`table::SETTINGS`] lists them all with their defaults.

mod baskets;
mod credentials;
mod database;
mod edx;
mod email;
mod payment;
mod payments;
mod server;
mod site;
pub mod table;
mod worker;

use std::time::Duration;

pub use baskets::BasketSettings;
pub use credentials::{CredentialSettings, SigningSeed};
pub use database::DatabaseSettings;
pub use edx::EdxSettings;
pub use email::{EmailBackend, EmailSettings};
pub use payment::PaymentSettings;
pub use payments::{CyberSourceRestSettings, StripeSettings};
pub use server::{ServerSettings, origin_of};
pub use site::SiteSettings;
pub use table::{SETTINGS, SettingSpec, SettingValue, effective_values, setting};
pub use worker::WorkerSettings;

/// A setting with a value mitx cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it (secrets are never quoted).
    pub problem: String,
}

/// Every concern's settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The database.
    pub database: DatabaseSettings,
    /// The public site.
    pub site: SiteSettings,
    /// The HTTP server.
    pub server: ServerSettings,
    /// Open edX.
    pub edx: EdxSettings,
    /// Outgoing email.
    pub email: EmailSettings,
    /// The job worker and the periodic schedule.
    pub worker: WorkerSettings,
    /// Verifiable credentials and learner records.
    pub credentials: CredentialSettings,
    /// The CyberSource REST API (refunds, transaction search).
    pub cybersource_rest: CyberSourceRestSettings,
    /// Stripe (Checkout Sessions, webhooks).
    pub stripe: StripeSettings,
    /// Checkout and the payment gateways.
    pub payment: PaymentSettings,
    /// Baskets.
    pub baskets: BasketSettings,
}

impl Settings {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads and validates settings through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let env = Env { lookup };
        Ok(Settings {
            database: DatabaseSettings::read(&env)?,
            site: SiteSettings::read(&env)?,
            server: ServerSettings::read(&env)?,
            edx: EdxSettings::read(&env)?,
            email: EmailSettings::read(&env)?,
            worker: WorkerSettings::read(&env)?,
            credentials: CredentialSettings::read(&env)?,
            cybersource_rest: CyberSourceRestSettings::read(&env)?,
            stripe: StripeSettings::read(&env)?,
            payment: PaymentSettings::read(&env)?,
            baskets: BasketSettings::read(&env)?,
        })
    }
}

/// Typed access to the settings of [`SETTINGS`]: the variable's value or its default.
pub(crate) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    fn spec(&self, name: &'static str) -> Result<&'static SettingSpec, ConfigError> {
        setting(name).ok_or(ConfigError {
            variable: name,
            problem: "not a known setting (missing from the settings table)".into(),
        })
    }

    pub(crate) fn error(&self, name: &'static str, problem: impl Into<String>) -> ConfigError {
        // A message may quote the value: a secret's value never, a URL's password never.
        let mut problem = problem.into();
        if let Some(value) = (self.lookup)(name).map(|v| v.trim().to_owned())
            && !value.is_empty()
        {
            let secret = setting(name).is_some_and(|s| s.secret);
            let shown = if secret {
                "***".to_owned()
            } else {
                mitx_store::redact(&value)
            };
            problem = problem.replace(&value, &shown);
        }
        ConfigError {
            variable: name,
            problem,
        }
    }

    /// The trimmed value, or the default.
    pub(crate) fn text(&self, name: &'static str) -> Result<String, ConfigError> {
        let spec = self.spec(name)?;
        Ok((self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| spec.default.to_owned()))
    }

    /// The value, `None` when empty.
    pub(crate) fn optional(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        Ok(Some(self.text(name)?).filter(|v| !v.is_empty()))
    }

    /// `true/false`, `1/0`, `yes/no`, `on/off` (any case).
    pub(crate) fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        let value = self.text(name)?;
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(self.error(
                name,
                format!("'{value}' is not a boolean (use true or false)"),
            )),
        }
    }

    /// A whole number within `range`.
    pub(crate) fn number(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let value = self.text(name)?;
        let number: u64 = value
            .parse()
            .map_err(|_| self.error(name, format!("'{value}' is not a whole number")))?;
        if !range.contains(&number) {
            return Err(self.error(
                name,
                format!(
                    "{number} is out of range ({}..={})",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(number)
    }

    /// A number of seconds within `range`.
    pub(crate) fn seconds(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(self.number(name, range)?))
    }

    /// An `http://` or `https://` URL without its trailing slash; `None` when empty.
    pub(crate) fn url(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.optional(name)? else {
            return Ok(None);
        };
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .ok_or_else(|| {
                self.error(name, format!("'{value}' is not an http:// or https:// URL"))
            })?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() || value.chars().any(char::is_whitespace) {
            return Err(self.error(name, format!("'{value}' has no host")));
        }
        Ok(Some(value.trim_end_matches('/').to_owned()))
    }

    /// A URL that must be set.
    pub(crate) fn required_url(&self, name: &'static str) -> Result<String, ConfigError> {
        self.url(name)?
            .ok_or_else(|| self.error(name, "must be set to an http:// or https:// URL"))
    }

    /// An email address (`addr@host` or `Name <addr@host>`); `None` when empty.
    pub(crate) fn mailbox(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.optional(name)? else {
            return Ok(None);
        };
        let address = match (value.rfind('<'), value.rfind('>')) {
            (Some(open), Some(close)) if open < close => &value[open + 1..close],
            _ => value.as_str(),
        };
        let valid = address
            .split_once('@')
            .is_some_and(|(local, host)| !local.is_empty() && host.contains('.'))
            && !address.chars().any(char::is_whitespace);
        if !valid {
            return Err(self.error(name, format!("'{value}' is not an email address")));
        }
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(&|name| map.get(name).cloned())
    }

    #[test]
    fn every_default_is_valid() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings.database.url, "sqlite://mitx.db");
        assert!(!settings.edx.ignore_failures);
        assert_eq!(settings.edx.api_base_url, None);
        assert_eq!(settings.worker.concurrency, 4);
        assert!(settings.server.gateway_disabled);
        assert_eq!(settings.email.backend, EmailBackend::File);
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases: &[(&str, &str)] = &[
            ("IGNORE_EDX_FAILURES", "maybe"),
            ("MITX_WORKER_CONCURRENCY", "0"),
            ("MITX_WORKER_CONCURRENCY", "many"),
            ("OPENEDX_API_BASE_URL", "lms.example.com"),
            ("SITE_BASE_URL", "ftp://x"),
            ("MITX_EMAIL_BACKEND", "carrier-pigeon"),
            ("MITX_ONLINE_FROM_EMAIL", "not an address"),
            ("MITX_BIND", "localhost"),
            ("DATABASE_URL", "mysql://db"),
            ("MITX_WORKER_LEASE_SECONDS", "1"),
        ];
        for (name, value) in cases {
            let err = read(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, *name, "{err}");
        }
        let smtp = read(&[("MITX_EMAIL_BACKEND", "smtp")]).unwrap_err();
        assert_eq!(smtp.variable, "MITX_SMTP_URL");
    }

    #[test]
    fn secrets_are_redacted_and_database_passwords_hidden() {
        let values = effective_values(&|name| match name {
            "OPENEDX_SERVICE_WORKER_API_TOKEN" => Some("s3cret".into()),
            "DATABASE_URL" => Some("postgres://app:hunter2@db/mitx".into()),
            _ => None,
        });
        let shown = |name: &str| {
            values
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .display_value()
        };
        assert_eq!(shown("OPENEDX_SERVICE_WORKER_API_TOKEN"), "***");
        assert_eq!(shown("DATABASE_URL"), "postgres://app:***@db/mitx");
        assert_eq!(shown("MITX_SMTP_URL"), "");
    }

    #[test]
    fn urls_lose_their_trailing_slash() {
        let settings = read(&[("OPENEDX_API_BASE_URL", "https://lms.example.com/")]).unwrap();
        assert_eq!(
            settings.edx.api_base_url.as_deref(),
            Some("https://lms.example.com")
        );
    }

    #[test]
    fn configuration_doc_names_every_setting() {
        let doc = include_str!("../../../docs/configuration.md");
        let missing: Vec<&str> = SETTINGS
            .iter()
            .map(|s| s.name)
            .filter(|name| !doc.contains(&format!("`{name}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/configuration.md lacks {missing:?}"
        );
    }
}
