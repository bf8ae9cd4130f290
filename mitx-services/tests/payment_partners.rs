//! The payment partners' clients against their in-process fakes: CyberSource REST (HTTP
//! Signature, refunds, transaction search) and Stripe (Checkout Sessions, webhooks).

use mitx_core::money::Money;
use mitx_core::orders::{GatewayRefundRequest, StripeCheckoutStatus, stripe_session_status};
use mitx_services::cybersource_rest::fake::{FakeCyberSource, FakeTransaction, RefundMode};
use mitx_services::cybersource_rest::{CyberSourceRestClient, CyberSourceRestError};
use mitx_services::stripe::fake::FakeStripe;
use mitx_services::stripe::{StripeClient, StripeError, session_status_fields, verify_webhook};
use serde_json::json;

fn request() -> GatewayRefundRequest {
    GatewayRefundRequest {
        transaction_id: "1234".into(),
        amount: Money::from_cents(1000),
        currency: "USD".into(),
    }
}

#[tokio::test]
async fn refund_is_signed_and_answered_pending() {
    let fake = FakeCyberSource::start().await.unwrap();
    let client = CyberSourceRestClient::new(fake.settings()).unwrap();
    let reply = client.refund(&request()).await.unwrap();
    assert_eq!(reply.response.status, "PENDING");
    assert_eq!(reply.response.id.as_deref(), Some("12345"));
    assert_eq!(reply.raw["refundAmountDetails"]["refundAmount"], "10.00");
    let calls = fake.refund_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].authenticated);
    assert_eq!(calls[0].path, "/pts/v2/payments/1234/refunds");
    assert_eq!(
        calls[0].body,
        Some(json!({
            "clientReferenceInformation": {"transactionId": "1234"},
            "orderInformation": {"amountDetails": {"totalAmount": "10.00", "currency": "USD"}},
        }))
    );
}

#[tokio::test]
async fn a_wrong_secret_or_key_is_refused_like_cybersource() {
    let fake = FakeCyberSource::start().await.unwrap();
    let mut settings = fake.settings();
    settings.shared_secret = Some("d3Jvbmctc2VjcmV0".into());
    let client = CyberSourceRestClient::new(settings).unwrap();
    let err = client.refund(&request()).await.unwrap_err();
    assert!(
        matches!(err, CyberSourceRestError::Http { status: 401, .. }),
        "{err:?}"
    );
    let mut settings = fake.settings();
    settings.key_id = Some("another-key".into());
    let client = CyberSourceRestClient::new(settings).unwrap();
    assert!(matches!(
        client.transaction("1").await.unwrap_err(),
        CyberSourceRestError::Http { status: 401, .. }
    ));
    assert!(fake.calls().iter().all(|c| !c.authenticated));
    // Unconfigured: nothing is sent.
    let mut settings = fake.settings();
    settings.merchant_id = None;
    let client = CyberSourceRestClient::new(settings).unwrap();
    assert!(matches!(
        client.refund(&request()).await.unwrap_err(),
        CyberSourceRestError::NotConfigured("MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_ID")
    ));
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn duplicate_and_failed_refunds() {
    let fake = FakeCyberSource::start().await.unwrap();
    let client = CyberSourceRestClient::new(fake.settings()).unwrap();
    fake.set_refund_mode(RefundMode::Duplicate);
    let reply = client.refund(&request()).await.unwrap();
    assert_eq!(
        reply.response.error_reason.as_deref(),
        Some("DUPLICATE_REQUEST")
    );
    fake.set_refund_mode(RefundMode::HttpError(502));
    assert!(matches!(
        client.refund(&request()).await.unwrap_err(),
        CyberSourceRestError::Http { status: 502, .. }
    ));
    fake.set_refund_mode(RefundMode::Status("DECLINED".into()));
    let reply = client.refund(&request()).await.unwrap();
    assert_eq!(reply.response.status, "DECLINED");
}

#[tokio::test]
async fn transaction_search_finds_the_newest_record_per_reference() {
    let fake = FakeCyberSource::start().await.unwrap();
    let client = CyberSourceRestClient::new(fake.settings()).unwrap();
    for (id, reference, code, when) in [
        ("6001", "mitxonline-prod-1", "481", "2026-03-01T10:00:00Z"),
        ("6002", "mitxonline-prod-1", "100", "2026-03-01T11:00:00Z"),
        ("6003", "mitxonline-prod-2", "999", "2026-03-01T09:00:00Z"),
        ("6004", "mitxonline-prod-9", "100", "2026-03-01T09:00:00Z"),
    ] {
        fake.add_transaction(FakeTransaction {
            id: id.into(),
            reference: reference.into(),
            reason_code: code.into(),
            amount: "10.00".into(),
            submitted: when.into(),
        });
    }
    let refs: Vec<String> = [
        "mitxonline-prod-1",
        "mitxonline-prod-2",
        "mitxonline-prod-3",
    ]
    .map(String::from)
    .to_vec();
    let found = client.find_transactions(&refs).await.unwrap();
    assert_eq!(found.len(), 2);
    let one = found
        .iter()
        .find(|r| r.reference == "mitxonline-prod-1")
        .unwrap();
    assert_eq!(one.transaction_id, "6002");
    assert_eq!(one.reason_code(), "100");
    let data = one.payment_data();
    assert_eq!(data.get("transaction_id"), Some("6002"));
    assert_eq!(data.get("req_amount"), Some("10.00"));
    assert_eq!(data.get("req_currency"), Some("USD"));
    assert_eq!(data.get("req_reference_number"), Some("mitxonline-prod-1"));
    assert_eq!(data.get("req_card_number"), Some("xxxxxxxxxxxx1111"));
    let two = found
        .iter()
        .find(|r| r.reference == "mitxonline-prod-2")
        .unwrap();
    assert_eq!(two.reason_code(), "999");
    let search = fake
        .calls()
        .into_iter()
        .find(|c| c.path == "/tss/v2/searches")
        .unwrap();
    let body = search.body.unwrap();
    assert_eq!(
        body["query"],
        "clientReferenceInformation.code:mitxonline-prod-1 OR clientReferenceInformation.code:mitxonline-prod-2 OR clientReferenceInformation.code:mitxonline-prod-3"
    );
    assert_eq!(body["limit"], 20);
    assert_eq!(body["sort"], "submitTimeUtc:desc");
    assert!(fake.calls().iter().all(|c| c.authenticated));
}

#[tokio::test]
async fn stripe_checkout_session_round_trip() {
    let fake = FakeStripe::start().await.unwrap();
    let client = StripeClient::new(fake.settings()).unwrap();
    let session = client
        .create_checkout_session(
            "mitxonline-prod-7",
            &[("Intro to Rust".into(), 80_000)],
            "http://localhost:8000/checkout/result/",
            "http://localhost:8000/checkout/result/",
        )
        .await
        .unwrap();
    assert!(session.id.starts_with("cs_test_"));
    assert!(session.url.ends_with(&session.id));
    assert_eq!(session.raw["amount_total"], 80_000);
    assert_eq!(session.raw["client_reference_id"], "mitxonline-prod-7");
    let item = &session.raw["line_items"]["data"][0];
    assert_eq!(item["tax_behavior"], "inclusive");
    assert_eq!(item["currency"], "usd");
    assert_eq!(item["name"], "Intro to Rust");
    let status = |s: &serde_json::Value| {
        let (a, b, c) = session_status_fields(s);
        stripe_session_status(&a, &b, c.as_deref())
    };
    let open = client.retrieve_checkout_session(&session.id).await.unwrap();
    assert_eq!(status(&open), StripeCheckoutStatus::Pending);
    fake.pay(&session.id);
    let paid = client.retrieve_checkout_session(&session.id).await.unwrap();
    assert_eq!(paid["payment_intent"]["status"], "succeeded");
    assert_eq!(status(&paid), StripeCheckoutStatus::Paid);
    fake.cancel_intent(&session.id);
    let canceled = client.retrieve_checkout_session(&session.id).await.unwrap();
    assert_eq!(status(&canceled), StripeCheckoutStatus::Cancelled);
    assert_eq!(fake.calls(), (1, 3));
    // A signed event verifies with the configured secret.
    let (body, header) = fake.signed_event("evt_1", "checkout.session.completed", &session.id);
    let event = verify_webhook(
        body.as_bytes(),
        Some(&header),
        &fake.settings().webhook_secrets,
        chrono::Utc::now().timestamp(),
    )
    .unwrap();
    assert_eq!(event["data"]["object"]["id"], session.id.as_str());
    // A wrong key is Stripe's 401.
    let mut settings = fake.settings();
    settings.api_key = Some("sk_test_wrong".into());
    let wrong = StripeClient::new(settings).unwrap();
    assert!(matches!(
        wrong
            .retrieve_checkout_session(&session.id)
            .await
            .unwrap_err(),
        StripeError::Http { status: 401, .. }
    ));
}
