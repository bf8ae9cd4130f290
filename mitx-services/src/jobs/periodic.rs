//! The periodic jobs (courses spec 4.7, integrations spec 6): their schedule, and running
//! one now (`mitx jobs run NAME`, or the worker when a tick is due).
//!
//! Jobs whose capability arrives with a later issue are listed with that note: the worker
//! does not schedule them and `mitx jobs run` refuses them with a clear error.

use chrono::Weekday;
use serde::Serialize;

use super::schedule::Schedule;
use crate::Services;
use crate::config::Settings;

/// Whether a periodic job runs in this version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Availability {
    /// Implemented and scheduled.
    Scheduled,
    /// Implemented, turned off by a setting.
    Disabled(&'static str),
    /// Not implemented yet: the capability that brings it.
    NotYet(&'static str),
}

/// One periodic job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodicJob {
    /// Its name (`retry-failed-edx-enrollments`).
    pub name: &'static str,
    /// When it runs.
    pub schedule: Schedule,
    /// What it does.
    pub purpose: &'static str,
    /// Whether it runs.
    pub availability: Availability,
}

impl PeriodicJob {
    /// Whether the worker ticks it.
    pub fn is_scheduled(&self) -> bool {
        self.availability == Availability::Scheduled
    }
}

/// The edX enrollment retry job.
pub const RETRY_FAILED_EDX_ENROLLMENTS: &str = "retry-failed-edx-enrollments";
/// The edX user repair job.
pub const REPAIR_FAULTY_EDX_USERS: &str = "repair-faulty-edx-users";
/// Course-run certificates from edX grades (courses spec 3.4).
pub const GENERATE_COURSE_CERTIFICATES: &str = "generate-course-certificate";
/// Program certificates nobody triggered (courses spec 3.7 b).
pub const GENERATE_MISSING_PROGRAM_CERTIFICATES: &str = "generate-missing-program-certificates";
/// The program-enrollment auto-upgrade (courses spec 2.8).
pub const UPGRADE_ELIGIBLE_PROGRAM_ENROLLMENTS: &str = "upgrade-eligible-program-enrollments";
/// The course-run data sync (courses spec 4.6).
pub const SYNC_COURSERUNS_DATA: &str = "sync-courseruns-data";
/// The duplicate-redemption report (ecommerce spec 3.5).
pub const CHECK_DUPLICATE_DISCOUNT_REDEMPTIONS: &str = "check-duplicate-discount-redemptions";
/// Deleting finished jobs and expired leases.
pub const PURGE_FINISHED_JOBS: &str = "purge-finished-jobs";
/// Deletes idle anonymous baskets (ecommerce spec 4.1).
pub const CULL_ANONYMOUS_BASKETS: &str = "cull-anonymous-baskets";

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Every periodic job with its schedule for these settings.
pub fn schedule(settings: &Settings) -> Vec<PeriodicJob> {
    let worker = &settings.worker;
    let later = |name, schedule, purpose, issue| PeriodicJob {
        name,
        schedule,
        purpose,
        availability: Availability::NotYet(issue),
    };
    let repair_every = secs(worker.repair_edx_users_every);
    vec![
        PeriodicJob {
            name: RETRY_FAILED_EDX_ENROLLMENTS,
            schedule: Schedule::every(secs(worker.retry_edx_enrollments_every), 0),
            purpose: "queue an edX enrollment job for each active enrollment edX does not have (created over 5 minutes ago, fewer than 5 permanent failures)",
            availability: Availability::Scheduled,
        },
        PeriodicJob {
            name: REPAIR_FAULTY_EDX_USERS,
            schedule: Schedule::every(repair_every, repair_every / 2),
            purpose: "create missing edX accounts of active users who have logged in (over 5 minutes old, no sync error)",
            availability: if worker.disable_user_repair {
                Availability::Disabled("DISABLE_USER_REPAIR_TASK is true")
            } else {
                Availability::Scheduled
            },
        },
        PeriodicJob {
            name: PURGE_FINISHED_JOBS,
            schedule: Schedule::daily(3, 30),
            purpose: "delete jobs finished more than MITX_JOBS_RETENTION_DAYS ago and expired leases",
            availability: Availability::Scheduled,
        },
        PeriodicJob {
            name: SYNC_COURSERUNS_DATA,
            schedule: Schedule::daily(0, 10),
            purpose: "pull titles, dates and pacing of live runs from the edX course list",
            availability: Availability::Scheduled,
        },
        PeriodicJob {
            name: GENERATE_COURSE_CERTIFICATES,
            schedule: Schedule::Cron {
                minute: 0,
                hours: vec![],
                weekdays: vec![],
            },
            purpose: "fetch the grades of candidate runs from edX, store them and issue or delete course-run certificates",
            availability: Availability::Scheduled,
        },
        PeriodicJob {
            name: UPGRADE_ELIGIBLE_PROGRAM_ENROLLMENTS,
            schedule: Schedule::daily(1, 0),
            purpose: "upgrade audit program enrollments whose required courses (and elective minimum) have active verified enrollments",
            availability: Availability::Scheduled,
        },
        PeriodicJob {
            name: GENERATE_MISSING_PROGRAM_CERTIFICATES,
            schedule: Schedule::daily(2, 0),
            purpose: "program certificates for verified program enrollments without one, in batches of 500",
            availability: Availability::Scheduled,
        },
        PeriodicJob {
            name: CHECK_DUPLICATE_DISCOUNT_REDEMPTIONS,
            schedule: Schedule::daily(5, 0),
            purpose: "log one-time codes with more than one fulfilled redemption and one-time-per-user codes one user redeemed more than once",
            availability: Availability::Scheduled,
        },
        later(
            "process-google-sheets-requests",
            Schedule::EveryMinute {
                hours: (10..=23).chain(0..=2).collect(),
            },
            "refund and deferral requests from Google Sheets",
            "Google Sheets processing (later issue)",
        ),
        later(
            "update-currency-exchange-rates-every-24-hrs",
            Schedule::daily(3, 0),
            "exchange rates from Open Exchange Rates",
            "flexible-pricing rates refresh (later issue)",
        ),
        PeriodicJob {
            name: CULL_ANONYMOUS_BASKETS,
            schedule: Schedule::daily(4, 0),
            purpose: "delete anonymous baskets idle longer than ANONYMOUS_BASKET_CULL_AGE",
            availability: Availability::Scheduled,
        },
        later(
            "clear-expired-tokens",
            Schedule::Cron {
                minute: 0,
                hours: vec![9],
                weekdays: vec![Weekday::Mon],
            },
            "purge expired OAuth2 tokens",
            "mitx's own OAuth2 provider (later issue)",
        ),
        later(
            "refresh-featured-homepage-items",
            Schedule::every(180, 90),
            "home-page cache",
            "the CMS home page (not part of headless mitx)",
        ),
        later(
            "sync-keycloak",
            Schedule::every(86_400, 43_200),
            "upsert organizations from Keycloak",
            "Keycloak organization sync (later issue)",
        ),
        later(
            "update-b2b-enrollment-code-sheets",
            Schedule::every(3600, 1800),
            "B2B enrollment-code sheets",
            "Google Sheets processing (later issue)",
        ),
    ]
}

/// What one run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeriodicReport {
    /// The job.
    pub name: String,
    /// One line for people.
    pub summary: String,
    /// Items that failed (also in `summary`).
    pub failures: u64,
}

/// Why a periodic job could not run.
#[derive(Debug, thiserror::Error)]
pub enum PeriodicError {
    /// No such job.
    #[error("unknown periodic job '{0}'; `mitx jobs schedule` lists them")]
    Unknown(String),
    /// Listed but not implemented in this version.
    #[error("'{name}' is not available in this version of mitx: it arrives with {issue}")]
    NotYet {
        /// The job.
        name: String,
        /// What brings it.
        issue: &'static str,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] mitx_store::StoreError),
    /// The job's work failed as a whole (a partner or configuration error).
    #[error("{0}")]
    Failed(String),
}

impl From<crate::course_certificates::CertificateError> for PeriodicError {
    fn from(err: crate::course_certificates::CertificateError) -> Self {
        match err {
            crate::course_certificates::CertificateError::Store(err) => PeriodicError::Store(err),
            other => PeriodicError::Failed(other.to_string()),
        }
    }
}

impl PeriodicError {
    /// Whether trying again later can help.
    pub fn is_transient(&self) -> bool {
        matches!(self, PeriodicError::Store(err) if err.is_transient())
    }
}

/// Runs the periodic job `name` now (a disabled job runs when asked explicitly).
pub async fn run(services: &Services, name: &str) -> Result<PeriodicReport, PeriodicError> {
    let job = schedule(services.settings())
        .into_iter()
        .find(|j| j.name == name)
        .ok_or_else(|| PeriodicError::Unknown(name.to_owned()))?;
    if let Availability::NotYet(issue) = job.availability {
        return Err(PeriodicError::NotYet {
            name: name.to_owned(),
            issue,
        });
    }
    let report = |summary: String, failures: u64| PeriodicReport {
        name: name.to_owned(),
        summary,
        failures,
    };
    match name {
        RETRY_FAILED_EDX_ENROLLMENTS => {
            let queued = crate::enrollment::queue_edx_retries(services).await?;
            Ok(report(format!("queued {queued} edX enrollment job(s)"), 0))
        }
        REPAIR_FAULTY_EDX_USERS => {
            let outcome = crate::edx::repair::repair_users(services).await?;
            Ok(report(outcome.summary(), outcome.failed))
        }
        GENERATE_COURSE_CERTIFICATES => {
            let request = crate::course_certificates::GenerateRequest::default();
            let outcome =
                crate::course_certificates::generate(services, &request, &mut |_| {}).await?;
            Ok(report(outcome.summary(), outcome.failures()))
        }
        GENERATE_MISSING_PROGRAM_CERTIFICATES => {
            let stats = crate::program_certificates::generate_missing(services).await?;
            Ok(report(
                format!(
                    "processed {}, created {}, ineligible {}, failed {}",
                    stats.processed, stats.created, stats.ineligible, stats.failed
                ),
                stats.failed,
            ))
        }
        UPGRADE_ELIGIBLE_PROGRAM_ENROLLMENTS => {
            let outcome = crate::program_upgrade::upgrade_eligible(services, false).await?;
            Ok(report(outcome.summary(false), 0))
        }
        SYNC_COURSERUNS_DATA => {
            let outcome = crate::edx::run_sync::sync_all_runs(services).await?;
            Ok(report(outcome.summary(), u64::from(outcome.failures)))
        }
        CHECK_DUPLICATE_DISCOUNT_REDEMPTIONS => {
            let found = services.store().duplicate_redemptions().await?;
            for code in &found.one_time {
                tracing::warn!(
                    discount = code.discount.0,
                    code = %code.code,
                    redemptions = code.redemptions,
                    "one-time discount redeemed on more than one fulfilled order"
                );
            }
            for code in &found.once_per_user {
                tracing::warn!(
                    discount = code.discount.0,
                    code = %code.code,
                    user = code.user.0,
                    redemptions = code.redemptions,
                    "one-time-per-user discount redeemed more than once by the same user"
                );
            }
            let ids = found.discount_ids();
            let summary = if ids.is_empty() {
                "no duplicate discount redemptions".to_owned()
            } else {
                let list: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
                format!(
                    "{} discount(s) redeemed more often than allowed: {}",
                    ids.len(),
                    list.join(", ")
                )
            };
            Ok(report(summary, 0))
        }
        PURGE_FINISHED_JOBS => {
            let now = services.now();
            let before =
                now - chrono::Duration::days(i64::from(services.settings().worker.retention_days));
            let mut tx = services.db().begin().await.map_err(PeriodicError::from)?;
            let jobs = tx.purge_finished_jobs(before).await?;
            let leases = tx.purge_expired_leases(now).await?;
            tx.commit().await?;
            Ok(report(
                format!("deleted {jobs} finished job(s) and {leases} expired lease(s)"),
                0,
            ))
        }
        CULL_ANONYMOUS_BASKETS => {
            let deleted = crate::baskets::cull_anonymous_baskets(services).await?;
            Ok(report(format!("deleted {deleted} anonymous basket(s)"), 0))
        }
        other => Err(PeriodicError::Unknown(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_lists_every_job_of_the_specs_once() {
        let settings = Settings::from_lookup(&|_| None).unwrap_or_else(|e| panic!("{e}"));
        let jobs = schedule(&settings);
        let mut names: Vec<&str> = jobs.iter().map(|j| j.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), jobs.len(), "duplicate names");
        for expected in [
            "retry-failed-edx-enrollments",
            "repair-faulty-edx-users",
            "sync-courseruns-data",
            "generate-course-certificate",
            "upgrade-eligible-program-enrollments",
            "generate-missing-program-certificates",
            "process-google-sheets-requests",
            "update-currency-exchange-rates-every-24-hrs",
            "cull-anonymous-baskets",
            "clear-expired-tokens",
            "refresh-featured-homepage-items",
            "sync-keycloak",
            "update-b2b-enrollment-code-sheets",
            "check-duplicate-discount-redemptions",
        ] {
            assert!(names.contains(&expected), "{expected}");
        }
        let repair = jobs
            .iter()
            .find(|j| j.name == REPAIR_FAULTY_EDX_USERS)
            .unwrap();
        assert_eq!(repair.schedule.describe(), "every 30 min, offset 15 min");
        let disabled = Settings::from_lookup(&|name| {
            (name == "DISABLE_USER_REPAIR_TASK").then(|| "true".to_owned())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let repair = schedule(&disabled)
            .into_iter()
            .find(|j| j.name == REPAIR_FAULTY_EDX_USERS)
            .unwrap();
        assert!(!repair.is_scheduled());
    }
}
