//! Sending: the file outbox (default) or SMTP through lettre.

use std::path::{Path, PathBuf};

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{EmailError, RenderedEmail};
use crate::config::{EmailBackend, EmailSettings};

/// The configured transport.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.transport {
            Transport::Outbox(path) => write!(f, "Mailer(outbox {})", path.display()),
            Transport::Smtp(_) => f.write_str("Mailer(smtp)"),
        }
    }
}

fn mailbox(text: &str) -> Result<Mailbox, EmailError> {
    text.parse()
        .map_err(|_| EmailError::Address(text.to_owned()))
}

impl Mailer {
    /// The transport of the settings (the SMTP URL is checked here, not dialled).
    pub fn new(settings: &EmailSettings) -> Result<Mailer, EmailError> {
        let transport = match settings.backend {
            EmailBackend::File => Transport::Outbox(settings.outbox.clone()),
            EmailBackend::Smtp => {
                crate::install_crypto_provider();
                let url = settings.smtp_url.as_deref().unwrap_or_default();
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| EmailError::Smtp(format!("MITX_SMTP_URL is not usable: {e}")))?
                    .build();
                Transport::Smtp(smtp)
            }
        };
        Ok(Mailer { transport })
    }

    /// The outbox folder, for the file transport.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Outbox(path) => Some(path),
            Transport::Smtp(_) => None,
        }
    }

    /// Sends one message. `message_key` names it (the job id): the outbox file is
    /// `{message_key}.eml`, so sending the same job again rewrites the same file.
    pub async fn send(&self, email: &RenderedEmail, message_key: &str) -> Result<(), EmailError> {
        let message = build(email, message_key)?;
        match &self.transport {
            Transport::Outbox(dir) => {
                let outbox = |source| EmailError::Outbox {
                    path: dir.display().to_string(),
                    source,
                };
                // One write, truncating: a job that runs again rewrites the same file. The
                // folder is created the first time it is missing.
                let file = dir.join(format!("{message_key}.eml"));
                let bytes = message.formatted();
                match tokio::fs::write(&file, &bytes).await {
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        tokio::fs::create_dir_all(dir).await.map_err(outbox)?;
                        tokio::fs::write(&file, &bytes).await.map_err(outbox)
                    }
                    other => other.map_err(outbox),
                }
            }
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|e| EmailError::Smtp(e.to_string())),
        }
    }
}

fn build(email: &RenderedEmail, message_key: &str) -> Result<Message, EmailError> {
    let mut builder = Message::builder()
        .from(mailbox(&email.from)?)
        .to(mailbox(&email.to)?)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{message_key}@mitx.invalid>")));
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| EmailError::Build(e.to_string()))
}
