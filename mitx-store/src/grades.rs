//! Course-run grades and the certificates decided from them, as the certificate workflows
//! read and write them in batches (courses spec 3.1-3.4, 3.7).
//!
//! A batch is one unit of work: the grade upserts, their audit rows, the certificates
//! created and deleted, and the jobs their creation queues commit together or not at all,
//! so a worker killed mid-batch leaves no half-written certificate. Every statement is
//! set-based (one statement per kind of change per batch), and every write is safe against
//! a concurrent writer: certificates are inserted with `ON CONFLICT DO NOTHING` (only the
//! rows actually inserted are reported, so their effects are queued once), grade upserts
//! never overwrite a grade an administrator set, and deletions only touch active rows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mitx_core::certificates::{
    Certificate, CourseRunCertificate, CourseRunGrade, Grade, PageRevisionId, ProgramCertificate,
};
use mitx_core::ids::{CourseRunId, ProgramId, UserId};
use uuid::Uuid;

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// Rows per multi-row statement: at most 9 binds a row, so 9,000 binds, far below both
/// backends' limits (SQLite 32,766; PostgreSQL 65,535).
const CHUNK: usize = 1000;

/// A stored grade with its row id.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredGrade {
    /// Row id.
    pub id: i64,
    /// The grade as the rules see it.
    pub grade: CourseRunGrade,
}

/// A stored certificate (revoked or not) with its row id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCertificate<S> {
    /// Row id.
    pub id: i64,
    /// The certificate as the rules see it.
    pub certificate: Certificate<S>,
}

/// What is stored about some learners in one run: their grades, enrollments and
/// certificates (revoked and future-dated ones included), keyed by learner.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunLearners {
    /// Grades.
    pub grades: HashMap<UserId, StoredGrade>,
    /// Enrollments (active or not).
    pub enrollments: HashMap<UserId, mitx_core::enrollment::RunEnrollment>,
    /// Certificates.
    pub certificates: HashMap<UserId, StoredCertificate<CourseRunId>>,
}

/// One grade to insert or update, with the row it replaces (for the audit trail).
#[derive(Clone, Debug, PartialEq)]
pub struct GradeWrite {
    /// The row before, `None` when the grade is new.
    pub before: Option<CourseRunGrade>,
    /// The row after.
    pub after: CourseRunGrade,
}

/// The changes of one batch of learners in one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GradeBatch {
    /// Grades to upsert (an upsert never overwrites a grade an administrator set, unless
    /// the new row is itself an administrator's).
    pub grades: Vec<GradeWrite>,
    /// Certificates to create (skipped when the learner already has a row for the run).
    pub create: Vec<CourseRunCertificate>,
    /// Ids of certificates to delete, if still active.
    pub delete: Vec<i64>,
    /// Who made the change (`None`: a job or an operator command).
    pub acting_user: Option<UserId>,
}

/// What a batch changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppliedBatch {
    /// Grade rows inserted or updated.
    pub grades_written: u64,
    /// Certificates inserted: (row id, learner).
    pub created: Vec<(i64, UserId)>,
    /// Certificates deleted.
    pub deleted: u64,
}

/// A program enrollment the daily missing-certificate job looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingProgramCertificate {
    /// The program enrollment's row id (the job pages by it).
    pub enrollment_id: i64,
    /// The learner.
    pub user: UserId,
    /// The program.
    pub program: ProgramId,
}

fn grade_json(grade: &CourseRunGrade) -> Result<String, StoreError> {
    serde_json::to_string(grade).map_err(|e| StoreError::corrupt("course_run_grades", "audit", e))
}

fn parse_uuid(table: &'static str, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::corrupt(table, "uuid", e))
}

backend_queries! {
    use sqlx::Row;

    pub(crate) const GRADE_COLUMNS: &str =
        "g.id, g.user_id, g.course_run_id, g.grade, g.letter_grade, g.passed, g.set_by_admin";

    pub(crate) fn grade_from_row(row: &<Db as sqlx::Database>::Row) -> Result<StoredGrade, StoreError> {
        let value: Option<f64> = row.try_get("grade")?;
        // A grade row without a value shows as 0 (grade_percent of a null grade is 0).
        let grade = Grade::new(value.unwrap_or(0.0))
            .map_err(|e| StoreError::corrupt("course_run_grades", "grade", e))?;
        Ok(StoredGrade {
            id: row.try_get("id")?,
            grade: CourseRunGrade {
                user: UserId(row.try_get("user_id")?),
                run: CourseRunId(row.try_get("course_run_id")?),
                grade,
                letter_grade: row.try_get("letter_grade")?,
                passed: row.try_get("passed")?,
                set_by_admin: row.try_get("set_by_admin")?,
            },
        })
    }

    pub(crate) fn certificate_from_row<S>(
        row: &<Db as sqlx::Database>::Row,
        table: &'static str,
        subject: S,
    ) -> Result<StoredCertificate<S>, StoreError> {
        let uuid: String = row.try_get("uuid")?;
        let credential: Option<String> = row.try_get("credential_uuid")?;
        Ok(StoredCertificate {
            id: row.try_get("id")?,
            certificate: Certificate {
                uuid: parse_uuid(table, &uuid)?,
                user: UserId(row.try_get("user_id")?),
                subject,
                is_revoked: row.try_get("is_revoked")?,
                issue_date: row.try_get("issue_date")?,
                certificate_page_revision: row
                    .try_get::<Option<i64>, _>("certificate_page_revision_id")?
                    .map(PageRevisionId),
                verifiable_credential: credential
                    .map(|text| parse_uuid("verifiable_credentials", &text))
                    .transpose()?,
            },
        })
    }

    fn push_list(query: &mut sqlx::QueryBuilder<Db>, ids: &[i64]) {
        query.push("(");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(")");
    }

    pub(crate) async fn grades_in_run(
        conn: &mut Conn,
        run: i64,
        users: &[i64],
    ) -> Result<Vec<StoredGrade>, StoreError> {
        let mut out = Vec::new();
        for chunk in users.chunks(CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT {GRADE_COLUMNS} FROM course_run_grades g WHERE g.course_run_id = "
            ));
            query.push_bind(run).push(" AND g.user_id IN ");
            push_list(&mut query, chunk);
            for row in query.build().fetch_all(&mut *conn).await? {
                out.push(grade_from_row(&row)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn grades_of_user(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<StoredGrade>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {GRADE_COLUMNS} FROM course_run_grades g WHERE g.user_id = $1 ORDER BY g.id"
        ));
        let rows = sqlx::query(sql).bind(user).fetch_all(&mut *conn).await?;
        rows.iter().map(grade_from_row).collect()
    }

    pub(crate) async fn grade_for_update(
        conn: &mut Conn,
        user: i64,
        run: i64,
    ) -> Result<Option<StoredGrade>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {GRADE_COLUMNS} FROM course_run_grades g \
             WHERE g.user_id = $1 AND g.course_run_id = $2{FOR_UPDATE}"
        ));
        let row = sqlx::query(sql).bind(user).bind(run).fetch_optional(&mut *conn).await?;
        row.as_ref().map(grade_from_row).transpose()
    }

    pub(crate) async fn run_certificates(
        conn: &mut Conn,
        run: i64,
        users: &[i64],
    ) -> Result<Vec<StoredCertificate<CourseRunId>>, StoreError> {
        let mut out = Vec::new();
        for chunk in users.chunks(CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT c.id, c.user_id, c.uuid, c.is_revoked, c.issue_date, \
                 c.certificate_page_revision_id, v.uuid AS credential_uuid \
                 FROM course_run_certificates c \
                 LEFT JOIN verifiable_credentials v ON v.id = c.verifiable_credential_id \
                 WHERE c.course_run_id = ",
            );
            query.push_bind(run).push(" AND c.user_id IN ");
            push_list(&mut query, chunk);
            for row in query.build().fetch_all(&mut *conn).await? {
                out.push(certificate_from_row(
                    &row,
                    "course_run_certificates",
                    CourseRunId(run),
                )?);
            }
        }
        Ok(out)
    }

    /// Every certificate of `user` in `table` (`course_run_certificates` or
    /// `program_certificates`, constants of this module), revoked ones included, with the
    /// subject read from `column` by `subject`.
    async fn certificates_of_user<S>(
        conn: &mut Conn,
        user: i64,
        table: &'static str,
        column: &'static str,
        subject: fn(i64) -> S,
    ) -> Result<Vec<StoredCertificate<S>>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.user_id, c.{column} AS subject, c.uuid, c.is_revoked, c.issue_date, \
             c.certificate_page_revision_id, v.uuid AS credential_uuid \
             FROM {table} c \
             LEFT JOIN verifiable_credentials v ON v.id = c.verifiable_credential_id \
             WHERE c.user_id = $1 ORDER BY c.id"
        ));
        let rows = sqlx::query(sql).bind(user).fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|row| certificate_from_row(row, table, subject(row.try_get("subject")?)))
            .collect()
    }

    pub(crate) async fn course_certificates_of_user(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<StoredCertificate<CourseRunId>>, StoreError> {
        certificates_of_user(conn, user, "course_run_certificates", "course_run_id", CourseRunId)
            .await
    }

    pub(crate) async fn program_certificates_of_user(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<StoredCertificate<ProgramId>>, StoreError> {
        certificates_of_user(conn, user, "program_certificates", "program_id", ProgramId).await
    }

    pub(crate) async fn upsert_grades(
        conn: &mut Conn,
        writes: &[GradeWrite],
        acting_user: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut written = 0;
        for chunk in writes.chunks(CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO course_run_grades (user_id, course_run_id, grade, letter_grade, \
                 passed, set_by_admin, created_on, updated_on) ",
            );
            query.push_values(chunk, |mut row, write| {
                let g = &write.after;
                row.push_bind(g.user.0)
                    .push_bind(g.run.0)
                    .push_bind(g.grade.value())
                    .push_bind(g.letter_grade.clone())
                    .push_bind(g.passed)
                    .push_bind(g.set_by_admin)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(
                " ON CONFLICT (user_id, course_run_id) DO UPDATE SET grade = excluded.grade, \
                 letter_grade = excluded.letter_grade, passed = excluded.passed, \
                 set_by_admin = excluded.set_by_admin, updated_on = excluded.updated_on \
                 WHERE course_run_grades.set_by_admin = FALSE OR excluded.set_by_admin = TRUE \
                 RETURNING id, user_id",
            );
            let rows = query
                .build()
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::classify)?;
            let mut ids: HashMap<i64, i64> = HashMap::with_capacity(rows.len());
            for row in &rows {
                ids.insert(row.try_get("user_id")?, row.try_get("id")?);
            }
            written += rows.len() as u64;
            let mut audits = Vec::with_capacity(rows.len());
            for write in chunk {
                if let Some(id) = ids.get(&write.after.user.0) {
                    let before = write.before.as_ref().map(grade_json).transpose()?;
                    audits.push((*id, before, grade_json(&write.after)?));
                }
            }
            if audits.is_empty() {
                continue;
            }
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO course_run_grade_audits (grade_id, acting_user_id, data_before, \
                 data_after, created_on, updated_on) ",
            );
            insert.push_values(audits, |mut row, (id, before, after)| {
                row.push_bind(id)
                    .push_bind(acting_user)
                    .push_bind(before)
                    .push_bind(after)
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.build().execute(&mut *conn).await.map_err(StoreError::classify)?;
        }
        Ok(written)
    }

    pub(crate) async fn insert_course_certificates(
        conn: &mut Conn,
        certificates: &[CourseRunCertificate],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, UserId)>, StoreError> {
        let mut created = Vec::new();
        for chunk in certificates.chunks(CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, \
                 issue_date, certificate_page_revision_id, created_on, updated_on) ",
            );
            query.push_values(chunk, |mut row, c| {
                row.push_bind(c.user.0)
                    .push_bind(c.subject.0)
                    .push_bind(c.uuid.to_string())
                    .push_bind(c.is_revoked)
                    .push_bind(c.issue_date)
                    .push_bind(c.certificate_page_revision.map(|r| r.0))
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (user_id, course_run_id) DO NOTHING RETURNING id, user_id");
            let rows = query
                .build()
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::classify)?;
            for row in &rows {
                created.push((row.try_get("id")?, UserId(row.try_get("user_id")?)));
            }
        }
        Ok(created)
    }

    pub(crate) async fn delete_active_course_certificates(
        conn: &mut Conn,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for chunk in ids.chunks(CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "DELETE FROM course_run_certificates WHERE is_revoked = FALSE AND issue_date <= ",
            );
            query.push_bind(now).push(" AND id IN ");
            push_list(&mut query, chunk);
            deleted += query
                .build()
                .execute(&mut *conn)
                .await
                .map_err(StoreError::classify)?
                .rows_affected();
        }
        Ok(deleted)
    }

    pub(crate) async fn insert_program_certificate(
        conn: &mut Conn,
        c: &ProgramCertificate,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO program_certificates (user_id, program_id, uuid, is_revoked, issue_date, \
             certificate_page_revision_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (user_id, program_id) DO NOTHING RETURNING id",
        )
        .bind(c.user.0)
        .bind(c.subject.0)
        .bind(c.uuid.to_string())
        .bind(c.is_revoked)
        .bind(c.issue_date)
        .bind(c.certificate_page_revision.map(|r| r.0))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        row.map(|r| r.try_get("id")).transpose().map_err(StoreError::from)
    }

    pub(crate) async fn users_by_edx_username(
        conn: &mut Conn,
        usernames: &[String],
    ) -> Result<Vec<(String, UserId)>, StoreError> {
        let mut out = Vec::with_capacity(usernames.len());
        for chunk in usernames.chunks(CHUNK) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT edx_username, user_id FROM openedx_users WHERE edx_username IN (",
            );
            let mut list = query.separated(", ");
            for name in chunk {
                list.push_bind(name.clone());
            }
            query.push(")");
            for row in query.build().fetch_all(&mut *conn).await? {
                out.push((row.try_get("edx_username")?, UserId(row.try_get("user_id")?)));
            }
        }
        Ok(out)
    }

    pub(crate) async fn missing_program_certificates(
        conn: &mut Conn,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<MissingProgramCertificate>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.id, e.user_id, e.program_id FROM program_enrollments e \
             JOIN programs p ON p.id = e.program_id \
             WHERE e.id > $1 AND e.active AND e.enrollment_mode = 'verified' AND p.live \
             AND NOT EXISTS (SELECT 1 FROM program_certificates c \
                             WHERE c.user_id = e.user_id AND c.program_id = e.program_id) \
             ORDER BY e.id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MissingProgramCertificate {
                    enrollment_id: row.try_get("id")?,
                    user: UserId(row.try_get("user_id")?),
                    program: ProgramId(row.try_get("program_id")?),
                })
            })
            .collect()
    }

    pub(crate) async fn enrolled_verified_in_program(
        conn: &mut Conn,
        program: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM program_enrollments \
             WHERE program_id = $1 AND active AND enrollment_mode = 'verified' ORDER BY id",
        )
        .bind(program)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().map(UserId).collect())
    }
}

/// PostgreSQL forms of the batch statements: one array bind per column (`UNNEST`,
/// `= ANY`) instead of one bind per value, so a batch is a few short statements the
/// server parses once. SQLite, which has no arrays, uses the multi-row forms above.
mod pg_bulk {
    use sqlx::Row as _;
    use sqlx::postgres::PgConnection;

    use super::*;

    pub(super) async fn grades_in_run(
        conn: &mut PgConnection,
        run: i64,
        users: &[i64],
    ) -> Result<Vec<StoredGrade>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM course_run_grades g WHERE g.course_run_id = $1 AND g.user_id = ANY($2)",
            postgres::GRADE_COLUMNS
        ));
        let rows = sqlx::query(sql)
            .bind(run)
            .bind(users)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(postgres::grade_from_row).collect()
    }

    pub(super) async fn run_certificates(
        conn: &mut PgConnection,
        run: i64,
        users: &[i64],
    ) -> Result<Vec<StoredCertificate<CourseRunId>>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.user_id, c.uuid, c.is_revoked, c.issue_date, \
             c.certificate_page_revision_id, v.uuid AS credential_uuid \
             FROM course_run_certificates c \
             LEFT JOIN verifiable_credentials v ON v.id = c.verifiable_credential_id \
             WHERE c.course_run_id = $1 AND c.user_id = ANY($2)",
        )
        .bind(run)
        .bind(users)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                postgres::certificate_from_row(row, "course_run_certificates", CourseRunId(run))
            })
            .collect()
    }

    pub(super) async fn upsert_grades(
        conn: &mut PgConnection,
        writes: &[GradeWrite],
        acting_user: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let users: Vec<i64> = writes.iter().map(|w| w.after.user.0).collect();
        let runs: Vec<i64> = writes.iter().map(|w| w.after.run.0).collect();
        let grades: Vec<f64> = writes.iter().map(|w| w.after.grade.value()).collect();
        let letters: Vec<Option<String>> = writes
            .iter()
            .map(|w| w.after.letter_grade.clone())
            .collect();
        let passed: Vec<bool> = writes.iter().map(|w| w.after.passed).collect();
        let admin: Vec<bool> = writes.iter().map(|w| w.after.set_by_admin).collect();
        let rows = sqlx::query(
            "INSERT INTO course_run_grades (user_id, course_run_id, grade, letter_grade, passed, \
             set_by_admin, created_on, updated_on) \
             SELECT u, r, g, l, p, a, $7, $7 FROM UNNEST($1::bigint[], $2::bigint[], \
             $3::float8[], $4::text[], $5::bool[], $6::bool[]) AS t(u, r, g, l, p, a) \
             ON CONFLICT (user_id, course_run_id) DO UPDATE SET grade = excluded.grade, \
             letter_grade = excluded.letter_grade, passed = excluded.passed, \
             set_by_admin = excluded.set_by_admin, updated_on = excluded.updated_on \
             WHERE course_run_grades.set_by_admin = FALSE OR excluded.set_by_admin = TRUE \
             RETURNING id, user_id",
        )
        .bind(&users)
        .bind(&runs)
        .bind(&grades)
        .bind(&letters)
        .bind(&passed)
        .bind(&admin)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        let mut ids: HashMap<i64, i64> = HashMap::with_capacity(rows.len());
        for row in &rows {
            ids.insert(row.try_get("user_id")?, row.try_get("id")?);
        }
        let mut grade_ids = Vec::with_capacity(rows.len());
        let mut befores = Vec::with_capacity(rows.len());
        let mut afters = Vec::with_capacity(rows.len());
        for write in writes {
            if let Some(id) = ids.get(&write.after.user.0) {
                grade_ids.push(*id);
                befores.push(write.before.as_ref().map(grade_json).transpose()?);
                afters.push(grade_json(&write.after)?);
            }
        }
        if !grade_ids.is_empty() {
            sqlx::query(
                "INSERT INTO course_run_grade_audits (grade_id, acting_user_id, data_before, \
                 data_after, created_on, updated_on) \
                 SELECT i, $4, b, a, $5, $5 FROM UNNEST($1::bigint[], $2::text[], $3::text[]) \
                 AS t(i, b, a)",
            )
            .bind(&grade_ids)
            .bind(&befores)
            .bind(&afters)
            .bind(acting_user)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        }
        Ok(rows.len() as u64)
    }

    pub(super) async fn insert_course_certificates(
        conn: &mut PgConnection,
        certificates: &[CourseRunCertificate],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, UserId)>, StoreError> {
        let users: Vec<i64> = certificates.iter().map(|c| c.user.0).collect();
        let runs: Vec<i64> = certificates.iter().map(|c| c.subject.0).collect();
        let uuids: Vec<String> = certificates.iter().map(|c| c.uuid.to_string()).collect();
        let revoked: Vec<bool> = certificates.iter().map(|c| c.is_revoked).collect();
        let issued: Vec<DateTime<Utc>> = certificates.iter().map(|c| c.issue_date).collect();
        let revisions: Vec<Option<i64>> = certificates
            .iter()
            .map(|c| c.certificate_page_revision.map(|r| r.0))
            .collect();
        let rows = sqlx::query(
            "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, \
             issue_date, certificate_page_revision_id, created_on, updated_on) \
             SELECT u, r, id, v, d, p, $7, $7 FROM UNNEST($1::bigint[], $2::bigint[], \
             $3::text[], $4::bool[], $5::timestamptz[], $6::bigint[]) AS t(u, r, id, v, d, p) \
             ON CONFLICT (user_id, course_run_id) DO NOTHING RETURNING id, user_id",
        )
        .bind(&users)
        .bind(&runs)
        .bind(&uuids)
        .bind(&revoked)
        .bind(&issued)
        .bind(&revisions)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, UserId(row.try_get("user_id")?))))
            .collect()
    }
}

impl Store {
    /// Local users by edX username (unknown usernames are left out).
    pub async fn users_by_edx_username(
        &self,
        usernames: &[String],
    ) -> Result<HashMap<String, UserId>, StoreError> {
        let pairs =
            with_db!(conn: self, conn, q => q::users_by_edx_username(conn, usernames).await)?;
        Ok(pairs.into_iter().collect())
    }

    /// Every grade of a learner.
    pub async fn grades_of_user(&self, user: UserId) -> Result<Vec<StoredGrade>, StoreError> {
        with_db!(conn: self, conn, q => q::grades_of_user(conn, user.0).await)
    }

    /// Every course-run certificate of a learner, revoked ones included.
    pub async fn course_certificates_of_user(
        &self,
        user: UserId,
    ) -> Result<Vec<StoredCertificate<CourseRunId>>, StoreError> {
        with_db!(conn: self, conn, q => q::course_certificates_of_user(conn, user.0).await)
    }

    /// Every program certificate of a learner, revoked ones included.
    pub async fn program_certificates_of_user(
        &self,
        user: UserId,
    ) -> Result<Vec<StoredCertificate<ProgramId>>, StoreError> {
        with_db!(conn: self, conn, q => q::program_certificates_of_user(conn, user.0).await)
    }

    /// Up to `limit` active verified enrollments in live programs without any certificate
    /// row (revoked rows count), after enrollment row `after_id`, by row id.
    pub async fn missing_program_certificates(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<MissingProgramCertificate>, StoreError> {
        with_db!(conn: self, conn, q => q::missing_program_certificates(conn, after_id, limit).await)
    }

    /// Learners with an active verified enrollment in `program`.
    pub async fn verified_program_learners(
        &self,
        program: ProgramId,
    ) -> Result<Vec<UserId>, StoreError> {
        with_db!(conn: self, conn, q => q::enrolled_verified_in_program(conn, program.0).await)
    }
}

impl Tx {
    /// What is stored about `users` in `run`.
    pub async fn run_learners(
        &mut self,
        run: CourseRunId,
        users: &[UserId],
    ) -> Result<RunLearners, StoreError> {
        let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
        let (grades, certificates) = match self {
            Tx::Postgres(tx) => (
                pg_bulk::grades_in_run(tx, run.0, &ids).await?,
                pg_bulk::run_certificates(tx, run.0, &ids).await?,
            ),
            Tx::Sqlite(_) => (
                with_db!(tx: self, conn, q => q::grades_in_run(conn, run.0, &ids).await)?,
                with_db!(tx: self, conn, q => q::run_certificates(conn, run.0, &ids).await)?,
            ),
        };
        let enrollments = self.enrollments_in_run(run, users).await?;
        Ok(RunLearners {
            grades: grades.into_iter().map(|g| (g.grade.user, g)).collect(),
            enrollments: enrollments
                .into_iter()
                .map(|e| (e.enrollment.user, e.enrollment))
                .collect(),
            certificates: certificates
                .into_iter()
                .map(|c| (c.certificate.user, c))
                .collect(),
        })
    }

    /// The learner's grade in the run, locked for the rest of the unit of work.
    pub async fn grade_for_update(
        &mut self,
        user: UserId,
        run: CourseRunId,
    ) -> Result<Option<StoredGrade>, StoreError> {
        with_db!(tx: self, conn, q => q::grade_for_update(conn, user.0, run.0).await)
    }

    /// Writes one batch: grade upserts with their audit rows, certificate insertions
    /// (existing rows win) and deletions (active rows only).
    pub async fn apply_grade_batch(
        &mut self,
        batch: &GradeBatch,
        now: DateTime<Utc>,
    ) -> Result<AppliedBatch, StoreError> {
        let acting = batch.acting_user.map(|u| u.0);
        let grades_written = match self {
            _ if batch.grades.is_empty() => 0,
            Tx::Postgres(tx) => pg_bulk::upsert_grades(tx, &batch.grades, acting, now).await?,
            Tx::Sqlite(_) => {
                with_db!(tx: self, conn, q => q::upsert_grades(conn, &batch.grades, acting, now).await)?
            }
        };
        let created = match self {
            _ if batch.create.is_empty() => Vec::new(),
            Tx::Postgres(tx) => pg_bulk::insert_course_certificates(tx, &batch.create, now).await?,
            Tx::Sqlite(_) => {
                with_db!(tx: self, conn, q => q::insert_course_certificates(conn, &batch.create, now).await)?
            }
        };
        let deleted = if batch.delete.is_empty() {
            0
        } else {
            with_db!(tx: self, conn, q => q::delete_active_course_certificates(conn, &batch.delete, now).await)?
        };
        Ok(AppliedBatch {
            grades_written,
            created,
            deleted,
        })
    }

    /// Inserts a program certificate; `None` when the learner already has a row for the
    /// program (revoked or not).
    pub async fn insert_program_certificate(
        &mut self,
        certificate: &ProgramCertificate,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        with_db!(tx: self, conn, q => q::insert_program_certificate(conn, certificate, now).await)
    }
}

/// Test fixtures the workflows never write.
#[cfg(feature = "testing")]
mod fixtures {
    use super::*;

    impl crate::Database {
        /// Test fixture: an active program enrollment of `user` in `program` in `mode`
        /// (created, or its mode and activity set).
        pub async fn program_enrollment_fixture(
            &self,
            user: UserId,
            program: ProgramId,
            mode: mitx_core::catalog::EnrollmentMode,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mode = match mode {
                mitx_core::catalog::EnrollmentMode::Audit => "audit",
                mitx_core::catalog::EnrollmentMode::Verified => "verified",
            };
            with_db!(conn: self.store(), conn, q => q::program_enrollment_fixture(conn, user.0, program.0, mode, now).await)
        }

        /// Load fixture: `learners` users named `{prefix}1`..`{prefix}N` (emails at
        /// example.com), each with a synced edX account of the same username and an
        /// active verified enrollment in every run of `runs`; set-based, for benchmarks
        /// and large tests.
        pub async fn certificate_load_fixture(
            &self,
            prefix: &str,
            learners: i64,
            runs: &[CourseRunId],
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut tx = self.begin().await?;
            with_db!(tx: &mut tx, conn, q => {
                q::load_learners(conn, prefix, learners, now).await?;
                for run in runs {
                    q::load_enrollments(conn, prefix, run.0, now).await?;
                }
            });
            tx.commit().await?;
            Ok(())
        }

        /// Test fixture: sets a run enrollment's change status (`deferred`, ...) and mode.
        pub async fn run_enrollment_fixture(
            &self,
            user: UserId,
            run: CourseRunId,
            change_status: Option<&str>,
            mode: &str,
        ) -> Result<(), StoreError> {
            with_db!(conn: self.store(), conn, q => q::run_enrollment_fixture(conn, user.0, run.0, change_status, mode).await)
        }
    }

    backend_queries! {
        pub(crate) async fn program_enrollment_fixture(
            conn: &mut Conn,
            user: i64,
            program: i64,
            mode: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO program_enrollments (user_id, program_id, active, change_status, \
                 enrollment_mode, created_on, updated_on) VALUES ($1, $2, TRUE, NULL, $3, $4, $4) \
                 ON CONFLICT (user_id, program_id) DO UPDATE SET active = TRUE, change_status = NULL, \
                 enrollment_mode = excluded.enrollment_mode",
            )
            .bind(user)
            .bind(program)
            .bind(mode)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub(crate) async fn load_learners(
            conn: &mut Conn,
            prefix: &str,
            learners: i64,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO users (username, email, name, is_active, is_staff, is_superuser, \
                 created_on, updated_on) \
                 SELECT $2 || CAST(i AS TEXT), $2 || CAST(i AS TEXT) || '@example.com', \
                 'Load ' || CAST(i AS TEXT), TRUE, FALSE, FALSE, $3, $3 FROM n",
            )
            .bind(learners)
            .bind(prefix)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO openedx_users (user_id, platform, edx_username, has_been_synced, \
                 has_sync_error, created_on, updated_on) \
                 SELECT id, 'edx', username, TRUE, FALSE, $2, $2 FROM users \
                 WHERE username LIKE $1 || '%'",
            )
            .bind(prefix)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub(crate) async fn load_enrollments(
            conn: &mut Conn,
            prefix: &str,
            run: i64,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO course_run_enrollments (user_id, run_id, active, enrollment_mode, \
                 edx_enrolled, created_on, updated_on) \
                 SELECT id, $2, TRUE, 'verified', TRUE, $3, $3 FROM users \
                 WHERE username LIKE $1 || '%'",
            )
            .bind(prefix)
            .bind(run)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub(crate) async fn run_enrollment_fixture(
            conn: &mut Conn,
            user: i64,
            run: i64,
            change_status: Option<&str>,
            mode: &str,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE course_run_enrollments SET change_status = $3, enrollment_mode = $4 \
                 WHERE user_id = $1 AND run_id = $2",
            )
            .bind(user)
            .bind(run)
            .bind(change_status)
            .bind(mode)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    }
}
