//! Course runs as the run workflows change them: the runs the edX data sync looks at
//! (courses spec 4.6), a run's active enrollments (retirement), and saving a run's synced
//! or retired fields with a compare-and-set on what was read.
//!
//! Every change of `course_runs` bumps the catalog revision by trigger (migration 0003),
//! so the HTTP catalog cache refreshes after a sync or a retirement like after an import.

use chrono::{DateTime, Utc};
use mitx_core::catalog::CourseRun;
use mitx_core::ids::{CourseRunId, EnrollmentId, UserId};

use crate::enrollments::EnrollmentRun;
use crate::{Store, StoreError, Tx, with_db};

/// One active enrollment of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ActiveRunEnrollment {
    /// The enrollment.
    pub id: EnrollmentId,
    /// Its learner.
    pub user: UserId,
}

/// The same query code for each backend, with `enr` naming that backend's enrollment
/// queries (the run columns and row reader are shared with them).
macro_rules! run_queries {
    () => {
        use sqlx::Row;

        /// Live runs whose expiration date is unset or after `now`, by id.
        pub(crate) async fn live_unexpired(
            conn: &mut Conn,
            now: DateTime<Utc>,
        ) -> Result<Vec<EnrollmentRun>, StoreError> {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM course_runs r {} WHERE r.live \
                 AND (r.expiration_date IS NULL OR r.expiration_date > $1) ORDER BY r.id",
                enr::RUN_COLUMNS,
                enr::RUN_JOINS
            ));
            let rows = sqlx::query(sql).bind(now).fetch_all(&mut *conn).await?;
            rows.iter().map(enr::run_from_row).collect()
        }

        pub(crate) async fn active_enrollments(
            conn: &mut Conn,
            run: i64,
        ) -> Result<Vec<ActiveRunEnrollment>, StoreError> {
            let rows = sqlx::query(
                "SELECT id, user_id FROM course_run_enrollments \
                 WHERE run_id = $1 AND active ORDER BY id",
            )
            .bind(run)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(ActiveRunEnrollment {
                        id: EnrollmentId(row.try_get("id")?),
                        user: UserId(row.try_get("user_id")?),
                    })
                })
                .collect()
        }

        /// Updates the fields a sync or a retirement changes, only if the run still is
        /// `before` (read again in the unit of work, row-locked on PostgreSQL; compared as
        /// decoded values, so how a timestamp happens to be stored does not matter);
        /// whether it did.
        pub(crate) async fn update_if_unchanged(
            conn: &mut Conn,
            before: &CourseRun,
            after: &CourseRun,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM course_runs r {} WHERE r.id = $1{LOCK_RUN}",
                enr::RUN_COLUMNS,
                enr::RUN_JOINS
            ));
            let row = sqlx::query(sql).bind(before.id.0).fetch_optional(&mut *conn).await?;
            let current = row.as_ref().map(enr::run_from_row).transpose()?;
            if current.as_ref().map(|c| &c.run) != Some(before) {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE course_runs SET title = $2, start_date = $3, end_date = $4, \
                 enrollment_start = $5, enrollment_end = $6, certificate_available_date = $7, \
                 upgrade_deadline = $8, expiration_date = $9, live = $10, is_self_paced = $11, \
                 b2b_contract_id = $12, updated_on = $13 WHERE id = $1",
            )
            .bind(before.id.0)
            .bind(&after.title)
            .bind(after.start_date)
            .bind(after.end_date)
            .bind(after.enrollment_start)
            .bind(after.enrollment_end)
            .bind(after.certificate_available_date)
            .bind(after.upgrade_deadline)
            .bind(after.expiration_date)
            .bind(after.live)
            .bind(after.is_self_paced)
            .bind(after.b2b_contract.map(|c| c.0))
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
            Ok(true)
        }
    };
}

pub(crate) mod sqlite {
    use super::*;
    use crate::enrollments::sqlite as enr;
    pub(crate) type Conn = sqlx::SqliteConnection;
    /// The unit of work already holds SQLite's write lock.
    const LOCK_RUN: &str = "";
    run_queries!();
}

pub(crate) mod postgres {
    use super::*;
    use crate::enrollments::postgres as enr;
    pub(crate) type Conn = sqlx::PgConnection;
    /// Only the run row (the joined product and contract rows stay unlocked).
    const LOCK_RUN: &str = " FOR UPDATE OF r";
    run_queries!();
}

impl Store {
    /// Live runs whose expiration date is unset or after `now`, with their course facts
    /// (the edX data sync narrows them further with `mitx_core`'s candidate rule).
    pub async fn live_unexpired_runs(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<EnrollmentRun>, StoreError> {
        with_db!(conn: self, conn, q => q::live_unexpired(conn, now).await)
    }

    /// The run's active enrollments, by id.
    pub async fn active_run_enrollments(
        &self,
        run: CourseRunId,
    ) -> Result<Vec<ActiveRunEnrollment>, StoreError> {
        with_db!(conn: self, conn, q => q::active_enrollments(conn, run.0).await)
    }
}

impl Tx {
    /// Saves a run's synced or retired fields (title, dates, live, self-paced, B2B
    /// contract) if the run still is `before` (compare-and-set, read again in the unit of
    /// work); `false` when another writer changed it first. A value the schema refuses (e.g. a title over 255
    /// characters) is [`StoreError::Conflict`].
    pub async fn save_course_run(
        &mut self,
        before: &CourseRun,
        after: &CourseRun,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::update_if_unchanged(conn, before, after, now).await)
    }
}
