//! Read-model queries behind the public catalog API: courses with their runs, products,
//! pages, departments and programs, loaded for a whole page of results with a fixed number
//! of queries (one per related table, never one per course or run).

use chrono::{DateTime, Utc};
use mitx_core::catalog::{CourseRun, CoursewareId, EnrollmentMode, VariantIndustry, VariantLength};
use mitx_core::ids::{ContractId, CourseId, CourseRunId};
use mitx_core::money::Money;
use sqlx::Row;

use crate::money::DbMoney;
use crate::{Store, StoreError, with_db};

/// Filters of the course listings that the database applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CourseFilter {
    /// Only these ids.
    pub ids: Option<Vec<i64>>,
    /// Only courses with this `live` flag.
    pub live: Option<bool>,
    /// Only the course with this readable id.
    pub readable_id: Option<String>,
    /// Only courses having a page with this `live` flag.
    pub page_live: Option<bool>,
}

/// A product as the catalog shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogProduct {
    /// Id.
    pub id: i64,
    /// Price.
    pub price: Money,
    /// Description.
    pub description: String,
    /// Active.
    pub is_active: bool,
}

/// A run with its products.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogRun {
    /// The run, as the rules need it.
    pub run: CourseRun,
    /// Its products (at most one in practice).
    pub products: Vec<CatalogProduct>,
}

/// The marketing page of a course or program.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogPage {
    /// Page id.
    pub id: i64,
    /// Published.
    pub live: bool,
    /// Description.
    pub description: String,
    /// Feature image URL.
    pub feature_image_src: Option<String>,
    /// Instructors (stored JSON array).
    pub instructors: serde_json::Value,
    /// Length text.
    pub length: String,
    /// Effort text.
    pub effort: Option<String>,
    /// Minimum weeks.
    pub min_weeks: Option<i64>,
    /// Maximum weeks.
    pub max_weeks: Option<i64>,
    /// Minimum weekly hours.
    pub min_weekly_hours: Option<i64>,
    /// Maximum weekly hours.
    pub max_weekly_hours: Option<i64>,
    /// Price text.
    pub price_text: Option<String>,
    /// Topic names.
    pub topics: Vec<String>,
    /// Prerequisites text.
    pub prerequisites: String,
    /// Shown in the Learn catalog.
    pub include_in_learn_catalog: bool,
}

/// A program that contains a course (for the `programs` list of a course).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramRef {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
    /// `course` or none.
    pub display_mode: Option<String>,
    /// B2B only.
    pub b2b_only: bool,
    /// Program type (`Series`, `MicroMasters®`, ...).
    pub program_type: Option<String>,
}

/// A supported variant set of a course.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantSet {
    /// Language.
    pub language: String,
    /// Length code.
    pub variant_length: String,
    /// Industry code.
    pub variant_industry: String,
    /// Active.
    pub active: bool,
    /// B2B only.
    pub b2b_only: bool,
    /// The default set.
    pub is_default: bool,
}

/// A course with everything the catalog shows about it.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogCourse {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
    /// Live.
    pub live: bool,
    /// Its page, if any.
    pub page: Option<CatalogPage>,
    /// Department names, by name.
    pub departments: Vec<String>,
    /// Every run, by id.
    pub runs: Vec<CatalogRun>,
    /// Live programs with a live page whose tree contains the course, by title.
    pub programs: Vec<ProgramRef>,
    /// Supported variant sets.
    pub variant_sets: Vec<VariantSet>,
    /// Flexible-pricing tiers exist for the course (it has a financial assistance form).
    pub has_financial_assistance: bool,
}

/// Filters of the program listings that the database applies (b2b_only programs are never
/// listed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgramFilter {
    /// Only these ids.
    pub ids: Option<Vec<i64>>,
    /// Only programs with this `live` flag.
    pub live: Option<bool>,
    /// Only the program with this readable id.
    pub readable_id: Option<String>,
    /// Only programs having a page with this `live` flag.
    pub page_live: Option<bool>,
}

/// One node of a program's requirements tree, flat (parents by id, siblings by position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequirementRow {
    /// Node id.
    pub id: i64,
    /// Parent node id (none for the root).
    pub parent_id: Option<i64>,
    /// `program_root`, `operator`, `course` or `program`.
    pub node_type: String,
    /// `all_of` / `min_number_of`.
    pub operator: Option<String>,
    /// Operator value text.
    pub operator_value: Option<String>,
    /// Course node: the course id.
    pub course_id: Option<i64>,
    /// Course node: the course readable id.
    pub course_readable_id: Option<String>,
    /// Course node: the course is live.
    pub course_live: bool,
    /// Program node: the sub-program id.
    pub required_program_id: Option<i64>,
    /// Program node: the sub-program readable id.
    pub required_program_readable_id: Option<String>,
    /// Title.
    pub title: String,
    /// Elective flag.
    pub elective_flag: bool,
}

/// A program with everything the catalog shows about it.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogProgram {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
    /// Live.
    pub live: bool,
    /// Program type.
    pub program_type: Option<String>,
    /// `anytime` / `dated`.
    pub availability: String,
    /// Offers audit.
    pub offers_audit: bool,
    /// Offers verified.
    pub offers_verified: bool,
    /// `course` or none.
    pub display_mode: Option<String>,
    /// B2B only.
    pub b2b_only: bool,
    /// Informational dates.
    pub enrollment_start: Option<DateTime<Utc>>,
    /// Informational dates.
    pub enrollment_end: Option<DateTime<Utc>>,
    /// Informational dates.
    pub start_date: Option<DateTime<Utc>>,
    /// Informational dates.
    pub end_date: Option<DateTime<Utc>>,
    /// Page.
    pub page: Option<CatalogPage>,
    /// Department names, by name.
    pub departments: Vec<String>,
    /// The requirements tree, flat, in sibling order.
    pub requirements: Vec<RequirementRow>,
    /// Collections the program belongs to.
    pub collections: Vec<i64>,
    /// Its products.
    pub products: Vec<CatalogProduct>,
    /// Programs whose tree references this one.
    pub parents: Vec<ProgramRef>,
    /// (live, start date) of every run of the courses in its tree.
    pub course_run_starts: Vec<(bool, Option<DateTime<Utc>>)>,
    /// Flexible-pricing tiers exist for the program.
    pub has_financial_assistance: bool,
}

/// A department with the ids of its listed courses and programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogDepartment {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Live courses with a live page (the caller keeps those with an enrollable run).
    pub course_ids: Vec<i64>,
    /// Live programs with a live page.
    pub program_ids: Vec<i64>,
}

/// A program collection with its programs in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogCollection {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// (program id, program title, sort order), by sort order.
    pub programs: Vec<(i64, String, i64)>,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Updated.
    pub updated_on: DateTime<Utc>,
}

/// Whether `text` holds a NUL character. No readable id does (they match
/// `^[\w\-+:.]+$`), and PostgreSQL refuses NUL in a text parameter, so such a key matches
/// nothing without asking the database.
fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json_list(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(table, column, e))
}

/// The page columns every page query selects (after `p.id AS page_id`).
const PAGE_COLUMNS: &str = "p.live AS page_live, p.description, p.feature_image_src, p.instructors, p.length, p.effort, p.min_weeks, p.max_weeks, p.min_weekly_hours, p.max_weekly_hours, p.price_text, p.topics, p.prerequisites, p.include_in_learn_catalog";

crate::backend_queries! {
    /// The page columns of a row (`page_id` null ⇒ no page).
    fn page_from_row(row: &<Db as sqlx::Database>::Row) -> Result<Option<CatalogPage>, StoreError> {
        let page_id: Option<i64> = row.try_get("page_id")?;
        Ok(match page_id {
        None => None,
        Some(page_id) => {
            let instructors: String = row.try_get("instructors")?;
            let topics: String = row.try_get("topics")?;
            Some(CatalogPage {
                id: page_id,
                live: row.try_get("page_live")?,
                description: row.try_get("description")?,
                feature_image_src: row.try_get("feature_image_src")?,
                instructors: serde_json::from_str(&instructors).map_err(|e| StoreError::corrupt("pages", "instructors", e))?,
                length: row.try_get("length")?,
                effort: row.try_get("effort")?,
                min_weeks: row.try_get("min_weeks")?,
                max_weeks: row.try_get("max_weeks")?,
                min_weekly_hours: row.try_get("min_weekly_hours")?,
                max_weekly_hours: row.try_get("max_weekly_hours")?,
                price_text: row.try_get("price_text")?,
                topics: json_list("pages", "topics", &topics)?,
                prerequisites: row.try_get("prerequisites")?,
                include_in_learn_catalog: row.try_get("include_in_learn_catalog")?,
            })
        }
            })
    }

    pub(crate) async fn course_ids(conn: &mut Conn, filter: &CourseFilter) -> Result<Vec<i64>, StoreError> {
        if filter.readable_id.as_deref().is_some_and(has_nul) {
            return Ok(Vec::new());
        }
        let mut sql = String::from("SELECT c.id FROM courses c WHERE 1 = 1");
        let mut n = 1;
        if let Some(ids) = &filter.ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(" AND c.id IN ({})", placeholders(n, ids.len())));
            n += ids.len();
        }
        if filter.live.is_some() {
            sql.push_str(&format!(" AND c.live = ${n}"));
            n += 1;
        }
        if filter.readable_id.is_some() {
            sql.push_str(&format!(" AND c.readable_id = ${n}"));
            n += 1;
        }
        if filter.page_live.is_some() {
            sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM pages p WHERE p.course_id = c.id AND p.live = ${n})"));
        }
        sql.push_str(" ORDER BY c.title, c.id");
        let mut query = sqlx::query_scalar::<Db, i64>(sqlx::AssertSqlSafe(sql));
        for id in filter.ids.iter().flatten() {
            query = query.bind(*id);
        }
        if let Some(live) = filter.live {
            query = query.bind(live);
        }
        if let Some(readable_id) = &filter.readable_id {
            query = query.bind(readable_id.clone());
        }
        if let Some(page_live) = filter.page_live {
            query = query.bind(page_live);
        }
        Ok(query.fetch_all(&mut *conn).await?)
    }

    pub(crate) async fn course_id_by_key(conn: &mut Conn, key: &str) -> Result<Option<i64>, StoreError> {
        if has_nul(key) {
            return Ok(None);
        }
        let by_id = key.parse::<i64>().ok().filter(|_| key.bytes().all(|b| b.is_ascii_digit()));
        let id = match by_id {
            Some(id) => sqlx::query_scalar("SELECT id FROM courses WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?,
            None => sqlx::query_scalar("SELECT id FROM courses WHERE readable_id = $1").bind(key).fetch_optional(&mut *conn).await?,
        };
        Ok(id)
    }

    pub(crate) async fn runs_of(conn: &mut Conn, course_ids: &[i64]) -> Result<Vec<CatalogRun>, StoreError> {
        if course_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, course_ids.len());
        let sql = format!(
            "SELECT r.id, r.course_id, r.title, r.courseware_id, r.run_tag, r.start_date, r.end_date, r.enrollment_start, r.enrollment_end,
                    r.certificate_available_date, r.upgrade_deadline, r.expiration_date, r.live, r.is_self_paced, r.offers_audit, r.offers_verified,
                    r.b2b_contract_id, r.is_source_run, r.is_primary_language, r.language, r.has_courseware_url, r.variant_length, r.variant_industry
             FROM course_runs r WHERE r.course_id IN ({list}) ORDER BY r.id");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in course_ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows {
            let mut modes = Vec::new();
            if row.try_get::<bool, _>("offers_audit")? {
                modes.push(EnrollmentMode::Audit);
            }
            if row.try_get::<bool, _>("offers_verified")? {
                modes.push(EnrollmentMode::Verified);
            }
            let courseware_id: String = row.try_get("courseware_id")?;
            let variant_length: String = row.try_get("variant_length")?;
            let variant_industry: String = row.try_get("variant_industry")?;
            runs.push(CatalogRun {
                run: CourseRun {
                    id: CourseRunId(row.try_get("id")?),
                    course_id: CourseId(row.try_get("course_id")?),
                    title: row.try_get("title")?,
                    courseware_id: CoursewareId::parse(&courseware_id).map_err(|e| StoreError::corrupt("course_runs", "courseware_id", e))?,
                    run_tag: row.try_get("run_tag")?,
                    start_date: row.try_get::<Option<DateTime<Utc>>, _>("start_date")?,
                    end_date: row.try_get("end_date")?,
                    enrollment_start: row.try_get("enrollment_start")?,
                    enrollment_end: row.try_get("enrollment_end")?,
                    certificate_available_date: row.try_get("certificate_available_date")?,
                    upgrade_deadline: row.try_get("upgrade_deadline")?,
                    expiration_date: row.try_get("expiration_date")?,
                    live: row.try_get("live")?,
                    is_self_paced: row.try_get("is_self_paced")?,
                    enrollment_modes: modes,
                    b2b_contract: row.try_get::<Option<i64>, _>("b2b_contract_id")?.map(ContractId),
                    is_source_run: row.try_get("is_source_run")?,
                    is_primary_language: row.try_get("is_primary_language")?,
                    language: row.try_get("language")?,
                    has_courseware_url: row.try_get("has_courseware_url")?,
                    variant_length: if variant_length == "S" { VariantLength::Short } else { VariantLength::Full },
                    variant_industry: match variant_industry.as_str() {
                        "E" => VariantIndustry::Energy,
                        "F" => VariantIndustry::Finance,
                        "HC" => VariantIndustry::Healthcare,
                        _ => VariantIndustry::General,
                    },
                },
                products: Vec::new(),
            });
        }
        // Products of every loaded run in one query.
        if !runs.is_empty() {
            let sql = format!(
                // Written as `object_id IN (runs of the courses)` so both planners probe the
                // (content_type, object_id) index per run; the equivalent join scanned every
                // run product on a database without statistics.
                "SELECT p.id, p.object_id, p.price, p.description, p.is_active FROM products p
                 WHERE p.content_type = 'courserun'
                   AND p.object_id IN (SELECT r.id FROM course_runs r WHERE r.course_id IN ({list}))
                 ORDER BY p.id");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in course_ids {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let run_id: i64 = row.try_get("object_id")?;
                let product = CatalogProduct {
                    id: row.try_get("id")?,
                    price: row.try_get::<DbMoney, _>("price")?.0,
                    description: row.try_get("description")?,
                    is_active: row.try_get("is_active")?,
                };
                if let Some(run) = runs.iter_mut().find(|r| r.run.id.0 == run_id) {
                    run.products.push(product);
                }
            }
        }
        Ok(runs)
    }

    pub(crate) async fn courses(conn: &mut Conn, ids: &[i64]) -> Result<Vec<CatalogCourse>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, ids.len());
        let sql = format!(
            "SELECT c.id, c.title, c.readable_id, c.live,
                    p.id AS page_id, {PAGE_COLUMNS}
             FROM courses c LEFT JOIN pages p ON p.course_id = c.id
             WHERE c.id IN ({list})");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        let mut courses = Vec::with_capacity(rows.len());
        for row in rows {
            let page = page_from_row(&row)?;
            courses.push(CatalogCourse {
                id: row.try_get("id")?,
                title: row.try_get("title")?,
                readable_id: row.try_get("readable_id")?,
                live: row.try_get("live")?,
                page,
                departments: Vec::new(),
                runs: Vec::new(),
                programs: Vec::new(),
                variant_sets: Vec::new(),
                has_financial_assistance: false,
            });
        }
        let bind_ids = |sql: String| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            query
        };
        let departments = bind_ids(format!(
            "SELECT cd.course_id, d.name FROM course_departments cd JOIN departments d ON d.id = cd.department_id
             WHERE cd.course_id IN ({list}) ORDER BY d.name"))
            .fetch_all(&mut *conn).await?;
        for row in departments {
            let course_id: i64 = row.try_get("course_id")?;
            if let Some(c) = courses.iter_mut().find(|c| c.id == course_id) {
                c.departments.push(row.try_get("name")?);
            }
        }
        let programs = bind_ids(format!(
            "SELECT DISTINCT n.course_id, g.id, g.title, g.readable_id, g.display_mode, g.b2b_only, g.program_type
             FROM program_requirements n JOIN programs g ON g.id = n.program_id
             JOIN pages pp ON pp.program_id = g.id
             WHERE n.course_id IN ({list}) AND g.live AND pp.live
             ORDER BY g.title, g.id"))
            .fetch_all(&mut *conn).await?;
        for row in programs {
            let course_id: i64 = row.try_get("course_id")?;
            if let Some(c) = courses.iter_mut().find(|c| c.id == course_id) {
                c.programs.push(ProgramRef {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    readable_id: row.try_get("readable_id")?,
                    display_mode: row.try_get("display_mode")?,
                    b2b_only: row.try_get("b2b_only")?,
                    program_type: row.try_get("program_type")?,
                });
            }
        }
        let variants = bind_ids(format!(
            "SELECT course_id, language, variant_length, variant_industry, active, b2b_only, is_default
             FROM course_variant_options WHERE course_id IN ({list}) ORDER BY id"))
            .fetch_all(&mut *conn).await?;
        for row in variants {
            let course_id: i64 = row.try_get("course_id")?;
            if let Some(c) = courses.iter_mut().find(|c| c.id == course_id) {
                c.variant_sets.push(VariantSet {
                    language: row.try_get("language")?,
                    variant_length: row.try_get("variant_length")?,
                    variant_industry: row.try_get("variant_industry")?,
                    active: row.try_get("active")?,
                    b2b_only: row.try_get("b2b_only")?,
                    is_default: row.try_get("is_default")?,
                });
            }
        }
        let assisted = bind_ids(format!(
            "SELECT DISTINCT course_id FROM flexible_price_tiers WHERE course_id IN ({list})"
        ))
        .fetch_all(&mut *conn)
        .await?;
        for row in assisted {
            let course_id: i64 = row.try_get("course_id")?;
            if let Some(c) = courses.iter_mut().find(|c| c.id == course_id) {
                c.has_financial_assistance = true;
            }
        }
        for run in runs_of(conn, ids).await? {
            if let Some(c) = courses.iter_mut().find(|c| c.id == run.run.course_id.0) {
                c.runs.push(run);
            }
        }
        // Keep the caller's order (the listing order).
        courses.sort_by_key(|c| ids.iter().position(|id| *id == c.id).unwrap_or(usize::MAX));
        Ok(courses)
    }

    pub(crate) async fn program_ids(conn: &mut Conn, filter: &ProgramFilter, include_b2b: bool) -> Result<Vec<i64>, StoreError> {
        if filter.readable_id.as_deref().is_some_and(has_nul) {
            return Ok(Vec::new());
        }
        let mut sql = String::from(if include_b2b {
            "SELECT g.id FROM programs g WHERE 1 = 1"
        } else {
            "SELECT g.id FROM programs g WHERE NOT g.b2b_only"
        });
        let mut n = 1;
        if let Some(ids) = &filter.ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(" AND g.id IN ({})", placeholders(n, ids.len())));
            n += ids.len();
        }
        if filter.live.is_some() {
            sql.push_str(&format!(" AND g.live = ${n}"));
            n += 1;
        }
        if filter.readable_id.is_some() {
            sql.push_str(&format!(" AND g.readable_id = ${n}"));
            n += 1;
        }
        if filter.page_live.is_some() {
            sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM pages p WHERE p.program_id = g.id AND p.live = ${n})"));
        }
        sql.push_str(" ORDER BY g.title, g.id");
        let mut query = sqlx::query_scalar::<Db, i64>(sqlx::AssertSqlSafe(sql));
        for id in filter.ids.iter().flatten() {
            query = query.bind(*id);
        }
        if let Some(live) = filter.live {
            query = query.bind(live);
        }
        if let Some(readable_id) = &filter.readable_id {
            query = query.bind(readable_id.clone());
        }
        if let Some(page_live) = filter.page_live {
            query = query.bind(page_live);
        }
        Ok(query.fetch_all(&mut *conn).await?)
    }

    pub(crate) async fn program_id_by_key(conn: &mut Conn, key: &str, include_b2b: bool) -> Result<Option<i64>, StoreError> {
        if has_nul(key) {
            return Ok(None);
        }
        let by_id = key.parse::<i64>().ok().filter(|_| key.bytes().all(|b| b.is_ascii_digit()));
        let id = match by_id {
            Some(id) => sqlx::query_scalar("SELECT id FROM programs WHERE id = $1 AND ($2 OR NOT b2b_only)").bind(id).bind(include_b2b).fetch_optional(&mut *conn).await?,
            None => sqlx::query_scalar("SELECT id FROM programs WHERE readable_id = $1 AND ($2 OR NOT b2b_only)").bind(key).bind(include_b2b).fetch_optional(&mut *conn).await?,
        };
        Ok(id)
    }

    pub(crate) async fn b2b_course_ids(conn: &mut Conn, organization: Option<i64>, contract: Option<i64>) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT r.course_id FROM course_runs r JOIN contracts k ON k.id = r.b2b_contract_id
             WHERE k.active AND ($1 IS NULL OR k.organization_id = $1) AND ($2 IS NULL OR k.id = $2)
             ORDER BY r.course_id")
            .bind(organization)
            .bind(contract)
            .fetch_all(&mut *conn)
            .await?)
    }

    pub(crate) async fn contract_program_ids(conn: &mut Conn, organization: Option<i64>, contract: Option<i64>) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT cp.program_id FROM contract_programs cp JOIN contracts k ON k.id = cp.contract_id
             WHERE ($1 IS NULL OR k.organization_id = $1) AND ($2 IS NULL OR k.id = $2)
             ORDER BY cp.program_id")
            .bind(organization)
            .bind(contract)
            .fetch_all(&mut *conn)
            .await?)
    }

    pub(crate) async fn programs(conn: &mut Conn, ids: &[i64]) -> Result<Vec<CatalogProgram>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, ids.len());
        let bind_ids = |sql: String| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            query
        };
        let rows = bind_ids(format!(
            "SELECT g.id, g.title, g.readable_id, g.live, g.program_type, g.availability, g.offers_audit, g.offers_verified,
                    g.display_mode, g.b2b_only, g.enrollment_start, g.enrollment_end, g.start_date, g.end_date,
                    p.id AS page_id, {PAGE_COLUMNS}
             FROM programs g LEFT JOIN pages p ON p.program_id = g.id
             WHERE g.id IN ({list})"))
            .fetch_all(&mut *conn).await?;
        let mut programs = Vec::with_capacity(rows.len());
        for row in rows {
            programs.push(CatalogProgram {
                id: row.try_get("id")?,
                title: row.try_get("title")?,
                readable_id: row.try_get("readable_id")?,
                live: row.try_get("live")?,
                program_type: row.try_get("program_type")?,
                availability: row.try_get("availability")?,
                offers_audit: row.try_get("offers_audit")?,
                offers_verified: row.try_get("offers_verified")?,
                display_mode: row.try_get("display_mode")?,
                b2b_only: row.try_get("b2b_only")?,
                enrollment_start: row.try_get("enrollment_start")?,
                enrollment_end: row.try_get("enrollment_end")?,
                start_date: row.try_get("start_date")?,
                end_date: row.try_get("end_date")?,
                page: page_from_row(&row)?,
                departments: Vec::new(),
                requirements: Vec::new(),
                collections: Vec::new(),
                products: Vec::new(),
                parents: Vec::new(),
                course_run_starts: Vec::new(),
                has_financial_assistance: false,
            });
        }
        let find = |programs: &mut Vec<CatalogProgram>, id: i64| programs.iter_mut().position(|p| p.id == id);
        for row in bind_ids(format!(
            "SELECT pd.program_id, d.name FROM program_departments pd JOIN departments d ON d.id = pd.department_id
             WHERE pd.program_id IN ({list}) ORDER BY d.name"))
            .fetch_all(&mut *conn).await?
        {
            if let Some(i) = find(&mut programs, row.try_get("program_id")?) {
                programs[i].departments.push(row.try_get("name")?);
            }
        }
        for row in bind_ids(format!(
            "SELECT n.program_id, n.id, n.parent_id, n.node_type, n.operator, n.operator_value, n.course_id, c.readable_id AS course_readable_id,
                    c.live AS course_live, n.required_program_id, s.readable_id AS program_readable_id, n.title, n.elective_flag
             FROM program_requirements n
             LEFT JOIN courses c ON c.id = n.course_id
             LEFT JOIN programs s ON s.id = n.required_program_id
             WHERE n.program_id IN ({list}) ORDER BY n.position, n.id"))
            .fetch_all(&mut *conn).await?
        {
            if let Some(i) = find(&mut programs, row.try_get("program_id")?) {
                programs[i].requirements.push(RequirementRow {
                    id: row.try_get("id")?,
                    parent_id: row.try_get("parent_id")?,
                    node_type: row.try_get("node_type")?,
                    operator: row.try_get("operator")?,
                    operator_value: row.try_get("operator_value")?,
                    course_id: row.try_get("course_id")?,
                    course_readable_id: row.try_get("course_readable_id")?,
                    course_live: row.try_get::<Option<bool>, _>("course_live")?.unwrap_or(false),
                    required_program_id: row.try_get("required_program_id")?,
                    required_program_readable_id: row.try_get("program_readable_id")?,
                    title: row.try_get("title")?,
                    elective_flag: row.try_get("elective_flag")?,
                });
            }
        }
        for row in bind_ids(format!(
            "SELECT program_id, collection_id FROM program_collection_items WHERE program_id IN ({list}) ORDER BY collection_id"))
            .fetch_all(&mut *conn).await?
        {
            if let Some(i) = find(&mut programs, row.try_get("program_id")?) {
                programs[i].collections.push(row.try_get("collection_id")?);
            }
        }
        for row in bind_ids(format!(
            "SELECT id, object_id, price, description, is_active FROM products WHERE content_type = 'program' AND object_id IN ({list}) ORDER BY id"))
            .fetch_all(&mut *conn).await?
        {
            if let Some(i) = find(&mut programs, row.try_get("object_id")?) {
                programs[i].products.push(CatalogProduct {
                    id: row.try_get("id")?,
                    price: row.try_get::<DbMoney, _>("price")?.0,
                    description: row.try_get("description")?,
                    is_active: row.try_get("is_active")?,
                });
            }
        }
        for row in bind_ids(format!(
            "SELECT DISTINCT n.required_program_id AS child, g.id, g.title, g.readable_id, g.display_mode, g.b2b_only, g.program_type
             FROM program_requirements n JOIN programs g ON g.id = n.program_id
             WHERE n.required_program_id IN ({list}) ORDER BY g.title, g.id"))
            .fetch_all(&mut *conn).await?
        {
            if let Some(i) = find(&mut programs, row.try_get("child")?) {
                programs[i].parents.push(ProgramRef {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    readable_id: row.try_get("readable_id")?,
                    display_mode: row.try_get("display_mode")?,
                    b2b_only: row.try_get("b2b_only")?,
                    program_type: row.try_get("program_type")?,
                });
            }
        }
        for row in bind_ids(format!(
            "SELECT DISTINCT n.program_id, r.id, r.live, r.start_date
             FROM program_requirements n JOIN course_runs r ON r.course_id = n.course_id
             WHERE n.program_id IN ({list}) AND NOT r.is_source_run AND r.run_tag <> 'SOURCE' AND r.b2b_contract_id IS NULL"))
            .fetch_all(&mut *conn).await?
        {
            if let Some(i) = find(&mut programs, row.try_get("program_id")?) {
                let start: Option<DateTime<Utc>> = row.try_get("start_date")?;
                programs[i].course_run_starts.push((row.try_get("live")?, start));
            }
        }
        for row in bind_ids(format!(
            "SELECT DISTINCT program_id FROM flexible_price_tiers WHERE program_id IN ({list})"))
            .fetch_all(&mut *conn).await?
        {
            if let Some(i) = find(&mut programs, row.try_get("program_id")?) {
                programs[i].has_financial_assistance = true;
            }
        }
        programs.sort_by_key(|p| ids.iter().position(|id| *id == p.id).unwrap_or(usize::MAX));
        Ok(programs)
    }

    pub(crate) async fn departments(conn: &mut Conn, only: Option<i64>) -> Result<Vec<CatalogDepartment>, StoreError> {
        let rows = sqlx::query("SELECT id, name, slug FROM departments WHERE ($1 IS NULL OR id = $1) ORDER BY name")
            .bind(only).fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(CatalogDepartment {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                slug: row.try_get("slug")?,
                course_ids: Vec::new(),
                program_ids: Vec::new(),
            });
        }
        let courses = sqlx::query(
            "SELECT cd.department_id, c.id FROM course_departments cd JOIN courses c ON c.id = cd.course_id
             JOIN pages p ON p.course_id = c.id
             WHERE c.live AND p.live AND ($1 IS NULL OR cd.department_id = $1) ORDER BY c.id")
            .bind(only).fetch_all(&mut *conn).await?;
        for row in courses {
            let department: i64 = row.try_get("department_id")?;
            if let Some(d) = out.iter_mut().find(|d| d.id == department) {
                d.course_ids.push(row.try_get("id")?);
            }
        }
        let programs = sqlx::query(
            "SELECT pd.department_id, g.id FROM program_departments pd JOIN programs g ON g.id = pd.program_id
             JOIN pages p ON p.program_id = g.id
             WHERE g.live AND p.live AND ($1 IS NULL OR pd.department_id = $1) ORDER BY g.id")
            .bind(only).fetch_all(&mut *conn).await?;
        for row in programs {
            let department: i64 = row.try_get("department_id")?;
            if let Some(d) = out.iter_mut().find(|d| d.id == department) {
                d.program_ids.push(row.try_get("id")?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn run_course_id(conn: &mut Conn, run_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT course_id FROM course_runs WHERE id = $1").bind(run_id).fetch_optional(&mut *conn).await?)
    }

    pub(crate) async fn collection_ids(conn: &mut Conn) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM program_collections ORDER BY title, id").fetch_all(&mut *conn).await?)
    }

    pub(crate) async fn collections(conn: &mut Conn, ids: &[i64]) -> Result<Vec<CatalogCollection>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, ids.len());
        let bind_ids = |sql: String| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                query = query.bind(*id);
            }
            query
        };
        let mut out = Vec::new();
        for row in bind_ids(format!("SELECT id, title, description, created_on, updated_on FROM program_collections WHERE id IN ({list})"))
            .fetch_all(&mut *conn).await?
        {
            out.push(CatalogCollection {
                id: row.try_get("id")?,
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                programs: Vec::new(),
                created_on: row.try_get("created_on")?,
                updated_on: row.try_get("updated_on")?,
            });
        }
        for row in bind_ids(format!(
            "SELECT i.collection_id, g.id, g.title, i.sort_order FROM program_collection_items i JOIN programs g ON g.id = i.program_id
             WHERE i.collection_id IN ({list}) ORDER BY i.sort_order, g.id"))
            .fetch_all(&mut *conn).await?
        {
            let collection: i64 = row.try_get("collection_id")?;
            if let Some(c) = out.iter_mut().find(|c| c.id == collection) {
                c.programs.push((row.try_get("id")?, row.try_get("title")?, row.try_get("sort_order")?));
            }
        }
        out.sort_by_key(|c| ids.iter().position(|id| *id == c.id).unwrap_or(usize::MAX));
        Ok(out)
    }
}

impl Store {
    /// Ids of the courses matching `filter`, ordered by title then id.
    pub async fn catalog_course_ids(&self, filter: &CourseFilter) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::course_ids(conn, filter).await)
    }

    /// The id of the course named by `key`: all digits ⇒ primary key, else readable id.
    pub async fn catalog_course_id(&self, key: &str) -> Result<Option<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::course_id_by_key(conn, key).await)
    }

    /// The runs (with products) of these courses, by id.
    pub async fn catalog_runs_of(&self, course_ids: &[i64]) -> Result<Vec<CatalogRun>, StoreError> {
        with_db!(conn: self, conn, q => q::runs_of(conn, course_ids).await)
    }

    /// These courses with pages, departments, runs, products, programs and variant sets, in
    /// the order of `ids` (unknown ids are skipped). Eight queries whatever the page size.
    pub async fn catalog_courses(&self, ids: &[i64]) -> Result<Vec<CatalogCourse>, StoreError> {
        with_db!(conn: self, conn, q => q::courses(conn, ids).await)
    }
    /// Ids of the public (non-B2B-only) programs matching `filter`, by title then id.
    pub async fn catalog_program_ids(
        &self,
        filter: &ProgramFilter,
    ) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::program_ids(conn, filter, false).await)
    }

    /// Ids of every program matching `filter`, B2B-only ones included, by title then id.
    pub async fn catalog_program_ids_with_b2b(
        &self,
        filter: &ProgramFilter,
    ) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::program_ids(conn, filter, true).await)
    }

    /// The id of the public program named by `key`: all digits ⇒ primary key, else
    /// readable id. B2B-only programs are not found.
    pub async fn catalog_program_id(&self, key: &str) -> Result<Option<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::program_id_by_key(conn, key, false).await)
    }

    /// Like [`Store::catalog_program_id`], B2B-only programs included.
    pub async fn catalog_program_id_with_b2b(&self, key: &str) -> Result<Option<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::program_id_by_key(conn, key, true).await)
    }

    /// Ids of the courses having a run in an active-flagged contract of `organization`
    /// (when given) that is `contract` (when given), by id: the B2B filters of the v2
    /// course listing.
    pub async fn catalog_b2b_course_ids(
        &self,
        organization: Option<i64>,
        contract: Option<i64>,
    ) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::b2b_course_ids(conn, organization, contract).await)
    }

    /// Ids of the programs linked (`contract_programs`) to a contract of `organization`
    /// (when given) that is `contract` (when given), in any state, by id.
    pub async fn catalog_contract_program_ids(
        &self,
        organization: Option<i64>,
        contract: Option<i64>,
    ) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::contract_program_ids(conn, organization, contract).await)
    }

    /// These programs with pages, departments, trees, collections, products, parents and
    /// the run starts of their courses, in the order of `ids`. Nine queries whatever the
    /// page size.
    pub async fn catalog_programs(&self, ids: &[i64]) -> Result<Vec<CatalogProgram>, StoreError> {
        with_db!(conn: self, conn, q => q::programs(conn, ids).await)
    }
    /// Departments by name (or only `only`), with their live courses and programs that
    /// have live pages. Three queries.
    pub async fn catalog_departments(
        &self,
        only: Option<i64>,
    ) -> Result<Vec<CatalogDepartment>, StoreError> {
        with_db!(conn: self, conn, q => q::departments(conn, only).await)
    }

    /// Program collection ids by title.
    pub async fn catalog_collection_ids(&self) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::collection_ids(conn).await)
    }

    /// These program collections with their programs, in the order of `ids`.
    pub async fn catalog_collections(
        &self,
        ids: &[i64],
    ) -> Result<Vec<CatalogCollection>, StoreError> {
        with_db!(conn: self, conn, q => q::collections(conn, ids).await)
    }
    /// The course of run `run_id`, if the run exists.
    pub async fn catalog_run_course_id(&self, run_id: i64) -> Result<Option<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::run_course_id(conn, run_id).await)
    }
}
