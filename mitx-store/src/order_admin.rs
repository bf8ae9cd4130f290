//! Operator reads of orders (ecommerce spec 5.5, 5.6, 7): one order by reference with its
//! lines, transactions and redemptions, listings, the finance report, and the Stripe event
//! log. Order state changes belong to the order executor (`orders`); this module only adds
//! the webhook's event log row.

use chrono::{DateTime, Utc};
use mitx_core::ids::{OrderId, UserId};
use mitx_core::money::Money;
use serde::Serialize;

use crate::money::DbMoney;
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// An order as operators see it (with the purchaser's username).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderSummary {
    /// The order.
    pub id: OrderId,
    /// `pending`, `fulfilled`, ...
    pub state: String,
    /// The purchaser.
    pub purchaser: UserId,
    /// The purchaser's username.
    pub purchaser_username: String,
    /// `total_price_paid`.
    pub total_price_paid: Money,
    /// `mitxonline-{ENVIRONMENT}-{id}`.
    pub reference_number: Option<String>,
    /// `CyberSource` or `Stripe`.
    pub gateway_type: String,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
}

/// One transaction of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransactionRow {
    /// The row id.
    pub id: i64,
    /// The order.
    pub order: OrderId,
    /// The gateway's id.
    pub transaction_id: String,
    /// The amount.
    pub amount: Money,
    /// The raw gateway payload (JSON text).
    pub data: String,
    /// `payment` or `refund`.
    pub transaction_type: String,
    /// Why (refunds).
    pub reason: String,
    /// Recorded.
    pub created_on: DateTime<Utc>,
}

/// One discount redemption of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RedemptionRow {
    /// The code.
    pub discount_code: String,
    /// `percent-off`, ...
    pub discount_type: String,
    /// The discount amount.
    pub amount: Money,
    /// When it was redeemed.
    pub redemption_date: DateTime<Utc>,
}

/// Which orders a listing shows, newest first.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only this state.
    pub state: Option<String>,
    /// Only this purchaser (username or email).
    pub user: Option<String>,
    /// At most this many.
    pub limit: i64,
}

const ORDER_COLUMNS: &str = "o.id, o.state, o.purchaser_id, u.username, o.total_price_paid, \
    o.reference_number, o.gateway_type, o.created_on, o.updated_on \
    FROM orders o JOIN users u ON u.id = o.purchaser_id";

backend_queries! {
    use sqlx::Row;

    fn order_row(row: &<Db as sqlx::Database>::Row) -> Result<OrderSummary, StoreError> {
        Ok(OrderSummary {
            id: OrderId(row.try_get("id")?),
            state: row.try_get("state")?,
            purchaser: UserId(row.try_get("purchaser_id")?),
            purchaser_username: row.try_get("username")?,
            total_price_paid: row.try_get::<DbMoney, _>("total_price_paid")?.0,
            reference_number: row.try_get("reference_number")?,
            gateway_type: row.try_get("gateway_type")?,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
        })
    }

    fn transaction_row(row: &<Db as sqlx::Database>::Row) -> Result<TransactionRow, StoreError> {
        Ok(TransactionRow {
            id: row.try_get("id")?,
            order: OrderId(row.try_get("order_id")?),
            transaction_id: row.try_get("transaction_id")?,
            amount: row.try_get::<DbMoney, _>("amount")?.0,
            data: row.try_get("data")?,
            transaction_type: row.try_get("transaction_type")?,
            reason: row.try_get("reason")?,
            created_on: row.try_get("created_on")?,
        })
    }

    pub(crate) async fn order(conn: &mut Conn, id: OrderId) -> Result<Option<OrderSummary>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} WHERE o.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(order_row).transpose()
    }

    pub(crate) async fn list(conn: &mut Conn, filter: &OrderFilter) -> Result<Vec<OrderSummary>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} WHERE ($1 IS NULL OR o.state = $1) \
             AND ($2 IS NULL OR u.username = $2 OR u.email = $2) ORDER BY o.id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.state.as_deref())
            .bind(filter.user.as_deref())
            .bind(filter.limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(order_row).collect()
    }

    pub(crate) async fn pending(conn: &mut Conn) -> Result<Vec<OrderSummary>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} WHERE o.state = 'pending' ORDER BY o.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(order_row).collect()
    }

    pub(crate) async fn created_between(
        conn: &mut Conn,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OrderSummary>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} WHERE o.created_on >= $1 AND o.created_on < $2 ORDER BY o.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(order_row).collect()
    }

    pub(crate) async fn transactions(
        conn: &mut Conn,
        orders: &[i64],
    ) -> Result<Vec<TransactionRow>, StoreError> {
        let mut out = Vec::new();
        // Few orders per call (one order, or one report page); one query each keeps the SQL
        // identical on both backends.
        for order in orders {
            let rows = sqlx::query(
                "SELECT id, order_id, transaction_id, amount, data, transaction_type, reason, \
                 created_on FROM transactions WHERE order_id = $1 ORDER BY created_on, id",
            )
            .bind(order)
            .fetch_all(&mut *conn)
            .await?;
            for row in &rows {
                out.push(transaction_row(row)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn redemptions(
        conn: &mut Conn,
        order: OrderId,
    ) -> Result<Vec<RedemptionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.discount_code, d.discount_type, d.amount, r.redemption_date \
             FROM discount_redemptions r JOIN discounts d ON d.id = r.redeemed_discount_id \
             WHERE r.redeemed_order_id = $1 ORDER BY r.id",
        )
        .bind(order.0)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RedemptionRow {
                    discount_code: row.try_get("discount_code")?,
                    discount_type: row.try_get("discount_type")?,
                    amount: row.try_get::<DbMoney, _>("amount")?.0,
                    redemption_date: row.try_get("redemption_date")?,
                })
            })
            .collect()
    }

    pub(crate) async fn insert_stripe_event(
        conn: &mut Conn,
        event_id: &str,
        event_type: &str,
        data: &str,
        order: Option<OrderId>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO stripe_event_logs (event_id, event_type, event_data, related_order_id, \
             created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(event_id)
        .bind(event_type)
        .bind(data)
        .bind(order.map(|o| o.0))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn stripe_events(
        conn: &mut Conn,
        event_id: &str,
    ) -> Result<Vec<(String, Option<i64>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_type, related_order_id FROM stripe_event_logs WHERE event_id = $1 ORDER BY id",
        )
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("event_type")?, row.try_get("related_order_id")?)))
            .collect()
    }
}

impl Store {
    /// One order by id.
    pub async fn order_summary(&self, id: OrderId) -> Result<Option<OrderSummary>, StoreError> {
        with_db!(conn: self, conn, q => q::order(conn, id).await)
    }

    /// Orders matching the filter, newest first.
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<OrderSummary>, StoreError> {
        with_db!(conn: self, conn, q => q::list(conn, filter).await)
    }

    /// Every pending order, oldest first.
    pub async fn pending_orders(&self) -> Result<Vec<OrderSummary>, StoreError> {
        with_db!(conn: self, conn, q => q::pending(conn).await)
    }

    /// Orders created in `[from, to)`, oldest first.
    pub async fn orders_created_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OrderSummary>, StoreError> {
        with_db!(conn: self, conn, q => q::created_between(conn, from, to).await)
    }

    /// The transactions of these orders, oldest first within each order.
    pub async fn order_transaction_rows(
        &self,
        orders: &[OrderId],
    ) -> Result<Vec<TransactionRow>, StoreError> {
        let ids: Vec<i64> = orders.iter().map(|o| o.0).collect();
        with_db!(conn: self, conn, q => q::transactions(conn, &ids).await)
    }

    /// An order's discount redemptions.
    pub async fn order_redemption_rows(
        &self,
        order: OrderId,
    ) -> Result<Vec<RedemptionRow>, StoreError> {
        with_db!(conn: self, conn, q => q::redemptions(conn, order).await)
    }

    /// The logged Stripe events with this id: `(event_type, related order)`.
    pub async fn stripe_event_log(
        &self,
        event_id: &str,
    ) -> Result<Vec<(String, Option<i64>)>, StoreError> {
        with_db!(conn: self, conn, q => q::stripe_events(conn, event_id).await)
    }
}

impl Tx {
    /// Logs one Stripe webhook event.
    pub async fn log_stripe_event(
        &mut self,
        event_id: &str,
        event_type: &str,
        data: &str,
        order: Option<OrderId>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        with_db!(tx: self, conn, q => q::insert_stripe_event(conn, event_id, event_type, data, order, now).await)
    }
}
