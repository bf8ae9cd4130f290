//! Discounts and their related rows (ecommerce spec 1.3 and 6): creation (single, with
//! product restrictions and assignees, or a generated batch in one transaction), lookups
//! by code with the facts the validity rules need ([`DiscountRecord`]), the staff
//! listing filters, and `extend_coupons`' expiration update.
//!
//! Redemption facts come from `discount_redemptions` (migration 0002) joined to `orders`:
//! `all_redemptions` counts rows whatever the order state, `fulfilled_redeemers` lists the
//! redeeming user of each row whose order is `fulfilled`.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use mitx_core::ids::{DiscountId, ProductId, TierId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::{
    Discount, DiscountCode, DiscountDraft, DiscountRecord, DiscountType, DiscountUsage,
    PaymentType, RedemptionType,
};
use serde::Serialize;

use crate::audit_log::{Audit, AuditChange, audit_json};
use crate::discount_admin::{DiscountTier, TierCourseware};
use crate::money::DbMoney;
use crate::users::like_escape;
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// Rows per multi-row INSERT: 13 parameters a row stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bind limits.
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (...)` list.
const IN_CHUNK: usize = 500;

/// The filters of `mitx discounts list` (the staff API's `q`, `redemption_type`,
/// `payment_type`, `is_redeemed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscountFilter {
    /// Code contains this text (case-sensitive, like the lookups).
    pub search: Option<String>,
    /// Only this redemption type.
    pub redemption_type: Option<RedemptionType>,
    /// Only this payment type.
    pub payment_type: Option<PaymentType>,
    /// Only redeemed (any order state) or never redeemed discounts.
    pub redeemed: Option<bool>,
    /// At most this many (newest first).
    pub limit: u32,
}

/// A discount with its redemption count, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiscountSummary {
    /// The discount.
    #[serde(flatten)]
    pub discount: Discount,
    /// Redemptions on orders in any state.
    pub redemptions: i64,
    /// Created.
    pub created_on: DateTime<Utc>,
}

/// A product a discount is restricted to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RestrictedProduct {
    /// The product.
    pub id: ProductId,
    /// The run's courseware id or the program's readable id.
    pub courseware: Option<String>,
    /// Its price.
    #[serde(serialize_with = "crate::products::serialize_price")]
    pub price: Money,
    /// Whether it is active.
    pub is_active: bool,
}

/// A user a discount is assigned to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignee {
    /// The user.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
}

/// A flexible-pricing tier that uses a discount.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierLink {
    /// The tier.
    pub id: TierId,
    /// `course` or `program`.
    pub courseware_type: String,
    /// The course's or program's readable id.
    pub courseware: String,
    /// Inclusive lower income bound, USD.
    pub income_threshold_usd: f64,
    /// Whether the tier is in use.
    pub current: bool,
}

impl From<&DiscountTier> for TierLink {
    fn from(t: &DiscountTier) -> TierLink {
        TierLink {
            id: t.id,
            courseware_type: t.courseware.kind.to_owned(),
            courseware: t.courseware.readable_id.clone(),
            income_threshold_usd: t.income_threshold_usd,
            current: t.current,
        }
    }
}

/// Everything `mitx discounts show` prints about one discount.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiscountDetail {
    /// The discount and the facts its validity rules read.
    pub record: DiscountRecord,
    /// Product restrictions.
    pub products: Vec<RestrictedProduct>,
    /// Assigned users.
    pub assignees: Vec<Assignee>,
    /// Tiers using it.
    pub tiers: Vec<TierLink>,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
}

/// A parameter of [`discounts_where`]-style queries.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Bind<'a> {
    /// Text.
    Text(&'a str),
    /// An integer.
    Int(i64),
}

/// `$1, $2, ...` from `start`.
fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn conflict_for_codes(codes: &[String]) -> StoreError {
    match codes {
        [one] => StoreError::Conflict(format!("Discount code '{one}' already exists.")),
        many => {
            let shown: Vec<&str> = many.iter().take(5).map(String::as_str).collect();
            StoreError::Conflict(format!(
                "{} discount codes already exist: {}{}",
                many.len(),
                shown.join(", "),
                if many.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            ))
        }
    }
}

backend_queries! {
    use sqlx::Row;

    pub(crate) const DISCOUNT_COLUMNS: &str = "d.id, d.discount_code, d.discount_type, d.amount, \
        d.redemption_type, d.payment_type, d.max_redemptions, d.automatic, d.activation_date, \
        d.expiration_date, d.is_bulk, d.is_program_discount, d.created_on, d.updated_on";

    pub(crate) fn discount_from_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<Discount, StoreError> {
        let code: String = row.try_get("discount_code")?;
        let kind: String = row.try_get("discount_type")?;
        let redemption: String = row.try_get("redemption_type")?;
        let payment: Option<String> = row.try_get("payment_type")?;
        let amount: DbMoney = row.try_get("amount")?;
        let max: i64 = row.try_get("max_redemptions")?;
        Ok(Discount {
            id: DiscountId(row.try_get("id")?),
            code: DiscountCode::parse(&code)
                .map_err(|e| StoreError::corrupt("discounts", "discount_code", e))?,
            discount_type: DiscountType::parse(&kind)
                .ok_or_else(|| StoreError::corrupt("discounts", "discount_type", &kind))?,
            amount: amount.0.amount(),
            redemption_type: RedemptionType::parse(&redemption)
                .ok_or_else(|| StoreError::corrupt("discounts", "redemption_type", &redemption))?,
            payment_type: payment
                .map(|p| {
                    PaymentType::parse(&p)
                        .ok_or_else(|| StoreError::corrupt("discounts", "payment_type", &p))
                })
                .transpose()?,
            max_redemptions: u32::try_from(max)
                .map_err(|e| StoreError::corrupt("discounts", "max_redemptions", e))?,
            automatic: row.try_get("automatic")?,
            activation_date: row.try_get("activation_date")?,
            expiration_date: row.try_get("expiration_date")?,
            is_bulk: row.try_get("is_bulk")?,
            is_program_discount: row.try_get("is_program_discount")?,
        })
    }

    /// The discounts selected by `where_sql` (over alias `d`), with `binds` text
    /// parameters, newest id last.
    pub(crate) async fn discounts_where(
        conn: &mut Conn,
        where_sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<Discount>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DISCOUNT_COLUMNS} FROM discounts d WHERE {where_sql} ORDER BY d.id"
        ));
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = match *bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(value) => query.bind(value),
            };
        }
        let rows = query.fetch_all(&mut *conn).await?;
        rows.iter().map(discount_from_row).collect()
    }

    pub(crate) async fn discount_times(
        conn: &mut Conn,
        id: i64,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), StoreError> {
        let row = sqlx::query("SELECT created_on, updated_on FROM discounts WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        Ok((row.try_get("created_on")?, row.try_get("updated_on")?))
    }

    /// The usage facts of the given discounts (every id gets an entry).
    pub(crate) async fn usage_of(
        conn: &mut Conn,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, DiscountUsage>, StoreError> {
        let mut usage: BTreeMap<i64, DiscountUsage> = ids
            .iter()
            .map(|&id| (id, DiscountUsage::default()))
            .collect();
        for chunk in ids.chunks(IN_CHUNK) {
            let list = placeholders(1, chunk.len());
            let queries = [
                format!(
                    "SELECT redeemed_discount_id AS id, COUNT(*) AS n FROM discount_redemptions \
                    WHERE redeemed_discount_id IN ({list}) GROUP BY redeemed_discount_id"
                ),
                format!(
                    "SELECT r.redeemed_discount_id AS id, r.redeemed_by_id AS other \
                    FROM discount_redemptions r JOIN orders o ON o.id = r.redeemed_order_id \
                    WHERE o.state = 'fulfilled' AND r.redeemed_discount_id IN ({list}) ORDER BY r.id"
                ),
                format!(
                    "SELECT discount_id AS id, product_id AS other FROM discount_products \
                    WHERE discount_id IN ({list}) ORDER BY id"
                ),
                format!(
                    "SELECT discount_id AS id, user_id AS other FROM user_discounts \
                    WHERE discount_id IN ({list}) ORDER BY id"
                ),
                format!(
                    "SELECT discount_id AS id, COUNT(*) AS n FROM flexible_price_tiers \
                    WHERE discount_id IN ({list}) GROUP BY discount_id"
                ),
            ];
            for (kind, sql) in queries.into_iter().enumerate() {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(*id);
                }
                for row in query.fetch_all(&mut *conn).await? {
                    let id: i64 = row.try_get("id")?;
                    let Some(entry) = usage.get_mut(&id) else {
                        continue;
                    };
                    match kind {
                        0 => {
                            let n: i64 = row.try_get("n")?;
                            entry.all_redemptions = u32::try_from(n).unwrap_or(u32::MAX);
                        }
                        1 => entry
                            .fulfilled_redeemers
                            .push(UserId(row.try_get("other")?)),
                        2 => entry.restricted_to.push(ProductId(row.try_get("other")?)),
                        3 => entry.assigned_to.push(UserId(row.try_get("other")?)),
                        _ => entry.tier_linked = row.try_get::<i64, _>("n")? > 0,
                    }
                }
            }
        }
        Ok(usage)
    }

    pub(crate) async fn records_of(
        conn: &mut Conn,
        discounts: Vec<Discount>,
    ) -> Result<Vec<DiscountRecord>, StoreError> {
        let ids: Vec<i64> = discounts.iter().map(|d| d.id.0).collect();
        let mut usage = usage_of(conn, &ids).await?;
        Ok(discounts
            .into_iter()
            .map(|discount| DiscountRecord {
                usage: usage.remove(&discount.id.0).unwrap_or_default(),
                discount,
            })
            .collect())
    }

    /// The codes among `codes` that already exist.
    pub(crate) async fn existing_codes(
        conn: &mut Conn,
        codes: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in codes.chunks(IN_CHUNK) {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT discount_code FROM discounts WHERE discount_code IN ({}) ORDER BY discount_code",
                placeholders(1, chunk.len())
            ));
            let mut query = sqlx::query(sql);
            for code in chunk {
                query = query.bind(*code);
            }
            for row in query.fetch_all(&mut *conn).await? {
                found.push(row.try_get("discount_code")?);
            }
        }
        Ok(found)
    }

    /// Inserts the drafts with multi-row INSERTs; returns the new ids in draft order.
    pub(crate) async fn insert_discounts(
        conn: &mut Conn,
        drafts: &[DiscountDraft],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        const COLUMNS: usize = 13;
        let mut ids_by_code: BTreeMap<String, i64> = BTreeMap::new();
        for chunk in drafts.chunks(INSERT_CHUNK) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * COLUMNS + 1, COLUMNS)))
                .collect();
            let sql = sqlx::AssertSqlSafe(format!(
                "INSERT INTO discounts (discount_code, discount_type, amount, redemption_type, \
                 payment_type, max_redemptions, automatic, activation_date, expiration_date, \
                 is_bulk, is_program_discount, created_on, updated_on) VALUES {} \
                 RETURNING id, discount_code",
                rows.join(", ")
            ));
            let mut query = sqlx::query(sql);
            for d in chunk {
                let max = i64::from(d.max_redemptions);
                query = query
                    .bind(d.code.as_str())
                    .bind(d.discount_type.slug())
                    .bind(DbMoney(Money::new(d.amount)))
                    .bind(d.redemption_type.slug())
                    .bind(d.payment_type.map(PaymentType::slug))
                    .bind(max)
                    .bind(d.automatic)
                    .bind(d.activation_date)
                    .bind(d.expiration_date)
                    .bind(d.is_bulk)
                    .bind(d.is_program_discount)
                    .bind(now)
                    .bind(now);
            }
            let returned = query
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::classify)?;
            for row in returned {
                ids_by_code.insert(row.try_get("discount_code")?, row.try_get("id")?);
            }
        }
        drafts
            .iter()
            .map(|d| {
                ids_by_code
                    .get(d.code.as_str())
                    .copied()
                    .ok_or_else(|| StoreError::NotFound {
                        entity: "discount",
                        key: d.code.to_string(),
                    })
            })
            .collect()
    }

    pub(crate) async fn link_product(
        conn: &mut Conn,
        discount: i64,
        product: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO discount_products (discount_id, product_id) VALUES ($1, $2) \
             ON CONFLICT (discount_id, product_id) DO NOTHING",
        )
        .bind(discount)
        .bind(product)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn assign_user(
        conn: &mut Conn,
        discount: i64,
        user: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO user_discounts (discount_id, user_id) VALUES ($1, $2)")
            .bind(discount)
            .bind(user)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn restricted_products(
        conn: &mut Conn,
        discount: i64,
    ) -> Result<Vec<RestrictedProduct>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.price, p.is_active, COALESCE(cr.courseware_id, pr.readable_id) AS courseware \
             FROM discount_products dp JOIN products p ON p.id = dp.product_id \
             LEFT JOIN course_runs cr ON p.content_type = 'courserun' AND cr.id = p.object_id \
             LEFT JOIN programs pr ON p.content_type = 'program' AND pr.id = p.object_id \
             WHERE dp.discount_id = $1 ORDER BY p.id",
        )
        .bind(discount)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let price: DbMoney = row.try_get("price")?;
                Ok(RestrictedProduct {
                    id: ProductId(row.try_get("id")?),
                    courseware: row.try_get("courseware")?,
                    price: price.0,
                    is_active: row.try_get("is_active")?,
                })
            })
            .collect()
    }

    pub(crate) async fn assignees(
        conn: &mut Conn,
        discount: i64,
    ) -> Result<Vec<Assignee>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT u.id, u.username, u.email FROM user_discounts ud \
             JOIN users u ON u.id = ud.user_id WHERE ud.discount_id = $1 ORDER BY u.id",
        )
        .bind(discount)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Assignee {
                    id: UserId(row.try_get("id")?),
                    username: row.try_get("username")?,
                    email: row.try_get("email")?,
                })
            })
            .collect()
    }

    pub(crate) async fn tiers(conn: &mut Conn, discount: i64) -> Result<Vec<DiscountTier>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.discount_id, t.income_threshold_usd, t.current, \
             c.id AS course_id, c.title AS course_title, c.readable_id AS course_readable_id, \
             p.id AS program_id, p.title AS program_title, p.readable_id AS program_readable_id \
             FROM flexible_price_tiers t \
             LEFT JOIN courses c ON c.id = t.course_id LEFT JOIN programs p ON p.id = t.program_id \
             WHERE t.discount_id = $1 ORDER BY t.id",
        )
        .bind(discount)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let course: Option<i64> = row.try_get("course_id")?;
                let program: Option<i64> = row.try_get("program_id")?;
                let courseware = match (course, program) {
                    (Some(id), _) => TierCourseware {
                        id,
                        kind: "course",
                        title: row.try_get("course_title")?,
                        readable_id: row.try_get("course_readable_id")?,
                    },
                    (None, Some(id)) => TierCourseware {
                        id,
                        kind: "program",
                        title: row.try_get("program_title")?,
                        readable_id: row.try_get("program_readable_id")?,
                    },
                    (None, None) => {
                        return Err(StoreError::corrupt(
                            "flexible_price_tiers",
                            "course_id",
                            "neither a course nor a program",
                        ));
                    }
                };
                Ok(DiscountTier {
                    id: TierId(row.try_get("id")?),
                    discount: DiscountId(row.try_get("discount_id")?),
                    courseware,
                    income_threshold_usd: row.try_get("income_threshold_usd")?,
                    current: row.try_get("current")?,
                })
            })
            .collect()
    }

    pub(crate) async fn list_summaries(
        conn: &mut Conn,
        filter: &DiscountFilter,
    ) -> Result<Vec<DiscountSummary>, StoreError> {
        let pattern = filter
            .search
            .as_deref()
            .map(|s| format!("%{}%", like_escape(s)));
        let redeemed = filter.redeemed.map(|r| if r { "yes" } else { "no" });
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DISCOUNT_COLUMNS}, \
             (SELECT COUNT(*) FROM discount_redemptions r WHERE r.redeemed_discount_id = d.id) AS redemptions \
             FROM discounts d \
             WHERE ($1 IS NULL OR d.discount_code LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR d.redemption_type = $2) \
             AND ($3 IS NULL OR d.payment_type = $3) \
             AND ($4 IS NULL \
                  OR ($4 = 'yes' AND EXISTS (SELECT 1 FROM discount_redemptions r WHERE r.redeemed_discount_id = d.id)) \
                  OR ($4 = 'no' AND NOT EXISTS (SELECT 1 FROM discount_redemptions r WHERE r.redeemed_discount_id = d.id))) \
             ORDER BY d.id DESC LIMIT $5"
        ));
        let rows = sqlx::query(sql)
            .bind(pattern)
            .bind(filter.redemption_type.map(RedemptionType::slug))
            .bind(filter.payment_type.map(PaymentType::slug))
            .bind(redeemed)
            .bind(i64::from(filter.limit))
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let discount = discount_from_row(row)?;
            // SQLite's LIKE ignores ASCII case; code search is case-sensitive on both.
            if let Some(search) = &filter.search
                && !discount.code.as_str().contains(search.as_str())
            {
                continue;
            }
            out.push(DiscountSummary {
                discount,
                redemptions: row.try_get("redemptions")?,
                created_on: row.try_get("created_on")?,
            });
        }
        Ok(out)
    }

    pub(crate) async fn set_expiration(
        conn: &mut Conn,
        id: i64,
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE discounts SET expiration_date = $2, updated_on = $3 WHERE id = $1")
            .bind(id)
            .bind(expires)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn insert_order_redemption(
        conn: &mut Conn,
        discount: i64,
        user: i64,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let order = sqlx::query(
            "INSERT INTO orders (state, purchaser_id, created_on, updated_on) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(state)
        .bind(user)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        let order: i64 = order.try_get("id")?;
        sqlx::query(
            "INSERT INTO discount_redemptions (redemption_date, redeemed_by_id, redeemed_discount_id, \
             redeemed_order_id, created_on, updated_on) VALUES ($1, $2, $3, $4, $1, $1)",
        )
        .bind(now)
        .bind(user)
        .bind(discount)
        .bind(order)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }
}

/// What a discount looked like and looks like, for the audit log.
#[derive(Serialize)]
struct ExpirationChange<'a> {
    code: &'a str,
    expiration_date: Option<DateTime<Utc>>,
}

impl Store {
    /// The flexible-pricing tiers that use a discount, by id.
    pub async fn discount_tiers(&self, id: DiscountId) -> Result<Vec<DiscountTier>, StoreError> {
        with_db!(conn: self, conn, q => q::tiers(conn, id.0).await)
    }

    /// The discount with exactly this code (case-sensitive), with its facts.
    pub async fn discount_detail(&self, code: &str) -> Result<Option<DiscountDetail>, StoreError> {
        let found = with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            q::discounts_where(&mut conn, "d.discount_code = $1", &[Bind::Text(code)]).await?
        });
        match found.first() {
            Some(d) => self.discount_detail_by_id(d.id).await.map(Some),
            None => Ok(None),
        }
    }

    /// The discount with this id and its facts; unknown id → NotFound.
    pub async fn discount_detail_by_id(
        &self,
        id: DiscountId,
    ) -> Result<DiscountDetail, StoreError> {
        let key = id.0.to_string();
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            let found = q::discounts_where(&mut conn, "d.id = $1", &[Bind::Int(id.0)]).await?;
            let mut records = q::records_of(&mut conn, found).await?;
            let record = records.pop().ok_or_else(|| StoreError::NotFound {
                entity: "discount",
                key: key.clone(),
            })?;
            let (created_on, updated_on) = q::discount_times(&mut conn, id.0).await?;
            Ok(DiscountDetail {
                products: q::restricted_products(&mut conn, id.0).await?,
                assignees: q::assignees(&mut conn, id.0).await?,
                tiers: q::tiers(&mut conn, id.0).await?.iter().map(TierLink::from).collect(),
                record,
                created_on,
                updated_on,
            })
        })
    }

    /// The discount with exactly this code, with the facts the validity rules read.
    pub async fn discount_record_by_code(
        &self,
        code: &str,
    ) -> Result<Option<DiscountRecord>, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            let found = q::discounts_where(&mut conn, "d.discount_code = $1", &[Bind::Text(code)]).await?;
            Ok(q::records_of(&mut conn, found).await?.into_iter().next())
        })
    }

    /// Discounts assigned to `user` (user_discounts), by id, with their facts.
    pub async fn discount_records_assigned_to(
        &self,
        user: UserId,
    ) -> Result<Vec<DiscountRecord>, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            let found = q::discounts_where(
                &mut conn,
                "d.id IN (SELECT discount_id FROM user_discounts WHERE user_id = $1)",
                &[Bind::Int(user.0)],
            )
            .await?;
            q::records_of(&mut conn, found).await
        })
    }

    /// Discounts flagged `automatic`, by id, with their facts.
    pub async fn automatic_discount_records(&self) -> Result<Vec<DiscountRecord>, StoreError> {
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            let found = q::discounts_where(&mut conn, "d.automatic", &[]).await?;
            q::records_of(&mut conn, found).await
        })
    }

    /// Discounts by id (unknown ids are skipped), by id, with their facts.
    pub async fn discount_records(
        &self,
        ids: &[DiscountId],
    ) -> Result<Vec<DiscountRecord>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let binds: Vec<Bind<'_>> = chunk.iter().map(|id| Bind::Int(id.0)).collect();
            let where_sql = format!("d.id IN ({})", placeholders(1, chunk.len()));
            let records = with_db!(self, pool, q => {
                let mut conn = pool.acquire().await?;
                let found = q::discounts_where(&mut conn, &where_sql, &binds).await?;
                q::records_of(&mut conn, found).await?
            });
            out.extend(records);
        }
        Ok(out)
    }

    /// Discounts whose code contains `fragment` (case-sensitive), with their facts.
    pub async fn discount_records_containing(
        &self,
        fragment: &str,
    ) -> Result<Vec<DiscountRecord>, StoreError> {
        let pattern = format!("%{}%", like_escape(fragment));
        with_db!(self, pool, q => {
            let mut conn = pool.acquire().await?;
            let found = q::discounts_where(&mut conn, "d.discount_code LIKE $1 ESCAPE '\\'", &[Bind::Text(&pattern)]).await?;
            // SQLite's LIKE ignores ASCII case: keep exact matches only.
            let found = found.into_iter().filter(|d| d.code.as_str().contains(fragment)).collect();
            q::records_of(&mut conn, found).await
        })
    }

    /// Discounts matching `filter`, newest first, with their redemption counts.
    pub async fn list_discounts(
        &self,
        filter: &DiscountFilter,
    ) -> Result<Vec<DiscountSummary>, StoreError> {
        with_db!(conn: self, conn, q => q::list_summaries(conn, filter).await)
    }
}

/// The audit-log row of a discount change.
fn discount_change<'a>(
    audit: &'a Audit,
    action: &'a str,
    id: i64,
    before: Option<String>,
    after: Option<String>,
) -> AuditChange<'a> {
    AuditChange {
        audit,
        action,
        entity: "discount",
        entity_id: id.to_string(),
        before,
        after,
    }
}

/// The discount reads of [`Store`] in the unit of work, for workflows that hold it (a
/// workflow never waits for a second pooled connection while holding one).
impl Tx {
    /// [`Store::discount_record_by_code`] in the unit of work.
    pub async fn discount_record_by_code(
        &mut self,
        code: &str,
    ) -> Result<Option<DiscountRecord>, StoreError> {
        with_db!(tx: self, conn, q => {
            let found = q::discounts_where(conn, "d.discount_code = $1", &[Bind::Text(code)]).await?;
            Ok(q::records_of(conn, found).await?.into_iter().next())
        })
    }

    /// [`Store::discount_records_assigned_to`] in the unit of work.
    pub async fn discount_records_assigned_to(
        &mut self,
        user: UserId,
    ) -> Result<Vec<DiscountRecord>, StoreError> {
        with_db!(tx: self, conn, q => {
            let found = q::discounts_where(
                conn,
                "d.id IN (SELECT discount_id FROM user_discounts WHERE user_id = $1)",
                &[Bind::Int(user.0)],
            )
            .await?;
            q::records_of(conn, found).await
        })
    }

    /// [`Store::automatic_discount_records`] in the unit of work.
    pub async fn automatic_discount_records(&mut self) -> Result<Vec<DiscountRecord>, StoreError> {
        with_db!(tx: self, conn, q => {
            let found = q::discounts_where(conn, "d.automatic", &[]).await?;
            q::records_of(conn, found).await
        })
    }

    /// [`Store::discount_records`] in the unit of work.
    pub async fn discount_records(
        &mut self,
        ids: &[DiscountId],
    ) -> Result<Vec<DiscountRecord>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let binds: Vec<Bind<'_>> = chunk.iter().map(|id| Bind::Int(id.0)).collect();
            let where_sql = format!("d.id IN ({})", placeholders(1, chunk.len()));
            let records = with_db!(tx: &mut *self, conn, q => {
                let found = q::discounts_where(conn, &where_sql, &binds).await?;
                q::records_of(conn, found).await?
            });
            out.extend(records);
        }
        Ok(out)
    }
}

impl Tx {
    /// Creates one discount with its product restrictions and assignees and an audit row,
    /// in the unit of work; returns its id. A code already in use is a [`StoreError::Conflict`]
    /// ("Discount code 'X' already exists."). Validation of the fields
    /// (`DiscountDraft::check_for_save`) is the caller's.
    pub async fn create_discount(
        &mut self,
        draft: &DiscountDraft,
        products: &[ProductId],
        users: &[UserId],
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<DiscountId, StoreError> {
        let id = with_db!(tx: self, conn, q => {
            let existing = q::existing_codes(conn, &[draft.code.as_str()]).await?;
            if !existing.is_empty() {
                return Err(conflict_for_codes(&existing));
            }
            let ids = q::insert_discounts(conn, std::slice::from_ref(draft), now).await?;
            let id = ids.first().copied().ok_or_else(|| StoreError::NotFound {
                entity: "discount",
                key: draft.code.to_string(),
            })?;
            for product in products {
                q::link_product(conn, id, product.0).await?;
            }
            let mut seen = HashSet::new();
            for user in users {
                if seen.insert(*user) {
                    q::assign_user(conn, id, user.0).await?;
                }
            }
            id
        });
        self.record_audit(
            &discount_change(audit, "discount.create", id, None, audit_json(draft)),
            now,
        )
        .await?;
        Ok(DiscountId(id))
    }

    /// Creates every draft in the unit of work with multi-row INSERTs (1,000 codes are a
    /// couple of statements), plus one audit row for the batch. Codes that already exist,
    /// or repeat within the batch, are a [`StoreError::Conflict`] and nothing is written.
    pub async fn create_discounts(
        &mut self,
        drafts: &[DiscountDraft],
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<Vec<Discount>, StoreError> {
        let mut seen = HashSet::new();
        let repeated: Vec<String> = drafts
            .iter()
            .filter(|d| !seen.insert(d.code.as_str()))
            .map(|d| d.code.to_string())
            .collect();
        if !repeated.is_empty() {
            return Err(StoreError::Conflict(format!(
                "the batch repeats discount codes: {}",
                repeated.join(", ")
            )));
        }
        let codes: Vec<&str> = drafts.iter().map(|d| d.code.as_str()).collect();
        let ids = with_db!(tx: self, conn, q => {
            let existing = q::existing_codes(conn, &codes).await?;
            if !existing.is_empty() {
                return Err(conflict_for_codes(&existing));
            }
            q::insert_discounts(conn, drafts, now).await?
        });
        let summary = serde_json::json!({
            "count": drafts.len(),
            "first_code": codes.first(),
            "last_code": codes.last(),
        });
        let first = ids.first().copied().unwrap_or_default();
        self.record_audit(
            &discount_change(
                audit,
                "discount.generate",
                first,
                None,
                Some(summary.to_string()),
            ),
            now,
        )
        .await?;
        Ok(drafts
            .iter()
            .zip(ids)
            .map(|(d, id)| d.clone().into_discount(DiscountId(id)))
            .collect())
    }

    /// Sets the expiration date of each discount (one audit row each), in the unit of work;
    /// returns how many were updated. Validation is the caller's.
    pub async fn set_discount_expirations(
        &mut self,
        discounts: &[Discount],
        expires: DateTime<Utc>,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        for d in discounts {
            with_db!(tx: self, conn, q => q::set_expiration(conn, d.id.0, expires, now).await)?;
            let before = audit_json(&ExpirationChange {
                code: d.code.as_str(),
                expiration_date: d.expiration_date,
            });
            let after = audit_json(&ExpirationChange {
                code: d.code.as_str(),
                expiration_date: Some(expires),
            });
            self.record_audit(
                &discount_change(audit, "discount.extend", d.id.0, before, after),
                now,
            )
            .await?;
        }
        Ok(discounts.len())
    }
}

#[cfg(feature = "testing")]
impl crate::Database {
    /// Fixture for tests: an order of `user` in `state` (`pending`, `fulfilled`, ...)
    /// redeeming `discount`, as checkout would write it. The orders workflow owns the real
    /// writes; this exists so redemption counting can be tested before it.
    pub async fn insert_redemption_fixture(
        &self,
        discount: DiscountId,
        user: UserId,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        with_db!(tx: &mut tx, conn, q => q::insert_order_redemption(conn, discount.0, user.0, state, now).await)?;
        tx.commit().await
    }
}
