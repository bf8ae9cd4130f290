//! A fake Stripe API for tests: an in-process axum app on `127.0.0.1:0` that creates
//! Checkout Sessions from Stripe's form-encoded request, answers retrievals (expanding the
//! PaymentIntent when asked), lets a test pay, cancel or expire a session, and builds
//! webhook events signed the way Stripe signs them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

use crate::config::StripeSettings;

#[derive(Debug, Default)]
struct FakeState {
    sessions: BTreeMap<String, Value>,
    counter: u64,
    creates: u64,
    retrievals: u64,
}

type Shared = Arc<Mutex<FakeState>>;

fn lock(state: &Shared) -> MutexGuard<'_, FakeState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake Stripe.
#[derive(Debug)]
pub struct FakeStripe {
    addr: SocketAddr,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeStripe {
    /// The API key the fake accepts.
    pub const API_KEY: &'static str = "sk_test_fake";
    /// The webhook endpoint secret tests sign events with.
    pub const WEBHOOK_SECRET: &'static str = "whsec_fake_endpoint_secret";

    /// Starts a fake on `127.0.0.1` with a free port.
    pub async fn start() -> std::io::Result<FakeStripe> {
        let state: Shared = Arc::new(Mutex::new(FakeState::default()));
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create))
            .route("/v1/checkout/sessions/{id}", get(retrieve))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeStripe {
            addr,
            state,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Settings that point the client at this fake (and accept its webhook secret).
    pub fn settings(&self) -> StripeSettings {
        StripeSettings {
            api_base_url: self.base_url(),
            api_key: Some(Self::API_KEY.into()),
            webhook_secrets: vec![Self::WEBHOOK_SECRET.into()],
            timeout: Duration::from_secs(10),
        }
    }

    /// The environment variables that point `mitx` at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MITX_STRIPE_API_BASE_URL", self.base_url()),
            ("MITOL_PAYMENT_GATEWAY_STRIPE_API_KEY", Self::API_KEY.into()),
            ("MITX_STRIPE_WEBHOOK_SECRETS", Self::WEBHOOK_SECRET.into()),
        ]
    }

    /// `(sessions created, sessions retrieved)`.
    pub fn calls(&self) -> (u64, u64) {
        let s = lock(&self.state);
        (s.creates, s.retrievals)
    }

    /// A session as the fake holds it.
    pub fn session(&self, id: &str) -> Option<Value> {
        lock(&self.state).sessions.get(id).cloned()
    }

    /// Adds a session directly (an order whose checkout happened elsewhere).
    pub fn add_session(&self, id: &str, reference: &str, amount_total: i64) {
        lock(&self.state).sessions.insert(
            id.to_owned(),
            new_session(id, reference, amount_total, &self.base_url()),
        );
    }

    /// The learner paid: `complete` / `paid` with a succeeded PaymentIntent.
    pub fn pay(&self, id: &str) {
        self.update(id, "complete", "paid", Some("succeeded"));
    }

    /// The session expired unpaid.
    pub fn expire(&self, id: &str) {
        self.update(id, "expired", "unpaid", None);
    }

    /// The PaymentIntent was canceled (Stripe's spelling).
    pub fn cancel_intent(&self, id: &str) {
        self.update(id, "open", "unpaid", Some("canceled"));
    }

    fn update(&self, id: &str, status: &str, payment_status: &str, intent: Option<&str>) {
        if let Some(session) = lock(&self.state).sessions.get_mut(id) {
            session["status"] = json!(status);
            session["payment_status"] = json!(payment_status);
            if let Some(intent_status) = intent {
                session["payment_intent"] = json!({
                    "id": format!("pi_{id}"),
                    "object": "payment_intent",
                    "status": intent_status,
                });
            }
        }
    }

    /// A webhook event of `event_type` about session `id` (its current object), with its
    /// `Stripe-Signature` header signed now with [`Self::WEBHOOK_SECRET`].
    pub fn signed_event(&self, event_id: &str, event_type: &str, id: &str) -> (String, String) {
        let object = self.session(id).unwrap_or_else(|| json!({"id": id}));
        let event = json!({
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": chrono::Utc::now().timestamp(),
            "type": event_type,
            "livemode": false,
            "data": {"object": object},
        })
        .to_string();
        let header = super::sign_webhook(
            event.as_bytes(),
            chrono::Utc::now().timestamp(),
            Self::WEBHOOK_SECRET,
        );
        (event, header)
    }

    /// Stops the server.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.stop();
    }
}

fn new_session(id: &str, reference: &str, amount_total: i64, base: &str) -> Value {
    json!({
        "id": id,
        "object": "checkout.session",
        "client_reference_id": reference,
        "amount_total": amount_total,
        "currency": "usd",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "payment_intent": null,
        "url": format!("{base}/pay/{id}"),
    })
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", FakeStripe::API_KEY))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})),
    )
        .into_response()
}

async fn create(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(reference), Some(mode)) = (field("client_reference_id"), field("mode")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"type": "invalid_request_error", "message": "Missing required param: mode."}})),
        )
            .into_response();
    };
    let mut total = 0i64;
    let mut items = Vec::new();
    for i in 0.. {
        let key = |k: &str| format!("line_items[{i}]{k}");
        let Some(amount) = field(&key("[price_data][unit_amount_decimal]")) else {
            break;
        };
        let cents: i64 = amount.parse().unwrap_or(0);
        let quantity: i64 = field(&key("[quantity]"))
            .and_then(|q| q.parse().ok())
            .unwrap_or(1);
        total += cents * quantity;
        items.push(json!({
            "name": field(&key("[price_data][product_data][name]")),
            "unit_amount_decimal": amount,
            "tax_behavior": field(&key("[price_data][tax_behavior]")),
            "currency": field(&key("[price_data][currency]")),
            "quantity": quantity,
        }));
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let mut s = lock(&state);
    s.counter += 1;
    s.creates += 1;
    let id = format!("cs_test_{:06}", s.counter);
    let mut session = new_session(&id, &reference, total, &format!("http://{host}"));
    session["mode"] = json!(mode);
    session["success_url"] = json!(field("success_url"));
    session["cancel_url"] = json!(field("cancel_url"));
    session["line_items"] = json!({"object": "list", "data": items});
    s.sessions.insert(id, session.clone());
    (StatusCode::OK, Json(session)).into_response()
}

async fn retrieve(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let mut s = lock(&state);
    s.retrievals += 1;
    let Some(mut session) = s.sessions.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"type": "invalid_request_error", "message": format!("No such checkout.session: '{id}'")}})),
        )
            .into_response();
    };
    let expand = query
        .unwrap_or_default()
        .split('&')
        .any(|p| p == "expand%5B%5D=payment_intent" || p == "expand[]=payment_intent");
    // Unexpanded, Stripe returns only the PaymentIntent's id.
    if !expand
        && let Some(pi) = session
            .get("payment_intent")
            .and_then(|p| p.get("id"))
            .cloned()
    {
        session["payment_intent"] = pi;
    }
    (StatusCode::OK, Json(session)).into_response()
}
