//! The HTTP server.

use std::net::SocketAddr;

use super::{ConfigError, Env};

/// How `mitx serve` listens and whom it trusts.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// `MITX_BIND`.
    pub bind: SocketAddr,
    /// `MITOL_APIGATEWAY_DISABLE_MIDDLEWARE`: the `X-Userinfo` header is ignored.
    pub gateway_disabled: bool,
    /// `OPENEDX_COURSE_BASE_URL`: base of courseware URLs.
    pub openedx_course_base_url: String,
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
        })
    }
}
