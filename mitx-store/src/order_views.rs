//! Read models of orders (ecommerce spec 1.4, 3.5, 5.6, 7): an order with its lines (the
//! snapshot price and description, the current product, the purchased run or program),
//! its redemptions with their discounts, its transactions and its purchaser with the legal
//! address; a learner's history page; the newest paid order of a run or program; the
//! duplicate-redemption report; and the insert of a learner's refund request.
//!
//! The orders themselves are written by the order workflows (checkout, callbacks,
//! refunds); [`crate::Database::insert_order_fixture`] (feature `testing`) is a fixture
//! for tests of these reads only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mitx_core::ids::{CourseRunId, DiscountId, OrderId, ProductId, ProgramId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::{OrderLookup, OrderState};
use mitx_core::pricing::Discount;
use serde::Serialize;

use crate::money::DbMoney;
use crate::products::ContentType;
use crate::users::LegalAddress;
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// Ids per `IN (...)` list.
const IN_CHUNK: usize = 500;

/// The course run a line bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineRun {
    /// The run.
    pub id: CourseRunId,
    /// Run title.
    pub title: String,
    /// Run tag.
    pub run_tag: String,
    /// The run's courseware id.
    pub courseware_id: String,
    /// Dates.
    pub start_date: Option<DateTime<Utc>>,
    /// Dates.
    pub end_date: Option<DateTime<Utc>>,
    /// Enrollment window.
    pub enrollment_start: Option<DateTime<Utc>>,
    /// Enrollment window.
    pub enrollment_end: Option<DateTime<Utc>>,
    /// Its course.
    pub course_id: i64,
    /// Course title.
    pub course_title: String,
    /// Course readable id (`course-v1:MITx+14.73x`).
    pub course_readable_id: String,
    /// The B2B contract the run belongs to, if any.
    pub b2b_contract_id: Option<i64>,
}

impl LineRun {
    /// The course number: the text after the last `+` of the course's readable id.
    pub fn course_number(&self) -> &str {
        self.course_readable_id
            .rsplit('+')
            .next()
            .unwrap_or(&self.course_readable_id)
    }
}

/// The program a line bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineProgram {
    /// The program.
    pub id: ProgramId,
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
}

/// One order line with its snapshot and what it bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderLineView {
    /// The line.
    pub id: i64,
    /// Always 1 today.
    pub quantity: u32,
    /// The snapshot.
    pub product_version_id: i64,
    /// The snapshot's price (`unit_price`).
    pub price: Money,
    /// The snapshot's description (`item_description`).
    pub description: String,
    /// What kind of object it bought.
    pub content_type: ContentType,
    /// The run or program id.
    pub object_id: i64,
    /// The product now.
    pub product_id: ProductId,
    /// The product's current price.
    pub product_price: Money,
    /// The product's current description.
    pub product_description: String,
    /// The product's current active flag.
    pub product_is_active: bool,
    /// The run, for run lines whose run still exists.
    pub run: Option<LineRun>,
    /// The program, for program lines whose program still exists.
    pub program: Option<LineProgram>,
}

/// A discount redeemed by an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RedemptionView {
    /// The redemption.
    pub id: i64,
    /// When.
    pub redemption_date: DateTime<Utc>,
    /// By whom.
    pub redeemed_by: UserId,
    /// The discount.
    pub discount: Discount,
    /// The discount's creation time.
    pub discount_created_on: DateTime<Utc>,
    /// The discount's last change.
    pub discount_updated_on: DateTime<Utc>,
    /// The discount's B2B sheet location.
    pub b2b_sheet_location: Option<String>,
}

/// A payment or refund transaction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransactionView {
    /// Row id.
    pub id: i64,
    /// The gateway's id.
    pub transaction_id: String,
    /// Amount.
    pub amount: Money,
    /// The raw gateway payload (an empty object when unreadable).
    pub data: serde_json::Value,
    /// `true` for a refund, `false` for a payment.
    pub is_refund: bool,
    /// Reason (may be blank).
    pub reason: String,
    /// Recorded.
    pub created_on: DateTime<Utc>,
}

/// The purchaser of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurchaserView {
    /// The user.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Full name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
    /// The legal address, when recorded.
    pub legal_address: Option<LegalAddress>,
}

/// An order with everything the history, receipt and emails show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderView {
    /// The order.
    pub id: OrderId,
    /// Its state.
    pub state: OrderState,
    /// The purchaser.
    pub purchaser: PurchaserView,
    /// `total_price_paid`.
    pub total_price_paid: Money,
    /// `mitxonline-{ENVIRONMENT}-{id}` (nullable in storage).
    pub reference_number: Option<String>,
    /// `CyberSource` or `Stripe`.
    pub gateway_type: String,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
    /// Lines, by id.
    pub lines: Vec<OrderLineView>,
    /// Redemptions, by id.
    pub redemptions: Vec<RedemptionView>,
    /// Transactions, by id (oldest first).
    pub transactions: Vec<TransactionView>,
}

impl OrderView {
    /// The discounts the order redeemed.
    pub fn discounts(&self) -> Vec<Discount> {
        self.redemptions
            .iter()
            .map(|r| r.discount.clone())
            .collect()
    }

    /// The start dates of the purchased runs (for `refund_eligible`).
    pub fn run_start_dates(&self) -> Vec<Option<DateTime<Utc>>> {
        self.lines
            .iter()
            .filter_map(|l| l.run.as_ref().map(|r| r.start_date))
            .collect()
    }

    /// Whether any purchased run belongs to a B2B contract.
    pub fn is_b2b_contract_order(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l.run.as_ref().is_some_and(|r| r.b2b_contract_id.is_some()))
    }

    /// The newest transaction (payment or refund).
    pub fn newest_transaction(&self) -> Option<&TransactionView> {
        self.transactions
            .iter()
            .max_by_key(|t| (t.created_on, t.id))
    }

    /// The newest refund transaction.
    pub fn newest_refund(&self) -> Option<&TransactionView> {
        self.transactions
            .iter()
            .filter(|t| t.is_refund)
            .max_by_key(|t| (t.created_on, t.id))
    }
}

/// One page of a learner's order history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderHistoryPage {
    /// All fulfilled and refunded orders of the learner.
    pub count: u64,
    /// This page, newest first.
    pub orders: Vec<OrderView>,
}

/// A one-time code with more than one redemption on fulfilled orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverRedeemedCode {
    /// The discount.
    pub discount: DiscountId,
    /// Its code.
    pub code: String,
    /// Fulfilled redemptions.
    pub redemptions: i64,
}

/// A one-time-per-user code one user redeemed more than once on fulfilled orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverRedeemedByUser {
    /// The discount.
    pub discount: DiscountId,
    /// Its code.
    pub code: String,
    /// The user.
    pub user: UserId,
    /// That user's fulfilled redemptions.
    pub redemptions: i64,
}

/// The duplicate-redemption report (spec 3.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DuplicateRedemptions {
    /// One-time codes redeemed on more than one fulfilled order.
    pub one_time: Vec<OverRedeemedCode>,
    /// One-time-per-user codes redeemed more than once by the same user.
    pub once_per_user: Vec<OverRedeemedByUser>,
}

impl DuplicateRedemptions {
    /// The offending discount ids, ascending, each once.
    pub fn discount_ids(&self) -> Vec<DiscountId> {
        let mut ids: Vec<DiscountId> = self
            .one_time
            .iter()
            .map(|c| c.discount)
            .chain(self.once_per_user.iter().map(|c| c.discount))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// A learner's refund request to record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewRefundRequest {
    /// The order.
    pub order: OrderId,
    /// The learner.
    pub user: UserId,
    /// A reason slug or "" (blank).
    pub refund_reason: String,
    /// Free text.
    pub refund_reason_text: String,
    /// The learner acknowledged the consequences.
    pub consent_given: bool,
}

/// A stored refund request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundRequestRecord {
    /// The request.
    pub id: i64,
    /// The order.
    pub order: OrderId,
    /// The learner.
    pub user: UserId,
    /// Reason slug or "".
    pub refund_reason: String,
    /// Free text.
    pub refund_reason_text: String,
    /// Consent.
    pub consent_given: bool,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    /// Submitted.
    pub created_on: DateTime<Utc>,
}

/// `(order index, redemption id, discount id, redemption date, redeemed by)`.
type RedemptionRow = (usize, i64, i64, DateTime<Utc>, i64, DiscountTimes);

/// `(created_on, updated_on, b2b_sheet_location)` of a redeemed discount.
type DiscountTimes = (DateTime<Utc>, DateTime<Utc>, Option<String>);

fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn order_state(text: &str) -> Result<OrderState, StoreError> {
    OrderState::parse(text).map_err(|e| StoreError::corrupt("orders", "state", e))
}

fn quantity(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|e| StoreError::corrupt("order_lines", "quantity", e))
}

backend_queries! {
    use sqlx::Row;

    const ORDER_COLUMNS: &str = "o.id, o.state, o.purchaser_id, o.total_price_paid, \
        o.reference_number, o.gateway_type, o.created_on, o.updated_on, \
        u.username, u.name, u.email, u.created_on AS user_created_on, \
        u.updated_on AS user_updated_on, la.user_id AS la_user, la.first_name, la.last_name, \
        la.country, la.state AS la_state, la.street_address_1, la.city, la.postal_code";

    const ORDER_FROM: &str = "FROM orders o JOIN users u ON u.id = o.purchaser_id \
        LEFT JOIN legal_addresses la ON la.user_id = u.id";

    fn order_from_row(row: &<Db as sqlx::Database>::Row) -> Result<OrderView, StoreError> {
        let state: String = row.try_get("state")?;
        let total: DbMoney = row.try_get("total_price_paid")?;
        let la_user: Option<i64> = row.try_get("la_user")?;
        let legal_address = match la_user {
            Some(_) => Some(LegalAddress {
                first_name: row.try_get("first_name")?,
                last_name: row.try_get("last_name")?,
                country: row.try_get("country")?,
                state: row.try_get("la_state")?,
                street_address_1: row.try_get("street_address_1")?,
                city: row.try_get("city")?,
                postal_code: row.try_get("postal_code")?,
            }),
            None => None,
        };
        Ok(OrderView {
            id: OrderId(row.try_get("id")?),
            state: order_state(&state)?,
            purchaser: PurchaserView {
                id: UserId(row.try_get("purchaser_id")?),
                username: row.try_get("username")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                created_on: row.try_get("user_created_on")?,
                updated_on: row.try_get("user_updated_on")?,
                legal_address,
            },
            total_price_paid: total.0,
            reference_number: row.try_get("reference_number")?,
            gateway_type: row.try_get("gateway_type")?,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
            lines: Vec::new(),
            redemptions: Vec::new(),
            transactions: Vec::new(),
        })
    }

    /// Fills in lines, transactions and redemption rows (discount ids only: the
    /// discounts are read by the caller) of `orders`.
    pub(crate) async fn fill(
        conn: &mut Conn,
        orders: &mut [OrderView],
    ) -> Result<Vec<RedemptionRow>, StoreError> {
        let mut index: BTreeMap<i64, usize> = BTreeMap::new();
        for (i, o) in orders.iter().enumerate() {
            index.insert(o.id.0, i);
        }
        let ids: Vec<i64> = index.keys().copied().collect();
        let mut redemptions = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let list = placeholders(1, chunk.len());
            let lines_sql = format!(
                "SELECT l.id, l.order_id, l.quantity, l.product_version_id, \
                 l.purchased_content_type, l.purchased_object_id, \
                 v.price, v.description, v.product_id, \
                 p.price AS product_price, p.description AS product_description, \
                 p.is_active AS product_is_active, \
                 r.id AS run_id, r.title AS run_title, r.run_tag, r.courseware_id, r.start_date, \
                 r.end_date, r.enrollment_start, r.enrollment_end, r.b2b_contract_id, \
                 c.id AS course_id, c.title AS course_title, c.readable_id AS course_readable_id, \
                 g.id AS program_id, g.title AS program_title, g.readable_id AS program_readable_id \
                 FROM order_lines l \
                 JOIN product_versions v ON v.id = l.product_version_id \
                 JOIN products p ON p.id = v.product_id \
                 LEFT JOIN course_runs r ON l.purchased_content_type = 'courserun' AND r.id = l.purchased_object_id \
                 LEFT JOIN courses c ON c.id = r.course_id \
                 LEFT JOIN programs g ON l.purchased_content_type = 'program' AND g.id = l.purchased_object_id \
                 WHERE l.order_id IN ({list}) ORDER BY l.id"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(lines_sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let order: i64 = row.try_get("order_id")?;
                let Some(&i) = index.get(&order) else { continue };
                let kind: String = row.try_get("purchased_content_type")?;
                let content_type = ContentType::parse(&kind)
                    .ok_or_else(|| StoreError::corrupt("order_lines", "purchased_content_type", &kind))?;
                let price: DbMoney = row.try_get("price")?;
                let product_price: DbMoney = row.try_get("product_price")?;
                let run_id: Option<i64> = row.try_get("run_id")?;
                let run = match run_id {
                    Some(id) => Some(LineRun {
                        id: CourseRunId(id),
                        title: row.try_get("run_title")?,
                        run_tag: row.try_get("run_tag")?,
                        courseware_id: row.try_get("courseware_id")?,
                        start_date: row.try_get("start_date")?,
                        end_date: row.try_get("end_date")?,
                        enrollment_start: row.try_get("enrollment_start")?,
                        enrollment_end: row.try_get("enrollment_end")?,
                        course_id: row.try_get("course_id")?,
                        course_title: row.try_get("course_title")?,
                        course_readable_id: row.try_get("course_readable_id")?,
                        b2b_contract_id: row.try_get("b2b_contract_id")?,
                    }),
                    None => None,
                };
                let program_id: Option<i64> = row.try_get("program_id")?;
                let program = match program_id {
                    Some(id) => Some(LineProgram {
                        id: ProgramId(id),
                        title: row.try_get("program_title")?,
                        readable_id: row.try_get("program_readable_id")?,
                    }),
                    None => None,
                };
                if let Some(o) = orders.get_mut(i) {
                    o.lines.push(OrderLineView {
                        id: row.try_get("id")?,
                        quantity: quantity(row.try_get("quantity")?)?,
                        product_version_id: row.try_get("product_version_id")?,
                        price: price.0,
                        description: row.try_get("description")?,
                        content_type,
                        object_id: row.try_get("purchased_object_id")?,
                        product_id: ProductId(row.try_get("product_id")?),
                        product_price: product_price.0,
                        product_description: row.try_get("product_description")?,
                        product_is_active: row.try_get("product_is_active")?,
                        run,
                        program,
                    });
                }
            }
            let tx_sql = format!(
                "SELECT id, order_id, transaction_id, amount, data, transaction_type, reason, created_on \
                 FROM transactions WHERE order_id IN ({list}) ORDER BY id"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(tx_sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let order: i64 = row.try_get("order_id")?;
                let Some(&i) = index.get(&order) else { continue };
                let amount: DbMoney = row.try_get("amount")?;
                let data: String = row.try_get("data")?;
                let kind: String = row.try_get("transaction_type")?;
                if let Some(o) = orders.get_mut(i) {
                    o.transactions.push(TransactionView {
                        id: row.try_get("id")?,
                        transaction_id: row.try_get("transaction_id")?,
                        amount: amount.0,
                        // A payload that is not JSON is shown as empty rather than failing
                        // the whole receipt.
                        data: serde_json::from_str(&data)
                            .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
                        is_refund: kind == "refund",
                        reason: row.try_get("reason")?,
                        created_on: row.try_get("created_on")?,
                    });
                }
            }
            let red_sql = format!(
                "SELECT r.id, r.redeemed_order_id, r.redeemed_discount_id, r.redemption_date, r.redeemed_by_id, \
                 d.created_on, d.updated_on, d.b2b_sheet_location \
                 FROM discount_redemptions r JOIN discounts d ON d.id = r.redeemed_discount_id \
                 WHERE r.redeemed_order_id IN ({list}) ORDER BY r.id"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(red_sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                let order: i64 = row.try_get("redeemed_order_id")?;
                let Some(&i) = index.get(&order) else { continue };
                redemptions.push((
                    i,
                    row.try_get::<i64, _>("id")?,
                    row.try_get::<i64, _>("redeemed_discount_id")?,
                    row.try_get::<DateTime<Utc>, _>("redemption_date")?,
                    row.try_get::<i64, _>("redeemed_by_id")?,
                    (
                        row.try_get::<DateTime<Utc>, _>("created_on")?,
                        row.try_get::<DateTime<Utc>, _>("updated_on")?,
                        row.try_get::<Option<String>, _>("b2b_sheet_location")?,
                    ),
                ));
            }
        }
        Ok(redemptions)
    }

    /// Orders selected by `where_sql` (over `o`), newest first, with their lines and
    /// transactions, and their redemption rows `(order index, id, discount, date, user)`.
    pub(crate) async fn orders_where(
        conn: &mut Conn,
        where_sql: &str,
        binds: &[i64],
        text: Option<&str>,
    ) -> Result<(Vec<OrderView>, Vec<RedemptionRow>), StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} {ORDER_FROM} WHERE {where_sql} ORDER BY o.created_on DESC, o.id DESC"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(*b);
        }
        if let Some(t) = text {
            query = query.bind(t);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        let mut orders: Vec<OrderView> =
            rows.iter().map(order_from_row).collect::<Result<_, _>>()?;
        let redemptions = fill(conn, &mut orders).await?;
        Ok((orders, redemptions))
    }

    pub(crate) async fn history(
        conn: &mut Conn,
        user: i64,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<i64>), StoreError> {
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM orders WHERE purchaser_id = $1 AND state IN ('fulfilled', 'refunded')",
        )
        .bind(user)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(
            "SELECT id FROM orders WHERE purchaser_id = $1 AND state IN ('fulfilled', 'refunded') \
             ORDER BY created_on DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(user)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
        let ids = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        Ok((count, ids))
    }

    pub(crate) async fn newest_paid(
        conn: &mut Conn,
        table: &str,
        column: &str,
        user: i64,
        object: i64,
    ) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT o.id FROM {table} p JOIN orders o ON o.id = p.order_id \
             WHERE p.user_id = $1 AND p.{column} = $2 AND o.state = 'fulfilled' \
             ORDER BY o.created_on DESC, o.id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(object)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| r.try_get("id")).transpose().map_err(StoreError::from)
    }

    pub(crate) async fn duplicates(conn: &mut Conn) -> Result<DuplicateRedemptions, StoreError> {
        let one_time = sqlx::query(
            "SELECT d.id, d.discount_code, COUNT(*) AS n FROM discount_redemptions r \
             JOIN orders o ON o.id = r.redeemed_order_id \
             JOIN discounts d ON d.id = r.redeemed_discount_id \
             WHERE o.state = 'fulfilled' AND d.redemption_type = 'one-time' \
             GROUP BY d.id, d.discount_code HAVING COUNT(*) > 1 ORDER BY d.id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let per_user = sqlx::query(
            "SELECT d.id, d.discount_code, r.redeemed_by_id, COUNT(*) AS n FROM discount_redemptions r \
             JOIN orders o ON o.id = r.redeemed_order_id \
             JOIN discounts d ON d.id = r.redeemed_discount_id \
             WHERE o.state = 'fulfilled' AND d.redemption_type = 'one-time-per-user' \
             GROUP BY d.id, d.discount_code, r.redeemed_by_id HAVING COUNT(*) > 1 \
             ORDER BY d.id, r.redeemed_by_id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut report = DuplicateRedemptions::default();
        for row in one_time {
            report.one_time.push(OverRedeemedCode {
                discount: DiscountId(row.try_get("id")?),
                code: row.try_get("discount_code")?,
                redemptions: row.try_get("n")?,
            });
        }
        for row in per_user {
            report.once_per_user.push(OverRedeemedByUser {
                discount: DiscountId(row.try_get("id")?),
                code: row.try_get("discount_code")?,
                user: UserId(row.try_get("redeemed_by_id")?),
                redemptions: row.try_get("n")?,
            });
        }
        Ok(report)
    }

    pub(crate) async fn insert_refund_request(
        conn: &mut Conn,
        request: &NewRefundRequest,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO refund_requests (order_id, user_id, refund_reason, refund_reason_text, \
             consent_given, status, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) RETURNING id",
        )
        .bind(request.order.0)
        .bind(request.user.0)
        .bind(&request.refund_reason)
        .bind(&request.refund_reason_text)
        .bind(request.consent_given)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn refund_request(conn: &mut Conn, id: i64) -> Result<Option<RefundRequestRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, order_id, user_id, refund_reason, refund_reason_text, consent_given, status, created_on \
             FROM refund_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RefundRequestRecord {
            id: row.try_get("id")?,
            order: OrderId(row.try_get("order_id")?),
            user: UserId(row.try_get("user_id")?),
            refund_reason: row.try_get("refund_reason")?,
            refund_reason_text: row.try_get("refund_reason_text")?,
            consent_given: row.try_get("consent_given")?,
            status: row.try_get("status")?,
            created_on: row.try_get("created_on")?,
        }))
    }

    #[cfg(feature = "testing")]
    pub(crate) async fn fixture_order(conn: &mut Conn, f: &OrderFixture) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO orders (state, purchaser_id, total_price_paid, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(f.state.as_str())
        .bind(f.purchaser.0)
        .bind(DbMoney(f.total_price_paid))
        .bind(f.created_on)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        let id: i64 = row.try_get("id")?;
        sqlx::query("UPDATE orders SET reference_number = $2 WHERE id = $1")
            .bind(id)
            .bind(format!("mitxonline-{}-{id}", f.environment))
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        let paid = matches!(f.state, OrderState::Fulfilled | OrderState::Refunded);
        for product in &f.products {
            let version = sqlx::query(
                "SELECT id, content_type, object_id FROM product_versions WHERE product_id = $1 \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(product.0)
            .fetch_one(&mut *conn)
            .await?;
            let version_id: i64 = version.try_get("id")?;
            let kind: String = version.try_get("content_type")?;
            let object: i64 = version.try_get("object_id")?;
            sqlx::query(
                "INSERT INTO order_lines (order_id, product_version_id, quantity, purchased_content_type, \
                 purchased_object_id, created_on, updated_on) VALUES ($1, $2, 1, $3, $4, $5, $5)",
            )
            .bind(id)
            .bind(version_id)
            .bind(&kind)
            .bind(object)
            .bind(f.created_on)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
            if paid {
                let sql = if kind == "courserun" {
                    "INSERT INTO paid_course_runs (user_id, course_run_id, order_id, created_on, updated_on) \
                     VALUES ($1, $2, $3, $4, $4)"
                } else {
                    "INSERT INTO paid_programs (user_id, program_id, order_id, created_on, updated_on) \
                     VALUES ($1, $2, $3, $4, $4)"
                };
                sqlx::query(sql)
                    .bind(f.purchaser.0)
                    .bind(object)
                    .bind(id)
                    .bind(f.created_on)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::classify)?;
            }
        }
        for discount in &f.discounts {
            sqlx::query(
                "INSERT INTO discount_redemptions (redemption_date, redeemed_by_id, redeemed_discount_id, \
                 redeemed_order_id, created_on, updated_on) VALUES ($1, $2, $3, $4, $1, $1)",
            )
            .bind(f.created_on)
            .bind(f.purchaser.0)
            .bind(discount.0)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        }
        for t in &f.transactions {
            sqlx::query(
                "INSERT INTO transactions (transaction_id, order_id, amount, data, transaction_type, reason, \
                 created_on, updated_on) VALUES ($1, $2, $3, $4, $5, '', $6, $6)",
            )
            .bind(&t.transaction_id)
            .bind(id)
            .bind(DbMoney(t.amount))
            .bind(t.data.to_string())
            .bind(if t.refund { "refund" } else { "payment" })
            .bind(t.created_on)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        }
        Ok(id)
    }
}

impl Store {
    async fn load_orders(
        &self,
        where_sql: &str,
        binds: &[i64],
        text: Option<&str>,
    ) -> Result<Vec<OrderView>, StoreError> {
        let (mut orders, redemptions) =
            with_db!(conn: self, conn, q => q::orders_where(conn, where_sql, binds, text).await)?;
        let mut ids: Vec<DiscountId> = redemptions.iter().map(|r| DiscountId(r.2)).collect();
        ids.sort_unstable();
        ids.dedup();
        let discounts: BTreeMap<DiscountId, Discount> = self
            .discount_records(&ids)
            .await?
            .into_iter()
            .map(|r| (r.discount.id, r.discount))
            .collect();
        for (index, id, discount, redemption_date, user, times) in redemptions {
            let (Some(order), Some(discount)) =
                (orders.get_mut(index), discounts.get(&DiscountId(discount)))
            else {
                continue;
            };
            order.redemptions.push(RedemptionView {
                id,
                redemption_date,
                redeemed_by: UserId(user),
                discount: discount.clone(),
                discount_created_on: times.0,
                discount_updated_on: times.1,
                b2b_sheet_location: times.2,
            });
        }
        Ok(orders)
    }

    /// The order with this id, in any state.
    pub async fn order_view(&self, id: OrderId) -> Result<Option<OrderView>, StoreError> {
        Ok(self
            .load_orders("o.id = $1", &[id.0], None)
            .await?
            .into_iter()
            .next())
    }

    /// The order `lookup` names (by id, or by reference number) if `user` purchased it;
    /// another user's order is `None`, like a missing one.
    pub async fn order_view_for_user(
        &self,
        user: UserId,
        lookup: &OrderLookup,
    ) -> Result<Option<OrderView>, StoreError> {
        let found = match lookup {
            OrderLookup::ById(id) => {
                self.load_orders("o.id = $1 AND o.purchaser_id = $2", &[id.0, user.0], None)
                    .await?
            }
            // PostgreSQL refuses NUL in text; no stored reference contains one.
            OrderLookup::ByReference(reference) if reference.as_str().contains('\0') => Vec::new(),
            OrderLookup::ByReference(reference) => {
                self.load_orders(
                    "o.purchaser_id = $1 AND o.reference_number = $2",
                    &[user.0],
                    Some(reference.as_str()),
                )
                .await?
            }
        };
        Ok(found.into_iter().next())
    }

    /// One page of `user`'s fulfilled and refunded orders, newest first (ties: higher id
    /// first), with the total count.
    pub async fn order_history(
        &self,
        user: UserId,
        limit: u64,
        offset: u64,
    ) -> Result<OrderHistoryPage, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let (count, ids) =
            with_db!(conn: self, conn, q => q::history(conn, user.0, limit, offset).await)?;
        let orders = self.orders_by_id(&ids).await?;
        Ok(OrderHistoryPage {
            count: u64::try_from(count).unwrap_or(0),
            orders,
        })
    }

    /// The orders with these ids (unknown ids are left out), in `load_orders`' order,
    /// with one query per kind of row for each chunk of ids.
    async fn orders_by_id(&self, ids: &[i64]) -> Result<Vec<OrderView>, StoreError> {
        let mut orders = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let where_sql = format!("o.id IN ({})", placeholders(1, chunk.len()));
            orders.extend(self.load_orders(&where_sql, chunk, None).await?);
        }
        Ok(orders)
    }

    /// The orders with these ids, in any state, by id (unknown ids are left out).
    pub async fn order_views(
        &self,
        ids: &[OrderId],
    ) -> Result<BTreeMap<OrderId, OrderView>, StoreError> {
        let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
        Ok(self
            .orders_by_id(&raw)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect())
    }

    /// The newest fulfilled order whose paid record gave `user` this run.
    pub async fn newest_paid_run_order(
        &self,
        user: UserId,
        run: CourseRunId,
    ) -> Result<Option<OrderId>, StoreError> {
        let id = with_db!(conn: self, conn, q => q::newest_paid(conn, "paid_course_runs", "course_run_id", user.0, run.0).await)?;
        Ok(id.map(OrderId))
    }

    /// The newest fulfilled order whose paid record gave `user` this program.
    pub async fn newest_paid_program_order(
        &self,
        user: UserId,
        program: ProgramId,
    ) -> Result<Option<OrderId>, StoreError> {
        let id = with_db!(conn: self, conn, q => q::newest_paid(conn, "paid_programs", "program_id", user.0, program.0).await)?;
        Ok(id.map(OrderId))
    }

    /// One-time codes with more than one fulfilled redemption, and one-time-per-user codes
    /// one user redeemed more than once on fulfilled orders (spec 3.5).
    pub async fn duplicate_redemptions(&self) -> Result<DuplicateRedemptions, StoreError> {
        with_db!(conn: self, conn, q => q::duplicates(conn).await)
    }

    /// A stored refund request.
    pub async fn refund_request(&self, id: i64) -> Result<Option<RefundRequestRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::refund_request(conn, id).await)
    }
}

impl Tx {
    /// Records a learner's refund request (status `pending`) in the unit of work; its id.
    pub async fn insert_refund_request(
        &mut self,
        request: &NewRefundRequest,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        with_db!(tx: self, conn, q => q::insert_refund_request(conn, request, now).await)
    }
}

/// A transaction of an [`OrderFixture`].
#[cfg(feature = "testing")]
#[derive(Clone, Debug)]
pub struct FixtureTransaction {
    /// The gateway's id (globally unique).
    pub transaction_id: String,
    /// Amount.
    pub amount: Money,
    /// The raw payload.
    pub data: serde_json::Value,
    /// A refund (else a payment).
    pub refund: bool,
    /// Recorded.
    pub created_on: DateTime<Utc>,
}

/// An order as a test needs it (see [`crate::Database::insert_order_fixture`]).
#[cfg(feature = "testing")]
#[derive(Clone, Debug)]
pub struct OrderFixture {
    /// The purchaser.
    pub purchaser: UserId,
    /// The state.
    pub state: OrderState,
    /// Created (and redemption date).
    pub created_on: DateTime<Utc>,
    /// `total_price_paid`.
    pub total_price_paid: Money,
    /// The environment of the reference number `mitxonline-{env}-{id}`.
    pub environment: String,
    /// One line per product (its newest snapshot).
    pub products: Vec<ProductId>,
    /// Discounts redeemed by the purchaser on this order.
    pub discounts: Vec<DiscountId>,
    /// Transactions.
    pub transactions: Vec<FixtureTransaction>,
}

#[cfg(feature = "testing")]
impl crate::Database {
    /// Test fixture: writes an order with lines (each product's newest snapshot),
    /// redemptions, transactions and, when fulfilled or refunded, the paid-run/program
    /// records, as the order workflows would. The real writer is the orders workflow;
    /// this exists so the read models can be tested on their own.
    pub async fn insert_order_fixture(
        &self,
        fixture: &OrderFixture,
    ) -> Result<OrderId, StoreError> {
        let mut tx = self.begin().await?;
        let id = with_db!(tx: &mut tx, conn, q => q::fixture_order(conn, fixture).await)?;
        tx.commit().await?;
        Ok(OrderId(id))
    }
}
