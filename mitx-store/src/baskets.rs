//! Baskets, their items and their single discount (ecommerce spec 1.2, 4.1–4.3).
//!
//! A basket belongs to a user or to an anonymous id (never both). Reads go through
//! [`Store`]; every change is a [`Tx`] method, and the workflows lock the basket row first
//! ([`Tx::lock_basket`]) so two requests of one learner cannot interleave their
//! read-decide-write steps (on SQLite the unit of work already holds the write lock).

use chrono::{DateTime, Utc};
use mitx_core::ids::{BasketId, CourseId, CourseRunId, DiscountId, ProductId, ProgramId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::BasketOwner;
use uuid::Uuid;

use crate::money::DbMoney;
use crate::products::{ContentType, Product};
use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// A basket row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasketRow {
    /// Id.
    pub id: BasketId,
    /// The owning user (signed-in baskets).
    pub user: Option<UserId>,
    /// The anonymous id (anonymous baskets).
    pub anonymous_id: Option<Uuid>,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed (the cull reads it).
    pub updated_on: DateTime<Utc>,
}

impl BasketRow {
    /// The owner, as the pricing rules see it.
    pub fn owner(&self) -> Option<BasketOwner> {
        match (self.user, self.anonymous_id) {
            (Some(user), _) => Some(BasketOwner::User(user)),
            (None, Some(id)) => Some(BasketOwner::Anonymous(id)),
            (None, None) => None,
        }
    }
}

/// One basket item with its product's current price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasketItemRow {
    /// Item id.
    pub id: i64,
    /// The basket.
    pub basket: BasketId,
    /// The product.
    pub product: ProductId,
    /// Units (positive).
    pub quantity: i64,
    /// The product's current price.
    pub price: Money,
    /// Whether the product is active now.
    pub product_active: bool,
}

/// A basket with its items (insertion order) and its discount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasketState {
    /// The basket.
    pub basket: BasketRow,
    /// Its items, oldest first.
    pub items: Vec<BasketItemRow>,
    /// The basket discount, if any.
    pub discount: Option<DiscountId>,
}

/// What a product sells, as the product and basket JSON show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purchasable {
    /// A course run and its course.
    CourseRun {
        /// Run id.
        id: CourseRunId,
        /// Run title.
        title: String,
        /// Run tag.
        run_tag: String,
        /// Courseware id.
        courseware_id: String,
        /// Dates.
        start_date: Option<DateTime<Utc>>,
        /// Dates.
        end_date: Option<DateTime<Utc>>,
        /// Dates.
        enrollment_start: Option<DateTime<Utc>>,
        /// Dates.
        enrollment_end: Option<DateTime<Utc>>,
        /// The course.
        course: CourseId,
        /// Course title.
        course_title: String,
        /// Course readable id.
        course_readable_id: String,
    },
    /// A program.
    Program {
        /// Program id.
        id: ProgramId,
        /// Title.
        title: String,
        /// Readable id.
        readable_id: String,
    },
    /// The object is gone (the product row outlived it).
    Missing,
}

/// A product with what it sells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductView {
    /// The product.
    pub product: Product,
    /// What it sells.
    pub purchasable: Purchasable,
}

fn anonymous_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

backend_queries! {
    use sqlx::Row;

    const BASKET_SELECT: &str =
        "SELECT id, user_id, anonymous_id, created_on, updated_on FROM baskets";

    fn basket_from_row(row: &<Db as sqlx::Database>::Row) -> Result<BasketRow, StoreError> {
        let anonymous: Option<String> = row.try_get("anonymous_id")?;
        let anonymous_id = match anonymous {
            None => None,
            Some(text) => Some(
                Uuid::parse_str(&text)
                    .map_err(|_| StoreError::corrupt("baskets", "anonymous_id", &text))?,
            ),
        };
        let user: Option<i64> = row.try_get("user_id")?;
        Ok(BasketRow {
            id: BasketId(row.try_get("id")?),
            user: user.map(UserId),
            anonymous_id,
            created_on: row.try_get("created_on")?,
            updated_on: row.try_get("updated_on")?,
        })
    }

    pub(crate) async fn basket_by_owner(
        conn: &mut Conn,
        owner: BasketOwner,
        lock: bool,
    ) -> Result<Option<BasketRow>, StoreError> {
        let suffix = if lock { FOR_UPDATE } else { "" };
        let row = match owner {
            BasketOwner::User(user) => {
                let sql = sqlx::AssertSqlSafe(format!("{BASKET_SELECT} WHERE user_id = $1{suffix}"));
                sqlx::query(sql).bind(user.0).fetch_optional(&mut *conn).await?
            }
            BasketOwner::Anonymous(id) => {
                let sql =
                    sqlx::AssertSqlSafe(format!("{BASKET_SELECT} WHERE anonymous_id = $1{suffix}"));
                sqlx::query(sql)
                    .bind(anonymous_text(id))
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        row.as_ref().map(basket_from_row).transpose()
    }

    pub(crate) async fn basket_by_id(
        conn: &mut Conn,
        id: i64,
    ) -> Result<Option<BasketRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{BASKET_SELECT} WHERE id = $1"));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(basket_from_row).transpose()
    }

    pub(crate) async fn items(
        conn: &mut Conn,
        basket: i64,
    ) -> Result<Vec<BasketItemRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.id, i.basket_id, i.product_id, i.quantity, p.price, p.is_active \
             FROM basket_items i JOIN products p ON p.id = i.product_id \
             WHERE i.basket_id = $1 ORDER BY i.id",
        )
        .bind(basket)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let price: DbMoney = row.try_get("price")?;
                Ok(BasketItemRow {
                    id: row.try_get("id")?,
                    basket: BasketId(row.try_get("basket_id")?),
                    product: ProductId(row.try_get("product_id")?),
                    quantity: row.try_get("quantity")?,
                    price: price.0,
                    product_active: row.try_get("is_active")?,
                })
            })
            .collect()
    }

    pub(crate) async fn discount_of(
        conn: &mut Conn,
        basket: i64,
    ) -> Result<Option<DiscountId>, StoreError> {
        let row = sqlx::query(
            "SELECT redeemed_discount_id FROM basket_discounts WHERE redeemed_basket_id = $1 \
             ORDER BY id LIMIT 1",
        )
        .bind(basket)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>("redeemed_discount_id"))
            .transpose()?
            .map(DiscountId))
    }

    pub(crate) async fn state(
        conn: &mut Conn,
        basket: BasketRow,
    ) -> Result<BasketState, StoreError> {
        let items = items(conn, basket.id.0).await?;
        let discount = discount_of(conn, basket.id.0).await?;
        Ok(BasketState { basket, items, discount })
    }

    pub(crate) async fn insert_basket(
        conn: &mut Conn,
        owner: BasketOwner,
        now: DateTime<Utc>,
    ) -> Result<BasketRow, StoreError> {
        let (user, anonymous) = match owner {
            BasketOwner::User(user) => (Some(user.0), None),
            BasketOwner::Anonymous(id) => (None, Some(anonymous_text(id))),
        };
        let sql = sqlx::AssertSqlSafe(
            "INSERT INTO baskets (user_id, anonymous_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $3) RETURNING id, user_id, anonymous_id, created_on, updated_on"
                .to_owned(),
        );
        let row = sqlx::query(sql)
            .bind(user)
            .bind(anonymous)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        basket_from_row(&row)
    }

    pub(crate) async fn touch(conn: &mut Conn, basket: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE baskets SET updated_on = $2 WHERE id = $1")
            .bind(basket)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn insert_item(
        conn: &mut Conn,
        basket: i64,
        product: i64,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO basket_items (basket_id, product_id, quantity, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(basket)
        .bind(product)
        .bind(quantity)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(row.try_get("id")?)
    }

    pub(crate) async fn update_item(
        conn: &mut Conn,
        basket: i64,
        item: i64,
        product: i64,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE basket_items SET product_id = $3, quantity = $4, updated_on = $5 \
             WHERE basket_id = $1 AND id = $2",
        )
        .bind(basket)
        .bind(item)
        .bind(product)
        .bind(quantity)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_item(conn: &mut Conn, basket: i64, item: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM basket_items WHERE basket_id = $1 AND id = $2")
            .bind(basket)
            .bind(item)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_items(conn: &mut Conn, basket: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM basket_items WHERE basket_id = $1")
            .bind(basket)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_discounts(conn: &mut Conn, basket: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM basket_discounts WHERE redeemed_basket_id = $1")
            .bind(basket)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn insert_discount(
        conn: &mut Conn,
        basket: i64,
        user: i64,
        discount: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO basket_discounts (redemption_date, redeemed_by_id, redeemed_discount_id, \
             redeemed_basket_id, created_on, updated_on) VALUES ($1, $2, $3, $4, $1, $1)",
        )
        .bind(now)
        .bind(user)
        .bind(discount)
        .bind(basket)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn delete_basket(conn: &mut Conn, basket: i64) -> Result<u64, StoreError> {
        // Items and basket discounts go with it (ON DELETE CASCADE); deleted explicitly too
        // so SQLite connections without foreign-key enforcement behave the same.
        delete_items(conn, basket).await?;
        delete_discounts(conn, basket).await?;
        let done = sqlx::query("DELETE FROM baskets WHERE id = $1")
            .bind(basket)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn set_owner_user(
        conn: &mut Conn,
        basket: i64,
        user: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE baskets SET user_id = $2, anonymous_id = NULL, updated_on = $3 WHERE id = $1",
        )
        .bind(basket)
        .bind(user)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn stale_anonymous(
        conn: &mut Conn,
        before: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id FROM baskets WHERE anonymous_id IS NOT NULL AND user_id IS NULL \
             AND updated_on < $1 ORDER BY id{SKIP_LOCKED}"
        ));
        let rows = sqlx::query(sql).bind(before).fetch_all(&mut *conn).await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    const PURCHASABLE_RUN: &str = "SELECT r.id, r.title, r.run_tag, r.courseware_id, \
        r.start_date, r.end_date, r.enrollment_start, r.enrollment_end, \
        c.id AS course_id, c.title AS course_title, c.readable_id AS course_readable_id \
        FROM course_runs r JOIN courses c ON c.id = r.course_id WHERE r.id = $1";

    pub(crate) async fn purchasable(
        conn: &mut Conn,
        content_type: ContentType,
        object_id: i64,
    ) -> Result<Purchasable, StoreError> {
        match content_type {
            ContentType::CourseRun => {
                let row = sqlx::query(PURCHASABLE_RUN)
                    .bind(object_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(row) = row else { return Ok(Purchasable::Missing) };
                Ok(Purchasable::CourseRun {
                    id: CourseRunId(row.try_get("id")?),
                    title: row.try_get("title")?,
                    run_tag: row.try_get("run_tag")?,
                    courseware_id: row.try_get("courseware_id")?,
                    start_date: row.try_get("start_date")?,
                    end_date: row.try_get("end_date")?,
                    enrollment_start: row.try_get("enrollment_start")?,
                    enrollment_end: row.try_get("enrollment_end")?,
                    course: CourseId(row.try_get("course_id")?),
                    course_title: row.try_get("course_title")?,
                    course_readable_id: row.try_get("course_readable_id")?,
                })
            }
            ContentType::Program => {
                let row = sqlx::query("SELECT id, title, readable_id FROM programs WHERE id = $1")
                    .bind(object_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(row) = row else { return Ok(Purchasable::Missing) };
                Ok(Purchasable::Program {
                    id: ProgramId(row.try_get("id")?),
                    title: row.try_get("title")?,
                    readable_id: row.try_get("readable_id")?,
                })
            }
        }
    }

    pub(crate) async fn products_of_runs(
        conn: &mut Conn,
        courseware_ids: &[String],
        program_ids: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let mut out = Vec::new();
        for key in courseware_ids {
            let rows = sqlx::query(
                "SELECT p.id FROM products p JOIN course_runs r ON r.id = p.object_id \
                 WHERE p.content_type = 'courserun' AND p.is_active AND r.courseware_id = $1 \
                 ORDER BY p.id",
            )
            .bind(key)
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                out.push(row.try_get("id")?);
            }
        }
        for program in program_ids {
            let rows = sqlx::query(
                "SELECT p.id FROM products p JOIN course_runs r ON r.id = p.object_id \
                 WHERE p.content_type = 'courserun' AND p.is_active AND r.course_id IN \
                 (SELECT course_id FROM program_requirements WHERE program_id = $1 \
                  AND course_id IS NOT NULL) ORDER BY p.id",
            )
            .bind(program)
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                out.push(row.try_get("id")?);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// The basket of `owner` with its items and discount, or `None`.
    pub async fn basket_of(&self, owner: BasketOwner) -> Result<Option<BasketState>, StoreError> {
        with_db!(conn: self, conn, q => {
            match q::basket_by_owner(conn, owner, false).await? {
                Some(row) => Ok(Some(q::state(conn, row).await?)),
                None => Ok(None),
            }
        })
    }

    /// A basket by id with its items and discount, or `None`.
    pub async fn basket_by_id(&self, id: BasketId) -> Result<Option<BasketState>, StoreError> {
        with_db!(conn: self, conn, q => {
            match q::basket_by_id(conn, id.0).await? {
                Some(row) => Ok(Some(q::state(conn, row).await?)),
                None => Ok(None),
            }
        })
    }

    /// A product with what it sells (active or not), or `None`.
    pub async fn product_view(&self, id: ProductId) -> Result<Option<ProductView>, StoreError> {
        let Some(product) = self.product(id).await? else {
            return Ok(None);
        };
        let purchasable = with_db!(conn: self, conn, q => {
            q::purchasable(conn, product.content_type, product.object_id).await?
        });
        Ok(Some(ProductView {
            product,
            purchasable,
        }))
    }

    /// Active products of the runs with these courseware ids and of the runs of courses
    /// required by these programs, in that order (duplicates kept; callers de-duplicate).
    pub async fn active_products_of(
        &self,
        courseware_ids: &[String],
        program_ids: &[i64],
    ) -> Result<Vec<ProductId>, StoreError> {
        let ids = with_db!(conn: self, conn, q => {
            q::products_of_runs(conn, courseware_ids, program_ids).await?
        });
        Ok(ids.into_iter().map(ProductId).collect())
    }
}

impl Tx {
    /// The basket of `owner`, locked for the rest of the unit of work, with its items and
    /// discount; `None` when there is none.
    pub async fn lock_basket(
        &mut self,
        owner: BasketOwner,
    ) -> Result<Option<BasketState>, StoreError> {
        with_db!(tx: self, conn, q => {
            match q::basket_by_owner(conn, owner, true).await? {
                Some(row) => Ok(Some(q::state(conn, row).await?)),
                None => Ok(None),
            }
        })
    }

    /// The basket of `owner`, locked, created first when missing; `true` when it was
    /// created now.
    pub async fn lock_or_create_basket(
        &mut self,
        owner: BasketOwner,
        now: DateTime<Utc>,
    ) -> Result<(BasketState, bool), StoreError> {
        if let Some(state) = self.lock_basket(owner).await? {
            return Ok((state, false));
        }
        let row = with_db!(tx: self, conn, q => q::insert_basket(conn, owner, now).await?);
        Ok((
            BasketState {
                basket: row,
                items: Vec::new(),
                discount: None,
            },
            true,
        ))
    }

    /// The basket's items and discount as they are now in this unit of work.
    pub async fn reload_basket(&mut self, basket: &BasketRow) -> Result<BasketState, StoreError> {
        with_db!(tx: self, conn, q => q::state(conn, basket.clone()).await)
    }

    /// Adds an item; returns its id. The basket's `updated_on` moves.
    pub async fn add_basket_item(
        &mut self,
        basket: BasketId,
        product: ProductId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        with_db!(tx: self, conn, q => {
            let id = q::insert_item(conn, basket.0, product.0, i64::from(quantity), now).await?;
            q::touch(conn, basket.0, now).await?;
            Ok(id)
        })
    }

    /// Changes an item of `basket`; `false` when the basket has no such item.
    pub async fn update_basket_item(
        &mut self,
        basket: BasketId,
        item: i64,
        product: ProductId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => {
            let changed = q::update_item(conn, basket.0, item, product.0, i64::from(quantity), now).await?;
            q::touch(conn, basket.0, now).await?;
            Ok(changed > 0)
        })
    }

    /// Removes an item of `basket`; `false` when the basket has no such item.
    pub async fn delete_basket_item(
        &mut self,
        basket: BasketId,
        item: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => {
            let deleted = q::delete_item(conn, basket.0, item).await?;
            q::touch(conn, basket.0, now).await?;
            Ok(deleted > 0)
        })
    }

    /// Removes every item of `basket`.
    pub async fn clear_basket_items(
        &mut self,
        basket: BasketId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => {
            let deleted = q::delete_items(conn, basket.0).await?;
            q::touch(conn, basket.0, now).await?;
            Ok(deleted)
        })
    }

    /// Removes the basket's discount.
    pub async fn clear_basket_discount(&mut self, basket: BasketId) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => q::delete_discounts(conn, basket.0).await)
    }

    /// Makes `discount` the basket's single discount, redeemed by `user` now (the basket
    /// holds at most one: any other is replaced).
    pub async fn set_basket_discount(
        &mut self,
        basket: BasketId,
        user: UserId,
        discount: DiscountId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_db!(tx: self, conn, q => {
            q::delete_discounts(conn, basket.0).await?;
            q::insert_discount(conn, basket.0, user.0, discount.0, now).await?;
            q::touch(conn, basket.0, now).await
        })
    }

    /// Deletes a basket with its items and discount; `false` when it did not exist.
    pub async fn delete_basket(&mut self, basket: BasketId) -> Result<bool, StoreError> {
        with_db!(tx: self, conn, q => Ok(q::delete_basket(conn, basket.0).await? > 0))
    }

    /// Claims the anonymous basket `anonymous` for `user`: locks it, deletes the user's
    /// other basket, sets the user and clears the anonymous id. `None` (nothing changed)
    /// when there is no such basket.
    pub async fn claim_anonymous_basket(
        &mut self,
        anonymous: Uuid,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<BasketRow>, StoreError> {
        let Some(claimed) = self.lock_basket(BasketOwner::Anonymous(anonymous)).await? else {
            return Ok(None);
        };
        let id = claimed.basket.id;
        with_db!(tx: self, conn, q => {
            if let Some(old) = q::basket_by_owner(conn, BasketOwner::User(user), true).await?
                && old.id != id
            {
                q::delete_basket(conn, old.id.0).await?;
            }
            q::set_owner_user(conn, id.0, user.0, now).await?;
            q::basket_by_id(conn, id.0).await
        })
    }

    /// Deletes anonymous baskets last changed before `before`; how many. User baskets are
    /// never culled.
    pub async fn cull_anonymous_baskets(
        &mut self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        with_db!(tx: self, conn, q => {
            let ids = q::stale_anonymous(conn, before).await?;
            let mut deleted = 0;
            for id in ids {
                deleted += q::delete_basket(conn, id).await?;
            }
            Ok(deleted)
        })
    }
}
