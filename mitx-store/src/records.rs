//! Learner records (courses spec 1.14, 3.9): partner schools and the program links they
//! receive mail at, the learner's record shares, and the certificates a record shows.

use chrono::{DateTime, Utc};
use mitx_core::ids::{ProgramId, UserId};
use serde::Serialize;

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// A partner school (soft-deleted through `is_active`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartnerSchool {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Where shared records go unless a program link names other addresses.
    pub email: String,
    /// Offered to learners.
    pub is_active: bool,
}

/// A school's link to a program, with the address records of that program go to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartnerSchoolLink {
    /// The school.
    pub partner_school_id: i64,
    /// The program.
    pub program_id: i64,
    /// The program's readable id.
    pub program_readable_id: String,
    /// Recipient.
    pub email: String,
}

/// A learner's record share (`partner_school` none: the public link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordShare {
    /// Public id of the share.
    pub share_uuid: String,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
    /// Active.
    pub is_active: bool,
    /// The learner.
    pub user: i64,
    /// The program.
    pub program: i64,
    /// The school shared with, none for the public link.
    pub partner_school: Option<i64>,
}

/// A course-run certificate as a record weighs it (revoked ones included; the record's
/// rule drops them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCertificate {
    /// The run.
    pub run: i64,
    /// Public id.
    pub uuid: String,
    /// Revoked.
    pub is_revoked: bool,
    /// Issued on.
    pub issue_date: DateTime<Utc>,
}

backend_queries! {
    use sqlx::Row as _;

    const SCHOOL: &str = "SELECT id, name, email, is_active FROM partner_schools";
    const SHARE: &str = "SELECT share_uuid, created_on, updated_on, is_active, user_id, program_id, \
                         partner_school_id FROM learner_program_record_shares";

    fn school(row: &<Db as sqlx::Database>::Row) -> Result<PartnerSchool, StoreError> {
        Ok(PartnerSchool {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            is_active: row.try_get("is_active")?,
        })
    }

    fn share(row: &<Db as sqlx::Database>::Row) -> Result<RecordShare, StoreError> {
        Ok(RecordShare {
            share_uuid: row.try_get("share_uuid")?,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
            is_active: row.try_get("is_active")?,
            user: row.try_get("user_id")?,
            program: row.try_get("program_id")?,
            partner_school: row.try_get("partner_school_id")?,
        })
    }

    pub(crate) async fn schools(conn: &mut Conn, only_active: bool) -> Result<Vec<PartnerSchool>, StoreError> {
        let filter = if only_active { " WHERE is_active = TRUE" } else { "" };
        let sql = sqlx::AssertSqlSafe(format!("{SCHOOL}{filter} ORDER BY name, id"));
        let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
        rows.iter().map(school).collect()
    }

    pub(crate) async fn school_by_id(conn: &mut Conn, id: i64) -> Result<Option<PartnerSchool>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SCHOOL} WHERE id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(school).transpose()
    }

    pub(crate) async fn program_schools(conn: &mut Conn, program: i64) -> Result<Vec<PartnerSchool>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SCHOOL} WHERE is_active = TRUE AND id IN \
             (SELECT partner_school_id FROM partner_school_programs WHERE program_id = $1) \
             ORDER BY name, id"
        ));
        let rows = sqlx::query(sql).bind(program).fetch_all(&mut *conn).await?;
        rows.iter().map(school).collect()
    }

    pub(crate) async fn links(conn: &mut Conn) -> Result<Vec<PartnerSchoolLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.partner_school_id, l.program_id, p.readable_id, l.email \
             FROM partner_school_programs l JOIN programs p ON p.id = l.program_id \
             ORDER BY l.partner_school_id, p.readable_id, l.email",
        )
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PartnerSchoolLink {
                    partner_school_id: row.try_get("partner_school_id")?,
                    program_id: row.try_get("program_id")?,
                    program_readable_id: row.try_get("readable_id")?,
                    email: row.try_get("email")?,
                })
            })
            .collect()
    }

    pub(crate) async fn recipients(conn: &mut Conn, school: i64, program: i64) -> Result<Vec<String>, StoreError> {
        let linked: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM partner_school_programs WHERE partner_school_id = $1 AND program_id = $2 \
             ORDER BY id",
        )
        .bind(school)
        .bind(program)
        .fetch_all(&mut *conn)
        .await?;
        if !linked.is_empty() {
            return Ok(linked);
        }
        let own: Option<String> = sqlx::query_scalar("SELECT email FROM partner_schools WHERE id = $1")
            .bind(school)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(own.into_iter().collect())
    }

    pub(crate) async fn shares(conn: &mut Conn, user: i64, program: i64) -> Result<Vec<RecordShare>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SHARE} WHERE user_id = $1 AND program_id = $2 AND is_active = TRUE ORDER BY id"
        ));
        let rows = sqlx::query(sql).bind(user).bind(program).fetch_all(&mut *conn).await?;
        rows.iter().map(share).collect()
    }

    pub(crate) async fn share_by_uuid(conn: &mut Conn, uuid: &str) -> Result<Option<RecordShare>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SHARE} WHERE share_uuid = $1"));
        let row = sqlx::query(sql).bind(uuid).fetch_optional(&mut *conn).await?;
        row.as_ref().map(share).transpose()
    }

    pub(crate) async fn certificates(conn: &mut Conn, user: i64) -> Result<Vec<RecordCertificate>, StoreError> {
        let rows = sqlx::query(
            "SELECT course_run_id, uuid, is_revoked, issue_date FROM course_run_certificates \
             WHERE user_id = $1 ORDER BY course_run_id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecordCertificate {
                    run: row.try_get("course_run_id")?,
                    uuid: row.try_get("uuid")?,
                    is_revoked: row.try_get("is_revoked")?,
                    issue_date: row.try_get("issue_date")?,
                })
            })
            .collect()
    }

    pub(crate) async fn insert_school(conn: &mut Conn, name: &str, email: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO partner_schools (name, email, is_active, created_on, updated_on) \
             VALUES ($1, $2, TRUE, $3, $3) RETURNING id",
        )
        .bind(name)
        .bind(email)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)
    }

    pub(crate) async fn set_school_active(conn: &mut Conn, id: i64, active: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE partner_schools SET is_active = $1, updated_on = $2 WHERE id = $3 AND is_active <> $1",
        )
        .bind(active)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn link(conn: &mut Conn, school: i64, program: i64, email: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO partner_school_programs (partner_school_id, program_id, email, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (partner_school_id, program_id, email) DO NOTHING",
        )
        .bind(school)
        .bind(program)
        .bind(email)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn find_share(conn: &mut Conn, user: i64, program: i64, school: Option<i64>) -> Result<Option<RecordShare>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SHARE} WHERE user_id = $1 AND program_id = $2 \
             AND partner_school_id IS NOT DISTINCT FROM $3{FOR_UPDATE}"
        ));
        let row = sqlx::query(sql).bind(user).bind(program).bind(school).fetch_optional(&mut *conn).await?;
        row.as_ref().map(share).transpose()
    }

    pub(crate) async fn activate_share(conn: &mut Conn, uuid: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE learner_program_record_shares SET is_active = TRUE, updated_on = $1 \
             WHERE share_uuid = $2 AND is_active = FALSE",
        )
        .bind(now)
        .bind(uuid)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn insert_share(conn: &mut Conn, uuid: &str, user: i64, program: i64, school: Option<i64>, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO learner_program_record_shares \
             (share_uuid, user_id, program_id, partner_school_id, is_active, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, TRUE, $5, $5)",
        )
        .bind(uuid)
        .bind(user)
        .bind(program)
        .bind(school)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn deactivate_public(conn: &mut Conn, user: i64, program: i64, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE learner_program_record_shares SET is_active = FALSE, updated_on = $1 \
             WHERE user_id = $2 AND program_id = $3 AND partner_school_id IS NULL AND is_active = TRUE",
        )
        .bind(now)
        .bind(user)
        .bind(program)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// Partner schools by name (all, or only active ones).
    pub async fn partner_schools(
        &self,
        only_active: bool,
    ) -> Result<Vec<PartnerSchool>, StoreError> {
        with_db!(conn: self, conn, q => q::schools(conn, only_active).await)
    }

    /// A partner school by id, active or not.
    pub async fn partner_school(&self, id: i64) -> Result<Option<PartnerSchool>, StoreError> {
        with_db!(conn: self, conn, q => q::school_by_id(conn, id).await)
    }

    /// Active partner schools linked to `program`, by name.
    pub async fn program_partner_schools(
        &self,
        program: ProgramId,
    ) -> Result<Vec<PartnerSchool>, StoreError> {
        with_db!(conn: self, conn, q => q::program_schools(conn, program.0).await)
    }

    /// Every school-program link.
    pub async fn partner_school_links(&self) -> Result<Vec<PartnerSchoolLink>, StoreError> {
        with_db!(conn: self, conn, q => q::links(conn).await)
    }

    /// Where a record of `program` shared with `school` is mailed: the link addresses,
    /// else the school's own address.
    pub async fn partner_school_recipients(
        &self,
        school: i64,
        program: ProgramId,
    ) -> Result<Vec<String>, StoreError> {
        with_db!(conn: self, conn, q => q::recipients(conn, school, program.0).await)
    }

    /// The learner's active shares of a program record.
    pub async fn record_shares(
        &self,
        user: UserId,
        program: ProgramId,
    ) -> Result<Vec<RecordShare>, StoreError> {
        with_db!(conn: self, conn, q => q::shares(conn, user.0, program.0).await)
    }

    /// A share by its public uuid, active or not.
    pub async fn record_share(&self, share_uuid: &str) -> Result<Option<RecordShare>, StoreError> {
        with_db!(conn: self, conn, q => q::share_by_uuid(conn, share_uuid).await)
    }

    /// The learner's course-run certificates, revoked ones included.
    pub async fn record_certificates(
        &self,
        user: UserId,
    ) -> Result<Vec<RecordCertificate>, StoreError> {
        with_db!(conn: self, conn, q => q::certificates(conn, user.0).await)
    }
}

impl Tx {
    /// A partner school by id (in the unit of work).
    pub async fn partner_school(&mut self, id: i64) -> Result<Option<PartnerSchool>, StoreError> {
        with_db!(tx: self, conn, q => q::school_by_id(conn, id).await)
    }

    /// Adds an active partner school; its id.
    pub async fn insert_partner_school(
        &mut self,
        name: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        with_db!(tx: self, conn, q => q::insert_school(conn, name, email, now).await)
    }

    /// Sets a school's `is_active`; `false` when it already had that value.
    pub async fn set_partner_school_active(
        &mut self,
        id: i64,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::set_school_active(conn, id, active, now).await)
    }

    /// Links a school to a program with a recipient address; `false` when that link exists.
    pub async fn link_partner_school_program(
        &mut self,
        school: i64,
        program: ProgramId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::link(conn, school, program.0, email, now).await)
    }

    /// The learner's share of `program` with `school` (none: the public link), active or
    /// not, locked for the change that follows.
    pub async fn record_share_for(
        &mut self,
        user: UserId,
        program: ProgramId,
        school: Option<i64>,
    ) -> Result<Option<RecordShare>, StoreError> {
        with_db!(tx: self, conn, q => q::find_share(conn, user.0, program.0, school).await)
    }

    /// Reactivates an inactive share; `false` when it was active.
    pub async fn activate_record_share(
        &mut self,
        share_uuid: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::activate_share(conn, share_uuid, now).await)
    }

    /// Inserts an active share.
    pub async fn insert_record_share(
        &mut self,
        share_uuid: &str,
        user: UserId,
        program: ProgramId,
        school: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::insert_share(conn, share_uuid, user.0, program.0, school, now).await)
    }

    /// Deactivates the learner's public shares of `program` (school shares stay); how many.
    pub async fn deactivate_public_record_shares(
        &mut self,
        user: UserId,
        program: ProgramId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::deactivate_public(conn, user.0, program.0, now).await)
    }
}
