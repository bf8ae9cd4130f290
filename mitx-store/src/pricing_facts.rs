//! The facts `mitx price explain` reasons over, gathered in one place: the product and
//! its price, the flexible-pricing walk order of its courseware (program membership from
//! the requirement trees' course nodes, and related programs), the user's assigned
//! discounts, the automatic discounts, the typed code, and the user's flexible-price
//! requests with their tiers and tier discounts. Plain data: the explanation itself is
//! pure (mitx-services `price_explain`).

use chrono::{DateTime, Utc};
use mitx_core::ids::{CourseId, DiscountId, FlexiblePriceId, ProductId, ProgramId, TierId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::DiscountRecord;
use mitx_core::pricing::flexible::{
    Courseware, FlexiblePriceRequest, PricedObject, ProgramLinks, RequestStatus, Tier,
    eligible_coursewares,
};
use serde::Serialize;

use crate::money::DbMoney;
use crate::products::ContentType;
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// The product being priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductFacts {
    /// The product.
    pub id: ProductId,
    /// Its list price.
    #[serde(serialize_with = "crate::products::serialize_price")]
    pub price: Money,
    /// Description.
    pub description: String,
    /// Whether it is active (inactive products cannot be added to baskets).
    pub is_active: bool,
    /// The run's courseware id or the program's readable id.
    pub courseware: Option<String>,
    /// What it sells, for the flexible-pricing walk.
    pub object: PricedObject,
}

/// The code the learner typed, and the discount it names if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypedCode {
    /// As typed (trimmed).
    pub text: String,
    /// The discount with exactly that code.
    pub record: Option<DiscountRecord>,
}

/// Everything the price of one product for one user depends on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceFacts {
    /// The learner.
    pub user: UserId,
    /// The product.
    pub product: ProductFacts,
    /// The flexible-pricing walk order of the product's courseware.
    pub eligible: Vec<Courseware>,
    /// Readable ids of the coursewares in `eligible`, in the same order.
    pub courseware_names: Vec<String>,
    /// Discounts pre-assigned to the user.
    pub assigned: Vec<DiscountRecord>,
    /// Discounts flagged automatic.
    pub automatic: Vec<DiscountRecord>,
    /// The typed code, if any.
    pub typed_code: Option<TypedCode>,
    /// The user's flexible-price requests (all coursewares), with tiers and tier discounts.
    pub flexible_requests: Vec<FlexiblePriceRequest>,
    /// The tier discounts of those requests, with their facts.
    pub tier_records: Vec<DiscountRecord>,
}

/// One stored request row before its tier discount is attached.
pub(crate) struct RequestRow {
    id: i64,
    courseware: Courseware,
    status: RequestStatus,
    created_on: DateTime<Utc>,
    tier: Option<(i64, Courseware, f64, bool, i64)>,
}

fn courseware_of(course: Option<i64>, program: Option<i64>) -> Option<Courseware> {
    match (course, program) {
        (Some(c), _) => Some(Courseware::Course(CourseId(c))),
        (None, Some(p)) => Some(Courseware::Program(ProgramId(p))),
        (None, None) => None,
    }
}

/// What [`PriceFacts`] is built from before the discount records are read.
pub(crate) struct Gathered {
    product: ProductFacts,
    eligible: Vec<Courseware>,
    names: Vec<String>,
    rows: Vec<RequestRow>,
}

impl Gathered {
    /// The tier discounts the request rows name, sorted and unique.
    fn tier_discount_ids(&self) -> Vec<DiscountId> {
        let mut ids: Vec<DiscountId> = self
            .rows
            .iter()
            .filter_map(|r| r.tier.map(|(_, _, _, _, d)| DiscountId(d)))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    fn into_facts(
        self,
        user: UserId,
        tier_records: Vec<DiscountRecord>,
        typed_code: Option<TypedCode>,
        assigned: Vec<DiscountRecord>,
        automatic: Vec<DiscountRecord>,
    ) -> PriceFacts {
        let flexible_requests = self
            .rows
            .into_iter()
            .map(|row| FlexiblePriceRequest {
                id: FlexiblePriceId(row.id),
                user,
                courseware: row.courseware,
                status: row.status,
                tier: row
                    .tier
                    .and_then(|(id, courseware, threshold, current, discount)| {
                        tier_records
                            .iter()
                            .find(|r| r.discount.id.0 == discount)
                            .map(|r| Tier {
                                id: TierId(id),
                                courseware,
                                income_threshold_usd: threshold,
                                discount: r.discount.clone(),
                                current,
                            })
                    }),
                created_on: row.created_on,
            })
            .collect();
        PriceFacts {
            user,
            product: self.product,
            eligible: self.eligible,
            courseware_names: self.names,
            assigned,
            automatic,
            typed_code,
            flexible_requests,
            tier_records,
        }
    }
}

backend_queries! {
    use sqlx::Row;

    /// The product (unknown → NotFound), its walk order with readable names, and the
    /// user's request rows.
    pub(crate) async fn gather(
        conn: &mut Conn,
        user: i64,
        product: ProductId,
    ) -> Result<Gathered, StoreError> {
        let facts = product_facts(conn, product.0).await?.ok_or_else(|| StoreError::NotFound {
            entity: "product",
            key: product.to_string(),
        })?;
        let course = match facts.object {
            PricedObject::CourseRun(c) | PricedObject::Course(c) => Some(c.0),
            PricedObject::ProgramRun(_) | PricedObject::Program(_) => None,
        };
        let links = program_links(conn, course).await?;
        let eligible = eligible_coursewares(facts.object, &links);
        let mut names = Vec::with_capacity(eligible.len());
        for courseware in &eligible {
            names.push(courseware_name(conn, *courseware).await?);
        }
        let rows = request_rows(conn, user).await?;
        Ok(Gathered {
            product: facts,
            eligible,
            names,
            rows,
        })
    }

    pub(crate) async fn product_facts(
        conn: &mut Conn,
        id: i64,
    ) -> Result<Option<ProductFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT p.id, p.content_type, p.object_id, p.price, p.description, p.is_active, \
             cr.course_id AS run_course, COALESCE(cr.courseware_id, pr.readable_id) AS courseware \
             FROM products p \
             LEFT JOIN course_runs cr ON p.content_type = 'courserun' AND cr.id = p.object_id \
             LEFT JOIN programs pr ON p.content_type = 'program' AND pr.id = p.object_id \
             WHERE p.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let content_type: String = row.try_get("content_type")?;
        let object_id: i64 = row.try_get("object_id")?;
        let run_course: Option<i64> = row.try_get("run_course")?;
        let object = match ContentType::parse(&content_type) {
            Some(ContentType::CourseRun) => {
                PricedObject::CourseRun(CourseId(run_course.ok_or_else(|| {
                    StoreError::corrupt(
                        "products",
                        "object_id",
                        format!("course run {object_id} does not exist"),
                    )
                })?))
            }
            // A program product prices like the original's program run: the program, then
            // its related programs.
            Some(ContentType::Program) => PricedObject::ProgramRun(ProgramId(object_id)),
            None => {
                return Err(StoreError::corrupt(
                    "products",
                    "content_type",
                    content_type,
                ));
            }
        };
        let price: DbMoney = row.try_get("price")?;
        Ok(Some(ProductFacts {
            id: ProductId(row.try_get("id")?),
            price: price.0,
            description: row.try_get("description")?,
            is_active: row.try_get("is_active")?,
            courseware: row.try_get("courseware")?,
            object,
        }))
    }

    /// Program membership of `course` (course nodes anywhere in a requirements tree) and
    /// every related-programs pair.
    pub(crate) async fn program_links(
        conn: &mut Conn,
        course: Option<i64>,
    ) -> Result<ProgramLinks, StoreError> {
        let mut links = ProgramLinks::new();
        if let Some(course) = course {
            let rows = sqlx::query(
                "SELECT DISTINCT program_id FROM program_requirements \
                 WHERE node_type = 'course' AND course_id = $1",
            )
            .bind(course)
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                links.add_course(ProgramId(row.try_get("program_id")?), CourseId(course));
            }
        }
        let rows = sqlx::query("SELECT first_program_id, second_program_id FROM related_programs")
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            links.relate(
                ProgramId(row.try_get("first_program_id")?),
                ProgramId(row.try_get("second_program_id")?),
            );
        }
        Ok(links)
    }

    pub(crate) async fn courseware_name(
        conn: &mut Conn,
        courseware: Courseware,
    ) -> Result<String, StoreError> {
        let (sql, id) = match courseware {
            Courseware::Course(id) => ("SELECT readable_id FROM courses WHERE id = $1", id.0),
            Courseware::Program(id) => ("SELECT readable_id FROM programs WHERE id = $1", id.0),
        };
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        Ok(match row {
            Some(row) => row.try_get("readable_id")?,
            None => courseware.to_string(),
        })
    }

    pub(crate) async fn request_rows(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.course_id, f.program_id, f.status, f.created_on, \
             t.id AS tier_id, t.course_id AS tier_course, t.program_id AS tier_program, \
             t.income_threshold_usd, t.current, t.discount_id \
             FROM flexible_prices f LEFT JOIN flexible_price_tiers t ON t.id = f.tier_id \
             WHERE f.user_id = $1 ORDER BY f.id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let courseware = courseware_of(row.try_get("course_id")?, row.try_get("program_id")?)
                .ok_or_else(|| {
                StoreError::corrupt("flexible_prices", "course_id", "neither course nor program")
            })?;
            let status: String = row.try_get("status")?;
            let tier_id: Option<i64> = row.try_get("tier_id")?;
            let tier = match tier_id {
                Some(tier_id) => {
                    let tier_courseware =
                        courseware_of(row.try_get("tier_course")?, row.try_get("tier_program")?)
                            .ok_or_else(|| {
                                StoreError::corrupt(
                                    "flexible_price_tiers",
                                    "course_id",
                                    "neither course nor program",
                                )
                            })?;
                    Some((
                        tier_id,
                        tier_courseware,
                        row.try_get::<f64, _>("income_threshold_usd")?,
                        row.try_get::<bool, _>("current")?,
                        row.try_get::<i64, _>("discount_id")?,
                    ))
                }
                None => None,
            };
            out.push(RequestRow {
                id: row.try_get("id")?,
                courseware,
                status: RequestStatus::parse(&status)
                    .ok_or_else(|| StoreError::corrupt("flexible_prices", "status", &status))?,
                created_on: row.try_get("created_on")?,
                tier,
            });
        }
        Ok(out)
    }

    pub(crate) async fn insert_tier(
        conn: &mut Conn,
        courseware: Courseware,
        threshold: f64,
        discount: i64,
        current: bool,
    ) -> Result<i64, StoreError> {
        let (course, program) = match courseware {
            Courseware::Course(id) => (Some(id.0), None),
            Courseware::Program(id) => (None, Some(id.0)),
        };
        let row = sqlx::query(
            "INSERT INTO flexible_price_tiers (course_id, program_id, income_threshold_usd, \
             discount_id, current) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(course)
        .bind(program)
        .bind(threshold)
        .bind(discount)
        .bind(current)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn insert_request(
        conn: &mut Conn,
        user: i64,
        courseware: Courseware,
        status: RequestStatus,
        tier: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (course, program) = match courseware {
            Courseware::Course(id) => (Some(id.0), None),
            Courseware::Program(id) => (None, Some(id.0)),
        };
        let row = sqlx::query(
            "INSERT INTO flexible_prices (user_id, course_id, program_id, status, tier_id, \
             created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(user)
        .bind(course)
        .bind(program)
        .bind(status.slug())
        .bind(tier)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn relate_programs(conn: &mut Conn, a: i64, b: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO related_programs (first_program_id, second_program_id) VALUES ($1, $2) \
             ON CONFLICT (first_program_id, second_program_id) DO NOTHING",
        )
        .bind(a.min(b))
        .bind(a.max(b))
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }
}

impl Store {
    /// Gathers the [`PriceFacts`] of `product` for `user` with an optional typed `code`.
    /// Unknown product → NotFound. Reads only; a concurrent change can at worst make the
    /// explanation describe a state a moment old.
    pub async fn price_facts(
        &self,
        user: UserId,
        product: ProductId,
        code: Option<&str>,
    ) -> Result<PriceFacts, StoreError> {
        let gathered = with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            q::gather(&mut conn, user.0, product).await?
        });
        let tier_records = self.discount_records(&gathered.tier_discount_ids()).await?;
        let typed_code = match code.map(str::trim) {
            Some(text) => Some(TypedCode {
                text: text.to_owned(),
                record: self.discount_record_by_code(text).await?,
            }),
            None => None,
        };
        Ok(gathered.into_facts(
            user,
            tier_records,
            typed_code,
            self.discount_records_assigned_to(user).await?,
            self.automatic_discount_records().await?,
        ))
    }
}

impl Tx {
    /// [`Store::price_facts`] read in the unit of work, for workflows that hold it (a
    /// workflow never waits for a second pooled connection while holding one).
    pub async fn price_facts(
        &mut self,
        user: UserId,
        product: ProductId,
        code: Option<&str>,
    ) -> Result<PriceFacts, StoreError> {
        let gathered = with_db!(tx: &mut *self, conn, q => q::gather(conn, user.0, product).await?);
        let tier_records = self.discount_records(&gathered.tier_discount_ids()).await?;
        let typed_code = match code.map(str::trim) {
            Some(text) => Some(TypedCode {
                text: text.to_owned(),
                record: self.discount_record_by_code(text).await?,
            }),
            None => None,
        };
        let assigned = self.discount_records_assigned_to(user).await?;
        let automatic = self.automatic_discount_records().await?;
        Ok(gathered.into_facts(user, tier_records, typed_code, assigned, automatic))
    }
}

#[cfg(feature = "testing")]
impl crate::Database {
    /// Test fixture until `mitx flexprice tiers configure` exists: a tier of
    /// `courseware` from `income_threshold_usd` using `discount`.
    pub async fn insert_tier_fixture(
        &self,
        courseware: Courseware,
        income_threshold_usd: f64,
        discount: DiscountId,
        current: bool,
    ) -> Result<TierId, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            q::insert_tier(&mut conn, courseware, income_threshold_usd, discount.0, current).await.map(TierId)
        })
    }

    /// Test fixture until the flexible-pricing workflow exists: a request of
    /// `user` on `courseware` in `status` with `tier`.
    pub async fn insert_flexible_price_fixture(
        &self,
        user: UserId,
        courseware: Courseware,
        status: RequestStatus,
        tier: Option<TierId>,
        now: DateTime<Utc>,
    ) -> Result<FlexiblePriceId, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            q::insert_request(&mut conn, user.0, courseware, status, tier.map(|t| t.0), now)
                .await
                .map(FlexiblePriceId)
        })
    }

    /// Test fixture: marks two programs as related (symmetric).
    pub async fn relate_programs_fixture(
        &self,
        a: ProgramId,
        b: ProgramId,
    ) -> Result<(), StoreError> {
        with_db!(conn: self, conn, q => q::relate_programs(conn, a.0, b.0).await)
    }
}
