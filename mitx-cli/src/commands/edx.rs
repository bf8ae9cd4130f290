//! `mitx edx`: repairing the Open edX side of enrollments (courses spec 4.4, 2.11) and
//! pulling run data from edX (4.6).

use anyhow::{anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use mitx_core::enrollment::MAX_ENROLLMENT_RETRIES;
use mitx_core::ids::{CourseRunId, UserId};
use mitx_services::Services;
use mitx_services::edx::run_sync::{self, RunSyncReport};
use mitx_services::edx::sync;
use mitx_services::enrollment::{self, RetryLine, RetryScope};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::enrollments::RetryResetFilter;
use mitx_services::store::users::UserKey;
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{note, print_rows, print_value};

/// How many enrollments `retry-enrollments` pushes at once.
const PARALLEL: usize = 8;

/// Open edX repairs.
#[derive(Debug, Subcommand)]
pub enum EdxCommand {
    /// Push enrollments edX does not have (`retry_edx_enrollment`): with no arguments every
    /// active enrollment of an active learner with edx_enrolled=false, whatever its age or
    /// retry count. Exits 1 when some are still missing in edX.
    #[command(
        after_help = "Example:\n  mitx edx retry-enrollments\n  mitx edx retry-enrollments jdoe jane@example.com --run course-v1:MITx+6.001x+1T2026\n  mitx edx retry-enrollments --dry-run"
    )]
    RetryEnrollments(RetryArgs),
    /// Put the edX retry counter of enrollments edX does not have back to zero, so the
    /// periodic retry picks them up again (`reset_edx_enrollment_retries`).
    #[command(
        after_help = "Example:\n  mitx edx reset-retries --run course-v1:MITx+6.001x+1T2026 --only-exhausted --reason \"edX outage over\"\n  mitx edx reset-retries --all --reason \"edX outage over\""
    )]
    ResetRetries(ResetArgs),
    /// Bring one learner's enrollments in line with edX (`sync_enrollments`).
    #[command(after_help = "Example:\n  mitx edx sync-enrollments --user jdoe")]
    SyncEnrollments {
        /// The learner: id, username or email.
        #[arg(long)]
        user: String,
    },
    /// Pull titles, dates, enrollment windows and pacing of runs from the edX course list
    /// (`sync_courserun`; the daily job `sync-courseruns-data`). Prints "Sync complete: X
    /// updated, Y failures"; exits 1 when there is any failure (each is listed on stderr).
    #[command(
        after_help = "Example:\n  mitx edx sync-run --all\n  mitx edx sync-run --run course-v1:MITx+6.001x+1T2026\n  mitx --json edx sync-run --all"
    )]
    SyncRun(SyncRunArgs),
}

/// Options of `sync-run`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["run", "all"])))]
pub struct SyncRunArgs {
    /// Only this run (courseware id or id), live or not.
    #[arg(long)]
    run: Option<String>,
    /// Every live, unexpired run (B2B included; run tags starting with `fake-` excluded).
    #[arg(long)]
    all: bool,
}

/// Options of `retry-enrollments`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Learners (id, username or email); all when none.
    users: Vec<String>,
    /// Only this run (id or courseware id).
    #[arg(long)]
    run: Option<String>,
    /// Also push enrollments edX already has.
    #[arg(long)]
    force: bool,
    /// List what would be pushed; change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Options of `reset-retries`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Learners (id, username or email).
    users: Vec<String>,
    /// Only this run (id or courseware id).
    #[arg(long)]
    run: Option<String>,
    /// Only enrollments that used up their retries.
    #[arg(long)]
    only_exhausted: bool,
    /// Every enrollment edX does not have (required without learners or --run).
    #[arg(long)]
    all: bool,
    /// Why (stored in the audit log).
    #[arg(long)]
    reason: String,
    /// Who is doing it (stored in the audit log).
    #[arg(long, env = "USER", default_value = "unknown")]
    actor: String,
}

#[derive(Debug, Serialize, Tabled)]
struct Line {
    enrollment: i64,
    user: i64,
    run: i64,
    outcome: String,
}

impl From<&RetryLine> for Line {
    fn from(line: &RetryLine) -> Self {
        Line {
            enrollment: line.enrollment.0,
            user: line.user.0,
            run: line.run.0,
            outcome: line.outcome.clone(),
        }
    }
}

pub(crate) async fn user_id(services: &Services, key: &str) -> anyhow::Result<UserId> {
    services
        .store()
        .find_user(&UserKey::parse(key))
        .await?
        .map(|u| u.id)
        .ok_or_else(|| anyhow!("User '{key}' not found."))
}

pub(crate) async fn run_id(services: &Services, key: &str) -> anyhow::Result<CourseRunId> {
    let store = services.store();
    if let Ok(id) = key.trim().parse::<i64>()
        && store.enrollment_run(CourseRunId(id)).await?.is_some()
    {
        return Ok(CourseRunId(id));
    }
    store
        .enrollment_run_by_courseware_id(key.trim())
        .await?
        .map(|r| r.run.id)
        .ok_or_else(|| anyhow!("Course run '{key}' not found."))
}

/// Runs an `edx` command.
pub async fn run(cmd: EdxCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    match cmd {
        EdxCommand::RetryEnrollments(args) => retry(ctx, services, args).await,
        EdxCommand::ResetRetries(args) => reset(ctx, services, args).await,
        EdxCommand::SyncRun(args) => sync_run(ctx, services, args).await,
        EdxCommand::SyncEnrollments { user } => {
            let user = user_id(services, &user).await?;
            let report = sync::sync_enrollments(services, user).await?;
            print_value(ctx, &report, |r| {
                note(
                    ctx,
                    format!(
                        "Synced user {user}: {} updated, {} created, {} only local, {} unknown in mitx, {} skipped.",
                        r.updated.len(),
                        r.created.len(),
                        r.local_only.len(),
                        r.unknown_course_ids.len(),
                        r.skipped.len()
                    ),
                );
            })
        }
    }
}

async fn retry(ctx: &Context, services: &Services, args: RetryArgs) -> anyhow::Result<()> {
    let mut users = Vec::new();
    for key in &args.users {
        users.push(user_id(services, key).await?);
    }
    let run = match &args.run {
        Some(key) => Some(run_id(services, key).await?),
        None => None,
    };
    let scope = RetryScope {
        users,
        run,
        force: args.force,
    };
    let candidates = enrollment::retry_candidates(services, &scope).await?;
    if args.dry_run {
        let lines: Vec<Line> = candidates
            .iter()
            .map(|r| Line {
                enrollment: r.id.0,
                user: r.enrollment.user.0,
                run: r.enrollment.run.0,
                outcome: "would retry".into(),
            })
            .collect();
        note(
            ctx,
            format!(
                "Dry run: would push {} enrollment(s) to edX (nothing changed).",
                lines.len()
            ),
        );
        return print_rows(ctx, &lines);
    }
    if candidates.is_empty() {
        note(ctx, "No enrollment is missing in edX.");
        return print_rows(ctx, &Vec::<Line>::new());
    }
    let bar = crate::output::progress(ctx, candidates.len() as u64, "pushing enrollments");
    let mut results = Vec::with_capacity(candidates.len());
    let mut pending = candidates.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < PARALLEL {
            let Some(record) = pending.next() else { break };
            let services = services.clone();
            let force = args.force;
            running.spawn(async move { enrollment::retry_one(&services, &record, force).await });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let line = done.map_err(|e| anyhow!("a retry task failed: {e}"))?;
        bar.inc(1);
        results.push(line);
    }
    bar.finish_and_clear();
    results.sort_by_key(|l| l.enrollment.0);
    let missing = results.iter().filter(|l| !l.enrolled).count();
    let lines: Vec<Line> = results.iter().map(Line::from).collect();
    if ctx.json {
        print_value(ctx, &results, |_| {})?;
    } else {
        print_rows(ctx, &lines)?;
    }
    note(
        ctx,
        format!(
            "{} enrollment(s): {} now in edX, {missing} still missing.",
            results.len(),
            results.len() - missing
        ),
    );
    if missing > 0 {
        bail!("{missing} enrollment(s) could not be pushed to edX (see the table)");
    }
    Ok(())
}

async fn reset(ctx: &Context, services: &Services, args: ResetArgs) -> anyhow::Result<()> {
    if args.users.is_empty() && args.run.is_none() && !args.all {
        bail!(
            "Name learners or --run to reset, or pass --all to reset every enrollment edX does not have."
        );
    }
    let run = match &args.run {
        Some(key) => Some(run_id(services, key).await?),
        None => None,
    };
    let users: Vec<Option<UserId>> = if args.users.is_empty() {
        vec![None]
    } else {
        let mut ids = Vec::new();
        for key in &args.users {
            ids.push(Some(user_id(services, key).await?));
        }
        ids
    };
    let audit = Audit {
        actor: args.actor,
        reason: Some(args.reason),
    };
    let mut changed = 0;
    for user in users {
        let filter = RetryResetFilter {
            user,
            run,
            only_exhausted_at: args.only_exhausted.then_some(MAX_ENROLLMENT_RETRIES),
        };
        changed += enrollment::reset_edx_retries(services, &filter, &audit).await?;
    }
    if changed == 0 {
        bail!("No enrollment matched: nothing was reset.");
    }
    note(
        ctx,
        format!("Reset the edX retry counter of {changed} enrollment(s)."),
    );
    print_value(ctx, &serde_json::json!({ "reset": changed }), |_| {})
}

async fn sync_run(ctx: &Context, services: &Services, args: SyncRunArgs) -> anyhow::Result<()> {
    let bar = crate::output::spinner(ctx, "syncing runs with edX");
    let report: RunSyncReport = match &args.run {
        Some(key) => run_sync::sync_one_run(services, key).await?,
        None => run_sync::sync_all_runs(services).await?,
    };
    bar.finish_and_clear();
    for failure in &report.failed {
        note(
            ctx,
            format!(
                "failed: {}: {}",
                failure.run.as_deref().unwrap_or("(course list)"),
                failure.reason
            ),
        );
    }
    print_value(ctx, &report, |r| crate::output::emit(r.summary()))?;
    if report.failures > 0 {
        bail!(
            "{} failure(s) in the run sync (listed above)",
            report.failures
        );
    }
    Ok(())
}
