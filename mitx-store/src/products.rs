//! Products and their immutable price snapshots (ecommerce spec 1.1): `create_product`,
//! listings, deactivation (never deletion), and the operators' audit rows.
//!
//! Every write appends a `product_versions` snapshot; snapshots are never edited, so
//! orders that reference one keep their historical price.

use chrono::{DateTime, Utc};
use mitx_core::ids::{CourseId, CourseRunId, ProductId, ProgramId};
use mitx_core::money::Money;
use serde::Serialize;

use crate::audit_log::{Audit, AuditChange, audit_json};
use crate::money::DbMoney;
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// The kind of object a product sells (`products.content_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    /// A course run.
    CourseRun,
    /// A program.
    Program,
}

impl ContentType {
    /// The stored value.
    pub fn slug(self) -> &'static str {
        match self {
            ContentType::CourseRun => "courserun",
            ContentType::Program => "program",
        }
    }

    /// Parses a stored value.
    pub fn parse(slug: &str) -> Option<ContentType> {
        match slug {
            "courserun" => Some(ContentType::CourseRun),
            "program" => Some(ContentType::Program),
            _ => None,
        }
    }
}

/// What a courseware id names: a course run (by its Open edX key) or a program (by its
/// readable id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProductTarget {
    /// A course run.
    CourseRun {
        /// The run.
        id: CourseRunId,
        /// Its course.
        course: CourseId,
        /// The run's courseware id.
        courseware_id: String,
    },
    /// A program.
    Program {
        /// The program.
        id: ProgramId,
        /// Its readable id.
        readable_id: String,
    },
}

impl ProductTarget {
    /// The product content type.
    pub fn content_type(&self) -> ContentType {
        match self {
            ProductTarget::CourseRun { .. } => ContentType::CourseRun,
            ProductTarget::Program { .. } => ContentType::Program,
        }
    }

    /// The products.object_id.
    pub fn object_id(&self) -> i64 {
        match self {
            ProductTarget::CourseRun { id, .. } => id.0,
            ProductTarget::Program { id, .. } => id.0,
        }
    }

    /// The courseware id or readable id.
    pub fn readable(&self) -> &str {
        match self {
            ProductTarget::CourseRun { courseware_id, .. } => courseware_id,
            ProductTarget::Program { readable_id, .. } => readable_id,
        }
    }
}

/// A product as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Product {
    /// Id.
    pub id: ProductId,
    /// What it sells.
    pub content_type: ContentType,
    /// The course run or program id.
    pub object_id: i64,
    /// The run's courseware id or the program's readable id (none if the object is gone).
    pub courseware: Option<String>,
    /// Price.
    #[serde(serialize_with = "serialize_price")]
    pub price: Money,
    /// Description.
    pub description: String,
    /// Visible to default lookups.
    pub is_active: bool,
    /// Number of snapshots.
    pub versions: i64,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
}

/// One immutable snapshot of a product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductVersion {
    /// Snapshot id.
    pub id: i64,
    /// The product.
    pub product_id: ProductId,
    /// Price at the time.
    #[serde(serialize_with = "serialize_price")]
    pub price: Money,
    /// Description at the time.
    pub description: String,
    /// Active flag at the time.
    pub is_active: bool,
    /// When the snapshot was taken.
    pub created_on: DateTime<Utc>,
}

/// What a product write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductChange {
    /// A new product (and its first snapshot).
    Created,
    /// An existing product changed (and got a new snapshot).
    Updated,
    /// Nothing to change (no snapshot written).
    Unchanged,
}

/// The outcome of a product write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductWrite {
    /// What happened.
    pub change: ProductChange,
    /// The product before, when it existed.
    pub before: Option<Product>,
    /// The product now.
    pub product: Product,
}

/// Serializes a price as text with 2 decimal places (`"100.00"`), the way the API and
/// the original's JSON show prices.
pub fn serialize_price<S: serde::Serializer>(
    price: &Money,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&price.to_price_string())
}

backend_queries! {
    use sqlx::Row;

    pub(crate) async fn run_target(
        conn: &mut Conn,
        key: &str,
    ) -> Result<Option<ProductTarget>, StoreError> {
        let row = sqlx::query(
            "SELECT id, course_id, courseware_id FROM course_runs WHERE courseware_id = $1",
        )
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ProductTarget::CourseRun {
            id: CourseRunId(row.try_get("id")?),
            course: CourseId(row.try_get("course_id")?),
            courseware_id: row.try_get("courseware_id")?,
        }))
    }

    pub(crate) async fn program_target(
        conn: &mut Conn,
        key: &str,
    ) -> Result<Option<ProductTarget>, StoreError> {
        let row = sqlx::query("SELECT id, readable_id FROM programs WHERE readable_id = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ProductTarget::Program {
            id: ProgramId(row.try_get("id")?),
            readable_id: row.try_get("readable_id")?,
        }))
    }

    const PRODUCT_SELECT: &str = "SELECT p.id, p.content_type, p.object_id, p.price, \
        p.description, p.is_active, p.created_on, p.updated_on, \
        COALESCE(cr.courseware_id, pr.readable_id) AS courseware, \
        (SELECT COUNT(*) FROM product_versions v WHERE v.product_id = p.id) AS versions \
        FROM products p \
        LEFT JOIN course_runs cr ON p.content_type = 'courserun' AND cr.id = p.object_id \
        LEFT JOIN programs pr ON p.content_type = 'program' AND pr.id = p.object_id";

    pub(crate) fn product_from_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<Product, StoreError> {
        let content_type: String = row.try_get("content_type")?;
        let price: DbMoney = row.try_get("price")?;
        Ok(Product {
            id: ProductId(row.try_get("id")?),
            content_type: ContentType::parse(&content_type)
                .ok_or_else(|| StoreError::corrupt("products", "content_type", &content_type))?,
            object_id: row.try_get("object_id")?,
            courseware: row.try_get("courseware")?,
            price: price.0,
            description: row.try_get("description")?,
            is_active: row.try_get("is_active")?,
            versions: row.try_get("versions")?,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
        })
    }

    pub(crate) async fn product_by_id(
        conn: &mut Conn,
        id: i64,
    ) -> Result<Option<Product>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{PRODUCT_SELECT} WHERE p.id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(product_from_row).transpose()
    }

    pub(crate) async fn product_by_object(
        conn: &mut Conn,
        content_type: ContentType,
        object_id: i64,
    ) -> Result<Option<Product>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{PRODUCT_SELECT} WHERE p.content_type = $1 AND p.object_id = $2"
        ));
        let row = sqlx::query(sql)
            .bind(content_type.slug())
            .bind(object_id)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(product_from_row).transpose()
    }

    pub(crate) async fn list_products(
        conn: &mut Conn,
        include_inactive: bool,
    ) -> Result<Vec<Product>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{PRODUCT_SELECT} WHERE ($1 OR p.is_active) ORDER BY p.id"
        ));
        let rows = sqlx::query(sql)
            .bind(include_inactive)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(product_from_row).collect()
    }

    pub(crate) async fn insert_product(
        conn: &mut Conn,
        target: &ProductTarget,
        price: Money,
        description: &str,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO products (content_type, object_id, price, description, is_active, \
             created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(target.content_type().slug())
        .bind(target.object_id())
        .bind(DbMoney(price))
        .bind(description)
        .bind(active)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn update_product(
        conn: &mut Conn,
        id: i64,
        price: Money,
        description: &str,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE products SET price = $2, description = $3, is_active = $4, updated_on = $5 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(DbMoney(price))
        .bind(description)
        .bind(active)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Appends a snapshot of the product row as it is now.
    pub(crate) async fn snapshot_product(
        conn: &mut Conn,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO product_versions (product_id, content_type, object_id, price, \
             description, is_active, created_on) SELECT id, content_type, object_id, price, \
             description, is_active, $2 FROM products WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn product_versions(
        conn: &mut Conn,
        id: i64,
    ) -> Result<Vec<ProductVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, product_id, price, description, is_active, created_on \
             FROM product_versions WHERE product_id = $1 ORDER BY id DESC",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let price: DbMoney = row.try_get("price")?;
                Ok(ProductVersion {
                    id: row.try_get("id")?,
                    product_id: ProductId(row.try_get("product_id")?),
                    price: price.0,
                    description: row.try_get("description")?,
                    is_active: row.try_get("is_active")?,
                    created_on: row.try_get("created_on")?,
                })
            })
            .collect()
    }

    pub(crate) async fn insert_course(
        conn: &mut Conn,
        readable_id: &str,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO courses (readable_id, title, live, created_on, updated_on) \
             VALUES ($1, $2, TRUE, $3, $3) RETURNING id",
        )
        .bind(readable_id)
        .bind(title)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn course_id(
        conn: &mut Conn,
        readable_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT id FROM courses WHERE readable_id = $1")
            .bind(readable_id)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| r.try_get("id")).transpose().map_err(Into::into)
    }

    pub(crate) async fn insert_run(
        conn: &mut Conn,
        course: i64,
        courseware_id: &str,
        run_tag: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO course_runs (course_id, title, courseware_id, run_tag, live, \
             offers_verified, created_on, updated_on) VALUES ($1, $2, $2, $3, TRUE, TRUE, $4, $4) \
             RETURNING id",
        )
        .bind(course)
        .bind(courseware_id)
        .bind(run_tag)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn insert_program(
        conn: &mut Conn,
        readable_id: &str,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO programs (readable_id, title, live, created_on, updated_on) \
             VALUES ($1, $2, TRUE, $3, $3) RETURNING id",
        )
        .bind(readable_id)
        .bind(title)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn insert_requirement(
        conn: &mut Conn,
        program: i64,
        parent: Option<i64>,
        position: i64,
        node_type: &str,
        operator: Option<&str>,
        course: Option<i64>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO program_requirements (program_id, parent_id, position, node_type, \
             operator, course_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(program)
        .bind(parent)
        .bind(position)
        .bind(node_type)
        .bind(operator)
        .bind(course)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }
}

impl Store {
    /// What `courseware_id` names: a course run with that courseware id, else a program
    /// with that readable id, else `None`.
    pub async fn resolve_product_target(
        &self,
        courseware_id: &str,
    ) -> Result<Option<ProductTarget>, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            match q::run_target(&mut conn, courseware_id).await? {
                Some(target) => Ok(Some(target)),
                None => q::program_target(&mut conn, courseware_id).await,
            }
        })
    }

    /// The product of `target` (active or not), or `None`.
    pub async fn product_for_target(
        &self,
        target: &ProductTarget,
    ) -> Result<Option<Product>, StoreError> {
        with_db!(conn: self, conn, q => q::product_by_object(conn, target.content_type(), target.object_id()).await)
    }

    /// Products by id; only active ones unless `include_inactive`.
    pub async fn list_products(&self, include_inactive: bool) -> Result<Vec<Product>, StoreError> {
        with_db!(conn: self, conn, q => q::list_products(conn, include_inactive).await)
    }

    /// One product (active or not), or `None`.
    pub async fn product(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        with_db!(conn: self, conn, q => q::product_by_id(conn, id.0).await)
    }

    /// A product's snapshots, newest first.
    pub async fn product_versions(&self, id: ProductId) -> Result<Vec<ProductVersion>, StoreError> {
        with_db!(conn: self, conn, q => q::product_versions(conn, id.0).await)
    }
}

impl Tx {
    /// Creates the product of `target`, or updates the existing one (a course run or
    /// program has at most one product ever), appending a snapshot either way, with an
    /// audit row; all in the unit of work. Writing the same values again changes nothing.
    pub async fn upsert_product(
        &mut self,
        target: &ProductTarget,
        price: Money,
        description: &str,
        active: bool,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<ProductWrite, StoreError> {
        let write = with_db!(tx: self, conn, q => {
            let before = q::product_by_object(conn, target.content_type(), target.object_id()).await?;
            let (id, change) = match &before {
                None => (
                    q::insert_product(conn, target, price, description, active, now).await?,
                    ProductChange::Created,
                ),
                Some(existing)
                    if existing.price == price
                        && existing.description == description
                        && existing.is_active == active =>
                {
                    (existing.id.0, ProductChange::Unchanged)
                }
                Some(existing) => {
                    q::update_product(conn, existing.id.0, price, description, active, now).await?;
                    (existing.id.0, ProductChange::Updated)
                }
            };
            if change != ProductChange::Unchanged {
                q::snapshot_product(conn, id, now).await?;
            }
            let product = q::product_by_id(conn, id).await?.ok_or_else(|| StoreError::NotFound {
                entity: "product",
                key: id.to_string(),
            })?;
            ProductWrite { change, before, product }
        });
        let action = match write.change {
            ProductChange::Unchanged => return Ok(write),
            ProductChange::Created => "product.create",
            ProductChange::Updated => "product.update",
        };
        self.record_audit(
            &AuditChange {
                audit,
                action,
                entity: "product",
                entity_id: write.product.id.to_string(),
                before: write.before.as_ref().and_then(audit_json),
                after: audit_json(&write.product),
            },
            now,
        )
        .await?;
        Ok(write)
    }

    /// Sets `is_active = false` (products are never deleted), appends a snapshot and an
    /// audit row, in the unit of work. An already inactive product is left as it is
    /// ([`ProductChange::Unchanged`], nothing written). Unknown id → NotFound.
    pub async fn deactivate_product(
        &mut self,
        id: ProductId,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<ProductWrite, StoreError> {
        let write = with_db!(tx: self, conn, q => {
            let before = q::product_by_id(conn, id.0).await?.ok_or_else(|| StoreError::NotFound {
                entity: "product",
                key: id.to_string(),
            })?;
            if !before.is_active {
                ProductWrite { change: ProductChange::Unchanged, product: before.clone(), before: Some(before) }
            } else {
                q::update_product(conn, id.0, before.price, &before.description, false, now).await?;
                q::snapshot_product(conn, id.0, now).await?;
                let product = q::product_by_id(conn, id.0).await?.ok_or_else(|| StoreError::NotFound {
                    entity: "product",
                    key: id.to_string(),
                })?;
                ProductWrite { change: ProductChange::Updated, before: Some(before), product }
            }
        });
        if write.change == ProductChange::Updated {
            self.record_audit(
                &AuditChange {
                    audit,
                    action: "product.deactivate",
                    entity: "product",
                    entity_id: id.to_string(),
                    before: write.before.as_ref().and_then(audit_json),
                    after: audit_json(&write.product),
                },
                now,
            )
            .await?;
        }
        Ok(write)
    }
}

#[cfg(feature = "testing")]
impl crate::Database {
    /// Test fixture: a live course `course_readable_id` (created if missing)
    /// with a live, verified-offering run `courseware_id`. Returns the course and run ids.
    /// The full catalog loader is `mitx catalog import`; this is the minimum a product needs.
    pub async fn insert_course_run_fixture(
        &self,
        course_readable_id: &str,
        courseware_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(CourseId, CourseRunId), StoreError> {
        let run_tag = courseware_id
            .rsplit('+')
            .next()
            .unwrap_or(courseware_id)
            .to_owned();
        let mut tx = self.begin().await?;
        let ids = with_db!(tx: &mut tx, conn, q => {
            let course = match q::course_id(conn, course_readable_id).await? {
                Some(id) => id,
                None => q::insert_course(conn, course_readable_id, course_readable_id, now).await?,
            };
            let run = q::insert_run(conn, course, courseware_id, &run_tag, now).await?;
            (CourseId(course), CourseRunId(run))
        });
        tx.commit().await?;
        Ok(ids)
    }

    /// Test fixture: a live program `readable_id` whose requirements tree is a
    /// root with one `all_of` operator over `courses` (in order).
    pub async fn insert_program_fixture(
        &self,
        readable_id: &str,
        courses: &[CourseId],
        now: DateTime<Utc>,
    ) -> Result<ProgramId, StoreError> {
        let mut tx = self.begin().await?;
        let id = with_db!(tx: &mut tx, conn, q => {
            let program = q::insert_program(conn, readable_id, readable_id, now).await?;
            let root = q::insert_requirement(conn, program, None, 0, "program_root", None, None).await?;
            let op = q::insert_requirement(conn, program, Some(root), 0, "operator", Some("all_of"), None).await?;
            for (position, course) in (0i64..).zip(courses) {
                q::insert_requirement(conn, program, Some(op), position, "course", None, Some(course.0)).await?;
            }
            ProgramId(program)
        });
        tx.commit().await?;
        Ok(id)
    }
}
