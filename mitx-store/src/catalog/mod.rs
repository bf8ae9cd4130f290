//! Catalog persistence: importing a validated catalog document in one transaction
//! (upserts by readable key, so a second import changes nothing), exporting it back, and
//! the listings operators read.

mod model;
mod queries;

pub use model::{
    CatalogData, CertificatePageRecord, CourseRecord, DepartmentRecord, DiscountRecord,
    ExchangeRateRecord, FlexiblePricingRecord, IncomeThresholdRecord, InstructorRecord, PageRecord,
    ProgramRecord, RequirementRecord, RunRecord, SignatoryRecord, TierRecord,
};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Store, StoreError, with_db};
use queries::{postgres, sqlite};

/// How many records an import created, updated or left as they were, per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Per kind of record, in import order.
    pub kinds: Vec<KindCount>,
}

/// Counts for one kind of record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCount {
    /// `departments`, `courses`, ...
    pub kind: &'static str,
    /// New rows.
    pub created: u64,
    /// Changed rows.
    pub updated: u64,
    /// Rows already as in the file.
    pub unchanged: u64,
}

impl ImportSummary {
    pub(crate) fn count(&mut self, kind: &'static str, change: Change) {
        let entry = match self.kinds.iter_mut().position(|k| k.kind == kind) {
            Some(i) => &mut self.kinds[i],
            None => {
                self.kinds.push(KindCount {
                    kind,
                    ..KindCount::default()
                });
                let last = self.kinds.len() - 1;
                &mut self.kinds[last]
            }
        };
        match change {
            Change::Created => entry.created += 1,
            Change::Updated => entry.updated += 1,
            Change::Unchanged => entry.unchanged += 1,
        }
    }

    /// Whether the import changed anything.
    pub fn changed_anything(&self) -> bool {
        self.kinds.iter().any(|k| k.created > 0 || k.updated > 0)
    }
}

/// What an upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Created,
    Updated,
    Unchanged,
}

/// A course as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CourseRow {
    /// Id.
    pub id: i64,
    /// Readable id.
    pub readable_id: String,
    /// Title.
    pub title: String,
    /// Live.
    pub live: bool,
    /// Number of runs.
    pub runs: i64,
    /// Department names, comma separated.
    pub departments: String,
}

/// A run as listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRow {
    /// Id.
    pub id: i64,
    /// Open edX key.
    pub courseware_id: String,
    /// The course's readable id.
    pub course: String,
    /// Run tag.
    pub run_tag: String,
    /// Start.
    pub start_date: Option<DateTime<Utc>>,
    /// End.
    pub end_date: Option<DateTime<Utc>>,
    /// Enrollment opens.
    pub enrollment_start: Option<DateTime<Utc>>,
    /// Enrollment closes.
    pub enrollment_end: Option<DateTime<Utc>>,
    /// Live.
    pub live: bool,
    /// Self-paced.
    pub is_self_paced: bool,
    /// Active product price, if any.
    pub price: Option<String>,
}

/// A program as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProgramRow {
    /// Id.
    pub id: i64,
    /// Readable id.
    pub readable_id: String,
    /// Title.
    pub title: String,
    /// Live.
    pub live: bool,
    /// Program type.
    pub program_type: Option<String>,
    /// Courses referenced by the requirements tree.
    pub courses: i64,
}

/// The keys already stored, for validating references in a document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CatalogKeys {
    /// Department names.
    pub departments: Vec<String>,
    /// Course readable ids.
    pub courses: Vec<String>,
    /// Program readable ids.
    pub programs: Vec<String>,
    /// Run courseware ids.
    pub runs: Vec<String>,
    /// Run courseware ids and program readable ids that have a product.
    pub products: Vec<String>,
}

/// Row counts of the catalog tables (to check that an import changed nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CatalogCounts {
    /// (table, rows).
    pub tables: Vec<(String, i64)>,
}

impl Store {
    /// Reads the whole catalog back in the import format.
    pub async fn export_catalog(&self) -> Result<CatalogData, StoreError> {
        with_db!(conn: self, conn, q => q::export(conn).await)
    }

    /// Every course, by readable id.
    pub async fn list_courses(&self) -> Result<Vec<CourseRow>, StoreError> {
        with_db!(conn: self, conn, q => q::list_courses(conn).await)
    }

    /// Every run, by course and start date.
    pub async fn list_runs(&self) -> Result<Vec<RunRow>, StoreError> {
        with_db!(conn: self, conn, q => q::list_runs(conn).await)
    }

    /// Every program, by readable id.
    pub async fn list_programs(&self) -> Result<Vec<ProgramRow>, StoreError> {
        with_db!(conn: self, conn, q => q::list_programs(conn).await)
    }

    /// The catalog revision: a counter the database bumps (by trigger) whenever a table the
    /// public catalog renders changes. Equal revisions mean equal catalog data.
    pub async fn catalog_revision(&self) -> Result<i64, StoreError> {
        with_db!(conn: self, conn, q => q::revision(conn).await)
    }

    /// The keys already stored.
    pub async fn catalog_keys(&self) -> Result<CatalogKeys, StoreError> {
        with_db!(conn: self, conn, q => q::keys(conn).await)
    }

    /// Row counts of every catalog table.
    pub async fn catalog_counts(&self) -> Result<CatalogCounts, StoreError> {
        with_db!(conn: self, conn, q => q::counts(conn).await)
    }
}

impl crate::Tx {
    /// The primary-language facts (`mitx_core::catalog::primary_language_conflicts`) of every
    /// stored run of the courses named by readable id, as the unit of work sees them.
    pub async fn primary_language_facts(
        &mut self,
        courses: &[String],
    ) -> Result<Vec<mitx_core::catalog::PrimaryLanguageFacts>, StoreError> {
        with_db!(tx: self, conn, q => q::primary_language_facts(conn, courses).await)
    }

    /// Writes a validated catalog document in the unit of work: everything or nothing.
    /// Records are upserted by their readable keys; nothing is deleted. (A dry run is the
    /// same call in a unit of work that is rolled back.)
    pub async fn import_catalog(
        &mut self,
        data: &CatalogData,
        now: DateTime<Utc>,
    ) -> Result<ImportSummary, StoreError> {
        with_db!(tx: self, conn, q => q::import(conn, data, now).await)
    }
}
