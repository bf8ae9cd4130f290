//! `mitx records partner-schools add|list|deactivate|activate|link` (courses spec 1.14):
//! the schools learners can share program records with.

use anyhow::anyhow;
use clap::{Args, Subcommand};
use mitx_core::ids::ProgramId;
use mitx_services::records;
use mitx_services::store::audit_log::Audit;

use crate::context::Context;
use crate::output::{note, print_rows, print_value};

/// Learner records.
#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Partner schools learners can share program records with.
    #[command(
        subcommand,
        name = "partner-schools",
        after_help = "Example:\n  mitx records partner-schools add --name 'Pathway College' --email admissions@pathway.edu --reason 'new partner'\n  mitx records partner-schools list"
    )]
    PartnerSchools(PartnerSchoolsCommand),
}

/// `partner-schools` subcommands.
#[derive(Debug, Subcommand)]
pub enum PartnerSchoolsCommand {
    /// Add an active school.
    #[command(
        after_help = "Example:\n  mitx records partner-schools add --name 'Pathway College' --email admissions@pathway.edu --reason 'new partner'"
    )]
    Add {
        /// The name learners see.
        #[arg(long)]
        name: String,
        /// Where shared records go (unless a program link names another address).
        #[arg(long)]
        email: String,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// List schools (inactive ones too) with their program links.
    #[command(after_help = "Example:\n  mitx records partner-schools list --json")]
    List,
    /// Stop offering a school (soft delete; existing shares stay).
    #[command(
        after_help = "Example:\n  mitx records partner-schools deactivate 3 --reason 'partnership ended'"
    )]
    Deactivate {
        /// The school's id.
        id: i64,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Offer a deactivated school again.
    #[command(
        after_help = "Example:\n  mitx records partner-schools activate 3 --reason 'renewed'"
    )]
    Activate {
        /// The school's id.
        id: i64,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Link a school to a program (with ENABLE_PROGRAM_SPECIFIC_PATHWAY_SCHOOLS only linked
    /// schools are offered), optionally with the address records of that program go to.
    #[command(
        after_help = "Example:\n  mitx records partner-schools link 3 --program program-v1:MITx+DEDP --email dedp@pathway.edu --reason 'DEDP pathway'"
    )]
    Link {
        /// The school's id.
        id: i64,
        /// The program: id or readable id.
        #[arg(long)]
        program: String,
        /// Recipient for this program (default: the school's address).
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

/// A school as `list` shows it.
#[derive(Debug, serde::Serialize, tabled::Tabled)]
struct SchoolRow {
    id: i64,
    name: String,
    email: String,
    #[tabled(rename = "active")]
    is_active: bool,
    /// Linked programs and their recipients, `readable_id (email)`.
    programs: String,
}

/// Who and why, for the audit log.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Why (stored in the audit log).
    #[arg(long)]
    reason: String,
    /// Who is doing it (stored in the audit log).
    #[arg(long, env = "USER", default_value = "unknown")]
    actor: String,
}

impl AuditArgs {
    fn audit(&self) -> Audit {
        Audit::new(self.actor.clone(), Some(self.reason.clone()))
    }
}

/// Runs a `records` command.
pub async fn run(cmd: RecordsCommand, ctx: &Context) -> anyhow::Result<()> {
    let RecordsCommand::PartnerSchools(cmd) = cmd;
    let services = ctx.migrated().await?;
    match cmd {
        PartnerSchoolsCommand::Add { name, email, audit } => {
            let school =
                records::add_partner_school(services, &name, &email, &audit.audit()).await?;
            print_value(ctx, &school, |s| {
                note(ctx, format!("Partner school {} '{}' added.", s.id, s.name));
            })
        }
        PartnerSchoolsCommand::List => {
            let schools = services.store().partner_schools(false).await?;
            let links = services.store().partner_school_links().await?;
            let rows: Vec<SchoolRow> = schools
                .into_iter()
                .map(|s| {
                    let programs = links
                        .iter()
                        .filter(|l| l.partner_school_id == s.id)
                        .map(|l| format!("{} ({})", l.program_readable_id, l.email))
                        .collect::<Vec<_>>()
                        .join(", ");
                    SchoolRow {
                        id: s.id,
                        name: s.name,
                        email: s.email,
                        is_active: s.is_active,
                        programs,
                    }
                })
                .collect();
            print_rows(ctx, &rows)
        }
        PartnerSchoolsCommand::Deactivate { id, audit } => set_active(ctx, id, false, &audit).await,
        PartnerSchoolsCommand::Activate { id, audit } => set_active(ctx, id, true, &audit).await,
        PartnerSchoolsCommand::Link {
            id,
            program,
            email,
            audit,
        } => {
            let program_id = services
                .store()
                .catalog_program_id_with_b2b(program.trim())
                .await?
                .ok_or_else(|| anyhow!("Program '{program}' not found."))?;
            let linked = records::link_partner_school(
                services,
                id,
                ProgramId(program_id),
                email.as_deref(),
                &audit.audit(),
            )
            .await?;
            print_value(ctx, &serde_json::json!({"linked": linked}), |_| {
                let message = if linked {
                    "linked"
                } else {
                    "was already linked; nothing changed"
                };
                note(ctx, format!("Partner school {id} {message} to {program}."));
            })
        }
    }
}

async fn set_active(ctx: &Context, id: i64, active: bool, audit: &AuditArgs) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let changed = records::set_partner_school_active(services, id, active, &audit.audit()).await?;
    let state = if active { "active" } else { "inactive" };
    print_value(
        ctx,
        &serde_json::json!({"id": id, "changed": changed}),
        |_| {
            let message = if changed {
                format!("is now {state}")
            } else {
                format!("was already {state}; nothing changed")
            };
            note(ctx, format!("Partner school {id} {message}."));
        },
    )
}
