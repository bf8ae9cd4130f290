//! `mitx orders refund|resolve|show|list` and `mitx reports orders` end to end (ecommerce
//! spec 5.5, 5.6; scenarios 48–54) against the fake CyberSource REST API, on every backend.

use mitx_core::ids::{CourseRunId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::OrderState;
use mitx_services::Services;
use mitx_services::cybersource_rest::fake::{FakeCyberSource, FakeTransaction, RefundMode};
use mitx_services::jobs;
use mitx_services::store::jobs::JobFilter;
use mitx_services::store::orders::OrderRow;
use mitx_services::testing::{self, FakeEdx, TestDb};
use serde_json::{Value, json};

use crate::support::{all_dbs, mitx_env, repo_root, temp_dir};

struct Setup {
    services: Services,
    envs: Vec<(&'static str, String)>,
    cybersource: FakeCyberSource,
    _edx: FakeEdx,
    learner: UserId,
    runs: Vec<CourseRunId>,
}

async fn setup(db: &TestDb) -> Setup {
    let edx = FakeEdx::start().await.unwrap();
    let cybersource = FakeCyberSource::start().await.unwrap();
    let mut settings = testing::settings_with_edx(&edx, true, &[("ENVIRONMENT", "prod")]);
    settings.cybersource_rest = cybersource.settings();
    let mut envs = edx.env();
    envs.extend(cybersource.env());
    envs.push(("ENVIRONMENT", "prod".into()));
    envs.push(("IGNORE_EDX_FAILURES", "true".into()));
    envs.push((
        "MITX_EMAIL_OUTBOX",
        settings.email.outbox.display().to_string(),
    ));
    let services = testing::services(db, settings);
    testing::load_demo_catalog(&services).await;
    let learner = testing::learner(&services, "learner1").await;
    let runs = testing::open_runs(&services, 3).await;
    Setup {
        services,
        envs,
        cybersource,
        _edx: edx,
        learner,
        runs,
    }
}

impl Setup {
    fn run(&self, db: &TestDb, args: &[&str]) -> (i32, String, String) {
        mitx_env(&repo_root(), &db.url, args, &self.envs)
    }

    async fn fulfilled(&self) -> OrderRow {
        testing::fulfilled_order(
            &self.services,
            self.learner,
            self.runs[0],
            Money::from_cents(1000),
            json!({"transaction_id": "1234", "req_amount": "10.00", "req_currency": "USD"}),
        )
        .await
    }

    async fn state(&self, order: &OrderRow) -> OrderState {
        self.services
            .store()
            .order(order.id)
            .await
            .unwrap()
            .unwrap()
            .state
    }

    async fn jobs(&self, kind: &str) -> usize {
        let filter = JobFilter {
            name: Some(kind.into()),
            limit: 100,
            ..JobFilter::default()
        };
        self.services
            .store()
            .list_jobs(&filter)
            .await
            .unwrap()
            .len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s48_refund_dry_run_then_real_then_refused_again() {
    for db in all_dbs().await {
        let s = setup(&db).await;
        let order = s.fulfilled().await;
        let reference = order.reference_number.clone().unwrap();
        let args = [
            "orders",
            "refund",
            &reference,
            "--unenroll",
            "--reason",
            "ticket 4242",
        ];

        let mut dry = args.to_vec();
        dry.push("--dry-run");
        let (code, out, err) = s.run(&db, &dry);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("would be refunded"), "{out}");
        assert!(out.contains("1234") && out.contains("10.00"), "{out}");
        assert_eq!(s.state(&order).await, OrderState::Fulfilled);
        assert!(s.cybersource.calls().is_empty());

        let mut real = vec!["--json"];
        real.extend_from_slice(&args);
        let (code, out, err) = s.run(&db, &real);
        assert_eq!(code, 0, "{err}");
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["refund_transaction"], "12345");
        assert_eq!(summary["enrollments"], "downgrade to audit");
        assert_eq!(s.state(&order).await, OrderState::Refunded);
        let refunds: Vec<_> = s
            .services
            .store()
            .order_transactions(order.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.refund)
            .collect();
        assert_eq!(refunds.len(), 1);
        assert_eq!(refunds[0].transaction_id, "12345");
        assert_eq!(refunds[0].amount, Money::from_cents(1000));
        assert_eq!(refunds[0].reason, "ticket 4242");
        assert_eq!(s.jobs(jobs::ORDER_DOWNGRADE_TO_AUDIT).await, 1);
        assert_eq!(s.jobs(jobs::ORDER_REFUND_EMAIL).await, 1);

        // Again: a clear refusal, exit 1, and no second gateway call.
        let (code, out, err) = s.run(&db, &args);
        assert_eq!(code, 1, "{out}");
        assert!(
            err.contains(&format!(
                "Order with order_id {} is not in fulfilled state.",
                order.id
            )),
            "{err}"
        );
        assert_eq!(s.cybersource.refund_calls().len(), 1);

        // `orders show` has both transactions and the operator's history.
        let (code, out, err) = s.run(&db, &["--json", "orders", "show", &reference]);
        assert_eq!(code, 0, "{err}");
        let shown: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(shown["state"], "refunded");
        assert_eq!(shown["transactions"].as_array().unwrap().len(), 2);
        assert_eq!(shown["lines"].as_array().unwrap().len(), 1);
        let history = shown["history"].as_array().unwrap();
        assert!(
            history
                .iter()
                .any(|h| h["actor"] == "tester" && h["reason"] == "ticket 4242"),
            "{history:?}"
        );
        // A people's table too.
        let (code, out, _) = s.run(&db, &["orders", "show", &reference]);
        assert_eq!(code, 0);
        assert!(
            out.contains("Transactions:") && out.contains("12345"),
            "{out}"
        );
        // Usage errors exit 2.
        let (code, _, _) = s.run(&db, &["orders", "refund", &reference]);
        assert_eq!(code, 2);
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s54_record_only_refund() {
    for db in all_dbs().await {
        let s = setup(&db).await;
        let order = s.fulfilled().await;
        let reference = order.reference_number.clone().unwrap();
        let (code, _, err) = s.run(
            &db,
            &[
                "orders",
                "refund",
                &reference,
                "--record-only",
                "--reason",
                "finance",
            ],
        );
        assert_eq!(code, 1);
        assert!(
            err.contains("Please specify an action to take on the enrollment."),
            "{err}"
        );
        assert_eq!(s.state(&order).await, OrderState::Fulfilled);
        let (code, out, err) = s.run(
            &db,
            &[
                "orders",
                "refund",
                &reference,
                "--record-only",
                "--audit",
                "--reason",
                "finance",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(&format!("Updated order {reference}.")),
            "{out}"
        );
        assert_eq!(s.state(&order).await, OrderState::Refunded);
        assert!(
            s.services
                .store()
                .order_transactions(order.id)
                .await
                .unwrap()
                .iter()
                .all(|t| !t.refund)
        );
        assert_eq!(s.jobs(jobs::ORDER_DOWNGRADE_TO_AUDIT).await, 1);
        assert!(s.cybersource.calls().is_empty());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s52_s53_resolve_and_report() {
    for db in all_dbs().await {
        let s = setup(&db).await;
        let other = testing::learner(&s.services, "learner2").await;
        let third = testing::learner(&s.services, "learner3").await;
        let price = Money::from_cents(1000);
        let paid = testing::pending_order(&s.services, s.learner, s.runs[0], price).await;
        let failed = testing::pending_order(&s.services, other, s.runs[1], price).await;
        let unknown = testing::pending_order(&s.services, third, s.runs[2], price).await;
        for (id, order, code) in [("7001", &paid, "100"), ("7002", &failed, "999")] {
            s.cybersource.add_transaction(FakeTransaction {
                id: id.into(),
                reference: order.reference_number.clone().unwrap(),
                reason_code: code.into(),
                amount: "10.00".into(),
                submitted: "2026-03-01T10:00:00Z".into(),
            });
        }
        let (code, _, err) = s.run(&db, &["orders", "resolve"]);
        assert_eq!(code, 1);
        assert!(err.contains("Please specify an order."), "{err}");

        let (code, out, err) = s.run(&db, &["orders", "resolve", "--all"]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("Processed orders: 1 fulfilled, 1 canceled, 0 errored"),
            "{out}"
        );
        assert_eq!(s.state(&paid).await, OrderState::Fulfilled);
        assert_eq!(s.state(&failed).await, OrderState::Canceled);
        assert_eq!(s.state(&unknown).await, OrderState::Pending);

        let calls = s.cybersource.calls().len();
        let unknown_ref = unknown.reference_number.clone().unwrap();
        let (code, out, err) = s.run(
            &db,
            &[
                "orders",
                "resolve",
                "--order",
                &unknown_ref,
                "--no-check",
                "--no-fulfillment",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("Processed orders: 1 fulfilled, 0 canceled, 0 errored"),
            "{out}"
        );
        assert_eq!(s.state(&unknown).await, OrderState::Fulfilled);
        assert_eq!(s.cybersource.calls().len(), calls);
        assert!(
            s.services
                .store()
                .run_enrollment(third, s.runs[2])
                .await
                .unwrap()
                .is_none()
        );

        // Listing and the finance report.
        let (code, out, err) = s.run(&db, &["--json", "orders", "list", "--state", "canceled"]);
        assert_eq!(code, 0, "{err}");
        let listed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(
            listed[0]["reference"],
            failed.reference_number.clone().unwrap()
        );
        let dir = temp_dir("report");
        let file = dir.join("orders.csv");
        let today = chrono::Utc::now().date_naive().to_string();
        let (code, _, err) = s.run(
            &db,
            &[
                "reports",
                "orders",
                "--from",
                &today,
                "--to",
                &today,
                "--csv",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("order_id,reference_number,state")
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(text.contains("7002") && text.contains("canceled"), "{text}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let (code, _, err) = s.run(
            &db,
            &["reports", "orders", "--from", "yesterday", "--to", &today],
        );
        assert_eq!(code, 1);
        assert!(err.contains("--from 'yesterday' is not a date"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s49_s50_s51_refusals_change_nothing() {
    for db in all_dbs().await {
        let s = setup(&db).await;
        let refund = |reference: &str| {
            [
                "orders",
                "refund",
                reference,
                "--unenroll",
                "--reason",
                "ticket 1",
            ]
            .map(str::to_owned)
        };
        let run = |reference: &str| {
            let args = refund(reference);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            s.run(&db, &args)
        };

        // 49: a pending order is refused before any gateway call.
        let pending =
            testing::pending_order(&s.services, s.learner, s.runs[1], Money::from_cents(1000))
                .await;
        let (code, out, err) = run(pending.reference_number.as_deref().unwrap());
        assert_eq!(code, 1, "{out}");
        assert!(
            err.contains(&format!(
                "Order with order_id {} is not in fulfilled state.",
                pending.id
            )),
            "{err}"
        );
        assert_eq!(s.state(&pending).await, OrderState::Pending);

        // 50: a PayPal payment names PayPal and is not sent to the gateway.
        let paypal = testing::fulfilled_order(
            &s.services,
            s.learner,
            s.runs[2],
            Money::from_cents(1000),
            json!({"transaction_id": "pp-1", "req_amount": "10.00", "req_currency": "USD", "paypal_token": "EC-1"}),
        )
        .await;
        let (code, _, err) = run(paypal.reference_number.as_deref().unwrap());
        assert_eq!(code, 1);
        assert!(err.contains("PayPal"), "{err}");
        assert_eq!(s.state(&paypal).await, OrderState::Fulfilled);
        assert!(s.cybersource.refund_calls().is_empty());

        // 51: the gateway answers DUPLICATE_REQUEST: an error, nothing recorded.
        let order = s.fulfilled().await;
        s.cybersource.set_refund_mode(RefundMode::Duplicate);
        let (code, _, err) = run(order.reference_number.as_deref().unwrap());
        assert_eq!(code, 1);
        assert!(!err.is_empty());
        assert_eq!(s.cybersource.refund_calls().len(), 1);
        assert_eq!(s.state(&order).await, OrderState::Fulfilled);
        for order in [&pending, &paypal, &order] {
            let refunds = s
                .services
                .store()
                .order_transactions(order.id)
                .await
                .unwrap()
                .into_iter()
                .filter(|t| t.refund)
                .count();
            assert_eq!(refunds, 0);
        }
        assert_eq!(s.jobs(jobs::ORDER_DOWNGRADE_TO_AUDIT).await, 0);
        assert_eq!(s.jobs(jobs::ORDER_REFUND_EMAIL).await, 0);
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecommerce_s29_the_cull_runs_from_the_cli() {
    use mitx_core::pricing::BasketOwner;
    use mitx_services::baskets;
    use mitx_services::clock::Clock;
    for db in all_dbs().await {
        let s = setup(&db).await;
        let store = s.services.store();
        let target = store
            .resolve_product_target("course-v1:MITx+6.00.1x+1T2027")
            .await
            .unwrap()
            .unwrap();
        let product = store.product_for_target(&target).await.unwrap().unwrap().id;
        // Touched 200 s ago: an anonymous basket and the learner's; touched now: another
        // anonymous basket.
        let earlier = testing::services_at(
            &db,
            testing::settings(&[]),
            Clock::fixed(chrono::Utc::now() - chrono::Duration::seconds(200)),
        );
        let idle = BasketOwner::Anonymous(uuid::Uuid::from_u128(
            0xaaaa_0000_0000_4000_8000_0000_0000_0001,
        ));
        let fresh = BasketOwner::Anonymous(uuid::Uuid::from_u128(
            0xbbbb_0000_0000_4000_8000_0000_0000_0002,
        ));
        baskets::add_to_cart(&earlier, idle, product).await.unwrap();
        baskets::add_to_cart(&earlier, BasketOwner::User(s.learner), product)
            .await
            .unwrap();
        baskets::add_to_cart(&s.services, fresh, product)
            .await
            .unwrap();

        let mut envs = s.envs.clone();
        envs.push(("ANONYMOUS_BASKET_CULL_AGE", "100".into()));
        let (code, _, err) = mitx_env(
            &repo_root(),
            &db.url,
            &["jobs", "run", "cull-anonymous-baskets"],
            &envs,
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("deleted 1 anonymous basket(s)"), "{err}");
        assert!(store.basket_of(idle).await.unwrap().is_none());
        assert!(store.basket_of(fresh).await.unwrap().is_some());
        assert!(
            store
                .basket_of(BasketOwner::User(s.learner))
                .await
                .unwrap()
                .is_some(),
            "a learner's basket is never culled"
        );
        db.cleanup().await.unwrap();
    }
}
