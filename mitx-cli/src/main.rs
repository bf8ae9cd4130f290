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
    /// Database to use: sqlite://PATH or postgres://... (the value of DATABASE_URL is
    /// never shown here: it may hold a password).
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://mitx.db",
        global = true
    )]
    pub database_url: String,

    /// Machine-readable JSON on stdout (nothing else on stdout); the same as --format json.
    #[arg(long, global = true)]
    pub json: bool,

    /// How results are printed: table (default on a terminal; fitted to its width or
    /// COLUMNS), tsv (default when stdout is not a terminal), csv or json.
    #[arg(long, global = true, value_enum)]
    pub format: Option<output::Format>,

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
    output::set_format(output::Format::resolve(cli.format, cli.json));
    let result = runtime.block_on(async move {
        let context = Context::new(&cli);
        let outcome = commands::run(cli.command, &context).await;
        context.close().await;
        outcome
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", error_text(&err, verbose > 0));
            ExitCode::FAILURE
        }
    }
}

/// The final error for people: each distinct cause once (an error whose message already
/// quotes its cause is not followed by that cause again), on one line, or one cause per
/// line with `-v`. Never a debug dump or a backtrace: those hold library-internal
/// locations, and a connection error's debug form can hold a database URL.
fn error_text(err: &anyhow::Error, verbose: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || parts.iter().any(|p| p.contains(text)) {
            continue;
        }
        parts.push(text.to_owned());
    }
    if verbose {
        let mut out = format!("error: {}", parts.first().map_or("", String::as_str));
        for cause in parts.iter().skip(1) {
            out.push_str("\n  caused by: ");
            out.push_str(cause);
        }
        out
    } else {
        format!("error: {}", parts.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn an_error_prints_each_cause_once() {
        let err = anyhow::anyhow!("connection refused")
            .context("cannot connect to PostgreSQL at db:5432: connection refused")
            .context("cannot open database");
        assert_eq!(
            super::error_text(&err, false),
            "error: cannot open database: cannot connect to PostgreSQL at db:5432: connection refused"
        );
        assert_eq!(
            super::error_text(&err, true),
            "error: cannot open database\n  caused by: cannot connect to PostgreSQL at db:5432: connection refused"
        );
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            // Groups and leaves alike: `mitx discounts --help` shows an example too.
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            if !help.contains("Example") {
                missing.push(path.clone());
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
