//! `mitx worker`: claims due jobs, runs them with a renewed lease, records the outcome,
//! returns jobs of dead workers to the queue, and ticks the periodic schedule.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mitx_store::StoreError;
use mitx_store::jobs::{JobRecord, TickClaim};
use serde::Serialize;
use tokio::task::JoinSet;

use super::backoff::retry_delay;
use super::periodic::{self, PeriodicJob};
use super::{DEFAULT_QUEUE, JobContext, JobOutcome, PERIODIC_PREFIX, dispatch, new_job};
use crate::Services;
use crate::config::WorkerSettings;
use crate::leases::{self, Lease};

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Jobs at once.
    pub concurrency: usize,
    /// Run what is due now (including jobs those jobs queue), then stop.
    pub once: bool,
    /// Tick the periodic schedule.
    pub schedule: bool,
    /// A running job's lease.
    pub lease: Duration,
    /// How often an idle worker looks for jobs.
    pub poll: Duration,
}

impl WorkerOptions {
    /// The options of the settings.
    pub fn from_settings(settings: &WorkerSettings) -> WorkerOptions {
        WorkerOptions {
            concurrency: settings.concurrency,
            once: false,
            schedule: settings.schedule,
            lease: settings.lease,
            poll: settings.poll,
        }
    }
}

/// What a worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WorkerReport {
    /// Jobs finished.
    pub done: u64,
    /// Failures queued for another attempt.
    pub retried: u64,
    /// Jobs marked failed.
    pub failed: u64,
    /// Jobs whose lease this worker lost before finishing (another worker took over).
    pub lost: u64,
    /// Periodic jobs queued by this worker's ticks.
    pub scheduled: u64,
    /// Jobs of dead workers returned to the queue.
    pub recovered: u64,
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::seconds(60))
}

fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    f64::from(u16::from_le_bytes(bytes)) / 65_536.0
}

/// Runs jobs until `shutdown` resolves (or, with `once`, until nothing is due). Running
/// jobs are finished before it returns.
pub async fn run(
    services: &Services,
    options: &WorkerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<WorkerReport, StoreError> {
    let worker = format!("{}:w", services.instance());
    let concurrency = options.concurrency.max(1);
    let mut report = WorkerReport::default();
    let mut running: JoinSet<Step> = JoinSet::new();
    let mut in_flight: HashMap<tokio::task::Id, i64> = HashMap::new();
    let mut scheduler = Scheduler::new(periodic::schedule(services.settings()));
    let mut last_recovery: Option<tokio::time::Instant> = None;
    let mut stopping = false;
    // A job that finished after the last claim may have queued more: `once` looks again.
    let mut settled_after_look = false;
    tokio::pin!(shutdown);
    tracing::info!(%worker, concurrency, once = options.once, schedule = options.schedule, "worker started");
    loop {
        let recovery_due = last_recovery.is_none_or(|at| at.elapsed() >= options.lease / 2);
        if recovery_due && !stopping {
            last_recovery = Some(tokio::time::Instant::now());
            match recover(services).await {
                Ok((requeued, failed)) => {
                    report.recovered += requeued;
                    report.failed += failed;
                }
                Err(err) => tracing::warn!(%err, "expired job leases not recovered"),
            }
        }
        if options.schedule && !options.once && !stopping {
            match scheduler.tick(services).await {
                Ok(queued) => report.scheduled += queued,
                Err(err) => tracing::warn!(%err, "schedule tick failed"),
            }
        }
        let free = concurrency.saturating_sub(running.len());
        let mut claimed = 0;
        // Refill in batches (when half the slots are free), not one claim per finished
        // job: a claim is the queue's most expensive statement.
        let refill = free > 0 && (running.is_empty() || free * 2 >= concurrency);
        let looked = refill && !stopping;
        if looked {
            settled_after_look = false;
            match claim(services, &worker, free, options.lease).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    let mut leases = take_leases(services, &jobs).await;
                    for job in jobs {
                        let id = job.id;
                        let lease = leases.remove(&id);
                        let handle = running.spawn(run_one(
                            services.clone(),
                            worker.clone(),
                            job,
                            options.lease,
                            lease,
                        ));
                        in_flight.insert(handle.id(), id);
                    }
                }
                Err(err) => {
                    tracing::warn!(%err, "claiming jobs failed");
                }
            }
        }
        while let Some(done) = running.try_join_next_with_id() {
            settle(services, &worker, done, &mut in_flight, &mut report).await;
            settled_after_look = true;
        }
        if running.is_empty() && claimed == 0 {
            if stopping || (options.once && looked && !settled_after_look) {
                break;
            }
            if !looked || settled_after_look {
                // Jobs finished after the last look (and may have queued more): look
                // again now.
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(options.poll) => {}
                () = &mut shutdown => { stopping = true; }
            }
        } else if claimed == 0 || !refill || running.len() >= concurrency || stopping {
            tokio::select! {
                Some(done) = running.join_next_with_id() => {
                    settle(services, &worker, done, &mut in_flight, &mut report).await;
                    settled_after_look = true;
                }
                () = tokio::time::sleep(options.poll) => {}
                () = &mut shutdown, if !stopping => { stopping = true; }
            }
        }
    }
    tracing::info!(%worker, ?report, "worker stopped");
    Ok(report)
}

/// Returns jobs whose lease expired to the queue.
async fn recover(services: &Services) -> Result<(u64, u64), StoreError> {
    let mut tx = services.db().begin().await?;
    let counts = tx.requeue_expired_jobs(services.now()).await?;
    tx.commit().await?;
    if counts.0 > 0 || counts.1 > 0 {
        tracing::warn!(
            requeued = counts.0,
            failed = counts.1,
            "jobs of stopped workers recovered"
        );
    }
    Ok(counts)
}

async fn claim(
    services: &Services,
    worker: &str,
    limit: usize,
    lease: Duration,
) -> Result<Vec<JobRecord>, StoreError> {
    let now = services.now();
    let limit = i64::try_from(limit).unwrap_or(1);
    services
        .db()
        .claim_jobs(DEFAULT_QUEUE, worker, limit, now + chrono(lease), now)
        .await
}

/// Takes the leases the claimed jobs need in one statement, by job id. A lease someone
/// else holds (or a failure here) is left to the job, which waits for it as usual.
async fn take_leases(services: &Services, jobs: &[JobRecord]) -> HashMap<i64, Lease> {
    let wanted: Vec<(i64, String)> = jobs
        .iter()
        .filter_map(|job| crate::jobs::lease_of(job).map(|name| (job.id, name)))
        .collect();
    let claims: Vec<(String, String)> = wanted
        .iter()
        .map(|(id, name)| (name.clone(), crate::jobs::lease_holder(*id)))
        .collect();
    let taken = match leases::acquire_batch(services, &claims).await {
        Ok(taken) => taken,
        Err(err) => {
            tracing::warn!(%err, "job leases not taken in a batch; each job takes its own");
            return HashMap::new();
        }
    };
    let mut by_job = HashMap::new();
    for lease in taken {
        let job = wanted.iter().find(|(id, name)| {
            *name == lease.name() && crate::jobs::lease_holder(*id) == lease.holder()
        });
        match job {
            Some((id, _)) => {
                by_job.insert(*id, lease);
            }
            // Not ours (cannot happen: only our claims come back); let it expire.
            None => drop(lease),
        }
    }
    by_job
}

/// The result of one job's task.
struct Step {
    job: JobRecord,
    outcome: JobOutcome,
}

type Joined = Result<(tokio::task::Id, Step), tokio::task::JoinError>;

async fn run_one(
    services: Services,
    worker: String,
    job: JobRecord,
    lease: Duration,
    taken: Option<Lease>,
) -> Step {
    let ctx = JobContext {
        id: job.id,
        worker: worker.clone(),
        attempt: job.attempts,
        max_attempts: job.max_attempts,
    };
    let heartbeat = tokio::spawn(heartbeat(services.clone(), worker, job.id, lease));
    let started = tokio::time::Instant::now();
    let outcome = dispatch(&services, &ctx, &job, taken).await;
    heartbeat.abort();
    tracing::debug!(job = job.id, kind = %job.name, ?outcome, elapsed_ms = started.elapsed().as_millis() as u64, "job ran");
    Step { job, outcome }
}

/// Renews the lease of a running job every third of the lease until aborted.
async fn heartbeat(services: Services, worker: String, id: i64, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let now = services.now();
        let renewed = async {
            let mut tx = services.db().begin().await?;
            let held = tx
                .renew_job_lease(id, &worker, now + chrono(lease), now)
                .await?;
            tx.commit().await?;
            Ok::<bool, StoreError>(held)
        }
        .await;
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = id, "job lease lost to another worker");
                return;
            }
            Err(err) => tracing::warn!(job = id, %err, "job lease not renewed"),
        }
    }
}

/// Records a finished job's outcome.
async fn settle(
    services: &Services,
    worker: &str,
    joined: Joined,
    in_flight: &mut HashMap<tokio::task::Id, i64>,
    report: &mut WorkerReport,
) {
    let (job_id, kind, attempt, max_attempts, outcome) = match joined {
        Ok((task, step)) => {
            in_flight.remove(&task);
            (
                step.job.id,
                step.job.name,
                step.job.attempts,
                step.job.max_attempts,
                step.outcome,
            )
        }
        Err(err) => {
            let Some(job_id) = in_flight.remove(&err.id()) else {
                tracing::error!(%err, "a job task failed and its job is unknown");
                return;
            };
            let message = if err.is_panic() {
                "the job's handler panicked (a bug); see the worker log".to_owned()
            } else {
                format!("the job's task stopped: {err}")
            };
            tracing::error!(job = job_id, %err, "job task failed");
            (
                job_id,
                String::new(),
                u32::MAX,
                0,
                JobOutcome::Fail(message),
            )
        }
    };
    if outcome == JobOutcome::Committed {
        report.done += 1;
        return;
    }
    let now = services.now();
    let db = services.db();
    let result = async {
        // Each outcome is one statement: its own unit of work.
        let (held, counter) = match &outcome {
            JobOutcome::Committed => (true, &mut report.done),
            JobOutcome::Done(note) => (
                db.complete_job(job_id, worker, note.as_deref(), now).await?,
                &mut report.done,
            ),
            JobOutcome::Retry(error) if attempt < max_attempts => {
                let at = now + retry_delay(attempt, jitter());
                tracing::info!(job = job_id, %kind, attempt, %error, retry_at = %at, "job failed; will retry");
                (
                    db.retry_job_later(job_id, worker, error, at, now).await?,
                    &mut report.retried,
                )
            }
            JobOutcome::Retry(error) | JobOutcome::Fail(error) => {
                tracing::warn!(job = job_id, %kind, attempt, %error, "job failed");
                (db.fail_job(job_id, worker, error, now).await?, &mut report.failed)
            }
        };
        if held {
            *counter += 1;
        } else {
            report.lost += 1;
            tracing::warn!(job = job_id, "job finished after its lease passed to another worker");
        }
        Ok::<(), StoreError>(())
    }
    .await;
    if let Err(err) = result {
        tracing::error!(job = job_id, %err, "job outcome not recorded; its lease will expire and it runs again");
    }
}

/// Ticks the periodic schedule once (what a worker does every second): enqueues each job
/// whose latest tick no worker has taken yet; how many were queued.
pub async fn tick_schedule(services: &Services) -> Result<u64, StoreError> {
    Scheduler::new(periodic::schedule(services.settings()))
        .tick(services)
        .await
}

/// The periodic schedule: enqueues each due tick once across all workers.
struct Scheduler {
    jobs: Vec<PeriodicJob>,
    seen: HashMap<&'static str, DateTime<Utc>>,
    last_check: Option<tokio::time::Instant>,
}

impl Scheduler {
    fn new(jobs: Vec<PeriodicJob>) -> Scheduler {
        let jobs: Vec<PeriodicJob> = jobs.into_iter().filter(|j| j.is_scheduled()).collect();
        Scheduler {
            jobs,
            seen: HashMap::new(),
            last_check: None,
        }
    }

    async fn tick(&mut self, services: &Services) -> Result<u64, StoreError> {
        if self
            .last_check
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1))
        {
            return Ok(0);
        }
        self.last_check = Some(tokio::time::Instant::now());
        let now = services.now();
        let mut queued = 0;
        for job in &self.jobs {
            let Some(tick) = job.schedule.latest_tick(now) else {
                continue;
            };
            if self.seen.get(job.name).is_some_and(|seen| *seen >= tick) {
                continue;
            }
            let mut tx = services.db().begin().await?;
            let claim = tx.win_schedule_tick(job.name, tick, now).await?;
            if claim == TickClaim::Won {
                let kind = format!("{PERIODIC_PREFIX}{}", job.name);
                let row = new_job(
                    &kind,
                    &serde_json::json!({ "tick": tick }),
                    Some(format!("periodic:{}", job.name)),
                    now,
                );
                if tx.enqueue_job(&row, now).await?.is_some() {
                    queued += 1;
                    tracing::info!(job = job.name, %tick, "periodic job queued");
                } else {
                    tracing::info!(job = job.name, %tick, "periodic job still queued from an earlier tick");
                }
            }
            tx.commit().await?;
            self.seen.insert(job.name, tick);
        }
        Ok(queued)
    }
}
