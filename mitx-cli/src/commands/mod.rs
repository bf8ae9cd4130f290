//! The command groups of `mitx`, one module each.

pub mod catalog;
pub mod certificates;
pub mod config;
pub mod db;
pub mod discounts;
pub mod edx;
pub mod enrollments;
pub mod jobs;
pub mod orders;
pub mod price;
pub mod products;
pub mod records;
pub mod reports;
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
    #[command(
        subcommand,
        after_help = "Example:\n  mitx db migrate\n  mitx db status"
    )]
    Db(db::DbCommand),
    /// Effective settings.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx config show\n  mitx --format json config show"
    )]
    Config(config::ConfigCommand),
    /// Departments, courses, runs, programs and requirement trees.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx catalog import fixtures/demo/catalog.json\n  mitx catalog list courses\n  mitx catalog check-requirements"
    )]
    Catalog(catalog::CatalogCommand),
    /// Learner and staff accounts.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx users create --username jdoe --email jdoe@example.com --name 'Jane Doe' --country US\n  mitx users list --search doe"
    )]
    Users(users::UsersCommand),
    /// Purchasable products and their price versions.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx products create course-v1:MITx+14.100x+1T2027 1000 -d Microeconomics --reason 'new run'\n  mitx products list --all"
    )]
    Products(products::ProductsCommand),
    /// Discount codes.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx discounts generate --prefix SPRING --count 1000 --amount 10 --payment-type marketing\n  mitx discounts check SPRING25\n  mitx discounts extend --discount-code-prefix SPRING --expires 2027-06-30 --reason 'campaign extended' --dry-run"
    )]
    Discounts(discounts::DiscountsCommand),
    /// Run the HTTP API (migrates first).
    Serve(serve::ServeCommand),
    /// Explain prices.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx price explain --user jdoe --product 3 --code WELCOME10"
    )]
    Price(price::PriceCommand),
    /// Service tokens for machine clients (create, list, revoke).
    #[command(
        subcommand,
        after_help = "Example:\n  mitx tokens create mit-learn-etl --scope catalog:read --reason 'Learn catalog pull'\n  mitx tokens list"
    )]
    Tokens(tokens::TokensCommand),
    /// Run queued jobs and the periodic schedule.
    Worker(worker::WorkerCommand),
    /// The job queue: list, failed, show, retry, run a periodic job now, the schedule.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx jobs list --status failed\n  mitx jobs retry 42 --reason 'edX was down'\n  mitx jobs run retry-failed-edx-enrollments"
    )]
    Jobs(jobs::JobsCommand),
    /// Open edX repairs: retry enrollments, reset retries, sync a learner's enrollments.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx edx retry-enrollments --dry-run\n  mitx edx sync-enrollments --user jdoe"
    )]
    Edx(edx::EdxCommand),
    /// Operator changes of enrollments: defer a seat, upgrade eligible program enrollments.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx enrollments defer --user jdoe --from-run course-v1:MITx+6.00.1x+1T2026 --to-run course-v1:MITx+6.00.1x+1T2027 --reason 'ticket 4242'\n  mitx enrollments upgrade-programs --dry-run"
    )]
    Enrollments(enrollments::EnrollmentsCommand),
    /// Course-run and program certificates: revoke and unrevoke.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx certificates revoke --user jdoe --run course-v1:MITx+6.001x+1T2026 --reason 'academic integrity'\n  mitx certificates unrevoke --user jdoe --run course-v1:MITx+6.001x+1T2026 --reason 'appeal upheld'"
    )]
    Certificates(certificates::CertificatesCommand),
    /// Learner records: the partner schools learners share program records with.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx records partner-schools add --name 'Pathway College' --email admissions@pathway.edu --reason 'new partner'\n  mitx records partner-schools list"
    )]
    Records(records::RecordsCommand),
    /// Orders: list, show, refund (through CyberSource or record-only), resolve pending.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx orders show mitxonline-prod-1001\n  mitx orders refund mitxonline-prod-1001 --unenroll --reason 'ticket 4242' --dry-run\n  mitx orders resolve --all"
    )]
    Orders(orders::OrdersCommand),
    /// Reports for finance.
    #[command(
        subcommand,
        after_help = "Example:\n  mitx reports orders --from 2026-03-01 --to 2026-03-31 --csv march.csv"
    )]
    Reports(reports::ReportsCommand),
}

/// Runs one command.
pub async fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Db(cmd) => db::run(cmd, ctx).await,
        Command::Certificates(cmd) => certificates::run(cmd, ctx).await,
        Command::Records(cmd) => records::run(cmd, ctx).await,
        Command::Orders(cmd) => orders::run(cmd, ctx).await,
        Command::Reports(cmd) => reports::run(cmd, ctx).await,
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
        Command::Enrollments(cmd) => enrollments::run(cmd, ctx).await,
    }
}
