//! The learner's program enrollments (courses spec 2.4, 5.5; scenarios 18–20).

use chrono::Utc;
use mitx_core::ids::ProgramId;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_with};
use crate::learner::{Learner, load_demo};

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
        assert_eq!((status, body.as_str()), (204, Some("")));
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
        let client = crate::client();
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

/// A live demo program and an enrollable run of one of its courses, plus an enrollable run
/// of a course outside it.
async fn program_with_runs(db: &TestDb) -> (i64, i64, i64) {
    let now = Utc::now();
    let programs = db
        .store
        .catalog_programs(&[live_program(db).await])
        .await
        .unwrap();
    let program = &programs[0];
    let inside: Vec<i64> = program
        .requirements
        .iter()
        .filter_map(|n| n.course_id)
        .collect();
    let runs = db.store.list_runs().await.unwrap();
    let enrollable = |r: &&mitx_services::store::catalog::RunRow| {
        r.live
            && r.start_date.is_some()
            && r.enrollment_start.is_some_and(|s| s <= now)
            && r.enrollment_end
                .is_none_or(|e| e > now + chrono::Duration::days(1))
    };
    let course_of =
        |run: i64| async move { db.store.catalog_run_course_id(run).await.unwrap().unwrap() };
    let mut run_in = None;
    let mut run_out = None;
    for run in runs.iter().filter(enrollable) {
        let course = course_of(run.id).await;
        if inside.contains(&course) {
            run_in.get_or_insert(run.id);
        } else {
            run_out.get_or_insert(run.id);
        }
    }
    (
        program.id,
        run_in.expect("a run in the program"),
        run_out.expect("a run outside"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_details_list_the_program_with_its_run_enrollments() {
    for db in databases().await {
        load_demo(&db).await;
        let (program, run_in, run_out) = program_with_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        for version in ["v1", "v2"] {
            let (status, body) = me
                .get(&format!("/api/{version}/program_enrollments/"))
                .await;
            assert_eq!((status, body), (200, json!([])), "{version}");
        }
        assert_eq!(me.post(PATH, &json!({"program_id": program})).await.0, 201);
        assert_eq!(
            me.post("/api/v1/enrollments/", &json!({"run_id": run_in}))
                .await
                .0,
            201
        );
        assert_eq!(
            me.post("/api/v1/enrollments/", &json!({"run_id": run_out}))
                .await
                .0,
            201
        );
        for version in ["v1", "v2"] {
            let (status, list) = me
                .get(&format!("/api/{version}/program_enrollments/"))
                .await;
            assert_eq!(status, 200, "{version}: {list}");
            let items = list.as_array().unwrap();
            assert_eq!(items.len(), 1, "{version}");
            assert_eq!(items[0]["program"]["id"], program);
            assert_eq!(items[0]["certificate"], Value::Null);
            let runs: Vec<&Value> = items[0]["enrollments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["run"]["id"])
                .collect();
            // Only the run of the program's course, not the other one.
            assert_eq!(runs, vec![&json!(run_in)], "{version}");
            let (status, one) = me
                .get(&format!("/api/{version}/program_enrollments/{program}/"))
                .await;
            assert_eq!(status, 200);
            assert_eq!(one, items[0]);
            // v1 items carry the v1 program (with `courses` as objects), v2 the V2Program.
            if version == "v1" {
                assert!(items[0]["program"]["courses"][0].is_object());
            } else {
                assert!(items[0]["program"]["courses"][0].is_i64());
                assert!(items[0]["enrollments"][0]["run"]["course"]["availability"].is_string());
            }
        }
        // Unknown or non-numeric ids; a program the learner is not enrolled in.
        for path in ["999999", "abc"] {
            assert_eq!(
                me.get(&format!("/api/v2/program_enrollments/{path}/"))
                    .await
                    .0,
                404
            );
            assert_eq!(
                me.delete(&format!("/api/v1/program_enrollments/{path}/"))
                    .await
                    .0,
                404
            );
        }
        // DELETE answers the remaining list (here: empty), and is a no-op the second time.
        let (status, after) = me
            .delete(&format!("/api/v2/program_enrollments/{program}/"))
            .await;
        assert_eq!((status, after), (200, json!([])));
        let (status, after) = me
            .delete(&format!("/api/v1/program_enrollments/{program}/"))
            .await;
        assert_eq!((status, after), (200, json!([])));
        assert_eq!(
            me.get(&format!("/api/v2/program_enrollments/{program}/"))
                .await
                .0,
            404
        );
        // Anonymous callers are refused.
        let anonymous = reqwest::get(format!("{base}/api/v1/program_enrollments/"))
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 403);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_delete_of_a_purchased_program_is_refused_and_the_certificate_shows() {
    for db in databases().await {
        load_demo(&db).await;
        let (program, _, _) = program_with_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        assert_eq!(me.post(PATH, &json!({"program_id": program})).await.0, 201);
        let now = "2026-01-01T00:00:00Z";
        db.store
            .execute_raw(&format!(
                "INSERT INTO program_certificates (user_id, program_id, uuid, is_revoked, issue_date, created_on, updated_on) \
                 VALUES ({}, {program}, 'aaaaaaaa-0000-4000-8000-000000000001', FALSE, '{now}', '{now}', '{now}')",
                user.0
            ))
            .await
            .unwrap();
        let (_, list) = me.get("/api/v2/program_enrollments/").await;
        assert_eq!(
            list[0]["certificate"],
            json!({"uuid": "aaaaaaaa-0000-4000-8000-000000000001",
                   "link": "/certificate/program/aaaaaaaa-0000-4000-8000-000000000001/"})
        );
        let (_, v3) = me.get(PATH).await;
        assert_eq!(v3[0]["certificate"], list[0]["certificate"]);
        db.store
            .insert_paid_program_fixture(user, ProgramId(program), "fulfilled", Utc::now())
            .await
            .unwrap();
        let (status, body) = me
            .delete(&format!("/api/v2/program_enrollments/{program}/"))
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"message": "Cannot unenroll from a purchased program, contact support."})
        );
        assert_eq!(
            me.get("/api/v1/program_enrollments/")
                .await
                .1
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}
