//! `mitx users ...`.

use clap::Subcommand;

use crate::context::Context;

/// Users commands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {}

/// Runs a `users` command.
pub async fn run(cmd: UsersCommand, _ctx: &Context) -> anyhow::Result<()> {
    match cmd {}
}
