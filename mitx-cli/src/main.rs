//! `mitx`: the operator command line of mitx.
//!
//! One module per command group under `commands/`; each command is an options struct and
//! a `run` function. Conventions (shared/spec/cli.md): tables for people, `--json` for
//! machines (nothing else on stdout), progress on stderr, exit 0 ok / 1 failure / 2 usage.

mod commands;
mod context;
mod logging;
mod output;

use std::process::ExitCode;

use clap::{ArgAction, Parser};

use crate::commands::Command;
use crate::context::Context;

/// MITx Online, rebuilt in Rust: catalog, enrollments, payments, certificates.
#[derive(Debug, Parser)]
#[command(
    name = "mitx",
    version,
    about,
    after_help = "Examples:\n  mitx db migrate\n  mitx catalog import fixtures/demo/catalog.json\n  mitx --json catalog list courses"
)]
pub struct Cli {
    /// Database to use: sqlite://PATH or postgres://...
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://mitx.db",
        global = true
    )]
    pub database_url: String,

    /// Machine-readable JSON on stdout (nothing else on stdout).
    #[arg(long, global = true)]
    pub json: bool,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = match logging::LogFormat::from_env() {
        Ok(format) => format,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::FAILURE;
        }
    };
    logging::init(cli.verbose, cli.quiet, log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let verbose = cli.verbose;
    let result = runtime.block_on(async move {
        let context = Context::new(&cli);
        let outcome = commands::run(cli.command, &context).await;
        context.close().await;
        outcome
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if verbose > 0 {
                eprintln!("error: {err:?}");
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_subcommands().next().is_none() {
                let help = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !help.contains("Example") {
                    missing.push(path.clone());
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path, missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(
            missing.is_empty(),
            "commands without an example: {missing:?}"
        );
    }
}
