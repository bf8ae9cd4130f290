//! Rendered catalog responses are reused only while the catalog revision is unchanged.

use chrono::Utc;
use mitx_services::store::catalog::CatalogData;
use mitx_services::testing::TestDb;

use crate::health::start;

fn demo() -> CatalogData {
    serde_json::from_str(include_str!("../../fixtures/demo/catalog.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_write_by_anyone_is_seen_at_once() {
    let db = TestDb::sqlite().await.unwrap();
    tx!(db.store, t => t.import_catalog(&demo(), Utc::now()).await).unwrap();
    let (base, stop) = start(&db).await;
    let client = crate::client();
    let url = format!("{base}/api/v2/courses/course-v1:MITx+14.100x/");
    let first: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    let again = client.get(&url).send().await.unwrap();
    let etag = again.headers()["etag"].clone();
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(first, again);
    let cached = client
        .get(&url)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    // Another process (here: the store directly) renames the course.
    let mut data = demo();
    data.courses
        .iter_mut()
        .find(|c| c.readable_id == "course-v1:MITx+14.100x")
        .unwrap()
        .title = "Renamed".into();
    tx!(db.store, t => t.import_catalog(&data, Utc::now()).await).unwrap();
    let fresh = client
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        fresh.status(),
        200,
        "a changed catalog is not answered from the old copy"
    );
    let fresh: serde_json::Value = fresh.json().await.unwrap();
    assert_eq!(fresh["title"], "Renamed");
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}
