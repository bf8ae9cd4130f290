//! `mitx`: the operator command line of mitx.
//!
//! The global options and conventions follow `shared/spec/cli.md`. The command groups
//! (db, config, catalog, users, products, discounts, price, ...) arrive with issue 3;
//! until then `mitx` only shows its help and version, and says so.

use std::process::ExitCode;

use clap::{ArgAction, Parser};

/// MITx Online, rebuilt in Rust: catalog, enrollments, payments, certificates.
#[derive(Debug, Parser)]
#[command(
    name = "mitx",
    version,
    about,
    after_help = "Examples:\n  mitx --help\n  mitx --version\n\nCommand groups (db, catalog, discounts, price, ...) are not available in this build yet."
)]
struct Cli {
    /// Database to use: sqlite://PATH or postgres://...
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://mitx.db",
        global = true
    )]
    database_url: String,

    /// Machine-readable JSON on stdout (nothing else on stdout).
    #[arg(long, global = true)]
    json: bool,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !cli.quiet {
        eprintln!(
            "mitx {}: no command given. Command groups arrive with issue 3; see `mitx --help`.",
            env!("CARGO_PKG_VERSION")
        );
    }
    // Usage error: a command is required.
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
