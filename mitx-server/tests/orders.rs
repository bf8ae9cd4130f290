//! The learner's order APIs over HTTP (ecommerce spec 5.6, 7; scenarios 57–60): history,
//! receipt, status, refund requests and the receipt redirects, on SQLite and PostgreSQL.
//! Orders are written with the store's order fixture (the order workflows are tested
//! with checkout).

use chrono::{DateTime, Duration, Utc};
use mitx_core::ids::{DiscountId, OrderId, ProductId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::OrderState;
use mitx_services::store::jobs::JobFilter;
use mitx_services::store::order_views::{FixtureTransaction, OrderFixture};
use mitx_services::testing::TestDb;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_server};
use crate::learner::{Learner, load_demo};

pub fn other_claims(name: &str) -> Value {
    json!({
        "sub": format!("00000000-0000-4000-8000-{:0>12}", name.len()),
        "preferred_username": name,
        "email": format!("{name}@example.com"),
        "name": format!("{name} Learner"),
    })
}

/// The demo catalog's course-run products: `(product, run id)`.
pub async fn run_products(db: &TestDb) -> Vec<(ProductId, i64)> {
    db.store
        .list_products(false)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.content_type == mitx_services::store::products::ContentType::CourseRun)
        .map(|p| (p.id, p.object_id))
        .collect()
}

fn payment(id: &str, amount: Money, at: DateTime<Utc>) -> FixtureTransaction {
    FixtureTransaction {
        transaction_id: id.into(),
        amount,
        data: json!({
            "req_card_number": "xxxxxxxxxxxx1111",
            "req_card_type": "001",
            "req_bill_to_forename": "Jane",
            "req_bill_to_surname": "Doe",
            "req_bill_to_email": "billing@example.com",
            "req_payment_method": "card",
            "req_bill_to_address_line1": "77 Massachusetts Ave",
            "req_bill_to_address_city": "Cambridge",
            "req_bill_to_address_state": "MA",
            "req_bill_to_address_postal_code": "02139",
            "req_bill_to_address_country": "US",
            "req_amount": amount.to_price_string(),
        }),
        refund: false,
        created_on: at,
    }
}

pub struct Order<'a> {
    pub user: UserId,
    pub state: OrderState,
    pub created: DateTime<Utc>,
    pub product: ProductId,
    pub total: Money,
    pub discounts: &'a [DiscountId],
    pub transactions: Vec<FixtureTransaction>,
}

pub async fn order(db: &TestDb, o: Order<'_>) -> OrderId {
    db.store
        .insert_order_fixture(&OrderFixture {
            purchaser: o.user,
            state: o.state,
            created_on: o.created,
            total_price_paid: o.total,
            environment: "prod".into(),
            products: vec![o.product],
            discounts: o.discounts.to_vec(),
            transactions: o.transactions,
        })
        .await
        .unwrap()
}

/// A 20% percent-off discount created through the store.
pub async fn discount(db: &TestDb, code: &str) -> DiscountId {
    use mitx_core::pricing::{DiscountCode, DiscountDraft, DiscountType};
    let draft = DiscountDraft::new(
        DiscountCode::parse(code).unwrap(),
        DiscountType::PercentOff,
        Decimal::from(20),
    );
    let audit = mitx_services::store::audit_log::Audit::new("test", None);
    tx!(db.store, t => t.create_discount(&draft, &[], &[], &audit, Utc::now()).await).unwrap()
}

async fn set_run_start(db: &TestDb, run: i64, start: DateTime<Utc>) {
    db.store
        .execute_raw(&format!(
            "UPDATE course_runs SET start_date = '{}', end_date = '{}' WHERE id = {run}",
            start.to_rfc3339(),
            (start + Duration::days(90)).to_rfc3339()
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s57_s58_history_receipt_status_and_redirects() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[("ENVIRONMENT", "prod")]).await;
        let learner = Learner::new(&server.base, &jdoe());
        let other = Learner::new(&server.base, &other_claims("bob"));
        let me = learner.id().await;
        let bob = other.id().await;
        let products = run_products(&db).await;
        let (p1, run1) = products[0];
        let (p2, _) = products[1];
        let now = Utc::now();
        let code = discount(&db, "SAVE20").await;
        // Product prices come from the demo catalog; the fixture total is 80% of it.
        let price = db.store.product(p1).await.unwrap().unwrap().price;
        let paid = Money::new(price.amount() * Decimal::new(8, 1));
        let fulfilled = order(
            &db,
            Order {
                user: me,
                state: OrderState::Fulfilled,
                created: now - Duration::days(3),
                product: p1,
                total: paid,
                discounts: &[code],
                transactions: vec![payment("tx-1", paid, now - Duration::days(3))],
            },
        )
        .await;
        let refunded = order(
            &db,
            Order {
                user: me,
                state: OrderState::Refunded,
                created: now - Duration::days(20),
                product: p2,
                total: Money::from_cents(1000),
                discounts: &[],
                transactions: vec![],
            },
        )
        .await;
        let pending = order(
            &db,
            Order {
                user: me,
                state: OrderState::Pending,
                created: now,
                product: p2,
                total: Money::from_cents(1000),
                discounts: &[],
                transactions: vec![],
            },
        )
        .await;
        let bobs = order(
            &db,
            Order {
                user: bob,
                state: OrderState::Fulfilled,
                created: now,
                product: p1,
                total: Money::from_cents(1000),
                discounts: &[],
                transactions: vec![],
            },
        )
        .await;

        // Scenario 57: only fulfilled/refunded orders of the caller, newest first, always
        // paginated.
        let (status, body) = learner.get("/api/v0/orders/history/").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], 2);
        assert_eq!(body["next"], Value::Null);
        assert_eq!(body["previous"], Value::Null);
        let ids: Vec<i64> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![fulfilled.0, refunded.0]);
        let first = &body["results"][0];
        assert_eq!(first["state"], "fulfilled");
        assert_eq!(
            first["reference_number"],
            format!("mitxonline-prod-{}", fulfilled.0)
        );
        assert_eq!(first["purchaser"]["username"], "jdoe");
        assert_eq!(first["total_price_paid"], paid.to_amount_string());
        assert_eq!(first["lines"][0]["unit_price"], price.to_price_string());
        assert_eq!(first["lines"][0]["total_price"], price.to_price_string());
        assert_eq!(first["lines"][0]["quantity"], 1);
        assert_eq!(first["lines"][0]["product"]["id"], p1.0);
        assert_eq!(
            first["lines"][0]["product"]["purchasable_object"]["id"],
            run1
        );
        assert!(first["titles"][0].as_str().unwrap().len() > 1);
        assert_eq!(first["refund_eligible"], true);
        assert_eq!(body["results"][1]["state"], "refunded");
        let (_, legacy) = learner.get("/api/orders/history/").await;
        assert_eq!(legacy["count"], 2);
        let (_, paged) = learner.get("/api/v0/orders/history/?limit=1").await;
        assert_eq!(paged["count"], 2);
        assert_eq!(paged["results"].as_array().unwrap().len(), 1);
        assert!(
            paged["next"]
                .as_str()
                .unwrap()
                .ends_with("/api/v0/orders/history/?limit=1&offset=1"),
            "{paged}"
        );
        let (_, second) = learner
            .get("/api/v0/orders/history/?limit=1&offset=1")
            .await;
        assert_eq!(second["results"][0]["id"], refunded.0);
        assert!(second["previous"].as_str().is_some());
        let (status, _) = learner
            .get(&format!("/api/v0/orders/history/{}/", fulfilled.0))
            .await;
        assert_eq!(status, 200);
        let (status, _) = learner
            .get(&format!("/api/v0/orders/history/{}/", pending.0))
            .await;
        assert_eq!(status, 404);
        let anonymous = crate::client()
            .get(format!("{}/api/v0/orders/history/", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 403);

        // Receipt: own orders in any state; the discount and payment details.
        let (status, receipt) = learner
            .get(&format!("/api/v0/orders/receipt/{}/", fulfilled.0))
            .await;
        assert_eq!(status, 200, "{receipt}");
        let line = &receipt["lines"][0];
        let discount_amount = price - Money::new(price.amount() * Decimal::new(8, 1)).quantize();
        assert_eq!(line["price"], price.to_price_string());
        assert_eq!(line["discount"], discount_amount.to_price_string());
        assert_eq!(
            line["total_paid"],
            (price - discount_amount).to_price_string()
        );
        assert_eq!(line["content_type"], "courserun");
        assert_eq!(line["CEUs"], Value::Null);
        assert!(line["content_title"].as_str().unwrap().contains(' '));
        assert_eq!(
            receipt["discounts"][0]["redeemed_discount"]["discount_code"],
            "SAVE20"
        );
        assert_eq!(
            receipt["discounts"][0]["redeemed_discount"]["amount"],
            "20.00000"
        );
        assert_eq!(receipt["transactions"]["card_type"], "Visa");
        assert_eq!(receipt["transactions"]["card_number"], "xxxxxxxxxxxx1111");
        assert_eq!(receipt["transactions"]["name"], "Jane Doe");
        assert_eq!(
            receipt["transactions"]["bill_to_email"],
            "billing@example.com"
        );
        assert_eq!(
            receipt["street_address"]["line"],
            json!(["77 Massachusetts Ave"])
        );
        assert_eq!(receipt["street_address"]["postal_code"], "02139");
        assert_eq!(receipt["purchaser"]["email"], "jdoe@example.com");
        assert_eq!(receipt["refunds"], json!([]));
        let (status, pending_receipt) = learner
            .get(&format!("/api/orders/receipt/{}/", pending.0))
            .await;
        assert_eq!(status, 200);
        assert_eq!(pending_receipt["transactions"], Value::Null);
        assert_eq!(pending_receipt["lines"][0]["discount"], "0.0");
        for path in [
            format!("/api/v0/orders/receipt/{}/", bobs.0),
            "/api/v0/orders/receipt/nope/".to_owned(),
        ] {
            let (status, body) = learner.get(&path).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(body, json!({"detail": "Not found."}));
        }

        // Scenario 58: status by id or reference; another user's order is not found.
        let reference = format!("mitxonline-prod-{}", fulfilled.0);
        for key in [fulfilled.0.to_string(), reference.clone()] {
            let (status, body) = learner.get(&format!("/api/v0/orders/status/{key}/")).await;
            assert_eq!(status, 200);
            assert_eq!(
                body,
                json!({
                    "id": fulfilled.0,
                    "reference_number": reference,
                    "total_price_paid": paid.to_amount_string(),
                    "state": "fulfilled",
                })
            );
        }
        for key in [
            bobs.0.to_string(),
            format!("mitxonline-prod-{}", bobs.0),
            "999999".into(),
        ] {
            let (status, body) = learner.get(&format!("/api/v0/orders/status/{key}/")).await;
            assert_eq!((status, body), (404, json!({"state": "Not found."})));
        }

        // Receipt redirects: the newest fulfilled order that paid for the run.
        let response = learner
            .client
            .get(format!("{}/orders/receipt/by-run/{run1}/", server.base))
            .header("X-Userinfo", &learner.header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(
            response.headers()["location"],
            format!("/orders/receipt/{}/", fulfilled.0).as_str()
        );
        let (status, _) = learner.get("/orders/receipt/by-run/999999/").await;
        assert_eq!(status, 404);
        let (status, _) = learner.get("/orders/receipt/by-program/999999/").await;
        assert_eq!(status, 404);
        let anonymous = crate::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = anonymous
            .get(format!("{}/orders/receipt/by-run/{run1}/", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login/?next=")
        );
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s59_refund_requests() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let learner = Learner::new(&server.base, &jdoe());
        let other = Learner::new(&server.base, &other_claims("carol"));
        let me = learner.id().await;
        let carol = other.id().await;
        let products = run_products(&db).await;
        let (p1, _) = products[0];
        let (p2, run2) = products[1];
        let now = Utc::now();
        let plain = |user, state, product| Order {
            user,
            state,
            created: now - Duration::days(1),
            product,
            total: Money::from_cents(5000),
            discounts: &[],
            transactions: vec![],
        };
        let mine = order(&db, plain(me, OrderState::Fulfilled, p1)).await;
        let pending = order(&db, plain(me, OrderState::Pending, p1)).await;
        let carols = order(&db, plain(carol, OrderState::Fulfilled, p1)).await;
        db.store
            .execute_raw(&format!(
                "UPDATE course_runs SET b2b_contract_id = 42 WHERE id = {run2}"
            ))
            .await
            .unwrap();
        let b2b = order(&db, plain(me, OrderState::Fulfilled, p2)).await;

        let (status, body) = learner
            .post(
                "/api/v0/orders/refund-requests/",
                &json!({"order": mine.0, "refund_reason": "financial_reasons",
                        "refund_reason_text": "Lost my job", "consent_given": true}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body,
            json!({"order": mine.0, "refund_reason": "financial_reasons",
                   "refund_reason_text": "Lost my job", "consent_given": true})
        );
        let status_of = db
            .store
            .execute_raw("UPDATE refund_requests SET status = status WHERE status = 'pending'")
            .await
            .unwrap();
        assert_eq!(status_of, 1, "one pending request");
        let jobs = db
            .store
            .list_jobs(&JobFilter {
                name: Some("orders.refund_request_email".into()),
                status: None,
                limit: 100,
            })
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1);

        let not_own = "You can only request a refund for your own orders.";
        let not_fulfilled = "Refund requests can only be submitted for fulfilled orders.";
        let b2b_message = "B2B contract orders are not eligible for self-service refund requests.";
        for (id, message) in [
            (carols, not_own),
            (pending, not_fulfilled),
            (b2b, b2b_message),
        ] {
            let (status, body) = learner
                .post(
                    "/api/v0/orders/refund-requests/",
                    &json!({"order": id.0, "consent_given": true}),
                )
                .await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(body, json!({"errors": {"order": [message]}}));
        }
        let (status, body) = learner
            .post(
                "/api/v0/orders/refund-requests/",
                &json!({"order": mine.0, "consent_given": false}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errors": {"consent_given": ["You must acknowledge the consequences of requesting a refund."]}})
        );
        for (payload, field) in [
            (json!({}), "order"),
            (json!({"order": "x", "consent_given": true}), "order"),
            (json!({"order": 999999, "consent_given": true}), "order"),
            (
                json!({"order": mine.0, "consent_given": true, "refund_reason": "bored"}),
                "refund_reason",
            ),
            (
                json!({"order": mine.0, "consent_given": "maybe"}),
                "consent_given",
            ),
        ] {
            let (status, body) = learner
                .post("/api/v0/orders/refund-requests/", &payload)
                .await;
            assert_eq!(status, 400, "{payload}: {body}");
            assert!(body["errors"][field].is_array(), "{payload}: {body}");
        }
        let jobs = db
            .store
            .list_jobs(&JobFilter {
                name: Some("orders.refund_request_email".into()),
                status: None,
                limit: 100,
            })
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1, "refused requests queue nothing");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s60_refund_eligibility() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let learner = Learner::new(&server.base, &jdoe());
        let me = learner.id().await;
        let products = run_products(&db).await;
        let now = Utc::now();
        let (recent_product, recent_run) = products[0];
        let (old_product, old_run) = products[1];
        let (later_product, later_run) = products[2];
        // The run of the recent order started long ago: only the 7 days after the order
        // count.
        set_run_start(&db, recent_run, now - Duration::days(100)).await;
        set_run_start(&db, old_run, now - Duration::days(12)).await;
        set_run_start(&db, later_run, now + Duration::days(2)).await;
        let at = |product, days| Order {
            user: me,
            state: OrderState::Fulfilled,
            created: now - Duration::days(days),
            product,
            total: Money::from_cents(100),
            discounts: &[],
            transactions: vec![],
        };
        let recent = order(&db, at(recent_product, 3)).await;
        let old = order(&db, at(old_product, 10)).await;
        let later = order(&db, at(later_product, 10)).await;
        for (id, eligible) in [(recent, true), (old, false), (later, true)] {
            let (status, body) = learner
                .get(&format!("/api/v0/orders/receipt/{}/", id.0))
                .await;
            assert_eq!(status, 200);
            assert_eq!(body["refund_eligible"], eligible, "order {id}");
            let (_, body) = learner
                .get(&format!("/api/v0/orders/history/{}/", id.0))
                .await;
            assert_eq!(body["refund_eligible"], eligible, "order {id}");
        }
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

/// A staff learner (`is_staff` set in the database after the gateway created them).
pub async fn staff_learner(db: &TestDb, base: &str, name: &str) -> Learner {
    let learner = Learner::new(base, &other_claims(name));
    let id = learner.id().await;
    db.store
        .execute_raw(&format!(
            "UPDATE users SET is_staff = TRUE WHERE id = {}",
            id.0
        ))
        .await
        .unwrap();
    learner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s55_s56_staff_discount_api() {
    for db in databases().await {
        let server = start_server(&db, true, false, &[]).await;
        let staff = staff_learner(&db, &server.base, "staffer").await;
        let learner = Learner::new(&server.base, &jdoe());

        // Scenario 55.
        let batch = json!({
            "discount_type": "percent-off", "payment_type": "customer-support", "amount": "50",
            "count": 5, "prefix": "Generated-Code-", "expires": "2030-01-01T00:00:00",
            "one_time": true,
        });
        let (status, body) = staff.post("/api/v0/discounts/create_batch/", &batch).await;
        assert_eq!(status, 201, "{body}");
        let created = body.as_array().unwrap();
        assert_eq!(created.len(), 5);
        for d in created {
            assert!(
                d["discount_code"]
                    .as_str()
                    .unwrap()
                    .starts_with("Generated-Code-")
            );
            assert_eq!(d["discount_code"].as_str().unwrap().len(), 15 + 36);
            assert_eq!(d["redemption_type"], "one-time");
            assert_eq!(d["amount"], "50.00000");
            assert_eq!(d["is_redeemed"], false);
            assert_eq!(d["expiration_date"], "2030-01-01T00:00:00.000000Z");
        }
        let (status, legacy) = staff
            .post(
                "/api/discounts/create_batch/",
                &json!({"discount_type": "dollars-off", "payment_type": "sales", "amount": "10",
                        "count": 2, "prefix": "LEGACY-", "once_per_user": true}),
            )
            .await;
        assert_eq!(status, 201, "{legacy}");
        assert_eq!(legacy[0]["redemption_type"], "one-time-per-user");

        // Scenario 56 (and the field checks).
        for (payload, message) in [
            (
                json!({"discount_type": "percent-off", "payment_type": "sales", "amount": "150", "count": 1, "codes": ["X150"]}),
                "Batch creation failed: Discount amount 150 not valid for discount type percent-off.",
            ),
            (
                json!({"discount_type": "percent-off", "payment_type": "sales", "amount": "10", "count": 2}),
                "Batch creation failed: You must specify a prefix to create a batch of codes.",
            ),
            (
                json!({"discount_type": "percent-off", "payment_type": "sales", "amount": "10", "count": 2, "prefix": "P".repeat(64)}),
                "Batch creation failed: prefix: Ensure this field has no more than 63 characters.",
            ),
            (
                json!({"discount_type": "half-off", "payment_type": "sales", "amount": "10"}),
                "Batch creation failed: discount_type: \"half-off\" is not a valid choice.",
            ),
            (
                json!({"discount_type": "percent-off", "payment_type": "sales", "amount": "10.123"}),
                "Batch creation failed: amount: Ensure that there are no more than 2 decimal places.",
            ),
        ] {
            let (status, body) = staff
                .post("/api/v0/discounts/create_batch/", &payload)
                .await;
            assert_eq!(status, 400, "{payload}");
            assert_eq!(body, json!({"detail": message}), "{payload}");
        }
        let (status, _) = learner
            .post("/api/v0/discounts/create_batch/", &batch)
            .await;
        assert_eq!(status, 403);
        let (status, _) = learner.get("/api/v0/discounts/").await;
        assert_eq!(status, 403);

        // List with filters, newest first, paginated.
        let (status, page) = staff.get("/api/v0/discounts/?limit=3").await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 7);
        assert_eq!(page["results"].as_array().unwrap().len(), 3);
        assert!(
            page["results"][0]["discount_code"]
                .as_str()
                .unwrap()
                .starts_with("LEGACY-")
        );
        assert!(page["next"].as_str().unwrap().contains("offset=3"));
        let (_, found) = staff.get("/api/v0/discounts/?q=Generated").await;
        assert_eq!(found["count"], 5);
        let (_, found) = staff
            .get("/api/v0/discounts/?redemption_type=one-time-per-user")
            .await;
        assert_eq!(found["count"], 2);
        let (_, found) = staff.get("/api/v0/discounts/?payment_type=sales").await;
        assert_eq!(found["count"], 2);
        let (_, found) = staff.get("/api/v0/discounts/?is_redeemed=yes").await;
        assert_eq!(found["count"], 0);

        // Create, retrieve, update (save-time checks are 400), delete.
        let (status, made) = staff
            .post(
                "/api/v0/discounts/",
                &json!({"discount_code": "STAFF10", "discount_type": "dollars-off", "amount": "10",
                        "redemption_type": "unlimited", "payment_type": "staff"}),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        let id = made["id"].as_i64().unwrap();
        let (status, same) = staff.get(&format!("/api/v0/discounts/{id}/")).await;
        assert_eq!(status, 200);
        assert_eq!(same, made);
        let (status, dup) = staff
            .post(
                "/api/v0/discounts/",
                &json!({"discount_code": "STAFF10", "discount_type": "dollars-off", "amount": "10",
                        "redemption_type": "unlimited"}),
            )
            .await;
        assert_eq!(status, 400, "{dup}");
        let (status, changed) = staff
            .patch(
                &format!("/api/v0/discounts/{id}/"),
                &json!({"amount": "12.5", "max_redemptions": 3}),
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["amount"], "12.50000");
        assert_eq!(changed["max_redemptions"], 3);
        let (status, body) = staff
            .patch(
                &format!("/api/v0/discounts/{id}/"),
                &json!({"expiration_date": "2020-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            body["detail"],
            "Expiration date 2020-01-01 00:00:00+00:00 must be in the future."
        );
        let (status, body) = staff
            .patch(
                &format!("/api/v0/discounts/{id}/"),
                &json!({"activation_date": "2031-01-01T00:00:00Z", "expiration_date": "2030-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = staff
            .patch(
                &format!("/api/v0/discounts/{id}/"),
                &json!({"discount_type": "half"}),
            )
            .await;
        assert_eq!(status, 400);
        assert!(body["errors"]["discount_type"].is_array());
        let (status, _) = staff.delete(&format!("/api/v0/discounts/{id}/")).await;
        assert_eq!(status, 204);
        let (status, _) = staff.get(&format!("/api/v0/discounts/{id}/")).await;
        assert_eq!(status, 404);
        let (status, _) = staff.get("/api/v0/discounts/nope/").await;
        assert_eq!(status, 404);
        let audit = db
            .store
            .execute_raw("UPDATE audit_log SET actor = actor WHERE actor = 'api:staffer'")
            .await
            .unwrap();
        assert!(audit >= 5, "every write leaves an audit row ({audit})");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}
