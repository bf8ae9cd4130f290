//! `mitx enrollments`: operator changes of learners' enrollments: `defer` (courses spec
//! 2.9, the original's `defer_enrollment`) and `upgrade-programs` (2.8,
//! `upgrade_eligible_program_enrollments`).

use clap::{Args, Subcommand};
use mitx_services::deferral::{self, DeferralOrder, DeferralOutcome, EnrollmentSummary};
use mitx_services::program_upgrade;
use mitx_services::store::audit_log::Audit;
use serde::Serialize;
use tabled::Tabled;

use crate::commands::edx::user_id;
use crate::context::Context;
use crate::output::{note, opt, print_rows, print_value};

/// Operator changes of enrollments.
#[derive(Debug, Subcommand)]
pub enum EnrollmentsCommand {
    /// Move a learner's seat from one course run to another (`defer_enrollment`): the
    /// learner gets a verified enrollment in --to-run, the --from-run enrollment stays
    /// active in audit mode marked `deferred`, and a fulfilled payment for --from-run moves
    /// to --to-run. Without --to-run the --from-run enrollment is only switched to audit
    /// and marked `deferred`. Exits 1 when the deferral is refused.
    #[command(
        after_help = "Example:\n  mitx enrollments defer --user jdoe --from-run course-v1:MITx+6.00.1x+1T2026 --to-run course-v1:MITx+6.00.1x+1T2027 --reason 'ticket 4242' --dry-run\n  mitx enrollments defer --user jdoe@example.com --from-run course-v1:MITx+6.00.1x+1T2026 --reason 'learner asked'"
    )]
    Defer(DeferArgs),
    /// Upgrade every eligible audit program enrollment to verified
    /// (`upgrade_eligible_program_enrollments`; also the daily job
    /// `upgrade-eligible-program-enrollments`).
    #[command(
        after_help = "Example:\n  mitx enrollments upgrade-programs --dry-run\n  mitx enrollments upgrade-programs"
    )]
    UpgradePrograms(UpgradeArgs),
}

/// Options of `defer`.
#[derive(Debug, Args)]
pub struct DeferArgs {
    /// The learner: id, username or email.
    #[arg(long)]
    user: String,
    /// The run the seat leaves (courseware id).
    #[arg(long)]
    from_run: String,
    /// The run the seat moves to (courseware id); none defers in place.
    #[arg(long)]
    to_run: Option<String>,
    /// Keep local changes when Open edX fails (the retry job completes them).
    #[arg(short = 'k', long, visible_alias = "keep-failed-enrollments")]
    keep_failed: bool,
    /// Defer from an inactive enrollment, to a closed run or to another course's run.
    #[arg(short = 'f', long)]
    force: bool,
    /// Show the plan; change nothing and call nobody.
    #[arg(long)]
    dry_run: bool,
    /// Why (stored in the audit log).
    #[arg(long)]
    reason: String,
    /// Who is doing it (stored in the audit log).
    #[arg(long, env = "USER", default_value = "unknown")]
    actor: String,
}

/// Options of `upgrade-programs`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// List the enrollments that would be upgraded; change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Serialize, Tabled)]
struct SideLine {
    side: &'static str,
    enrollment: i64,
    run: String,
    mode: String,
    active: bool,
    change_status: String,
    edx_enrolled: bool,
}

fn side(name: &'static str, row: &EnrollmentSummary) -> SideLine {
    SideLine {
        side: name,
        enrollment: row.id,
        run: row.courseware_id.clone(),
        mode: row.mode.clone(),
        active: row.active,
        change_status: opt(&row.change_status),
        edx_enrolled: row.edx_enrolled,
    }
}

fn print_outcome(ctx: &Context, outcome: &DeferralOutcome, headline: String) -> anyhow::Result<()> {
    print_value(ctx, outcome, |o| {
        note(ctx, headline.clone());
        let mut lines = Vec::new();
        if let Some(row) = &o.from {
            lines.push(side("from", row));
        }
        if let Some(row) = &o.to {
            lines.push(side("to", row));
        }
        if !lines.is_empty() {
            crate::output::print_table(&lines);
        }
    })
}

/// Runs an `enrollments` command.
pub async fn run(cmd: EnrollmentsCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    match cmd {
        EnrollmentsCommand::Defer(args) => {
            let user = user_id(services, &args.user).await?;
            let audit = Audit::new(args.actor.clone(), Some(args.reason.clone()));
            let order = DeferralOrder {
                user,
                from_run: &args.from_run,
                to_run: args.to_run.as_deref(),
                keep_failed: args.keep_failed,
                force: args.force,
                audit: &audit,
            };
            if args.dry_run {
                let outcome = deferral::preview(services, &order).await?;
                let steps = serde_json::to_string(&outcome.plan).unwrap_or_default();
                return print_outcome(
                    ctx,
                    &outcome,
                    format!("Dry run: the deferral is valid; nothing changed. Plan: {steps}"),
                );
            }
            let outcome = deferral::defer(services, &order).await?;
            let headline = if outcome.unchanged {
                format!(
                    "{} was already deferred from {}; nothing changed.",
                    args.user, args.from_run
                )
            } else {
                match &args.to_run {
                    Some(to) => format!("Deferred {} from {} to {to}.", args.user, args.from_run),
                    None => format!("Deferred {} in {}.", args.user, args.from_run),
                }
            };
            print_outcome(ctx, &outcome, headline)
        }
        EnrollmentsCommand::UpgradePrograms(args) => {
            let report = program_upgrade::upgrade_eligible(services, args.dry_run).await?;
            let lines: Vec<UpgradeLine> = report
                .upgrades
                .iter()
                .map(|u| UpgradeLine {
                    user: u.user.0,
                    program: u.program.0,
                    readable_id: u.readable_id.clone(),
                    outcome: u.outcome.clone(),
                })
                .collect();
            note(ctx, report.summary(args.dry_run));
            print_rows(ctx, &lines)
        }
    }
}

#[derive(Debug, Serialize, Tabled)]
struct UpgradeLine {
    user: i64,
    program: i64,
    readable_id: String,
    outcome: String,
}
