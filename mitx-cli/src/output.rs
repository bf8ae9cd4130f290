//! Printing results: a table for people, JSON for machines.

use std::io::Write;

use serde::Serialize;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::context::Context;

/// Writes a line to stdout. A closed pipe (`mitx ... | head`) ends the program quietly
/// instead of panicking.
pub fn emit(text: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    if let Err(err) = writeln!(out, "{text}") {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {err}");
        std::process::exit(1);
    }
}

/// Prints `rows` as a table, or as a JSON array with `--json`.
pub fn print_rows<T: Tabled + Serialize>(ctx: &Context, rows: &[T]) -> anyhow::Result<()> {
    if ctx.json {
        emit(serde_json::to_string_pretty(rows)?);
    } else if rows.is_empty() {
        if ctx.chatty() {
            eprintln!("(none)");
        }
    } else {
        let mut table = Table::new(rows);
        table.with(Style::sharp());
        emit(table);
    }
    Ok(())
}

/// Prints one value as JSON with `--json`, else calls `human` to print it for people.
pub fn print_value<T: Serialize>(
    ctx: &Context,
    value: &T,
    human: impl FnOnce(&T),
) -> anyhow::Result<()> {
    if ctx.json {
        emit(serde_json::to_string_pretty(value)?);
    } else {
        human(value);
    }
    Ok(())
}

/// A note for people on stderr (hidden with `--quiet`).
pub fn note(ctx: &Context, message: impl AsRef<str>) {
    if ctx.chatty() {
        eprintln!("{}", message.as_ref());
    }
}

/// An optional value as table text.
pub fn opt<T: std::fmt::Display>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}
