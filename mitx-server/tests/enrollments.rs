//! The learner's course-run enrollments (courses spec 2.2, 2.3, 5.3–5.5).

use chrono::{Duration, Utc};
use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::{ChangeStatus, RunEnrollment};
use mitx_core::ids::CourseRunId;
use mitx_services::store::enrollments::SavedEnrollment;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};

use mitx_services::store::openedx::EdxApiAuth;
use mitx_services::testing;

use crate::auth::{databases, jdoe, start_server, start_with};
use crate::learner::{Learner, load_demo};

/// An enrollable run (open for at least another day) and a closed one.
async fn open_and_closed_runs(db: &TestDb) -> (i64, i64) {
    let now = Utc::now();
    let runs = db.store.list_runs().await.unwrap();
    let open = runs
        .iter()
        .find(|r| {
            r.live
                && r.start_date.is_some()
                && r.enrollment_start.is_some_and(|s| s <= now)
                && r.enrollment_end.is_none_or(|e| e > now + Duration::days(1))
        })
        .expect("an enrollable demo run");
    let closed = runs
        .iter()
        .find(|r| r.enrollment_end.is_some_and(|e| e < now))
        .expect("a closed demo run");
    (open.id, closed.id)
}

fn other() -> Value {
    json!({"sub": "11111111-2222-3333-4444-555555555555", "preferred_username": "other",
        "email": "other@example.com", "name": "Other"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s9_post_enrolls_and_lists_v1() {
    for db in databases().await {
        load_demo(&db).await;
        let (open, _) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        let (status, created) = me
            .post("/api/v1/enrollments/", &json!({"run_id": open}))
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["enrollment_mode"], "audit");
        assert_eq!(created["run"]["id"], open);
        assert_eq!(created["edx_emails_subscription"], true);
        assert_eq!(created["grades"], json!([]));
        assert!(
            created["run"]["course"]["readable_id"].is_string(),
            "{created}"
        );
        assert_eq!(created["run"]["is_enrollable"], true);
        // Re-posting succeeds with the same enrollment.
        let (status, again) = me
            .post("/api/v1/enrollments/", &json!({"run_id": open.to_string()}))
            .await;
        assert_eq!(status, 201, "{again}");
        assert_eq!(again["id"], created["id"]);
        let (status, list) = me.get("/api/v1/enrollments/").await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["id"], created["id"]);
        // edX (the fake) confirmed it.
        let row = db
            .store
            .run_enrollment(user, CourseRunId(open))
            .await
            .unwrap()
            .unwrap();
        assert!(row.enrollment.active && row.enrollment.edx_enrolled);
        // Another learner sees none of it.
        let them = Learner::new(&base, &other());
        assert_eq!(them.get("/api/v1/enrollments/").await.1, json!([]));
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_refuses_unknown_closed_and_missing_runs() {
    for db in databases().await {
        load_demo(&db).await;
        let (_, closed) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        let (status, body) = me
            .post("/api/v1/enrollments/", &json!({"run_id": 987654}))
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errors": {"run_id": "Invalid course run id: 987654"}})
        );
        let (status, body) = me
            .post("/api/v1/enrollments/", &json!({"run_id": closed}))
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errors": {"run_id": format!("Course run is not open for enrollment: {closed}")}})
        );
        let (status, body) = me.post("/api/v1/enrollments/", &json!({})).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errors": {"run_id": ["This field is required."]}})
        );
        let (status, body) = me
            .post("/api/v1/enrollments/", &json!({"run_id": "x"}))
            .await;
        assert_eq!(status, 400, "{body}");
        let response = me
            .client
            .post(format!("{base}/api/v1/enrollments/"))
            .header("X-Userinfo", &me.header)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(db.store.active_enrollments(user).await.unwrap().is_empty());
        // An active enrollment in a closed run may be re-posted.
        let now = Utc::now();
        let row = RunEnrollment::new(user, CourseRunId(closed), EnrollmentMode::Audit);
        let saved = tx!(db.store, t => t.save_enrollment(None, &row, None, now).await).unwrap();
        assert!(matches!(saved, SavedEnrollment::Saved(_)));
        let (status, body) = me
            .post("/api/v1/enrollments/", &json!({"run_id": closed}))
            .await;
        assert_eq!(status, 201, "{body}");
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s16_delete_deactivates_own_active_enrollment() {
    for db in databases().await {
        load_demo(&db).await;
        let (open, _) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        let (_, created) = me
            .post("/api/v1/enrollments/", &json!({"run_id": open}))
            .await;
        let id = created["id"].as_i64().unwrap();
        let them = Learner::new(&base, &other());
        assert_eq!(
            them.delete(&format!("/api/v1/enrollments/{id}/")).await.0,
            404
        );
        assert_eq!(me.delete("/api/v1/enrollments/nope/").await.0, 404);
        assert_eq!(
            me.delete(&format!("/api/v1/enrollments/{id}/")).await.0,
            204
        );
        let row = db
            .store
            .run_enrollment(user, CourseRunId(open))
            .await
            .unwrap()
            .unwrap();
        assert!(!row.enrollment.active);
        assert_eq!(row.enrollment.change_status, Some(ChangeStatus::Unenrolled));
        assert_eq!(me.get("/api/v1/enrollments/").await.1, json!([]));
        // Inactive rows are not addressable.
        assert_eq!(
            me.delete(&format!("/api/v1/enrollments/{id}/")).await.0,
            404
        );
        // Enrolling again reactivates the same row.
        let (status, again) = me
            .post("/api/v1/enrollments/", &json!({"run_id": open}))
            .await;
        assert_eq!(status, 201);
        assert_eq!(again["id"], id);
        let row = db
            .store
            .run_enrollment(user, CourseRunId(open))
            .await
            .unwrap()
            .unwrap();
        assert!(row.enrollment.active && row.enrollment.change_status.is_none());
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_posts_make_one_enrollment() {
    for db in databases().await {
        load_demo(&db).await;
        let (open, _) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let client = crate::client();
            let url = format!("{base}/api/v1/enrollments/");
            let header = me.header.clone();
            tasks.push(tokio::spawn(async move {
                let response = client
                    .post(url)
                    .header("X-Userinfo", header)
                    .json(&json!({"run_id": open}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body)
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, 201, "{body}");
            ids.insert(body["id"].as_i64().unwrap());
        }
        assert_eq!(ids.len(), 1, "{ids:?}");
        let rows = db.store.active_enrollments(user).await.unwrap();
        assert_eq!(rows.len(), 1);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_and_v3_shapes() {
    for db in databases().await {
        load_demo(&db).await;
        let (open, _) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let (status, created) = me
            .post("/api/v2/enrollments/", &json!({"run_id": open}))
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["b2b_contract_id"], Value::Null);
        assert_eq!(created["b2b_organization_id"], Value::Null);
        assert!(created["run"]["products"].is_array());
        let (_, v2) = me.get("/api/v2/enrollments/?exclude_b2b=true").await;
        assert_eq!(v2.as_array().unwrap().len(), 1);
        let (status, bad) = me.get("/api/v2/enrollments/?exclude_b2b=maybe").await;
        assert_eq!(status, 400, "{bad}");
        let (_, v3) = me.get("/api/v3/enrollments/").await;
        assert_eq!(v3.as_array().unwrap().len(), 1);
        let item = &v3[0];
        assert_eq!(item["run"]["course"]["type"], "course");
        assert!(item["run"].get("upgrade_product_id").is_some());
        assert!(item.get("approved_flexible_price_exists").is_none());
        let id = item["id"].as_i64().unwrap();
        let (status, one) = me.get(&format!("/api/v3/enrollments/{id}/")).await;
        assert_eq!(status, 200);
        assert_eq!(one["id"], id);
        assert_eq!(
            me.delete(&format!("/api/v3/enrollments/{id}/")).await.0,
            204
        );
        assert_eq!(me.get(&format!("/api/v3/enrollments/{id}/")).await.0, 404);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

/// The enrollment responses conform to the reference contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_follow_the_reference_contract() {
    let Some(path) = crate::contract::reference_path() else {
        return;
    };
    let contract = crate::contract::Contract::load(&path);
    let db = TestDb::sqlite().await.unwrap();
    load_demo(&db).await;
    let (open, _) = open_and_closed_runs(&db).await;
    let (base, stop) = start_with(&db, true).await;
    let me = Learner::new(&base, &jdoe());
    let (_, created) = me
        .post("/api/v1/enrollments/", &json!({"run_id": open}))
        .await;
    let mut report = Vec::new();
    report.push(("/api/v1/enrollments/", "post", 201, created));
    report.push((
        "/api/v1/enrollments/",
        "get",
        200,
        me.get("/api/v1/enrollments/").await.1,
    ));
    report.push((
        "/api/v2/enrollments/",
        "get",
        200,
        me.get("/api/v2/enrollments/").await.1,
    ));
    report.push((
        "/api/v3/enrollments/",
        "get",
        200,
        me.get("/api/v3/enrollments/").await.1,
    ));
    report.push((
        "/api/v0/users/me",
        "get",
        200,
        me.get("/api/v0/users/me").await.1,
    ));
    report.push((
        "/api/v0/countries/",
        "get",
        200,
        me.get("/api/v0/countries/").await.1,
    ));
    for (path, method, status, body) in &report {
        let errors = contract.check_known(path, method, *status, body);
        assert_eq!(errors, Vec::<String>::new(), "{method} {path}");
    }
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_post_skips_the_window_check() {
    for db in databases().await {
        load_demo(&db).await;
        let (_, closed) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let (status, body) = me
            .post("/api/v1/enrollments/", &json!({"run_id": closed}))
            .await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = me
            .post("/api/v3/enrollments/", &json!({"run_id": closed}))
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["run"]["id"], closed);
        assert_eq!(body["run"]["course"]["type"], "course");
        let (status, body) = me
            .post("/api/v3/enrollments/", &json!({"run_id": 999_999}))
            .await;
        assert_eq!(
            (status, body),
            (
                400,
                json!({"errors": {"run_id": "Invalid course run id: 999999"}})
            )
        );
        let (status, body) = me.post("/api/v3/enrollments/", &json!({})).await;
        assert_eq!(
            (status, body),
            (
                400,
                json!({"errors": {"run_id": ["This field is required."]}})
            )
        );
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_changes_edx_email_settings_with_the_learners_token() {
    let db = TestDb::sqlite().await.unwrap();
    load_demo(&db).await;
    let (open, _) = open_and_closed_runs(&db).await;
    let server = start_server(&db, true, false, &[]).await;
    let me = Learner::new(&server.base, &jdoe());
    let them = Learner::new(&server.base, &other());
    let user = me.id().await;
    let (_, created) = me
        .post("/api/v1/enrollments/", &json!({"run_id": open}))
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/enrollments/{id}/");
    for (body, field_error) in [
        (json!({}), "This field is required."),
        (
            json!({"receive_emails": "maybe"}),
            "Must be a valid boolean.",
        ),
        (
            json!({"receive_emails": [true]}),
            "Must be a valid boolean.",
        ),
    ] {
        let (status, answer) = me.patch(&path, &body).await;
        assert_eq!(
            (status, answer),
            (400, json!({"errors": {"receive_emails": [field_error]}})),
            "{body}"
        );
    }
    assert_eq!(
        them.patch(&path, &json!({"receive_emails": true})).await.0,
        404
    );
    // Without the learner's own edX token: 400 with a message saying why; nothing changed.
    let (status, answer) = me.patch(&path, &json!({"receive_emails": false})).await;
    assert_eq!(status, 400);
    assert!(
        answer.as_str().unwrap().contains("no Open edX API token"),
        "{answer}"
    );
    let (_, list) = me.get("/api/v1/enrollments/").await;
    assert_eq!(list[0]["edx_emails_subscription"], true);
    // With tokens (as migrated from the original): edX unsubscribes, the row follows.
    let username = db
        .store
        .edx_user(user)
        .await
        .unwrap()
        .unwrap()
        .edx_username
        .unwrap();
    let (access, refresh) = server.edx.issue_tokens(&username);
    let store = testing::database(&server.services);
    tx!(store, t => t.save_edx_api_auth(user, &EdxApiAuth {
        refresh_token: refresh,
        access_token: Some(access),
        access_token_expires_on: Some(Utc::now() + Duration::hours(1)),
    }, Utc::now()).await)
    .unwrap();
    let course = db
        .store
        .enrollment_run(CourseRunId(open))
        .await
        .unwrap()
        .unwrap();
    let key = course.run.courseware_id.as_str().to_owned();
    let (status, answer) = me.patch(&path, &json!({"receive_emails": false})).await;
    assert_eq!((status, answer), (200, json!(true)));
    assert!(
        !server
            .edx
            .enrollment(&username, &key)
            .unwrap()
            .receive_emails
    );
    let (_, list) = me.get("/api/v1/enrollments/").await;
    assert_eq!(list[0]["edx_emails_subscription"], false);
    // An expired access token is refreshed first.
    let auth = db.store.edx_api_auth(user).await.unwrap().unwrap();
    tx!(store, t => t.save_edx_api_auth(user, &EdxApiAuth {
        access_token_expires_on: Some(Utc::now() - Duration::minutes(1)),
        ..auth
    }, Utc::now()).await)
    .unwrap();
    let (status, answer) = me.patch(&path, &json!({"receive_emails": true})).await;
    assert_eq!((status, answer), (200, json!(true)));
    assert_eq!(server.edx.calls().token_refreshes, 1);
    assert!(
        server
            .edx
            .enrollment(&username, &key)
            .unwrap()
            .receive_emails
    );
    let (_, list) = me.get("/api/v1/enrollments/").await;
    assert_eq!(list[0]["edx_emails_subscription"], true);
    let _ = server.stop.send(());
    db.cleanup().await.unwrap();
}

fn user_message(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("user-message="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_enrollment_redirects_with_a_message() {
    for db in databases().await {
        load_demo(&db).await;
        let (open, closed) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        let referer = "https://mitxonline.mit.edu/courses/some-course/";
        // Unknown or missing run: back to the Referer, no message, nothing written.
        for body in ["run=999999", "run=abc", "", "run=%ff"] {
            let response = me.form("/enrollments/", body, Some(referer)).await;
            assert_eq!(response.status(), 302, "{body}");
            assert_eq!(response.headers()["location"], "/courses/some-course/");
            assert_eq!(user_message(&response), None);
        }
        assert!(db.store.active_enrollments(user).await.unwrap().is_empty());
        // Success: the dashboard, with the course title in the message.
        let response = me
            .form("/enrollments/", &format!("run={open}"), Some(referer))
            .await;
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], "/dashboard/");
        let message = user_message(&response).unwrap();
        assert!(
            message.starts_with("%7B%22type%22%3A%22enrolled%22%2C%22run%22%3A%22"),
            "{message}"
        );
        let rows = db.store.active_enrollments(user).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(
            message.contains(
                &rows[0]
                    .run
                    .course_title
                    .replace(' ', "%20")
                    .replace(',', "%2C")
            )
        );
        // `isapi`: 200 Ok/Fail instead of a redirect; the form refuses a closed run as the
        // API does (back to the Referer with `enroll-failed`), and writes nothing.
        let response = me
            .form("/enrollments/", &format!("run={closed}&isapi=1"), None)
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "Fail");
        let response = me
            .form("/enrollments/", &format!("run={closed}"), Some(referer))
            .await;
        assert_eq!(response.headers()["location"], "/courses/some-course/");
        assert_eq!(
            user_message(&response).unwrap(),
            "%7B%22type%22%3A%22enroll-failed%22%7D"
        );
        assert!(
            db.store
                .run_enrollment(user, CourseRunId(closed))
                .await
                .unwrap()
                .is_none()
        );
        let response = me
            .form("/enrollments/", &format!("run={open}&isapi=1"), None)
            .await;
        assert_eq!(response.text().await.unwrap(), "Ok");
        // A verified enrollment: duplicated.
        db.store
            .execute_raw(&format!(
                "UPDATE course_run_enrollments SET enrollment_mode = 'verified' WHERE user_id = {} AND run_id = {open}",
                user.0
            ))
            .await
            .unwrap();
        let response = me
            .form("/enrollments/", &format!("run={open}"), Some(referer))
            .await;
        assert_eq!(response.headers()["location"], "/dashboard/");
        assert_eq!(
            user_message(&response).unwrap(),
            "%7B%22type%22%3A%22enroll-duplicated%22%7D"
        );
        // A blocked country: back to the Referer.
        let course = db.store.catalog_run_course_id(open).await.unwrap().unwrap();
        db.store
            .execute_raw(&format!(
                "INSERT INTO blocked_countries (course_id, country) VALUES ({course}, 'IR')"
            ))
            .await
            .unwrap();
        db.store
            .execute_raw(&format!(
                "UPDATE legal_addresses SET country = 'IR' WHERE user_id = {}",
                user.0
            ))
            .await
            .unwrap();
        let response = me
            .form(
                "/enrollments/",
                &format!("run={open}"),
                Some("//evil.example/x"),
            )
            .await;
        assert_eq!(response.headers()["location"], "/");
        assert_eq!(
            user_message(&response).unwrap(),
            "%7B%22type%22%3A%22enroll-blocked%22%7D"
        );
        let response = me
            .form("/enrollments/", &format!("run={open}&isapi"), None)
            .await;
        assert_eq!(response.text().await.unwrap(), "Fail");
        // Anonymous: refused.
        let anonymous = crate::client()
            .post(format!("{base}/enrollments/"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("run={open}"))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 403);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_items_follow_catalog_changes() {
    for db in databases().await {
        load_demo(&db).await;
        let (open, _) = open_and_closed_runs(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        assert_eq!(
            me.post("/api/v1/enrollments/", &json!({"run_id": open}))
                .await
                .0,
            201
        );
        let (_, before) = me.get("/api/v2/enrollments/").await;
        let course = before[0]["run"]["course"]["id"].as_i64().unwrap();
        assert_ne!(before[0]["run"]["course"]["title"], "Renamed course");
        // A catalog write moves the revision: the next list shows it (the courses are
        // kept per revision, not for a time).
        db.store
            .execute_raw(&format!(
                "UPDATE courses SET title = 'Renamed course' WHERE id = {course}"
            ))
            .await
            .unwrap();
        for version in ["v1", "v2", "v3"] {
            let (_, after) = me.get(&format!("/api/{version}/enrollments/")).await;
            assert_eq!(
                after[0]["run"]["course"]["title"], "Renamed course",
                "{version}"
            );
        }
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_refuses_what_the_api_refuses() {
    for db in databases().await {
        load_demo(&db).await;
        let (open, closed) = open_and_closed_runs(&db).await;
        let now = Utc::now();
        let mut others = db.store.list_runs().await.unwrap().into_iter().filter(|r| {
            r.id != open
                && r.live
                && r.start_date.is_some()
                && r.enrollment_start.is_some_and(|s| s <= now)
                && r.enrollment_end.is_none_or(|e| e > now + Duration::days(1))
        });
        let b2b = others.next().expect("a second open run").id;
        let not_live = others.next().expect("a third open run").id;
        db.store
            .execute_raw(&format!(
                "UPDATE course_runs SET b2b_contract_id = 1 WHERE id = {b2b}"
            ))
            .await
            .unwrap();
        db.store
            .execute_raw(&format!(
                "UPDATE course_runs SET live = FALSE WHERE id = {not_live}"
            ))
            .await
            .unwrap();
        let (base, stop) = start_with(&db, true).await;
        let me = Learner::new(&base, &jdoe());
        let user = me.id().await;
        for run in [b2b, not_live, closed] {
            let (status, body) = me
                .post("/api/v1/enrollments/", &json!({"run_id": run}))
                .await;
            assert_eq!(status, 400, "API, run {run}: {body}");
            let response = me
                .form("/enrollments/", &format!("run={run}&isapi=1"), None)
                .await;
            assert_eq!(response.status(), 200);
            assert_eq!(response.text().await.unwrap(), "Fail", "form, run {run}");
            assert!(
                db.store
                    .run_enrollment(user, CourseRunId(run))
                    .await
                    .unwrap()
                    .is_none(),
                "run {run}: nothing written"
            );
        }
        // And both accept the open run.
        let response = me
            .form("/enrollments/", &format!("run={open}&isapi=1"), None)
            .await;
        assert_eq!(response.text().await.unwrap(), "Ok");
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}
