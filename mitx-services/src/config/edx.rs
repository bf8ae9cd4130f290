//! Open edX (courses spec 4.1).

use std::time::Duration;

use super::{ConfigError, Env};

/// How mitx reaches Open edX.
#[derive(Clone)]
pub struct EdxSettings {
    /// `OPENEDX_API_BASE_URL` (`None`: edX is not configured; every call fails).
    pub api_base_url: Option<String>,
    /// `OPENEDX_SERVICE_WORKER_API_TOKEN`.
    pub service_token: Option<String>,
    /// `OPENEDX_SERVICE_WORKER_USERNAME`.
    pub service_username: Option<String>,
    /// `MITX_ONLINE_REGISTRATION_ACCESS_TOKEN`.
    pub registration_access_token: Option<String>,
    /// `OPENEDX_OAUTH_PROVIDER`.
    pub oauth_provider: String,
    /// `OPENEDX_API_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `OPENEDX_API_CLIENT_SECRET`.
    pub client_secret: Option<String>,
    /// `OPENEDX_STUDIO_API_BASE_URL` (Studio course management; `None`: not configured).
    pub studio_base_url: Option<String>,
    /// `OPENEDX_COURSES_SERVICE_WORKER_CLIENT_ID` (the JWT client of Studio calls).
    pub courses_client_id: Option<String>,
    /// `OPENEDX_COURSES_SERVICE_WORKER_CLIENT_SECRET`.
    pub courses_client_secret: Option<String>,
    /// `MITX_OPENEDX_TIMEOUT_SECONDS`.
    pub timeout: Duration,
    /// `IGNORE_EDX_FAILURES`.
    pub ignore_failures: bool,
}

impl std::fmt::Debug for EdxSettings {
    // Tokens and secrets never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("EdxSettings")
            .field("api_base_url", &self.api_base_url)
            .field("service_token", &hidden(&self.service_token))
            .field("service_username", &self.service_username)
            .field(
                "registration_access_token",
                &hidden(&self.registration_access_token),
            )
            .field("oauth_provider", &self.oauth_provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("studio_base_url", &self.studio_base_url)
            .field("courses_client_id", &self.courses_client_id)
            .field(
                "courses_client_secret",
                &hidden(&self.courses_client_secret),
            )
            .field("timeout", &self.timeout)
            .field("ignore_failures", &self.ignore_failures)
            .finish()
    }
}

impl EdxSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(EdxSettings {
            api_base_url: env.url("OPENEDX_API_BASE_URL")?,
            service_token: env.optional("OPENEDX_SERVICE_WORKER_API_TOKEN")?,
            service_username: env.optional("OPENEDX_SERVICE_WORKER_USERNAME")?,
            registration_access_token: env.optional("MITX_ONLINE_REGISTRATION_ACCESS_TOKEN")?,
            oauth_provider: env.text("OPENEDX_OAUTH_PROVIDER")?,
            client_id: env.optional("OPENEDX_API_CLIENT_ID")?,
            client_secret: env.optional("OPENEDX_API_CLIENT_SECRET")?,
            studio_base_url: env.url("OPENEDX_STUDIO_API_BASE_URL")?,
            courses_client_id: env.optional("OPENEDX_COURSES_SERVICE_WORKER_CLIENT_ID")?,
            courses_client_secret: env.optional("OPENEDX_COURSES_SERVICE_WORKER_CLIENT_SECRET")?,
            timeout: env.seconds("MITX_OPENEDX_TIMEOUT_SECONDS", 1..=600)?,
            ignore_failures: env.flag("IGNORE_EDX_FAILURES")?,
        })
    }
}
