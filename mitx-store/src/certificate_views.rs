//! Certificate pages, public certificate reads and verifiable credentials (courses spec
//! 1.12, 1.13, 3.8, 5.4): a certificate with its pinned page revision and its credential;
//! the latest page revision a new certificate pins; storing and linking a signed
//! credential. Re-exported from [`crate::certificates`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mitx_core::certificates::PageRevisionId;
use mitx_core::ids::{CourseId, ProgramId, UserId};

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// Whose certificate page a revision is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageOwner {
    /// A course's page (course-run certificates).
    Course(i64),
    /// A program's page.
    Program(i64),
}

impl PageOwner {
    /// The owner column of `certificate_page_revisions` and the key (constants: safe in SQL).
    pub(crate) fn column(self) -> (&'static str, i64) {
        match self {
            PageOwner::Course(id) => ("course_id", id),
            PageOwner::Program(id) => ("program_id", id),
        }
    }
}

/// Course-run or program certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// `course_run_certificates`.
    Course,
    /// `program_certificates`.
    Program,
}

impl CertificateKind {
    /// The table and its subject column (constants: safe in SQL).
    fn table(self) -> (&'static str, &'static str) {
        match self {
            CertificateKind::Course => ("course_run_certificates", "course_run_id"),
            CertificateKind::Program => ("program_certificates", "program_id"),
        }
    }

    /// `course` or `program`.
    pub fn name(self) -> &'static str {
        match self {
            CertificateKind::Course => "course",
            CertificateKind::Program => "program",
        }
    }
}

/// A certificate with its pinned page revision and its credential, revoked or not (callers
/// apply the "active" rule of mitx-core before showing it).
#[derive(Clone, Debug, PartialEq)]
pub struct CertificateView {
    /// Row id.
    pub id: i64,
    /// The learner.
    pub user_id: UserId,
    /// The course run or program id.
    pub subject_id: i64,
    /// Public id.
    pub uuid: String,
    /// Revoked.
    pub is_revoked: bool,
    /// Issued on.
    pub issue_date: DateTime<Utc>,
    /// The pinned certificate page revision.
    pub page_revision_id: Option<i64>,
    /// That revision's `page_data` JSON.
    pub page_data: Option<serde_json::Value>,
    /// When the revision was written.
    pub page_revised_on: Option<DateTime<Utc>>,
    /// The linked credential: its uuid and its JSON.
    pub credential: Option<(String, serde_json::Value)>,
}

/// What building a certificate's verifiable credential needs (courses spec 3.8).
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialFacts {
    /// The certificate.
    pub certificate: CertificateView,
    /// The learner's full name.
    pub learner_name: String,
    /// The run's title (course certificates) or the program's title.
    pub subject_title: String,
    /// The course's or program's readable id.
    pub readable_id: String,
    /// When the learner enrolled in the run or program (none: no enrollment row).
    pub enrolled_on: Option<DateTime<Utc>>,
}

fn json_column(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

backend_queries! {
    use sqlx::Row as _;
    use std::collections::BTreeMap;

    fn view_sql(kind: CertificateKind, key: &str) -> String {
        let (table, column) = kind.table();
        format!(
            "SELECT c.id, c.user_id, c.{column} AS subject_id, c.uuid, c.is_revoked, c.issue_date, \
             c.certificate_page_revision_id, r.page_data, r.created_on AS page_revised_on, \
             v.uuid AS credential_uuid, v.credential_data \
             FROM {table} c \
             LEFT JOIN certificate_page_revisions r ON r.id = c.certificate_page_revision_id \
             LEFT JOIN verifiable_credentials v ON v.id = c.verifiable_credential_id \
             WHERE c.{key} = $1"
        )
    }

    fn view_of(row: &<Db as sqlx::Database>::Row) -> Result<CertificateView, StoreError> {
        let credential_uuid: Option<String> = row.try_get("credential_uuid")?;
        let credential_data: Option<String> = row.try_get("credential_data")?;
        Ok(CertificateView {
            id: row.try_get("id")?,
            user_id: UserId(row.try_get("user_id")?),
            subject_id: row.try_get("subject_id")?,
            uuid: row.try_get("uuid")?,
            is_revoked: row.try_get("is_revoked")?,
            issue_date: row.try_get("issue_date")?,
            page_revision_id: row.try_get("certificate_page_revision_id")?,
            page_data: json_column(row.try_get("page_data")?),
            page_revised_on: row.try_get("page_revised_on")?,
            credential: match (credential_uuid, json_column(credential_data)) {
                (Some(uuid), Some(data)) => Some((uuid, data)),
                _ => None,
            },
        })
    }

    pub(crate) async fn by_uuid(
        conn: &mut Conn,
        kind: CertificateKind,
        uuid: &str,
    ) -> Result<Option<CertificateView>, StoreError> {
        let sql = sqlx::AssertSqlSafe(view_sql(kind, "uuid"));
        let row = sqlx::query(sql).bind(uuid).fetch_optional(&mut *conn).await?;
        row.as_ref().map(view_of).transpose()
    }

    pub(crate) async fn by_id(
        conn: &mut Conn,
        kind: CertificateKind,
        id: i64,
    ) -> Result<Option<CertificateView>, StoreError> {
        let sql = sqlx::AssertSqlSafe(view_sql(kind, "id"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(view_of).transpose()
    }

    pub(crate) async fn by_credential(
        conn: &mut Conn,
        kind: CertificateKind,
        credential_uuid: &str,
    ) -> Result<Option<CertificateView>, StoreError> {
        let sql = sqlx::AssertSqlSafe(view_sql(kind, "verifiable_credential_id"));
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM verifiable_credentials WHERE uuid = $1")
            .bind(credential_uuid)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(id) = id else { return Ok(None) };
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(view_of).transpose()
    }

    pub(crate) async fn facts(
        conn: &mut Conn,
        kind: CertificateKind,
        id: i64,
    ) -> Result<Option<CredentialFacts>, StoreError> {
        let Some(certificate) = by_id(conn, kind, id).await? else { return Ok(None) };
        let sql = match kind {
            CertificateKind::Course => {
                "SELECT u.name AS learner_name, r.title AS subject_title, co.readable_id, \
                 e.created_on AS enrolled_on \
                 FROM course_run_certificates c JOIN users u ON u.id = c.user_id \
                 JOIN course_runs r ON r.id = c.course_run_id JOIN courses co ON co.id = r.course_id \
                 LEFT JOIN course_run_enrollments e ON e.user_id = c.user_id AND e.run_id = c.course_run_id \
                 WHERE c.id = $1"
            }
            CertificateKind::Program => {
                "SELECT u.name AS learner_name, p.title AS subject_title, p.readable_id, \
                 e.created_on AS enrolled_on \
                 FROM program_certificates c JOIN users u ON u.id = c.user_id \
                 JOIN programs p ON p.id = c.program_id \
                 LEFT JOIN program_enrollments e ON e.user_id = c.user_id AND e.program_id = c.program_id \
                 WHERE c.id = $1"
            }
        };
        let row = sqlx::query(sql).bind(id).fetch_one(&mut *conn).await?;
        Ok(Some(CredentialFacts {
            certificate,
            learner_name: row.try_get("learner_name")?,
            subject_title: row.try_get("subject_title")?,
            readable_id: row.try_get("readable_id")?,
            enrolled_on: row.try_get("enrolled_on")?,
        }))
    }

    pub(crate) async fn latest_revisions(
        conn: &mut Conn,
        owner_column: &str,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, i64>, StoreError> {
        let mut out = BTreeMap::new();
        for id in ids {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT MAX(id) FROM certificate_page_revisions WHERE {owner_column} = $1"
            ));
            let latest: Option<i64> = sqlx::query_scalar(sql).bind(*id).fetch_one(&mut *conn).await?;
            if let Some(latest) = latest {
                out.insert(*id, latest);
            }
        }
        Ok(out)
    }

    pub(crate) async fn without_credential(
        conn: &mut Conn,
        kind: CertificateKind,
        subject: Option<i64>,
        include_linked: bool,
    ) -> Result<Vec<i64>, StoreError> {
        let (table, column) = kind.table();
        let linked = if include_linked { "" } else { " AND verifiable_credential_id IS NULL" };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id FROM {table} WHERE is_revoked = FALSE \
             AND ($1 IS NULL OR {column} = $1){linked} ORDER BY id"
        ));
        Ok(sqlx::query_scalar(sql).bind(subject).fetch_all(&mut *conn).await?)
    }

    pub(crate) async fn link_credential(
        conn: &mut Conn,
        kind: CertificateKind,
        certificate: i64,
        uuid: &str,
        data: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (table, _) = kind.table();
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM verifiable_credentials WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&mut *conn)
            .await?;
        let credential: i64 = match existing {
            Some(id) => {
                sqlx::query("UPDATE verifiable_credentials SET credential_data = $2, updated_on = $3 WHERE id = $1")
                    .bind(id).bind(data).bind(now)
                    .execute(&mut *conn).await.map_err(StoreError::classify)?;
                id
            }
            None => sqlx::query_scalar(
                "INSERT INTO verifiable_credentials (uuid, credential_data, created_on, updated_on) \
                 VALUES ($1, $2, $3, $3) RETURNING id",
            )
            .bind(uuid).bind(data).bind(now)
            .fetch_one(&mut *conn).await.map_err(StoreError::classify)?,
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET verifiable_credential_id = $1, updated_on = $2 \
             WHERE id = $3 AND verifiable_credential_id IS NULL"
        ));
        let done = sqlx::query(sql).bind(credential).bind(now).bind(certificate)
            .execute(&mut *conn).await.map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn unlink_credential(
        conn: &mut Conn,
        kind: CertificateKind,
        certificate: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (table, _) = kind.table();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET verifiable_credential_id = NULL, updated_on = $1 \
             WHERE id = $2 AND verifiable_credential_id IS NOT NULL"
        ));
        let done = sqlx::query(sql).bind(now).bind(certificate)
            .execute(&mut *conn).await.map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// A certificate by its public uuid, revoked or not, with its pinned page revision and
    /// its credential.
    pub async fn certificate_by_uuid(
        &self,
        kind: CertificateKind,
        uuid: &str,
    ) -> Result<Option<CertificateView>, StoreError> {
        with_db!(conn: self, conn, q => q::by_uuid(conn, kind, uuid).await)
    }

    /// The certificate a credential (by the credential's uuid) is linked to.
    pub async fn certificate_by_credential(
        &self,
        kind: CertificateKind,
        credential_uuid: &str,
    ) -> Result<Option<CertificateView>, StoreError> {
        with_db!(conn: self, conn, q => q::by_credential(conn, kind, credential_uuid).await)
    }

    /// What the credential of certificate `id` is built from.
    pub async fn credential_facts(
        &self,
        kind: CertificateKind,
        id: i64,
    ) -> Result<Option<CredentialFacts>, StoreError> {
        with_db!(conn: self, conn, q => q::facts(conn, kind, id).await)
    }

    /// The latest certificate page revision of each course that has one (courses spec
    /// 1.12: a new course-run certificate pins its course's latest revision).
    pub async fn latest_certificate_page_revisions(
        &self,
        courses: &[CourseId],
    ) -> Result<BTreeMap<CourseId, PageRevisionId>, StoreError> {
        let ids: Vec<i64> = courses.iter().map(|c| c.0).collect();
        let found =
            with_db!(conn: self, conn, q => q::latest_revisions(conn, "course_id", &ids).await)?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (CourseId(k), PageRevisionId(v)))
            .collect())
    }

    /// The latest certificate page revision of each program that has one.
    pub async fn latest_program_certificate_page_revisions(
        &self,
        programs: &[ProgramId],
    ) -> Result<BTreeMap<ProgramId, PageRevisionId>, StoreError> {
        let ids: Vec<i64> = programs.iter().map(|c| c.0).collect();
        let found =
            with_db!(conn: self, conn, q => q::latest_revisions(conn, "program_id", &ids).await)?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (ProgramId(k), PageRevisionId(v)))
            .collect())
    }

    /// Non-revoked certificates of `kind` (of one run or program when `subject` is given)
    /// without a credential, or all of them with `include_linked`, by id.
    pub async fn certificates_needing_credentials(
        &self,
        kind: CertificateKind,
        subject: Option<i64>,
        include_linked: bool,
    ) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::without_credential(conn, kind, subject, include_linked).await)
    }
}

impl Tx {
    /// [`Store::latest_certificate_page_revisions`] inside the unit of work that creates
    /// the certificates.
    pub async fn latest_certificate_page_revisions(
        &mut self,
        courses: &[CourseId],
    ) -> Result<BTreeMap<CourseId, PageRevisionId>, StoreError> {
        let ids: Vec<i64> = courses.iter().map(|c| c.0).collect();
        let found =
            with_db!(tx: self, conn, q => q::latest_revisions(conn, "course_id", &ids).await)?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (CourseId(k), PageRevisionId(v)))
            .collect())
    }

    /// [`Store::latest_program_certificate_page_revisions`] inside a unit of work.
    pub async fn latest_program_certificate_page_revisions(
        &mut self,
        programs: &[ProgramId],
    ) -> Result<BTreeMap<ProgramId, PageRevisionId>, StoreError> {
        let ids: Vec<i64> = programs.iter().map(|c| c.0).collect();
        let found =
            with_db!(tx: self, conn, q => q::latest_revisions(conn, "program_id", &ids).await)?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (ProgramId(k), PageRevisionId(v)))
            .collect())
    }

    /// The certificate `id` (read in the unit of work, for the credential job).
    pub async fn certificate_view(
        &mut self,
        kind: CertificateKind,
        id: i64,
    ) -> Result<Option<CertificateView>, StoreError> {
        with_db!(tx: self, conn, q => q::by_id(conn, kind, id).await)
    }

    /// Stores a signed credential (by its uuid: a credential stored before is replaced)
    /// and links it to certificate `certificate`; `false` when the certificate already
    /// has a credential (nothing linked).
    pub async fn link_verifiable_credential(
        &mut self,
        kind: CertificateKind,
        certificate: i64,
        uuid: &str,
        credential: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let data = credential.to_string();
        with_db!(tx: self, conn, q => q::link_credential(conn, kind, certificate, uuid, &data, now).await)
    }

    /// Unlinks the credential of certificate `certificate` (a forced re-issue); `false`
    /// when none was linked.
    pub async fn unlink_verifiable_credential(
        &mut self,
        kind: CertificateKind,
        certificate: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::unlink_credential(conn, kind, certificate, now).await)
    }
}
