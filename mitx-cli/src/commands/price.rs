//! `mitx price explain`: every discount and flexible-price tier considered for a user and
//! a product, and why the final price won.

use anyhow::anyhow;
use clap::Subcommand;
use mitx_core::ids::ProductId;
use mitx_core::pricing::parse_supplied_date;
use mitx_services::price_explain::{Decision, PriceExplanation, explain};
use mitx_services::store::users::UserKey;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{emit, print_value};

/// Explain prices.
#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    /// Show each candidate discount (typed code, assigned, automatic, flexible-price tier),
    /// its validity, the unit price under it, the decision and why, and the final price.
    #[command(
        after_help = "Example:\n  mitx price explain --user alice --product 12 --code SPRING25\n  mitx --json price explain --user 42 --product 12 --at 2026-05-01"
    )]
    Explain {
        /// The learner: id, username or email.
        #[arg(long)]
        user: String,
        /// The product id.
        #[arg(long)]
        product: i64,
        /// A code the learner types.
        #[arg(long)]
        code: Option<String>,
        /// Explain as of this time instead of now (2026-05-01, 2026-05-01T10:00:00Z, ...).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Tabled)]
struct CandidateRow {
    step: String,
    code: String,
    offer: String,
    origin: String,
    validity: String,
    #[tabled(rename = "unit price")]
    unit_price: String,
    decision: String,
    reason: String,
}

#[derive(Debug, Tabled)]
struct WalkRow {
    courseware: String,
    outcome: String,
}

fn print_explanation(e: &PriceExplanation) {
    emit(format!(
        "Product {} ({}), list price {}.",
        e.product,
        e.courseware.as_deref().unwrap_or("?"),
        e.list_price
    ));
    if e.candidates.is_empty() {
        emit("No candidate discounts.");
    } else {
        let rows: Vec<CandidateRow> = e
            .candidates
            .iter()
            .map(|c| CandidateRow {
                step: c.step.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                code: if c.winner {
                    format!("{} *", c.code)
                } else {
                    c.code.clone()
                },
                offer: c.friendly.clone(),
                origin: c
                    .origins
                    .iter()
                    .map(|o| o.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                validity: c.validity.verdict(),
                unit_price: c.unit_price.to_string(),
                decision: match c.decision {
                    Decision::Set => "set",
                    Decision::Kept => "rejected",
                    Decision::NotConsidered => "not considered",
                }
                .to_owned(),
                reason: c.reason.clone(),
            })
            .collect();
        crate::output::print_table(&rows);
    }
    if e.flexible_walk.iter().any(|s| s.outcome != "no request") {
        emit("Flexible pricing walk:");
        let rows: Vec<WalkRow> = e
            .flexible_walk
            .iter()
            .map(|s| WalkRow {
                courseware: s.name.clone(),
                outcome: s.outcome.clone(),
            })
            .collect();
        crate::output::print_table(&rows);
    }
    for note in &e.notes {
        emit(format!("Note: {note}"));
    }
    emit(&e.summary);
}

/// Runs a `price` command.
pub async fn run(cmd: PriceCommand, ctx: &Context) -> anyhow::Result<()> {
    let store = ctx.migrated_store().await?;
    match cmd {
        PriceCommand::Explain {
            user,
            product,
            code,
            at,
        } => {
            let now = match at {
                Some(text) => parse_supplied_date(&text)?,
                None => chrono::Utc::now(),
            };
            let user = store
                .find_user(&UserKey::parse(&user))
                .await?
                .ok_or_else(|| anyhow!("User '{user}' not found."))?;
            if store.product(ProductId(product)).await?.is_none() {
                return Err(anyhow!("Product {product} not found."));
            }
            let facts = store
                .price_facts(user.id, ProductId(product), code.as_deref())
                .await?;
            let explanation = explain(&facts, now);
            print_value(ctx, &explanation, print_explanation)
        }
    }
}
