//! Printing results: a table for people, tab- or comma-separated text for pipes and
//! spreadsheets, JSON for machines; progress bars on stderr.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tabled::settings::peaker::Priority;
use tabled::settings::{Style, Width};
use tabled::{Table, Tabled};

use crate::context::Context;

/// How results are printed on stdout (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
pub enum Format {
    /// A table fitted to the terminal's width (default when stdout is a terminal).
    Table,
    /// Tab-separated, one header line, no box drawing (default when stdout is not a
    /// terminal).
    Tsv,
    /// Comma-separated with a header line (RFC 4180 quoting).
    Csv,
    /// JSON (the same as `--json`).
    Json,
}

impl Format {
    /// The format of a run: the one asked for, else a table on a terminal and TSV in a
    /// pipe.
    pub fn resolve(asked: Option<Format>, json: bool) -> Format {
        match (json, asked) {
            (true, _) => Format::Json,
            (false, Some(format)) => format,
            (false, None) if std::io::stdout().is_terminal() => Format::Table,
            (false, None) => Format::Tsv,
        }
    }
}

/// The process's text format for tables (set once by `main`; tables default to a
/// terminal check when it was never set, as in unit tests).
static TEXT_FORMAT: OnceLock<Format> = OnceLock::new();

/// Records the format every table of this run is printed in.
pub fn set_format(format: Format) {
    let _ = TEXT_FORMAT.set(format);
}

fn text_format() -> Format {
    *TEXT_FORMAT.get_or_init(|| Format::resolve(None, false))
}

/// The width tables must fit: `COLUMNS` when set, else the terminal's, else none.
fn terminal_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(columns);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_rows, columns)| usize::from(columns))
}

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

/// One field as separated text: tabs and line breaks become spaces so a row stays one
/// line of fields.
fn tsv_field(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// `rows` as text in the run's format (`table`, `tsv` or `csv`; JSON callers serialize
/// themselves). Empty when there are no rows.
pub fn render<T: Tabled>(rows: &[T]) -> String {
    render_as(text_format(), rows)
}

fn render_as<T: Tabled>(format: Format, rows: &[T]) -> String {
    match format {
        Format::Table | Format::Json => {
            let mut table = Table::new(rows);
            table.with(Style::sharp());
            if let Some(width) = terminal_width() {
                table.with(
                    Width::wrap(width)
                        .priority(Priority::max(true))
                        .keep_words(true),
                );
            }
            table.to_string()
        }
        Format::Tsv => {
            let mut lines = vec![
                T::headers()
                    .iter()
                    .map(|h| tsv_field(h))
                    .collect::<Vec<_>>()
                    .join("\t"),
            ];
            for row in rows {
                lines.push(
                    row.fields()
                        .iter()
                        .map(|f| tsv_field(f))
                        .collect::<Vec<_>>()
                        .join("\t"),
                );
            }
            lines.join("\n")
        }
        Format::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            let mut ok = writer
                .write_record(T::headers().iter().map(|h| h.as_ref()))
                .is_ok();
            for row in rows {
                ok &= writer
                    .write_record(row.fields().iter().map(|f| f.as_ref()))
                    .is_ok();
            }
            let bytes = writer.into_inner().unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if ok {
                text.trim_end_matches('\n').to_owned()
            } else {
                String::new()
            }
        }
    }
}

/// Prints `rows` in the run's format: a table, TSV, CSV, or a JSON array.
pub fn print_rows<T: Tabled + Serialize>(ctx: &Context, rows: &[T]) -> anyhow::Result<()> {
    if ctx.json {
        emit(serde_json::to_string_pretty(rows)?);
    } else if rows.is_empty() && ctx.format == Format::Table {
        if ctx.chatty() {
            eprintln!("(none)");
        }
    } else {
        emit(render(rows));
    }
    Ok(())
}

/// Prints rows that have no JSON form of their own (parts of a record shown for people).
pub fn print_table<T: Tabled>(rows: &[T]) {
    emit(render(rows));
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

/// A progress bar of `total` steps on stderr; hidden with `--quiet` or `--json`, and
/// drawn only when stderr is a terminal (so pipes, logs and tests stay clean).
pub fn progress(ctx: &Context, total: u64, what: &str) -> ProgressBar {
    if !ctx.chatty() || ctx.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

/// A spinner on stderr for work whose size is unknown, hidden like [`progress`].
pub fn spinner(ctx: &Context, what: &str) -> ProgressBar {
    if !ctx.chatty() || ctx.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Tabled)]
    struct Row {
        code: &'static str,
        note: &'static str,
    }

    #[test]
    fn separated_text_has_a_header_and_no_box_drawing() {
        let rows = [Row {
            code: "A,1",
            note: "two\twords",
        }];
        assert_eq!(render_as(Format::Tsv, &rows), "code\tnote\nA,1\ttwo words");
        assert_eq!(
            render_as(Format::Csv, &rows),
            "code,note\n\"A,1\",two\twords"
        );
    }
}
