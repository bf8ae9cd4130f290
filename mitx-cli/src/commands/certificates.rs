//! `mitx certificates revoke|unrevoke` (courses spec 3.5, the original's
//! `manage_certificates --revoke/--unrevoke` and `manage_program_certificates`).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use mitx_core::ids::ProgramId;
use mitx_services::Services;
use mitx_services::certificates;
use mitx_services::store::audit_log::Audit;
use mitx_services::store::certificates::CertifiedFor;

use crate::commands::edx::{run_id, user_id};
use crate::context::Context;
use crate::output::{note, print_value};

/// Course-run and program certificates.
#[derive(Debug, Subcommand)]
pub enum CertificatesCommand {
    /// Revoke a learner's certificate: it disappears from the enrollment lists, the
    /// certificate pages, the learner record and program eligibility. Nothing else changes
    /// (grades, program certificates, credentials). Exits 1 when there is no certificate.
    #[command(
        after_help = "Example:\n  mitx certificates revoke --user jdoe --run course-v1:MITx+6.001x+1T2026 --reason 'academic integrity'\n  mitx certificates revoke --user jdoe@example.com --program program-v1:MITx+DEDP --reason 'issued in error'"
    )]
    Revoke(RevocationArgs),
    /// Restore a revoked certificate (the same row, uuid and issue date).
    #[command(
        after_help = "Example:\n  mitx certificates unrevoke --user jdoe --run course-v1:MITx+6.001x+1T2026 --reason 'appeal upheld'"
    )]
    Unrevoke(RevocationArgs),
    /// Queue the verifiable-credential job (courses spec 3.8) for non-revoked certificates
    /// without a credential (`backfill_verifiable_credentials`); `--force` re-issues linked
    /// ones too. The worker signs them.
    #[command(
        name = "backfill-credentials",
        after_help = "Example:\n  mitx certificates backfill-credentials --dry-run\n  mitx certificates backfill-credentials --course course-v1:MITx+6.001x+1T2026\n  mitx certificates backfill-credentials --program program-v1:MITx+DEDP --force"
    )]
    BackfillCredentials(BackfillArgs),
}

/// Options of `backfill-credentials`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Only course-run certificates of this run (id or courseware id).
    #[arg(long, conflicts_with = "program")]
    course: Option<String>,
    /// Only certificates of this program (id or readable id).
    #[arg(long)]
    program: Option<String>,
    /// Only course-run certificates (all runs).
    #[arg(long, conflicts_with_all = ["program", "programs_only"])]
    courses_only: bool,
    /// Only program certificates (all programs).
    #[arg(long, conflicts_with = "course")]
    programs_only: bool,
    /// Also certificates that have a credential: it is unlinked and issued again.
    #[arg(long)]
    force: bool,
    /// Show what would be queued; change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `mitx certificates backfill-credentials`.
async fn backfill_credentials(args: BackfillArgs, ctx: &Context) -> anyhow::Result<()> {
    use mitx_services::store::certificates::CertificateKind;
    let services = ctx.migrated().await?;
    let (kinds, subject) = if let Some(run) = &args.course {
        (
            vec![CertificateKind::Course],
            Some(run_id(services, run).await?.0),
        )
    } else if let Some(key) = &args.program {
        let id = services
            .store()
            .catalog_program_id_with_b2b(key.trim())
            .await?
            .ok_or_else(|| anyhow!("Program '{key}' not found."))?;
        (vec![CertificateKind::Program], Some(id))
    } else if args.courses_only {
        (vec![CertificateKind::Course], None)
    } else if args.programs_only {
        (vec![CertificateKind::Program], None)
    } else {
        (
            vec![CertificateKind::Course, CertificateKind::Program],
            None,
        )
    };
    let report =
        mitx_services::credentials::backfill(services, &kinds, subject, args.force, args.dry_run)
            .await?;
    print_value(ctx, &report, |r| {
        let prefix = if args.dry_run {
            "Would queue"
        } else {
            "Queued"
        };
        note(
            ctx,
            format!(
                "{prefix} {} credential job(s); {} already waiting; {} credential(s) unlinked for re-issue.",
                r.queued, r.already_queued, r.unlinked
            ),
        );
    })
}

/// Options of `revoke` and `unrevoke`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("of").required(true).args(["run", "program"])))]
pub struct RevocationArgs {
    /// The learner: id, username or email.
    #[arg(long)]
    user: String,
    /// The course run: id or courseware id.
    #[arg(long)]
    run: Option<String>,
    /// The program: id or readable id.
    #[arg(long)]
    program: Option<String>,
    /// Why (stored in the audit log).
    #[arg(long)]
    reason: String,
    /// Who is doing it (stored in the audit log).
    #[arg(long, env = "USER", default_value = "unknown")]
    actor: String,
}

async fn certified_for(services: &Services, args: &RevocationArgs) -> anyhow::Result<CertifiedFor> {
    if let Some(run) = &args.run {
        return Ok(CertifiedFor::Run(run_id(services, run).await?));
    }
    let key = args.program.as_deref().unwrap_or_default();
    let id = services
        .store()
        .catalog_program_id_with_b2b(key.trim())
        .await?
        .ok_or_else(|| anyhow!("Program '{key}' not found."))?;
    Ok(CertifiedFor::Program(ProgramId(id)))
}

/// Runs a `certificates` command.
pub async fn run(cmd: CertificatesCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let (args, revoked) = match cmd {
        CertificatesCommand::Revoke(args) => (args, true),
        CertificatesCommand::Unrevoke(args) => (args, false),
        CertificatesCommand::BackfillCredentials(args) => {
            return backfill_credentials(args, ctx).await;
        }
    };
    let user = user_id(services, &args.user).await?;
    let of = certified_for(services, &args).await?;
    let audit = Audit::new(args.actor.clone(), Some(args.reason.clone()));
    let outcome = certificates::set_revocation(services, user, of, revoked, &audit).await?;
    let what = args
        .run
        .as_deref()
        .or(args.program.as_deref())
        .unwrap_or("");
    print_value(ctx, &outcome, |o| {
        let state = if revoked { "revoked" } else { "active" };
        let message = if o.changed {
            format!(
                "Certificate {} of {} for {what} is now {state}.",
                o.certificate.uuid, args.user
            )
        } else {
            format!(
                "Certificate {} of {} for {what} was already {state}; nothing changed.",
                o.certificate.uuid, args.user
            )
        };
        note(ctx, message);
    })
}
