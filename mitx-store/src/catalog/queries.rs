//! Catalog SQL, written once for both backends.

use chrono::{DateTime, Utc};
use mitx_core::catalog::{PrimaryLanguageFacts, slugify};
use mitx_core::ids::ContractId;
use mitx_core::money::Money;
use rust_decimal::Decimal;
use sqlx::Row;

use super::model::*;
use super::{CatalogCounts, Change, CourseRow, ImportSummary, ProgramRow, RunRow};
use crate::StoreError;
use crate::certificates::PageOwner;
use crate::money::DbMoney;

/// The catalog tables, for counts.
pub(crate) const CATALOG_TABLES: &[&str] = &[
    "departments",
    "courses",
    "course_departments",
    "blocked_countries",
    "course_runs",
    "programs",
    "program_departments",
    "program_requirements",
    "pages",
    "products",
    "product_versions",
    "discounts",
    "discount_products",
    "exchange_rates",
    "country_income_thresholds",
    "flexible_price_tiers",
];

fn price(text: &str) -> Result<Money, StoreError> {
    Money::parse_price(text).map_err(|e| StoreError::corrupt("products", "price", e))
}

fn amount(text: &str) -> Result<Money, StoreError> {
    Money::parse_amount(text).map_err(|e| StoreError::corrupt("discounts", "amount", e))
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn modes(list: &[String]) -> (bool, bool) {
    (
        list.iter().any(|m| m == "audit"),
        list.iter().any(|m| m == "verified"),
    )
}

fn modes_back(audit: bool, verified: bool) -> Vec<String> {
    let mut out = Vec::new();
    if audit {
        out.push("audit".to_owned());
    }
    if verified {
        out.push("verified".to_owned());
    }
    out
}

fn money_text(m: Money, dp: u32) -> String {
    let mut d: Decimal = m.amount();
    d = d.normalize();
    if d.scale() < dp {
        d.rescale(dp);
    }
    d.to_string()
}

crate::backend_queries! {
    async fn id_of(conn: &mut Conn, sql: &'static str, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(sql).bind(key).fetch_optional(&mut *conn).await?)
    }

    fn changed(affected: u64) -> Change {
        if affected > 0 { Change::Updated } else { Change::Unchanged }
    }

    pub(crate) async fn import(conn: &mut Conn, data: &CatalogData, now: DateTime<Utc>) -> Result<ImportSummary, StoreError> {
        let mut summary = ImportSummary::default();
        for d in &data.departments {
            let slug = d.slug.clone().unwrap_or_else(|| slugify(&d.name));
            let change = match id_of(conn, "SELECT id FROM departments WHERE name = $1", &d.name).await? {
                None => {
                    sqlx::query("INSERT INTO departments (name, slug, created_on, updated_on) VALUES ($1, $2, $3, $3)")
                        .bind(&d.name).bind(&slug).bind(now).execute(&mut *conn).await.map_err(StoreError::classify)?;
                    Change::Created
                }
                Some(id) => changed(sqlx::query("UPDATE departments SET slug = $2, updated_on = $3 WHERE id = $1 AND slug IS DISTINCT FROM $2")
                    .bind(id).bind(&slug).bind(now).execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected()),
            };
            summary.count("departments", change);
        }
        for course in &data.courses {
            let course_id = upsert_course(conn, course, now, &mut summary).await?;
            if let Some(page) = &course.certificate_page {
                let change = save_certificate_page(conn, PageOwner::Course(course_id), page, now).await?;
                summary.count("certificate pages", change);
            }
            for run in &course.runs {
                let run_id = upsert_run(conn, course_id, course, run, now, &mut summary).await?;
                if let Some(p) = &run.price {
                    upsert_product(conn, "courserun", run_id, price(p)?, &run.courseware_id, now, &mut summary).await?;
                }
            }
        }
        // Programs first, then trees: a tree may name a program listed later in the file.
        let mut program_ids = Vec::new();
        for program in &data.programs {
            let id = upsert_program(conn, program, now, &mut summary).await?;
            if let Some(p) = &program.price {
                upsert_product(conn, "program", id, price(p)?, &program.readable_id, now, &mut summary).await?;
            }
            if let Some(page) = &program.certificate_page {
                let change = save_certificate_page(conn, PageOwner::Program(id), page, now).await?;
                summary.count("certificate pages", change);
            }
            program_ids.push(id);
        }
        for (program, id) in data.programs.iter().zip(program_ids) {
            let existing = read_tree(conn, id).await?;
            if existing == program.requirements {
                summary.count("requirement trees", Change::Unchanged);
            } else {
                let had_tree = tree_exists(conn, id).await?;
                write_tree(conn, id, &program.requirements).await?;
                summary.count("requirement trees", if had_tree { Change::Updated } else { Change::Created });
            }
        }
        let fp = &data.flexible_pricing;
        for rate in &fp.exchange_rates {
            let change = match id_of(conn, "SELECT id FROM exchange_rates WHERE currency_code = $1", &rate.currency_code).await? {
                None => {
                    sqlx::query("INSERT INTO exchange_rates (currency_code, description, exchange_rate) VALUES ($1, $2, $3)")
                        .bind(&rate.currency_code).bind(&rate.description).bind(rate.rate).execute(&mut *conn).await.map_err(StoreError::classify)?;
                    Change::Created
                }
                Some(id) => changed(sqlx::query("UPDATE exchange_rates SET description = $2, exchange_rate = $3 WHERE id = $1 AND (description IS DISTINCT FROM $2 OR exchange_rate IS DISTINCT FROM $3)")
                    .bind(id).bind(&rate.description).bind(rate.rate).execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected()),
            };
            summary.count("exchange rates", change);
        }
        for t in &fp.income_thresholds {
            let change = match id_of(conn, "SELECT id FROM country_income_thresholds WHERE country_code = $1", &t.country_code).await? {
                None => {
                    sqlx::query("INSERT INTO country_income_thresholds (country_code, income_threshold) VALUES ($1, $2)")
                        .bind(&t.country_code).bind(t.income_threshold).execute(&mut *conn).await.map_err(StoreError::classify)?;
                    Change::Created
                }
                Some(id) => changed(sqlx::query("UPDATE country_income_thresholds SET income_threshold = $2 WHERE id = $1 AND income_threshold IS DISTINCT FROM $2")
                    .bind(id).bind(t.income_threshold).execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected()),
            };
            summary.count("income thresholds", change);
        }
        for tier in &fp.tiers {
            let discount = DiscountRecord {
                code: tier.code.clone(),
                discount_type: tier.discount_type.clone(),
                amount: tier.amount.clone(),
                redemption_type: "unlimited".into(),
                payment_type: Some("financial-assistance".into()),
                max_redemptions: 0,
                automatic: false,
                activation_date: None,
                expiration_date: None,
                products: Vec::new(),
            };
            let discount_id = upsert_discount(conn, &discount, now, &mut summary).await?;
            let (course_id, program_id) = courseware_ids(conn, &tier.courseware).await?;
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM flexible_price_tiers WHERE income_threshold_usd = $1 AND (course_id = $2 OR program_id = $3)")
                .bind(tier.threshold).bind(course_id).bind(program_id).fetch_optional(&mut *conn).await?;
            let change = match existing {
                None => {
                    sqlx::query("INSERT INTO flexible_price_tiers (course_id, program_id, income_threshold_usd, discount_id, current) VALUES ($1, $2, $3, $4, $5)")
                        .bind(course_id).bind(program_id).bind(tier.threshold).bind(discount_id).bind(tier.current)
                        .execute(&mut *conn).await.map_err(StoreError::classify)?;
                    Change::Created
                }
                Some(id) => changed(sqlx::query("UPDATE flexible_price_tiers SET discount_id = $2, current = $3 WHERE id = $1 AND (discount_id IS DISTINCT FROM $2 OR current IS DISTINCT FROM $3)")
                    .bind(id).bind(discount_id).bind(tier.current).execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected()),
            };
            summary.count("flexible-price tiers", change);
        }
        for discount in &data.discounts {
            let id = upsert_discount(conn, discount, now, &mut summary).await?;
            let mut product_ids = Vec::new();
            for key in &discount.products {
                product_ids.push(product_of(conn, key).await?);
            }
            product_ids.sort_unstable();
            let current: Vec<i64> = sqlx::query_scalar("SELECT product_id FROM discount_products WHERE discount_id = $1 ORDER BY product_id")
                .bind(id).fetch_all(&mut *conn).await?;
            if current != product_ids {
                sqlx::query("DELETE FROM discount_products WHERE discount_id = $1").bind(id).execute(&mut *conn).await?;
                for p in &product_ids {
                    sqlx::query("INSERT INTO discount_products (discount_id, product_id) VALUES ($1, $2)")
                        .bind(id).bind(p).execute(&mut *conn).await.map_err(StoreError::classify)?;
                }
            }
        }
        Ok(summary)
    }

    async fn courseware_ids(conn: &mut Conn, readable_id: &str) -> Result<(Option<i64>, Option<i64>), StoreError> {
        if let Some(id) = id_of(conn, "SELECT id FROM programs WHERE readable_id = $1", readable_id).await? {
            return Ok((None, Some(id)));
        }
        match id_of(conn, "SELECT id FROM courses WHERE readable_id = $1", readable_id).await? {
            Some(id) => Ok((Some(id), None)),
            None => Err(StoreError::NotFound { entity: "course or program", key: readable_id.to_owned() }),
        }
    }

    async fn product_of(conn: &mut Conn, key: &str) -> Result<i64, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT p.id FROM products p JOIN course_runs r ON p.content_type = 'courserun' AND p.object_id = r.id WHERE r.courseware_id = $1
             UNION ALL
             SELECT p.id FROM products p JOIN programs g ON p.content_type = 'program' AND p.object_id = g.id WHERE g.readable_id = $1")
            .bind(key).fetch_optional(&mut *conn).await?;
        found.ok_or_else(|| StoreError::NotFound { entity: "product for", key: key.to_owned() })
    }

    /// Writes a new revision of a certificate page when its content differs from the
    /// latest revision (an unchanged page writes nothing).
    async fn save_certificate_page(conn: &mut Conn, owner: PageOwner, page: &CertificatePageRecord, now: DateTime<Utc>) -> Result<Change, StoreError> {
        let data = serde_json::to_value(page).map_err(|e| StoreError::corrupt("certificate_page_revisions", "page_data", e))?;
        let (column, key) = owner.column();
        let sql = sqlx::AssertSqlSafe(format!("SELECT page_data FROM certificate_page_revisions WHERE {column} = $1 ORDER BY id DESC LIMIT 1"));
        let latest: Option<String> = sqlx::query_scalar(sql).bind(key).fetch_optional(&mut *conn).await?;
        let latest: Option<serde_json::Value> = latest.and_then(|text| serde_json::from_str(&text).ok());
        if latest.as_ref() == Some(&data) {
            return Ok(Change::Unchanged);
        }
        let sql = sqlx::AssertSqlSafe(format!("INSERT INTO certificate_page_revisions ({column}, page_data, created_on) VALUES ($1, $2, $3)"));
        sqlx::query(sql).bind(key).bind(data.to_string()).bind(now).execute(&mut *conn).await.map_err(StoreError::classify)?;
        Ok(if latest.is_some() { Change::Updated } else { Change::Created })
    }

    /// The latest certificate page of a course or program, as the import format has it.
    async fn latest_certificate_page(conn: &mut Conn, owner: PageOwner) -> Result<Option<CertificatePageRecord>, StoreError> {
        let (column, key) = owner.column();
        let sql = sqlx::AssertSqlSafe(format!("SELECT page_data FROM certificate_page_revisions WHERE {column} = $1 ORDER BY id DESC LIMIT 1"));
        let latest: Option<String> = sqlx::query_scalar(sql).bind(key).fetch_optional(&mut *conn).await?;
        Ok(latest.and_then(|text| serde_json::from_str(&text).ok()))
    }

    async fn upsert_course(conn: &mut Conn, c: &CourseRecord, now: DateTime<Utc>, summary: &mut ImportSummary) -> Result<i64, StoreError> {
        let (id, change) = match id_of(conn, "SELECT id FROM courses WHERE readable_id = $1", &c.readable_id).await? {
            None => {
                let id: i64 = sqlx::query_scalar("INSERT INTO courses (readable_id, title, live, created_on, updated_on) VALUES ($1, $2, $3, $4, $4) RETURNING id")
                    .bind(&c.readable_id).bind(&c.title).bind(c.live).bind(now).fetch_one(&mut *conn).await.map_err(StoreError::classify)?;
                (id, Change::Created)
            }
            Some(id) => {
                let n = sqlx::query("UPDATE courses SET title = $2, live = $3, updated_on = $4 WHERE id = $1 AND (title IS DISTINCT FROM $2 OR live IS DISTINCT FROM $3)")
                    .bind(id).bind(&c.title).bind(c.live).bind(now).execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected();
                (id, changed(n))
            }
        };
        let mut change = change;
        // Departments and blocked countries are replaced as sets.
        let mut wanted = Vec::new();
        for name in &c.departments {
            let dept = id_of(conn, "SELECT id FROM departments WHERE name = $1", name).await?
                .ok_or_else(|| StoreError::NotFound { entity: "department", key: name.clone() })?;
            wanted.push(dept);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let current: Vec<i64> = sqlx::query_scalar("SELECT department_id FROM course_departments WHERE course_id = $1 ORDER BY department_id")
            .bind(id).fetch_all(&mut *conn).await?;
        if current != wanted {
            sqlx::query("DELETE FROM course_departments WHERE course_id = $1").bind(id).execute(&mut *conn).await?;
            for dept in &wanted {
                sqlx::query("INSERT INTO course_departments (course_id, department_id) VALUES ($1, $2)").bind(id).bind(dept).execute(&mut *conn).await?;
            }
            if change == Change::Unchanged { change = Change::Updated; }
        }
        let mut blocked: Vec<String> = c.blocked_countries.clone();
        blocked.sort();
        blocked.dedup();
        let current: Vec<String> = sqlx::query_scalar("SELECT country FROM blocked_countries WHERE course_id = $1 ORDER BY country")
            .bind(id).fetch_all(&mut *conn).await?;
        if current != blocked {
            sqlx::query("DELETE FROM blocked_countries WHERE course_id = $1").bind(id).execute(&mut *conn).await?;
            for country in &blocked {
                sqlx::query("INSERT INTO blocked_countries (course_id, country) VALUES ($1, $2)").bind(id).bind(country).execute(&mut *conn).await.map_err(StoreError::classify)?;
            }
            if change == Change::Unchanged { change = Change::Updated; }
        }
        summary.count("courses", change);
        if let Some(page) = &c.page {
            upsert_page(conn, "course_id", id, page, now, summary).await?;
        }
        Ok(id)
    }

    async fn upsert_page(conn: &mut Conn, owner: &'static str, owner_id: i64, p: &PageRecord, now: DateTime<Utc>, summary: &mut ImportSummary) -> Result<(), StoreError> {
        let find: &'static str = if owner == "course_id" { "SELECT id FROM pages WHERE course_id = $1" } else { "SELECT id FROM pages WHERE program_id = $1" };
        let existing: Option<i64> = sqlx::query_scalar(find).bind(owner_id).fetch_optional(&mut *conn).await?;
        let instructors = json_text(&p.instructors);
        let topics = json_text(&p.topics);
        let change = match existing {
            None => {
                let insert: &'static str = if owner == "course_id" {
                    "INSERT INTO pages (course_id, live, description, feature_image_src, instructors, length, effort, min_weeks, max_weeks, min_weekly_hours, max_weekly_hours, price_text, topics, prerequisites, include_in_learn_catalog, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)"
                } else {
                    "INSERT INTO pages (program_id, live, description, feature_image_src, instructors, length, effort, min_weeks, max_weeks, min_weekly_hours, max_weekly_hours, price_text, topics, prerequisites, include_in_learn_catalog, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)"
                };
                sqlx::query(insert)
                    .bind(owner_id).bind(p.live).bind(&p.description).bind(&p.feature_image_src).bind(&instructors).bind(&p.length).bind(&p.effort)
                    .bind(p.min_weeks).bind(p.max_weeks).bind(p.min_weekly_hours).bind(p.max_weekly_hours).bind(&p.price_text).bind(&topics)
                    .bind(&p.prerequisites).bind(p.include_in_learn_catalog).bind(now)
                    .execute(&mut *conn).await.map_err(StoreError::classify)?;
                Change::Created
            }
            Some(id) => changed(sqlx::query(
                "UPDATE pages SET live = $2, description = $3, feature_image_src = $4, instructors = $5, length = $6, effort = $7, min_weeks = $8, max_weeks = $9, min_weekly_hours = $10, max_weekly_hours = $11, price_text = $12, topics = $13, prerequisites = $14, include_in_learn_catalog = $15, updated_on = $16
                 WHERE id = $1 AND (live IS DISTINCT FROM $2 OR description IS DISTINCT FROM $3 OR feature_image_src IS DISTINCT FROM $4 OR instructors IS DISTINCT FROM $5 OR length IS DISTINCT FROM $6 OR effort IS DISTINCT FROM $7 OR min_weeks IS DISTINCT FROM $8 OR max_weeks IS DISTINCT FROM $9 OR min_weekly_hours IS DISTINCT FROM $10 OR max_weekly_hours IS DISTINCT FROM $11 OR price_text IS DISTINCT FROM $12 OR topics IS DISTINCT FROM $13 OR prerequisites IS DISTINCT FROM $14 OR include_in_learn_catalog IS DISTINCT FROM $15)")
                .bind(id).bind(p.live).bind(&p.description).bind(&p.feature_image_src).bind(&instructors).bind(&p.length).bind(&p.effort)
                .bind(p.min_weeks).bind(p.max_weeks).bind(p.min_weekly_hours).bind(p.max_weekly_hours).bind(&p.price_text).bind(&topics)
                .bind(&p.prerequisites).bind(p.include_in_learn_catalog).bind(now)
                .execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected()),
        };
        summary.count("pages", change);
        Ok(())
    }

    async fn upsert_run(conn: &mut Conn, course_id: i64, course: &CourseRecord, r: &RunRecord, now: DateTime<Utc>, summary: &mut ImportSummary) -> Result<i64, StoreError> {
        let title = r.title.clone().unwrap_or_else(|| course.title.clone());
        let (audit, verified) = modes(&r.modes);
        let (id, change) = match id_of(conn, "SELECT id FROM course_runs WHERE courseware_id = $1", &r.courseware_id).await? {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO course_runs (course_id, title, courseware_id, run_tag, start_date, end_date, enrollment_start, enrollment_end, certificate_available_date, upgrade_deadline, expiration_date, live, is_self_paced, offers_audit, offers_verified, language, created_on, updated_on, is_primary_language, is_source_run)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18, $19) RETURNING id")
                    .bind(course_id).bind(&title).bind(&r.courseware_id).bind(&r.run_tag).bind(r.start_date).bind(r.end_date).bind(r.enrollment_start)
                    .bind(r.enrollment_end).bind(r.certificate_available_date).bind(r.upgrade_deadline).bind(r.expiration_date).bind(r.live)
                    .bind(r.is_self_paced).bind(audit).bind(verified).bind(&r.language).bind(now).bind(r.is_primary_language).bind(r.is_source_run)
                    .fetch_one(&mut *conn).await.map_err(StoreError::classify)?;
                (id, Change::Created)
            }
            Some(id) => {
                let n = sqlx::query(
                    "UPDATE course_runs SET course_id = $2, title = $3, run_tag = $4, start_date = $5, end_date = $6, enrollment_start = $7, enrollment_end = $8, certificate_available_date = $9, upgrade_deadline = $10, expiration_date = $11, live = $12, is_self_paced = $13, offers_audit = $14, offers_verified = $15, language = $16, updated_on = $17, is_primary_language = $18, is_source_run = $19
                     WHERE id = $1 AND (is_primary_language IS DISTINCT FROM $18 OR is_source_run IS DISTINCT FROM $19 OR course_id IS DISTINCT FROM $2 OR title IS DISTINCT FROM $3 OR run_tag IS DISTINCT FROM $4 OR start_date IS DISTINCT FROM $5 OR end_date IS DISTINCT FROM $6 OR enrollment_start IS DISTINCT FROM $7 OR enrollment_end IS DISTINCT FROM $8 OR certificate_available_date IS DISTINCT FROM $9 OR upgrade_deadline IS DISTINCT FROM $10 OR expiration_date IS DISTINCT FROM $11 OR live IS DISTINCT FROM $12 OR is_self_paced IS DISTINCT FROM $13 OR offers_audit IS DISTINCT FROM $14 OR offers_verified IS DISTINCT FROM $15 OR language IS DISTINCT FROM $16)")
                    .bind(id).bind(course_id).bind(&title).bind(&r.run_tag).bind(r.start_date).bind(r.end_date).bind(r.enrollment_start)
                    .bind(r.enrollment_end).bind(r.certificate_available_date).bind(r.upgrade_deadline).bind(r.expiration_date).bind(r.live)
                    .bind(r.is_self_paced).bind(audit).bind(verified).bind(&r.language).bind(now).bind(r.is_primary_language).bind(r.is_source_run)
                    .execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected();
                (id, changed(n))
            }
        };
        summary.count("course runs", change);
        Ok(id)
    }

    /// Creates or updates the product of a run or program; any change appends an immutable
    /// version snapshot.
    pub(crate) async fn upsert_product(conn: &mut Conn, content_type: &'static str, object_id: i64, price: Money, description: &str, now: DateTime<Utc>, summary: &mut ImportSummary) -> Result<i64, StoreError> {
        let existing: Option<(i64, DbMoney, String, bool)> = sqlx::query_as(
            "SELECT id, price, description, is_active FROM products WHERE content_type = $1 AND object_id = $2")
            .bind(content_type).bind(object_id).fetch_optional(&mut *conn).await?;
        let (id, change) = match existing {
            None => {
                let id: i64 = sqlx::query_scalar("INSERT INTO products (content_type, object_id, price, description, is_active, created_on, updated_on) VALUES ($1, $2, $3, $4, TRUE, $5, $5) RETURNING id")
                    .bind(content_type).bind(object_id).bind(DbMoney(price)).bind(description).bind(now)
                    .fetch_one(&mut *conn).await.map_err(StoreError::classify)?;
                (id, Change::Created)
            }
            Some((id, old_price, old_description, active)) => {
                if old_price.0 == price && old_description == description && active {
                    (id, Change::Unchanged)
                } else {
                    sqlx::query("UPDATE products SET price = $2, description = $3, is_active = TRUE, updated_on = $4 WHERE id = $1")
                        .bind(id).bind(DbMoney(price)).bind(description).bind(now).execute(&mut *conn).await.map_err(StoreError::classify)?;
                    (id, Change::Updated)
                }
            }
        };
        if change != Change::Unchanged {
            sqlx::query("INSERT INTO product_versions (product_id, content_type, object_id, price, description, is_active, created_on) VALUES ($1, $2, $3, $4, $5, TRUE, $6)")
                .bind(id).bind(content_type).bind(object_id).bind(DbMoney(price)).bind(description).bind(now)
                .execute(&mut *conn).await.map_err(StoreError::classify)?;
        }
        summary.count("products", change);
        Ok(id)
    }

    async fn upsert_program(conn: &mut Conn, p: &ProgramRecord, now: DateTime<Utc>, summary: &mut ImportSummary) -> Result<i64, StoreError> {
        let (audit, verified) = modes(&p.modes);
        let (id, mut change) = match id_of(conn, "SELECT id FROM programs WHERE readable_id = $1", &p.readable_id).await? {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO programs (readable_id, title, live, program_type, availability, offers_audit, offers_verified, display_mode, b2b_only, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id")
                    .bind(&p.readable_id).bind(&p.title).bind(p.live).bind(&p.program_type).bind(&p.availability).bind(audit).bind(verified)
                    .bind(&p.display_mode).bind(p.b2b_only).bind(now).fetch_one(&mut *conn).await.map_err(StoreError::classify)?;
                (id, Change::Created)
            }
            Some(id) => {
                let n = sqlx::query(
                    "UPDATE programs SET title = $2, live = $3, program_type = $4, availability = $5, offers_audit = $6, offers_verified = $7, display_mode = $8, b2b_only = $9, updated_on = $10
                     WHERE id = $1 AND (title IS DISTINCT FROM $2 OR live IS DISTINCT FROM $3 OR program_type IS DISTINCT FROM $4 OR availability IS DISTINCT FROM $5 OR offers_audit IS DISTINCT FROM $6 OR offers_verified IS DISTINCT FROM $7 OR display_mode IS DISTINCT FROM $8 OR b2b_only IS DISTINCT FROM $9)")
                    .bind(id).bind(&p.title).bind(p.live).bind(&p.program_type).bind(&p.availability).bind(audit).bind(verified)
                    .bind(&p.display_mode).bind(p.b2b_only).bind(now).execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected();
                (id, changed(n))
            }
        };
        let mut wanted = Vec::new();
        for name in &p.departments {
            let dept = id_of(conn, "SELECT id FROM departments WHERE name = $1", name).await?
                .ok_or_else(|| StoreError::NotFound { entity: "department", key: name.clone() })?;
            wanted.push(dept);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let current: Vec<i64> = sqlx::query_scalar("SELECT department_id FROM program_departments WHERE program_id = $1 ORDER BY department_id")
            .bind(id).fetch_all(&mut *conn).await?;
        if current != wanted {
            sqlx::query("DELETE FROM program_departments WHERE program_id = $1").bind(id).execute(&mut *conn).await?;
            for dept in &wanted {
                sqlx::query("INSERT INTO program_departments (program_id, department_id) VALUES ($1, $2)").bind(id).bind(dept).execute(&mut *conn).await?;
            }
            if change == Change::Unchanged { change = Change::Updated; }
        }
        summary.count("programs", change);
        if let Some(page) = &p.page {
            upsert_page(conn, "program_id", id, page, now, summary).await?;
        }
        Ok(id)
    }

    async fn tree_exists(conn: &mut Conn, program_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM program_requirements WHERE program_id = $1").bind(program_id).fetch_one(&mut *conn).await?;
        Ok(n > 0)
    }

    /// The stored tree of a program as the root's children (empty when there is none).
    pub(crate) async fn read_tree(conn: &mut Conn, program_id: i64) -> Result<Vec<RequirementRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.id, n.parent_id, n.node_type, n.operator, n.operator_value, n.title, n.elective_flag, c.readable_id AS course, p.readable_id AS program
             FROM program_requirements n
             LEFT JOIN courses c ON c.id = n.course_id
             LEFT JOIN programs p ON p.id = n.required_program_id
             WHERE n.program_id = $1 ORDER BY n.position, n.id")
            .bind(program_id).fetch_all(&mut *conn).await?;
        struct Node { id: i64, parent: Option<i64>, kind: String, operator: Option<String>, value: Option<String>, title: String, elective: bool, course: Option<String>, program: Option<String> }
        let mut nodes = Vec::with_capacity(rows.len());
        for row in rows {
            nodes.push(Node {
                id: row.try_get("id")?, parent: row.try_get("parent_id")?, kind: row.try_get("node_type")?,
                operator: row.try_get("operator")?, value: row.try_get("operator_value")?, title: row.try_get("title")?,
                elective: row.try_get("elective_flag")?, course: row.try_get("course")?, program: row.try_get("program")?,
            });
        }
        fn build(nodes: &[Node], parent: i64) -> Result<Vec<RequirementRecord>, StoreError> {
            let mut out = Vec::new();
            for node in nodes.iter().filter(|n| n.parent == Some(parent)) {
                out.push(match node.kind.as_str() {
                    "course" => RequirementRecord::Course { course: node.course.clone().unwrap_or_default() },
                    "program" => RequirementRecord::Program { program: node.program.clone().unwrap_or_default() },
                    _ => RequirementRecord::Operator {
                        operator: node.operator.clone().unwrap_or_default(),
                        value: match node.value.as_deref() {
                            None => None,
                            Some(v) => Some(v.parse::<u32>().map_err(|e| StoreError::corrupt("program_requirements", "operator_value", e))?),
                        },
                        title: node.title.clone(),
                        elective: node.elective,
                        children: build(nodes, node.id)?,
                    },
                });
            }
            Ok(out)
        }
        match nodes.iter().find(|n| n.parent.is_none()) {
            None => Ok(Vec::new()),
            Some(root) => build(&nodes, root.id),
        }
    }

    /// Replaces a program's tree (root plus `children`).
    pub(crate) async fn write_tree(conn: &mut Conn, program_id: i64, children: &[RequirementRecord]) -> Result<(), StoreError> {
        // Children first: the self-reference cascades, but deleting leaves first keeps both
        // backends' foreign-key checks simple.
        sqlx::query("DELETE FROM program_requirements WHERE program_id = $1 AND parent_id IS NOT NULL").bind(program_id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM program_requirements WHERE program_id = $1").bind(program_id).execute(&mut *conn).await?;
        let root: i64 = sqlx::query_scalar("INSERT INTO program_requirements (program_id, parent_id, position, node_type, title, elective_flag) VALUES ($1, NULL, 0, 'program_root', '', FALSE) RETURNING id")
            .bind(program_id).fetch_one(&mut *conn).await.map_err(StoreError::classify)?;
        let mut stack: Vec<(i64, &[RequirementRecord])> = vec![(root, children)];
        while let Some((parent, list)) = stack.pop() {
            for (position, node) in list.iter().enumerate() {
                let position = i64::try_from(position).unwrap_or(i64::MAX);
                match node {
                    RequirementRecord::Course { course } => {
                        let course_id = id_of(conn, "SELECT id FROM courses WHERE readable_id = $1", course).await?
                            .ok_or_else(|| StoreError::NotFound { entity: "course", key: course.clone() })?;
                        sqlx::query("INSERT INTO program_requirements (program_id, parent_id, position, node_type, course_id) VALUES ($1, $2, $3, 'course', $4)")
                            .bind(program_id).bind(parent).bind(position).bind(course_id).execute(&mut *conn).await.map_err(StoreError::classify)?;
                    }
                    RequirementRecord::Program { program } => {
                        let sub = id_of(conn, "SELECT id FROM programs WHERE readable_id = $1", program).await?
                            .ok_or_else(|| StoreError::NotFound { entity: "program", key: program.clone() })?;
                        sqlx::query("INSERT INTO program_requirements (program_id, parent_id, position, node_type, required_program_id) VALUES ($1, $2, $3, 'program', $4)")
                            .bind(program_id).bind(parent).bind(position).bind(sub).execute(&mut *conn).await.map_err(StoreError::classify)?;
                    }
                    RequirementRecord::Operator { operator, value, title, elective, children } => {
                        let id: i64 = sqlx::query_scalar("INSERT INTO program_requirements (program_id, parent_id, position, node_type, operator, operator_value, title, elective_flag) VALUES ($1, $2, $3, 'operator', $4, $5, $6, $7) RETURNING id")
                            .bind(program_id).bind(parent).bind(position).bind(operator).bind(value.map(|v| v.to_string())).bind(title).bind(*elective)
                            .fetch_one(&mut *conn).await.map_err(StoreError::classify)?;
                        stack.push((id, children.as_slice()));
                    }
                }
            }
        }
        Ok(())
    }

    async fn upsert_discount(conn: &mut Conn, d: &DiscountRecord, now: DateTime<Utc>, summary: &mut ImportSummary) -> Result<i64, StoreError> {
        let value = DbMoney(amount(&d.amount)?);
        let max = i64::from(d.max_redemptions);
        let (id, change) = match id_of(conn, "SELECT id FROM discounts WHERE discount_code = $1", &d.code).await? {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO discounts (discount_code, discount_type, amount, redemption_type, payment_type, max_redemptions, automatic, activation_date, expiration_date, is_bulk, is_program_discount, created_on, updated_on)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, FALSE, $10, $10) RETURNING id")
                    .bind(&d.code).bind(&d.discount_type).bind(value).bind(&d.redemption_type).bind(&d.payment_type).bind(max).bind(d.automatic)
                    .bind(d.activation_date).bind(d.expiration_date).bind(now).fetch_one(&mut *conn).await.map_err(StoreError::classify)?;
                (id, Change::Created)
            }
            Some(id) => {
                let n = sqlx::query(
                    "UPDATE discounts SET discount_type = $2, amount = $3, redemption_type = $4, payment_type = $5, max_redemptions = $6, automatic = $7, activation_date = $8, expiration_date = $9, updated_on = $10
                     WHERE id = $1 AND (discount_type IS DISTINCT FROM $2 OR amount IS DISTINCT FROM $3 OR redemption_type IS DISTINCT FROM $4 OR payment_type IS DISTINCT FROM $5 OR max_redemptions IS DISTINCT FROM $6 OR automatic IS DISTINCT FROM $7 OR activation_date IS DISTINCT FROM $8 OR expiration_date IS DISTINCT FROM $9)")
                    .bind(id).bind(&d.discount_type).bind(value).bind(&d.redemption_type).bind(&d.payment_type).bind(max).bind(d.automatic)
                    .bind(d.activation_date).bind(d.expiration_date).bind(now).execute(&mut *conn).await.map_err(StoreError::classify)?.rows_affected();
                (id, changed(n))
            }
        };
        summary.count("discounts", change);
        Ok(id)
    }

    pub(crate) async fn list_courses(conn: &mut Conn) -> Result<Vec<CourseRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.readable_id, c.title, c.live,
                    (SELECT COUNT(*) FROM course_runs r WHERE r.course_id = c.id) AS runs
             FROM courses c ORDER BY c.readable_id")
            .fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let names: Vec<String> = sqlx::query_scalar("SELECT d.name FROM departments d JOIN course_departments cd ON cd.department_id = d.id WHERE cd.course_id = $1 ORDER BY d.name")
                .bind(id).fetch_all(&mut *conn).await?;
            out.push(CourseRow { id, readable_id: row.try_get("readable_id")?, title: row.try_get("title")?, live: row.try_get("live")?, runs: row.try_get("runs")?, departments: names.join(", ") });
        }
        Ok(out)
    }

    /// The primary-language facts of every run of the courses named (readable ids).
    pub(crate) async fn primary_language_facts(conn: &mut Conn, courses: &[String]) -> Result<Vec<PrimaryLanguageFacts>, StoreError> {
        let mut out = Vec::new();
        for course in courses {
            let rows = sqlx::query(
                "SELECT c.readable_id, r.courseware_id, r.run_tag, r.is_source_run, r.b2b_contract_id, r.is_primary_language \
                 FROM course_runs r JOIN courses c ON c.id = r.course_id WHERE c.readable_id = $1 ORDER BY r.id")
                .bind(course).fetch_all(&mut *conn).await?;
            for row in rows {
                out.push(PrimaryLanguageFacts {
                    course: row.try_get("readable_id")?,
                    courseware_id: row.try_get("courseware_id")?,
                    run_tag: row.try_get("run_tag")?,
                    is_source_run: row.try_get("is_source_run")?,
                    b2b_contract: row.try_get::<Option<i64>, _>("b2b_contract_id")?.map(ContractId),
                    is_primary_language: row.try_get("is_primary_language")?,
                });
            }
        }
        Ok(out)
    }

    pub(crate) async fn list_runs(conn: &mut Conn) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.courseware_id, c.readable_id AS course, r.run_tag, r.start_date, r.end_date, r.enrollment_start, r.enrollment_end, r.live, r.is_self_paced,
                    (SELECT p.price FROM products p WHERE p.content_type = 'courserun' AND p.object_id = r.id AND p.is_active) AS price
             FROM course_runs r JOIN courses c ON c.id = r.course_id ORDER BY c.readable_id, r.start_date, r.id")
            .fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let price: Option<DbMoney> = row.try_get("price")?;
            out.push(RunRow {
                id: row.try_get("id")?, courseware_id: row.try_get("courseware_id")?, course: row.try_get("course")?, run_tag: row.try_get("run_tag")?,
                start_date: row.try_get("start_date")?, end_date: row.try_get("end_date")?, enrollment_start: row.try_get("enrollment_start")?,
                enrollment_end: row.try_get("enrollment_end")?, live: row.try_get("live")?, is_self_paced: row.try_get("is_self_paced")?,
                price: price.map(|p| p.0.to_price_string()),
            });
        }
        Ok(out)
    }

    pub(crate) async fn list_programs(conn: &mut Conn) -> Result<Vec<ProgramRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.id, g.readable_id, g.title, g.live, g.program_type,
                    (SELECT COUNT(DISTINCT n.course_id) FROM program_requirements n WHERE n.program_id = g.id AND n.course_id IS NOT NULL) AS courses
             FROM programs g ORDER BY g.readable_id")
            .fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(ProgramRow { id: row.try_get("id")?, readable_id: row.try_get("readable_id")?, title: row.try_get("title")?, live: row.try_get("live")?, program_type: row.try_get("program_type")?, courses: row.try_get("courses")? });
        }
        Ok(out)
    }

    pub(crate) async fn revision(conn: &mut Conn) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT revision FROM catalog_revision WHERE id = 1").fetch_one(&mut *conn).await?)
    }

    pub(crate) async fn keys(conn: &mut Conn) -> Result<crate::catalog::CatalogKeys, StoreError> {
        Ok(crate::catalog::CatalogKeys {
            departments: sqlx::query_scalar("SELECT name FROM departments").fetch_all(&mut *conn).await?,
            courses: sqlx::query_scalar("SELECT readable_id FROM courses").fetch_all(&mut *conn).await?,
            programs: sqlx::query_scalar("SELECT readable_id FROM programs").fetch_all(&mut *conn).await?,
            runs: sqlx::query_scalar("SELECT courseware_id FROM course_runs").fetch_all(&mut *conn).await?,
            products: sqlx::query_scalar(
                "SELECT r.courseware_id FROM products p JOIN course_runs r ON p.content_type = 'courserun' AND r.id = p.object_id
                 UNION ALL SELECT g.readable_id FROM products p JOIN programs g ON p.content_type = 'program' AND g.id = p.object_id")
                .fetch_all(&mut *conn).await?,
        })
    }

    pub(crate) async fn counts(conn: &mut Conn) -> Result<CatalogCounts, StoreError> {
        let mut tables = Vec::new();
        for table in CATALOG_TABLES {
            let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *conn).await?;
            tables.push(((*table).to_owned(), n));
        }
        Ok(CatalogCounts { tables })
    }

    async fn page_of(conn: &mut Conn, owner: &'static str, owner_id: i64) -> Result<Option<PageRecord>, StoreError> {
        let sql: &'static str = if owner == "course_id" { "SELECT * FROM pages WHERE course_id = $1" } else { "SELECT * FROM pages WHERE program_id = $1" };
        let Some(row) = sqlx::query(sql).bind(owner_id).fetch_optional(&mut *conn).await? else { return Ok(None) };
        let instructors: String = row.try_get("instructors")?;
        let topics: String = row.try_get("topics")?;
        Ok(Some(PageRecord {
            live: row.try_get("live")?,
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
            topics: serde_json::from_str(&topics).map_err(|e| StoreError::corrupt("pages", "topics", e))?,
            prerequisites: row.try_get("prerequisites")?,
            include_in_learn_catalog: row.try_get("include_in_learn_catalog")?,
        }))
    }

    async fn product_price(conn: &mut Conn, content_type: &'static str, object_id: i64) -> Result<Option<String>, StoreError> {
        let price: Option<DbMoney> = sqlx::query_scalar("SELECT price FROM products WHERE content_type = $1 AND object_id = $2 AND is_active")
            .bind(content_type).bind(object_id).fetch_optional(&mut *conn).await?;
        Ok(price.map(|p| money_text(p.0, 2)))
    }

    pub(crate) async fn export(conn: &mut Conn) -> Result<CatalogData, StoreError> {
        let mut data = CatalogData { version: 1, ..CatalogData::default() };
        let departments: Vec<(String, String)> = sqlx::query_as("SELECT name, slug FROM departments ORDER BY name").fetch_all(&mut *conn).await?;
        data.departments = departments.into_iter().map(|(name, slug)| DepartmentRecord { name, slug: Some(slug) }).collect();
        let courses: Vec<(i64, String, String, bool)> = sqlx::query_as("SELECT id, readable_id, title, live FROM courses ORDER BY readable_id").fetch_all(&mut *conn).await?;
        for (id, readable_id, title, live) in courses {
            let departments: Vec<String> = sqlx::query_scalar("SELECT d.name FROM departments d JOIN course_departments cd ON cd.department_id = d.id WHERE cd.course_id = $1 ORDER BY d.name").bind(id).fetch_all(&mut *conn).await?;
            let blocked_countries: Vec<String> = sqlx::query_scalar("SELECT country FROM blocked_countries WHERE course_id = $1 ORDER BY country").bind(id).fetch_all(&mut *conn).await?;
            let page = page_of(conn, "course_id", id).await?;
            let run_rows = sqlx::query("SELECT * FROM course_runs WHERE course_id = $1 ORDER BY start_date, id").bind(id).fetch_all(&mut *conn).await?;
            let mut runs = Vec::with_capacity(run_rows.len());
            for row in run_rows {
                let run_id: i64 = row.try_get("id")?;
                runs.push(RunRecord {
                    courseware_id: row.try_get("courseware_id")?, run_tag: row.try_get("run_tag")?, title: Some(row.try_get("title")?),
                    start_date: row.try_get("start_date")?, end_date: row.try_get("end_date")?, enrollment_start: row.try_get("enrollment_start")?,
                    enrollment_end: row.try_get("enrollment_end")?, upgrade_deadline: row.try_get("upgrade_deadline")?,
                    certificate_available_date: row.try_get("certificate_available_date")?, expiration_date: row.try_get("expiration_date")?,
                    live: row.try_get("live")?, is_self_paced: row.try_get("is_self_paced")?,
                    modes: modes_back(row.try_get("offers_audit")?, row.try_get("offers_verified")?),
                    language: row.try_get("language")?, price: None,
                    is_primary_language: row.try_get("is_primary_language")?, is_source_run: row.try_get("is_source_run")?,
                });
                let last = runs.len() - 1;
                runs[last].price = product_price(conn, "courserun", run_id).await?;
            }
            let certificate_page = latest_certificate_page(conn, PageOwner::Course(id)).await?;
            data.courses.push(CourseRecord { readable_id, title, live, departments, blocked_countries, page, certificate_page, runs });
        }
        let programs = sqlx::query("SELECT * FROM programs ORDER BY readable_id").fetch_all(&mut *conn).await?;
        for row in programs {
            let id: i64 = row.try_get("id")?;
            let departments: Vec<String> = sqlx::query_scalar("SELECT d.name FROM departments d JOIN program_departments pd ON pd.department_id = d.id WHERE pd.program_id = $1 ORDER BY d.name").bind(id).fetch_all(&mut *conn).await?;
            data.programs.push(ProgramRecord {
                readable_id: row.try_get("readable_id")?, title: row.try_get("title")?, live: row.try_get("live")?,
                program_type: row.try_get("program_type")?, availability: row.try_get("availability")?, departments,
                modes: modes_back(row.try_get("offers_audit")?, row.try_get("offers_verified")?),
                display_mode: row.try_get("display_mode")?, b2b_only: row.try_get("b2b_only")?,
                price: product_price(conn, "program", id).await?,
                page: page_of(conn, "program_id", id).await?,
                certificate_page: latest_certificate_page(conn, PageOwner::Program(id)).await?,
                requirements: read_tree(conn, id).await?,
            });
        }
        let rates: Vec<(String, Option<String>, f64)> = sqlx::query_as("SELECT currency_code, description, exchange_rate FROM exchange_rates ORDER BY currency_code").fetch_all(&mut *conn).await?;
        data.flexible_pricing.exchange_rates = rates.into_iter().map(|(currency_code, description, rate)| ExchangeRateRecord { currency_code, description, rate }).collect();
        let thresholds: Vec<(String, i64)> = sqlx::query_as("SELECT country_code, income_threshold FROM country_income_thresholds ORDER BY country_code").fetch_all(&mut *conn).await?;
        data.flexible_pricing.income_thresholds = thresholds.into_iter().map(|(country_code, income_threshold)| IncomeThresholdRecord { country_code, income_threshold }).collect();
        let tiers = sqlx::query(
            "SELECT COALESCE(c.readable_id, g.readable_id) AS courseware, t.income_threshold_usd, t.current, d.discount_type, d.amount, d.discount_code
             FROM flexible_price_tiers t JOIN discounts d ON d.id = t.discount_id
             LEFT JOIN courses c ON c.id = t.course_id LEFT JOIN programs g ON g.id = t.program_id
             ORDER BY courseware, t.income_threshold_usd").fetch_all(&mut *conn).await?;
        let mut tier_codes = Vec::new();
        for row in tiers {
            let amount: DbMoney = row.try_get("amount")?;
            let code: String = row.try_get("discount_code")?;
            tier_codes.push(code.clone());
            data.flexible_pricing.tiers.push(TierRecord {
                courseware: row.try_get("courseware")?, threshold: row.try_get("income_threshold_usd")?, current: row.try_get("current")?,
                discount_type: row.try_get("discount_type")?, amount: money_text(amount.0, 0), code,
            });
        }
        let discounts = sqlx::query("SELECT * FROM discounts ORDER BY discount_code").fetch_all(&mut *conn).await?;
        for row in discounts {
            let code: String = row.try_get("discount_code")?;
            if tier_codes.contains(&code) {
                continue;
            }
            let id: i64 = row.try_get("id")?;
            let products: Vec<String> = sqlx::query_scalar(
                "SELECT COALESCE(r.courseware_id, g.readable_id) FROM discount_products dp JOIN products p ON p.id = dp.product_id
                 LEFT JOIN course_runs r ON p.content_type = 'courserun' AND r.id = p.object_id
                 LEFT JOIN programs g ON p.content_type = 'program' AND g.id = p.object_id
                 WHERE dp.discount_id = $1 ORDER BY 1").bind(id).fetch_all(&mut *conn).await?;
            let amount: DbMoney = row.try_get("amount")?;
            let max: i64 = row.try_get("max_redemptions")?;
            data.discounts.push(DiscountRecord {
                code, discount_type: row.try_get("discount_type")?, amount: money_text(amount.0, 0),
                redemption_type: row.try_get("redemption_type")?, payment_type: row.try_get("payment_type")?,
                max_redemptions: u32::try_from(max).unwrap_or(0), automatic: row.try_get("automatic")?,
                activation_date: row.try_get("activation_date")?, expiration_date: row.try_get("expiration_date")?, products,
            });
        }
        Ok(data)
    }
}
