//! The job worker and the periodic schedule.

use std::time::Duration;

use super::{ConfigError, Env};

/// How `mitx worker` runs jobs.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// `MITX_WORKER_CONCURRENCY`.
    pub concurrency: usize,
    /// `MITX_WORKER_LEASE_SECONDS`.
    pub lease: Duration,
    /// `MITX_WORKER_POLL_MILLISECONDS`.
    pub poll: Duration,
    /// `MITX_WORKER_SCHEDULE`.
    pub schedule: bool,
    /// `MITX_JOBS_RETENTION_DAYS`.
    pub retention_days: u32,
    /// `RETRY_FAILED_EDX_ENROLLMENT_FREQUENCY`.
    pub retry_edx_enrollments_every: Duration,
    /// `REPAIR_OPENEDX_USERS_FREQUENCY`.
    pub repair_edx_users_every: Duration,
    /// `DISABLE_USER_REPAIR_TASK`.
    pub disable_user_repair: bool,
    /// `CERTIFICATE_CREATION_WINDOW_IN_DAYS`.
    pub certificate_window_days: u32,
    /// `MITX_CERTIFICATE_BATCH_SIZE`: learners per certificate unit of work.
    pub certificate_batch_size: usize,
}

impl WorkerSettings {
    pub(crate) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(WorkerSettings {
            concurrency: usize::try_from(env.number("MITX_WORKER_CONCURRENCY", 1..=256)?)
                .unwrap_or(256),
            lease: env.seconds("MITX_WORKER_LEASE_SECONDS", 2..=3600)?,
            poll: Duration::from_millis(env.number("MITX_WORKER_POLL_MILLISECONDS", 10..=60_000)?),
            schedule: env.flag("MITX_WORKER_SCHEDULE")?,
            retention_days: u32::try_from(env.number("MITX_JOBS_RETENTION_DAYS", 1..=3650)?)
                .unwrap_or(3650),
            retry_edx_enrollments_every: env
                .seconds("RETRY_FAILED_EDX_ENROLLMENT_FREQUENCY", 60..=604_800)?,
            repair_edx_users_every: env.seconds("REPAIR_OPENEDX_USERS_FREQUENCY", 60..=604_800)?,
            disable_user_repair: env.flag("DISABLE_USER_REPAIR_TASK")?,
            certificate_window_days: u32::try_from(
                env.number("CERTIFICATE_CREATION_WINDOW_IN_DAYS", 0..=36_500)?,
            )
            .unwrap_or(36_500),
            certificate_batch_size: usize::try_from(
                env.number("MITX_CERTIFICATE_BATCH_SIZE", 1..=10_000)?,
            )
            .unwrap_or(10_000),
        })
    }
}
