//! The staff discount API's writes and nested reads (ecommerce spec 6): updating and
//! deleting a discount, its assignees and product links (the link rows with their ids),
//! its redemptions and the flexible-pricing tiers that use it. Every write takes the unit
//! of work and leaves an audit row.

use chrono::{DateTime, Utc};
use mitx_core::ids::{DiscountId, OrderId, ProductId, TierId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::OrderState;
use mitx_core::pricing::{Discount, PaymentType};
use serde::Serialize;

use crate::audit_log::{Audit, AuditChange, audit_json};
use crate::money::DbMoney;
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// A redemption of a discount, as the staff API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiscountRedemptionRow {
    /// The redemption.
    pub id: i64,
    /// When.
    pub redemption_date: DateTime<Utc>,
    /// Who.
    pub redeemed_by: UserId,
    /// The user's username.
    pub username: String,
    /// The order.
    pub order: OrderId,
    /// The order's state.
    pub order_state: OrderState,
    /// The order's reference number.
    pub reference_number: Option<String>,
}

/// A user a discount is assigned to: one `user_discounts` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DiscountAssignment {
    /// The row.
    pub id: i64,
    /// The discount.
    pub discount: DiscountId,
    /// The user.
    pub user: UserId,
}

/// A product a discount is restricted to: one `discount_products` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DiscountProductLink {
    /// The row.
    pub id: i64,
    /// The discount.
    pub discount: DiscountId,
    /// The product.
    pub product: ProductId,
}

/// The course or program of a flexible-pricing tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierCourseware {
    /// The course's or program's id.
    pub id: i64,
    /// `course` or `program`.
    pub kind: &'static str,
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
}

/// A flexible-pricing tier that uses a discount, with its course or program.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiscountTier {
    /// The tier.
    pub id: TierId,
    /// The discount it grants.
    pub discount: DiscountId,
    /// Its course or program.
    pub courseware: TierCourseware,
    /// Inclusive lower income bound, USD.
    pub income_threshold_usd: f64,
    /// Whether the tier is in use.
    pub current: bool,
}

/// One page of rows with the count of all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowPage<T> {
    /// All rows.
    pub count: u64,
    /// This page's rows.
    pub rows: Vec<T>,
}

backend_queries! {
    use sqlx::Row;

    pub(crate) async fn lock_discount(conn: &mut Conn, id: i64) -> Result<bool, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT id FROM discounts WHERE id = $1{FOR_UPDATE}"));
        Ok(sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?.is_some())
    }

    pub(crate) async fn first_id(conn: &mut Conn, sql: &'static str, a: i64, b: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql).bind(a).bind(b).fetch_optional(&mut *conn).await?)
    }

    pub(crate) async fn insert_link(conn: &mut Conn, sql: &'static str, a: i64, b: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar(sql)
            .bind(a)
            .bind(b)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::classify)
    }

    /// `(row id, discount, other id)` triples of a link table query; `$1`.. bound in order.
    pub(crate) async fn links(conn: &mut Conn, sql: &'static str, binds: &[i64]) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let mut query = sqlx::query(sql);
        for b in binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("discount_id")?, row.try_get("other")?)))
            .collect()
    }

    pub(crate) async fn count(conn: &mut Conn, sql: &'static str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql).fetch_one(&mut *conn).await?)
    }


    pub(crate) async fn update(conn: &mut Conn, d: &Discount, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE discounts SET discount_code = $2, discount_type = $3, amount = $4, \
             redemption_type = $5, payment_type = $6, max_redemptions = $7, automatic = $8, \
             activation_date = $9, expiration_date = $10, updated_on = $11 WHERE id = $1",
        )
        .bind(d.id.0)
        .bind(d.code.as_str())
        .bind(d.discount_type.slug())
        .bind(DbMoney(Money::new(d.amount)))
        .bind(d.redemption_type.slug())
        .bind(d.payment_type.map(PaymentType::slug))
        .bind(i64::from(d.max_redemptions))
        .bind(d.automatic)
        .bind(d.activation_date)
        .bind(d.expiration_date)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn execute(conn: &mut Conn, sql: &'static str, a: i64, b: Option<i64>) -> Result<u64, StoreError> {
        let mut query = sqlx::query(sql).bind(a);
        if let Some(b) = b {
            query = query.bind(b);
        }
        let done = query.execute(&mut *conn).await.map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn redemptions(conn: &mut Conn, discount: i64) -> Result<Vec<DiscountRedemptionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.redemption_date, r.redeemed_by_id, u.username, o.id AS order_id, \
             o.state, o.reference_number FROM discount_redemptions r \
             JOIN users u ON u.id = r.redeemed_by_id JOIN orders o ON o.id = r.redeemed_order_id \
             WHERE r.redeemed_discount_id = $1 ORDER BY r.id DESC",
        )
        .bind(discount)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok(DiscountRedemptionRow {
                    id: row.try_get("id")?,
                    redemption_date: row.try_get("redemption_date")?,
                    redeemed_by: UserId(row.try_get("redeemed_by_id")?),
                    username: row.try_get("username")?,
                    order: OrderId(row.try_get("order_id")?),
                    order_state: OrderState::parse(&state)
                        .map_err(|e| StoreError::corrupt("orders", "state", e))?,
                    reference_number: row.try_get("reference_number")?,
                })
            })
            .collect()
    }
}

fn change<'a>(
    audit: &'a Audit,
    action: &'a str,
    id: DiscountId,
    before: Option<String>,
    after: Option<String>,
) -> AuditChange<'a> {
    AuditChange {
        audit,
        action,
        entity: "discount",
        entity_id: id.0.to_string(),
        before,
        after,
    }
}

#[derive(Serialize)]
struct Link {
    user: Option<i64>,
    product: Option<i64>,
}

fn assignment((id, discount, user): (i64, i64, i64)) -> DiscountAssignment {
    DiscountAssignment {
        id,
        discount: DiscountId(discount),
        user: UserId(user),
    }
}

fn product_link((id, discount, product): (i64, i64, i64)) -> DiscountProductLink {
    DiscountProductLink {
        id,
        discount: DiscountId(discount),
        product: ProductId(product),
    }
}

impl Store {
    /// The redemptions of a discount, newest first.
    pub async fn discount_redemptions(
        &self,
        id: DiscountId,
    ) -> Result<Vec<DiscountRedemptionRow>, StoreError> {
        with_db!(conn: self, conn, q => q::redemptions(conn, id.0).await)
    }

    /// The users a discount is assigned to, one item per `user_discounts` row, by row id.
    pub async fn discount_assignments(
        &self,
        id: DiscountId,
    ) -> Result<Vec<DiscountAssignment>, StoreError> {
        let rows = with_db!(conn: self, conn, q => q::links(conn, "SELECT id, discount_id, user_id AS other FROM user_discounts WHERE discount_id = $1 ORDER BY id", &[id.0]).await)?;
        Ok(rows.into_iter().map(assignment).collect())
    }

    /// One page of every discount's assignments, by row id, with the count of all.
    pub async fn discount_assignment_page(
        &self,
        limit: u64,
        offset: u64,
    ) -> Result<RowPage<DiscountAssignment>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let (count, rows) = with_db!(conn: self, conn, q => {
            let count = q::count(conn, "SELECT COUNT(*) FROM user_discounts").await?;
            let rows = q::links(conn, "SELECT id, discount_id, user_id AS other FROM user_discounts ORDER BY id LIMIT $1 OFFSET $2", &[limit, offset]).await?;
            (count, rows)
        });
        Ok(RowPage {
            count: u64::try_from(count).unwrap_or(0),
            rows: rows.into_iter().map(assignment).collect(),
        })
    }

    /// The products a discount is restricted to, one item per `discount_products` row, by
    /// row id.
    pub async fn discount_product_links(
        &self,
        id: DiscountId,
    ) -> Result<Vec<DiscountProductLink>, StoreError> {
        let rows = with_db!(conn: self, conn, q => q::links(conn, "SELECT id, discount_id, product_id AS other FROM discount_products WHERE discount_id = $1 ORDER BY id", &[id.0]).await)?;
        Ok(rows.into_iter().map(product_link).collect())
    }
}

impl Tx {
    /// Writes every field of `after` over the stored discount (validation is the caller's);
    /// `false` when no discount has that id. A code in use is a [`StoreError::Conflict`].
    pub async fn update_discount(
        &mut self,
        before: &Discount,
        after: &Discount,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = with_db!(tx: self, conn, q => q::update(conn, after, now).await)?;
        if n == 0 {
            return Ok(false);
        }
        self.record_audit(
            &change(
                audit,
                "discount.update",
                after.id,
                audit_json(before),
                audit_json(after),
            ),
            now,
        )
        .await?;
        Ok(true)
    }

    /// Deletes a discount with its redemptions, links and basket uses (cascades);
    /// `false` when no discount has that id. A tier-linked discount is refused by the
    /// database ([`StoreError::Conflict`]); callers check first.
    pub async fn delete_discount(
        &mut self,
        before: &Discount,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = with_db!(tx: self, conn, q => q::execute(conn, "DELETE FROM discounts WHERE id = $1", before.id.0, None).await)?;
        if n == 0 {
            return Ok(false);
        }
        self.record_audit(
            &change(
                audit,
                "discount.delete",
                before.id,
                audit_json(before),
                None,
            ),
            now,
        )
        .await?;
        Ok(true)
    }

    /// Locks the discount row until the unit of work ends (PostgreSQL; SQLite's unit of
    /// work already holds the write lock), so that concurrent link changes of one discount
    /// queue; `false` when no discount has that id.
    pub async fn lock_discount(&mut self, id: DiscountId) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::lock_discount(conn, id.0).await)
    }

    /// Assigns the discount to `user` (once: `user_discounts` has no unique key, so the
    /// caller locks the discount first); the assignment, and `true` when it was added.
    pub async fn assign_discount(
        &mut self,
        id: DiscountId,
        user: UserId,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<(DiscountAssignment, bool), StoreError> {
        let existing = with_db!(tx: self, conn, q => q::first_id(conn, "SELECT id FROM user_discounts WHERE discount_id = $1 AND user_id = $2 ORDER BY id LIMIT 1", id.0, user.0).await)?;
        if let Some(row) = existing {
            return Ok((assignment((row, id.0, user.0)), false));
        }
        let row = with_db!(tx: self, conn, q => q::insert_link(conn, "INSERT INTO user_discounts (discount_id, user_id) VALUES ($1, $2) RETURNING id", id.0, user.0).await)?;
        let link = Link {
            user: Some(user.0),
            product: None,
        };
        self.record_audit(
            &change(audit, "discount.assign", id, None, audit_json(&link)),
            now,
        )
        .await?;
        Ok((assignment((row, id.0, user.0)), true))
    }

    /// Removes every assignment of the discount to `user`; how many rows went.
    pub async fn unassign_discount(
        &mut self,
        id: DiscountId,
        user: UserId,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let n = with_db!(tx: self, conn, q => q::execute(conn, "DELETE FROM user_discounts WHERE discount_id = $1 AND user_id = $2", id.0, Some(user.0)).await)?;
        if n > 0 {
            let link = Link {
                user: Some(user.0),
                product: None,
            };
            self.record_audit(
                &change(audit, "discount.unassign", id, audit_json(&link), None),
                now,
            )
            .await?;
        }
        Ok(n)
    }

    /// Restricts the discount to `product`; the link, and `true` when it is new.
    pub async fn link_discount_product(
        &mut self,
        id: DiscountId,
        product: ProductId,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<(DiscountProductLink, bool), StoreError> {
        let existing = with_db!(tx: self, conn, q => q::first_id(conn, "SELECT id FROM discount_products WHERE discount_id = $1 AND product_id = $2", id.0, product.0).await)?;
        if let Some(row) = existing {
            return Ok((product_link((row, id.0, product.0)), false));
        }
        let row = with_db!(tx: self, conn, q => q::insert_link(conn, "INSERT INTO discount_products (discount_id, product_id) VALUES ($1, $2) RETURNING id", id.0, product.0).await)?;
        let link = Link {
            user: None,
            product: Some(product.0),
        };
        self.record_audit(
            &change(audit, "discount.link_product", id, None, audit_json(&link)),
            now,
        )
        .await?;
        Ok((product_link((row, id.0, product.0)), true))
    }

    /// Removes the restriction to `product`; how many rows went.
    pub async fn unlink_discount_product(
        &mut self,
        id: DiscountId,
        product: ProductId,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let n = with_db!(tx: self, conn, q => q::execute(conn, "DELETE FROM discount_products WHERE discount_id = $1 AND product_id = $2", id.0, Some(product.0)).await)?;
        if n > 0 {
            let link = Link {
                user: None,
                product: Some(product.0),
            };
            self.record_audit(
                &change(
                    audit,
                    "discount.unlink_product",
                    id,
                    audit_json(&link),
                    None,
                ),
                now,
            )
            .await?;
        }
        Ok(n)
    }
}
