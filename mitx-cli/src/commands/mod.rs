//! The command groups of `mitx`, one module each.

pub mod catalog;
pub mod config;
pub mod db;
pub mod discounts;
pub mod edx;
pub mod jobs;
pub mod price;
pub mod products;
pub mod serve;
pub mod tokens;
pub mod users;
pub mod worker;

use clap::Subcommand;

use crate::context::Context;

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Schema migrations.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Effective settings.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Departments, courses, runs, programs and requirement trees.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Learner and staff accounts.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Purchasable products and their price versions.
    #[command(subcommand)]
    Products(products::ProductsCommand),
    /// Discount codes.
    #[command(subcommand)]
    Discounts(discounts::DiscountsCommand),
    /// Run the HTTP API (migrates first).
    Serve(serve::ServeCommand),
    /// Explain prices.
    #[command(subcommand)]
    Price(price::PriceCommand),
    /// Service tokens for machine clients (create, list, revoke).
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Run queued jobs and the periodic schedule.
    Worker(worker::WorkerCommand),
    /// The job queue: list, failed, show, retry, run a periodic job now, the schedule.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Open edX repairs: retry enrollments, reset retries, sync a learner's enrollments.
    #[command(subcommand)]
    Edx(edx::EdxCommand),
}

/// Runs one command.
pub async fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Db(cmd) => db::run(cmd, ctx).await,
        Command::Config(cmd) => config::run(cmd, ctx).await,
        Command::Catalog(cmd) => catalog::run(cmd, ctx).await,
        Command::Users(cmd) => users::run(cmd, ctx).await,
        Command::Products(cmd) => products::run(cmd, ctx).await,
        Command::Discounts(cmd) => discounts::run(cmd, ctx).await,
        Command::Price(cmd) => price::run(cmd, ctx).await,
        Command::Serve(cmd) => serve::run(cmd, ctx).await,
        Command::Tokens(cmd) => tokens::run(cmd, ctx).await,
        Command::Worker(cmd) => worker::run(cmd, ctx).await,
        Command::Jobs(cmd) => jobs::run(cmd, ctx).await,
        Command::Edx(cmd) => edx::run(cmd, ctx).await,
    }
}
