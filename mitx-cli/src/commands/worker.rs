//! `mitx worker`: runs queued jobs and the periodic schedule.

use clap::Args;
use mitx_services::jobs::worker::{self, WorkerOptions};

use crate::commands::serve::shutdown_signal;
use crate::context::Context;
use crate::output::{note, print_value};

/// Options of `mitx worker`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mitx worker\n  mitx worker --concurrency 8\n  mitx worker --once          # run what is due now, then exit (cron, tests)\n  mitx worker --no-schedule   # cron runs the periodic jobs with `mitx jobs run`"
)]
pub struct WorkerCommand {
    /// Run every job that is due now (and the jobs they queue), then exit.
    #[arg(long)]
    once: bool,
    /// Jobs run at once [default: MITX_WORKER_CONCURRENCY, 4].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: Option<u16>,
    /// Do not tick the periodic schedule in this worker.
    #[arg(long)]
    no_schedule: bool,
}

/// Runs the worker until Ctrl-C or SIGTERM (running jobs are finished first).
pub async fn run(cmd: WorkerCommand, ctx: &Context) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let mut options = WorkerOptions::from_settings(&services.settings().worker);
    options.once = cmd.once;
    if let Some(n) = cmd.concurrency {
        options.concurrency = usize::from(n);
    }
    if cmd.no_schedule {
        options.schedule = false;
    }
    note(
        ctx,
        format!(
            "Worker {} started ({} at once{}{}).",
            services.instance(),
            options.concurrency,
            if options.schedule && !options.once {
                ", periodic schedule on"
            } else {
                ""
            },
            if options.once {
                ", until nothing is due"
            } else {
                "; Ctrl-C stops it"
            },
        ),
    );
    let report = worker::run(services, &options, shutdown_signal()).await?;
    print_value(ctx, &report, |r| {
        note(
            ctx,
            format!(
                "Worker stopped: {} done, {} to retry, {} failed, {} recovered, {} periodic queued.",
                r.done, r.retried, r.failed, r.recovered, r.scheduled
            ),
        );
    })
}
