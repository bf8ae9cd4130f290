//! The nested staff discount routes over HTTP (ecommerce spec 6): a discount's assignees,
//! products, redemptions and tiers, and the legacy `/api/discounts/` and
//! `/api/discounts/user/` lists with `l`/`o` paging, on SQLite and PostgreSQL.

use chrono::{Duration, Utc};
use mitx_core::ids::DiscountId;
use mitx_core::money::Money;
use mitx_core::orders::OrderState;
use mitx_core::pricing::flexible::Courseware;
use mitx_services::store::baskets::Purchasable;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_server};
use crate::learner::{Learner, load_demo};
use crate::orders::{Order, discount, order, other_claims, run_products, staff_learner};

/// The audit actions the staff API left on a discount, oldest first.
async fn staff_actions(db: &TestDb, id: DiscountId) -> Vec<String> {
    db.store
        .audit_log_for("discount", &id.0.to_string())
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.actor == "api:staffer")
        .map(|row| row.action)
        .collect()
}

/// The `user` ids of a page of assignees.
fn assigned_users(page: &Value) -> Vec<i64> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["user"]["id"].as_i64().unwrap())
        .collect()
}

/// A raw request with the staff member's gateway header, from the site's own pages (the
/// CSRF check of non-JSON bodies); `(status, body)`.
async fn raw(
    who: &Learner,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let response = who
        .client
        .request(method.parse().unwrap(), format!("{}{path}", who.base))
        .header("X-Userinfo", &who.header)
        .header("origin", &who.base)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A 4xx answer is a JSON object with `detail` or `errors`.
fn json_error(body: &Value) -> bool {
    body.get("detail").is_some() || body.get("errors").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_discount_routes_are_staff_only() {
    for db in databases().await {
        let server = start_server(&db, true, false, &[]).await;
        let learner = Learner::new(&server.base, &jdoe());
        let staff = staff_learner(&db, &server.base, "staffer").await;
        let id = discount(&db, "NESTED-403").await.0;
        let me = learner.id().await.0;
        for path in [
            format!("/api/v0/discounts/{id}/redemptions/"),
            format!("/api/v0/discounts/{id}/redemptions/1/"),
            format!("/api/v0/discounts/{id}/assignees/"),
            format!("/api/v0/discounts/{id}/assignees/1/"),
            format!("/api/v0/discounts/{id}/products/"),
            format!("/api/v0/discounts/{id}/products/1/"),
            format!("/api/v0/discounts/{id}/tiers/"),
            format!("/api/v0/discounts/{id}/tiers/1/"),
            // An unknown discount is refused before it is looked up.
            "/api/v0/discounts/999999/assignees/".to_owned(),
            "/api/discounts/".to_owned(),
            "/api/discounts/user/".to_owned(),
        ] {
            let (status, body) = learner.get(&path).await;
            assert_eq!(status, 403, "{path}: {body}");
            assert!(body["detail"].is_string(), "{path}: {body}");
        }
        for (path, body) in [
            (
                format!("/api/v0/discounts/{id}/assignees/"),
                json!({"user": me}),
            ),
            (
                format!("/api/v0/discounts/{id}/products/"),
                json!({"product_id": 1}),
            ),
        ] {
            let (status, _) = learner.post(&path, &body).await;
            assert_eq!(status, 403, "{path}");
            let (status, _) = learner.patch(&format!("{path}1/"), &body).await;
            assert_eq!(status, 403, "{path}");
        }
        let (status, _) = learner
            .delete(&format!("/api/v0/discounts/{id}/assignees/{me}/"))
            .await;
        assert_eq!(status, 403);
        // Nothing was written by the refused calls.
        let (_, page) = staff
            .get(&format!("/api/v0/discounts/{id}/assignees/"))
            .await;
        assert_eq!(page["count"], 0, "{page}");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_assign_and_unassign_users() {
    for db in databases().await {
        let server = start_server(&db, true, false, &[]).await;
        let staff = staff_learner(&db, &server.base, "staffer").await;
        let bob = Learner::new(&server.base, &other_claims("bob"))
            .id()
            .await
            .0;
        let carol = Learner::new(&server.base, &other_claims("carol"))
            .id()
            .await
            .0;
        let d = discount(&db, "ASSIGN20").await;
        let id = d.0;
        let list = format!("/api/v0/discounts/{id}/assignees/");

        // POST {user} assigns (201); again finds the same link (200), no duplicate.
        let (status, made) = staff.post(&list, &json!({"user": bob})).await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["user"]["id"], bob);
        assert_eq!(made["user"]["username"], "bob");
        assert_eq!(made["discount"]["id"], id);
        assert_eq!(made["discount"]["discount_code"], "ASSIGN20");
        let link = made["id"].as_i64().unwrap();
        let (status, again) = staff.post(&list, &json!({"user": bob})).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["id"], link);
        let (status, page) = staff.get(&list).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 1);
        assert_eq!(assigned_users(&page), vec![bob]);

        // PATCH (and PUT) {user} assign too; form bodies work like JSON.
        let (status, patched) = staff
            .patch(&format!("{list}{link}/"), &json!({"user": {"id": carol}}))
            .await;
        assert_eq!(status, 201, "{patched}");
        assert_eq!(patched["user"]["id"], carol);
        let (status, put) = raw(
            &staff,
            "PUT",
            &format!("{list}{link}/"),
            "application/x-www-form-urlencoded",
            &format!("user={carol}"),
        )
        .await;
        assert_eq!(status, 200, "{put}");
        assert_eq!(put["id"], patched["id"]);
        let (_, page) = staff.get(&list).await;
        assert_eq!(assigned_users(&page), vec![bob, carol]);
        // Paged with limit/offset.
        let (_, first) = staff.get(&format!("{list}?limit=1")).await;
        assert_eq!(first["count"], 2);
        assert_eq!(assigned_users(&first), vec![bob]);
        assert!(
            first["next"]
                .as_str()
                .unwrap()
                .ends_with("?limit=1&offset=1")
        );
        assert!(first["previous"].is_null());

        // One assignment by its id; unknown and non-numeric ids are 404 JSON.
        let (status, one) = staff.get(&format!("{list}{link}/")).await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one, made);
        for bad in ["999999", "abc", "1.5", "-1"] {
            let (status, body) = staff.get(&format!("{list}{bad}/")).await;
            assert_eq!(status, 404, "{bad}: {body}");
            assert!(json_error(&body), "{bad}: {body}");
        }

        // Bad bodies: 400 JSON, nothing written.
        for body in [
            json!({}),
            json!({"user": null}),
            json!({"user": "abc"}),
            json!({"user": 999_999}),
            json!({"user": {"id": "x"}}),
            json!({"user": [bob]}),
        ] {
            let (status, answer) = staff.post(&list, &body).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert!(answer["errors"]["user"].is_array(), "{body}: {answer}");
        }
        let (status, answer) = staff.post(&list, &json!({"user": 999_999})).await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["errors"]["user"][0],
            "Invalid pk \"999999\" - object does not exist."
        );
        for (content_type, body) in [
            ("text/plain", "user=1"),
            ("application/json", "{"),
            ("application/json", "[1]"),
        ] {
            let (status, answer) = raw(&staff, "POST", &list, content_type, body).await;
            assert_eq!(status, 400, "{content_type} {body}: {answer}");
            assert!(json_error(&answer), "{answer}");
        }
        let (_, page) = staff.get(&list).await;
        assert_eq!(page["count"], 2, "bad bodies wrote nothing: {page}");

        // DELETE takes the user's id: 204, then gone; a second DELETE is 404 and changes
        // nothing.
        let (status, _) = staff.delete(&format!("{list}{bob}/")).await;
        assert_eq!(status, 204);
        let (_, page) = staff.get(&list).await;
        assert_eq!(assigned_users(&page), vec![carol]);
        let (status, body) = staff.delete(&format!("{list}{bob}/")).await;
        assert_eq!(status, 404, "{body}");
        assert!(json_error(&body));
        let (status, body) = staff.delete(&format!("{list}abc/")).await;
        assert_eq!(status, 404, "{body}");
        let (_, page) = staff.get(&list).await;
        assert_eq!(assigned_users(&page), vec![carol]);

        // An unknown discount is 404 JSON on every route.
        for path in [
            "/api/v0/discounts/999999/assignees/",
            "/api/v0/discounts/abc/assignees/",
        ] {
            let (status, body) = staff.get(path).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(body["detail"], "No Discount matches the given query.");
            let (status, _) = staff.post(path, &json!({"user": bob})).await;
            assert_eq!(status, 404, "{path}");
        }

        // Each change is one audit row.
        assert_eq!(
            staff_actions(&db, d).await,
            vec!["discount.assign", "discount.assign", "discount.unassign"]
        );
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_link_and_unlink_products() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let staff = staff_learner(&db, &server.base, "staffer").await;
        let products = run_products(&db).await;
        let (p1, run1) = products[0];
        let (p2, _) = products[1];
        let d = discount(&db, "LINK20").await;
        let id = d.0;
        let list = format!("/api/v0/discounts/{id}/products/");

        // PATCH/POST {product_id} links: 201 new, 200 existing.
        let (status, made) = staff.post(&list, &json!({"product_id": p1.0})).await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["product"]["id"], p1.0);
        assert_eq!(made["product"]["purchasable_object"]["id"], run1);
        assert_eq!(made["discount"]["id"], id);
        let link = made["id"].as_i64().unwrap();
        let (status, again) = staff
            .patch(&format!("{list}{link}/"), &json!({"product_id": p1.0}))
            .await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again, made);
        let (status, second) = staff
            .patch(&format!("{list}{link}/"), &json!({"product": p2.0}))
            .await;
        assert_eq!(status, 201, "{second}");
        assert_eq!(second["product"]["id"], p2.0);
        let (status, page) = staff.get(&list).await;
        assert_eq!(status, 200);
        assert_eq!(page["count"], 2);
        let (status, one) = staff
            .get(&format!("{list}{}/", second["id"].as_i64().unwrap()))
            .await;
        assert_eq!(status, 200);
        assert_eq!(one, second);
        // The link restricts the discount (the discount's own facts see it).
        let record = db.store.discount_detail_by_id(d).await.unwrap();
        assert_eq!(record.products.len(), 2);

        // Unknown, missing and malformed products: 400 JSON, nothing linked.
        for (body, field) in [
            (json!({"product_id": 999_999}), "product_id"),
            (json!({"product": 999_999}), "product"),
            (json!({}), "product_id"),
            (json!({"product_id": "x"}), "product_id"),
        ] {
            let (status, answer) = staff.post(&list, &body).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert!(answer["errors"][field].is_array(), "{body}: {answer}");
        }
        let (status, _) = staff.get(&format!("{list}999999/")).await;
        assert_eq!(status, 404);
        let (_, page) = staff.get(&list).await;
        assert_eq!(page["count"], 2);

        // DELETE takes the product's id: 204, then 404.
        let (status, _) = staff.delete(&format!("{list}{}/", p1.0)).await;
        assert_eq!(status, 204);
        let (status, body) = staff.delete(&format!("{list}{}/", p1.0)).await;
        assert_eq!(status, 404, "{body}");
        assert!(json_error(&body));
        let (_, page) = staff.get(&list).await;
        assert_eq!(page["count"], 1);
        assert_eq!(page["results"][0]["product"]["id"], p2.0);
        assert_eq!(
            staff_actions(&db, d).await,
            vec![
                "discount.link_product",
                "discount.link_product",
                "discount.unlink_product"
            ]
        );
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_redemptions_and_tiers() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let staff = staff_learner(&db, &server.base, "staffer").await;
        let learner = Learner::new(&server.base, &jdoe());
        let me = learner.id().await;
        let (product, _) = run_products(&db).await[0];
        let d = discount(&db, "REDEEM20").await;
        let other = discount(&db, "OTHER20").await;
        let id = d.0;
        let fulfilled = order(
            &db,
            Order {
                user: me,
                state: OrderState::Fulfilled,
                created: Utc::now() - Duration::days(1),
                product,
                total: Money::from_cents(8000),
                discounts: &[d],
                transactions: Vec::new(),
            },
        )
        .await;
        order(
            &db,
            Order {
                user: me,
                state: OrderState::Fulfilled,
                created: Utc::now(),
                product,
                total: Money::from_cents(8000),
                discounts: &[other],
                transactions: Vec::new(),
            },
        )
        .await;

        let list = format!("/api/v0/discounts/{id}/redemptions/");
        let (status, page) = staff.get(&list).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 1, "only this discount's redemptions: {page}");
        let item = &page["results"][0];
        assert_eq!(item["redeemed_by"]["id"], me.0);
        assert_eq!(item["redeemed_by"]["username"], "jdoe");
        assert_eq!(item["redeemed_discount"]["id"], id);
        assert_eq!(item["redeemed_discount"]["is_redeemed"], true);
        assert_eq!(item["redeemed_order"]["id"], fulfilled.0);
        assert_eq!(item["redeemed_order"]["state"], "fulfilled");
        assert_eq!(
            item["redeemed_order"]["total_price_paid"],
            Money::from_cents(8000).to_amount_string()
        );
        assert_eq!(
            item["redeemed_order"]["discounts"][0]["redeemed_discount"]["discount_code"],
            "REDEEM20"
        );
        assert!(item["redemption_date"].is_string());
        let redemption = item["id"].as_i64().unwrap();
        let (status, one) = staff.get(&format!("{list}{redemption}/")).await;
        assert_eq!(status, 200);
        assert_eq!(&one, item);
        // Another discount's redemption is not one of this discount's.
        let others = db.store.discount_redemptions(other).await.unwrap();
        let (status, _) = staff.get(&format!("{list}{}/", others[0].id)).await;
        assert_eq!(status, 404);
        let (status, _) = staff.get(&format!("{list}nope/")).await;
        assert_eq!(status, 404);
        // Redemptions are read-only.
        let (status, body) = staff.post(&list, &json!({})).await;
        assert_eq!(status, 405, "{body}");
        assert!(json_error(&body));

        // Tiers that use the discount.
        let view = db.store.product_view(product).await.unwrap().unwrap();
        let Purchasable::CourseRun { course, .. } = view.purchasable else {
            panic!("a course-run product");
        };
        let tier = db
            .store
            .insert_tier_fixture(Courseware::Course(course), 25_000.0, d, true)
            .await
            .unwrap();
        let tiers = format!("/api/v0/discounts/{id}/tiers/");
        let (status, page) = staff.get(&tiers).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 1);
        let item = &page["results"][0];
        assert_eq!(item["id"], tier.0);
        assert_eq!(item["discount"], id);
        assert_eq!(item["current"], true);
        assert_eq!(item["income_threshold_usd"], 25_000.0);
        assert_eq!(item["courseware_object"]["id"], course.0);
        assert_eq!(item["courseware_object"]["type"], "course");
        let (status, one) = staff.get(&format!("{tiers}{}/", tier.0)).await;
        assert_eq!(status, 200);
        assert_eq!(&one, item);
        // `mitx discounts show` reads the same tiers.
        let detail = db.store.discount_detail_by_id(d).await.unwrap();
        assert_eq!(detail.tiers.len(), 1);
        assert_eq!(detail.tiers[0].id, tier);
        assert_eq!(detail.tiers[0].courseware_type, "course");
        assert_eq!(
            json!(detail.tiers[0].courseware),
            item["courseware_object"]["readable_id"]
        );
        let (_, none) = staff
            .get(&format!("/api/v0/discounts/{}/tiers/", other.0))
            .await;
        assert_eq!(none["count"], 0);
        let (status, _) = staff.get(&format!("{tiers}999999/")).await;
        assert_eq!(status, 404);
        // Tier writes are not served.
        let (status, body) = staff.post(&tiers, &json!({})).await;
        assert_eq!(status, 405, "{body}");
        assert_eq!(body["detail"], "Method \"POST\" not allowed.");
        let (status, _) = staff
            .patch(&format!("{tiers}{}/", tier.0), &json!({"current": false}))
            .await;
        assert_eq!(status, 405);
        let (status, _) = staff.delete(&format!("{tiers}{}/", tier.0)).await;
        assert_eq!(status, 405);
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_discount_lists_page_with_l_and_o() {
    for db in databases().await {
        let server = start_server(&db, true, false, &[]).await;
        let staff = staff_learner(&db, &server.base, "staffer").await;
        let (status, made) = staff
            .post(
                "/api/v0/discounts/create_batch/",
                &json!({"discount_type": "percent-off", "payment_type": "sales", "amount": "10",
                        "count": 55, "prefix": "LEGACY-"}),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        let newest = made.as_array().unwrap().last().unwrap()["id"].clone();

        // Default 10, newest first, like /api/v0/discounts/.
        let (status, page) = staff.get("/api/discounts/").await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 55);
        assert_eq!(page["results"].as_array().unwrap().len(), 10);
        assert_eq!(page["results"][0]["id"], newest);
        let (_, v0) = staff.get("/api/v0/discounts/").await;
        assert_eq!(page["results"], v0["results"]);
        assert!(
            page["next"]
                .as_str()
                .unwrap()
                .ends_with("/api/discounts/?l=10&o=10")
        );
        assert!(page["previous"].is_null());
        // `l` above 50 is 50; `limit`/`offset` are not the legacy names.
        let (_, page) = staff.get("/api/discounts/?l=60").await;
        assert_eq!(page["results"].as_array().unwrap().len(), 50);
        assert!(page["next"].as_str().unwrap().ends_with("?l=50&o=50"));
        let (_, page) = staff.get("/api/discounts/?limit=3&offset=3").await;
        assert_eq!(page["results"].as_array().unwrap().len(), 10);
        assert_eq!(page["results"][0]["id"], newest);
        let (_, page) = staff.get("/api/discounts/?l=5&o=52").await;
        assert_eq!(page["results"].as_array().unwrap().len(), 3);
        assert!(page["next"].is_null());
        assert!(page["previous"].as_str().unwrap().ends_with("?l=5&o=47"));
        for bad in ["l=abc&o=-1", "l=0", "l=-5&o=x"] {
            let (status, page) = staff.get(&format!("/api/discounts/?{bad}")).await;
            assert_eq!(status, 200, "{bad}");
            assert_eq!(page["results"].as_array().unwrap().len(), 10, "{bad}");
        }
        // The v0 filters.
        let (_, none) = staff.get("/api/discounts/?q=NOPE&l=2").await;
        assert_eq!(none["count"], 0);
        let (_, found) = staff
            .get("/api/discounts/?q=LEGACY-&payment_type=sales")
            .await;
        assert_eq!(found["count"], 55);

        // /api/discounts/user/: the assignments, {id, discount, user} as ids, by id.
        let users: Vec<i64> = {
            let mut ids = Vec::new();
            for name in ["ann", "benjamin", "cleo"] {
                ids.push(Learner::new(&server.base, &other_claims(name)).id().await.0);
            }
            ids
        };
        let first = made[0]["id"].as_i64().unwrap();
        for u in &users {
            let (status, _) = staff
                .post(
                    &format!("/api/v0/discounts/{first}/assignees/"),
                    &json!({"user": u}),
                )
                .await;
            assert_eq!(status, 201);
        }
        let (status, page) = staff.get("/api/discounts/user/").await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 3);
        let listed: Vec<i64> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                assert_eq!(i["discount"], first);
                i["user"].as_i64().unwrap()
            })
            .collect();
        assert_eq!(listed, users);
        let (_, page) = staff.get("/api/discounts/user/?l=1&o=1").await;
        assert_eq!(page["results"].as_array().unwrap().len(), 1);
        assert_eq!(page["results"][0]["user"], users[1]);
        assert!(
            page["next"]
                .as_str()
                .unwrap()
                .ends_with("/api/discounts/user/?l=1&o=2")
        );
        assert!(
            page["previous"]
                .as_str()
                .unwrap()
                .ends_with("/api/discounts/user/?l=1")
        );
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}
