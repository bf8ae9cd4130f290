//! Outgoing email (integrations spec 5).

use std::path::PathBuf;

use super::{ConfigError, Env};

/// Where messages go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailBackend {
    /// Each message is written as an `.eml` file to the outbox folder.
    File,
    /// Messages are sent through an SMTP server.
    Smtp,
}

/// Senders, recipients and the transport.
#[derive(Clone)]
pub struct EmailSettings {
    /// `MITX_EMAIL_BACKEND`.
    pub backend: EmailBackend,
    /// `MITX_EMAIL_OUTBOX`.
    pub outbox: PathBuf,
    /// `MITX_SMTP_URL` (required with the smtp backend).
    pub smtp_url: Option<String>,
    /// `MITX_ONLINE_FROM_EMAIL`.
    pub from: String,
    /// `MITX_ONLINE_REPLY_TO_ADDRESS`.
    pub reply_to: Option<String>,
    /// `MITX_ONLINE_SUPPORT_EMAIL`.
    pub support: String,
    /// `REFUND_REQUEST_EMAIL` (or `MITX_ONLINE_REFUND_REQUEST_EMAIL`): where learners'
    /// refund requests are announced; the support address when neither is set.
    pub refund_request: String,
    /// `MAILGUN_RECIPIENT_OVERRIDE`.
    pub recipient_override: Option<String>,
    /// `MIT_LEARN_FROM_EMAIL`.
    pub learn_from: String,
    /// `MIT_LEARN_REPLY_TO_EMAIL`.
    pub learn_reply_to: Option<String>,
    /// `MIT_LEARN_DASHBOARD_URL`.
    pub learn_dashboard_url: String,
}

impl std::fmt::Debug for EmailSettings {
    // The SMTP URL carries credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("backend", &self.backend)
            .field("outbox", &self.outbox)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("support", &self.support)
            .field("refund_request", &self.refund_request)
            .field("recipient_override", &self.recipient_override)
            .finish_non_exhaustive()
    }
}

fn required(value: Option<String>, variable: &'static str) -> Result<String, ConfigError> {
    value.ok_or(ConfigError {
        variable,
        problem: "must be set to an email address".into(),
    })
}

impl EmailSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let backend = match env
            .text("MITX_EMAIL_BACKEND")?
            .to_ascii_lowercase()
            .as_str()
        {
            "file" => EmailBackend::File,
            "smtp" => EmailBackend::Smtp,
            other => {
                return Err(ConfigError {
                    variable: "MITX_EMAIL_BACKEND",
                    problem: format!("'{other}' is not a backend (use file or smtp)"),
                });
            }
        };
        let smtp_url = env.optional("MITX_SMTP_URL")?;
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(ConfigError {
                variable: "MITX_SMTP_URL",
                problem: "must start with smtp:// or smtps://".into(),
            });
        }
        if backend == EmailBackend::Smtp && smtp_url.is_none() {
            return Err(ConfigError {
                variable: "MITX_SMTP_URL",
                problem: "must be set when MITX_EMAIL_BACKEND is smtp".into(),
            });
        }
        let outbox = env.text("MITX_EMAIL_OUTBOX")?;
        if outbox.is_empty() {
            return Err(ConfigError {
                variable: "MITX_EMAIL_OUTBOX",
                problem: "must name a folder".into(),
            });
        }
        let support = required(
            env.mailbox("MITX_ONLINE_SUPPORT_EMAIL")?,
            "MITX_ONLINE_SUPPORT_EMAIL",
        )?;
        let refund_request = match env.mailbox("REFUND_REQUEST_EMAIL")? {
            Some(address) => address,
            None => env
                .mailbox("MITX_ONLINE_REFUND_REQUEST_EMAIL")?
                .unwrap_or_else(|| support.clone()),
        };
        Ok(EmailSettings {
            backend,
            outbox: PathBuf::from(outbox),
            smtp_url,
            from: required(
                env.mailbox("MITX_ONLINE_FROM_EMAIL")?,
                "MITX_ONLINE_FROM_EMAIL",
            )?,
            reply_to: env.mailbox("MITX_ONLINE_REPLY_TO_ADDRESS")?,
            support,
            refund_request,
            recipient_override: env.mailbox("MAILGUN_RECIPIENT_OVERRIDE")?,
            learn_from: required(env.mailbox("MIT_LEARN_FROM_EMAIL")?, "MIT_LEARN_FROM_EMAIL")?,
            learn_reply_to: env.mailbox("MIT_LEARN_REPLY_TO_EMAIL")?,
            learn_dashboard_url: env.required_url("MIT_LEARN_DASHBOARD_URL")?,
        })
    }
}
