//! `mitx tokens create|list|revoke`: service tokens for machine clients (MIT Learn's
//! catalog pull), the replacement of the original's DRF API keys.
//!
//! A token's secret (`mitx_` + 40 hex characters from 20 random bytes of the operating
//! system) is printed once by `create` and never stored: the database keeps its SHA-256.
//! Clients send it as `Authorization: Bearer <secret>` (or `Api-Key <secret>`).

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use mitx_services::service_tokens;
use mitx_services::store::StoreError;
use mitx_services::store::audit_log::Audit;
use mitx_services::store::service_tokens::{
    NewServiceToken, SECRET_BYTES, ServiceToken, token_from_bytes,
};
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{emit, note, print_rows, print_value};

/// Service tokens for machine clients.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a service token and print its secret (shown once, never again).
    #[command(
        after_help = "Example:\n  mitx tokens create mit-learn-etl --scope catalog:read --reason 'Learn catalog pull'\n  TOKEN=$(mitx --quiet tokens create etl-staging --scope catalog:read)\n\nClients send the secret as `Authorization: Bearer <secret>`. Known scopes: catalog:read, openedx:webhook."
    )]
    Create {
        /// A unique name saying who uses the token (1-100 letters, digits, '-_.:@').
        name: String,
        /// A scope to grant (repeatable); known: catalog:read, openedx:webhook.
        #[arg(long = "scope", required = true, value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        /// Who (default $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
    },
    /// List service tokens (revoked ones included); secrets are never shown.
    #[command(after_help = "Example:\n  mitx tokens list\n  mitx --json tokens list")]
    List,
    /// Revoke a service token: requests using it are refused (401) from now on.
    #[command(
        after_help = "Example:\n  mitx tokens revoke mit-learn-etl --reason 'secret leaked' --dry-run\n  mitx tokens revoke mit-learn-etl --reason 'secret leaked'"
    )]
    Revoke {
        /// The token's name.
        name: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
        /// Who (default $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
        /// Show what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A token as listed.
#[derive(Debug, Serialize, Tabled)]
struct Row {
    name: String,
    scopes: String,
    created: String,
    #[tabled(rename = "last used")]
    last_used: String,
    revoked: String,
}

fn when(time: Option<DateTime<Utc>>) -> String {
    time.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

impl From<&ServiceToken> for Row {
    fn from(t: &ServiceToken) -> Self {
        Row {
            name: t.name.clone(),
            scopes: t.scopes.join(" "),
            created: when(Some(t.created_on)),
            last_used: when(t.last_used_on),
            revoked: when(t.revoked_on),
        }
    }
}

fn print_tokens(ctx: &Context, tokens: &[ServiceToken]) -> anyhow::Result<()> {
    let rows: Vec<Row> = tokens.iter().map(Row::from).collect();
    print_rows(ctx, &rows)
}

/// What `create --json` prints: the token and, this once, its secret.
#[derive(Debug, Serialize)]
struct Created<'a> {
    #[serde(flatten)]
    token: &'a ServiceToken,
    secret: &'a str,
}

/// A new secret from the operating system's random source.
fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow!("cannot read random bytes from the operating system: {e}"))?;
    Ok(token_from_bytes(&bytes))
}

/// Runs a `tokens` command.
pub async fn run(cmd: TokensCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let store = services.store();
    match cmd {
        TokensCommand::Create {
            name,
            scopes,
            reason,
            actor,
        } => {
            let secret = new_secret()?;
            let new = NewServiceToken::new(&name, &secret, &scopes).map_err(|e| anyhow!("{e}"))?;
            let audit = Audit { actor, reason };
            let token = match service_tokens::create(services, &new, &audit).await {
                Ok(token) => token,
                Err(StoreError::Conflict(_)) => {
                    bail!("A service token named '{name}' already exists (names are never reused).")
                }
                Err(other) => return Err(other).context("cannot create the token"),
            };
            note(
                ctx,
                format!(
                    "Created service token '{}' (scopes: {}). Copy the secret now: it cannot be \
                     shown again. Clients send it as `Authorization: Bearer <secret>`.",
                    token.name,
                    token.scopes.join(" ")
                ),
            );
            print_value(
                ctx,
                &Created {
                    token: &token,
                    secret: &secret,
                },
                |c| emit(c.secret),
            )
        }
        TokensCommand::List => {
            let tokens = store.list_service_tokens().await?;
            if ctx.json {
                return print_value(ctx, &tokens, |_| {});
            }
            print_tokens(ctx, &tokens)
        }
        TokensCommand::Revoke {
            name,
            reason,
            actor,
            dry_run,
        } => {
            let token = store
                .service_token(&name)
                .await?
                .ok_or_else(|| anyhow!("Service token '{name}' not found."))?;
            if dry_run {
                note(
                    ctx,
                    if token.is_revoked() {
                        format!("Dry run: service token '{name}' is already revoked.")
                    } else {
                        format!("Dry run: would revoke service token '{name}' (nothing written).")
                    },
                );
                return print_value(ctx, &token, |t| {
                    let _ = print_tokens(ctx, std::slice::from_ref(t));
                });
            }
            let audit = Audit {
                actor,
                reason: Some(reason),
            };
            let revocation = service_tokens::revoke(services, &name, &audit).await?;
            note(
                ctx,
                if revocation.changed {
                    format!("Revoked service token '{name}'; requests using it are now refused.")
                } else {
                    format!("Service token '{name}' was already revoked; nothing changed.")
                },
            );
            print_value(ctx, &revocation, |r| {
                let _ = print_tokens(ctx, std::slice::from_ref(&r.token));
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use mitx_services::store::service_tokens::{KNOWN_SCOPES, is_well_formed_token};

    use super::*;

    #[test]
    fn secrets_are_fresh_and_well_formed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert!(is_well_formed_token(&a), "{a}");
        assert_ne!(a, b);
        // The help texts name the known scopes; they must follow the list.
        assert_eq!(KNOWN_SCOPES, ["catalog:read", "openedx:webhook"]);
    }
}
