//! Health and readiness.

use mitx_server::{AppState, serve};
use mitx_store::testing::TestDb;

pub async fn start(db: &TestDb) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(
        db.store.clone(),
        false,
        mitx_server::catalog::DEFAULT_OPENEDX_COURSE_BASE_URL.to_owned(),
    );
    tokio::spawn(async move {
        let _ = serve(listener, state, async move {
            let _ = rx.await;
        })
        .await;
    });
    (format!("http://{addr}"), tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz_answer() {
    let db = TestDb::sqlite().await.expect("db");
    let (base, stop) = start(&db).await;
    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["cache-control"], "private, no-store");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "sqlite");
    let missing = client.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}
