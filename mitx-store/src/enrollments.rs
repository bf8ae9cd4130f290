//! Course-run enrollments of the learner API (courses spec 1.8, 2.2, 2.3): the run a request
//! names, the learner's rows, and saving the plans `mitx_core::enrollment` decides.
//!
//! Writes are race-safe: a row is inserted with `ON CONFLICT (user_id, run_id) DO NOTHING`
//! and updated with a compare-and-set on the state that was read; either way a lost race is
//! reported to the caller ([`SavedEnrollment::Raced`]), who reads the winner's row and
//! plans again. Every change writes a `course_run_enrollment_audits` row in the same unit
//! of work, whose `data_before` is exactly the row it replaced.

use chrono::{DateTime, Utc};
use mitx_core::catalog::{CourseRun, CoursewareId, EnrollmentMode, VariantIndustry, VariantLength};
use mitx_core::enrollment::{ChangeStatus, RunEnrollment};
use mitx_core::ids::{ContractId, CourseId, CourseRunId, EnrollmentId, ProductId, UserId};
use mitx_core::money::Money;

use crate::money::DbMoney;

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// A stored course-run enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollmentRecord {
    /// Row id.
    pub id: EnrollmentId,
    /// The enrollment as the rules see it.
    pub enrollment: RunEnrollment,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
}

/// A run with the course facts the enrollment API renders.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrollmentRun {
    /// The run.
    pub run: CourseRun,
    /// The course's title.
    pub course_title: String,
    /// The course's readable id.
    pub course_readable_id: String,
    /// The run's active product, if any (for `is_upgradable` and the upgrade fields).
    pub active_product: Option<ActiveProduct>,
    /// The organization of the run's B2B contract, if any.
    pub b2b_organization: Option<i64>,
}

/// A run's active product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveProduct {
    /// Product id.
    pub id: ProductId,
    /// Price.
    pub price: Money,
}

/// An enrollment with its run, for listings.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrollmentWithRun {
    /// The row.
    pub record: EnrollmentRecord,
    /// Its run.
    pub run: EnrollmentRun,
}

/// Facts the form enrollment checks (courses spec 2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormEnrollmentFacts {
    /// The learner's legal-address country is blocked for the run's course.
    pub country_blocked: bool,
    /// The learner has a paid-run row for the run whose order is fulfilled.
    pub already_paid: bool,
}

/// Which enrollments the edX retry looks at (courses spec 4.4 and `retry_edx_enrollment`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdxRetryFilter {
    /// Only this user's.
    pub user: Option<UserId>,
    /// Only this run's.
    pub run: Option<CourseRunId>,
    /// Only rows created before this (the periodic job's 5-minute grace period).
    pub created_before: Option<DateTime<Utc>>,
    /// Only rows with fewer permanent failures than this.
    pub below_retry_count: Option<u32>,
    /// Also rows edX already has (`--force`).
    pub include_edx_enrolled: bool,
    /// Only rows of active users.
    pub active_users_only: bool,
    /// Rows with a larger id (paging).
    pub after_id: i64,
    /// At most this many.
    pub limit: i64,
}

/// Which rows `reset-retries` puts back to zero.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryResetFilter {
    /// Only this user's.
    pub user: Option<UserId>,
    /// Only this run's.
    pub run: Option<CourseRunId>,
    /// Only rows at the maximum (never retried automatically any more).
    pub only_exhausted_at: Option<u32>,
}

/// Everything the edX retry of one enrollment needs, in one read: the row, its run, the
/// learner, and the learner's edX username once the account exists.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrollmentFacts {
    /// The row.
    pub record: EnrollmentRecord,
    /// Its run with the course facts.
    pub run: EnrollmentRun,
    /// The learner.
    pub learner: crate::users::User,
    /// The learner's edX username, when the account exists in edX.
    pub edx_username: Option<String>,
}

/// One row of an enrollment's audit trail (`course_run_enrollment_audits`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EnrollmentAudit {
    /// Who made the change (`None`: a job or an operator command).
    pub acting_user: Option<UserId>,
    /// The row before (JSON), `None` for its creation.
    pub data_before: Option<String>,
    /// The row after (JSON).
    pub data_after: Option<String>,
    /// When.
    pub created_on: DateTime<Utc>,
}

/// What [`Tx::save_enrollment`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavedEnrollment {
    /// The row as saved.
    Saved(EnrollmentRecord),
    /// The plan was to create a row, but another request created it first: read the row
    /// again and plan again.
    Raced,
}

fn mode_of(text: &str) -> Result<EnrollmentMode, StoreError> {
    EnrollmentMode::parse(text)
        .ok_or_else(|| StoreError::corrupt("course_run_enrollments", "enrollment_mode", text))
}

fn change_of(text: Option<String>) -> Result<Option<ChangeStatus>, StoreError> {
    text.map(|t| {
        ChangeStatus::parse(&t)
            .ok_or_else(|| StoreError::corrupt("course_run_enrollments", "change_status", &t))
    })
    .transpose()
}

fn variant_length(code: &str) -> Result<VariantLength, StoreError> {
    match code {
        "" => Ok(VariantLength::Full),
        "S" => Ok(VariantLength::Short),
        other => Err(StoreError::corrupt("course_runs", "variant_length", other)),
    }
}

fn variant_industry(code: &str) -> Result<VariantIndustry, StoreError> {
    match code {
        "" => Ok(VariantIndustry::General),
        "E" => Ok(VariantIndustry::Energy),
        "F" => Ok(VariantIndustry::Finance),
        "HC" => Ok(VariantIndustry::Healthcare),
        other => Err(StoreError::corrupt(
            "course_runs",
            "variant_industry",
            other,
        )),
    }
}

fn audit_json(row: &RunEnrollment) -> Result<String, StoreError> {
    serde_json::to_string(row)
        .map_err(|e| StoreError::corrupt("course_run_enrollments", "audit", e))
}

backend_queries! {
    use sqlx::Row;

    pub(crate) const RUN_COLUMNS: &str = "r.id AS r_id, r.course_id, r.title AS r_title, r.courseware_id, \
        r.run_tag, r.start_date, r.end_date, r.enrollment_start, r.enrollment_end, \
        r.certificate_available_date, r.upgrade_deadline, r.expiration_date, r.live AS r_live, \
        r.is_self_paced, r.offers_audit, r.offers_verified, r.b2b_contract_id, r.is_source_run, \
        r.is_primary_language, r.language, r.has_courseware_url, r.variant_length, \
        r.variant_industry, c.title AS c_title, c.readable_id AS c_readable_id, \
        p.id AS p_id, p.price AS p_price, k.organization_id AS b2b_organization_id";

    pub(crate) const RUN_JOINS: &str = "JOIN courses c ON c.id = r.course_id LEFT JOIN products p \
        ON p.content_type = 'courserun' AND p.object_id = r.id AND p.is_active \
        LEFT JOIN contracts k ON k.id = r.b2b_contract_id";

    pub(crate) const ENROLLMENT_COLUMNS: &str = "e.id AS e_id, e.user_id, e.run_id, e.active, \
        e.change_status, e.enrollment_mode, e.edx_enrolled, e.edx_emails_subscription, \
        e.edx_enrollment_retry_count, e.created_on AS e_created_on, e.updated_on AS e_updated_on";

    pub(crate) fn run_from_row(row: &<Db as sqlx::Database>::Row) -> Result<EnrollmentRun, StoreError> {
        let courseware: String = row.try_get("courseware_id")?;
        let mut modes = Vec::new();
        if row.try_get::<bool, _>("offers_audit")? {
            modes.push(EnrollmentMode::Audit);
        }
        if row.try_get::<bool, _>("offers_verified")? {
            modes.push(EnrollmentMode::Verified);
        }
        let run = CourseRun {
            id: CourseRunId(row.try_get("r_id")?),
            course_id: CourseId(row.try_get("course_id")?),
            title: row.try_get("r_title")?,
            courseware_id: CoursewareId::parse(&courseware)
                .map_err(|e| StoreError::corrupt("course_runs", "courseware_id", e))?,
            run_tag: row.try_get("run_tag")?,
            start_date: row.try_get("start_date")?,
            end_date: row.try_get("end_date")?,
            enrollment_start: row.try_get("enrollment_start")?,
            enrollment_end: row.try_get("enrollment_end")?,
            certificate_available_date: row.try_get("certificate_available_date")?,
            upgrade_deadline: row.try_get("upgrade_deadline")?,
            expiration_date: row.try_get("expiration_date")?,
            live: row.try_get("r_live")?,
            is_self_paced: row.try_get("is_self_paced")?,
            enrollment_modes: modes,
            b2b_contract: row.try_get::<Option<i64>, _>("b2b_contract_id")?.map(ContractId),
            is_source_run: row.try_get("is_source_run")?,
            is_primary_language: row.try_get("is_primary_language")?,
            language: row.try_get("language")?,
            has_courseware_url: row.try_get("has_courseware_url")?,
            variant_length: variant_length(&row.try_get::<String, _>("variant_length")?)?,
            variant_industry: variant_industry(&row.try_get::<String, _>("variant_industry")?)?,
        };
        Ok(EnrollmentRun {
            run,
            course_title: row.try_get("c_title")?,
            course_readable_id: row.try_get("c_readable_id")?,
            active_product: match row.try_get::<Option<i64>, _>("p_id")? {
                Some(id) => Some(ActiveProduct {
                    id: ProductId(id),
                    price: row.try_get::<DbMoney, _>("p_price")?.0,
                }),
                None => None,
            },
            b2b_organization: row.try_get("b2b_organization_id")?,
        })
    }

    pub(crate) fn enrollment_from_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<EnrollmentRecord, StoreError> {
        let retries: i64 = row.try_get("edx_enrollment_retry_count")?;
        Ok(EnrollmentRecord {
            id: EnrollmentId(row.try_get("e_id")?),
            enrollment: RunEnrollment {
                user: UserId(row.try_get("user_id")?),
                run: CourseRunId(row.try_get("run_id")?),
                active: row.try_get("active")?,
                change_status: change_of(row.try_get("change_status")?)?,
                mode: mode_of(&row.try_get::<String, _>("enrollment_mode")?)?,
                edx_enrolled: row.try_get("edx_enrolled")?,
                edx_emails_subscription: row.try_get("edx_emails_subscription")?,
                edx_enrollment_retry_count: u32::try_from(retries).map_err(|e| {
                    StoreError::corrupt("course_run_enrollments", "edx_enrollment_retry_count", e)
                })?,
            },
            created_on: row.try_get("e_created_on")?,
            updated_on: row.try_get("e_updated_on")?,
        })
    }

    pub(crate) async fn run(conn: &mut Conn, id: i64) -> Result<Option<EnrollmentRun>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM course_runs r {RUN_JOINS} WHERE r.id = $1"
        ));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(run_from_row).transpose()
    }

    pub(crate) async fn run_by_courseware_id(
        conn: &mut Conn,
        key: &str,
    ) -> Result<Option<EnrollmentRun>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM course_runs r {RUN_JOINS} WHERE r.courseware_id = $1"
        ));
        let row = sqlx::query(sql).bind(key).fetch_optional(&mut *conn).await?;
        row.as_ref().map(run_from_row).transpose()
    }

    pub(crate) async fn all_for_user(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM course_run_enrollments e WHERE e.user_id = $1 ORDER BY e.id"
        ));
        let rows = sqlx::query(sql).bind(user).fetch_all(&mut *conn).await?;
        rows.iter().map(enrollment_from_row).collect()
    }

    pub(crate) async fn by_user_run(
        conn: &mut Conn,
        user: i64,
        run: i64,
    ) -> Result<Option<EnrollmentRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM course_run_enrollments e \
             WHERE e.user_id = $1 AND e.run_id = $2"
        ));
        let row = sqlx::query(sql).bind(user).bind(run).fetch_optional(&mut *conn).await?;
        row.as_ref().map(enrollment_from_row).transpose()
    }

    pub(crate) async fn by_id(
        conn: &mut Conn,
        id: i64,
    ) -> Result<Option<EnrollmentRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM course_run_enrollments e WHERE e.id = $1"
        ));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(enrollment_from_row).transpose()
    }

    pub(crate) async fn active_for_user(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<EnrollmentWithRun>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS}, {RUN_COLUMNS} FROM course_run_enrollments e \
             JOIN course_runs r ON r.id = e.run_id {RUN_JOINS} \
             WHERE e.user_id = $1 AND e.active ORDER BY e.id"
        ));
        let rows = sqlx::query(sql).bind(user).fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|row| {
                Ok(EnrollmentWithRun {
                    record: enrollment_from_row(row)?,
                    run: run_from_row(row)?,
                })
            })
            .collect()
    }

    /// Inserts unless the (user, run) row exists; the new id, or `None` on conflict.
    pub(crate) async fn insert_if_absent(
        conn: &mut Conn,
        row: &RunEnrollment,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO course_run_enrollments (user_id, run_id, active, change_status, \
             enrollment_mode, edx_enrolled, edx_emails_subscription, edx_enrollment_retry_count, \
             created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (user_id, run_id) DO NOTHING RETURNING id",
        )
        .bind(row.user.0)
        .bind(row.run.0)
        .bind(row.active)
        .bind(row.change_status.map(ChangeStatus::as_str))
        .bind(row.mode.slug())
        .bind(row.edx_enrolled)
        .bind(row.edx_emails_subscription)
        .bind(i64::from(row.edx_enrollment_retry_count))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        inserted.map(|r| r.try_get("id")).transpose().map_err(StoreError::from)
    }

    /// Compare-and-set with its audit row: updates the row only if its mutable columns
    /// still hold `before`, and then writes the audit row; whether it did. One statement
    /// where the backend can change rows in a `WITH` clause, else two in the unit of work.
    pub(crate) async fn update_if_unchanged(
        conn: &mut Conn,
        id: i64,
        before: &RunEnrollment,
        row: &RunEnrollment,
        audit_row: (Option<i64>, Option<&str>, &str),
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const UPDATE: &str = "UPDATE course_run_enrollments SET active = $2, change_status = $3, \
             enrollment_mode = $4, edx_enrolled = $5, edx_emails_subscription = $6, \
             edx_enrollment_retry_count = $7, updated_on = $8 WHERE id = $1 \
             AND active = $9 AND change_status IS NOT DISTINCT FROM $10 \
             AND enrollment_mode = $11 AND edx_enrolled = $12 \
             AND edx_emails_subscription = $13 AND edx_enrollment_retry_count = $14";
        let (acting_user, data_before, data_after) = audit_row;
        let sql = if WRITING_CTE {
            sqlx::AssertSqlSafe(format!(
                "WITH changed AS ({UPDATE} RETURNING id) \
                 INSERT INTO course_run_enrollment_audits (enrollment_id, acting_user_id, \
                 data_before, data_after, created_on, updated_on) \
                 SELECT id, $15, $16, $17, $8, $8 FROM changed"
            ))
        } else {
            sqlx::AssertSqlSafe(UPDATE.to_owned())
        };
        let mut query = sqlx::query(sql)
            .bind(id)
            .bind(row.active)
            .bind(row.change_status.map(ChangeStatus::as_str))
            .bind(row.mode.slug())
            .bind(row.edx_enrolled)
            .bind(row.edx_emails_subscription)
            .bind(i64::from(row.edx_enrollment_retry_count))
            .bind(now)
            .bind(before.active)
            .bind(before.change_status.map(ChangeStatus::as_str))
            .bind(before.mode.slug())
            .bind(before.edx_enrolled)
            .bind(before.edx_emails_subscription)
            .bind(i64::from(before.edx_enrollment_retry_count));
        if WRITING_CTE {
            query = query.bind(acting_user).bind(data_before).bind(data_after);
        }
        let done = query
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if !WRITING_CTE {
            audit(conn, id, acting_user, data_before, data_after, now).await?;
        }
        Ok(true)
    }

    pub(crate) async fn audit(
        conn: &mut Conn,
        enrollment: i64,
        acting_user: Option<i64>,
        before: Option<&str>,
        after: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO course_run_enrollment_audits (enrollment_id, acting_user_id, \
             data_before, data_after, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(enrollment)
        .bind(acting_user)
        .bind(before)
        .bind(after)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn edx_retry_candidates(
        conn: &mut Conn,
        filter: &EdxRetryFilter,
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM course_run_enrollments e \
             JOIN users u ON u.id = e.user_id \
             WHERE e.active AND ($1 OR NOT e.edx_enrolled) \
             AND ($2 IS NULL OR e.user_id = $2) AND ($3 IS NULL OR e.run_id = $3) \
             AND ($4 IS NULL OR e.created_on < $4) \
             AND ($5 IS NULL OR e.edx_enrollment_retry_count < $5) \
             AND (NOT $6 OR u.is_active) AND e.id > $7 ORDER BY e.id LIMIT $8"
        ));
        let rows = sqlx::query(sql)
            .bind(filter.include_edx_enrolled)
            .bind(filter.user.map(|u| u.0))
            .bind(filter.run.map(|r| r.0))
            .bind(filter.created_before)
            .bind(filter.below_retry_count.map(i64::from))
            .bind(filter.active_users_only)
            .bind(filter.after_id)
            .bind(filter.limit.max(1))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(enrollment_from_row).collect()
    }

    pub(crate) async fn reset_retries(
        conn: &mut Conn,
        filter: &RetryResetFilter,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE course_run_enrollments SET edx_enrollment_retry_count = 0, updated_on = $4 \
             WHERE NOT edx_enrolled AND edx_enrollment_retry_count > 0 \
             AND ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR run_id = $2) \
             AND ($3 IS NULL OR edx_enrollment_retry_count >= $3)",
        )
        .bind(filter.user.map(|u| u.0))
        .bind(filter.run.map(|r| r.0))
        .bind(filter.only_exhausted_at.map(i64::from))
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn facts(
        conn: &mut Conn,
        id: i64,
    ) -> Result<Option<EnrollmentFacts>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS}, {RUN_COLUMNS}, u.id AS u_id, u.global_id, u.username, \
             u.email, u.name, u.is_active AS u_active, u.is_staff, u.is_superuser, \
             u.created_on AS u_created_on, u.updated_on AS u_updated_on, \
             CASE WHEN o.has_been_synced THEN o.edx_username END AS edx_username \
             FROM course_run_enrollments e JOIN course_runs r ON r.id = e.run_id {RUN_JOINS} \
             JOIN users u ON u.id = e.user_id \
             LEFT JOIN openedx_users o ON o.user_id = e.user_id AND o.platform = 'edx' \
             WHERE e.id = $1"
        ));
        let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await? else {
            return Ok(None);
        };
        Ok(Some(EnrollmentFacts {
            record: enrollment_from_row(&row)?,
            run: run_from_row(&row)?,
            learner: crate::users::User {
                id: UserId(row.try_get("u_id")?),
                global_id: row.try_get("global_id")?,
                username: row.try_get("username")?,
                email: row.try_get("email")?,
                name: row.try_get("name")?,
                is_active: row.try_get("u_active")?,
                is_staff: row.try_get("is_staff")?,
                is_superuser: row.try_get("is_superuser")?,
                created_on: row.try_get("u_created_on")?,
                updated_on: row.try_get("u_updated_on")?,
            },
            edx_username: row.try_get("edx_username")?,
        }))
    }

    pub(crate) async fn audit_trail(
        conn: &mut Conn,
        enrollment: i64,
    ) -> Result<Vec<EnrollmentAudit>, StoreError> {
        let rows = sqlx::query(
            "SELECT acting_user_id, data_before, data_after, created_on \
             FROM course_run_enrollment_audits WHERE enrollment_id = $1 ORDER BY id",
        )
        .bind(enrollment)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EnrollmentAudit {
                    acting_user: row.try_get::<Option<i64>, _>("acting_user_id")?.map(UserId),
                    data_before: row.try_get("data_before")?,
                    data_after: row.try_get("data_after")?,
                    created_on: row.try_get("created_on")?,
                })
            })
            .collect()
    }

    pub(crate) async fn delete_paid_runs(
        conn: &mut Conn,
        user: i64,
        run: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM paid_course_runs WHERE user_id = $1 AND course_run_id = $2")
            .bind(user)
            .bind(run)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub(crate) async fn user_id_by_email(conn: &mut Conn, email: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM users WHERE lower(email) = lower($1) ORDER BY id LIMIT 1",
        )
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?)
    }

    pub(crate) async fn repoint_paid_runs(
        conn: &mut Conn,
        user: i64,
        from: i64,
        to: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE paid_course_runs SET course_run_id = $3, updated_on = $4 \
             WHERE user_id = $1 AND course_run_id = $2 \
             AND order_id IN (SELECT id FROM orders WHERE state = 'fulfilled')",
        )
        .bind(user)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    /// A fulfilled zero-value order for the product's latest version with its line and the
    /// paid-run row; the order id, or `None` when the product has no version.
    pub(crate) async fn insert_paid_run(
        conn: &mut Conn,
        user: i64,
        run: i64,
        order_state: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let order = sqlx::query(
            "INSERT INTO orders (state, purchaser_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(order_state)
        .bind(user)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        let order: i64 = order.try_get("id")?;
        sqlx::query(
            "INSERT INTO paid_course_runs (user_id, course_run_id, order_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(user)
        .bind(run)
        .bind(order)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(order)
    }

    pub(crate) async fn form_facts(
        conn: &mut Conn,
        user: i64,
        run: i64,
    ) -> Result<FormEnrollmentFacts, StoreError> {
        let row = sqlx::query(
            "SELECT \
               EXISTS (SELECT 1 FROM blocked_countries b \
                       JOIN legal_addresses l ON l.country = b.country \
                       JOIN course_runs r ON r.course_id = b.course_id \
                       WHERE l.user_id = $1 AND r.id = $2) AS blocked, \
               EXISTS (SELECT 1 FROM paid_course_runs p JOIN orders o ON o.id = p.order_id \
                       WHERE p.user_id = $1 AND p.course_run_id = $2 AND o.state = 'fulfilled') AS paid",
        )
        .bind(user)
        .bind(run)
        .fetch_one(&mut *conn)
        .await?;
        Ok(FormEnrollmentFacts {
            country_blocked: row.try_get("blocked")?,
            already_paid: row.try_get("paid")?,
        })
    }

    pub(crate) async fn all_runs(conn: &mut Conn) -> Result<Vec<EnrollmentRun>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM course_runs r {RUN_JOINS} ORDER BY r.id"
        ));
        let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
        rows.iter().map(run_from_row).collect()
    }

    /// The rows of `users` in `run` (active or not); `users` is bounded by the caller's
    /// batch size, well under both backends' bind limits.
    pub(crate) async fn in_run_for_users(
        conn: &mut Conn,
        run: i64,
        users: &[i64],
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM course_run_enrollments e WHERE e.run_id = "
        ));
        query.push_bind(run).push(" AND e.user_id IN (");
        let mut list = query.separated(", ");
        for user in users {
            list.push_bind(*user);
        }
        query.push(")");
        let rows = query.build().fetch_all(&mut *conn).await?;
        rows.iter().map(enrollment_from_row).collect()
    }
}

impl Store {
    /// Every run with its course facts, by id (the certificate job's candidates).
    pub async fn all_enrollment_runs(&self) -> Result<Vec<EnrollmentRun>, StoreError> {
        with_db!(conn: self, conn, q => q::all_runs(conn).await)
    }

    /// The run with this id and its course facts, if it exists.
    pub async fn enrollment_run(
        &self,
        run: CourseRunId,
    ) -> Result<Option<EnrollmentRun>, StoreError> {
        with_db!(conn: self, conn, q => q::run(conn, run.0).await)
    }

    /// The run with this courseware id and its course facts, if it exists.
    pub async fn enrollment_run_by_courseware_id(
        &self,
        key: &str,
    ) -> Result<Option<EnrollmentRun>, StoreError> {
        with_db!(conn: self, conn, q => q::run_by_courseware_id(conn, key).await)
    }

    /// The id of the user with this email, compared case-insensitively (the edX webhooks
    /// name learners by email, courses spec 4.5).
    pub async fn user_id_by_email(&self, email: &str) -> Result<Option<UserId>, StoreError> {
        let id = with_db!(conn: self, conn, q => q::user_id_by_email(conn, email.trim()).await)?;
        Ok(id.map(UserId))
    }

    /// The enrollment with its run, learner and edX username, in one read.
    pub async fn enrollment_facts(
        &self,
        id: EnrollmentId,
    ) -> Result<Option<EnrollmentFacts>, StoreError> {
        with_db!(conn: self, conn, q => q::facts(conn, id.0).await)
    }

    /// The audit trail of one enrollment, oldest first.
    pub async fn enrollment_audit_trail(
        &self,
        id: EnrollmentId,
    ) -> Result<Vec<EnrollmentAudit>, StoreError> {
        with_db!(conn: self, conn, q => q::audit_trail(conn, id.0).await)
    }

    /// Every row of the user (active or not), by id.
    pub async fn user_enrollments(
        &self,
        user: UserId,
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::all_for_user(conn, user.0).await)
    }

    /// The user's row for the run (active or not), if any.
    pub async fn run_enrollment(
        &self,
        user: UserId,
        run: CourseRunId,
    ) -> Result<Option<EnrollmentRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::by_user_run(conn, user.0, run.0).await)
    }

    /// The enrollment row with this id, if any (any user, active or not).
    pub async fn enrollment_by_id(
        &self,
        id: EnrollmentId,
    ) -> Result<Option<EnrollmentRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::by_id(conn, id.0).await)
    }

    /// What the form enrollment checks before enrolling (courses spec 2.6).
    pub async fn form_enrollment_facts(
        &self,
        user: UserId,
        run: CourseRunId,
    ) -> Result<FormEnrollmentFacts, StoreError> {
        with_db!(conn: self, conn, q => q::form_facts(conn, user.0, run.0).await)
    }

    /// The user's active run enrollments with their runs, by id.
    pub async fn active_enrollments(
        &self,
        user: UserId,
    ) -> Result<Vec<EnrollmentWithRun>, StoreError> {
        with_db!(conn: self, conn, q => q::active_for_user(conn, user.0).await)
    }
}

impl Store {
    /// Active enrollments that edX does not have (or all active ones with
    /// `include_edx_enrolled`), by id, for the retry job and `mitx edx retry-enrollments`.
    pub async fn edx_retry_candidates(
        &self,
        filter: &EdxRetryFilter,
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::edx_retry_candidates(conn, filter).await)
    }
}

impl Tx {
    /// The rows of `users` in `run` (active or not).
    pub async fn enrollments_in_run(
        &mut self,
        run: CourseRunId,
        users: &[UserId],
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
        if let Tx::Postgres(tx) = self {
            // One array bind instead of one bind per learner (the certificate batches).
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM course_run_enrollments e WHERE e.run_id = $1 AND e.user_id = ANY($2)",
                postgres::ENROLLMENT_COLUMNS
            ));
            let rows = sqlx::query(sql)
                .bind(run.0)
                .bind(&ids)
                .fetch_all(&mut **tx)
                .await?;
            return rows.iter().map(postgres::enrollment_from_row).collect();
        }
        with_db!(tx: self, conn, q => q::in_run_for_users(conn, run.0, &ids).await)
    }

    /// Every row of the user (active or not), by id, read in the unit of work.
    pub async fn user_enrollments(
        &mut self,
        user: UserId,
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        with_db!(tx: self, conn, q => q::all_for_user(conn, user.0).await)
    }

    /// Puts the edX retry counter of matching rows that edX does not have back to zero;
    /// how many rows changed.
    pub async fn reset_edx_retry_counts(
        &mut self,
        filter: &RetryResetFilter,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::reset_retries(conn, filter, now).await)
    }

    /// Saves one planned enrollment row (`before` = the row the plan started from): creates
    /// it when `before` is `None`, else updates it if it still holds what was read
    /// (compare-and-set); an audit row (`data_before` = the row replaced) is written when
    /// the row changed. [`SavedEnrollment::Raced`] when another writer created or changed
    /// the row first: roll back, read again and plan again.
    pub async fn save_enrollment(
        &mut self,
        before: Option<&EnrollmentRecord>,
        after: &RunEnrollment,
        acting_user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<SavedEnrollment, StoreError> {
        let after_json = audit_json(after)?;
        let before_json = before.map(|b| audit_json(&b.enrollment)).transpose()?;
        let changed = before.map(|b| &b.enrollment) != Some(after);
        let acting = acting_user.map(|u| u.0);
        let saved = with_db!(tx: self, conn, q => {
            match before {
                None => {
                    let Some(id) = q::insert_if_absent(conn, after, now).await? else {
                        return Ok(SavedEnrollment::Raced);
                    };
                    q::audit(conn, id, acting, None, &after_json, now).await?;
                    // The row is exactly what was written: no need to read it back.
                    Some(EnrollmentRecord {
                        id: EnrollmentId(id),
                        enrollment: after.clone(),
                        created_on: now,
                        updated_on: now,
                    })
                }
                Some(record) if !changed => Some(record.clone()),
                Some(record) => {
                    let audit_row = (acting, before_json.as_deref(), after_json.as_str());
                    if !q::update_if_unchanged(
                        conn,
                        record.id.0,
                        &record.enrollment,
                        after,
                        audit_row,
                        now,
                    )
                    .await?
                    {
                        return Ok(SavedEnrollment::Raced);
                    }
                    // The row is exactly what was written: no need to read it back.
                    Some(EnrollmentRecord {
                        id: record.id,
                        enrollment: after.clone(),
                        created_on: record.created_on,
                        updated_on: now,
                    })
                }
            }
        });
        saved
            .map(SavedEnrollment::Saved)
            .ok_or_else(|| StoreError::NotFound {
                entity: "enrollment",
                key: format!("{}/{}", after.user, after.run),
            })
    }

    /// Repoints the user's PaidCourseRun rows of fulfilled orders from run `from` to run
    /// `to` (courses spec 2.9 step 8); how many rows moved.
    pub async fn repoint_paid_course_runs(
        &mut self,
        user: UserId,
        from: CourseRunId,
        to: CourseRunId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::repoint_paid_runs(conn, user.0, from.0, to.0, now).await)
    }

    /// Deletes the user's PaidCourseRun rows for the run (courses spec 2.3 step 4).
    pub async fn delete_paid_course_runs(
        &mut self,
        user: UserId,
        run: CourseRunId,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::delete_paid_runs(conn, user.0, run.0).await)
    }
}

#[cfg(feature = "testing")]
impl crate::Database {
    /// Test fixture: an order in `order_state` purchased by `user` with a paid-run row for
    /// `run`, in one transaction; the order's id.
    pub async fn insert_paid_course_run_fixture(
        &self,
        user: UserId,
        run: CourseRunId,
        order_state: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let order = with_db!(tx: &mut tx, conn, q => {
            q::insert_paid_run(conn, user.0, run.0, order_state, now).await?
        });
        tx.commit().await?;
        Ok(order)
    }
}
