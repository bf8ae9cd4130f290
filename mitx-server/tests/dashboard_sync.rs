//! `SYNC_ON_DASHBOARD_LOAD` (courses spec 2.11): the v1 and v2 enrollment lists reconcile
//! with Open edX first; v1 swallows sync errors, v2 answers them unless
//! `IGNORE_EDX_FAILURES`.

use serde_json::json;

use crate::auth::{databases, jdoe, start_server};
use crate::learner::{Learner, load_demo};

const OPEN: &str = "course-v1:MITx+6.00.1x+1T2026";
const EDX_ONLY: &str = "course-v1:MITx+18.06x+1T2026";

/// Enrolls jdoe in OPEN through the API and puts an edX-only enrollment in EDX_ONLY.
async fn setup(
    base: &str,
    db: &mitx_services::testing::TestDb,
    edx: &mitx_services::testing::FakeEdx,
) -> Learner {
    let me = Learner::new(base, &jdoe());
    let run = db
        .store
        .enrollment_run_by_courseware_id(OPEN)
        .await
        .unwrap()
        .unwrap();
    let (status, body) = me
        .post("/api/v1/enrollments/", &json!({"run_id": run.run.id.0}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (username, _, _) = edx
        .enrollments()
        .into_iter()
        .find(|(_, course, _)| course == OPEN)
        .expect("edX has the enrollment");
    edx.put_enrollment(&username, EDX_ONLY, "audit", true);
    me
}

fn keys(list: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["run"]["courseware_id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_lists_sync_with_edx_only_when_asked() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let me = setup(&server.base, &db, &server.edx).await;
        let finds = server.edx.calls().finds;
        let (status, list) = me.get("/api/v1/enrollments/").await;
        assert_eq!(status, 200);
        assert_eq!(keys(&list), vec![OPEN.to_owned()], "no sync by default");
        assert_eq!(server.edx.calls().finds, finds);
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_sync_adds_edx_enrollments_and_handles_failures_per_version() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[("SYNC_ON_DASHBOARD_LOAD", "true")]).await;
        let me = setup(&server.base, &db, &server.edx).await;
        let (status, list) = me.get("/api/v2/enrollments/").await;
        assert_eq!(status, 200, "{list}");
        let mut both = vec![OPEN.to_owned(), EDX_ONLY.to_owned()];
        both.sort();
        assert_eq!(keys(&list), both, "the edX-only enrollment was created");
        // edX down: v1 lists anyway, v2 answers the error (JSON).
        server.edx.set_failing(Some(503));
        let (status, list) = me.get("/api/v1/enrollments/").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(keys(&list), both);
        let (status, body) = me.get("/api/v2/enrollments/").await;
        assert_eq!(status, 503, "{body}");
        assert!(body["detail"].is_string());
        // v3 never syncs.
        let (status, _) = me.get("/api/v3/enrollments/").await;
        assert_eq!(status, 200);
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_sync_failures_are_ignored_in_v2_with_ignore_edx_failures() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, true, &[("SYNC_ON_DASHBOARD_LOAD", "true")]).await;
        let me = setup(&server.base, &db, &server.edx).await;
        server.edx.set_failing(Some(503));
        let (status, list) = me.get("/api/v2/enrollments/").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(keys(&list), vec![OPEN.to_owned()]);
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}
