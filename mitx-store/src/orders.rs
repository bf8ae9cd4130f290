//! Orders (ecommerce spec 1.4, 3): what checkout reads of a learner's basket, the pending
//! order it builds or reuses (3.4), and the writes of the transitions (state
//! compare-and-set, transactions, redemptions, paid records, basket clean-up).
//!
//! A transition is one unit of work: the workflow reads the order, decides in mitx-core,
//! then opens the unit of work and writes only if the state it decided from is still
//! there ([`Tx::set_order_state`] is a compare-and-set whose update holds the row's lock to
//! the commit), so ten identical callbacks fulfil an order once.

use chrono::{DateTime, Utc};
use mitx_core::ids::{
    BasketId, CourseRunId, DiscountId, OrderId, ProductId, ProductVersionId, UserId,
};
use mitx_core::money::Money;
use mitx_core::orders::{GatewayType, OrderState, PendingOrderCandidate};
use sqlx::Row;

use crate::money::DbMoney;
use crate::products::ContentType;
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// A stored order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    /// Id.
    pub id: OrderId,
    /// State.
    pub state: OrderState,
    /// The purchaser.
    pub purchaser: UserId,
    /// `total_price_paid`.
    pub total_price_paid: Money,
    /// `mitxonline-{ENVIRONMENT}-{id}` (null only for rows written before it was set).
    pub reference_number: Option<String>,
    /// The gateway the order was checked out with.
    pub gateway: GatewayType,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
}

/// An order line with its product snapshot and what it purchases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLineRow {
    /// Line id.
    pub id: i64,
    /// The snapshot the line was priced from.
    pub version: ProductVersionId,
    /// The snapshot's product.
    pub product: ProductId,
    /// Always 1 today.
    pub quantity: u32,
    /// Run or program.
    pub content_type: ContentType,
    /// The run or program id.
    pub object_id: i64,
    /// The snapshot's price.
    pub price: Money,
    /// The snapshot's description.
    pub description: String,
    /// The run's courseware id or the program's readable id (empty when it is gone).
    pub readable_id: String,
    /// The run's course title or the program's title.
    pub title: String,
    /// The run's B2B contract, if any.
    pub contract: Option<i64>,
}

/// One item of a learner's basket as checkout sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutBasketItem {
    /// The product.
    pub product: ProductId,
    /// Basket quantity.
    pub quantity: u32,
    /// Run or program.
    pub content_type: ContentType,
    /// The run or program id.
    pub object_id: i64,
    /// The product's newest snapshot (`None`: the product has none and cannot be sold).
    pub version: Option<ProductVersionId>,
    /// The newest snapshot's price (the product's price when there is no snapshot).
    pub price: Money,
    /// The newest snapshot's description.
    pub description: String,
}

/// A learner's basket as checkout sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutBasket {
    /// The basket.
    pub id: BasketId,
    /// Its items in insertion order.
    pub items: Vec<CheckoutBasketItem>,
    /// Its discounts (at most one).
    pub discounts: Vec<DiscountId>,
}

/// A transaction to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTransaction<'a> {
    /// The gateway's id (globally unique).
    pub transaction_id: &'a str,
    /// The amount.
    pub amount: Money,
    /// The raw gateway payload.
    pub data: &'a serde_json::Value,
    /// `payment` or `refund`.
    pub refund: bool,
    /// The reason (may be blank).
    pub reason: &'a str,
}

/// A stored transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionRow {
    /// Row id.
    pub id: i64,
    /// The gateway's id.
    pub transaction_id: String,
    /// The amount.
    pub amount: Money,
    /// The raw payload (`{}` when it was not JSON).
    pub data: serde_json::Value,
    /// A refund (else a payment).
    pub refund: bool,
    /// The reason.
    pub reason: String,
    /// Created.
    pub created_on: DateTime<Utc>,
}

/// How many fulfilled redemptions a discount has, counted under its row lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FulfilledUsage {
    /// The discount.
    pub discount: DiscountId,
    /// Fulfilled redemptions on other orders.
    pub others: u64,
    /// Of those, the purchaser's own.
    pub by_user: u64,
}

const ORDER_COLUMNS: &str = "o.id, o.state, o.purchaser_id, o.total_price_paid, \
    o.reference_number, o.gateway_type, o.created_on, o.updated_on";

/// The same columns for a `RETURNING` clause (SQLite does not allow the alias there).
const ORDER_RETURNING: &str = "id, state, purchaser_id, total_price_paid, \
    reference_number, gateway_type, created_on, updated_on";

backend_queries! {
    use super::{DbMoney, Row};

    pub(crate) fn order_from_row(row: &<Db as sqlx::Database>::Row) -> Result<OrderRow, StoreError> {
        let state: String = row.try_get("state")?;
        let gateway: String = row.try_get("gateway_type")?;
        Ok(OrderRow {
            id: OrderId(row.try_get("id")?),
            state: OrderState::parse(&state)
                .map_err(|e| StoreError::corrupt("orders", "state", e))?,
            purchaser: UserId(row.try_get("purchaser_id")?),
            total_price_paid: row.try_get::<DbMoney, _>("total_price_paid")?.0,
            reference_number: row.try_get("reference_number")?,
            gateway: GatewayType::parse_setting(&gateway)
                .map_err(|e| StoreError::corrupt("orders", "gateway_type", e))?,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
        })
    }

    pub(crate) async fn order(conn: &mut Conn, id: i64) -> Result<Option<OrderRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(order_from_row).transpose()
    }

    pub(crate) async fn orders_by_reference(
        conn: &mut Conn,
        reference: &str,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.reference_number = $1 ORDER BY o.id"
        ));
        let rows = sqlx::query(sql).bind(reference).fetch_all(&mut *conn).await?;
        rows.iter().map(order_from_row).collect()
    }

    pub(crate) async fn lines(conn: &mut Conn, order: i64) -> Result<Vec<OrderLineRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.id, l.product_version_id, v.product_id, l.quantity, \
                    l.purchased_content_type, l.purchased_object_id, v.price, v.description, \
                    COALESCE(r.courseware_id, pg.readable_id, '') AS readable_id, \
                    COALESCE(c.title, pg.title, '') AS title, r.b2b_contract_id \
             FROM order_lines l \
             JOIN product_versions v ON v.id = l.product_version_id \
             LEFT JOIN course_runs r ON l.purchased_content_type = 'courserun' \
                  AND r.id = l.purchased_object_id \
             LEFT JOIN courses c ON c.id = r.course_id \
             LEFT JOIN programs pg ON l.purchased_content_type = 'program' \
                  AND pg.id = l.purchased_object_id \
             WHERE l.order_id = $1 ORDER BY l.id",
        )
        .bind(order)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("purchased_content_type")?;
                Ok(OrderLineRow {
                    id: row.try_get("id")?,
                    version: ProductVersionId(row.try_get("product_version_id")?),
                    product: ProductId(row.try_get("product_id")?),
                    quantity: u32::try_from(row.try_get::<i64, _>("quantity")?).unwrap_or(1),
                    content_type: ContentType::parse(&kind)
                        .ok_or_else(|| StoreError::corrupt("order_lines", "purchased_content_type", &kind))?,
                    object_id: row.try_get("purchased_object_id")?,
                    price: row.try_get::<DbMoney, _>("price")?.0,
                    description: row.try_get("description")?,
                    readable_id: row.try_get("readable_id")?,
                    title: row.try_get("title")?,
                    contract: row.try_get("b2b_contract_id")?,
                })
            })
            .collect()
    }

    pub(crate) async fn redemption_discounts(
        conn: &mut Conn,
        order: i64,
    ) -> Result<Vec<DiscountId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT redeemed_discount_id FROM discount_redemptions \
             WHERE redeemed_order_id = $1 ORDER BY id",
        )
        .bind(order)
        .fetch_all(&mut *conn)
        .await?;
        Ok(ids.into_iter().map(DiscountId).collect())
    }

    pub(crate) async fn transactions(
        conn: &mut Conn,
        order: i64,
    ) -> Result<Vec<TransactionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, transaction_id, amount, data, transaction_type, reason, created_on \
             FROM transactions WHERE order_id = $1 ORDER BY id",
        )
        .bind(order)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let data: String = row.try_get("data")?;
                let kind: String = row.try_get("transaction_type")?;
                Ok(TransactionRow {
                    id: row.try_get("id")?,
                    transaction_id: row.try_get("transaction_id")?,
                    amount: row.try_get::<DbMoney, _>("amount")?.0,
                    data: serde_json::from_str(&data).unwrap_or_else(|_| serde_json::json!({})),
                    refund: kind == "refund",
                    reason: row.try_get("reason")?,
                    created_on: row.try_get("created_on")?,
                })
            })
            .collect()
    }

    pub(crate) async fn checkout_basket(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Option<CheckoutBasket>, StoreError> {
        // One round trip for the basket and its items (a basket without items gives one
        // row of NULLs).
        let rows = sqlx::query(
            "SELECT b.id AS basket_id, i.product_id, i.quantity, p.content_type, p.object_id, \
                    v.id AS version_id, COALESCE(v.price, p.price) AS price, \
                    COALESCE(v.description, p.description) AS description \
             FROM baskets b \
             LEFT JOIN basket_items i ON i.basket_id = b.id \
             LEFT JOIN products p ON p.id = i.product_id \
             LEFT JOIN product_versions v ON v.id = \
                  (SELECT max(x.id) FROM product_versions x WHERE x.product_id = p.id) \
             WHERE b.user_id = $1 ORDER BY i.id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let basket: i64 = first.try_get("basket_id")?;
        let items = rows
            .iter()
            .filter(|row| row.try_get::<Option<i64>, _>("product_id").ok().flatten().is_some())
            .map(|row| {
                let kind: String = row.try_get("content_type")?;
                Ok(CheckoutBasketItem {
                    product: ProductId(row.try_get("product_id")?),
                    quantity: u32::try_from(row.try_get::<i64, _>("quantity")?).unwrap_or(1),
                    content_type: ContentType::parse(&kind)
                        .ok_or_else(|| StoreError::corrupt("products", "content_type", &kind))?,
                    object_id: row.try_get("object_id")?,
                    version: row.try_get::<Option<i64>, _>("version_id")?.map(ProductVersionId),
                    price: row.try_get::<DbMoney, _>("price")?.0,
                    description: row.try_get("description")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let discounts: Vec<i64> = sqlx::query_scalar(
            "SELECT redeemed_discount_id FROM basket_discounts WHERE redeemed_basket_id = $1 \
             ORDER BY id",
        )
        .bind(basket)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Some(CheckoutBasket {
            id: BasketId(basket),
            items,
            discounts: discounts.into_iter().map(DiscountId).collect(),
        }))
    }

    pub(crate) async fn pending_candidates(
        conn: &mut Conn,
        user: i64,
        gateway: &str,
    ) -> Result<Vec<PendingOrderCandidate>, StoreError> {
        // Locked: a fulfilment of one of these orders waits for this checkout (or this
        // checkout, once the fulfilment commits, no longer sees the order as pending).
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT o.id, l.product_version_id FROM orders o \
             JOIN order_lines l ON l.order_id = o.id \
             WHERE o.purchaser_id = $1 AND o.gateway_type = $2 AND o.state = 'pending' \
             ORDER BY o.id, l.id{}",
            if FOR_UPDATE.is_empty() { "" } else { " FOR UPDATE OF o" }
        ));
        let rows = sqlx::query(sql)
        .bind(user)
        .bind(gateway)
        .fetch_all(&mut *conn)
        .await?;
        let mut out: Vec<PendingOrderCandidate> = Vec::new();
        for row in &rows {
            let order = OrderId(row.try_get("id")?);
            let version = ProductVersionId(row.try_get("product_version_id")?);
            match out.last_mut() {
                Some(last) if last.order == order => last.line_versions.push(version),
                _ => out.push(PendingOrderCandidate {
                    order,
                    line_versions: vec![version],
                }),
            }
        }
        Ok(out)
    }

    pub(crate) async fn create_order(
        conn: &mut Conn,
        user: i64,
        gateway: &str,
        reference_prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        if WRITING_CTE {
            // PostgreSQL: the id comes from the identity sequence first, so the reference
            // number is written by the same statement.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO orders (id, state, purchaser_id, total_price_paid, gateway_type, \
                 reference_number, created_on, updated_on) \
                 SELECT n, 'pending', $1, 0, $2, $4 || n, $3, $3 \
                 FROM (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS n) s RETURNING id",
            )
            .bind(user)
            .bind(gateway)
            .bind(now)
            .bind(reference_prefix)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
            return Ok(id);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO orders (state, purchaser_id, total_price_paid, gateway_type, \
             created_on, updated_on) VALUES ('pending', $1, 0, $2, $3, $3) RETURNING id",
        )
        .bind(user)
        .bind(gateway)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        sqlx::query("UPDATE orders SET reference_number = $2 WHERE id = $1")
            .bind(id)
            .bind(format!("{reference_prefix}{id}"))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(id)
    }

    pub(crate) async fn delete_redemptions(conn: &mut Conn, order: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM discount_redemptions WHERE redeemed_order_id = $1")
            .bind(order)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_line(conn: &mut Conn, order: i64, line: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM order_lines WHERE order_id = $1 AND id = $2")
            .bind(order)
            .bind(line)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_redemption(
        conn: &mut Conn,
        order: i64,
        discount: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM discount_redemptions WHERE redeemed_order_id = $1 \
             AND redeemed_discount_id = $2",
        )
        .bind(order)
        .bind(discount)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn insert_redemption(
        conn: &mut Conn,
        order: i64,
        user: i64,
        discount: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO discount_redemptions (redemption_date, redeemed_by_id, \
             redeemed_discount_id, redeemed_order_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $1, $1)",
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

    pub(crate) async fn ensure_line(
        conn: &mut Conn,
        order: i64,
        version: i64,
        content_type: &str,
        object_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO order_lines (order_id, product_version_id, quantity, \
             purchased_content_type, purchased_object_id, created_on, updated_on) \
             VALUES ($1, $2, 1, $3, $4, $5, $5) \
             ON CONFLICT (order_id, purchased_content_type, purchased_object_id) DO NOTHING",
        )
        .bind(order)
        .bind(version)
        .bind(content_type)
        .bind(object_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn set_total(
        conn: &mut Conn,
        order: i64,
        total: Money,
        now: DateTime<Utc>,
    ) -> Result<Option<OrderRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE orders SET total_price_paid = $2, updated_on = $3 WHERE id = $1 \
             RETURNING {ORDER_RETURNING}"
        ));
        let row = sqlx::query(sql)
            .bind(order)
            .bind(DbMoney(total))
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        row.as_ref().map(order_from_row).transpose()
    }

    pub(crate) async fn set_state(
        conn: &mut Conn,
        order: i64,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orders SET state = $3, updated_on = $4 WHERE id = $1 AND state = $2",
        )
        .bind(order)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn insert_transaction(
        conn: &mut Conn,
        order: i64,
        t: &NewTransaction<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO transactions (transaction_id, order_id, amount, data, transaction_type, \
             reason, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (transaction_id) DO NOTHING",
        )
        .bind(t.transaction_id)
        .bind(order)
        .bind(DbMoney(t.amount))
        .bind(t.data.to_string())
        .bind(if t.refund { "refund" } else { "payment" })
        .bind(t.reason)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn insert_paid(
        conn: &mut Conn,
        table_and_column: (&str, &str),
        user: i64,
        object: i64,
        order: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (table, column) = table_and_column;
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (user_id, {column}, order_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, {column}, order_id) DO NOTHING"
        ));
        sqlx::query(sql)
            .bind(user)
            .bind(object)
            .bind(order)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn user_basket_snapshot(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Option<(i64, Vec<ProductId>, Vec<DiscountId>)>, StoreError> {
        // One round trip: the basket's items (kind 0; none: one row with no product) and
        // its discounts (kind 1).
        let rows = sqlx::query(
            "SELECT b.id, 0 AS kind, i.product_id AS item FROM baskets b \
             LEFT JOIN basket_items i ON i.basket_id = b.id WHERE b.user_id = $1 \
             UNION ALL \
             SELECT b.id, 1 AS kind, d.redeemed_discount_id AS item FROM baskets b \
             JOIN basket_discounts d ON d.redeemed_basket_id = b.id WHERE b.user_id = $1",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let basket: i64 = first.try_get("id")?;
        let mut products: Vec<i64> = Vec::with_capacity(rows.len());
        let mut discounts: Vec<i64> = Vec::new();
        for row in &rows {
            let kind: i32 = row.try_get("kind")?;
            let Some(item) = row.try_get::<Option<i64>, _>("item")? else { continue };
            if kind == 0 {
                products.push(item);
            } else {
                discounts.push(item);
            }
        }
        Ok(Some((
            basket,
            products.into_iter().map(ProductId).collect(),
            discounts.into_iter().map(DiscountId).collect(),
        )))
    }

    pub(crate) async fn delete_basket_discounts(conn: &mut Conn, basket: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM basket_discounts WHERE redeemed_basket_id = $1")
            .bind(basket)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub(crate) async fn fulfilled_usage(
        conn: &mut Conn,
        discount: i64,
        order: i64,
        user: i64,
    ) -> Result<FulfilledUsage, StoreError> {
        // The row lock serialises the fulfilments that redeem one code (PostgreSQL; the
        // SQLite unit of work already holds the write lock).
        // NO KEY UPDATE: serialises fulfilments without blocking checkouts that insert
        // redemptions (their foreign key takes a KEY SHARE lock).
        let lock = sqlx::AssertSqlSafe(format!(
            "SELECT id FROM discounts WHERE id = $1{}",
            if FOR_UPDATE.is_empty() { "" } else { " FOR NO KEY UPDATE" }
        ));
        sqlx::query(lock).bind(discount).fetch_optional(&mut *conn).await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS others, \
                    COALESCE(SUM(CASE WHEN r.redeemed_by_id = $3 THEN 1 ELSE 0 END), 0) AS by_user \
             FROM discount_redemptions r JOIN orders o ON o.id = r.redeemed_order_id \
             WHERE r.redeemed_discount_id = $1 AND r.redeemed_order_id <> $2 \
               AND o.state = 'fulfilled'",
        )
        .bind(discount)
        .bind(order)
        .bind(user)
        .fetch_one(&mut *conn)
        .await?;
        Ok(FulfilledUsage {
            discount: DiscountId(discount),
            others: u64::try_from(row.try_get::<i64, _>("others")?).unwrap_or(0),
            by_user: u64::try_from(row.try_get::<i64, _>("by_user")?).unwrap_or(0),
        })
    }

    pub(crate) async fn crm_guards(
        conn: &mut Conn,
        user: i64,
        order: i64,
    ) -> Result<(bool, bool), StoreError> {
        let row = sqlx::query(
            "SELECT \
               EXISTS (SELECT 1 FROM contract_learners WHERE user_id = $1) AS in_contract, \
               EXISTS (SELECT 1 FROM order_lines l \
                       JOIN course_runs r ON l.purchased_content_type = 'courserun' \
                            AND r.id = l.purchased_object_id \
                       JOIN program_requirements pr ON pr.course_id = r.course_id \
                       JOIN program_enrollments pe ON pe.program_id = pr.program_id \
                            AND pe.user_id = $1 AND pe.active \
                       WHERE l.order_id = $2) AS in_program",
        )
        .bind(user)
        .bind(order)
        .fetch_one(&mut *conn)
        .await?;
        Ok((row.try_get("in_contract")?, row.try_get("in_program")?))
    }

    pub(crate) async fn program_audit_runs(
        conn: &mut Conn,
        user: i64,
        program: i64,
    ) -> Result<Vec<CourseRunId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT e.run_id FROM course_run_enrollments e \
             JOIN course_runs r ON r.id = e.run_id \
             JOIN program_requirements pr ON pr.course_id = r.course_id AND pr.program_id = $2 \
             WHERE e.user_id = $1 AND e.active AND e.enrollment_mode = 'audit' \
             ORDER BY e.run_id",
        )
        .bind(user)
        .bind(program)
        .fetch_all(&mut *conn)
        .await?;
        Ok(ids.into_iter().map(CourseRunId).collect())
    }

    pub(crate) async fn fulfilled_version(
        conn: &mut Conn,
        user: i64,
        version: i64,
    ) -> Result<bool, StoreError> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.purchaser_id = $1 AND o.state = 'fulfilled' AND l.product_version_id = $2)",
        )
        .bind(user)
        .bind(version)
        .fetch_one(&mut *conn)
        .await?;
        Ok(found)
    }

    pub(crate) async fn newest_version(
        conn: &mut Conn,
        product: i64,
    ) -> Result<Option<(i64, String, i64, DbMoney)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, content_type, object_id, price FROM product_versions \
             WHERE product_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(product)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| -> Result<_, StoreError> {
            Ok((r.try_get("id")?, r.try_get("content_type")?, r.try_get("object_id")?, r.try_get("price")?))
        })
        .transpose()
    }

    pub(crate) async fn b2b_contract_facts(
        conn: &mut Conn,
        user: i64,
        run: i64,
    ) -> Result<Option<(i64, bool, bool)>, StoreError> {
        let row = sqlx::query(
            "SELECT c.id, \
                    (c.enrollment_fixed_price IS NOT NULL AND c.enrollment_fixed_price > 0) AS paid, \
                    EXISTS (SELECT 1 FROM contract_learners l \
                            WHERE l.contract_id = c.id AND l.user_id = $1) AS member \
             FROM course_runs r JOIN contracts c ON c.id = r.b2b_contract_id \
             WHERE r.id = $2 AND c.active",
        )
        .bind(user)
        .bind(run)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| -> Result<_, StoreError> {
            Ok((r.try_get("id")?, r.try_get("paid")?, r.try_get("member")?))
        })
        .transpose()
    }

    pub(crate) async fn discount_linked_to_contracts(
        conn: &mut Conn,
        discount: i64,
        contracts: &[i64],
    ) -> Result<bool, StoreError> {
        for contract in contracts {
            let linked: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM discount_products dp \
                 JOIN products p ON p.id = dp.product_id AND p.content_type = 'courserun' \
                 JOIN course_runs r ON r.id = p.object_id \
                 WHERE dp.discount_id = $1 AND r.b2b_contract_id = $2)",
            )
            .bind(discount)
            .bind(contract)
            .fetch_one(&mut *conn)
            .await?;
            if linked {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) async fn run_checkout_facts(
        conn: &mut Conn,
        user: i64,
        run: i64,
    ) -> Result<(bool, bool), StoreError> {
        let row = sqlx::query(
            "SELECT \
               EXISTS (SELECT 1 FROM blocked_countries b \
                       JOIN legal_addresses l ON l.country = b.country \
                       JOIN course_runs r ON r.course_id = b.course_id \
                       WHERE l.user_id = $1 AND r.id = $2) AS blocked, \
               EXISTS (SELECT 1 FROM paid_course_runs p JOIN orders o ON o.id = p.order_id \
                       WHERE p.user_id = $1 AND p.course_run_id = $2 AND o.state = 'fulfilled') AS paid",
        )
        .bind(user)
        .bind(run)
        .fetch_one(&mut *conn)
        .await?;
        Ok((row.try_get("blocked")?, row.try_get("paid")?))
    }
}

/// A product version row as (id, content type, object id, price).
type VersionRow = (ProductVersionId, ContentType, i64, Money);

fn version_row(
    found: Option<(i64, String, i64, DbMoney)>,
) -> Result<Option<VersionRow>, StoreError> {
    found
        .map(|(id, kind, object, price)| {
            let kind = ContentType::parse(&kind)
                .ok_or_else(|| StoreError::corrupt("product_versions", "content_type", &kind))?;
            Ok((ProductVersionId(id), kind, object, price.0))
        })
        .transpose()
}

impl Store {
    /// An order by id.
    pub async fn order(&self, id: OrderId) -> Result<Option<OrderRow>, StoreError> {
        with_db!(conn: self, conn, q => q::order(conn, id.0).await)
    }

    /// Every order with this reference number (0 or 1 in practice; the column is unique).
    pub async fn orders_by_reference(&self, reference: &str) -> Result<Vec<OrderRow>, StoreError> {
        with_db!(conn: self, conn, q => q::orders_by_reference(conn, reference).await)
    }

    /// An order's lines in line order.
    pub async fn order_lines(&self, order: OrderId) -> Result<Vec<OrderLineRow>, StoreError> {
        with_db!(conn: self, conn, q => q::lines(conn, order.0).await)
    }

    /// The discounts an order redeems.
    pub async fn order_redemption_discounts(
        &self,
        order: OrderId,
    ) -> Result<Vec<DiscountId>, StoreError> {
        with_db!(conn: self, conn, q => q::redemption_discounts(conn, order.0).await)
    }

    /// An order's transactions, oldest first.
    pub async fn order_transactions(
        &self,
        order: OrderId,
    ) -> Result<Vec<TransactionRow>, StoreError> {
        with_db!(conn: self, conn, q => q::transactions(conn, order.0).await)
    }

    /// The learner's basket as checkout reads it (`None`: no basket).
    pub async fn checkout_basket(
        &self,
        user: UserId,
    ) -> Result<Option<CheckoutBasket>, StoreError> {
        with_db!(conn: self, conn, q => q::checkout_basket(conn, user.0).await)
    }

    /// Whether the run's course blocks the learner's country, and whether the learner
    /// already paid for the run on a fulfilled order (spec 4.4 checks 1 and 2).
    pub async fn run_checkout_facts(
        &self,
        user: UserId,
        run: CourseRunId,
    ) -> Result<(bool, bool), StoreError> {
        with_db!(conn: self, conn, q => q::run_checkout_facts(conn, user.0, run.0).await)
    }

    /// Whether the learner has a fulfilled order with a line for this snapshot.
    pub async fn fulfilled_order_has_version(
        &self,
        user: UserId,
        version: ProductVersionId,
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::fulfilled_version(conn, user.0, version.0).await)
    }

    /// A product's newest snapshot: id, content type, object id and price.
    pub async fn newest_product_version(
        &self,
        product: ProductId,
    ) -> Result<Option<VersionRow>, StoreError> {
        let found = with_db!(conn: self, conn, q => q::newest_version(conn, product.0).await)?;
        version_row(found)
    }

    /// For a run of an active B2B contract: the contract, whether it is paid (a fixed
    /// enrollment price above zero) and whether the learner is attached to it.
    pub async fn b2b_checkout_facts(
        &self,
        user: UserId,
        run: CourseRunId,
    ) -> Result<Option<(i64, bool, bool)>, StoreError> {
        with_db!(conn: self, conn, q => q::b2b_contract_facts(conn, user.0, run.0).await)
    }

    /// Whether the discount is restricted to a product of a run of one of the contracts.
    pub async fn discount_linked_to_contracts(
        &self,
        discount: DiscountId,
        contracts: &[i64],
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::discount_linked_to_contracts(conn, discount.0, contracts).await)
    }

    /// Whether the purchaser belongs to any B2B contract, and whether a purchased run's
    /// course is in a program the purchaser is enrolled in (the CRM guards of 3.3 step 4).
    pub async fn order_crm_guards(
        &self,
        user: UserId,
        order: OrderId,
    ) -> Result<(bool, bool), StoreError> {
        with_db!(conn: self, conn, q => q::crm_guards(conn, user.0, order.0).await)
    }

    /// The learner's active audit enrollments in runs of the program's courses.
    pub async fn program_audit_runs(
        &self,
        user: UserId,
        program: mitx_core::ids::ProgramId,
    ) -> Result<Vec<CourseRunId>, StoreError> {
        with_db!(conn: self, conn, q => q::program_audit_runs(conn, user.0, program.0).await)
    }
}

impl Tx {
    /// The order's lines, read in the unit of work.
    pub async fn order_lines(&mut self, order: OrderId) -> Result<Vec<OrderLineRow>, StoreError> {
        with_db!(tx: self, conn, q => q::lines(conn, order.0).await)
    }

    /// The discounts the order redeems, read in the unit of work.
    pub async fn order_redemption_discounts(
        &mut self,
        order: OrderId,
    ) -> Result<Vec<DiscountId>, StoreError> {
        with_db!(tx: self, conn, q => q::redemption_discounts(conn, order.0).await)
    }

    /// The learner's pending orders of this gateway with the snapshots of their lines
    /// (spec 3.4 step 2), read in the unit of work.
    pub async fn pending_order_candidates(
        &mut self,
        user: UserId,
        gateway: GatewayType,
    ) -> Result<Vec<PendingOrderCandidate>, StoreError> {
        with_db!(tx: self, conn, q => q::pending_candidates(conn, user.0, gateway.as_str()).await)
    }

    /// Creates a pending order with total 0 and its reference number
    /// (`{reference_prefix}{id}`).
    pub async fn create_pending_order(
        &mut self,
        user: UserId,
        gateway: GatewayType,
        reference_prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderId, StoreError> {
        with_db!(tx: self, conn, q => q::create_order(conn, user.0, gateway.as_str(), reference_prefix, now).await)
            .map(OrderId)
    }

    /// Deletes the order's discount redemptions; how many.
    pub async fn delete_order_redemptions(&mut self, order: OrderId) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::delete_redemptions(conn, order.0).await)
    }

    /// Prepares a pending order for reuse (spec 3.4 step 2): deletes its redemptions and
    /// the lines for anything not in `keep` (content type, object id), so the order holds
    /// exactly what the new checkout charges for.
    pub async fn reuse_pending_order(
        &mut self,
        order: OrderId,
        keep: &[(ContentType, i64)],
    ) -> Result<(), StoreError> {
        self.delete_order_redemptions(order).await?;
        for line in self.order_lines(order).await? {
            if !keep.contains(&(line.content_type, line.object_id)) {
                with_db!(tx: self, conn, q => q::delete_line(conn, order.0, line.id).await)?;
            }
        }
        Ok(())
    }

    /// Deletes the order's redemption of one discount; how many.
    pub async fn delete_order_redemption(
        &mut self,
        order: OrderId,
        discount: DiscountId,
    ) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::delete_redemption(conn, order.0, discount.0).await)
    }

    /// Records that `user` redeems `discount` on `order`.
    pub async fn insert_redemption(
        &mut self,
        order: OrderId,
        user: UserId,
        discount: DiscountId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::insert_redemption(conn, order.0, user.0, discount.0, now).await)
    }

    /// Get-or-create the order's line for the object (an existing line keeps its
    /// snapshot).
    pub async fn ensure_order_line(
        &mut self,
        order: OrderId,
        version: ProductVersionId,
        content_type: ContentType,
        object_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::ensure_line(conn, order.0, version.0, content_type.slug(), object_id, now).await)
    }

    /// Sets `total_price_paid`; the order as written (`None`: no such order). The update
    /// holds the row's lock until the unit of work ends.
    pub async fn set_order_total(
        &mut self,
        order: OrderId,
        total: Money,
        now: DateTime<Utc>,
    ) -> Result<Option<OrderRow>, StoreError> {
        with_db!(tx: self, conn, q => q::set_total(conn, order.0, total, now).await)
    }

    /// Moves the order from `from` to `to` if it is still in `from`; whether it moved.
    pub async fn set_order_state(
        &mut self,
        order: OrderId,
        from: OrderState,
        to: OrderState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::set_state(conn, order.0, from.as_str(), to.as_str(), now).await)
    }

    /// Records a transaction unless one with the same id exists (get-or-create); whether
    /// it was inserted.
    pub async fn record_transaction(
        &mut self,
        order: OrderId,
        transaction: &NewTransaction<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => q::insert_transaction(conn, order.0, transaction, now).await)
    }

    /// Records a fulfilled zero-value order for a run's product (its newest version): the
    /// order with its reference number, its line and the learner's PaidCourseRun (courses
    /// spec 2.7: a 100% program discount); the order's id. A product without a version is
    /// not found.
    pub async fn create_zero_value_order(
        &mut self,
        user: UserId,
        run: CourseRunId,
        product: ProductId,
        reference_prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderId, StoreError> {
        let found = with_db!(tx: self, conn, q => q::newest_version(conn, product.0).await)?;
        let Some((version, _, _, _)) = version_row(found)? else {
            return Err(StoreError::NotFound {
                entity: "product version",
                key: product.0.to_string(),
            });
        };
        let order = self
            .create_pending_order(user, GatewayType::default(), reference_prefix, now)
            .await?;
        self.set_order_state(order, OrderState::Pending, OrderState::Fulfilled, now)
            .await?;
        self.ensure_order_line(order, version, ContentType::CourseRun, run.0, now)
            .await?;
        self.insert_paid_course_run(user, run, order, now).await?;
        Ok(order)
    }

    /// Writes `PaidCourseRun(user, run, order)` unless it exists.
    pub async fn insert_paid_course_run(
        &mut self,
        user: UserId,
        run: CourseRunId,
        order: OrderId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::insert_paid(conn, ("paid_course_runs", "course_run_id"), user.0, run.0, order.0, now).await)
    }

    /// Writes `PaidProgram(user, program, order)` unless it exists.
    pub async fn insert_paid_program(
        &mut self,
        user: UserId,
        program: mitx_core::ids::ProgramId,
        order: OrderId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::insert_paid(conn, ("paid_programs", "program_id"), user.0, program.0, order.0, now).await)
    }

    /// The learner's basket (id, products, discounts), read in the unit of work.
    pub async fn user_basket_snapshot(
        &mut self,
        user: UserId,
    ) -> Result<Option<(BasketId, Vec<ProductId>, Vec<DiscountId>)>, StoreError> {
        with_db!(tx: self, conn, q => q::user_basket_snapshot(conn, user.0).await)
            .map(|found| found.map(|(id, p, d)| (BasketId(id), p, d)))
    }

    /// Removes every discount from a basket.
    pub async fn delete_basket_discounts(&mut self, basket: BasketId) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => q::delete_basket_discounts(conn, basket.0).await)
    }

    /// Locks the discount row and counts its fulfilled redemptions on orders other than
    /// `order` (and the purchaser's share), so two fulfilments cannot both take a
    /// one-time code.
    pub async fn fulfilled_usage(
        &mut self,
        discount: DiscountId,
        order: OrderId,
        user: UserId,
    ) -> Result<FulfilledUsage, StoreError> {
        with_db!(tx: self, conn, q => q::fulfilled_usage(conn, discount.0, order.0, user.0).await)
    }
}

#[cfg(feature = "testing")]
impl Tx {
    /// Test fixture: the learner's basket holding `products` (one each) and `discount`,
    /// replacing any basket they had.
    pub async fn insert_basket_fixture(
        &mut self,
        user: UserId,
        products: &[ProductId],
        discount: Option<DiscountId>,
        now: DateTime<Utc>,
    ) -> Result<BasketId, StoreError> {
        with_db!(tx: self, conn, q => {
            sqlx::query("DELETE FROM baskets WHERE user_id = $1")
                .bind(user.0)
                .execute(&mut *conn)
                .await?;
            let basket: i64 = sqlx::query_scalar(
                "INSERT INTO baskets (user_id, created_on, updated_on) VALUES ($1, $2, $2) \
                 RETURNING id",
            )
            .bind(user.0)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            for product in products {
                sqlx::query(
                    "INSERT INTO basket_items (basket_id, product_id, quantity, created_on, \
                     updated_on) VALUES ($1, $2, 1, $3, $3)",
                )
                .bind(basket)
                .bind(product.0)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
            if let Some(discount) = discount {
                sqlx::query(
                    "INSERT INTO basket_discounts (redemption_date, redeemed_by_id, \
                     redeemed_discount_id, redeemed_basket_id, created_on, updated_on) \
                     VALUES ($1, $2, $3, $4, $1, $1)",
                )
                .bind(now)
                .bind(user.0)
                .bind(discount.0)
                .bind(basket)
                .execute(&mut *conn)
                .await?;
            }
            let _ = q::FOR_UPDATE;
            Ok(BasketId(basket))
        })
    }
}
