//! Certificate rows as operators change them (courses spec 3.5): the learner's certificate
//! for a run or a program found *including* revoked ones, and the revocation flag set by a
//! compare-and-set (public reads ignore revoked rows: see [`crate::transcript`]).

use chrono::{DateTime, Utc};
use mitx_core::ids::{CourseRunId, ProgramId, UserId};

use crate::{StoreError, Tx, backend_queries, with_db};

pub use crate::certificate_views::{CertificateKind, CertificateView, CredentialFacts, PageOwner};

/// What a certificate certifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertifiedFor {
    /// A course run (`course_run_certificates`).
    Run(CourseRunId),
    /// A program (`program_certificates`).
    Program(ProgramId),
}

impl CertifiedFor {
    /// The table, its key column and the key (constants: safe to put in SQL text).
    fn place(self) -> (&'static str, &'static str, i64) {
        match self {
            CertifiedFor::Run(run) => ("course_run_certificates", "course_run_id", run.0),
            CertifiedFor::Program(program) => ("program_certificates", "program_id", program.0),
        }
    }
}

/// One stored certificate, revoked or not.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CertificateRow {
    /// Row id.
    pub id: i64,
    /// The certificate's public id.
    pub uuid: String,
    /// Revoked (hidden from every public read).
    pub is_revoked: bool,
    /// Issued on.
    pub issue_date: DateTime<Utc>,
}

backend_queries! {
    pub(crate) async fn find(
        conn: &mut Conn,
        user: i64,
        of: CertifiedFor,
    ) -> Result<Option<CertificateRow>, StoreError> {
        let (table, column, key) = of.place();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, uuid, is_revoked, issue_date FROM {table} \
             WHERE user_id = $1 AND {column} = $2{FOR_UPDATE}"
        ));
        let row = sqlx::query(sql)
            .bind(user)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|row| {
            use sqlx::Row as _;
            Ok(CertificateRow {
                id: row.try_get("id")?,
                uuid: row.try_get("uuid")?,
                is_revoked: row.try_get("is_revoked")?,
                issue_date: row.try_get("issue_date")?,
            })
        })
        .transpose()
    }

    pub(crate) async fn set_revoked(
        conn: &mut Conn,
        of: CertifiedFor,
        id: i64,
        read: bool,
        revoked: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (table, _, _) = of.place();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET is_revoked = $1, updated_on = $2 WHERE id = $3 AND is_revoked = $4"
        ));
        let done = sqlx::query(sql)
            .bind(revoked)
            .bind(now)
            .bind(id)
            .bind(read)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }
}

impl Tx {
    /// The learner's certificate for `of`, revoked or not.
    pub async fn certificate(
        &mut self,
        user: UserId,
        of: CertifiedFor,
    ) -> Result<Option<CertificateRow>, StoreError> {
        with_db!(tx: self, conn, q => q::find(conn, user.0, of).await)
    }

    /// Sets the revocation flag of certificate `id` to `revoked` if it still is `read`;
    /// `false` when another change came first (nothing written).
    pub async fn set_certificate_revoked(
        &mut self,
        of: CertifiedFor,
        id: i64,
        read: bool,
        revoked: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::set_revoked(conn, of, id, read, revoked, now).await)
    }
}
