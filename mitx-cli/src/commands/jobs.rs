//! `mitx jobs`: the job queue for operators and cron.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use mitx_services::jobs::admin;
use mitx_services::jobs::periodic::{self, Availability};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::jobs::{JobFilter, JobRecord, JobStatus, RetryOutcome};
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{note, opt, print_rows, print_value};

/// The job queue.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Recent jobs, newest first.
    #[command(
        after_help = "Example:\n  mitx jobs list\n  mitx jobs list --status queued --kind email.send\n  mitx --json jobs list --limit 500"
    )]
    List {
        /// Only this status: queued, running, done or failed.
        #[arg(long, value_parser = ["queued", "running", "done", "failed"])]
        status: Option<String>,
        /// Only this kind (`email.send`, `edx.enroll`, `periodic.retry-failed-edx-enrollments`).
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Jobs that gave up (last attempt failed, or a permanent error), newest first.
    #[command(after_help = "Example:\n  mitx jobs failed\n  mitx --json jobs failed")]
    Failed {
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// One job with its payload and last error.
    #[command(after_help = "Example:\n  mitx jobs show 42")]
    Show {
        /// The job's id.
        id: i64,
    },
    /// Queue a failed job again with a fresh attempt budget (audited).
    #[command(after_help = "Example:\n  mitx jobs retry 42 --reason \"edX was down\"")]
    Retry {
        /// The job's id.
        id: i64,
        /// Why (stored in the audit log).
        #[arg(long)]
        reason: Option<String>,
        /// Who is doing it (stored in the audit log).
        #[arg(long, env = "USER", default_value = "unknown")]
        actor: String,
    },
    /// Run one periodic job now and print what it did (for cron; exits 1 when items failed).
    #[command(
        after_help = "Example:\n  mitx jobs run retry-failed-edx-enrollments\n  */30 * * * * mitx jobs run repair-faulty-edx-users   # crontab, with `mitx worker --no-schedule`"
    )]
    Run {
        /// The periodic job (`mitx jobs schedule` lists them).
        name: String,
    },
    /// The periodic jobs: schedule, whether they run in this version, last tick.
    #[command(after_help = "Example:\n  mitx jobs schedule")]
    Schedule,
}

#[derive(Debug, Serialize, Tabled)]
struct Row {
    id: i64,
    kind: String,
    status: &'static str,
    attempts: String,
    #[tabled(rename = "run after")]
    run_after: String,
    #[tabled(rename = "last error / note")]
    last_error: String,
}

impl From<&JobRecord> for Row {
    fn from(job: &JobRecord) -> Self {
        let mut error = job.last_error.clone().unwrap_or_default();
        if error.chars().count() > 80 {
            error = error.chars().take(77).collect::<String>() + "...";
        }
        Row {
            id: job.id,
            kind: job.name.clone(),
            status: job.status.as_str(),
            attempts: format!("{}/{}", job.attempts, job.max_attempts),
            run_after: job.run_after.format("%Y-%m-%d %H:%M:%S").to_string(),
            last_error: error,
        }
    }
}

#[derive(Debug, Serialize, Tabled)]
struct ScheduleRow {
    name: &'static str,
    schedule: String,
    status: String,
    #[tabled(rename = "last tick")]
    last_tick: String,
    purpose: &'static str,
}

fn print_jobs(ctx: &Context, jobs: &[JobRecord]) -> anyhow::Result<()> {
    if ctx.json {
        return print_value(ctx, &jobs, |_| {});
    }
    let rows: Vec<Row> = jobs.iter().map(Row::from).collect();
    print_rows(ctx, &rows)
}

/// Runs a `jobs` command.
pub async fn run(cmd: JobsCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let store = services.store();
    match cmd {
        JobsCommand::List {
            status,
            kind,
            limit,
        } => {
            let filter = JobFilter {
                status: status.as_deref().and_then(JobStatus::parse),
                name: kind,
                limit,
            };
            print_jobs(ctx, &store.list_jobs(&filter).await?)
        }
        JobsCommand::Failed { limit } => {
            let filter = JobFilter {
                status: Some(JobStatus::Failed),
                name: None,
                limit,
            };
            print_jobs(ctx, &store.list_jobs(&filter).await?)
        }
        JobsCommand::Show { id } => {
            let job = store
                .job(id)
                .await?
                .ok_or_else(|| anyhow!("Job {id} not found."))?;
            print_value(ctx, &job, |j| {
                crate::commands::users::print_fields(vec![
                    ("id", j.id.to_string()),
                    ("kind", j.name.clone()),
                    ("status", j.status.as_str().to_owned()),
                    ("attempts", format!("{}/{}", j.attempts, j.max_attempts)),
                    ("run after", j.run_after.to_rfc3339()),
                    ("worker", opt(&j.locked_by)),
                    (
                        "lease until",
                        opt(&j.lease_expires_at.map(|t| t.to_rfc3339())),
                    ),
                    ("dedupe key", opt(&j.dedupe_key)),
                    ("created", j.created_on.to_rfc3339()),
                    ("finished", opt(&j.finished_on.map(|t| t.to_rfc3339()))),
                    ("last error / note", opt(&j.last_error)),
                    ("payload", j.payload.clone()),
                ]);
            })
        }
        JobsCommand::Retry { id, reason, actor } => {
            let audit = Audit { actor, reason };
            match admin::retry(services, id, &audit).await? {
                None => bail!("Job {id} not found."),
                Some(RetryOutcome::NotFailed(status)) => {
                    bail!(
                        "Job {id} is {}, not failed; only failed jobs are retried.",
                        status.as_str()
                    )
                }
                Some(RetryOutcome::DuplicatePending) => bail!(
                    "Job {id} was not queued again: an unfinished job with the same key is already queued."
                ),
                Some(RetryOutcome::Requeued) => {
                    note(ctx, format!("Job {id} queued again; a worker will run it."));
                    let job = store.job(id).await?;
                    print_value(ctx, &job, |_| {})
                }
            }
        }
        JobsCommand::Run { name } => {
            note(ctx, format!("Running {name} now..."));
            let report = periodic::run(services, &name).await?;
            print_value(ctx, &report, |r| {
                note(ctx, format!("{}: {}", r.name, r.summary))
            })?;
            if report.failures > 0 {
                bail!("{name}: {} item(s) failed (see above)", report.failures);
            }
            Ok(())
        }
        JobsCommand::Schedule => {
            let ticks = store.schedule_ticks().await?;
            let rows: Vec<ScheduleRow> = periodic::schedule(services.settings())
                .into_iter()
                .map(|job| ScheduleRow {
                    name: job.name,
                    schedule: job.schedule.describe(),
                    status: match job.availability {
                        Availability::Scheduled => "scheduled".into(),
                        Availability::Disabled(why) => format!("disabled: {why}"),
                        Availability::NotYet(what) => format!("not yet: arrives with {what}"),
                    },
                    last_tick: ticks
                        .iter()
                        .find(|(name, _)| name == job.name)
                        .map(|(_, t)| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                    purpose: job.purpose,
                })
                .collect();
            print_rows(ctx, &rows)
        }
    }
}
