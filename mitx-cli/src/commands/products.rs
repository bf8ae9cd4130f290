//! `mitx products create|list|deactivate` (the original's `create_product` and the
//! product admin). Every write appends an immutable price snapshot; products are never
//! deleted.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use mitx_core::ids::ProductId;
use mitx_core::money::Money;
use mitx_services::products;
use mitx_services::store::audit_log::Audit;
use mitx_services::store::products::{Product, ProductChange, ProductWrite};
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{note, opt, print_rows, print_value};

/// Purchasable products and their price versions.
#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// Create the product of a course run (by courseware id) or a program (by readable id),
    /// or update its price/description with a new price snapshot if it already has one.
    #[command(
        after_help = "Example:\n  mitx products create course-v1:MITx+6.001x+1T2026 999.00 -d '6.001x spring run'\n  mitx products create program-v1:MITx+DEDP 1500 --reason 'new program price'"
    )]
    Create {
        /// A course run's courseware id or a program's readable id.
        courseware_id: String,
        /// Price in USD (at most 2 decimal places, at most 99999.99).
        price: String,
        /// Description (default: the courseware id).
        #[arg(short, long)]
        description: Option<String>,
        /// Create (or set) the product inactive.
        #[arg(long)]
        inactive: bool,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        /// Who (default $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
        /// Show what would change and change nothing.
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
struct Planned<'a> {
    dry_run: bool,
    change: &'a str,
    courseware: &'a str,
    before: Option<&'a Product>,
    price: String,
    description: &'a str,
    is_active: bool,
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
            let description = description.unwrap_or_else(|| target.readable().to_owned());
            if description.trim().is_empty() {
                bail!("The description must not be empty.");
            }
            let active = !inactive;
            if dry_run {
                let before = store.product_for_target(&target).await?;
                let change = match &before {
                    None => "create",
                    Some(p)
                        if p.price == price
                            && p.description == description
                            && p.is_active == active =>
                    {
                        "none"
                    }
                    Some(_) => "update",
                };
                let planned = Planned {
                    dry_run: true,
                    change,
                    courseware: target.readable(),
                    before: before.as_ref(),
                    price: price.to_price_string(),
                    description: &description,
                    is_active: active,
                };
                note(
                    ctx,
                    format!(
                        "Dry run: would {change} the product of {} at {price} (nothing written).",
                        target.readable()
                    ),
                );
                return print_value(ctx, &planned, |p| {
                    if let Some(before) = p.before {
                        let _ = print_products(ctx, std::slice::from_ref(before));
                    }
                });
            }
            let audit = Audit { actor, reason };
            let write =
                products::upsert(services, &target, price, &description, active, &audit).await?;
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
        (ProductChange::Updated, Some(before)) => format!(
            "Updated existing product {} for {what}: price {} -> {}, new price version {} (earlier versions kept).",
            p.id, before.price, p.price, p.versions
        ),
        (ProductChange::Updated, None) => format!("Updated product {} for {what}.", p.id),
        (ProductChange::Unchanged, _) => {
            format!(
                "Product {} for {what} already has these values; nothing changed.",
                p.id
            )
        }
    }
}
