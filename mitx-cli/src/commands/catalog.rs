//! `mitx catalog ...`.

use clap::Subcommand;

use crate::context::Context;

/// Catalog commands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {}

/// Runs a `catalog` command.
pub async fn run(cmd: CatalogCommand, _ctx: &Context) -> anyhow::Result<()> {
    match cmd {}
}
