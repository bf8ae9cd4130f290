//! `mitx discounts create|generate|list|show|check|extend`: discount CRUD and the
//! original's `generate_discount_code`, `check_discount_code` and `extend_coupons`
//! (ecommerce spec 6).

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use mitx_core::ids::{ProductId, UserId};
use mitx_core::pricing::{
    CodeGenerationRequest, Discount, DiscountType, PaymentType, RedemptionType,
};
use mitx_services::discount_codes::{
    self, CodeCheck, NewDiscount, apply_extend, check_code, draft_discount, plan_extend,
    plan_generation,
};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::discounts::{DiscountDetail, DiscountFilter, DiscountSummary};
use mitx_services::store::users::UserKey;
use rust_decimal::Decimal;
use serde::Serialize;
use tabled::Tabled;

use crate::commands::users::print_fields;
use crate::context::Context;
use crate::output::{emit, note, print_rows, print_value, progress};

/// Discount codes.
#[derive(Debug, Subcommand)]
pub enum DiscountsCommand {
    /// Create one discount, optionally restricted to products and assigned to users.
    #[command(
        after_help = "Example:\n  mitx discounts create SPRING25 --discount-type percent-off --amount 25 --redemption-type unlimited --payment-type marketing --expires 2026-06-30\n  mitx discounts create ALICE100 --discount-type dollars-off --amount 100 --redemption-type one-time --user alice --product 12"
    )]
    Create(CreateArgs),
    /// Generate discount codes (a batch of PREFIX+UUID codes, or the listed CODES) and write
    /// them to a CSV (code,type,amount,expiration_date).
    #[command(
        after_help = "Example:\n  mitx discounts generate --prefix SPRING --count 1000 --discount-type percent-off --amount 10 --payment-type marketing\n  mitx discounts generate WELCOME1 WELCOME2 --amount 50 --payment-type customer-support --one-time --output welcome.csv"
    )]
    Generate(GenerateArgs),
    /// List discounts, newest first.
    #[command(
        after_help = "Example:\n  mitx discounts list --search SPRING --redeemed no --limit 20\n  mitx --json discounts list --payment-type marketing"
    )]
    List(ListArgs),
    /// Show one discount: fields, product restrictions, assignees, tiers.
    #[command(after_help = "Example:\n  mitx discounts show SPRING25")]
    Show {
        /// The code (exact, case-sensitive).
        code: String,
    },
    /// Print a code's details and whether it can be redeemed (Yes, No or Potentially).
    #[command(after_help = "Example:\n  mitx discounts check SPRING25")]
    Check {
        /// The code (exact, case-sensitive).
        code: String,
    },
    /// Set the expiration date of every never-redeemed discount whose code starts with a
    /// prefix. Codes the new date would shorten (they expire later, or never) are skipped
    /// and reported unless --allow-shorten.
    #[command(
        after_help = "Example:\n  mitx discounts extend --discount-code-prefix SPRING --expires 2026-12-31 --reason 'campaign extended' --dry-run\n  mitx discounts extend --discount-code-prefix SPRING --expires 2026-12-31 --reason 'campaign extended'"
    )]
    Extend {
        /// The start of the codes (case-sensitive, not empty).
        #[arg(long)]
        discount_code_prefix: String,
        /// Also set the date on codes it shortens (that expire later, or never).
        #[arg(long)]
        allow_shorten: bool,
        /// New expiration date (2026-12-31, 2026-12-31T23:59:59Z, ...).
        #[arg(long)]
        expires: String,
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

/// `discounts create` options.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The code learners type (1–100 characters, case-sensitive).
    code: String,
    /// percent-off, dollars-off or fixed-price.
    #[arg(long)]
    discount_type: String,
    /// Percent (0–100) or dollars, up to 5 decimal places.
    #[arg(long)]
    amount: String,
    /// one-time, one-time-per-user or unlimited.
    #[arg(long)]
    redemption_type: String,
    /// marketing, sales, financial-assistance, customer-support, staff or legacy.
    #[arg(long)]
    payment_type: Option<String>,
    /// Cap on redemptions (0 = none).
    #[arg(long, default_value_t = 0)]
    max_redemptions: u32,
    /// Auto-apply in baskets.
    #[arg(long)]
    automatic: bool,
    /// Not redeemable before this date.
    #[arg(long)]
    activates: Option<String>,
    /// Not redeemable after this date.
    #[arg(long)]
    expires: Option<String>,
    /// Restrict to this product id (repeatable).
    #[arg(long = "product")]
    products: Vec<i64>,
    /// Assign to this user: id, username or email (repeatable).
    #[arg(long = "user")]
    users: Vec<String>,
    /// Why (recorded in the audit log).
    #[arg(long)]
    reason: Option<String>,
    /// Who (default $USER).
    #[arg(long, env = "USER", default_value = "unknown")]
    actor: String,
    /// Show what would be created and change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `discounts generate` options (the original's `generate_discount_code`).
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Explicit codes (used when --count is 1).
    codes: Vec<String>,
    /// marketing, sales, financial-assistance, customer-support, staff or legacy.
    #[arg(long)]
    payment_type: String,
    /// Percent (0–100) or dollars.
    #[arg(long)]
    amount: String,
    /// percent-off, dollars-off or fixed-price.
    #[arg(long, default_value = "percent-off")]
    discount_type: String,
    /// How many codes; above 1 a --prefix is required.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Batch prefix (at most 63 characters); codes are PREFIX + a UUID.
    #[arg(long)]
    prefix: Option<String>,
    /// Each code can be redeemed once.
    #[arg(long)]
    one_time: bool,
    /// Each code can be redeemed once per user (wins over --one-time).
    #[arg(long)]
    once_per_user: bool,
    /// Not redeemable before this date.
    #[arg(long)]
    activates: Option<String>,
    /// Not redeemable after this date.
    #[arg(long)]
    expires: Option<String>,
    /// The CSV to write (overwritten).
    #[arg(
        long,
        env = "MITX_DISCOUNT_CODES_CSV",
        default_value = "generated-codes.csv"
    )]
    output: PathBuf,
    /// Why (recorded in the audit log).
    #[arg(long)]
    reason: Option<String>,
    /// Who (default $USER).
    #[arg(long, env = "USER", default_value = "unknown")]
    actor: String,
    /// Check the parameters and show what would be created; write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `discounts list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Text the code contains (case-sensitive).
    #[arg(long)]
    search: Option<String>,
    /// one-time, one-time-per-user or unlimited.
    #[arg(long)]
    redemption_type: Option<String>,
    /// marketing, sales, financial-assistance, customer-support, staff or legacy.
    #[arg(long)]
    payment_type: Option<String>,
    /// yes = redeemed at least once (any order state), no = never redeemed.
    #[arg(long, value_parser = ["yes", "no"])]
    redeemed: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

fn parse_discount_type(text: &str) -> anyhow::Result<DiscountType> {
    DiscountType::parse(text).ok_or_else(|| anyhow!("Discount type {text} is not valid."))
}

fn parse_payment_type(text: &str) -> anyhow::Result<PaymentType> {
    PaymentType::parse(text).ok_or_else(|| anyhow!("Payment type {text} is not valid."))
}

fn parse_redemption_type(text: &str) -> anyhow::Result<RedemptionType> {
    RedemptionType::parse(text).ok_or_else(|| anyhow!("Redemption type {text} is not valid."))
}

/// A decimal amount with at most 5 places (what the schema stores).
fn parse_amount(text: &str) -> anyhow::Result<Decimal> {
    let value = Decimal::from_str(text.trim())
        .map_err(|_| anyhow!("Invalid amount '{text}': not a decimal number."))?;
    if value.normalize().scale() > 5 {
        bail!("Invalid amount '{text}': at most 5 decimal places.");
    }
    Ok(value.normalize())
}

fn date_text(value: Option<chrono::DateTime<chrono::Utc>>) -> String {
    value.map(|d| time_text(&d)).unwrap_or_default()
}

/// A timestamp for people: RFC 3339 in UTC, whole seconds.
pub(crate) fn time_text(value: &chrono::DateTime<chrono::Utc>) -> String {
    value.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A discount as listed.
#[derive(Debug, Serialize, Tabled)]
struct Row {
    id: i64,
    code: String,
    offer: String,
    redemption: String,
    payment: String,
    max: u32,
    automatic: bool,
    activates: String,
    expires: String,
    redemptions: i64,
}

impl From<&DiscountSummary> for Row {
    fn from(s: &DiscountSummary) -> Self {
        let d = &s.discount;
        Row {
            id: d.id.0,
            code: d.code.to_string(),
            offer: d.friendly_format(),
            redemption: d.redemption_type.slug().to_owned(),
            payment: d
                .payment_type
                .map(PaymentType::slug)
                .unwrap_or_default()
                .to_owned(),
            max: d.max_redemptions,
            automatic: d.automatic,
            activates: date_text(d.activation_date),
            expires: date_text(d.expiration_date),
            redemptions: s.redemptions,
        }
    }
}

fn discount_fields(d: &Discount) -> Vec<(&'static str, String)> {
    vec![
        ("id", d.id.to_string()),
        ("code", d.code.to_string()),
        ("discount type", d.discount_type.slug().to_owned()),
        ("amount", d.amount.normalize().to_string()),
        ("offer", d.friendly_format()),
        ("redemption type", d.redemption_type.slug().to_owned()),
        (
            "payment type",
            d.payment_type
                .map(PaymentType::slug)
                .unwrap_or("")
                .to_owned(),
        ),
        (
            "max redemptions",
            if d.max_redemptions == 0 {
                "no cap".to_owned()
            } else {
                d.max_redemptions.to_string()
            },
        ),
        ("automatic", d.automatic.to_string()),
        ("activates", date_text(d.activation_date)),
        ("expires", date_text(d.expiration_date)),
        ("bulk", d.is_bulk.to_string()),
        ("program discount", d.is_program_discount.to_string()),
    ]
}

#[derive(Debug, Tabled)]
struct ProductRow {
    product: i64,
    courseware: String,
    price: String,
    active: bool,
}

#[derive(Debug, Tabled)]
struct AssigneeRow {
    user: i64,
    username: String,
    email: String,
}

#[derive(Debug, Tabled)]
struct TierRow {
    tier: i64,
    courseware: String,
    #[tabled(rename = "income threshold (USD)")]
    threshold: f64,
    current: bool,
}

fn print_table<T: Tabled>(title: &str, rows: Vec<T>) {
    emit(format!("{title}:"));
    if rows.is_empty() {
        emit("  (none)");
    } else {
        crate::output::print_table(&rows);
    }
}

fn print_detail(detail: &DiscountDetail) {
    let mut fields = discount_fields(&detail.record.discount);
    let usage = &detail.record.usage;
    fields.push((
        "redemptions",
        format!(
            "{} (any order state), {} on fulfilled orders",
            usage.all_redemptions,
            usage.fulfilled_count()
        ),
    ));
    fields.push(("created", time_text(&detail.created_on)));
    fields.push(("updated", time_text(&detail.updated_on)));
    print_fields(fields);
    print_table(
        "Product restrictions",
        detail
            .products
            .iter()
            .map(|p| ProductRow {
                product: p.id.0,
                courseware: p.courseware.clone().unwrap_or_default(),
                price: p.price.to_price_string(),
                active: p.is_active,
            })
            .collect(),
    );
    print_table(
        "Assignees",
        detail
            .assignees
            .iter()
            .map(|a| AssigneeRow {
                user: a.id.0,
                username: a.username.clone(),
                email: a.email.clone(),
            })
            .collect(),
    );
    print_table(
        "Flexible-pricing tiers",
        detail
            .tiers
            .iter()
            .map(|t| TierRow {
                tier: t.id.0,
                courseware: format!("{} {}", t.courseware_type, t.courseware),
                threshold: t.income_threshold_usd,
                current: t.current,
            })
            .collect(),
    );
}

fn print_check(check: &CodeCheck) {
    let mut fields = discount_fields(&check.detail.record.discount);
    let usage = &check.detail.record.usage;
    fields.push(("valid now", check.valid_now.to_string()));
    fields.push((
        "redemptions",
        format!(
            "{} (any order state), {} on fulfilled orders",
            usage.all_redemptions,
            usage.fulfilled_count()
        ),
    ));
    fields.push((
        "restricted to products",
        usage
            .restricted_to
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    ));
    fields.push(("assigned users", usage.assigned_to.len().to_string()));
    print_fields(fields);
    emit(format!("Can be redeemed? {}", check.can_be_redeemed));
}

/// The JSON of a dry run.
#[derive(Debug, Serialize)]
struct DryRun<T: Serialize> {
    dry_run: bool,
    #[serde(flatten)]
    value: T,
}

/// Runs a `discounts` command.
pub async fn run(cmd: DiscountsCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let store = services.store();
    let now = services.now();
    match cmd {
        DiscountsCommand::Create(args) => {
            let input = NewDiscount {
                code: args.code.clone(),
                discount_type: parse_discount_type(&args.discount_type)?,
                amount: parse_amount(&args.amount)?,
                redemption_type: parse_redemption_type(&args.redemption_type)?,
                payment_type: args
                    .payment_type
                    .as_deref()
                    .map(parse_payment_type)
                    .transpose()?,
                max_redemptions: args.max_redemptions,
                automatic: args.automatic,
                activates: args.activates.clone(),
                expires: args.expires.clone(),
            };
            let draft = draft_discount(&input, now)?;
            let mut products = Vec::new();
            for id in &args.products {
                let product = store
                    .product(ProductId(*id))
                    .await?
                    .ok_or_else(|| anyhow!("Product {id} not found."))?;
                products.push(product.id);
            }
            let mut users: Vec<UserId> = Vec::new();
            for key in &args.users {
                let user = store
                    .find_user(&UserKey::parse(key))
                    .await?
                    .ok_or_else(|| anyhow!("User '{key}' not found."))?;
                users.push(user.id);
            }
            if store.discount_detail(draft.code.as_str()).await?.is_some() {
                bail!("Discount code '{}' already exists.", draft.code);
            }
            if args.dry_run {
                note(
                    ctx,
                    format!(
                        "Dry run: would create discount {} (nothing written).",
                        draft.code
                    ),
                );
                return print_value(
                    ctx,
                    &DryRun {
                        dry_run: true,
                        value: &draft,
                    },
                    |_| {
                        let preview = draft.clone().into_discount(mitx_core::ids::DiscountId(0));
                        print_fields(discount_fields(&preview));
                    },
                );
            }
            let audit = Audit {
                actor: args.actor,
                reason: args.reason,
            };
            let detail =
                discount_codes::create_discount(services, &draft, &products, &users, &audit)
                    .await?;
            note(
                ctx,
                format!("Created discount {}.", detail.record.discount.code),
            );
            print_value(ctx, &detail, print_detail)
        }
        DiscountsCommand::Generate(args) => generate(ctx, services, args, now).await,
        DiscountsCommand::List(args) => {
            let filter = DiscountFilter {
                search: args.search,
                redemption_type: args
                    .redemption_type
                    .as_deref()
                    .map(parse_redemption_type)
                    .transpose()?,
                payment_type: args
                    .payment_type
                    .as_deref()
                    .map(parse_payment_type)
                    .transpose()?,
                redeemed: args.redeemed.map(|r| r == "yes"),
                limit: args.limit,
            };
            let found = store.list_discounts(&filter).await?;
            if ctx.json {
                return print_value(ctx, &found, |_| {});
            }
            let rows: Vec<Row> = found.iter().map(Row::from).collect();
            print_rows(ctx, &rows)
        }
        DiscountsCommand::Show { code } => {
            let detail = store
                .discount_detail(code.trim())
                .await?
                .ok_or_else(|| anyhow!("Discount '{}' not found.", code.trim()))?;
            print_value(ctx, &detail, print_detail)
        }
        DiscountsCommand::Check { code } => {
            let check = check_code(store, &code, now).await?;
            print_value(ctx, &check, print_check)
        }
        DiscountsCommand::Extend {
            discount_code_prefix,
            allow_shorten,
            expires,
            reason,
            actor,
            dry_run,
        } => {
            let plan =
                plan_extend(store, &discount_code_prefix, &expires, allow_shorten, now).await?;
            let summary = extend_summary(&plan, dry_run);
            if dry_run {
                note(ctx, format!("Dry run: {summary} (nothing written)."));
                return print_value(
                    ctx,
                    &DryRun {
                        dry_run: true,
                        value: &plan,
                    },
                    |p| print_codes(&p.value.targets, p.value.expires),
                );
            }
            let audit = Audit {
                actor,
                reason: Some(reason),
            };
            let updated = apply_extend(services, &plan, &audit).await?;
            note(ctx, summary);
            note(
                ctx,
                format!("Successfully updated {updated} discount codes."),
            );
            print_value(ctx, &plan, |p| print_codes(&p.targets, p.expires))
        }
    }
}

/// What an extension changes and skips, in one sentence.
fn extend_summary(plan: &discount_codes::ExtendPlan, dry_run: bool) -> String {
    let verb = if dry_run { "would set" } else { "setting" };
    let mut text = format!(
        "{verb} {} on {} discount code(s)",
        time_text(&plan.expires),
        plan.targets.len()
    );
    if plan.shortened > 0 {
        text.push_str(&format!(" ({} of them shortened)", plan.shortened));
    }
    let mut skipped = Vec::new();
    if !plan.shortening_skipped.is_empty() {
        skipped.push(format!(
            "{} that the date would shorten (use --allow-shorten)",
            plan.shortening_skipped.len()
        ));
    }
    if !plan.redeemed_skipped.is_empty() {
        skipped.push(format!("{} redeemed", plan.redeemed_skipped.len()));
    }
    if !plan.unchanged.is_empty() {
        skipped.push(format!("{} already expiring then", plan.unchanged.len()));
    }
    if !skipped.is_empty() {
        text.push_str(&format!("; skipped {}", skipped.join(", ")));
    }
    text
}

fn print_codes(discounts: &[Discount], expires: chrono::DateTime<chrono::Utc>) {
    if discounts.is_empty() {
        return;
    }
    let rows: Vec<CodeRow> = discounts
        .iter()
        .map(|d| CodeRow {
            id: d.id.0,
            code: d.code.to_string(),
            offer: d.friendly_format(),
            expires_before: date_text(d.expiration_date),
            expires_after: time_text(&expires),
        })
        .collect();
    crate::output::print_table(&rows);
}

#[derive(Debug, Tabled)]
struct CodeRow {
    id: i64,
    code: String,
    offer: String,
    #[tabled(rename = "expires (before)")]
    expires_before: String,
    #[tabled(rename = "expires (after)")]
    expires_after: String,
}

async fn generate(
    ctx: &Context,
    services: &mitx_services::Services,
    args: GenerateArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let request = CodeGenerationRequest {
        discount_type: args.discount_type,
        payment_type: args.payment_type,
        amount: parse_amount(&args.amount)?,
        count: args.count,
        prefix: args.prefix,
        codes: args.codes,
        one_time: args.one_time,
        once_per_user: args.once_per_user,
        redemption_type: None,
        activates: args.activates,
        expires: args.expires,
    };
    if request.count <= 1 && request.codes.is_empty() {
        bail!("Give the codes to create, or --count N with --prefix P.");
    }
    let mut next_uuid = uuid::Uuid::new_v4;
    if args.dry_run {
        let drafts = plan_generation(&request, now, &mut next_uuid)?;
        note(
            ctx,
            format!(
                "Dry run: would create {} codes and write {} (nothing written).",
                drafts.len(),
                args.output.display()
            ),
        );
        return print_value(
            ctx,
            &DryRun {
                dry_run: true,
                value: serde_json::json!({ "count": drafts.len(), "codes": drafts }),
            },
            |_| {},
        );
    }
    let audit = Audit {
        actor: args.actor,
        reason: args.reason,
    };
    let total = if request.codes.is_empty() {
        u64::from(request.count)
    } else {
        request.codes.len() as u64
    };
    let bar = progress(ctx, total, "generating codes");
    let created = discount_codes::generate_codes(
        services,
        &request,
        &audit,
        &mut next_uuid,
        &args.output,
        &mut |done| {
            bar.set_position(done as u64);
            bar.set_message("writing the CSV");
        },
    )
    .await;
    bar.finish_and_clear();
    let created = created?;
    if ctx.json {
        print_value(ctx, &created, |_| {})?;
    } else {
        note(ctx, format!("{} created.", created.len()));
        note(ctx, format!("Wrote {}.", args.output.display()));
    }
    Ok(())
}
