//! What a learner has earned, as the enrollment views show it (courses spec 5.2 `Grade` and
//! `CertLink`): course-run grades, the active (not revoked) course-run and program
//! certificates, and approved flexible prices. A learner has a handful of each, so they are read per learner in one
//! query each and matched to enrollments by the caller.

use chrono::{DateTime, Utc};
use mitx_core::ids::{CourseRunId, ProgramId, UserId};

use crate::{Store, StoreError, backend_queries, with_db};

/// A stored course-run grade.
#[derive(Clone, Debug, PartialEq)]
pub struct RunGrade {
    /// The run.
    pub run: CourseRunId,
    /// 0–1 (null when edX sent none).
    pub grade: Option<f64>,
    /// Letter grade.
    pub letter_grade: Option<String>,
    /// Passed.
    pub passed: bool,
    /// Set by an administrator (manual override).
    pub set_by_admin: bool,
}

/// An active (not revoked, already issued) certificate of a run or a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarnedCertificate<K> {
    /// The run or program.
    pub of: K,
    /// The certificate's public UUID (text).
    pub uuid: String,
}

backend_queries! {
    use sqlx::Row;

    pub(crate) async fn grades(conn: &mut Conn, user: i64) -> Result<Vec<RunGrade>, StoreError> {
        let rows = sqlx::query(
            "SELECT course_run_id, grade, letter_grade, passed, set_by_admin \
             FROM course_run_grades WHERE user_id = $1 ORDER BY course_run_id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RunGrade {
                    run: CourseRunId(row.try_get("course_run_id")?),
                    grade: row.try_get("grade")?,
                    letter_grade: row.try_get("letter_grade")?,
                    passed: row.try_get("passed")?,
                    set_by_admin: row.try_get("set_by_admin")?,
                })
            })
            .collect()
    }

    pub(crate) async fn flexible_price_courses(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT f.course_id FROM flexible_prices f \
             WHERE f.user_id = $1 AND f.status IN ('approved', 'auto-approved') \
               AND f.course_id IS NOT NULL \
             UNION \
             SELECT n.course_id FROM flexible_prices f \
             JOIN program_requirements n ON n.program_id = f.program_id \
             WHERE f.user_id = $1 AND f.status IN ('approved', 'auto-approved') \
               AND n.course_id IS NOT NULL \
             ORDER BY 1",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Active certificates of `table`, keyed by `column` (constants of this module).
    async fn certificates(
        conn: &mut Conn,
        user: i64,
        now: DateTime<Utc>,
        table: &str,
        column: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {column} AS of, uuid, is_revoked, issue_date FROM {table} \
             WHERE user_id = $1 ORDER BY {column}"
        ));
        let rows = sqlx::query(sql).bind(user).fetch_all(&mut *conn).await?;
        let mut active = Vec::new();
        for row in &rows {
            let revoked: bool = row.try_get("is_revoked")?;
            let issued: DateTime<Utc> = row.try_get("issue_date")?;
            // `Certificate::is_active` of mitx-core: not revoked, already issued. Compared
            // here rather than in SQL because SQLite keeps times as text.
            if !revoked && issued <= now {
                active.push((row.try_get("of")?, row.try_get("uuid")?));
            }
        }
        Ok(active)
    }

    pub(crate) async fn run_certificates(
        conn: &mut Conn,
        user: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<EarnedCertificate<CourseRunId>>, StoreError> {
        let rows =
            certificates(conn, user, now, "course_run_certificates", "course_run_id").await?;
        Ok(rows
            .into_iter()
            .map(|(of, uuid)| EarnedCertificate { of: CourseRunId(of), uuid })
            .collect())
    }

    pub(crate) async fn program_certificates(
        conn: &mut Conn,
        user: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<EarnedCertificate<ProgramId>>, StoreError> {
        let rows = certificates(conn, user, now, "program_certificates", "program_id").await?;
        Ok(rows
            .into_iter()
            .map(|(of, uuid)| EarnedCertificate { of: ProgramId(of), uuid })
            .collect())
    }
}

/// Everything the enrollment views show of one learner's record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LearnerTranscript {
    /// Course-run grades.
    pub grades: Vec<RunGrade>,
    /// Course-run certificates active at the time asked.
    pub run_certificates: Vec<EarnedCertificate<CourseRunId>>,
    /// Program certificates active at the time asked.
    pub program_certificates: Vec<EarnedCertificate<ProgramId>>,
    /// Courses with an approved or auto-approved flexible price, directly or through a
    /// program containing the course.
    pub flexible_price_courses: Vec<i64>,
}

impl Store {
    /// The learner's transcript at `now`: four small reads on one connection.
    pub async fn learner_transcript(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<LearnerTranscript, StoreError> {
        with_db!(conn: self, conn, q => {
            Ok(LearnerTranscript {
                grades: q::grades(conn, user.0).await?,
                run_certificates: q::run_certificates(conn, user.0, now).await?,
                program_certificates: q::program_certificates(conn, user.0, now).await?,
                flexible_price_courses: q::flexible_price_courses(conn, user.0).await?,
            })
        })
    }
}
