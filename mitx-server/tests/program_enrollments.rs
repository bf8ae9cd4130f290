//! The learner's program enrollments (courses spec 2.4, 5.5; scenarios 18–20).

use chrono::Utc;
use mitx_core::ids::{ProgramId, UserId};
use mitx_store::testing::TestDb;
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_with, userinfo};

async fn load_demo(db: &TestDb) {
    let data = serde_json::from_str(include_str!("../../fixtures/demo/catalog.json")).unwrap();
    db.store.import_catalog(&data, Utc::now()).await.unwrap();
}

/// A live demo program's id.
async fn live_program(db: &TestDb) -> i64 {
    db.store
        .list_programs()
        .await
        .unwrap()
        .iter()
        .find(|p| p.live)
        .expect("a live demo program")
        .id
}

struct Learner {
    client: reqwest::Client,
    base: String,
    header: String,
}

impl Learner {
    fn new(base: &str, claims: &Value) -> Learner {
        Learner {
            client: reqwest::Client::new(),
            base: base.to_owned(),
            header: userinfo(claims),
        }
    }

    async fn id(&self) -> UserId {
        let (_, body) = self.get("/api/v0/users/me").await;
        UserId(body["id"].as_i64().expect("signed in"))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("X-Userinfo", &self.header)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-Userinfo", &self.header)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn delete(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .delete(format!("{}{path}", self.base))
            .header("X-Userinfo", &self.header)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

const PATH: &str = "/api/v3/program_enrollments/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s20_post_program_enrollment_v3() {
    for db in databases().await {
        load_demo(&db).await;
        let program = live_program(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        let (status, created) = me.post(PATH, &json!({"program_id": program})).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["enrollment_mode"], "audit");
        assert_eq!(created["certificate"], Value::Null);
        assert_eq!(created["program"]["id"], program);
        for key in [
            "title",
            "readable_id",
            "program_type",
            "live",
            "display_mode",
        ] {
            assert!(created["program"].get(key).is_some(), "{key}: {created}");
        }
        // Repeat: 200 with the same enrollment, still one row.
        let (status, again) = me.post(PATH, &json!({"program_id": program})).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again, created);
        let (status, list) = me.get(PATH).await;
        assert_eq!(status, 200);
        assert_eq!(list, json!([created]));
        let (status, one) = me.get(&format!("{PATH}{program}/")).await;
        assert_eq!((status, one), (200, created.clone()));
        // Unknown and non-live programs are refused.
        let (status, body) = me.post(PATH, &json!({"program_id": 999999})).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errors": {"program_id": ["Invalid program_id: 999999"]}})
        );
        let hidden = db
            .store
            .insert_program_fixture("program-v1:Test+Hidden", &[], Utc::now())
            .await
            .unwrap();
        db.store
            .set_program_live_fixture(hidden, false)
            .await
            .unwrap();
        let (status, body) = me.post(PATH, &json!({"program_id": hidden.0})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body,
            json!({"errors": {"program_id": [format!("Invalid program_id: {}", hidden.0)]}})
        );
        let (status, body) = me.post(PATH, &json!({})).await;
        assert_eq!(status, 400, "{body}");
        let (status, _) = me.post(PATH, &json!({"program_id": "x"})).await;
        assert_eq!(status, 400);
        assert!(
            db.store
                .program_enrollment(user, hidden)
                .await
                .unwrap()
                .is_none()
        );
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s19_delete_program_enrollment_v3() {
    for db in databases().await {
        load_demo(&db).await;
        let program = live_program(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        // No enrollment: 204 with an empty body; unknown program: 404.
        let (status, body) = me.delete(&format!("{PATH}{program}/")).await;
        assert_eq!((status, body.as_str()), (204, ""));
        let (status, _) = me.delete(&format!("{PATH}999999/")).await;
        assert_eq!(status, 404);
        let (status, _) = me.delete(&format!("{PATH}abc/")).await;
        assert_eq!(status, 404);
        // Enrolled: deactivated with change status unenrolled; repeating is a no-op.
        let (status, _) = me.post(PATH, &json!({"program_id": program})).await;
        assert_eq!(status, 201);
        let (status, _) = me.delete(&format!("{PATH}{program}/")).await;
        assert_eq!(status, 204);
        let row = db
            .store
            .program_enrollment(user, ProgramId(program))
            .await
            .unwrap()
            .unwrap();
        assert!(!row.enrollment.active);
        assert_eq!(
            row.enrollment.change_status.map(|c| c.as_str()),
            Some("unenrolled")
        );
        assert_eq!(me.get(PATH).await.1, json!([]));
        let (status, _) = me.delete(&format!("{PATH}{program}/")).await;
        assert_eq!(status, 204);
        // Enrolling again reactivates the row (201).
        let (status, body) = me.post(PATH, &json!({"program_id": program})).await;
        assert_eq!(status, 201, "{body}");
        let again = db
            .store
            .program_enrollment(user, ProgramId(program))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, row.id);
        assert!(again.enrollment.active && again.enrollment.change_status.is_none());
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s18_purchased_program_cannot_be_unenrolled_v3() {
    for db in databases().await {
        load_demo(&db).await;
        let program = live_program(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        let (status, _) = me.post(PATH, &json!({"program_id": program})).await;
        assert_eq!(status, 201);
        // A pending order does not count as purchased.
        db.store
            .insert_paid_program_fixture(user, ProgramId(program), "pending", Utc::now())
            .await
            .unwrap();
        assert!(
            !db.store
                .has_fulfilled_paid_program(user, ProgramId(program))
                .await
                .unwrap()
        );
        db.store
            .insert_paid_program_fixture(user, ProgramId(program), "fulfilled", Utc::now())
            .await
            .unwrap();
        let response = me
            .client
            .delete(format!("{base}{PATH}{program}/"))
            .header("X-Userinfo", &me.header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "Cannot unenroll from a purchased program, contact support."})
        );
        let row = db
            .store
            .program_enrollment(user, ProgramId(program))
            .await
            .unwrap()
            .unwrap();
        assert!(row.enrollment.active);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_program_enrollment_posts_make_one_row() {
    for db in databases().await {
        load_demo(&db).await;
        let program = live_program(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = std::sync::Arc::new(Learner::new(&base, &jdoe()));
        let user = me.id().await;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let me = me.clone();
            tasks.push(tokio::spawn(async move {
                me.post(PATH, &json!({"program_id": program})).await.0
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 201),
            "{statuses:?}"
        );
        assert!(statuses.contains(&201));
        let rows = db.store.active_program_enrollments(user).await.unwrap();
        assert_eq!(rows.len(), 1);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_enrollments_need_authentication() {
    for db in databases().await {
        let (base, stop) = start_with(&db, true).await;
        let client = reqwest::Client::new();
        let status = client
            .get(format!("{base}{PATH}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(status == 401 || status == 403, "{status}");
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}
