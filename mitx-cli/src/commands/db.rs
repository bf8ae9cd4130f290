//! `mitx db migrate|status`.

use clap::Subcommand;
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{note, print_rows};

/// Schema migrations.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply every pending migration.
    #[command(after_help = "Example:\n  mitx --database-url sqlite://mitx.db db migrate")]
    Migrate,
    /// Show every migration and whether it is applied.
    #[command(after_help = "Example:\n  mitx db status\n  mitx --json db status")]
    Status,
}

#[derive(Debug, Serialize, Tabled)]
struct Row {
    version: i64,
    description: String,
    applied: String,
}

/// Runs a `db` command.
pub async fn run(cmd: DbCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.services().await?;
    let store = services.store();
    match cmd {
        DbCommand::Migrate => {
            let applied = services.migrate().await?;
            note(
                ctx,
                format!(
                    "Applied {applied} migration(s) on {}.",
                    store.backend().name()
                ),
            );
            status(ctx, store).await
        }
        DbCommand::Status => status(ctx, store).await,
    }
}

async fn status(ctx: &Context, store: &mitx_services::store::Store) -> anyhow::Result<()> {
    let rows: Vec<Row> = store
        .migration_status()
        .await?
        .into_iter()
        .map(|m| Row {
            version: m.version,
            description: m.description,
            applied: m
                .applied_on
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_else(|| "pending".into()),
        })
        .collect();
    print_rows(ctx, &rows)
}
