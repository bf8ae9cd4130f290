//! The Open edX enrollment webhook over HTTP (courses spec 4.5, scenarios 43–44).

use chrono::Utc;
use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::{ChangeStatus, RunEnrollment};
use mitx_core::ids::CourseRunId;
use mitx_services::store::audit_log::Audit;
use mitx_services::store::service_tokens::{
    NewServiceToken, SCOPE_CATALOG_READ, SCOPE_OPENEDX_WEBHOOK, token_from_bytes,
};
use mitx_services::testing::{self, TestDb};
use serde_json::{Value, json};

use crate::auth::{databases, start_server};
use crate::learner::load_demo;

const PATH: &str = "/api/openedx_webhook/enrollment/";
const RUN: &str = "course-v1:MITx+6.00.1x+1T2026";

/// A service token with `scopes`; its secret.
async fn issue(db: &TestDb, name: &str, seed: u8, scopes: &[&str]) -> String {
    let secret = token_from_bytes(&[seed; 20]);
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let new = NewServiceToken::new(name, &secret, &scopes).unwrap();
    tx!(db.store, t => t.create_service_token(&new, &Audit::default(), Utc::now()).await).unwrap();
    secret
}

async fn send(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let client = crate::client();
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s43_enrollment_webhook_creates_then_finds_the_enrollment() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let user = testing::learner(&server.services, "instructor").await;
        let token = issue(&db, "edx-webhooks", 7, &[SCOPE_OPENEDX_WEBHOOK]).await;
        let url = format!("{}{PATH}", server.base);
        let calls = server.edx.calls().received;
        let body =
            json!({"email": "Instructor@Example.com", "course_id": RUN, "role": "instructor"});
        let (status, created) = send(reqwest::Method::POST, &url, Some(&token), Some(&body)).await;
        assert_eq!(status, 201, "{created}");
        let id = created["enrollment_id"].as_i64().expect("enrollment_id");
        assert_eq!(
            created,
            json!({"message": "Enrollment successful", "enrollment_id": id, "active": true, "edx_enrolled": true})
        );
        let run = db
            .store
            .enrollment_run_by_courseware_id(RUN)
            .await
            .unwrap()
            .unwrap();
        let row = db
            .store
            .run_enrollment(user, run.run.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.id.0, id);
        assert_eq!(row.enrollment.mode, EnrollmentMode::Audit);
        assert!(row.enrollment.active && row.enrollment.edx_enrolled);
        assert_eq!(
            db.store.enrollment_audit_trail(row.id).await.unwrap().len(),
            1
        );
        // A repeat finds it: 200, nothing written.
        let (status, again) = send(reqwest::Method::POST, &url, Some(&token), Some(&body)).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again, created);
        assert_eq!(
            db.store.enrollment_audit_trail(row.id).await.unwrap().len(),
            1
        );
        assert_eq!(server.edx.calls().received, calls, "no edX call");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_webhook_reactivates_and_refuses_unknowns() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let user = testing::learner(&server.services, "learner").await;
        let token = issue(&db, "edx-webhooks", 8, &[SCOPE_OPENEDX_WEBHOOK]).await;
        let url = format!("{}{PATH}", server.base);
        let run = db
            .store
            .enrollment_run_by_courseware_id(RUN)
            .await
            .unwrap()
            .unwrap();
        // An unenrolled verified row comes back active, mode kept.
        let mut row = RunEnrollment::new(user, CourseRunId(run.run.id.0), EnrollmentMode::Verified);
        row.active = false;
        row.change_status = Some(ChangeStatus::Unenrolled);
        tx!(db.store, t => t.save_enrollment(None, &row, None, Utc::now()).await).unwrap();
        let body = json!({"email": "learner@example.com", "course_id": RUN});
        let (status, done) = send(reqwest::Method::POST, &url, Some(&token), Some(&body)).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            (done["active"].clone(), done["edx_enrolled"].clone()),
            (json!(true), json!(true))
        );
        let saved = db
            .store
            .run_enrollment(user, run.run.id)
            .await
            .unwrap()
            .unwrap()
            .enrollment;
        assert_eq!(saved.change_status, None);
        assert_eq!(saved.mode, EnrollmentMode::Verified);
        // Unknown user and run.
        let (status, body) = send(
            reqwest::Method::POST,
            &url,
            Some(&token),
            Some(&json!({"email": "nobody@example.com", "course_id": RUN})),
        )
        .await;
        assert_eq!((status, body), (404, json!({"error": "User not found"})));
        let (status, body) = send(
            reqwest::Method::POST,
            &url,
            Some(&token),
            Some(&json!({"email": "learner@example.com", "course_id": "course-v1:X+Y+Z"})),
        )
        .await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"error": "Course run with id course-v1:X+Y+Z not found"})
            )
        );
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s44_enrollment_webhook_authentication_method_and_fields() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        testing::learner(&server.services, "instructor").await;
        let webhook = issue(&db, "edx-webhooks", 9, &[SCOPE_OPENEDX_WEBHOOK]).await;
        let catalog = issue(&db, "etl", 10, &[SCOPE_CATALOG_READ]).await;
        let url = format!("{}{PATH}", server.base);
        let body = json!({"email": "instructor@example.com", "course_id": RUN});
        let post = reqwest::Method::POST;
        let calls = server.edx.calls().received;
        // No token, a bearer token that is not ours, an unknown token: 401.
        let (status, answer) = send(post.clone(), &url, None, Some(&body)).await;
        assert_eq!(status, 401, "{answer}");
        assert!(answer["detail"].is_string());
        let (status, _) = send(post.clone(), &url, Some("some-oauth2-token"), Some(&body)).await;
        assert_eq!(status, 401);
        let unknown = token_from_bytes(&[99; 20]);
        let (status, answer) = send(post.clone(), &url, Some(&unknown), Some(&body)).await;
        assert_eq!((status, answer), (401, json!({"detail": "Invalid token."})));
        // A token without the scope (the "non-staff" caller): 403.
        let (status, answer) = send(post.clone(), &url, Some(&catalog), Some(&body)).await;
        assert_eq!(status, 403, "{answer}");
        assert!(answer["detail"].is_string());
        // Other methods: 405.
        let (status, _) = send(reqwest::Method::GET, &url, Some(&webhook), None).await;
        assert_eq!(status, 405);
        let (status, _) = send(reqwest::Method::PUT, &url, Some(&webhook), Some(&body)).await;
        assert_eq!(status, 405);
        // Missing fields, or no JSON: 400.
        let missing = json!({"error": "Missing required fields: email and course_id"});
        for bad in [
            json!({"email": "instructor@example.com"}),
            json!({"course_id": RUN}),
            json!({"email": "", "course_id": RUN}),
            json!([1, 2]),
        ] {
            let (status, answer) = send(post.clone(), &url, Some(&webhook), Some(&bad)).await;
            assert_eq!((status, answer), (400, missing.clone()), "{bad}");
        }
        let response = crate::client()
            .post(&url)
            .bearer_auth(&webhook)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(server.edx.calls().received, calls, "no edX call");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

/// Scenario 45: the certificate webhook fetches the grade and issues the certificate at
/// once for a verified learner, the certificate date of an instructor-paced run
/// notwithstanding; an audit learner gets none; both answers are 200 with an empty body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s45_certificate_webhook_issues_without_waiting_for_the_date() {
    const DATED: &str = "course-v1:MITx+14.100x+3T2026";
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let run = db
            .store
            .enrollment_run_by_courseware_id(DATED)
            .await
            .unwrap()
            .unwrap();
        assert!(!run.run.is_self_paced);
        assert!(run.run.certificate_available_date.unwrap() > Utc::now());
        let token = issue(&db, "edx-webhooks", 9, &[SCOPE_OPENEDX_WEBHOOK]).await;
        let url = format!("{}/api/openedx_webhook/certificate/", server.base);
        let mut names = Vec::new();
        for (name, mode) in [
            ("verifiedone", EnrollmentMode::Verified),
            ("auditone", EnrollmentMode::Audit),
        ] {
            let user = testing::learner(&server.services, name).await;
            mitx_services::enrollment::enroll(
                &server.services,
                user,
                &run,
                mitx_core::enrollment::EnrollRequest::new(mode, false),
                None,
                &|_, _| Ok(()),
            )
            .await
            .unwrap();
            let edx_name = db
                .store
                .edx_user(user)
                .await
                .unwrap()
                .and_then(|u| u.edx_username)
                .unwrap();
            server
                .edx
                .set_grade(DATED, &edx_name, 0.8, true, Some("Pass"));
            names.push((user, name));
        }
        let client = crate::client();
        for (user, name) in &names {
            let response = client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"email": format!("{name}@example.com"), "course_id": DATED}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(response.text().await.unwrap(), "");
            let certificates = db.store.course_certificates_of_user(*user).await.unwrap();
            let expected = usize::from(*name == "verifiedone");
            assert_eq!(certificates.len(), expected, "{name}");
        }
        // Errors keep the original's texts.
        let (status, body) = send(
            reqwest::Method::POST,
            &url,
            Some(&token),
            Some(&json!({"email": "nobody@example.com", "course_id": DATED})),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"error": "User with email 'nobody@example.com' not found."})
        );
        let (status, body) = send(
            reqwest::Method::POST,
            &url,
            Some(&token),
            Some(&json!({"email": "verifiedone@example.com", "course_id": "course-v1:MITx+X+Y"})),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"error": "Course run with id 'course-v1:MITx+X+Y' not found."})
        );
        let (status, body) = send(
            reqwest::Method::POST,
            &url,
            Some(&token),
            Some(&json!({"email": "a@b.c"})),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"error": "Both 'email' and 'course_id' are required."})
        );
        let (status, _) = send(reqwest::Method::POST, &url, None, Some(&json!({}))).await;
        assert_eq!(status, 401);
        let (status, _) = send(reqwest::Method::GET, &url, Some(&token), None).await;
        assert_eq!(status, 405);
        db.cleanup().await.unwrap();
    }
}
