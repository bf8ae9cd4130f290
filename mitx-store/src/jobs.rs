//! The durable job queue (`jobs`, `job_schedule`): the transactional outbox and the
//! worker's claims (docs/decisions/0005 and 0008).
//!
//! * A workflow enqueues jobs in its own unit of work ([`Tx::enqueue_job`]), so the domain
//!   change and the job commit together. A dedupe key is unique among unfinished jobs.
//! * A worker claims due jobs ([`Tx::claim_jobs`]): `FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL, so workers on many machines never claim the same row; on SQLite the unit
//!   of work holds the write lock. A claim counts an attempt and grants a lease.
//! * Finishing a job is a compare-and-set on its lease holder ([`Tx::complete_job`] etc.):
//!   a worker whose lease expired and was taken over finishes nothing, and a handler that
//!   completes its job in its own unit of work rolls its changes back with it.
//! * Expired leases of dead workers go back to the queue ([`Tx::requeue_expired_jobs`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Database, Store, StoreError, Tx, backend_queries, with_db};

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for `run_after`.
    Queued,
    /// Claimed by a worker whose lease runs until `lease_expires_at`.
    Running,
    /// Finished.
    Done,
    /// Gave up: the last attempt failed, or the failure was permanent.
    Failed,
}

impl JobStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<JobStatus> {
        Some(match text {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            _ => return None,
        })
    }
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// The queue (`default`).
    pub queue: String,
    /// The job kind the worker dispatches on (`edx.enroll`, `email.send`).
    pub name: String,
    /// JSON payload.
    pub payload: String,
    /// At most one unfinished job per key; `None` for no deduplication.
    pub dedupe_key: Option<String>,
    /// Not before.
    pub run_after: DateTime<Utc>,
    /// Attempts before the job is marked failed.
    pub max_attempts: u32,
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobRecord {
    /// Row id.
    pub id: i64,
    /// Queue.
    pub queue: String,
    /// Kind.
    pub name: String,
    /// JSON payload.
    pub payload: String,
    /// Status.
    pub status: JobStatus,
    /// Attempts made (claims).
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Not before.
    pub run_after: DateTime<Utc>,
    /// The worker holding it.
    pub locked_by: Option<String>,
    /// When it was claimed.
    pub locked_at: Option<DateTime<Utc>>,
    /// When the worker's lease ends.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Dedupe key.
    pub dedupe_key: Option<String>,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
    /// When it finished (done or failed).
    pub finished_on: Option<DateTime<Utc>>,
}

/// Which jobs a listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only this kind.
    pub name: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// Jobs per (kind, status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobCount {
    /// Kind.
    pub name: String,
    /// Status.
    pub status: JobStatus,
    /// How many.
    pub count: i64,
}

/// What [`Tx::retry_failed_job`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Queued again with a fresh attempt budget.
    Requeued,
    /// The job exists but has not failed.
    NotFailed(JobStatus),
    /// An unfinished job with the same dedupe key is already queued.
    DuplicatePending,
}

/// What [`Tx::win_schedule_tick`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickClaim {
    /// The first tick ever seen for this job: recorded, not to be run (a new schedule
    /// starts at its next tick).
    FirstSeen,
    /// This caller won the tick: enqueue the job.
    Won,
    /// Another worker already took this tick (or a later one).
    Lost,
}

fn count_of(value: i64, column: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|e| StoreError::corrupt("jobs", column, e))
}

backend_queries! {
    use sqlx::Row;

    const JOB_COLUMNS: &str = "id, queue, name, payload, status, attempts, max_attempts, \
        run_after, locked_by, locked_at, lease_expires_at, last_error, dedupe_key, created_on, \
        updated_on, finished_on";

    fn job_from_row(row: &<Db as sqlx::Database>::Row) -> Result<JobRecord, StoreError> {
        let status: String = row.try_get("status")?;
        Ok(JobRecord {
            id: row.try_get("id")?,
            queue: row.try_get("queue")?,
            name: row.try_get("name")?,
            payload: row.try_get("payload")?,
            status: JobStatus::parse(&status)
                .ok_or_else(|| StoreError::corrupt("jobs", "status", &status))?,
            attempts: count_of(row.try_get("attempts")?, "attempts")?,
            max_attempts: count_of(row.try_get("max_attempts")?, "max_attempts")?,
            run_after: row.try_get("run_after")?,
            locked_by: row.try_get("locked_by")?,
            locked_at: row.try_get("locked_at")?,
            lease_expires_at: row.try_get("lease_expires_at")?,
            last_error: row.try_get("last_error")?,
            dedupe_key: row.try_get("dedupe_key")?,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
            finished_on: row.try_get("finished_on")?,
        })
    }

    pub(crate) async fn enqueue(
        conn: &mut Conn,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO jobs (queue, name, payload, status, attempts, max_attempts, run_after, \
             dedupe_key, created_on, updated_on) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7, $7) \
             ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') \
             AND dedupe_key IS NOT NULL DO NOTHING \
             RETURNING id",
        )
        .bind(&job.queue)
        .bind(&job.name)
        .bind(&job.payload)
        .bind(i64::from(job.max_attempts.max(1)))
        .bind(job.run_after)
        .bind(job.dedupe_key.as_deref())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        row.map(|r| r.try_get("id")).transpose().map_err(StoreError::from)
    }

    pub(crate) async fn enqueue_many(
        conn: &mut Conn,
        jobs: &[NewJob],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut queued = 0;
        // 9 binds a row: 500 rows stay far below both backends' bind limits.
        for chunk in jobs.chunks(500) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO jobs (queue, name, payload, status, attempts, max_attempts, \
                 run_after, dedupe_key, created_on, updated_on) ",
            );
            query.push_values(chunk, |mut row, job| {
                row.push_bind(job.queue.clone())
                    .push_bind(job.name.clone())
                    .push_bind(job.payload.clone())
                    .push("'queued'")
                    .push("0")
                    .push_bind(i64::from(job.max_attempts.max(1)))
                    .push_bind(job.run_after)
                    .push_bind(job.dedupe_key.clone())
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(
                " ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') \
                 AND dedupe_key IS NOT NULL DO NOTHING",
            );
            queued += query
                .build()
                .execute(&mut *conn)
                .await
                .map_err(StoreError::classify)?
                .rows_affected();
        }
        Ok(queued)
    }

    pub(crate) async fn claim(
        conn: &mut Conn,
        queue: &str,
        worker: &str,
        limit: i64,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET status = 'running', locked_by = $1, locked_at = $2, \
             lease_expires_at = $3, attempts = attempts + 1, updated_on = $2 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND queue = $4 \
             AND run_after <= $2 ORDER BY run_after, id LIMIT $5{SKIP_LOCKED}) \
             RETURNING {JOB_COLUMNS}"
        ));
        let rows = sqlx::query(sql)
            .bind(worker)
            .bind(now)
            .bind(lease_until)
            .bind(queue)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| (j.run_after, j.id));
        Ok(jobs)
    }

    /// Finishes the running job `$1` held by worker `$2` as status `$3` with note `$4` at
    /// `$5`.
    const FINISH: &str = "UPDATE jobs SET status = $3, last_error = COALESCE($4, last_error), \
         finished_on = $5, updated_on = $5, lease_expires_at = NULL \
         WHERE id = $1 AND status = 'running' AND locked_by = $2";

    /// Finishes a running job held by `worker` as `status`.
    pub(crate) async fn finish(
        conn: &mut Conn,
        id: i64,
        worker: &str,
        status: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(FINISH)
        .bind(id)
        .bind(worker)
        .bind(status)
        .bind(error)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// [`finish`] as done, also giving back the lease `(name, holder)` the job held in the
    /// same statement where the backend can change rows in a `WITH` clause; (finished,
    /// lease given back).
    pub(crate) async fn finish_releasing(
        conn: &mut Conn,
        id: i64,
        worker: &str,
        lease: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<(bool, bool), StoreError> {
        if !WRITING_CTE {
            return Ok((finish(conn, id, worker, "done", None, now).await?, false));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "WITH released AS (DELETE FROM leases WHERE name = $6 AND holder = $7) {FINISH}"
        ));
        let done = sqlx::query(sql)
        .bind(id)
        .bind(worker)
        .bind("done")
        .bind(None::<&str>)
        .bind(now)
        .bind(lease.0)
        .bind(lease.1)
        .execute(&mut *conn)
        .await?;
        Ok((done.rows_affected() == 1, true))
    }

    pub(crate) async fn retry_later(
        conn: &mut Conn,
        id: i64,
        worker: &str,
        error: &str,
        run_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', last_error = $3, run_after = $4, \
             locked_by = NULL, locked_at = NULL, lease_expires_at = NULL, updated_on = $5 \
             WHERE id = $1 AND status = 'running' AND locked_by = $2",
        )
        .bind(id)
        .bind(worker)
        .bind(error)
        .bind(run_after)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn renew(
        conn: &mut Conn,
        id: i64,
        worker: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $3, updated_on = $4 \
             WHERE id = $1 AND status = 'running' AND locked_by = $2",
        )
        .bind(id)
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Jobs whose lease expired: back to the queue while attempts remain, else failed.
    pub(crate) async fn requeue_expired(
        conn: &mut Conn,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        let failed = sqlx::query(
            "UPDATE jobs SET status = 'failed', finished_on = $1, updated_on = $1, \
             last_error = 'the worker running it stopped (lease expired) on the last attempt', \
             locked_by = NULL, lease_expires_at = NULL \
             WHERE status = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        let requeued = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_after = $1, updated_on = $1, \
             last_error = COALESCE(last_error, 'the worker running it stopped (lease expired)'), \
             locked_by = NULL, locked_at = NULL, lease_expires_at = NULL \
             WHERE status = 'running' AND lease_expires_at < $1",
        )
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok((requeued, failed))
    }

    pub(crate) async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    pub(crate) async fn requeue_failed(
        conn: &mut Conn,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_after = $2, finished_on = NULL, \
             locked_by = NULL, locked_at = NULL, lease_expires_at = NULL, updated_on = $2 \
             WHERE id = $1 AND status = 'failed'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn list(conn: &mut Conn, filter: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR name = $2) ORDER BY id DESC LIMIT $3"
        ));
        let rows = sqlx::query(sql)
            .bind(filter.status.map(JobStatus::as_str))
            .bind(filter.name.as_deref())
            .bind(filter.limit.max(1))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub(crate) async fn counts(conn: &mut Conn) -> Result<Vec<JobCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, status, COUNT(*) AS n FROM jobs GROUP BY name, status ORDER BY name, status",
        )
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(JobCount {
                    name: row.try_get("name")?,
                    status: JobStatus::parse(&status)
                        .ok_or_else(|| StoreError::corrupt("jobs", "status", &status))?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    pub(crate) async fn purge_finished(
        conn: &mut Conn,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished_on < $1",
        )
        .bind(before)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn win_tick(
        conn: &mut Conn,
        name: &str,
        tick: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<TickClaim, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO job_schedule (name, last_tick, updated_on) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING RETURNING name",
        )
        .bind(name)
        .bind(tick)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        if inserted.is_some() {
            return Ok(TickClaim::FirstSeen);
        }
        let updated = sqlx::query(
            "UPDATE job_schedule SET last_tick = $2, updated_on = $3 \
             WHERE name = $1 AND last_tick < $2",
        )
        .bind(name)
        .bind(tick)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(if updated.rows_affected() == 1 {
            TickClaim::Won
        } else {
            TickClaim::Lost
        })
    }

    pub(crate) async fn ticks(conn: &mut Conn) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query("SELECT name, last_tick FROM job_schedule ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("name")?, row.try_get("last_tick")?)))
            .collect()
    }
}

impl Tx {
    /// Enqueues a job in the unit of work; its id, or `None` when an unfinished job with
    /// the same dedupe key exists.
    pub async fn enqueue_job(
        &mut self,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        with_db!(tx: self, conn, q => q::enqueue(conn, job, now).await)
    }

    /// Enqueues many jobs in a few statements; jobs whose dedupe key already waits are
    /// skipped. The number queued.
    pub async fn enqueue_jobs(
        &mut self,
        jobs: &[NewJob],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        with_db!(tx: self, conn, q => q::enqueue_many(conn, jobs, now).await)
    }

    /// Claims up to `limit` due jobs of `queue` for `worker` with a lease until
    /// `lease_until`, counting an attempt each.
    pub async fn claim_jobs(
        &mut self,
        queue: &str,
        worker: &str,
        limit: i64,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        with_db!(tx: self, conn, q => q::claim(conn, queue, worker, limit, lease_until, now).await)
    }

    /// Marks a job held by `worker` done; false when the worker no longer holds it.
    pub async fn complete_job(
        &mut self,
        id: i64,
        worker: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::finish(conn, id, worker, "done", note, now).await)
    }

    /// [`Tx::complete_job`] that also gives back the lease `(name, holder)` the job held
    /// (one round trip instead of two where the backend allows).
    pub async fn complete_job_releasing(
        &mut self,
        id: i64,
        worker: &str,
        lease: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (done, released) =
            with_db!(tx: self, conn, q => q::finish_releasing(conn, id, worker, lease, now).await)?;
        if !released {
            self.release_lease(lease.0, lease.1).await?;
        }
        Ok(done)
    }

    /// Marks a job held by `worker` failed for good with `error`.
    pub async fn fail_job(
        &mut self,
        id: i64,
        worker: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::finish(conn, id, worker, "failed", Some(error), now).await)
    }

    /// Puts a job held by `worker` back in the queue until `run_after`, recording `error`.
    pub async fn retry_job_later(
        &mut self,
        id: i64,
        worker: &str,
        error: &str,
        run_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::retry_later(conn, id, worker, error, run_after, now).await)
    }

    /// Extends the lease of a job `worker` holds; false when it no longer holds it.
    pub async fn renew_job_lease(
        &mut self,
        id: i64,
        worker: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::renew(conn, id, worker, lease_until, now).await)
    }

    /// Returns jobs of dead workers (lease expired) to the queue, or fails those on their
    /// last attempt; (requeued, failed).
    pub async fn requeue_expired_jobs(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        with_db!(tx: self, conn, q => q::requeue_expired(conn, now).await)
    }

    /// Queues a failed job again with a fresh attempt budget.
    pub async fn retry_failed_job(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<RetryOutcome>, StoreError> {
        with_db!(tx: self, conn, q => {
            let Some(job) = q::by_id(conn, id).await? else { return Ok(None) };
            if job.status != JobStatus::Failed {
                return Ok(Some(RetryOutcome::NotFailed(job.status)));
            }
            match q::requeue_failed(conn, id, now).await {
                Ok(_) => Ok(Some(RetryOutcome::Requeued)),
                Err(StoreError::Conflict(_)) => Ok(Some(RetryOutcome::DuplicatePending)),
                Err(other) => Err(other),
            }
        })
    }

    /// Claims the periodic job `name`'s tick `tick` for this worker: [`TickClaim::Won`]
    /// for exactly one caller per (name, tick), never for a tick older than the last one
    /// claimed, and [`TickClaim::FirstSeen`] the first time a job is seen.
    pub async fn win_schedule_tick(
        &mut self,
        name: &str,
        tick: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<TickClaim, StoreError> {
        with_db!(tx: self, conn, q => q::win_tick(conn, name, tick, now).await)
    }

    /// Deletes done and failed jobs that finished before `before`; how many.
    pub async fn purge_finished_jobs(&mut self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::purge_finished(conn, before).await)
    }
}

/// The worker's own writes, each a single statement and so its own unit of work (one round
/// trip instead of three): claiming, renewing and finishing a job outside a handler's
/// unit of work. A handler that changes data finishes its job inside its own
/// ([`Tx::complete_job`]).
impl Database {
    /// [`Tx::claim_jobs`] on its own.
    pub async fn claim_jobs(
        &self,
        queue: &str,
        worker: &str,
        limit: i64,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::claim(conn, queue, worker, limit, lease_until, now).await)
    }

    /// [`Tx::complete_job`] on its own.
    pub async fn complete_job(
        &self,
        id: i64,
        worker: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::finish(conn, id, worker, "done", note, now).await)
    }

    /// [`Tx::fail_job`] on its own.
    pub async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::finish(conn, id, worker, "failed", Some(error), now).await)
    }

    /// [`Tx::retry_job_later`] on its own.
    pub async fn retry_job_later(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        run_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::retry_later(conn, id, worker, error, run_after, now).await)
    }

    /// [`Tx::renew_job_lease`] on its own.
    pub async fn renew_job_lease(
        &self,
        id: i64,
        worker: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::renew(conn, id, worker, lease_until, now).await)
    }
}

impl Store {
    /// Jobs, newest first.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::list(conn, filter).await)
    }

    /// One job.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::by_id(conn, id).await)
    }

    /// Jobs per kind and status.
    pub async fn job_counts(&self) -> Result<Vec<JobCount>, StoreError> {
        with_db!(conn: self, conn, q => q::counts(conn).await)
    }

    /// The last tick of each periodic job.
    pub async fn schedule_ticks(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        with_db!(conn: self, conn, q => q::ticks(conn).await)
    }
}
