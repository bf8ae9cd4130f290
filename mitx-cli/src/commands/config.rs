//! `mitx config show`.

use clap::Subcommand;
use mitx_services::config::effective_values;
use tabled::Tabled;

use crate::context::Context;
use crate::output::print_rows;

/// Effective settings.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its effective value and where it came from; secrets and
    /// database passwords are redacted. Exits 1 (after printing) when a value is invalid.
    #[command(
        after_help = "Example:\n  mitx config show\n  DATABASE_URL=postgres://db/mitx mitx --json config show"
    )]
    Show,
}

#[derive(Debug, serde::Serialize, Tabled)]
struct Row {
    name: &'static str,
    value: String,
    source: &'static str,
    description: &'static str,
}

/// Runs a `config` command.
pub async fn run(cmd: ConfigCommand, ctx: &Context) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Show => {
            let values = effective_values(&|name| {
                if name == "DATABASE_URL" && ctx.database_url != "sqlite://mitx.db" {
                    Some(ctx.database_url.clone())
                } else {
                    std::env::var(name).ok()
                }
            });
            let rows: Vec<Row> = values
                .into_iter()
                .map(|e| Row {
                    name: e.name,
                    value: e.display_value(),
                    source: if e.from_env { "environment" } else { "default" },
                    description: e.description,
                })
                .collect();
            print_rows(ctx, &rows)?;
            ctx.settings()?;
            Ok(())
        }
    }
}
