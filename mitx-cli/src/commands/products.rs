//! `mitx products create|list|deactivate` (the original's `create_product` and the
//! product admin). Every write appends an immutable price snapshot; products are never
//! deleted.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use mitx_core::ids::ProductId;
use mitx_core::money::Money;
use mitx_services::products::{self, ProductPlan, ProductRequest, ProductsError};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::products::{Product, ProductChange, ProductWrite};
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{emit, note, opt, print_rows, print_value};

/// Purchasable products and their price versions.
#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// Create the product of a course run (by courseware id) or a program (by readable id).
    /// An existing product is changed only with --update (a new price snapshot; options
    /// left out keep their current value); without it, a request that would change it
    /// fails and names every differing field.
    #[command(
        after_help = "Example:\n  mitx products create course-v1:MITx+6.001x+1T2026 999.00 -d '6.001x spring run'\n  mitx products create course-v1:MITx+6.001x+1T2026 899.00 --update --reason 'spring sale' --dry-run\n  mitx products create program-v1:MITx+DEDP 1500 --update --active --reason 'program reopened'"
    )]
    Create {
        /// A course run's courseware id or a program's readable id.
        courseware_id: String,
        /// Price in USD (at most 2 decimal places, at most 99999.99).
        price: String,
        /// Description (new product default: the courseware id; existing: kept).
        #[arg(short, long)]
        description: Option<String>,
        /// Create (or, with --update, set) the product inactive.
        #[arg(long, conflicts_with = "active")]
        inactive: bool,
        /// With --update: make an inactive product active again.
        #[arg(long)]
        active: bool,
        /// Allow changing a product that already exists.
        #[arg(long)]
        update: bool,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        /// Who (default $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
        /// Show what would change (field: old → new) and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List products (active ones unless --all) with their price and number of snapshots.
    #[command(after_help = "Example:\n  mitx products list\n  mitx --json products list --all")]
    List {
        /// Include inactive products.
        #[arg(long)]
        all: bool,
    },
    /// Deactivate a product (hidden from baskets and listings; never deleted).
    #[command(
        after_help = "Example:\n  mitx products deactivate 12 --reason 'run cancelled' --dry-run\n  mitx products deactivate 12 --reason 'run cancelled'"
    )]
    Deactivate {
        /// The product id.
        product_id: i64,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
        /// Who (default $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
        /// Show what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A product as listed.
#[derive(Debug, Serialize, Tabled)]
struct Row {
    id: i64,
    courseware: String,
    #[tabled(rename = "type")]
    content_type: String,
    price: String,
    description: String,
    active: bool,
    versions: i64,
}

impl From<&Product> for Row {
    fn from(p: &Product) -> Self {
        Row {
            id: p.id.0,
            courseware: opt(&p.courseware),
            content_type: p.content_type.slug().to_owned(),
            price: p.price.to_price_string(),
            description: p.description.clone(),
            active: p.is_active,
            versions: p.versions,
        }
    }
}

fn print_products(ctx: &Context, products: &[Product]) -> anyhow::Result<()> {
    let rows: Vec<Row> = products.iter().map(Row::from).collect();
    print_rows(ctx, &rows)
}

/// The dry-run answer of a product write.
#[derive(Debug, Serialize)]
struct DryRun<'a> {
    dry_run: bool,
    #[serde(flatten)]
    plan: &'a ProductPlan,
}

/// Runs a `products` command.
pub async fn run(cmd: ProductsCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let store = services.store();
    match cmd {
        ProductsCommand::Create {
            courseware_id,
            price,
            description,
            inactive,
            active,
            update,
            reason,
            actor,
            dry_run,
        } => {
            let price =
                Money::parse_price(&price).map_err(|e| anyhow!("Invalid price '{price}': {e}"))?;
            let target = store
                .resolve_product_target(&courseware_id)
                .await?
                .ok_or_else(|| anyhow!("Could not retrieve courseware {courseware_id}"))?;
            let request = ProductRequest {
                price,
                description,
                active: match (active, inactive) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            if dry_run {
                let plan = products::plan_upsert(store, &target, &request).await?;
                let refused = plan.change == "update" && !update;
                note(
                    ctx,
                    match plan.change {
                        "create" => format!(
                            "Dry run: would create the product of {} at {} (nothing written).",
                            plan.courseware, plan.price
                        ),
                        "none" => format!(
                            "Dry run: the product of {} already has these values; nothing would change.",
                            plan.courseware
                        ),
                        _ if refused => format!(
                            "Dry run: the product of {} exists; this would change it, which needs --update (nothing written):",
                            plan.courseware
                        ),
                        _ => format!(
                            "Dry run: would update the product of {} (nothing written):",
                            plan.courseware
                        ),
                    },
                );
                return print_value(
                    ctx,
                    &DryRun {
                        dry_run: true,
                        plan: &plan,
                    },
                    |p| {
                        for change in &p.plan.changes {
                            emit(format!("  {change}"));
                        }
                    },
                );
            }
            let audit = Audit { actor, reason };
            let write = match products::upsert(services, &target, &request, update, &audit).await {
                Err(err @ ProductsError::WouldChange { .. }) => {
                    bail!("{err} Pass --update to change it (--dry-run shows the change).")
                }
                other => other?,
            };
            note(ctx, describe(&write));
            print_value(ctx, &write, |w| {
                let _ = print_products(ctx, std::slice::from_ref(&w.product));
            })
        }
        ProductsCommand::List { all } => {
            let products = store.list_products(all).await?;
            if ctx.json {
                return print_value(ctx, &products, |_| {});
            }
            print_products(ctx, &products)
        }
        ProductsCommand::Deactivate {
            product_id,
            reason,
            actor,
            dry_run,
        } => {
            let id = ProductId(product_id);
            let product = store
                .product(id)
                .await?
                .ok_or_else(|| anyhow!("Product {product_id} not found."))?;
            if dry_run {
                note(
                    ctx,
                    if product.is_active {
                        format!("Dry run: would deactivate product {product_id} (nothing written).")
                    } else {
                        format!("Dry run: product {product_id} is already inactive.")
                    },
                );
                return print_value(ctx, &product, |p| {
                    let _ = print_products(ctx, std::slice::from_ref(p));
                });
            }
            let audit = Audit {
                actor,
                reason: Some(reason),
            };
            let write = products::deactivate(services, id, &audit).await?;
            note(
                ctx,
                match write.change {
                    ProductChange::Unchanged => {
                        format!("Product {product_id} was already inactive; nothing changed.")
                    }
                    _ => format!("Deactivated product {product_id}."),
                },
            );
            print_value(ctx, &write, |w| {
                let _ = print_products(ctx, std::slice::from_ref(&w.product));
            })
        }
    }
}

fn describe(write: &ProductWrite) -> String {
    let p = &write.product;
    let what = opt(&p.courseware);
    match (write.change, &write.before) {
        (ProductChange::Created, _) => {
            format!("Created product {} for {what} at {}.", p.id, p.price)
        }
        (ProductChange::Updated, Some(before)) => {
            let mut changes = Vec::new();
            if before.price != p.price {
                changes.push(format!("price {} -> {}", before.price, p.price));
            }
            if before.description != p.description {
                changes.push(format!(
                    "description {:?} -> {:?}",
                    before.description, p.description
                ));
            }
            if before.is_active != p.is_active {
                changes.push(if p.is_active {
                    "reactivated".to_owned()
                } else {
                    "deactivated".to_owned()
                });
            }
            format!(
                "Updated existing product {} for {what}: {}, new price version {} (earlier versions kept).",
                p.id,
                changes.join(", "),
                p.versions
            )
        }
        (ProductChange::Updated, None) => format!("Updated product {} for {what}.", p.id),
        (ProductChange::Unchanged, _) => {
            format!(
                "Product {} for {what} already has these values; nothing changed.",
                p.id
            )
        }
    }
}
