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

        /// Updates the fields a sync or a retirement changes, only if the row still holds
        /// `before`'s values; whether it did.
        pub(crate) async fn update_if_unchanged(
            conn: &mut Conn,
            before: &CourseRun,
            after: &CourseRun,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE course_runs SET title = $2, start_date = $3, end_date = $4, \
                 enrollment_start = $5, enrollment_end = $6, certificate_available_date = $7, \
                 upgrade_deadline = $8, expiration_date = $9, live = $10, is_self_paced = $11, \
                 b2b_contract_id = $12, updated_on = $13 \
                 WHERE id = $1 AND title = $14 AND start_date IS NOT DISTINCT FROM $15 \
                 AND end_date IS NOT DISTINCT FROM $16 \
                 AND enrollment_start IS NOT DISTINCT FROM $17 \
                 AND enrollment_end IS NOT DISTINCT FROM $18 \
                 AND certificate_available_date IS NOT DISTINCT FROM $19 \
                 AND upgrade_deadline IS NOT DISTINCT FROM $20 \
                 AND expiration_date IS NOT DISTINCT FROM $21 AND live = $22 \
                 AND is_self_paced = $23 AND b2b_contract_id IS NOT DISTINCT FROM $24",
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
            .bind(&before.title)
            .bind(before.start_date)
            .bind(before.end_date)
            .bind(before.enrollment_start)
            .bind(before.enrollment_end)
            .bind(before.certificate_available_date)
            .bind(before.upgrade_deadline)
            .bind(before.expiration_date)
            .bind(before.live)
            .bind(before.is_self_paced)
            .bind(before.b2b_contract.map(|c| c.0))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
            Ok(done.rows_affected() == 1)
        }
    };
}

pub(crate) mod sqlite {
    use super::*;
    use crate::enrollments::sqlite as enr;
    pub(crate) type Conn = sqlx::SqliteConnection;
    run_queries!();
}

pub(crate) mod postgres {
    use super::*;
    use crate::enrollments::postgres as enr;
    pub(crate) type Conn = sqlx::PgConnection;
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
    /// contract) if the row still holds `before` (compare-and-set); `false` when another
    /// writer changed it first. A value the schema refuses (e.g. a title over 255
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
