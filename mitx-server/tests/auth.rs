//! The X-Userinfo gateway header (integrations spec 3.2–3.3, scenarios 30–35).

use std::sync::Arc;

use mitx_server::{AppState, serve};
use mitx_services::Services;
use mitx_services::testing::{self, FakeEdx, TestDb};
use serde_json::{Value, json};

pub const SUB: &str = "7f3c2a9e-1b2d-4c5e-8f90-123456789abc";

/// A running test server with its services and its fake Open edX.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Stops the server (and the fake edX) when sent to or dropped.
    pub stop: tokio::sync::oneshot::Sender<()>,
    /// The services the server runs on (workers, clocks, fixtures).
    pub services: Services,
    /// The fake Open edX the services talk to.
    pub edx: Arc<FakeEdx>,
}

/// Starts the server with the gateway header trusted or not, a fake Open edX
/// (`IGNORE_EDX_FAILURES` as given) and `overrides` of the settings.
pub async fn start_server(
    db: &TestDb,
    gateway_enabled: bool,
    ignore_edx_failures: bool,
    overrides: &[(&str, &str)],
) -> TestServer {
    let edx = Arc::new(FakeEdx::start().await.expect("fake edX"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let gateway = if gateway_enabled { "false" } else { "true" };
    // The site is this server (absolute links point at it); pages of the production site
    // (the Referer of the form tests) are trusted, as a deployment configures them.
    let site = format!("http://{addr}");
    // The first value of a name wins: the caller's overrides come before these defaults.
    let mut pairs = vec![("MITOL_APIGATEWAY_DISABLE_MIDDLEWARE", gateway)];
    pairs.extend_from_slice(overrides);
    pairs.extend([
        ("SITE_BASE_URL", site.as_str()),
        ("CSRF_TRUSTED_ORIGINS", "https://mitxonline.mit.edu"),
    ]);
    let settings = testing::settings_with_edx(&edx, ignore_edx_failures, &pairs);
    let services = testing::services(db, settings);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(services.clone());
    let keep = edx.clone();
    tokio::spawn(async move {
        let _ = serve(listener, state, async move {
            let _ = rx.await;
        })
        .await;
        drop(keep);
    });
    TestServer {
        base: format!("http://{addr}"),
        stop: tx,
        services,
        edx,
    }
}

/// Starts the server (with a fake Open edX) with the gateway header trusted or not.
pub async fn start_with(
    db: &TestDb,
    gateway_enabled: bool,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let server = start_server(db, gateway_enabled, false, &[]).await;
    (server.base, server.stop)
}

/// SQLite always, PostgreSQL when MITX_TEST_POSTGRES_URL is set.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite().await.expect("sqlite")];
    if let Some(pg) = TestDb::postgres().await.expect("postgres") {
        dbs.push(pg);
    }
    dbs
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The X-Userinfo value for these claims.
pub fn userinfo(claims: &Value) -> String {
    base64(claims.to_string().as_bytes())
}

/// The claims of scenario 30.
pub fn jdoe() -> Value {
    json!({
        "sub": SUB,
        "preferred_username": "jdoe",
        "email": "jdoe@example.com",
        "name": "Jane Doe",
    })
}

async fn me(client: &reqwest::Client, base: &str, header: Option<&str>) -> (u16, Value) {
    let mut request = client.get(format!("{base}/api/v0/users/me"));
    if let Some(header) = header {
        request = request.header("X-Userinfo", header);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn user_count(db: &TestDb) -> usize {
    db.store.list_users(None, 1000).await.unwrap().len()
}

#[test]
fn base64_encoder_matches_known_values() {
    assert_eq!(base64(b"hello"), "aGVsbG8=");
    assert_eq!(base64(b"hi"), "aGk=");
    assert_eq!(base64(b"abc"), "YWJj");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_s30_valid_header_creates_user() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let (status, body) = me(&client, &base, Some(&userinfo(&jdoe()))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["username"], "jdoe");
        assert_eq!(body["email"], "jdoe@example.com");
        assert_eq!(body["name"], "Jane Doe");
        assert_eq!(body["global_id"], SUB);
        assert_eq!(body["is_authenticated"], true);
        assert_eq!(body["is_anonymous"], false);
        assert!(body["legal_address"].is_object(), "{body}");
        assert!(body["user_profile"].is_object(), "{body}");
        // The same header again logs the same user in, no second row.
        let (status, again) = me(&client, &base, Some(&userinfo(&jdoe()))).await;
        assert_eq!(status, 200);
        assert_eq!(again["id"], body["id"]);
        assert_eq!(user_count(&db).await, 1);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_s31_update_overwrites_email_keeps_name() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let old = json!({
            "sub": SUB, "preferred_username": "jdoe", "email": "old@example.com", "name": "J. Doe",
        });
        let (status, first) = me(&client, &base, Some(&userinfo(&old))).await;
        assert_eq!(status, 200, "{first}");
        let (status, body) = me(&client, &base, Some(&userinfo(&jdoe()))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], first["id"]);
        assert_eq!(body["email"], "jdoe@example.com");
        assert_eq!(body["name"], "J. Doe");
        assert_eq!(user_count(&db).await, 1);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_s32_undecodable_header_is_400_and_writes_nothing() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        for header in [
            "not-base64!!".to_owned(),
            base64(b"not json"),
            base64(b"[1, 2]"),
            base64(br#"{"sub": 5}"#),
        ] {
            let (status, body) = me(&client, &base, Some(&header)).await;
            assert_eq!(status, 400, "{header}: {body}");
            assert!(body["detail"].is_string(), "{body}");
        }
        // Also on a protected endpoint: 400, not 403.
        let response = client
            .get(format!("{base}/api/v1/enrollments/"))
            .header("X-Userinfo", "not-base64!!")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(user_count(&db).await, 0);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_s33_no_subject_is_anonymous() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let mut claims = jdoe();
        claims.as_object_mut().unwrap().remove("sub");
        let (status, body) = me(&client, &base, Some(&userinfo(&claims))).await;
        assert_eq!(status, 200);
        assert_eq!(body["is_anonymous"], true);
        assert_eq!(body["id"], Value::Null);
        // Claims that cannot be applied (no email) are anonymous too, nothing written.
        let mut no_email = jdoe();
        no_email.as_object_mut().unwrap().remove("email");
        let (status, body) = me(&client, &base, Some(&userinfo(&no_email))).await;
        assert_eq!(status, 200);
        assert_eq!(body["is_anonymous"], true);
        assert_eq!(user_count(&db).await, 0);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_s35_disabled_middleware_ignores_header() {
    for db in databases().await {
        let (base, stop) = start_with(&db, false).await;
        let client = crate::client();
        let (status, body) = me(&client, &base, Some(&userinfo(&jdoe()))).await;
        assert_eq!(status, 200);
        assert_eq!(body["is_anonymous"], true);
        // Even an undecodable header is ignored.
        let (status, _) = me(&client, &base, Some("not-base64!!")).await;
        assert_eq!(status, 200);
        assert_eq!(user_count(&db).await, 0);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_on_protected_endpoint_is_403() {
    let db = TestDb::sqlite().await.unwrap();
    let (base, stop) = start_with(&db, true).await;
    let client = crate::client();
    for path in [
        "/api/v1/enrollments/",
        "/api/v2/enrollments/",
        "/api/v3/enrollments/",
        "/api/v0/userinfo/",
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"detail": "Authentication credentials were not provided."})
        );
    }
    let response = client
        .post(format!("{base}/api/v1/enrollments/"))
        .json(&json!({"run_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_create_one_user() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let url = format!("{base}/api/v0/users/me");
            tasks.push(tokio::spawn(async move {
                let response = crate::client()
                    .get(url)
                    .header("X-Userinfo", userinfo(&jdoe()))
                    .send()
                    .await
                    .unwrap();
                let body: Value = response.json().await.unwrap();
                body["id"].clone()
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let id = task.await.unwrap();
            assert!(id.is_i64(), "anonymous: {id}");
            ids.insert(id.as_i64().unwrap());
        }
        assert_eq!(ids.len(), 1);
        assert_eq!(user_count(&db).await, 1);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}
