//! `mitx certificates generate|override-grade|revoke|unrevoke` (courses spec 3.1-3.7,
//! the original's `manage_certificates` and `manage_program_certificates`).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use mitx_core::ids::ProgramId;
use mitx_services::Services;
use mitx_services::certificates;
use mitx_services::course_certificates::{
    self, GenerateRequest, GradeOverride, Progress, RunReport,
};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::certificates::CertifiedFor;
use tabled::Tabled;

use crate::commands::edx::{run_id, user_id};
use crate::context::Context;
use crate::output::{note, print_table, print_value, progress};

/// Course-run and program certificates.
#[derive(Debug, Subcommand)]
pub enum CertificatesCommand {
    /// Fetch grades from edX, store them and issue (or delete) course-run certificates,
    /// as the hourly job does. Without options: every candidate run (live, usable,
    /// non-variant, certificate date within CERTIFICATE_CREATION_WINDOW_IN_DAYS). With
    /// --program, program certificates for its verified learners follow. Running it again
    /// creates nothing new. Exits 1 when a run or a learner failed.
    #[command(
        after_help = "Example:\n  mitx certificates generate\n  mitx certificates generate --run course-v1:MITx+6.001x+1T2026\n  mitx certificates generate --run course-v1:MITx+6.001x+1T2026 --user jdoe\n  mitx certificates generate --program program-v1:MITx+DEDP"
    )]
    Generate(GenerateArgs),
    /// Set a learner's grade by hand (0.0-1.0, letter A-F); the edX sync never overwrites
    /// it afterwards. The certificate is then decided as forced (the original's
    /// `manage_certificates --create --grade`): a non-zero grade issues one, 0 deletes it.
    #[command(
        name = "override-grade",
        after_help = "Example:\n  mitx certificates override-grade --user jdoe --run course-v1:MITx+6.001x+1T2026 --grade 0.85 --letter-grade B --force-pass"
    )]
    OverrideGrade(OverrideArgs),
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

/// Options of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// One run (courseware id); the candidate filter is skipped for it.
    #[arg(long)]
    run: Option<String>,
    /// The candidate runs of this program's courses (id or readable id), then its
    /// program certificates.
    #[arg(long, conflicts_with = "run")]
    program: Option<String>,
    /// One learner (id, username or email); their grade is fetched alone.
    #[arg(long)]
    user: Option<String>,
    /// Issue certificates whatever the grade's passed flag, the enrollment and the
    /// certificate date say (use with --run and --user).
    #[arg(long, requires = "user")]
    force: bool,
}

/// Options of `override-grade`.
#[derive(Debug, Args)]
pub struct OverrideArgs {
    /// The learner: id, username or email.
    #[arg(long)]
    user: String,
    /// The run's courseware id.
    #[arg(long)]
    run: String,
    /// The grade, 0.0-1.0.
    #[arg(long)]
    grade: f64,
    /// The letter grade, one of A-F.
    #[arg(long)]
    letter_grade: String,
    /// Mark the grade passed (unless it is 0).
    #[arg(long)]
    force_pass: bool,
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

async fn generate(services: &Services, ctx: &Context, args: GenerateArgs) -> anyhow::Result<()> {
    let user = match &args.user {
        Some(user) => Some(user_id(services, user).await?),
        None => None,
    };
    let request = GenerateRequest {
        run: args.run.clone(),
        program: args.program.clone(),
        user,
        force: args.force,
    };
    let bar = progress(ctx, 0, "learners");
    let mut on_progress = |step: Progress| match step {
        Progress::Runs(n) => bar.set_message(format!("{n} run(s)")),
        Progress::RunStarted {
            courseware_id,
            learners,
        } => {
            bar.set_message(courseware_id);
            bar.set_position(0);
            bar.set_length(learners);
        }
        Progress::Learners(n) => bar.inc(n),
        Progress::RunFinished => {}
    };
    let report = course_certificates::generate(services, &request, &mut on_progress).await?;
    bar.finish_and_clear();
    print_value(ctx, &report, |r| {
        if ctx.chatty() {
            let rows: Vec<RunRow> = r.runs.iter().map(RunRow::from).collect();
            print_table(&rows);
        }
        note(ctx, format!("{} in {:.1} s", r.summary(), r.seconds));
    })?;
    if report.failures() > 0 {
        return Err(anyhow!(
            "{} failure(s); the runs above say which",
            report.failures()
        ));
    }
    Ok(())
}

/// One run of a generation, as a table row.
#[derive(Tabled)]
struct RunRow {
    #[tabled(rename = "run")]
    run: String,
    fetched: u64,
    unknown: u64,
    invalid: u64,
    #[tabled(rename = "grades written")]
    written: u64,
    created: u64,
    deleted: u64,
    failed: u64,
    error: String,
}

impl From<&RunReport> for RunRow {
    fn from(r: &RunReport) -> Self {
        RunRow {
            run: r.courseware_id.clone(),
            fetched: r.fetched,
            unknown: r.unknown_users,
            invalid: r.invalid,
            written: r.grades_written,
            created: r.created,
            deleted: r.deleted,
            failed: r.failed,
            error: r.error.clone().unwrap_or_default(),
        }
    }
}

async fn override_grade(
    services: &Services,
    ctx: &Context,
    args: OverrideArgs,
) -> anyhow::Result<()> {
    let user = user_id(services, &args.user).await?;
    let request = GradeOverride {
        user,
        run: args.run.clone(),
        grade: args.grade,
        letter_grade: args.letter_grade.clone(),
        force_pass: args.force_pass,
        acting_user: None,
    };
    let report = course_certificates::override_learner_grade(services, &request).await?;
    print_value(ctx, &report, |r| {
        let grade = if r.grade_changed {
            format!(
                "Grade of {} in {} set to {}",
                args.user, r.courseware_id, args.grade
            )
        } else {
            format!(
                "Grade of {} in {} already {}",
                args.user, r.courseware_id, args.grade
            )
        };
        let certificate = if r.certificate_created {
            "; certificate created"
        } else if r.certificate_deleted {
            "; certificate deleted"
        } else {
            ""
        };
        note(ctx, format!("{grade}{certificate}."));
    })
}

/// Runs a `certificates` command.
pub async fn run(cmd: CertificatesCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let (args, revoked) = match cmd {
        CertificatesCommand::Generate(args) => return generate(services, ctx, args).await,
        CertificatesCommand::OverrideGrade(args) => {
            return override_grade(services, ctx, args).await;
        }
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
