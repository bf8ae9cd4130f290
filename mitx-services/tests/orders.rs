//! Order emails and the duplicate-redemption report (ecommerce spec 3.5, 7; integrations
//! spec 5) on SQLite and PostgreSQL: the jobs read the order when they run, render the
//! expected subject, recipient and amounts, and send through the mailer.

use chrono::{Duration, Utc};
use mitx_core::ids::{DiscountId, OrderId, ProductId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::{OrderState, RefundReason};
use mitx_core::pricing::{DiscountCode, DiscountDraft, DiscountType, RedemptionType};
use mitx_services::clock::Clock;
use mitx_services::discount_codes;
use mitx_services::email::render;
use mitx_services::jobs::{self, periodic};
use mitx_services::order_emails::{self, OrderEmailJob};
use mitx_services::refund_requests::{self, RefundRequestInput};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::jobs::JobStatus;
use mitx_services::store::order_views::{FixtureTransaction, OrderFixture};
use mitx_services::store::products::ContentType;
use mitx_services::testing;
use rust_decimal::Decimal;
use serde_json::json;

use crate::support::{World, backends, subjects, world};

async fn discount(w: &World, code: &str, redemption: RedemptionType) -> DiscountId {
    let draft = DiscountDraft {
        redemption_type: redemption,
        ..DiscountDraft::new(
            DiscountCode::parse(code).unwrap(),
            DiscountType::PercentOff,
            Decimal::from(20),
        )
    };
    discount_codes::create_discount(&w.services, &draft, &[], &[], &Audit::new("test", None))
        .await
        .unwrap()
        .record
        .discount
        .id
}

async fn run_product(w: &World) -> (ProductId, Money) {
    let product = w
        .services
        .store()
        .list_products(false)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.content_type == ContentType::CourseRun)
        .unwrap();
    (product.id, product.price)
}

async fn order(
    w: &World,
    user: UserId,
    state: OrderState,
    product: ProductId,
    discounts: &[DiscountId],
    transactions: Vec<FixtureTransaction>,
) -> OrderId {
    testing::database(&w.services)
        .insert_order_fixture(&OrderFixture {
            purchaser: user,
            state,
            created_on: Utc::now() - Duration::days(1),
            total_price_paid: Money::from_cents(80_000),
            environment: "prod".into(),
            products: vec![product],
            discounts: discounts.to_vec(),
            transactions,
        })
        .await
        .unwrap()
}

fn transaction(id: &str, cents: i64, refund: bool, data: serde_json::Value) -> FixtureTransaction {
    FixtureTransaction {
        transaction_id: id.into(),
        amount: Money::from_cents(cents),
        data,
        refund,
        created_on: Utc::now(),
    }
}

async fn enqueue(w: &World, kind: &str, order: OrderId) {
    let mut tx = testing::database(&w.services).begin().await.unwrap();
    jobs::enqueue(
        &mut tx,
        kind,
        &OrderEmailJob { order: order.0 },
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_emails_render_subject_recipient_and_amounts() {
    for db in backends().await {
        let w = world(
            db,
            false,
            Clock::system(),
            &[("REFUND_REQUEST_EMAIL", "refunds@example.com")],
        )
        .await;
        let ann = w.learner("ann").await;
        let (product, price) = run_product(&w).await;
        let code = discount(&w, "ANN20", RedemptionType::Unlimited).await;
        let paid = order(
            &w,
            ann,
            OrderState::Fulfilled,
            product,
            &[code],
            vec![transaction(
                "pay-1",
                80_000,
                false,
                json!({"req_bill_to_email": "billing@example.com", "req_card_type": "002",
                       "req_card_number": "xxxxxxxxxxxx4444", "req_bill_to_forename": "Ann",
                       "req_bill_to_surname": "Lee", "req_bill_to_address_line1": "1 Main St",
                       "req_bill_to_address_city": "Boston", "req_bill_to_address_country": "US"}),
            )],
        )
        .await;
        let refunded = order(
            &w,
            ann,
            OrderState::Refunded,
            product,
            &[],
            vec![
                transaction("pay-2", 80_000, false, json!({})),
                transaction("refund-2", 2_550, true, json!({})),
            ],
        )
        .await;
        let reference = |id: OrderId| format!("mitxonline-prod-{id}");

        // The emails as the jobs build them from the database.
        let settings = w.services.settings();
        let view = w.services.store().order_view(paid).await.unwrap().unwrap();
        let receipt = render(
            &order_emails::receipt_email(&view),
            &settings.email,
            &settings.site,
        )
        .unwrap();
        assert_eq!(receipt.subject, "Your receipt from MIT Learn");
        assert_eq!(receipt.to, "billing@example.com");
        let discounted = Money::new(price.amount() * Decimal::new(8, 1)).quantize();
        assert!(
            receipt
                .text
                .contains(&format!("${}", discounted.to_price_string())),
            "{}",
            receipt.text
        );
        assert!(receipt.text.contains(&reference(paid)));
        assert!(receipt.text.contains("Mastercard xxxxxxxxxxxx4444"));
        assert!(receipt.text.contains("ANN20"));
        assert!(receipt.text.contains("1 Main St"));
        let view = w
            .services
            .store()
            .order_view(refunded)
            .await
            .unwrap()
            .unwrap();
        let refund = render(
            &order_emails::refund_email(&view).unwrap(),
            &settings.email,
            &settings.site,
        )
        .unwrap();
        assert_eq!(
            refund.subject,
            format!("Refund of MITxOnline Order {}", reference(refunded))
        );
        assert_eq!(refund.to, "ann@example.com");
        assert!(refund.text.contains("$25.50"), "{}", refund.text);

        // The jobs: the refund request queues its own; receipt and refund are queued by the
        // order workflows (here by hand).
        let request = refund_requests::submit(
            &w.services,
            ann,
            &RefundRequestInput {
                order: paid,
                refund_reason: Some(RefundReason::TechnicalDifficulties),
                refund_reason_text: "Video will not play".into(),
                consent_given: true,
            },
        )
        .await
        .unwrap();
        assert_eq!(request.status, "pending");
        enqueue(&w, jobs::ORDER_RECEIPT_EMAIL, paid).await;
        enqueue(&w, jobs::ORDER_REFUND_EMAIL, refunded).await;
        w.drain().await;
        for kind in [
            jobs::ORDER_RECEIPT_EMAIL,
            jobs::ORDER_REFUND_EMAIL,
            jobs::ORDERS_REFUND_REQUEST_EMAIL,
        ] {
            let found = w.jobs(kind).await;
            assert_eq!(found.len(), 1, "{kind}");
            assert_eq!(found[0].status, JobStatus::Done, "{kind}: {:?}", found[0]);
        }
        let messages = w.outbox();
        assert_eq!(messages.len(), 3);
        let subjects = subjects(&messages);
        assert!(subjects.contains(&"Your receipt from MIT Learn".to_owned()));
        assert!(subjects.contains(&format!(
            "Refund of MITxOnline Order {}",
            reference(refunded)
        )));
        assert!(
            messages
                .iter()
                .any(|m| m.contains("To: refunds@example.com")),
            "the request goes to REFUND_REQUEST_EMAIL"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("To: billing@example.com"))
        );
        let view = w.services.store().order_view(paid).await.unwrap().unwrap();
        let notice = render(
            &order_emails::refund_request_email(&view, &request, "refunds@example.com"),
            &settings.email,
            &settings.site,
        )
        .unwrap();
        assert_eq!(
            notice.subject,
            format!(
                "Refund Request Submitted \u{2013} Order {}",
                reference(paid)
            )
        );
        assert!(notice.text.contains("Technical difficulties"));
        assert!(notice.text.contains("Video will not play"));
        assert!(notice.text.contains("$800.00"));

        // A job for an order that does not exist fails without touching anything.
        enqueue(&w, jobs::ORDER_RECEIPT_EMAIL, OrderId(999_999)).await;
        w.drain().await;
        let failed = w.jobs(jobs::ORDER_RECEIPT_EMAIL).await;
        assert!(failed.iter().any(|j| j.status == JobStatus::Failed));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_redemption_report_names_the_offending_discounts() {
    for db in backends().await {
        let w = world(db, false, Clock::system(), &[]).await;
        let (product, _) = run_product(&w).await;
        let ann = w.learner("ann").await;
        let bob = w.learner("bob").await;
        let twice = discount(&w, "ONCE-TWICE", RedemptionType::OneTime).await;
        let fine = discount(&w, "ONCE-FINE", RedemptionType::OneTime).await;
        let per_user = discount(&w, "PER-USER", RedemptionType::OneTimePerUser).await;
        let unlimited = discount(&w, "MANY", RedemptionType::Unlimited).await;
        let report = periodic::run(&w.services, periodic::CHECK_DUPLICATE_DISCOUNT_REDEMPTIONS)
            .await
            .unwrap();
        assert_eq!(report.summary, "no duplicate discount redemptions");
        for (user, state, codes) in [
            (ann, OrderState::Fulfilled, vec![twice, per_user, unlimited]),
            (bob, OrderState::Fulfilled, vec![twice, per_user, unlimited]),
            (ann, OrderState::Fulfilled, vec![per_user, fine, unlimited]),
            // Only fulfilled orders count.
            (bob, OrderState::Canceled, vec![fine]),
            (bob, OrderState::Pending, vec![fine]),
        ] {
            order(&w, user, state, product, &codes, vec![]).await;
        }
        let found = w.services.store().duplicate_redemptions().await.unwrap();
        assert_eq!(found.one_time.len(), 1);
        assert_eq!(found.one_time[0].discount, twice);
        assert_eq!(found.one_time[0].redemptions, 2);
        assert_eq!(found.once_per_user.len(), 1);
        assert_eq!(found.once_per_user[0].user, ann);
        let report = periodic::run(&w.services, periodic::CHECK_DUPLICATE_DISCOUNT_REDEMPTIONS)
            .await
            .unwrap();
        let mut ids = [twice.0, per_user.0];
        ids.sort_unstable();
        assert_eq!(
            report.summary,
            format!(
                "2 discount(s) redeemed more often than allowed: {}, {}",
                ids[0], ids[1]
            )
        );
        w.cleanup().await;
    }
}
