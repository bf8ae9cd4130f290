//! `mitx users create|show|list` (the original's `create_user` and lookups).

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use mitx_core::users::countries::country;
use mitx_services::store::users::{NewUser, User, UserDetail, UserKey};
use serde::Serialize;
use tabled::Tabled;

use crate::commands::discounts::time_text;
use crate::context::Context;
use crate::output::{note, opt, print_rows, print_value};

/// Learner and staff accounts.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user with a legal address (name split into first/last, the given country)
    /// and an empty profile.
    #[command(
        after_help = "Example:\n  mitx users create --username alice --email alice@example.com --name 'Alice Liddell' --country US"
    )]
    Create(CreateArgs),
    /// Show one user with the legal address and profile. USER is an id, a username or an
    /// email (case-insensitive).
    #[command(
        after_help = "Example:\n  mitx users show alice@example.com\n  mitx --json users show 42"
    )]
    Show {
        /// Id, username or email.
        user: String,
    },
    /// List users by id, optionally only those whose username, email or name contains a text.
    #[command(after_help = "Example:\n  mitx users list --search example.com --limit 20")]
    List {
        /// Case-insensitive text to find in username, email or name.
        #[arg(long)]
        search: Option<String>,
        /// At most this many users.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `users create` options.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Login name (unique).
    #[arg(long)]
    username: String,
    /// Email (unique, compared case-insensitively).
    #[arg(long)]
    email: String,
    /// Full name.
    #[arg(long, default_value = "")]
    name: String,
    /// Staff account.
    #[arg(long)]
    staff: bool,
    /// Superuser account.
    #[arg(long)]
    superuser: bool,
    /// ISO 3166-1 alpha-2 country of the legal address (e.g. US).
    #[arg(long)]
    country: Option<String>,
}

/// A user as listed.
#[derive(Debug, Serialize, Tabled)]
struct Row {
    id: i64,
    username: String,
    email: String,
    name: String,
    staff: bool,
    superuser: bool,
    active: bool,
    created: String,
}

impl From<&User> for Row {
    fn from(u: &User) -> Self {
        Row {
            id: u.id.0,
            username: u.username.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            staff: u.is_staff,
            superuser: u.is_superuser,
            active: u.is_active,
            created: u.created_on.format("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

/// A field of a record shown for people.
#[derive(Debug, Tabled)]
pub(crate) struct Field {
    pub(crate) field: String,
    pub(crate) value: String,
}

/// Prints fields as a two-column table.
pub(crate) fn print_fields(fields: Vec<(&str, String)>) {
    let rows: Vec<Field> = fields
        .into_iter()
        .map(|(field, value)| Field {
            field: field.to_owned(),
            value,
        })
        .collect();
    crate::output::print_table(&rows);
}

fn print_detail(detail: &UserDetail) {
    let u = &detail.user;
    let mut fields = vec![
        ("id", u.id.to_string()),
        ("username", u.username.clone()),
        ("email", u.email.clone()),
        ("name", u.name.clone()),
        ("global id", opt(&u.global_id)),
        ("active", u.is_active.to_string()),
        ("staff", u.is_staff.to_string()),
        ("superuser", u.is_superuser.to_string()),
        ("created", time_text(&u.created_on)),
        ("updated", time_text(&u.updated_on)),
    ];
    match &detail.legal_address {
        Some(a) => fields.extend([
            ("legal first name", a.first_name.clone()),
            ("legal last name", a.last_name.clone()),
            ("country", opt(&a.country)),
            ("state", opt(&a.state)),
            ("street", opt(&a.street_address_1)),
            ("city", opt(&a.city)),
            ("postal code", opt(&a.postal_code)),
        ]),
        None => fields.push(("legal address", "(none)".into())),
    }
    match &detail.user_profile {
        Some(p) => {
            let kinds: Vec<&str> = [
                (p.type_is_student, "student"),
                (p.type_is_professional, "professional"),
                (p.type_is_educator, "educator"),
                (p.type_is_other, "other"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            fields.extend([
                ("year of birth", opt(&p.year_of_birth)),
                ("gender", opt(&p.gender)),
                ("company", opt(&p.company)),
                ("job title", opt(&p.job_title)),
                ("highest education", opt(&p.highest_education)),
                ("learner type", kinds.join(", ")),
                ("profile complete", p.addl_field_flag.to_string()),
            ]);
        }
        None => fields.push(("profile", "(none)".into())),
    }
    print_fields(fields);
}

/// Runs a `users` command.
pub async fn run(cmd: UsersCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let store = services.store();
    match cmd {
        UsersCommand::Create(args) => {
            let username = args.username.trim().to_owned();
            let email = args.email.trim().to_owned();
            if username.is_empty() || username.chars().count() > 150 {
                bail!("Username must be 1 to 150 characters.");
            }
            match email.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => {}
                _ => bail!("Invalid email address '{email}'."),
            }
            let country_code = match args.country {
                Some(code) => {
                    let upper = code.trim().to_uppercase();
                    if country(&upper).is_none() {
                        bail!("Unknown country code '{code}' (use ISO 3166-1 alpha-2, e.g. US).");
                    }
                    Some(upper)
                }
                None => None,
            };
            let new = NewUser {
                username,
                email,
                name: args.name.trim().to_owned(),
                is_staff: args.staff,
                is_superuser: args.superuser,
                country: country_code,
            };
            let detail = mitx_services::users::create(services, &new)
                .await
                .context("could not create the user")?;
            note(
                ctx,
                format!(
                    "Created user {} ({}).",
                    detail.user.id, detail.user.username
                ),
            );
            print_value(ctx, &detail, print_detail)
        }
        UsersCommand::Show { user } => {
            let detail = store.user_detail(&UserKey::parse(&user)).await?;
            print_value(ctx, &detail, print_detail)
        }
        UsersCommand::List { search, limit } => {
            let users = store.list_users(search.as_deref(), limit).await?;
            if ctx.json {
                return print_value(ctx, &users, |_| {});
            }
            let rows: Vec<Row> = users.iter().map(Row::from).collect();
            print_rows(ctx, &rows)
        }
    }
}
