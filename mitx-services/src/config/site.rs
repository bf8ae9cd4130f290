//! The public site.

use super::{ConfigError, Env};

/// What links and emails say about the site.
#[derive(Clone, Debug)]
pub struct SiteSettings {
    /// `SITE_BASE_URL`, without a trailing slash.
    pub base_url: String,
    /// `SITE_NAME`.
    pub name: String,
    /// `ENVIRONMENT`.
    pub environment: String,
}

impl SiteSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(SiteSettings {
            base_url: env.required_url("SITE_BASE_URL")?,
            name: env.text("SITE_NAME")?,
            environment: env.text("ENVIRONMENT")?,
        })
    }
}
