//! `mitx reports orders --from D --to D [--csv FILE]`: the orders created in a period with
//! their transactions, for finance. One row per transaction (an order without any has one
//! row with empty transaction columns). The CSV is written to a temporary file beside the
//! target and renamed over it, so a reader never sees half a report.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Subcommand;
use mitx_core::ids::OrderId;
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{note, print_rows};

/// Reports for finance.
#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Orders created between --from and --to (both days included) with their
    /// transactions.
    #[command(
        after_help = "Example:\n  mitx reports orders --from 2026-03-01 --to 2026-03-31\n  mitx reports orders --from 2026-03-01 --to 2026-03-31 --csv march-orders.csv"
    )]
    Orders {
        /// First day (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: String,
        /// Last day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        to: String,
        /// Write the report to this CSV file instead of printing it.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

/// One report row.
#[derive(Debug, Serialize, Tabled)]
struct ReportRow {
    order_id: i64,
    reference_number: String,
    state: String,
    purchaser: String,
    total_price_paid: String,
    gateway: String,
    order_created_on: String,
    transaction_id: String,
    transaction_type: String,
    amount: String,
    reason: String,
    transaction_created_on: String,
}

fn day(text: &str, flag: &str) -> anyhow::Result<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| anyhow!("{flag} '{text}' is not a date (YYYY-MM-DD)"))?;
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// Runs a `reports` command.
pub async fn run(cmd: ReportsCommand, ctx: &Context) -> anyhow::Result<()> {
    let ReportsCommand::Orders { from, to, csv } = cmd;
    let start = day(&from, "--from")?;
    let end = day(&to, "--to")? + Duration::days(1);
    if end <= start {
        anyhow::bail!("--to must not be before --from");
    }
    let store = ctx.migrated_store().await?;
    let orders = store.orders_created_between(start, end).await?;
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let transactions = store.order_transaction_rows(&ids).await?;
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut rows = Vec::new();
    for order in &orders {
        let base = |tx: Option<&mitx_services::store::order_admin::TransactionRow>| ReportRow {
            order_id: order.id.0,
            reference_number: order.reference_number.clone().unwrap_or_default(),
            state: order.state.clone(),
            purchaser: order.purchaser_username.clone(),
            total_price_paid: order.total_price_paid.to_price_string(),
            gateway: order.gateway_type.clone(),
            order_created_on: stamp(order.created_on),
            transaction_id: tx.map(|t| t.transaction_id.clone()).unwrap_or_default(),
            transaction_type: tx.map(|t| t.transaction_type.clone()).unwrap_or_default(),
            amount: tx.map(|t| t.amount.to_price_string()).unwrap_or_default(),
            reason: tx.map(|t| t.reason.clone()).unwrap_or_default(),
            transaction_created_on: tx.map(|t| stamp(t.created_on)).unwrap_or_default(),
        };
        let mine: Vec<_> = transactions
            .iter()
            .filter(|t| t.order == order.id)
            .collect();
        if mine.is_empty() {
            rows.push(base(None));
        } else {
            rows.extend(mine.into_iter().map(|t| base(Some(t))));
        }
    }
    match csv {
        Some(path) => {
            write_csv_atomically(&path, &rows)?;
            note(
                ctx,
                format!(
                    "{} order(s), {} row(s) written to {}",
                    orders.len(),
                    rows.len(),
                    path.display()
                ),
            );
            Ok(())
        }
        None => print_rows(ctx, &rows),
    }
}

fn write_csv_atomically(path: &Path, rows: &[ReportRow]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("--csv needs a file name"))?
        .to_string_lossy()
        .into_owned();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> anyhow::Result<()> {
        let mut writer = csv::Writer::from_path(&temp)?;
        if rows.is_empty() {
            writer.write_record([
                "order_id",
                "reference_number",
                "state",
                "purchaser",
                "total_price_paid",
                "gateway",
                "order_created_on",
                "transaction_id",
                "transaction_type",
                "amount",
                "reason",
                "transaction_created_on",
            ])?;
        }
        for row in rows {
            writer.serialize(row)?;
        }
        writer.flush()?;
        Ok(())
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(err).with_context(|| format!("cannot write {}", path.display()));
    }
    std::fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))
}
