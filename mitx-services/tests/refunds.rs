//! Refunds and pending-order resolution (ecommerce spec 5.5, 5.6; scenarios 48–54) against
//! the fake CyberSource REST API, on every backend.

use mitx_core::catalog::EnrollmentMode;
use mitx_core::ids::{CourseRunId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::{OrderState, RefundCommandError, RefundError};
use mitx_services::clock::Clock;
use mitx_services::cybersource_rest::fake::{FakeCyberSource, FakeTransaction, RefundMode};
use mitx_services::jobs;
use mitx_services::refunds::{
    GatewayRefund, RefundWorkflowError, refund_fulfilled_order, refund_order,
};
use mitx_services::resolve_orders::{ResolveOptions, resolve_pending_orders};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::orders::OrderRow;
use mitx_services::testing::{self, FakeEdx};
use serde_json::json;

use crate::support::{World, backends};

struct RefundWorld {
    world: World,
    cybersource: FakeCyberSource,
    learner: UserId,
    run: CourseRunId,
}

async fn refund_world(db: testing::TestDb) -> RefundWorld {
    let cybersource = FakeCyberSource::start().await.unwrap();
    let edx = FakeEdx::start().await.unwrap();
    let mut settings = testing::settings_with_edx(&edx, false, &[("ENVIRONMENT", "prod")]);
    settings.cybersource_rest = cybersource.settings();
    let outbox = settings.email.outbox.clone();
    let services = testing::services_at(&db, settings, Clock::system());
    testing::load_demo_catalog(&services).await;
    let world = World {
        db,
        services,
        edx,
        outbox,
    };
    let learner = world.learner("learner1").await;
    edx_account(&world, "learner1");
    let run = world.runs(1).await[0];
    RefundWorld {
        world,
        cybersource,
        learner,
        run,
    }
}

fn edx_account(world: &World, username: &str) {
    world
        .edx
        .add_user(username, &format!("{username}@example.com"));
}

fn payment() -> serde_json::Value {
    json!({"transaction_id": "1234", "req_amount": "10.00", "req_currency": "USD", "decision": "ACCEPT"})
}

fn audit() -> Audit {
    Audit::new("ops", Some("learner asked".into()))
}

impl RefundWorld {
    async fn fulfilled(&self) -> OrderRow {
        testing::fulfilled_order(
            &self.world.services,
            self.learner,
            self.run,
            Money::from_cents(1000),
            payment(),
        )
        .await
    }

    async fn order(&self, order: &OrderRow) -> OrderRow {
        self.world
            .services
            .store()
            .order(order.id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn refunds_of(&self, order: &OrderRow) -> Vec<(String, Money)> {
        self.world
            .services
            .store()
            .order_transactions(order.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.refund)
            .map(|t| (t.transaction_id, t.amount))
            .collect()
    }

    async fn mode(&self) -> (bool, EnrollmentMode) {
        let record = self
            .world
            .services
            .store()
            .run_enrollment(self.learner, self.run)
            .await
            .unwrap()
            .unwrap();
        (record.enrollment.active, record.enrollment.mode)
    }
}

#[tokio::test]
async fn ecommerce_s48_gateway_refund_then_a_second_refund_is_refused() {
    for db in backends().await {
        let w = refund_world(db).await;
        let order = w.fulfilled().await;
        assert_eq!(order.state, OrderState::Fulfilled);
        assert_eq!(w.mode().await, (true, EnrollmentMode::Verified));
        let reference = order.reference_number.clone().unwrap();
        let request = GatewayRefund {
            amount: None,
            reason: "learner asked".into(),
            unenroll: true,
        };
        let summary = refund_order(&w.world.services, &reference, &request, &audit(), false)
            .await
            .unwrap();
        assert_eq!(summary.refund_transaction.as_deref(), Some("12345"));
        assert_eq!(summary.amount, Some(Money::from_cents(1000)));
        assert_eq!(w.order(&order).await.state, OrderState::Refunded);
        assert_eq!(
            w.refunds_of(&order).await,
            vec![("12345".to_owned(), Money::from_cents(1000))]
        );
        assert_eq!(w.world.jobs(jobs::ORDER_REFUND_EMAIL).await.len(), 1);
        assert_eq!(w.world.jobs(jobs::ORDER_DOWNGRADE_TO_AUDIT).await.len(), 1);
        // The audit row names the operator and the reason.
        let rows = w
            .world
            .services
            .store()
            .audit_log_for("order", &order.id.0.to_string())
            .await
            .unwrap();
        assert!(
            rows.iter()
                .any(|r| r.actor == "ops" && r.reason.as_deref() == Some("learner asked")),
            "{rows:?}"
        );
        // The downgrade job re-enrols the learner in audit mode.
        w.world.drain().await;
        assert_eq!(w.mode().await, (true, EnrollmentMode::Audit));
        // Again: refused before any gateway call.
        let err = refund_order(&w.world.services, &reference, &request, &audit(), false)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Order with order_id {} is not in fulfilled state.",
                order.id
            )
        );
        assert_eq!(w.cybersource.refund_calls().len(), 1);
        assert_eq!(w.refunds_of(&order).await.len(), 1);
        w.world.cleanup().await;
    }
}

#[tokio::test]
async fn dry_run_changes_nothing_and_calls_no_gateway() {
    for db in backends().await {
        let w = refund_world(db).await;
        let order = w.fulfilled().await;
        let reference = order.reference_number.clone().unwrap();
        let request = GatewayRefund {
            amount: Some(Money::from_cents(250)),
            ..GatewayRefund::default()
        };
        let plan = refund_order(&w.world.services, &reference, &request, &audit(), true)
            .await
            .unwrap();
        assert!(plan.dry_run);
        assert_eq!(plan.amount, Some(Money::from_cents(250)));
        assert_eq!(plan.payment_transaction.as_deref(), Some("1234"));
        assert_eq!(w.order(&order).await.state, OrderState::Fulfilled);
        assert!(w.cybersource.calls().is_empty());
        w.world.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_of_one_order_call_the_gateway_once() {
    for db in backends().await {
        let w = refund_world(db).await;
        let order = w.fulfilled().await;
        let reference = order.reference_number.clone().unwrap();
        let request = GatewayRefund {
            amount: None,
            reason: "learner asked".into(),
            unenroll: false,
        };
        let attempts = (0..6).map(|_| {
            let services = w.world.services.clone();
            let reference = reference.clone();
            let request = request.clone();
            tokio::spawn(async move {
                refund_order(&services, &reference, &request, &audit(), false).await
            })
        });
        let mut refunded = 0;
        for attempt in attempts.collect::<Vec<_>>() {
            match attempt.await.unwrap() {
                Ok(summary) => {
                    refunded += 1;
                    assert_eq!(summary.refund_transaction.as_deref(), Some("12345"));
                }
                Err(err) => assert_eq!(
                    err.to_string(),
                    format!(
                        "Order with order_id {} is not in fulfilled state.",
                        order.id
                    )
                ),
            }
        }
        assert_eq!(refunded, 1);
        assert_eq!(w.cybersource.refund_calls().len(), 1, "one gateway call");
        assert_eq!(w.refunds_of(&order).await.len(), 1);
        assert_eq!(w.order(&order).await.state, OrderState::Refunded);
        assert_eq!(w.world.jobs(jobs::ORDER_REFUND_EMAIL).await.len(), 1);
        w.world.cleanup().await;
    }
}

#[tokio::test]
async fn an_unreadable_line_stops_the_refund_before_the_gateway() {
    for db in backends().await {
        let w = refund_world(db).await;
        let order = w.fulfilled().await;
        let reference = order.reference_number.clone().unwrap();
        // The purchased run is gone (its line points nowhere).
        w.world
            .db
            .store
            .execute_raw(&format!(
                "UPDATE order_lines SET purchased_object_id = 999999 WHERE order_id = {}",
                order.id.0
            ))
            .await
            .unwrap();
        let err = refund_order(
            &w.world.services,
            &reference,
            &GatewayRefund::default(),
            &audit(),
            false,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, RefundWorkflowError::Event(_)), "{err:?}");
        assert!(w.cybersource.refund_calls().is_empty(), "no money moved");
        assert_eq!(w.order(&order).await.state, OrderState::Fulfilled);
        assert!(w.refunds_of(&order).await.is_empty());
        w.world.cleanup().await;
    }
}

#[tokio::test]
async fn ecommerce_s51_duplicate_or_failed_refunds_record_nothing() {
    for db in backends().await {
        let w = refund_world(db).await;
        let order = w.fulfilled().await;
        let reference = order.reference_number.clone().unwrap();
        let request = GatewayRefund {
            unenroll: true,
            ..GatewayRefund::default()
        };
        w.cybersource.set_refund_mode(RefundMode::Duplicate);
        let err = refund_order(&w.world.services, &reference, &request, &audit(), false)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RefundWorkflowError::Refund(RefundError::DuplicateRefund)
            ),
            "{err:?}"
        );
        w.cybersource.set_refund_mode(RefundMode::HttpError(502));
        let err = refund_order(&w.world.services, &reference, &request, &audit(), false)
            .await
            .unwrap_err();
        assert!(matches!(err, RefundWorkflowError::Gateway(_)), "{err:?}");
        w.cybersource
            .set_refund_mode(RefundMode::Status("DECLINED".into()));
        let err = refund_order(&w.world.services, &reference, &request, &audit(), false)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Payment gateway returned an error"),
            "{err}"
        );
        assert_eq!(w.order(&order).await.state, OrderState::Fulfilled);
        assert!(w.refunds_of(&order).await.is_empty());
        assert!(
            w.world
                .jobs(jobs::ORDER_DOWNGRADE_TO_AUDIT)
                .await
                .is_empty()
        );
        assert_eq!(w.cybersource.refund_calls().len(), 3);
        w.world.cleanup().await;
    }
}

#[tokio::test]
async fn ecommerce_s49_s50_refund_preconditions() {
    for db in backends().await {
        let w = refund_world(db).await;
        let request = GatewayRefund::default();
        // A pending order.
        let pending =
            testing::pending_order(&w.world.services, w.learner, w.run, Money::from_cents(1000))
                .await;
        let reference = pending.reference_number.clone().unwrap();
        let err = refund_order(&w.world.services, &reference, &request, &audit(), false)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Order with order_id {} is not in fulfilled state.",
                pending.id
            )
        );
        // Unknown reference.
        let err = refund_order(
            &w.world.services,
            "mitxonline-prod-999999",
            &request,
            &audit(),
            false,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            RefundWorkflowError::Refund(RefundError::OrderNotFound)
        ));
        w.world.cleanup().await;
    }
    for db in backends().await {
        let w = refund_world(db).await;
        let order = testing::fulfilled_order(
            &w.world.services,
            w.learner,
            w.run,
            Money::from_cents(1000),
            json!({"transaction_id": "pp-1", "req_amount": "10.00", "req_currency": "USD", "paypal_token": "EC-1"}),
        )
        .await;
        let reference = order.reference_number.clone().unwrap();
        let err = refund_order(
            &w.world.services,
            &reference,
            &GatewayRefund::default(),
            &audit(),
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "PayPal: Order {reference} contains a PayPal transaction. Please contact Finance to refund this order."
            )
        );
        assert!(w.cybersource.calls().is_empty());
        assert!(w.refunds_of(&order).await.is_empty());
        w.world.cleanup().await;
    }
}

#[tokio::test]
async fn ecommerce_s54_record_only_refund() {
    for db in backends().await {
        let w = refund_world(db).await;
        let order = w.fulfilled().await;
        let reference = order.reference_number.clone().unwrap();
        let err =
            refund_fulfilled_order(&w.world.services, &reference, false, false, &audit(), false)
                .await
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Please specify an action to take on the enrollment."
        );
        assert!(matches!(
            err,
            RefundWorkflowError::Command(RefundCommandError::NoAction)
        ));
        let done =
            refund_fulfilled_order(&w.world.services, &reference, false, true, &audit(), false)
                .await
                .unwrap();
        assert_eq!(done.message, format!("Updated order {reference}."));
        assert_eq!(w.order(&order).await.state, OrderState::Refunded);
        assert!(w.refunds_of(&order).await.is_empty());
        w.world.drain().await;
        assert_eq!(w.mode().await, (true, EnrollmentMode::Audit));
        assert!(w.cybersource.calls().is_empty());
        // Not fulfilled any more: ambiguous or missing.
        let err =
            refund_fulfilled_order(&w.world.services, &reference, true, false, &audit(), false)
                .await
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Couldn't find that order, or the order was ambiguous."
        );
        w.world.cleanup().await;
    }
}

#[tokio::test]
async fn ecommerce_s52_s53_resolve_pending_orders() {
    for db in backends().await {
        let w = refund_world(db).await;
        let runs = w.world.runs(3).await;
        let other = w.world.learner("learner2").await;
        edx_account(&w.world, "learner2");
        let third = w.world.learner("learner3").await;
        edx_account(&w.world, "learner3");
        let paid = testing::pending_order(
            &w.world.services,
            w.learner,
            runs[0],
            Money::from_cents(1000),
        )
        .await;
        let failed =
            testing::pending_order(&w.world.services, other, runs[1], Money::from_cents(1000))
                .await;
        let unknown =
            testing::pending_order(&w.world.services, third, runs[2], Money::from_cents(1000))
                .await;
        for (id, order, code) in [("7001", &paid, "100"), ("7002", &failed, "999")] {
            w.cybersource.add_transaction(FakeTransaction {
                id: id.into(),
                reference: order.reference_number.clone().unwrap(),
                reason_code: code.into(),
                amount: "10.00".into(),
                submitted: "2026-03-01T10:00:00Z".into(),
            });
        }
        let options = ResolveOptions {
            all: true,
            ..ResolveOptions::default()
        };
        let report = resolve_pending_orders(&w.world.services, &options, &audit(), &|_, _| {})
            .await
            .unwrap();
        assert_eq!(
            (report.fulfilled, report.canceled, report.errored),
            (1, 1, 0)
        );
        assert_eq!(
            report.summary_line(),
            "Processed orders: 1 fulfilled, 1 canceled, 0 errored"
        );
        assert_eq!(w.order(&paid).await.state, OrderState::Fulfilled);
        assert_eq!(w.order(&failed).await.state, OrderState::Canceled);
        assert_eq!(w.order(&unknown).await.state, OrderState::Pending);
        let canceled_tx = w
            .world
            .services
            .store()
            .order_transactions(failed.id)
            .await
            .unwrap();
        assert_eq!(canceled_tx.len(), 1);
        assert_eq!(canceled_tx[0].transaction_id, "7002");
        assert_eq!(canceled_tx[0].data["reason_code"], "999");
        // The paid one is enrolled.
        let record = w
            .world
            .services
            .store()
            .run_enrollment(w.learner, runs[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.enrollment.mode, EnrollmentMode::Verified);
        // --order for a missing reference, and no target.
        let err = resolve_pending_orders(
            &w.world.services,
            &ResolveOptions {
                order: Some("mitxonline-prod-999999".into()),
                ..ResolveOptions::default()
            },
            &audit(),
            &|_, _| {},
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Order mitxonline-prod-999999 couldn't be found - is it Pending?"
        );
        let err = resolve_pending_orders(
            &w.world.services,
            &ResolveOptions::default(),
            &audit(),
            &|_, _| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "Please specify an order.");
        // s53: --no-check --no-fulfillment on the remaining one.
        let calls = w.cybersource.calls().len();
        let options = ResolveOptions {
            order: unknown.reference_number.clone(),
            no_check: true,
            no_fulfillment: true,
            ..ResolveOptions::default()
        };
        let report = resolve_pending_orders(&w.world.services, &options, &audit(), &|_, _| {})
            .await
            .unwrap();
        assert_eq!(
            (report.fulfilled, report.canceled, report.errored),
            (1, 0, 0)
        );
        assert_eq!(w.order(&unknown).await.state, OrderState::Fulfilled);
        assert_eq!(w.cybersource.calls().len(), calls);
        assert!(
            w.world
                .services
                .store()
                .run_enrollment(third, runs[2])
                .await
                .unwrap()
                .is_none()
        );
        let receipts = w.world.jobs(jobs::ORDER_RECEIPT_EMAIL).await;
        assert!(
            receipts
                .iter()
                .all(|j| !j.payload.contains(&format!("{}", unknown.id.0))),
            "{receipts:?}"
        );
        w.world.cleanup().await;
    }
}
