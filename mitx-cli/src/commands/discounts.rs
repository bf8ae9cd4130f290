//! `mitx discounts ...`.

use clap::Subcommand;

use crate::context::Context;

/// Discounts commands.
#[derive(Debug, Subcommand)]
pub enum DiscountsCommand {}

/// Runs a `discounts` command.
pub async fn run(cmd: DiscountsCommand, _ctx: &Context) -> anyhow::Result<()> {
    match cmd {}
}
