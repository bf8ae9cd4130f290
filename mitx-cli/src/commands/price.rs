//! `mitx price ...`.

use clap::Subcommand;

use crate::context::Context;

/// Price commands.
#[derive(Debug, Subcommand)]
pub enum PriceCommand {}

/// Runs a `price` command.
pub async fn run(cmd: PriceCommand, _ctx: &Context) -> anyhow::Result<()> {
    match cmd {}
}
