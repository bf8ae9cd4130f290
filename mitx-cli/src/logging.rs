//! Logs on stderr: timestamped lines for people (`MITX_LOG_FORMAT=human`, the default) or
//! one JSON object per line for log collectors (`MITX_LOG_FORMAT=json`). Spans' fields
//! appear on every line written inside them (the server's `request{id=...}`), and SQL
//! statements quoted by sqlx's slow-statement warnings are cut to their first line: a
//! migration script must not flood stderr.

use std::fmt;
use std::io::IsTerminal as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Timestamped text lines.
    Human,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Reads `MITX_LOG_FORMAT` (unset or empty: human).
    pub fn from_env() -> Result<LogFormat, String> {
        LogFormat::parse(std::env::var("MITX_LOG_FORMAT").ok().as_deref())
    }

    fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            None | Some("" | "human" | "text") => Ok(LogFormat::Human),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "MITX_LOG_FORMAT: '{other}' is not a log format (use human or json)"
            )),
        }
    }
}

/// Installs the subscriber: level from `-v`/`-q` unless `MITX_LOG` (an env filter) says.
pub fn init(verbose: u8, quiet: bool, format: LogFormat) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MITX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder
            .fmt_fields(HumanFields)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields)
            .event_format(JsonLines)
            .try_init(),
    };
}

/// The first non-empty line of a statement, with ` …` when more followed.
fn first_line(sql: &str) -> String {
    let mut lines = sql.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("").to_owned();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first
    }
}

const STATEMENT: &str = "db.statement";

/// Fields as `name=value`, the message bare.
#[derive(Clone, Copy, Debug, Default)]
pub struct HumanFields;

struct HumanVisitor<'a> {
    writer: Writer<'a>,
    empty: bool,
    result: fmt::Result,
}

impl HumanVisitor<'_> {
    fn write(&mut self, args: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        if !self.empty {
            self.result = self.writer.write_str(" ");
        }
        self.empty = false;
        if self.result.is_ok() {
            self.result = self.writer.write_fmt(args);
        }
    }
}

impl Visit for HumanVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.write(format_args!("{value}")),
            STATEMENT => {
                let line = first_line(value);
                if !line.is_empty() {
                    self.write(format_args!("{STATEMENT}={line:?}"));
                }
            }
            name => self.write(format_args!("{name}={value:?}")),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.write(format_args!("{value:?}")),
            name if name.starts_with("log.") => {}
            name => self.write(format_args!("{name}={value:?}")),
        }
    }
}

impl<'w> FormatFields<'w> for HumanFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = HumanVisitor {
            writer,
            empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Fields as one JSON object.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonFields;

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let value = if field.name() == STATEMENT {
            first_line(value)
        } else {
            value.to_owned()
        };
        self.0.insert(field.name().to_owned(), Value::String(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !field.name().starts_with("log.") {
            self.0
                .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
        }
    }
}

impl<'w> FormatFields<'w> for JsonFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut map = Map::new();
        fields.record(&mut JsonVisitor(&mut map));
        write!(writer, "{}", Value::Object(map))
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut map: Map<String, Value> = serde_json::from_str(&current.fields).unwrap_or_default();
        fields.record(&mut JsonVisitor(&mut map));
        current.fields = Value::Object(map).to_string();
        Ok(())
    }
}

/// `{"timestamp", "level", "target", "message", "fields", "spans"}` per line.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(message) = fields.remove("message") {
            line.insert("message".into(), message);
        }
        line.insert("fields".into(), Value::Object(fields));
        let mut spans = Vec::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let mut entry = Map::new();
                entry.insert("name".into(), span.name().into());
                if let Some(formatted) = span.extensions().get::<FormattedFields<JsonFields>>()
                    && let Ok(Value::Object(values)) = serde_json::from_str(&formatted.fields)
                {
                    entry.extend(values);
                }
                spans.push(Value::Object(entry));
            }
        }
        if !spans.is_empty() {
            line.insert("spans".into(), Value::Array(spans));
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_cut_to_their_first_line() {
        let cases = [
            ("", ""),
            ("SELECT 1", "SELECT 1"),
            (
                "\n\nCREATE TABLE a (\n  id INT\n);\nCREATE TABLE b ();\n",
                "CREATE TABLE a ( …",
            ),
            ("  UPDATE jobs SET x = 1  \n", "UPDATE jobs SET x = 1"),
        ];
        for (sql, want) in cases {
            assert_eq!(first_line(sql), want, "{sql:?}");
        }
    }

    #[test]
    fn formats_parse() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Human));
        assert_eq!(LogFormat::parse(Some("JSON")), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(Some(" human ")), Ok(LogFormat::Human));
        assert!(LogFormat::parse(Some("xml")).is_err());
    }
}
