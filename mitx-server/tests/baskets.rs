//! Baskets and products over HTTP (ecommerce spec 4, 7; scenarios 1–7, 9–32) on SQLite and
//! PostgreSQL.

use chrono::{Duration, Utc};
use mitx_core::ids::{DiscountId, ProductId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::flexible::{Courseware, RequestStatus};
use mitx_core::pricing::{DiscountCode, DiscountDraft, DiscountType, PaymentType, RedemptionType};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::products::ProductTarget;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};

use crate::auth::{TestServer, databases, jdoe, start_server, userinfo};

/// A test's world: the server, the learner L (jdoe) and a second learner B.
struct Shop {
    server: TestServer,
    client: reqwest::Client,
    l: String,
    b: String,
    l_id: UserId,
    b_id: UserId,
    runs: u32,
}

fn other_claims() -> Value {
    json!({
        "sub": "0f3c2a9e-1b2d-4c5e-8f90-000000000b0b",
        "preferred_username": "bob",
        "email": "bob@example.com",
        "name": "Bob Learner",
    })
}

impl Shop {
    async fn start(db: &TestDb, overrides: &[(&str, &str)]) -> Shop {
        let server = start_server(db, true, false, overrides).await;
        let client = crate::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let l = userinfo(&jdoe());
        let b = userinfo(&other_claims());
        let mut shop = Shop {
            server,
            client,
            l,
            b,
            l_id: UserId(0),
            b_id: UserId(0),
            runs: 0,
        };
        shop.l_id = UserId(
            shop.get(Some(&shop.l.clone()), "/api/v0/users/me").await.1["id"]
                .as_i64()
                .unwrap(),
        );
        shop.b_id = UserId(
            shop.get(Some(&shop.b.clone()), "/api/v0/users/me").await.1["id"]
                .as_i64()
                .unwrap(),
        );
        shop
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"))
        };
        (status, body, headers)
    }

    fn with(
        &self,
        mut request: reqwest::RequestBuilder,
        who: Option<&str>,
    ) -> reqwest::RequestBuilder {
        if let Some(who) = who {
            request = request.header("X-Userinfo", who);
        }
        request.header("origin", &self.server.base)
    }

    async fn get(&self, who: Option<&str>, path: &str) -> (u16, Value) {
        let (s, b, _) = self
            .send(self.with(self.client.get(self.url(path)), who))
            .await;
        (s, b)
    }

    async fn post(&self, who: Option<&str>, path: &str, body: Value) -> (u16, Value) {
        let (s, b, _) = self
            .send(self.with(self.client.post(self.url(path)).json(&body), who))
            .await;
        (s, b)
    }

    async fn delete(&self, who: Option<&str>, path: &str) -> u16 {
        self.send(self.with(self.client.delete(self.url(path)), who))
            .await
            .0
    }

    /// A new live run (course `C{n}`) with an active product at `price`.
    async fn product(&mut self, db: &TestDb, price: &str) -> (ProductId, mitx_core::ids::CourseId) {
        self.runs += 1;
        let n = self.runs;
        let now = Utc::now();
        let (course, _) = db
            .store
            .insert_course_run_fixture(
                &format!("course-v1:MITx+C{n}"),
                &format!("course-v1:MITx+C{n}+1T2026"),
                now,
            )
            .await
            .unwrap();
        let target: ProductTarget = db
            .store
            .resolve_product_target(&format!("course-v1:MITx+C{n}+1T2026"))
            .await
            .unwrap()
            .unwrap();
        let write = tx!(db.store, t => t.upsert_product(&target, Money::parse_price(price).unwrap(), &format!("Product {n}"), true, &Audit::new("test", None), now).await).unwrap();
        (write.product.id, course)
    }

    /// L's basket through the v0 list (first basket).
    async fn basket(&self, who: &str) -> Value {
        let (status, list) = self.get(Some(who), "/api/v0/baskets/").await;
        assert_eq!(status, 200, "{list}");
        list[0].clone()
    }

    /// Empties L's basket and puts one product in it (legacy add, single-item mode).
    async fn only(&self, who: &str, product: ProductId) {
        let (status, body) = self
            .post(
                Some(who),
                "/api/checkout/add_to_cart/",
                json!({"product_id": product.0}),
            )
            .await;
        assert_eq!(
            (status, body),
            (200, json!({"message": "Product added to cart"}))
        );
    }

    async fn redeem(&self, who: Option<&str>, code: &str) -> (u16, Value) {
        self.post(
            who,
            "/api/checkout/redeem_discount/",
            json!({"discount": code}),
        )
        .await
    }

    async fn add_discount(&self, who: &str, code: &str) -> Value {
        let (status, body) = self
            .post(
                Some(who),
                &format!("/api/v0/baskets/add_discount/?discount_code={code}"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// A discount code with `edit` applied to an unlimited draft.
async fn discount(
    db: &TestDb,
    code: &str,
    kind: DiscountType,
    amount: &str,
    edit: impl FnOnce(&mut DiscountDraft),
    products: &[ProductId],
    users: &[UserId],
) -> DiscountId {
    let mut draft = DiscountDraft::new(
        DiscountCode::parse(code).unwrap(),
        kind,
        Money::parse_amount(amount).unwrap().amount(),
    );
    draft.redemption_type = RedemptionType::Unlimited;
    edit(&mut draft);
    tx!(db.store, t => t.create_discount(&draft, products, users, &Audit::new("test", None), Utc::now()).await).unwrap()
}

fn codes(basket: &Value) -> Vec<String> {
    basket["discounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["redeemed_discount"]["discount_code"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s1_to_s11_prices_through_the_basket_json() {
    for db in databases().await {
        let mut shop = Shop::start(&db, &[]).await;
        let l = shop.l.clone();
        let cases: [(&str, DiscountType, &str, f64); 9] = [
            ("1000.00", DiscountType::PercentOff, "20", 800.0),
            ("39.33", DiscountType::PercentOff, "25", 29.5),
            ("19.99", DiscountType::PercentOff, "33", 13.39),
            ("10.05", DiscountType::PercentOff, "50", 5.02),
            ("9.99", DiscountType::DollarsOff, "10", 0.0),
            ("39.33", DiscountType::FixedPrice, "42", 39.33),
            ("100.00", DiscountType::FixedPrice, "42", 42.0),
            ("100.00", DiscountType::DollarsOff, "10.55500", 89.44),
            ("100.00", DiscountType::PercentOff, "0", 100.0),
        ];
        for (i, (price, kind, amount, expected)) in cases.into_iter().enumerate() {
            let (product, _) = shop.product(&db, price).await;
            let code = format!("PRICE{i}");
            discount(&db, &code, kind, amount, |_| {}, &[], &[]).await;
            shop.only(&l, product).await;
            let basket = shop.add_discount(&l, &code).await;
            let total: f64 = price.parse().unwrap();
            assert_eq!(basket["total_price"], json!(total), "case {i}: {basket}");
            assert_eq!(
                basket["discounted_price"],
                json!(expected),
                "case {i}: {basket}"
            );
            assert_eq!(basket["basket_items"][0]["product"]["price"], price);
            if amount == "0" {
                // Scenario 10: a 0% discount is not listed and changes nothing.
                assert_eq!(basket["discounts"], json!([]));
            } else {
                assert_eq!(codes(&basket), vec![code.clone()]);
                assert!(
                    basket["discounts"][0]["redeemed_discount"]["amount"]
                        .as_str()
                        .unwrap()
                        .contains('.')
                );
            }
        }
        // Scenario 8: $100.00 priced against dollars-off 20, fixed-price 90 and
        // percent-off 25 → 75.00, whichever order the codes are applied in (the basket
        // keeps the one that prices lowest, spec 2.2 and 2.6).
        let (hundred, _) = shop.product(&db, "100.00").await;
        discount(
            &db,
            "BEST-D20",
            DiscountType::DollarsOff,
            "20",
            |_| {},
            &[],
            &[],
        )
        .await;
        discount(
            &db,
            "BEST-F90",
            DiscountType::FixedPrice,
            "90",
            |_| {},
            &[],
            &[],
        )
        .await;
        discount(
            &db,
            "BEST-P25",
            DiscountType::PercentOff,
            "25",
            |_| {},
            &[],
            &[],
        )
        .await;
        for order in [
            ["BEST-D20", "BEST-F90", "BEST-P25"],
            ["BEST-P25", "BEST-D20", "BEST-F90"],
            ["BEST-F90", "BEST-P25", "BEST-D20"],
        ] {
            shop.only(&l, hundred).await;
            let mut basket = Value::Null;
            for code in order {
                basket = shop.add_discount(&l, code).await;
            }
            assert_eq!(basket["total_price"], json!(100.0), "{order:?}: {basket}");
            assert_eq!(
                basket["discounted_price"],
                json!(75.0),
                "{order:?}: {basket}"
            );
            assert_eq!(codes(&basket), vec!["BEST-P25"], "{order:?}");
        }

        // Scenario 11: $50.00 ×2 and $30.00 ×1, no discount.
        let (fifty, _) = shop.product(&db, "50.00").await;
        let (thirty, _) = shop.product(&db, "30.00").await;
        assert_eq!(shop.delete(Some(&l), "/api/v0/baskets/clear/").await, 204);
        let (status, _) = shop
            .post(
                Some(&l),
                &format!("/api/v0/baskets/create_from_product/{}/", fifty.0),
                json!({"quantity": 2}),
            )
            .await;
        assert_eq!(status, 201);
        let (status, basket) = shop
            .post(
                Some(&l),
                &format!("/api/v0/baskets/create_from_product/{}/", thirty.0),
                json!({}),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(basket["total_price"], json!(130.0));
        assert_eq!(basket["discounted_price"], json!(130.0));
        assert_eq!(basket["basket_items"].as_array().unwrap().len(), 2);
        let _ = shop.server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s12_to_s21_legacy_redeem_validity() {
    for db in databases().await {
        let mut shop = Shop::start(&db, &[]).await;
        let (l, b) = (shop.l.clone(), shop.b.clone());
        let (l_id, b_id) = (shop.l_id, shop.b_id);
        let (p, course) = shop.product(&db, "1000.00").await;
        let (q, _) = shop.product(&db, "500.00").await;
        let now = Utc::now();
        let not_found = |code: &str| json!({"detail": format!("Discount '{code}' not found.")});

        // 20: anonymous → 403; no basket → 406.
        assert_eq!(shop.redeem(None, "X").await.0, 403);
        assert_eq!(
            shop.redeem(Some(&l), "X").await,
            (406, json!({"detail": "No basket"}))
        );
        shop.only(&l, p).await;
        shop.only(&b, p).await;

        // 12 and 13: one-time codes.
        let used = discount(
            &db,
            "ONCE-USED",
            DiscountType::PercentOff,
            "10",
            |d| d.redemption_type = RedemptionType::OneTime,
            &[],
            &[],
        )
        .await;
        db.store
            .insert_redemption_fixture(used, b_id, "fulfilled", now)
            .await
            .unwrap();
        assert_eq!(
            shop.redeem(Some(&l), "ONCE-USED").await,
            (404, not_found("ONCE-USED"))
        );
        let canceled = discount(
            &db,
            "ONCE-CANCELED",
            DiscountType::PercentOff,
            "10",
            |d| d.redemption_type = RedemptionType::OneTime,
            &[],
            &[],
        )
        .await;
        db.store
            .insert_redemption_fixture(canceled, b_id, "canceled", now)
            .await
            .unwrap();
        assert_eq!(
            shop.redeem(Some(&l), "ONCE-CANCELED").await,
            (
                200,
                json!({"message": "Discount applied", "code": "ONCE-CANCELED"})
            )
        );

        // 14: one-time-per-user.
        let per_user = discount(
            &db,
            "PER-USER",
            DiscountType::PercentOff,
            "10",
            |d| d.redemption_type = RedemptionType::OneTimePerUser,
            &[],
            &[],
        )
        .await;
        db.store
            .insert_redemption_fixture(per_user, l_id, "fulfilled", now)
            .await
            .unwrap();
        assert_eq!(shop.redeem(Some(&l), "PER-USER").await.0, 404);
        assert_eq!(shop.redeem(Some(&b), "PER-USER").await.0, 200);

        // 15: capped unlimited codes.
        let capped = discount(
            &db,
            "CAP-FULL",
            DiscountType::PercentOff,
            "10",
            |d| d.max_redemptions = 3,
            &[],
            &[],
        )
        .await;
        let room = discount(
            &db,
            "CAP-ROOM",
            DiscountType::PercentOff,
            "10",
            |d| d.max_redemptions = 3,
            &[],
            &[],
        )
        .await;
        for _ in 0..3 {
            db.store
                .insert_redemption_fixture(capped, b_id, "fulfilled", now)
                .await
                .unwrap();
        }
        for _ in 0..2 {
            db.store
                .insert_redemption_fixture(room, b_id, "fulfilled", now)
                .await
                .unwrap();
        }
        assert_eq!(shop.redeem(Some(&l), "CAP-FULL").await.0, 404);
        assert_eq!(shop.redeem(Some(&l), "CAP-ROOM").await.0, 200);

        // 16: dates.
        discount(
            &db,
            "EXPIRED",
            DiscountType::PercentOff,
            "10",
            |d| d.expiration_date = Some(now - Duration::days(1)),
            &[],
            &[],
        )
        .await;
        discount(
            &db,
            "NOT-YET",
            DiscountType::PercentOff,
            "10",
            |d| d.activation_date = Some(now + Duration::days(1)),
            &[],
            &[],
        )
        .await;
        discount(
            &db,
            "CURRENT",
            DiscountType::PercentOff,
            "10",
            |d| {
                d.activation_date = Some(now - Duration::days(30));
                d.expiration_date = Some(now + Duration::days(30));
            },
            &[],
            &[],
        )
        .await;
        assert_eq!(shop.redeem(Some(&l), "EXPIRED").await.0, 404);
        assert_eq!(shop.redeem(Some(&l), "NOT-YET").await.0, 404);
        assert_eq!(shop.redeem(Some(&l), "CURRENT").await.0, 200);

        // 17: product restrictions.
        discount(
            &db,
            "ONLY-Q",
            DiscountType::PercentOff,
            "10",
            |_| {},
            &[q],
            &[],
        )
        .await;
        discount(
            &db,
            "ONLY-P",
            DiscountType::PercentOff,
            "10",
            |_| {},
            &[p],
            &[],
        )
        .await;
        assert_eq!(shop.redeem(Some(&l), "ONLY-Q").await.0, 404);
        assert_eq!(shop.redeem(Some(&l), "ONLY-P").await.0, 200);

        // 18: financial-assistance codes are not redeemable by hand.
        discount(
            &db,
            "FINAID",
            DiscountType::PercentOff,
            "10",
            |d| d.payment_type = Some(PaymentType::FinancialAssistance),
            &[],
            &[],
        )
        .await;
        assert_eq!(shop.redeem(Some(&l), "FINAID").await.0, 404);

        // 19: whitespace is trimmed; the message names the stored code.
        discount(
            &db,
            "SAVE20",
            DiscountType::PercentOff,
            "20",
            |_| {},
            &[],
            &[],
        )
        .await;
        assert_eq!(
            shop.redeem(Some(&l), "  SAVE20 ").await,
            (
                200,
                json!({"message": "Discount applied", "code": "SAVE20"})
            )
        );
        assert_eq!(codes(&shop.basket(&l).await), vec!["SAVE20"]);
        assert_eq!(
            shop.redeem(Some(&l), "save20").await,
            (404, not_found("save20"))
        );

        // 21: a cheaper finaid (tier) discount is stored instead of the code.
        let tier = discount(
            &db,
            "TIER-50",
            DiscountType::PercentOff,
            "50",
            |d| d.payment_type = Some(PaymentType::FinancialAssistance),
            &[],
            &[],
        )
        .await;
        let tier_id = db
            .store
            .insert_tier_fixture(Courseware::Course(course), 0.0, tier, true)
            .await
            .unwrap();
        db.store
            .insert_flexible_price_fixture(
                l_id,
                Courseware::Course(course),
                RequestStatus::Approved,
                Some(tier_id),
                now,
            )
            .await
            .unwrap();
        discount(
            &db,
            "HUNDRED-OFF",
            DiscountType::DollarsOff,
            "100",
            |_| {},
            &[],
            &[],
        )
        .await;
        discount(
            &db,
            "SIXTY",
            DiscountType::PercentOff,
            "60",
            |_| {},
            &[],
            &[],
        )
        .await;
        assert_eq!(
            shop.redeem(Some(&l), "HUNDRED-OFF").await,
            (
                200,
                json!({"message": "Discount applied", "code": "TIER-50"})
            )
        );
        assert_eq!(shop.basket(&l).await["discounted_price"], json!(500.0));
        assert_eq!(
            shop.redeem(Some(&l), "SIXTY").await,
            (200, json!({"message": "Discount applied", "code": "SIXTY"}))
        );
        assert_eq!(shop.basket(&l).await["discounted_price"], json!(400.0));

        // The cart view's refresh keeps a non-finaid code and answers the basket.
        let (status, cart) = shop.get(Some(&l), "/api/checkout/cart/").await;
        assert_eq!(status, 200);
        assert_eq!(codes(&cart), vec!["SIXTY"]);
        // A product's flexible price for L is the tier discount.
        let (status, flex) = shop
            .get(
                Some(&l),
                &format!("/api/v0/products/{}/user_flexible_price/", p.0),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(flex["product_flexible_price"]["discount_code"], "TIER-50");
        assert_eq!(flex["price"], "1000.00");
        let (_, flex_b) = shop
            .get(
                Some(&b),
                &format!("/api/v0/products/{}/user_flexible_price/", p.0),
            )
            .await;
        assert_eq!(flex_b["product_flexible_price"], Value::Null);
        let _ = shop.server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s22_to_s27_basket_behaviour() {
    for db in databases().await {
        let mut shop = Shop::start(&db, &[]).await;
        let l = shop.l.clone();
        let (p, _) = shop.product(&db, "100.00").await;
        let (q, _) = shop.product(&db, "200.00").await;
        let (gone, _) = shop.product(&db, "300.00").await;
        tx!(db.store, t => t.deactivate_product(gone, &Audit::new("test", None), Utc::now()).await)
            .unwrap();

        // 27: cart view without a basket.
        assert_eq!(
            shop.get(Some(&l), "/api/checkout/cart/").await,
            (406, json!({"detail": "No basket"}))
        );
        assert_eq!(
            shop.get(None, "/api/checkout/cart/").await,
            (406, json!({"detail": "No basket"}))
        );
        assert_eq!(
            shop.get(Some(&l), "/api/checkout/basket_items_count/")
                .await,
            (200, json!(0))
        );

        // 22: single-item mode replaces the product and drops the discount.
        discount(&db, "D", DiscountType::PercentOff, "10", |_| {}, &[], &[]).await;
        shop.only(&l, p).await;
        assert_eq!(shop.redeem(Some(&l), "D").await.0, 200);
        shop.only(&l, q).await;
        let basket = shop.basket(&l).await;
        let products: Vec<i64> = basket["basket_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["product"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(products, vec![q.0]);
        assert_eq!(basket["discounts"], json!([]));
        assert_eq!(
            shop.get(Some(&l), "/api/checkout/basket_items_count/")
                .await,
            (200, json!(1))
        );

        // 24: unknown or inactive products.
        for id in [gone.0, 999_999] {
            assert_eq!(
                shop.post(
                    Some(&l),
                    "/api/checkout/add_to_cart/",
                    json!({"product_id": id})
                )
                .await,
                (404, json!({"message": "Product not found"}))
            );
        }
        assert_eq!(
            shop.post(Some(&l), "/api/checkout/add_to_cart/", json!({}))
                .await
                .0,
            400
        );

        // 27: an empty basket.
        let (status, cart) = shop.get(Some(&l), "/api/checkout/cart/").await;
        assert_eq!(
            (status, cart),
            (406, json!({"detail": "No product in basket"}))
        );

        // 25: v0 create_from_product: 201 then 200, one item.
        let path = format!("/api/v0/baskets/create_from_product/{}/", p.0);
        let (status, basket) = shop.post(Some(&l), &path, json!({})).await;
        assert_eq!(status, 201, "{basket}");
        assert_eq!(basket["basket_items"].as_array().unwrap().len(), 1);
        let (status, basket) = shop.post(Some(&l), &path, json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(basket["basket_items"].as_array().unwrap().len(), 1);
        assert_eq!(basket["user"], json!(shop.l_id.0));
        assert_eq!(
            shop.post(
                Some(&l),
                "/api/v0/baskets/create_from_product/999999/",
                json!({})
            )
            .await,
            (404, json!({"error": "Product not found"}))
        );
        let (status, _, headers) = shop
            .send(
                shop.with(
                    shop.client
                        .post(shop.url(&path))
                        .json(&json!({"checkout": true})),
                    Some(&l),
                ),
            )
            .await;
        assert_eq!(status, 302);
        assert_eq!(headers["location"], "/checkout/to_payment");

        // 26: anonymous create_from_product with an automatic discount: no discount.
        discount(
            &db,
            "AUTO",
            DiscountType::PercentOff,
            "50",
            |d| d.automatic = true,
            &[],
            &[],
        )
        .await;
        let (status, basket, headers) = shop
            .send(shop.with(shop.client.post(shop.url(&path)).json(&json!({})), None))
            .await;
        assert_eq!(status, 201, "{basket}");
        assert_eq!(basket["user"], Value::Null);
        assert!(basket["anonymous_id"].is_string());
        assert_eq!(basket["basket_items"].as_array().unwrap().len(), 1);
        assert_eq!(basket["discounts"], json!([]));
        let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("anonymous_basket_id="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Path=/")
        );
        let pair = cookie.split(';').next().unwrap().to_owned();
        assert_eq!(
            pair,
            format!(
                "anonymous_basket_id={}",
                basket["anonymous_id"].as_str().unwrap()
            )
        );
        // The cookie finds the same basket again.
        let (status, count, _) = shop
            .send(
                shop.client
                    .get(shop.url("/api/checkout/basket_items_count/"))
                    .header("cookie", &pair),
            )
            .await;
        assert_eq!((status, count), (200, json!(1)));
        // A signed-in learner's create_from_product picks up the automatic discount.
        let (_, mine) = shop.post(Some(&l), &path, json!({})).await;
        assert_eq!(codes(&mine), vec!["AUTO"]);
        assert_eq!(mine["discounted_price"], json!(50.0));

        // Anonymous callers of the claim page go to sign in.
        let (status, _, headers) = shop
            .send(shop.client.get(shop.url("/checkout/anonymous")))
            .await;
        assert_eq!(status, 302);
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/signin/")
        );
        // 28 over HTTP: the claim moves the anonymous basket to L and clears the cookie.
        let (status, _, headers) = shop
            .send(
                shop.with(
                    shop.client
                        .get(shop.url("/checkout/anonymous"))
                        .header("cookie", &pair),
                    Some(&l),
                ),
            )
            .await;
        assert_eq!(status, 302);
        assert_eq!(headers["location"], "/checkout/to_payment");
        assert!(
            headers["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let claimed = shop.basket(&l).await;
        assert_eq!(claimed["id"], basket["id"]);
        assert_eq!(claimed["anonymous_id"], Value::Null);

        // v0 clear: 204 with or without a basket.
        assert_eq!(shop.delete(Some(&l), "/api/v0/baskets/clear/").await, 204);
        assert_eq!(shop.delete(Some(&l), "/api/v0/baskets/clear/").await, 204);
        assert_eq!(shop.delete(None, "/api/v0/baskets/clear/").await, 204);
        assert_eq!(
            shop.get(Some(&l), "/api/v0/baskets/").await,
            (200, json!([]))
        );
        let _ = shop.server.stop.send(());

        // 23: multi-item mode.
        let shop = Shop::start(&db, &[("ENABLE_MULTIPLE_CART_ITEMS", "true")]).await;
        let b = shop.b.clone();
        let added = |message: &str| (200, json!({"message": message}));
        assert_eq!(
            shop.post(
                Some(&b),
                "/api/checkout/add_to_cart/",
                json!({"product_id": p.0})
            )
            .await,
            added("Product added to cart")
        );
        assert_eq!(
            shop.post(
                Some(&b),
                "/api/checkout/add_to_cart/",
                json!({"product_id": q.0})
            )
            .await,
            added("Product added to cart")
        );
        assert_eq!(
            shop.post(
                Some(&b),
                "/api/checkout/add_to_cart/",
                json!({"product_id": p.0})
            )
            .await,
            added("Product already in cart")
        );
        assert_eq!(
            shop.basket(&b).await["basket_items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            shop.get(Some(&b), "/api/checkout/basket_items_count/")
                .await,
            (200, json!(2))
        );
        let _ = shop.server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s30_to_s32_v0_apply_precedence() {
    for db in databases().await {
        let mut shop = Shop::start(&db, &[]).await;
        let l = shop.l.clone();
        let l_id = shop.l_id;
        let (p, course) = shop.product(&db, "1000.00").await;

        // 30: a cheaper code replaces the current one; a dearer one does not.
        discount(&db, "D1", DiscountType::PercentOff, "50", |_| {}, &[], &[]).await;
        discount(&db, "D2", DiscountType::PercentOff, "60", |_| {}, &[], &[]).await;
        discount(&db, "D3", DiscountType::PercentOff, "10", |_| {}, &[], &[]).await;
        shop.only(&l, p).await;
        assert_eq!(codes(&shop.add_discount(&l, "D1").await), vec!["D1"]);
        assert_eq!(codes(&shop.add_discount(&l, "D2").await), vec!["D2"]);
        shop.only(&l, p).await;
        shop.add_discount(&l, "D1").await;
        let basket = shop.add_discount(&l, "D3").await;
        assert_eq!(codes(&basket), vec!["D1"]);
        assert_eq!(basket["discounted_price"], json!(500.0));
        let (status, body) = shop
            .post(
                Some(&l),
                "/api/v0/baskets/add_discount/?discount_code=NOPE",
                json!({}),
            )
            .await;
        assert_eq!(
            (status, body),
            (404, json!({"error": "Discount 'NOPE' not found"}))
        );

        // 31: a user-assigned discount is kept against a cheaper code.
        discount(
            &db,
            "MINE-200",
            DiscountType::FixedPrice,
            "200",
            |_| {},
            &[],
            &[l_id],
        )
        .await;
        discount(
            &db,
            "FIXED-50",
            DiscountType::FixedPrice,
            "50",
            |_| {},
            &[],
            &[],
        )
        .await;
        shop.only(&l, p).await;
        assert_eq!(
            codes(&shop.add_discount(&l, "MINE-200").await),
            vec!["MINE-200"]
        );
        assert_eq!(
            codes(&shop.add_discount(&l, "FIXED-50").await),
            vec!["MINE-200"]
        );

        // 32: the approved tier discount (re-derived with finaid allowed) beats the
        // user's, the user's does not displace it, a cheaper regular code does.
        let tier = discount(
            &db,
            "TIER-100",
            DiscountType::FixedPrice,
            "100",
            |d| d.payment_type = Some(PaymentType::FinancialAssistance),
            &[],
            &[],
        )
        .await;
        let tier_id = db
            .store
            .insert_tier_fixture(Courseware::Course(course), 0.0, tier, true)
            .await
            .unwrap();
        db.store
            .insert_flexible_price_fixture(
                l_id,
                Courseware::Course(course),
                RequestStatus::Approved,
                Some(tier_id),
                Utc::now(),
            )
            .await
            .unwrap();
        let (status, basket) = shop
            .post(
                Some(&l),
                &format!("/api/v0/baskets/create_from_product/{}/", p.0),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{basket}");
        assert_eq!(codes(&basket), vec!["TIER-100"]);
        assert_eq!(basket["discounted_price"], json!(100.0));
        let basket = shop.add_discount(&l, "MINE-200").await;
        assert_eq!(codes(&basket), vec!["TIER-100"]);
        let basket = shop.add_discount(&l, "FIXED-50").await;
        assert_eq!(codes(&basket), vec!["FIXED-50"]);
        assert_eq!(basket["discounted_price"], json!(50.0));
        let _ = shop.server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basket_items_are_the_callers_own() {
    for db in databases().await {
        let mut shop = Shop::start(&db, &[]).await;
        let (l, b) = (shop.l.clone(), shop.b.clone());
        let (p, _) = shop.product(&db, "10.00").await;
        let (q, _) = shop.product(&db, "20.00").await;
        shop.only(&l, p).await;
        shop.only(&b, p).await;
        let mine = shop.basket(&l).await["id"].as_i64().unwrap();
        let theirs = shop.basket(&b).await["id"].as_i64().unwrap();

        let (status, item) = shop
            .post(
                Some(&l),
                &format!("/api/v0/baskets/{mine}/items/"),
                json!({"product": q.0}),
            )
            .await;
        assert_eq!(status, 201, "{item}");
        assert_eq!(item["basket"], json!(mine));
        assert_eq!(item["product"], json!(q.0));
        let item_id = item["id"].as_i64().unwrap();
        // Another learner's basket, in the path or in the body, is never touched.
        assert_eq!(
            shop.post(
                Some(&l),
                &format!("/api/v0/baskets/{theirs}/items/"),
                json!({"product": q.0})
            )
            .await
            .0,
            404
        );
        assert_eq!(
            shop.post(
                Some(&l),
                &format!("/api/v0/baskets/{mine}/items/"),
                json!({"product": q.0, "basket": theirs})
            )
            .await
            .0,
            404
        );
        assert_eq!(
            shop.get(Some(&l), &format!("/api/v0/baskets/{theirs}/"))
                .await
                .0,
            404
        );
        assert_eq!(
            shop.get(Some(&l), &format!("/api/v0/baskets/{theirs}/items/"))
                .await
                .0,
            404
        );
        assert_eq!(
            shop.delete(
                Some(&b),
                &format!("/api/v0/baskets/{mine}/items/{item_id}/")
            )
            .await,
            404
        );
        // Inactive or unknown product: 400.
        let (status, body) = shop
            .post(
                Some(&l),
                &format!("/api/v0/baskets/{mine}/items/"),
                json!({"product": 999_999}),
            )
            .await;
        assert_eq!(status, 400);
        assert!(body["errors"]["product"].is_array(), "{body}");

        let (status, items) = shop
            .get(Some(&l), &format!("/api/v0/baskets/{mine}/items/"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(items.as_array().unwrap().len(), 2);
        assert_eq!(
            shop.get(
                Some(&l),
                &format!("/api/v0/baskets/{mine}/items/{item_id}/")
            )
            .await
            .1["product"],
            json!(q.0)
        );
        let (status, changed, _) = shop
            .send(
                shop.with(
                    shop.client
                        .patch(shop.url(&format!("/api/v0/baskets/{mine}/items/{item_id}/")))
                        .json(&json!({"product": p.0})),
                    Some(&l),
                ),
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["product"], json!(p.0));
        assert_eq!(
            shop.get(Some(&l), &format!("/api/v0/baskets/{mine}/"))
                .await
                .1["id"],
            json!(mine)
        );
        assert_eq!(
            shop.delete(
                Some(&l),
                &format!("/api/v0/baskets/{mine}/items/{item_id}/")
            )
            .await,
            204
        );
        assert_eq!(
            shop.delete(
                Some(&l),
                &format!("/api/v0/baskets/{mine}/items/{item_id}/")
            )
            .await,
            404
        );

        // Legacy views.
        let (status, list) = shop.get(Some(&l), "/api/baskets/").await;
        assert_eq!(status, 200);
        assert_eq!(list[0]["id"], json!(mine));
        assert_eq!(
            shop.get(Some(&l), "/api/baskets/jdoe/").await.1["id"],
            json!(mine)
        );
        assert_eq!(shop.get(Some(&l), "/api/baskets/bob/").await.0, 404);
        let (status, item) = shop
            .post(
                Some(&l),
                &format!("/api/baskets/{mine}/items/"),
                json!({"product": q.0}),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(
            shop.get(Some(&l), &format!("/api/baskets/{mine}/items/"))
                .await
                .1
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            shop.delete(
                Some(&l),
                &format!("/api/baskets/{mine}/items/{}/", item["id"])
            )
            .await,
            204
        );
        assert_eq!(
            shop.get(Some(&l), &format!("/api/baskets/{mine}/discounts/"))
                .await,
            (200, json!([]))
        );
        assert_eq!(shop.get(None, "/api/baskets/").await.0, 403);
        assert_eq!(shop.get(None, "/api/v0/baskets/").await.0, 403);

        // create_with_products: every product must exist; then items are upserted.
        assert_eq!(
            shop.post(Some(&l), "/api/v0/baskets/create_with_products/", json!({"product_ids": [{"product_id": q.0, "quantity": 1}, {"product_id": 999_999, "quantity": 1}]})).await,
            (404, json!({"error": "Product not found"}))
        );
        let (status, basket) = shop
            .post(
                Some(&l),
                "/api/v0/baskets/create_with_products/",
                json!({"product_ids": [{"product_id": q.0, "quantity": 2}]}),
            )
            .await;
        assert_eq!(status, 200, "{basket}");
        assert_eq!(basket["total_price"], json!(30.0 + 20.0));

        // /cart/add empties the basket and fills it; redirect to /cart/.
        let (status, _, headers) = shop
            .send(shop.with(
                shop.client.get(shop.url(&format!(
                    "/cart/add?product_id={}&product_id={}&course_run_id=course-v1:MITx%2BC1%2B1T2026",
                    q.0, 999_999
                ))),
                Some(&l),
            ))
            .await;
        assert_eq!(status, 302);
        assert_eq!(headers["location"], "/cart/");
        let basket = shop.basket(&l).await;
        let products: Vec<i64> = basket["basket_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["product"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(products, vec![q.0, p.0]);
        let _ = shop.server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_list_detail_and_staff_listing() {
    for db in databases().await {
        let mut shop = Shop::start(&db, &[]).await;
        let l = shop.l.clone();
        let mut ids = Vec::new();
        for price in ["10.00", "20.00", "30.00"] {
            ids.push(shop.product(&db, price).await.0);
        }
        let (gone, _) = shop.product(&db, "40.00").await;
        tx!(db.store, t => t.deactivate_product(gone, &Audit::new("test", None), Utc::now()).await)
            .unwrap();

        let (status, page) = shop.get(Some(&l), "/api/v0/products/").await;
        assert_eq!(status, 200);
        assert_eq!(page["count"], json!(3));
        assert_eq!(page["results"].as_array().unwrap().len(), 2);
        assert!(
            page["next"]
                .as_str()
                .unwrap()
                .ends_with("/api/v0/products/?limit=2&offset=2")
        );
        assert_eq!(page["previous"], Value::Null);
        let first = &page["results"][0];
        assert_eq!(first["price"], "10.00");
        assert_eq!(
            first["purchasable_object"]["readable_id"],
            "course-v1:MITx+C1+1T2026"
        );
        assert_eq!(first["purchasable_object"]["course_number"], "C1");
        let (_, last) = shop
            .get(Some(&l), "/api/v0/products/?limit=2&offset=2")
            .await;
        assert_eq!(last["results"].as_array().unwrap().len(), 1);
        assert_eq!(last["next"], Value::Null);
        assert!(
            last["previous"]
                .as_str()
                .unwrap()
                .ends_with("/api/v0/products/?limit=2")
        );
        assert_eq!(shop.get(None, "/api/v0/products/").await.0, 403);

        let (status, detail) = shop
            .get(Some(&l), &format!("/api/v0/products/{}/", ids[1].0))
            .await;
        assert_eq!(status, 200);
        assert_eq!(detail["description"], "Product 2");
        let missing = (
            404,
            json!({"detail": "No Product matches the given query."}),
        );
        assert_eq!(
            shop.get(Some(&l), &format!("/api/v0/products/{}/", gone.0))
                .await,
            missing
        );
        assert_eq!(shop.get(Some(&l), "/api/v0/products/abc/").await, missing);
        let (status, flex) = shop
            .get(
                None,
                &format!("/api/v0/products/{}/user_flexible_price/", ids[0].0),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(flex["product_flexible_price"], Value::Null);

        assert_eq!(shop.get(Some(&l), "/api/v0/products/all/").await.0, 403);
        db.store
            .execute_raw(&format!(
                "UPDATE users SET is_staff = TRUE WHERE id = {}",
                shop.l_id.0
            ))
            .await
            .unwrap();
        let (status, all) = shop.get(Some(&l), "/api/v0/products/all/?search=c3").await;
        assert_eq!(status, 200, "{all}");
        assert_eq!(all["count"], json!(1));
        assert_eq!(all["results"][0]["id"], json!(ids[2].0));
        assert_eq!(
            shop.get(Some(&l), &format!("/api/v0/products/all/{}/", ids[0].0))
                .await
                .0,
            200
        );
        let _ = shop.server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

/// A learner's X-Userinfo header, distinct per `n`.
fn learner(n: usize) -> String {
    userinfo(&json!({
        "sub": format!("0f3c2a9e-1b2d-4c5e-8f90-{n:012}"),
        "preferred_username": format!("load{n}"),
        "email": format!("load{n}@example.com"),
        "name": format!("Load Learner {n}"),
    }))
}

/// Sends one POST per learner at once; the statuses and bodies, in learner order.
async fn post_all(shop: &Shop, learners: &[String], paths: &[String]) -> Vec<(u16, String)> {
    let mut set = tokio::task::JoinSet::new();
    for (i, (who, path)) in learners.iter().zip(paths).enumerate() {
        let request = shop.with(shop.client.post(shop.url(path)).json(&json!({})), Some(who));
        set.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (i, status, response.text().await.unwrap())
        });
    }
    let mut out = vec![(0, String::new()); learners.len()];
    while let Some(joined) = set.join_next().await {
        let (i, status, body) = joined.unwrap();
        out[i] = (status, body);
    }
    out
}

/// More learners at once than the pool has connections: every basket workflow reads in
/// its unit of work, so none waits for a second pooled connection while holding one (the
/// bug answered 503 "no free database connection" once every connection was so held).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_learners_do_not_starve_the_pool() {
    const LEARNERS: usize = 40;
    for db in databases().await {
        let mut shop = Shop::start(&db, &[]).await;
        let (product, _) = shop.product(&db, "100.00").await;
        discount(
            &db,
            "LOAD10",
            DiscountType::PercentOff,
            "10",
            |_| {},
            &[],
            &[],
        )
        .await;
        let learners: Vec<String> = (1..=LEARNERS).map(learner).collect();
        for who in &learners {
            assert_eq!(shop.get(Some(who), "/api/v0/users/me").await.0, 200);
        }

        let create = format!("/api/v0/baskets/create_from_product/{}/", product.0);
        let paths = vec![create; LEARNERS];
        for (i, (status, body)) in post_all(&shop, &learners, &paths).await.iter().enumerate() {
            assert_eq!(*status, 201, "learner {i}: {body}");
        }

        // Half redeem through the legacy endpoint, half through v0 add_discount.
        let paths: Vec<String> = (0..LEARNERS)
            .map(|i| {
                if i % 2 == 0 {
                    "/api/checkout/redeem_discount/".to_owned()
                } else {
                    "/api/v0/baskets/add_discount/?discount_code=LOAD10".to_owned()
                }
            })
            .collect();
        let mut set = tokio::task::JoinSet::new();
        for (i, (who, path)) in learners.iter().zip(&paths).enumerate() {
            let body = json!({"discount": "LOAD10"});
            let request = shop.with(shop.client.post(shop.url(path)).json(&body), Some(who));
            set.spawn(async move {
                let response = request.send().await.unwrap();
                (
                    i,
                    response.status().as_u16(),
                    response.text().await.unwrap(),
                )
            });
        }
        while let Some(joined) = set.join_next().await {
            let (i, status, body) = joined.unwrap();
            assert_eq!(status, 200, "learner {i} ({}): {body}", paths[i]);
        }
        for who in &learners {
            let basket = shop.basket(who).await;
            assert_eq!(codes(&basket), vec!["LOAD10"], "{basket}");
            assert_eq!(basket["discounted_price"], json!(90.0), "{basket}");
        }
        let _ = shop.server.stop.send(());
        db.cleanup().await.unwrap();
    }
}
