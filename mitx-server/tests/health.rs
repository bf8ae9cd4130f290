//! Health and readiness.

use mitx_services::testing::TestDb;

pub async fn start(db: &TestDb) -> (String, tokio::sync::oneshot::Sender<()>) {
    crate::auth::start_with(db, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz_answer() {
    let db = TestDb::sqlite().await.expect("db");
    let (base, stop) = start(&db).await;
    let client = crate::client();
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
