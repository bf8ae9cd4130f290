//! `POST /webhook/stripe/` over HTTP (ecommerce spec 5.7) against the fake Stripe: a
//! signed completed-session event fulfils the order, a repeat changes nothing, an expired
//! session cancels, a bad signature is a 400 JSON answer.

use mitx_core::money::Money;
use mitx_core::orders::OrderState;
use mitx_services::stripe::fake::FakeStripe;
use mitx_services::testing;
use serde_json::Value;

use crate::auth::{databases, start_server};
use crate::learner::load_demo;

async fn post(base: &str, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = crate::client()
        .post(format!("{base}/webhook/stripe/"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_events_settle_stripe_orders_once() {
    for db in databases().await {
        load_demo(&db).await;
        let stripe = FakeStripe::start().await.unwrap();
        let env = stripe.env();
        let mut overrides: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        overrides.push(("ECOMMERCE_DEFAULT_PAYMENT_GATEWAY", "Stripe"));
        let server = start_server(&db, true, true, &overrides).await;
        let services = &server.services;
        let learner = testing::learner(services, "stripe1").await;
        let other = testing::learner(services, "stripe2").await;
        let runs = testing::open_runs(services, 2).await;
        let paid =
            testing::pending_order(services, learner, runs[0], Money::from_cents(80_000)).await;
        let expiring =
            testing::pending_order(services, other, runs[1], Money::from_cents(80_000)).await;
        let paid_ref = paid.reference_number.clone().unwrap();
        stripe.add_session("cs_test_paid", &paid_ref, 80_000);
        stripe.pay("cs_test_paid");
        stripe.add_session(
            "cs_test_expired",
            expiring.reference_number.as_deref().unwrap(),
            80_000,
        );
        stripe.expire("cs_test_expired");
        let state = |id| async move { services.store().order(id).await.unwrap().unwrap().state };

        // A bad or missing signature: 400 with a JSON detail, nothing logged or changed.
        let (body, header) =
            stripe.signed_event("evt_1", "checkout.session.completed", "cs_test_paid");
        let forged = header.replace("v1=", "v1=00");
        let (status, answer) = post(&server.base, &body, Some(&forged)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains("signature"),
            "{answer}"
        );
        let (status, _) = post(&server.base, &body, None).await;
        assert_eq!(status, 400);
        assert!(
            services
                .store()
                .stripe_event_log("evt_1")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(state(paid.id).await, OrderState::Pending);

        // Signed: the session is read again, paid → fulfilled.
        let (status, _) = post(&server.base, &body, Some(&header)).await;
        assert_eq!(status, 200);
        assert_eq!(state(paid.id).await, OrderState::Fulfilled);
        let logged = services.store().stripe_event_log("evt_1").await.unwrap();
        assert_eq!(
            logged,
            vec![("checkout.session.completed".to_owned(), Some(paid.id.0))]
        );
        let payments = services.store().order_transactions(paid.id).await.unwrap();
        assert_eq!(payments.len(), 1);
        assert_eq!(payments[0].transaction_id, "evt_1");
        assert_eq!(payments[0].amount, Money::from_cents(80_000));
        assert_eq!(stripe.calls().1, 1);

        // The same event again: logged, no change.
        let (status, _) = post(&server.base, &body, Some(&header)).await;
        assert_eq!(status, 200);
        assert_eq!(state(paid.id).await, OrderState::Fulfilled);
        assert_eq!(
            services
                .store()
                .order_transactions(paid.id)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            services
                .store()
                .stripe_event_log("evt_1")
                .await
                .unwrap()
                .len(),
            2
        );

        // An expired session cancels its order.
        let (body, header) =
            stripe.signed_event("evt_2", "checkout.session.expired", "cs_test_expired");
        let (status, _) = post(&server.base, &body, Some(&header)).await;
        assert_eq!(status, 200);
        assert_eq!(state(expiring.id).await, OrderState::Canceled);

        // An unknown reference is logged and ignored.
        stripe.add_session("cs_test_other", "mitxonline-prod-999999", 100);
        let (body, header) =
            stripe.signed_event("evt_3", "checkout.session.completed", "cs_test_other");
        let (status, _) = post(&server.base, &body, Some(&header)).await;
        assert_eq!(status, 200);
        assert_eq!(
            services.store().stripe_event_log("evt_3").await.unwrap(),
            vec![("checkout.session.completed".to_owned(), None)]
        );
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_checkout_creates_a_session_and_its_payment_fulfils() {
    use crate::checkout::{RUN, fill_basket, learner_claims, product_of};
    use crate::learner::Learner;
    for db in databases().await {
        load_demo(&db).await;
        let stripe = FakeStripe::start().await.unwrap();
        let env = stripe.env();
        let mut overrides: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        overrides.push(("ECOMMERCE_DEFAULT_PAYMENT_GATEWAY", "Stripe"));
        let server = start_server(&db, true, true, &overrides).await;
        let me = Learner::new(&server.base, &learner_claims(7));
        let user = me.id().await;
        let product = product_of(&db, RUN).await;
        fill_basket(&db, user, &[product], None).await;
        let (status, body) = me.get("/api/v0/baskets/checkout/").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["method"], "GET");
        assert!(body["url"].as_str().unwrap().starts_with("http"), "{body}");
        assert_eq!(body["payload"], serde_json::json!({}));
        // The session is stored as the order's initial transaction.
        let session_id = body["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let session = stripe
            .session(&session_id)
            .expect("the fake holds the session");
        let reference = session["client_reference_id"].as_str().unwrap().to_owned();
        assert_eq!(session["amount_total"], 7500, "{session}");
        let order = db.store.orders_by_reference(&reference).await.unwrap()[0].clone();
        assert_eq!(order.state, OrderState::Pending);
        let transactions = db.store.order_transactions(order.id).await.unwrap();
        assert_eq!(transactions.len(), 1);
        assert_eq!(transactions[0].transaction_id, session_id);
        assert_eq!(transactions[0].reason, "Initial CheckoutSession");
        // The learner checks out again: the order is reused with a second session, and
        // the first one expiring later must not cancel it.
        let (status, again) = me.get("/api/v0/baskets/checkout/").await;
        assert_eq!(status, 200, "{again}");
        let first_session = session_id;
        let session_id = again["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        assert_ne!(session_id, first_session);
        let reused = stripe.session(&session_id).unwrap();
        assert_eq!(
            reused["client_reference_id"].as_str(),
            Some(reference.as_str())
        );
        stripe.expire(&first_session);
        let (event, header) = stripe.signed_event(
            "evt_old_expired",
            "checkout.session.expired",
            &first_session,
        );
        let (status, answer) = post(&server.base, &event, Some(&header)).await;
        assert_eq!(status, 200, "{answer}");
        let order = db.store.order(order.id).await.unwrap().unwrap();
        assert_eq!(
            order.state,
            OrderState::Pending,
            "a superseded session cancels nothing"
        );
        // The learner pays through the newest session; Stripe's signed event fulfils it.
        stripe.pay(&session_id);
        let (event, header) =
            stripe.signed_event("evt_checkout", "checkout.session.completed", &session_id);
        let (status, answer) = post(&server.base, &event, Some(&header)).await;
        assert_eq!(status, 200, "{answer}");
        let order = db.store.order(order.id).await.unwrap().unwrap();
        assert_eq!(order.state, OrderState::Fulfilled);
        assert!(
            db.store.checkout_basket(user).await.unwrap().is_none(),
            "basket deleted"
        );
        // The first session's expiry arriving again, after the payment: still nothing.
        let (event, header) = stripe.signed_event(
            "evt_old_expired_2",
            "checkout.session.expired",
            &first_session,
        );
        let (status, _) = post(&server.base, &event, Some(&header)).await;
        assert_eq!(status, 200);
        let order = db.store.order(order.id).await.unwrap().unwrap();
        assert_eq!(order.state, OrderState::Fulfilled);
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}
