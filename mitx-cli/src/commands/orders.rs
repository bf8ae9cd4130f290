//! `mitx orders list|show|refund|resolve` (ecommerce spec 5.5, 5.6): order lookups, refunds
//! through CyberSource or record-only (`refund_fulfilled_order`), and the resolution of
//! pending orders (`resolve_pending_order`).

use anyhow::{anyhow, bail};
use clap::Subcommand;
use mitx_core::ids::OrderId;
use mitx_core::money::Money;
use mitx_services::refunds::{self, GatewayRefund, RefundSummary};
use mitx_services::resolve_orders::{self, ResolveOptions, ResolveReport};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::order_admin::{OrderFilter, OrderSummary};
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{emit, note, opt, print_rows, print_table, print_value, progress};

/// Orders: lookups, refunds and pending-order resolution.
#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// List orders, newest first.
    #[command(
        after_help = "Example:\n  mitx orders list --state pending\n  mitx --json orders list --user jdoe --limit 5"
    )]
    List {
        /// Only orders in this state (pending, fulfilled, canceled, declined, errored,
        /// refunded).
        #[arg(long)]
        state: Option<String>,
        /// Only this purchaser (username or email).
        #[arg(long)]
        user: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One order: lines, transactions, discount redemptions and its audit history.
    #[command(after_help = "Example:\n  mitx orders show mitxonline-prod-1001")]
    Show {
        /// The order's reference number.
        reference: String,
    },
    /// Refund a fulfilled order through CyberSource (default), or only record it as
    /// refunded (--record-only, the original's refund_fulfilled_order).
    #[command(
        after_help = "Example:\n  mitx orders refund mitxonline-prod-1001 --unenroll --reason 'ticket 4242' --dry-run\n  mitx orders refund mitxonline-prod-1001 --amount 250 --reason 'partial refund'\n  mitx orders refund mitxonline-prod-1001 --record-only --audit --reason 'refunded by Finance'"
    )]
    Refund {
        /// The order's reference number.
        reference: String,
        /// A partial amount in USD (default: the amount paid). Gateway refunds only.
        #[arg(long, conflicts_with = "record_only")]
        amount: Option<String>,
        /// Gateway: downgrade the purchaser's runs to audit afterwards. Record-only:
        /// deactivate the enrollments (wins over --audit).
        #[arg(long)]
        unenroll: bool,
        /// Switch the purchaser's enrollments in the order's runs to audit.
        #[arg(long)]
        audit: bool,
        /// Refund through the CyberSource REST API (the default).
        #[arg(long, conflicts_with = "record_only")]
        via_gateway: bool,
        /// Mark the order refunded without calling the gateway (needs --unenroll or
        /// --audit).
        #[arg(long)]
        record_only: bool,
        /// Why (stored on the refund and in the audit log).
        #[arg(long)]
        reason: String,
        /// Who (default $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
        /// Show what would happen and change nothing (no gateway call).
        #[arg(long)]
        dry_run: bool,
    },
    /// Settle pending orders from the gateway's records (fulfil paid ones, cancel failed
    /// ones), or fulfil them without asking (--no-check).
    #[command(
        after_help = "Example:\n  mitx orders resolve --all\n  mitx orders resolve --order mitxonline-prod-1001 --no-check --no-fulfillment --reason 'paid by wire'"
    )]
    Resolve {
        /// The pending order's reference number.
        #[arg(long)]
        order: Option<String>,
        /// Every pending order.
        #[arg(long)]
        all: bool,
        /// Fulfil without asking the gateway.
        #[arg(long)]
        no_check: bool,
        /// Fulfil without enrollments, paid records or receipt.
        #[arg(long)]
        no_fulfillment: bool,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        /// Who (default $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
    },
}

/// An order as listed.
#[derive(Clone, Debug, Serialize, Tabled)]
struct OrderLine {
    id: i64,
    reference: String,
    state: String,
    purchaser: String,
    total: String,
    gateway: String,
    created: String,
}

impl From<&OrderSummary> for OrderLine {
    fn from(o: &OrderSummary) -> Self {
        OrderLine {
            id: o.id.0,
            reference: opt(&o.reference_number),
            state: o.state.clone(),
            purchaser: o.purchaser_username.clone(),
            total: o.total_price_paid.to_price_string(),
            gateway: o.gateway_type.clone(),
            created: o.created_on.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

#[derive(Debug, Serialize, Tabled)]
struct LineRow {
    #[tabled(rename = "type")]
    content_type: String,
    courseware: String,
    description: String,
    price: String,
    quantity: u32,
}

#[derive(Debug, Serialize, Tabled)]
struct TransactionLine {
    transaction_id: String,
    #[tabled(rename = "type")]
    kind: &'static str,
    amount: String,
    reason: String,
    created: String,
}

#[derive(Debug, Serialize, Tabled)]
struct RedemptionLine {
    code: String,
    #[tabled(rename = "type")]
    kind: String,
    amount: String,
    redeemed: String,
}

#[derive(Debug, Serialize, Tabled)]
struct HistoryLine {
    when: String,
    actor: String,
    action: String,
    reason: String,
    change: String,
}

#[derive(Debug, Serialize)]
struct OrderDetail {
    #[serde(flatten)]
    order: OrderLine,
    lines: Vec<LineRow>,
    transactions: Vec<TransactionLine>,
    redemptions: Vec<RedemptionLine>,
    history: Vec<HistoryLine>,
}

#[derive(Debug, Serialize, Tabled)]
struct RefundLine {
    field: &'static str,
    value: String,
}

fn refund_rows(summary: &RefundSummary) -> Vec<RefundLine> {
    let mut rows = vec![
        RefundLine {
            field: "order",
            value: format!("{} ({})", summary.reference, summary.order),
        },
        RefundLine {
            field: "via",
            value: summary.via.to_owned(),
        },
        RefundLine {
            field: "state",
            value: format!("{} -> {}", summary.from.as_str(), summary.to.as_str()),
        },
        RefundLine {
            field: "enrollments",
            value: summary.enrollments.to_owned(),
        },
    ];
    if let Some(amount) = &summary.amount {
        rows.push(RefundLine {
            field: "amount",
            value: format!(
                "{} {}",
                amount.to_price_string(),
                summary.currency.clone().unwrap_or_default()
            ),
        });
    }
    if let Some(payment) = &summary.payment_transaction {
        rows.push(RefundLine {
            field: "payment transaction",
            value: payment.clone(),
        });
    }
    if let Some(refund) = &summary.refund_transaction {
        rows.push(RefundLine {
            field: "refund transaction",
            value: refund.clone(),
        });
    }
    rows
}

/// Runs an `orders` command.
pub async fn run(cmd: OrdersCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let store = services.store();
    match cmd {
        OrdersCommand::List { state, user, limit } => {
            if let Some(s) = &state {
                mitx_core::orders::OrderState::parse(s)
                    .map_err(|_| anyhow!("unknown order state '{s}'"))?;
            }
            let filter = OrderFilter {
                state,
                user,
                limit: i64::from(limit.max(1)),
            };
            let orders = store.list_orders(&filter).await?;
            let rows: Vec<OrderLine> = orders.iter().map(OrderLine::from).collect();
            print_rows(ctx, &rows)
        }
        OrdersCommand::Show { reference } => {
            let found = store.orders_by_reference(reference.trim()).await?;
            let order = found
                .first()
                .ok_or_else(|| anyhow!("Order {reference} not found."))?;
            let summary = store
                .order_summary(order.id)
                .await?
                .ok_or_else(|| anyhow!("Order {reference} not found."))?;
            let detail = order_detail(services, order.id, &summary).await?;
            print_value(ctx, &detail, |d| {
                print_table(std::slice::from_ref(&d.order));
                for (title, text) in [
                    ("Lines", section(&d.lines)),
                    ("Transactions", section(&d.transactions)),
                    ("Redemptions", section(&d.redemptions)),
                    ("History", section(&d.history)),
                ] {
                    emit(format!("\n{title}:\n{text}"));
                }
            })
        }
        OrdersCommand::Refund {
            reference,
            amount,
            unenroll,
            audit,
            via_gateway: _,
            record_only,
            reason,
            actor,
            dry_run,
        } => {
            let who = Audit::new(actor, Some(reason.clone()));
            let reference = reference.trim().to_owned();
            let summary = if record_only {
                refunds::refund_fulfilled_order(
                    services, &reference, unenroll, audit, &who, dry_run,
                )
                .await?
            } else {
                let amount = match amount {
                    Some(text) => Some(
                        Money::parse_price(&text)
                            .ok()
                            .filter(|m| !m.is_zero())
                            .ok_or_else(|| anyhow!("Invalid amount '{text}'"))?,
                    ),
                    None => None,
                };
                let request = GatewayRefund {
                    amount,
                    reason,
                    unenroll: unenroll || audit,
                };
                refunds::refund_order(services, &reference, &request, &who, dry_run).await?
            };
            print_value(ctx, &summary, |s| {
                print_table(&refund_rows(s));
                if s.dry_run {
                    note(
                        ctx,
                        "dry run: nothing was changed and the gateway was not called",
                    );
                }
                emit(&s.message);
            })
        }
        OrdersCommand::Resolve {
            order,
            all,
            no_check,
            no_fulfillment,
            reason,
            actor,
        } => {
            let options = ResolveOptions {
                order,
                all,
                no_check,
                no_fulfillment,
            };
            let who = Audit::new(actor, reason);
            let bar = progress(ctx, 0, "resolving");
            let tick = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let report: ResolveReport =
                resolve_orders::resolve_pending_orders(services, &options, &who, &tick).await?;
            bar.finish_and_clear();
            print_value(ctx, &report, |r| {
                for line in r.orders.iter().filter(|o| !o.detail.is_empty()) {
                    note(
                        ctx,
                        format!("{}: {} ({})", line.reference, line.outcome, line.detail),
                    );
                }
                emit(r.summary_line());
            })?;
            if let Some(line) = report.error_line() {
                bail!(line);
            }
            Ok(())
        }
    }
}

fn section<T: Tabled>(rows: &[T]) -> String {
    if rows.is_empty() {
        "(none)".to_owned()
    } else {
        crate::output::render(rows)
    }
}

async fn order_detail(
    services: &mitx_services::Services,
    order: OrderId,
    summary: &OrderSummary,
) -> anyhow::Result<OrderDetail> {
    let store = services.store();
    let lines = store
        .order_lines(order)
        .await?
        .into_iter()
        .map(|l| LineRow {
            content_type: l.content_type.slug().to_owned(),
            courseware: l.readable_id,
            description: l.description,
            price: l.price.to_price_string(),
            quantity: l.quantity,
        })
        .collect();
    let transactions = store
        .order_transactions(order)
        .await?
        .into_iter()
        .map(|t| TransactionLine {
            transaction_id: t.transaction_id,
            kind: if t.refund { "refund" } else { "payment" },
            amount: t.amount.to_price_string(),
            reason: t.reason,
            created: t.created_on.format("%Y-%m-%d %H:%M:%S").to_string(),
        })
        .collect();
    let redemptions = store
        .order_redemption_rows(order)
        .await?
        .into_iter()
        .map(|r| RedemptionLine {
            code: r.discount_code,
            kind: r.discount_type,
            amount: r.amount.amount().normalize().to_string(),
            redeemed: r.redemption_date.format("%Y-%m-%d %H:%M:%S").to_string(),
        })
        .collect();
    let history = store
        .audit_log_for("order", &order.0.to_string())
        .await?
        .into_iter()
        .map(|a| HistoryLine {
            when: a.created_on.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: a.actor,
            action: a.action,
            reason: a.reason.unwrap_or_default(),
            change: format!(
                "{} -> {}",
                a.data_before.unwrap_or_default(),
                a.data_after.unwrap_or_default()
            ),
        })
        .collect();
    Ok(OrderDetail {
        order: OrderLine::from(summary),
        lines,
        transactions,
        redemptions,
        history,
    })
}
