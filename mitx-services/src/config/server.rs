//! The HTTP server.

use std::net::SocketAddr;
use std::time::Duration;

use super::{ConfigError, Env};

/// How `mitx serve` listens and whom it trusts.
#[derive(Clone)]
pub struct ServerSettings {
    /// `MITX_BIND`.
    pub bind: SocketAddr,
    /// `MITOL_APIGATEWAY_DISABLE_MIDDLEWARE`: the `X-Userinfo` header is ignored.
    pub gateway_disabled: bool,
    /// `OPENEDX_COURSE_BASE_URL`: base of courseware URLs.
    pub openedx_course_base_url: String,
    /// `USE_X_FORWARDED_HOST`: absolute URLs follow the proxy's forwarding headers.
    pub use_forwarded_host: bool,
    /// `CSRF_TRUSTED_ORIGINS`: origins (`scheme://host[:port]`, lower case, no slash).
    pub csrf_trusted_origins: Vec<String>,
    /// `MITX_HTTP_HEADER_TIMEOUT_SECONDS`.
    pub header_timeout: Duration,
    /// `MITX_HTTP_BODY_TIMEOUT_SECONDS`.
    pub body_timeout: Duration,
    /// `MITX_HTTP_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `MITX_SHUTDOWN_GRACE_SECONDS`.
    pub shutdown_grace: Duration,
    /// `MITX_CATALOG_CACHE_MAX_BYTES`.
    pub catalog_cache_max_bytes: usize,
    /// `MITX_CATALOG_CACHE_TTL_SECONDS`.
    pub catalog_cache_ttl: Duration,
    /// `MITX_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// `SYNC_ON_DASHBOARD_LOAD`: the v1/v2 enrollment lists reconcile with edX first.
    pub sync_on_dashboard_load: bool,
}

impl std::fmt::Debug for ServerSettings {
    // The metrics token never reaches logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("bind", &self.bind)
            .field("gateway_disabled", &self.gateway_disabled)
            .field("openedx_course_base_url", &self.openedx_course_base_url)
            .field("use_forwarded_host", &self.use_forwarded_host)
            .field("csrf_trusted_origins", &self.csrf_trusted_origins)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("catalog_cache_max_bytes", &self.catalog_cache_max_bytes)
            .field("catalog_cache_ttl", &self.catalog_cache_ttl)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("sync_on_dashboard_load", &self.sync_on_dashboard_load)
            .finish()
    }
}

/// `scheme://host[:port]` of an http(s) URL, lower case; `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    if authority.is_empty() || authority.chars().any(|c| c.is_whitespace()) {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

impl ServerSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let bind = env.text("MITX_BIND")?;
        let bind = bind.parse().map_err(|_| ConfigError {
            variable: "MITX_BIND",
            problem: format!("'{bind}' is not an address such as 127.0.0.1:8000"),
        })?;
        Ok(ServerSettings {
            bind,
            gateway_disabled: env.flag("MITOL_APIGATEWAY_DISABLE_MIDDLEWARE")?,
            openedx_course_base_url: env.required_url("OPENEDX_COURSE_BASE_URL")?,
            use_forwarded_host: env.flag("USE_X_FORWARDED_HOST")?,
            csrf_trusted_origins: trusted_origins(&env.text("CSRF_TRUSTED_ORIGINS")?)?,
            header_timeout: env.seconds("MITX_HTTP_HEADER_TIMEOUT_SECONDS", 1..=3600)?,
            body_timeout: env.seconds("MITX_HTTP_BODY_TIMEOUT_SECONDS", 1..=3600)?,
            max_body_bytes: bytes(env.number("MITX_HTTP_MAX_BODY_BYTES", 1024..=(64 << 20))?),
            shutdown_grace: env.seconds("MITX_SHUTDOWN_GRACE_SECONDS", 0..=3600)?,
            catalog_cache_max_bytes: bytes(
                env.number("MITX_CATALOG_CACHE_MAX_BYTES", 0..=(16 << 30))?,
            ),
            catalog_cache_ttl: env.seconds("MITX_CATALOG_CACHE_TTL_SECONDS", 1..=86_400)?,
            metrics_token: env.optional("MITX_METRICS_TOKEN")?,
            sync_on_dashboard_load: env.flag("SYNC_ON_DASHBOARD_LOAD")?,
        })
    }
}

/// A byte count that fits this machine's `usize` (the ranges above keep it small).
fn bytes(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn trusted_origins(text: &str) -> Result<Vec<String>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            origin_of(o).ok_or_else(|| ConfigError {
                variable: "CSRF_TRUSTED_ORIGINS",
                problem: format!("'{o}' is not an origin such as https://learn.mit.edu"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_are_normalised() {
        let cases = [
            (
                "https://Learn.MIT.edu/path?x",
                Some("https://learn.mit.edu"),
            ),
            ("https://learn.mit.edu:443", Some("https://learn.mit.edu")),
            ("http://localhost:8000/", Some("http://localhost:8000")),
            ("http://u:p@host", Some("http://host")),
            ("ftp://host", None),
            ("learn.mit.edu", None),
            ("https://", None),
        ];
        for (input, expected) in cases {
            assert_eq!(origin_of(input).as_deref(), expected, "{input}");
        }
    }
}
