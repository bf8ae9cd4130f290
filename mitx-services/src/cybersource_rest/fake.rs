//! A fake CyberSource REST API for tests: an in-process axum app on `127.0.0.1:0` that
//! checks every request's HTTP Signature the way CyberSource does (known key id and
//! merchant, fresh date, body digest, HMAC over the named headers) and answers refunds,
//! transaction searches and transaction details with CyberSource's JSON shapes. It records
//! every call and can be told to answer `DUPLICATE_REQUEST`, another status, or an HTTP
//! error.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::signature;
use crate::config::CyberSourceRestSettings;

/// How the fake answers the next refunds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundMode {
    /// 201 `{"status": "PENDING", "id": ...}` (CyberSource's normal success).
    Pending,
    /// 400 `{"status": "INVALID_REQUEST", "reason": "DUPLICATE_REQUEST"}`.
    Duplicate,
    /// 201 with this status (e.g. `DECLINED`) and a message.
    Status(String),
    /// This HTTP status with a CyberSource error body.
    HttpError(u16),
}

/// One request the fake received (signature failures included).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedCall {
    /// `POST` / `GET`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// Whether its signature was valid.
    pub authenticated: bool,
}

/// A payment the fake's transaction search knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeTransaction {
    /// The gateway id.
    pub id: String,
    /// `clientReferenceInformation.code` (the order reference).
    pub reference: String,
    /// `applicationInformation.reasonCode`.
    pub reason_code: String,
    /// `orderInformation.amountDetails.totalAmount`.
    pub amount: String,
    /// Submission time (RFC 3339); searches sort on it, newest first.
    pub submitted: String,
}

#[derive(Debug)]
struct FakeState {
    refund_mode: RefundMode,
    next_refund_id: u64,
    calls: Vec<RecordedCall>,
    transactions: Vec<FakeTransaction>,
}

type Shared = Arc<Mutex<FakeState>>;

fn lock(state: &Shared) -> MutexGuard<'_, FakeState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake CyberSource REST API.
#[derive(Debug)]
pub struct FakeCyberSource {
    addr: SocketAddr,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeCyberSource {
    /// The merchant id the fake accepts.
    pub const MERCHANT_ID: &'static str = "fake_merchant";
    /// The key id the fake accepts.
    pub const KEY_ID: &'static str = "fake-key-id-0001";
    /// The shared secret (base64) the fake accepts.
    pub const SECRET: &'static str = "ZmFrZS1jeWJlcnNvdXJjZS1zaGFyZWQtc2VjcmV0LWtleQ==";

    /// Starts a fake on `127.0.0.1` with a free port; refunds answer PENDING with ids
    /// from 12345 up.
    pub async fn start() -> std::io::Result<FakeCyberSource> {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            refund_mode: RefundMode::Pending,
            next_refund_id: 12345,
            calls: Vec::new(),
            transactions: Vec::new(),
        }));
        let app = Router::new()
            .route("/pts/v2/payments/{id}/refunds", post(refund))
            .route("/tss/v2/searches", post(search))
            .route("/tss/v2/transactions/{id}", get(details))
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
        Ok(FakeCyberSource {
            addr,
            state,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Settings that point the client at this fake.
    pub fn settings(&self) -> CyberSourceRestSettings {
        CyberSourceRestSettings {
            base_url: self.base_url(),
            merchant_id: Some(Self::MERCHANT_ID.into()),
            key_id: Some(Self::KEY_ID.into()),
            shared_secret: Some(Self::SECRET.into()),
            timeout: Duration::from_secs(10),
        }
    }

    /// The environment variables that point `mitx` at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MITX_CYBERSOURCE_REST_API_BASE_URL", self.base_url()),
            (
                "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_ID",
                Self::MERCHANT_ID.into(),
            ),
            (
                "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET_KEY_ID",
                Self::KEY_ID.into(),
            ),
            (
                "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_MERCHANT_SECRET",
                Self::SECRET.into(),
            ),
        ]
    }

    /// How the next refunds are answered.
    pub fn set_refund_mode(&self, mode: RefundMode) {
        lock(&self.state).refund_mode = mode;
    }

    /// The id the next successful refund gets.
    pub fn set_next_refund_id(&self, id: u64) {
        lock(&self.state).next_refund_id = id;
    }

    /// A payment the transaction search will find.
    pub fn add_transaction(&self, transaction: FakeTransaction) {
        lock(&self.state).transactions.push(transaction);
    }

    /// Every request received, oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.state).calls.clone()
    }

    /// The refund requests received (authenticated or not).
    pub fn refund_calls(&self) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.path.ends_with("/refunds"))
            .collect()
    }

    /// Stops the server.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for FakeCyberSource {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How far a request's `date` may be from the fake's clock.
const DATE_TOLERANCE_SECONDS: i64 = 300;

/// Checks a request's HTTP Signature as CyberSource does; `Err` is the reason.
fn check_signature(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let merchant = header("v-c-merchant-id").ok_or("no v-c-merchant-id")?;
    if merchant != FakeCyberSource::MERCHANT_ID {
        return Err(format!("unknown merchant {merchant}"));
    }
    let date = header("date").ok_or("no date")?;
    let when = chrono::DateTime::parse_from_rfc2822(&date)
        .map_err(|_| format!("date '{date}' is not an RFC 1123 date"))?;
    if (chrono::Utc::now() - when.to_utc()).num_seconds().abs() > DATE_TOLERANCE_SECONDS {
        return Err("stale date".into());
    }
    let params = signature::parse_signature_header(&header("signature").ok_or("no signature")?);
    if params.get("keyid").map(String::as_str) != Some(FakeCyberSource::KEY_ID) {
        return Err("unknown keyid".into());
    }
    if params.get("algorithm").map(String::as_str) != Some(signature::ALGORITHM) {
        return Err("algorithm must be HmacSHA256".into());
    }
    let signed = params.get("headers").ok_or("no headers parameter")?;
    let required: &[&str] = if body.is_empty() {
        &["host", "date", "request-target", "v-c-merchant-id"]
    } else {
        &[
            "host",
            "date",
            "request-target",
            "digest",
            "v-c-merchant-id",
        ]
    };
    let names: Vec<&str> = signed.split_whitespace().collect();
    if required.iter().any(|r| !names.contains(r)) {
        return Err(format!(
            "headers '{signed}' must name {}",
            required.join(" ")
        ));
    }
    if !body.is_empty() && header("digest") != Some(signature::digest(body)) {
        return Err("digest does not match the body".into());
    }
    let path_and_query = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let target = signature::request_target(method.as_str(), path_and_query);
    let text = signature::signing_string(signed, |name| match name {
        "request-target" => Some(target.clone()),
        other => header(other),
    })
    .ok_or("a signed header is missing")?;
    let secret = signature::decode_secret(FakeCyberSource::SECRET).ok_or("bad fake secret")?;
    let given = params.get("signature").ok_or("no signature parameter")?;
    if signature::verify(&secret, &text, given) {
        Ok(())
    } else {
        Err("signature mismatch".into())
    }
}

/// Records the call and checks its signature; the 401 CyberSource answers on failure
/// (`None`: admitted).
fn admit(
    state: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let checked = check_signature(method, uri, headers, body);
    lock(state).calls.push(RecordedCall {
        method: method.to_string(),
        path: uri.path().to_owned(),
        body: serde_json::from_slice(body).ok(),
        authenticated: checked.is_ok(),
    });
    checked.err().map(|why| {
        tracing::debug!(%why, "fake CyberSource refused a signature");
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"response": {"rmsg": "Authentication Failed"}})),
        )
            .into_response()
    })
}

fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn refund(
    State(state): State<Shared>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = admit(&state, &method, &uri, &headers, &body) {
        return refused;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let amount = request
        .pointer("/orderInformation/amountDetails/totalAmount")
        .cloned()
        .unwrap_or(Value::Null);
    let currency = request
        .pointer("/orderInformation/amountDetails/currency")
        .cloned()
        .unwrap_or(Value::Null);
    let mut s = lock(&state);
    let mode = s.refund_mode.clone();
    match mode {
        RefundMode::Duplicate => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "submitTimeUtc": now_utc(),
                "status": "INVALID_REQUEST",
                "reason": "DUPLICATE_REQUEST",
                "message": "Declined - The merchantReferenceCode sent with this authorization request matches the merchantReferenceCode of another authorization request that you sent in the last 15 minutes.",
            })),
        )
            .into_response(),
        RefundMode::HttpError(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            axum::Json(json!({
                "submitTimeUtc": now_utc(),
                "status": "SERVER_ERROR",
                "reason": "SYSTEM_ERROR",
                "message": "Error - General system failure.",
            })),
        )
            .into_response(),
        RefundMode::Pending | RefundMode::Status(_) => {
            let refund_id = s.next_refund_id.to_string();
            s.next_refund_id += 1;
            let status = match mode {
                RefundMode::Status(status) => status,
                _ => "PENDING".to_owned(),
            };
            (
                StatusCode::CREATED,
                axum::Json(json!({
                    "_links": {
                        "self": {"href": format!("/pts/v2/refunds/{refund_id}"), "method": "GET"},
                        "void": {"href": format!("/pts/v2/refunds/{refund_id}/voids"), "method": "POST"},
                    },
                    "id": refund_id,
                    "submitTimeUtc": now_utc(),
                    "status": status,
                    "message": if status == "PENDING" { "" } else { "Request was declined" },
                    "reconciliationId": format!("rec-{id}"),
                    "clientReferenceInformation": request.get("clientReferenceInformation").cloned().unwrap_or(Value::Null),
                    "refundAmountDetails": {"refundAmount": amount, "currency": currency},
                    "orderInformation": {"amountDetails": {"currency": currency}},
                })),
            )
                .into_response()
        }
    }
}

async fn search(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = admit(&state, &method, &uri, &headers, &body) {
        return refused;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let query = request.get("query").and_then(Value::as_str).unwrap_or("");
    let wanted: Vec<&str> = query
        .split(" OR ")
        .filter_map(|term| term.trim().strip_prefix("clientReferenceInformation.code:"))
        .collect();
    let limit = request
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(20, |l| usize::try_from(l).unwrap_or(20));
    let mut found: Vec<FakeTransaction> = lock(&state)
        .transactions
        .iter()
        .filter(|t| wanted.contains(&t.reference.as_str()))
        .cloned()
        .collect();
    found.sort_by(|a, b| b.submitted.cmp(&a.submitted));
    found.truncate(limit);
    let summaries: Vec<Value> = found
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "submitTimeUtc": t.submitted,
                "merchantId": FakeCyberSource::MERCHANT_ID,
                "applicationInformation": {
                    "reasonCode": t.reason_code,
                    "applications": [{"name": "ics_bill", "reasonCode": t.reason_code, "rCode": "1", "rFlag": "SOK"}],
                },
                "clientReferenceInformation": {"code": t.reference, "applicationName": "Secure Acceptance Web/Mobile"},
                "orderInformation": {"amountDetails": {"totalAmount": t.amount, "currency": "USD"}},
            })
        })
        .collect();
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "searchId": "fake-search-1",
            "save": false,
            "name": request.get("name").cloned().unwrap_or(Value::Null),
            "timezone": "UTC",
            "query": query,
            "offset": 0,
            "limit": limit,
            "sort": request.get("sort").cloned().unwrap_or(Value::Null),
            "count": summaries.len(),
            "totalCount": summaries.len(),
            "submitTimeUtc": now_utc(),
            "_embedded": {"transactionSummaries": summaries},
        })),
    )
        .into_response()
}

async fn details(
    State(state): State<Shared>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = admit(&state, &method, &uri, &headers, &[]) {
        return refused;
    }
    let found = lock(&state)
        .transactions
        .iter()
        .find(|t| t.id == id)
        .cloned();
    let Some(t) = found else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"submitTimeUtc": now_utc(), "status": "NOT_FOUND", "message": "The requested resource does not exist"})),
        )
            .into_response();
    };
    (
        StatusCode::OK,
        axum::Json(json!({
            "id": t.id,
            "submitTimeUtc": t.submitted,
            "applicationInformation": {
                "status": "TRANSMITTED",
                "reasonCode": t.reason_code,
                "rCode": "1",
                "rFlag": "SOK",
                "applications": [{"name": "ics_auth", "reasonCode": t.reason_code}],
            },
            "clientReferenceInformation": {"code": t.reference},
            "orderInformation": {
                "billTo": {
                    "firstName": "Ada", "lastName": "Lovelace", "address1": "77 Massachusetts Ave",
                    "locality": "Cambridge", "administrativeArea": "MA", "postalCode": "02139",
                    "country": "US", "email": "ada@example.com",
                },
                "amountDetails": {"totalAmount": t.amount, "authorizedAmount": t.amount, "currency": "USD"},
                "lineItems": [{"productCode": "60", "productName": "Course", "productSku": "60-1", "quantity": 1, "unitPrice": t.amount}],
            },
            "paymentInformation": {"card": {"suffix": "1111", "type": "001"}, "paymentType": {"name": "card"}},
        })),
    )
        .into_response()
}
