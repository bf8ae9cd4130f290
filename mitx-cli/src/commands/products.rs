//! `mitx products ...`.

use clap::Subcommand;

use crate::context::Context;

/// Products commands.
#[derive(Debug, Subcommand)]
pub enum ProductsCommand {}

/// Runs a `products` command.
pub async fn run(cmd: ProductsCommand, _ctx: &Context) -> anyhow::Result<()> {
    match cmd {}
}
