//! Certificates, verifiable credentials and learner records over HTTP (courses spec 3.5,
//! 3.8, 3.9, 5.4, 5.6; scenarios 36, 37, 50), on SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use mitx_core::ids::{CourseId, CourseRunId, ProgramId, UserId};
use mitx_services::certificates::set_revocation;
use mitx_services::credentials;
use mitx_services::jobs::{self, CredentialJob, worker};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::certificates::CertifiedFor;
use mitx_services::store::jobs::JobFilter;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_server};
use crate::learner::Learner;

const COURSE: &str = "course-v1:MITx+14.100x";
const RUN: &str = "course-v1:MITx+14.100x+3T2025";
const PROGRAM: &str = "program-v1:MITx+DEDP";
const CERT: &str = "0b0c0d0e-0000-4000-8000-0000000000c1";
const PROGRAM_CERT: &str = "0b0c0d0e-0000-4000-8000-0000000000c2";
const FUTURE_CERT: &str = "0b0c0d0e-0000-4000-8000-0000000000c3";
/// RFC 8032 test key 1's seed (tests only).
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// The demo catalog with a certificate page on 14.100x and on the DEDP program.
fn catalog_with_pages(criteria: &str) -> Value {
    let mut data: Value =
        serde_json::from_str(include_str!("../../fixtures/demo/catalog.json")).unwrap();
    let page = json!({
        "title": "Certificate",
        "product_name": "Microeconomics",
        "CEUs": "1.5",
        "signatory_items": [{"name": "Prof. Jane Roe", "title_1": "Professor", "organization": "MIT"}],
        "should_provision_verifiable_credential": true,
        "verifiable_credential_criteria": criteria,
    });
    for course in data["courses"].as_array_mut().unwrap() {
        if course["readable_id"] == COURSE {
            course["certificate_page"] = page.clone();
        }
    }
    for program in data["programs"].as_array_mut().unwrap() {
        if program["readable_id"] == PROGRAM {
            program["certificate_page"] = page.clone();
        }
    }
    data
}

async fn import(db: &TestDb, data: &Value) -> Value {
    let data = serde_json::from_value(data.clone()).unwrap();
    let summary = tx!(db.store, t => t.import_catalog(&data, Utc::now()).await).unwrap();
    serde_json::to_value(summary).unwrap()
}

fn page_count(summary: &Value, key: &str) -> i64 {
    summary["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "certificate pages")
        .map_or(0, |k| k[key].as_i64().unwrap_or(0))
}

struct Fixture {
    run: i64,
    course: i64,
    program: i64,
}

/// Certificates for `user`: an active course one pinned to the latest page revision, an
/// active program one, and one issued tomorrow (scenario 37) on another run.
async fn certificates(db: &TestDb, user: UserId) -> Fixture {
    let runs = db.store.list_runs().await.unwrap();
    let run = runs.iter().find(|r| r.courseware_id == RUN).unwrap().id;
    let other = runs
        .iter()
        .find(|r| r.courseware_id == "course-v1:MITx+14.310x+1T2026")
        .unwrap()
        .id;
    let course = db.store.catalog_course_id(COURSE).await.unwrap().unwrap();
    let program = db.store.catalog_program_id(PROGRAM).await.unwrap().unwrap();
    let revision = db
        .store
        .latest_certificate_page_revisions(&[CourseId(course)])
        .await
        .unwrap()[&CourseId(course)]
        .0;
    let program_revision = db
        .store
        .latest_program_certificate_page_revisions(&[ProgramId(program)])
        .await
        .unwrap()[&ProgramId(program)]
        .0;
    let past = "2026-01-15T10:00:00Z";
    let future = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let u = user.0;
    for sql in [
        format!(
            "INSERT INTO course_run_enrollments (user_id, run_id, active, enrollment_mode, edx_enrolled, edx_emails_subscription, created_on, updated_on) VALUES ({u}, {run}, TRUE, 'verified', TRUE, TRUE, '2025-09-01T00:00:00Z', '2025-09-01T00:00:00Z')"
        ),
        format!(
            "INSERT INTO course_run_grades (user_id, course_run_id, grade, letter_grade, passed, set_by_admin, created_on, updated_on) VALUES ({u}, {run}, 0.876, 'B', TRUE, FALSE, '{past}', '{past}')"
        ),
        format!(
            "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, issue_date, certificate_page_revision_id, created_on, updated_on) VALUES ({u}, {run}, '{CERT}', FALSE, '{past}', {revision}, '{past}', '{past}')"
        ),
        format!(
            "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, issue_date, created_on, updated_on) VALUES ({u}, {other}, '{FUTURE_CERT}', FALSE, '{future}', '{past}', '{past}')"
        ),
        format!(
            "INSERT INTO program_certificates (user_id, program_id, uuid, is_revoked, issue_date, certificate_page_revision_id, created_on, updated_on) VALUES ({u}, {program}, '{PROGRAM_CERT}', FALSE, '{past}', {program_revision}, '{past}', '{past}')"
        ),
    ] {
        db.store
            .execute_raw(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    Fixture {
        run,
        course,
        program,
    }
}

fn audit() -> Audit {
    Audit::new("test", Some("scenario".into()))
}

async fn anonymous_get(base: &str, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = crate::client()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        headers,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s36_s37_certificate_endpoints_hide_revoked_and_future_certificates() {
    for db in databases().await {
        let summary = import(&db, &catalog_with_pages("Pass all graded units.")).await;
        assert_eq!(page_count(&summary, "created"), 2, "{summary}");
        // Importing again writes no revision; a changed page writes one.
        let again = import(&db, &catalog_with_pages("Pass all graded units.")).await;
        assert_eq!(
            page_count(&again, "created") + page_count(&again, "updated"),
            0,
            "{again}"
        );
        let server = start_server(&db, true, false, &[]).await;
        let me = Learner::new(&server.base, &jdoe());
        let user = me.id().await;
        let f = certificates(&db, user).await;
        let changed = import(&db, &catalog_with_pages("Pass everything.")).await;
        assert_eq!(page_count(&changed, "updated"), 2, "{changed}");

        let path = format!("/api/v2/course_certificates/{CERT}/");
        let (status, body, _) = anonymous_get(&server.base, &path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["uuid"], CERT);
        assert_eq!(body["is_revoked"], false);
        assert_eq!(body["user"]["id"], user.0);
        assert_eq!(body["user"]["name"], "Jane Doe");
        assert_eq!(body["course_run"]["id"], f.run);
        assert_eq!(body["course_run"]["course"]["id"], f.course);
        // The pinned revision, not the page as edited since.
        assert_eq!(body["certificate_page"]["title"], "Certificate");
        assert_eq!(body["certificate_page"]["CEUs"], "1.5");
        assert_eq!(
            body["certificate_page"]["signatory_items"][0]["name"],
            "Prof. Jane Roe"
        );
        assert!(body["certificate_page_revision"].is_i64());
        assert_eq!(body["verifiable_credential_json"], Value::Null);

        // Scenario 36: revoked ⇒ 404 JSON and `certificate: null`; un-revoked ⇒ 200 again.
        set_revocation(
            &server.services,
            user,
            CertifiedFor::Run(CourseRunId(f.run)),
            true,
            &audit(),
        )
        .await
        .unwrap();
        let (status, body, _) = anonymous_get(&server.base, &path).await;
        assert_eq!((status, body), (404, json!({"detail": "Not found."})));
        let (_, enrollments) = me.get("/api/v1/enrollments/").await;
        let item = enrollments
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["run"]["id"] == f.run)
            .unwrap();
        assert_eq!(item["certificate"], Value::Null);
        set_revocation(
            &server.services,
            user,
            CertifiedFor::Run(CourseRunId(f.run)),
            false,
            &audit(),
        )
        .await
        .unwrap();
        assert_eq!(anonymous_get(&server.base, &path).await.0, 200);

        // Scenario 37: issued tomorrow ⇒ 404.
        let (status, body, _) = anonymous_get(
            &server.base,
            &format!("/api/v2/course_certificates/{FUTURE_CERT}/"),
        )
        .await;
        assert_eq!((status, body), (404, json!({"detail": "Not found."})));
        for bad in ["not-a-uuid", "0b0c0d0e-0000-4000-8000-0000000000ff"] {
            let (status, body, _) =
                anonymous_get(&server.base, &format!("/api/v2/course_certificates/{bad}/")).await;
            assert_eq!(status, 404, "{body}");
            assert!(body["detail"].is_string());
        }

        // The program certificate.
        let path = format!("/api/v2/program_certificates/{PROGRAM_CERT}/");
        let (status, body, _) = anonymous_get(&server.base, &path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["program"]["id"], f.program);
        assert_eq!(body["certificate_page"]["product_name"], "Microeconomics");
        set_revocation(
            &server.services,
            user,
            CertifiedFor::Program(ProgramId(f.program)),
            true,
            &audit(),
        )
        .await
        .unwrap();
        assert_eq!(anonymous_get(&server.base, &path).await.0, 404);
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s50_learner_record_public_share_and_revoke() {
    for db in databases().await {
        import(&db, &catalog_with_pages("Pass.")).await;
        let server = start_server(&db, true, false, &[]).await;
        let me = Learner::new(&server.base, &jdoe());
        let user = me.id().await;
        let f = certificates(&db, user).await;
        let record = format!("/api/records/program/{}/", f.program);
        // Without an active program enrollment: 404.
        let (status, body) = me.get(&record).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = me
            .post(&format!("{record}share/"), &json!({"partnerSchool": null}))
            .await;
        assert_eq!(status, 404, "{body}");
        let (status, _) = me
            .post(
                "/api/v3/program_enrollments/",
                &json!({"program_id": f.program}),
            )
            .await;
        assert_eq!(status, 201);

        let (status, body) = me.get(&record).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["name"], "Jane Doe");
        assert_eq!(body["user"]["email"], "jdoe@example.com");
        assert_eq!(body["program"]["readable_id"], PROGRAM);
        assert_eq!(
            body["program"]["requirements"][0]["data"]["node_type"],
            "program_root"
        );
        let courses = body["program"]["courses"].as_array().unwrap();
        let micro = courses.iter().find(|c| c["id"] == f.course).unwrap();
        assert_eq!(micro["reqtype"], "Required Courses");
        assert_eq!(micro["certificate"]["uuid"], CERT);
        assert_eq!(
            micro["certificate"]["link"],
            format!("/certificate/{CERT}/")
        );
        assert_eq!(micro["grade"]["grade"], 0.88);
        assert_eq!(micro["grade"]["letter_grade"], "B");
        assert!(courses.iter().any(|c| c["reqtype"] == "Elective Courses"));
        // The future-dated certificate of 14.310x does not count.
        let other = courses
            .iter()
            .find(|c| c["readable_id"] == "course-v1:MITx+14.310x")
            .unwrap();
        assert_eq!(other["certificate"], Value::Null);
        assert_eq!(body["sharing"], json!([]));

        // Revoked certificates never count.
        set_revocation(
            &server.services,
            user,
            CertifiedFor::Run(CourseRunId(f.run)),
            true,
            &audit(),
        )
        .await
        .unwrap();
        let (_, body) = me.get(&record).await;
        let micro = body["program"]["courses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == f.course)
            .unwrap()
            .clone();
        assert_eq!(micro["certificate"], Value::Null);
        set_revocation(
            &server.services,
            user,
            CertifiedFor::Run(CourseRunId(f.run)),
            false,
            &audit(),
        )
        .await
        .unwrap();

        // Scenario 50: sharing publicly twice ⇒ one active public share.
        let (status, first) = me
            .post(&format!("{record}share/"), &json!({"partnerSchool": null}))
            .await;
        assert_eq!(status, 200, "{first}");
        let (status, second) = me
            .post(&format!("{record}share/"), &json!({"partnerSchool": null}))
            .await;
        assert_eq!(status, 200);
        let shares = second["sharing"].as_array().unwrap();
        assert_eq!(shares.len(), 1, "{second}");
        assert_eq!(first["sharing"], second["sharing"]);
        assert_eq!(shares[0]["partner_school"], Value::Null);
        assert_eq!(shares[0]["is_active"], true);
        assert_eq!(shares[0]["user"], user.0);
        let share = shares[0]["share_uuid"].as_str().unwrap().to_owned();
        let shared = format!("/api/records/shared/{share}/");
        let (status, public, _) = anonymous_get(&server.base, &shared).await;
        assert_eq!(status, 200, "{public}");
        assert_eq!(public["sharing"], json!([]));
        assert_eq!(public["partner_schools"], json!([]));
        assert_eq!(public["program"], second["program"]);
        let (status, revoked) = me.post(&format!("{record}revoke/"), &json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(revoked["sharing"], json!([]));
        let (status, body, _) = anonymous_get(&server.base, &shared).await;
        assert_eq!((status, body), (404, json!([])));
        let (status, body, _) = anonymous_get(&server.base, "/api/records/shared/nope/").await;
        assert_eq!((status, body), (404, json!([])));
        // Sharing again reactivates the same link.
        let (_, again) = me
            .post(&format!("{record}share/"), &json!({"partnerSchool": null}))
            .await;
        assert_eq!(again["sharing"][0]["share_uuid"], share.as_str());
        let (status, body) = me
            .post(&format!("{record}share/"), &json!({"partnerSchool": "x"}))
            .await;
        assert_eq!(status, 400, "{body}");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_partner_school_share_queues_one_email() {
    for db in databases().await {
        import(&db, &catalog_with_pages("Pass.")).await;
        for flag in ["false", "true"] {
            let server = start_server(
                &db,
                true,
                false,
                &[("ENABLE_PROGRAM_SPECIFIC_PATHWAY_SCHOOLS", flag)],
            )
            .await;
            let services = &server.services;
            let me = Learner::new(&server.base, &jdoe());
            let program = db.store.catalog_program_id(PROGRAM).await.unwrap().unwrap();
            if flag == "false" {
                let (status, _) = me
                    .post(
                        "/api/v3/program_enrollments/",
                        &json!({"program_id": program}),
                    )
                    .await;
                assert_eq!(status, 201);
            }
            let name = format!("Pathway College {flag}");
            let school = mitx_services::records::add_partner_school(
                services,
                &name,
                "admissions@pathway.edu",
                &audit(),
            )
            .await
            .unwrap();
            let (status, schools) = me.get("/api/v1/partnerschools/").await;
            assert_eq!(status, 200);
            assert!(
                schools
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s == &json!({"id": school.id, "name": name}))
            );
            assert_eq!(me.get("/api/v1/partnerschools/?program=abc").await.0, 400);
            let record = format!("/api/records/program/{program}/");
            if flag == "true" {
                // Program-specific: an unlinked school is not offered, and sharing with it is 404.
                let (_, body) = me.get(&record).await;
                assert!(
                    !body["partner_schools"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s["id"] == school.id)
                );
                let (status, body) = me
                    .post(
                        &format!("{record}share/"),
                        &json!({"partnerSchool": school.id}),
                    )
                    .await;
                assert_eq!(
                    (status, body),
                    (404, json!({"detail": "Partner school not found."}))
                );
                mitx_services::records::link_partner_school(
                    services,
                    school.id,
                    ProgramId(program),
                    Some("dedp@pathway.edu"),
                    &audit(),
                )
                .await
                .unwrap();
            }
            let (_, body) = me.get(&record).await;
            assert!(
                body["partner_schools"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["id"] == school.id),
                "{body}"
            );
            let emails_before = email_jobs(&db).await.len();
            let (status, body) = me
                .post(
                    &format!("{record}share/"),
                    &json!({"partnerSchool": school.id}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert!(
                body["sharing"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["partner_school"] == school.id)
            );
            // A repeat while the email waits queues none.
            me.post(
                &format!("{record}share/"),
                &json!({"partnerSchool": school.id}),
            )
            .await;
            let emails = email_jobs(&db).await;
            assert_eq!(emails.len(), emails_before + 1, "{emails:?}");
            let email: Value = serde_json::from_str(&emails[0].payload).unwrap();
            assert_eq!(email["template"], "record_share");
            let to = if flag == "true" {
                "dedp@pathway.edu"
            } else {
                "admissions@pathway.edu"
            };
            assert_eq!(email["to"], to);
            assert!(
                email["context"]["share_url"]
                    .as_str()
                    .unwrap()
                    .contains("/records/shared/")
            );
            // Revoking keeps the school's share.
            let (_, body) = me.post(&format!("{record}revoke/"), &json!({})).await;
            assert!(
                body["sharing"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["partner_school"] == school.id)
            );
            // A deactivated school can no longer be chosen.
            mitx_services::records::set_partner_school_active(services, school.id, false, &audit())
                .await
                .unwrap();
            let (status, _) = me
                .post(
                    &format!("{record}share/"),
                    &json!({"partnerSchool": school.id}),
                )
                .await;
            assert_eq!(status, 404);
            let _ = server.stop.send(());
        }
        db.cleanup().await.unwrap();
    }
}

async fn email_jobs(db: &TestDb) -> Vec<mitx_services::store::jobs::JobRecord> {
    db.store
        .list_jobs(&JobFilter {
            status: None,
            name: Some(jobs::EMAIL_SEND.into()),
            limit: 100,
        })
        .await
        .unwrap()
}

/// A fake external signer speaking the signer's wire format: the credential as the JSON
/// body, `Authorization: Bearer`, the signed credential (with a proof) as the answer.
/// What the fake signer received: the Authorization header and the body.
type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

struct FakeSigner {
    url: String,
    received: Received,
    failing: Arc<Mutex<bool>>,
}

async fn fake_signer() -> FakeSigner {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    type Shared = (Received, Arc<Mutex<bool>>);
    async fn sign(
        State((received, failing)): State<Shared>,
        headers: HeaderMap,
        axum::Json(credential): axum::Json<Value>,
    ) -> Result<axum::Json<Value>, StatusCode> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        received.lock().unwrap().push((auth, credential.clone()));
        if *failing.lock().unwrap() {
            return Err(StatusCode::INTERNAL_SERVER_ERROR);
        }
        let mut signed = credential;
        signed["proof"] = json!({"type": "Ed25519Signature2020", "proofValue": "zFake"});
        Ok(axum::Json(signed))
    }
    let received = Arc::new(Mutex::new(Vec::new()));
    let failing = Arc::new(Mutex::new(true));
    let app = axum::Router::new()
        .route("/sign", axum::routing::post(sign))
        .with_state((received.clone(), failing.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeSigner {
        url: format!("http://{addr}/sign"),
        received,
        failing,
    }
}

async fn run_jobs(services: &mitx_services::Services) -> worker::WorkerReport {
    let options = worker::WorkerOptions {
        concurrency: 1,
        once: true,
        schedule: false,
        lease: std::time::Duration::from_secs(60),
        poll: std::time::Duration::from_millis(20),
    };
    worker::run(services, &options, std::future::pending())
        .await
        .unwrap()
}

async fn course_certificate_id(db: &TestDb) -> i64 {
    let row: Vec<i64> = db
        .store
        .certificates_needing_credentials(
            mitx_services::store::certificates::CertificateKind::Course,
            None,
            true,
        )
        .await
        .unwrap();
    let view = db
        .store
        .certificate_by_uuid(
            mitx_services::store::certificates::CertificateKind::Course,
            CERT,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(row.contains(&view.id));
    view.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_external_signer_gets_the_credential_and_failures_retry() {
    for db in databases().await {
        import(&db, &catalog_with_pages("Pass all graded units.")).await;
        let signer = fake_signer().await;
        let server = start_server(
            &db,
            true,
            false,
            &[
                ("VERIFIABLE_CREDENTIAL_SIGNER_URL", signer.url.as_str()),
                ("VERIFIABLE_CREDENTIAL_BEARER_TOKEN", "signer-token"),
                ("VERIFIABLE_CREDENTIAL_DID", "z6MkExampleIssuer"),
                ("MIT_LEARN_BASE_URL", "https://learn.example.edu"),
            ],
        )
        .await;
        let services = &server.services;
        let me = Learner::new(&server.base, &jdoe());
        let user = me.id().await;
        certificates(&db, user).await;
        let id = course_certificate_id(&db).await;
        // The job a new certificate queues; the signer fails first: retried, certificate intact.
        let job = CredentialJob {
            program: false,
            certificate_id: id,
        };
        let report = credentials::backfill(
            services,
            &[mitx_services::store::certificates::CertificateKind::Course],
            None,
            false,
            false,
        )
        .await
        .unwrap();
        assert_eq!(report.queued, 2, "{report:?}"); // the active and the future certificate
        let report = run_jobs(services).await;
        assert!(report.retried >= 1, "{report:?}");
        let path = format!("/api/v2/course_certificates/{CERT}/");
        let (status, body, _) = anonymous_get(&server.base, &path).await;
        assert_eq!(status, 200);
        assert_eq!(body["verifiable_credential_json"], Value::Null);
        // The signer recovers: the job issues on its next attempt.
        *signer.failing.lock().unwrap() = false;
        let outcome = credentials::issue(services, &job).await.unwrap();
        assert!(
            matches!(outcome, credentials::IssueOutcome::Linked(ref u) if u == CERT),
            "{outcome:?}"
        );
        let received = signer.received.lock().unwrap().clone();
        let (auth, sent) = received.last().unwrap().clone();
        assert_eq!(auth.as_deref(), Some("Bearer signer-token"));
        assert_eq!(
            sent,
            json!({
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                    "https://w3id.org/security/suites/ed25519-2020/v1",
                ],
                "id": format!("urn:uuid:{CERT}"),
                "type": ["VerifiableCredential", "OpenBadgeCredential"],
                "name": "Microeconomics",
                "issuer": {"id": "did:key:z6MkExampleIssuer", "type": ["Profile"], "name": "MIT Learn"},
                "validFrom": "2026-01-15T10:00:00Z",
                "credentialSubject": {
                    "type": ["AchievementSubject"],
                    "activityStartDate": "2025-09-01T00:00:00Z",
                    "activityEndDate": "2026-01-15T10:00:00Z",
                    "identifier": [{"type": "IdentityObject", "identityHash": "Jane Doe", "identityType": "name", "hashed": false}],
                    "achievement": {
                        "id": format!("https://learn.example.edu/courses/{COURSE}"),
                        "type": ["Achievement"],
                        "achievementType": "Course",
                        "name": "Microeconomics",
                        "description": "Jane Doe has successfully completed all modules and earned a Course Certificate in Microeconomics.",
                        "criteria": {"narrative": "Pass all graded units."},
                    },
                },
            }),
            "{sent:#}"
        );
        let (_, body, _) = anonymous_get(&server.base, &path).await;
        assert_eq!(
            body["verifiable_credential_json"]["proof"]["proofValue"],
            "zFake"
        );
        // Idempotent: a second run with a linked credential does nothing.
        let calls = signer.received.lock().unwrap().len();
        let again = credentials::issue(services, &job).await.unwrap();
        assert!(matches!(again, credentials::IssueOutcome::Skipped(_)));
        assert_eq!(signer.received.lock().unwrap().len(), calls);
        let (status, download, headers) = anonymous_get(
            &server.base,
            &format!("/api/v2/verifiable_course_credential/{CERT}/download/"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(download, body["verifiable_credential_json"]);
        assert_eq!(
            headers["content-disposition"],
            format!("attachment; filename=\"credential_{CERT}.json\"").as_str()
        );
        assert_eq!(
            anonymous_get(
                &server.base,
                &format!("/api/v2/verifiable_program_credential/{CERT}/download/")
            )
            .await
            .0,
            404
        );
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}

/// Verifies an Ed25519 signature with the `openssl` command line tool: a verifier
/// independent of the `ring` code that signed. `None` when openssl is not installed.
fn openssl_verifies(public_key: &[u8; 32], message: &[u8], signature: &[u8]) -> Option<bool> {
    use std::process::Command;
    let dir = mitx_services::testing::temp_dir("openssl");
    // SubjectPublicKeyInfo DER of an Ed25519 key: fixed prefix + 32 key bytes.
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(public_key);
    std::fs::write(dir.join("pub.der"), &der).unwrap();
    std::fs::write(dir.join("msg"), message).unwrap();
    std::fs::write(dir.join("sig"), signature).unwrap();
    let output = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-rawin"])
        .arg("-inkey")
        .arg(dir.join("pub.der"))
        .arg("-in")
        .arg(dir.join("msg"))
        .arg("-sigfile")
        .arg(dir.join("sig"))
        .output()
        .ok()?;
    Some(output.status.success())
}

fn b64url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_self_signed_verify_independently_and_follow_revocation() {
    for db in databases().await {
        import(&db, &catalog_with_pages("Pass all graded units.")).await;
        let server = start_server(&db, true, false, &[("MITX_CREDENTIAL_SIGNING_KEY", SEED)]).await;
        let services = &server.services;
        let me = Learner::new(&server.base, &jdoe());
        let user = me.id().await;
        let f = certificates(&db, user).await;
        let id = course_certificate_id(&db).await;
        let job = CredentialJob {
            program: false,
            certificate_id: id,
        };
        credentials::backfill(
            services,
            &[mitx_services::store::certificates::CertificateKind::Course],
            Some(f.run),
            false,
            false,
        )
        .await
        .unwrap();
        let report = run_jobs(services).await;
        assert_eq!(report.done, 1, "{report:?}");
        assert!(matches!(
            credentials::issue(services, &job).await.unwrap(),
            credentials::IssueOutcome::Skipped(_)
        ));
        let (status, credential, _) = anonymous_get(
            &server.base,
            &format!("/api/v2/verifiable_course_credential/{CERT}/download/"),
        )
        .await;
        assert_eq!(status, 200, "{credential}");
        assert_eq!(credential["type"], "EnvelopedVerifiableCredential");
        let jwt = credential["id"]
            .as_str()
            .unwrap()
            .strip_prefix("data:application/vc+jwt,")
            .unwrap()
            .to_owned();
        let parts: Vec<&str> = jwt.split('.').collect();
        let header: Value = serde_json::from_slice(&b64url(parts[0])).unwrap();
        let payload: Value = serde_json::from_slice(&b64url(parts[1])).unwrap();
        assert_eq!(header["alg"], "EdDSA");
        let did = payload["issuer"]["id"].as_str().unwrap();
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(header["kid"].as_str().unwrap().split('#').next(), Some(did));
        assert_eq!(payload["id"], format!("urn:uuid:{CERT}"));
        // Independent verifier: the key from the did:key, the signature checked by openssl.
        let key = credentials::did_key_public_key(did).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        match openssl_verifies(&key, signed.as_bytes(), &b64url(parts[2])) {
            Some(ok) => assert!(ok, "openssl rejects the signature"),
            None if std::env::var_os("CI").is_some() => {
                panic!("openssl is required for the independent verification under CI")
            }
            None => eprintln!("openssl not installed: independent verification skipped"),
        }
        let mut forged = b64url(parts[2]);
        forged[0] ^= 1;
        if let Some(ok) = openssl_verifies(&key, signed.as_bytes(), &forged) {
            assert!(!ok, "openssl accepts a forged signature");
        }

        // The verify endpoint: valid, revoked after revocation, valid again after.
        let verify = |body: Value| {
            let url = format!("{}/api/v2/verifiable_credentials/verify/", server.base);
            async move {
                let response = crate::client().post(url).json(&body).send().await.unwrap();
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap(),
                )
            }
        };
        let (status, verdict) = verify(credential.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(verdict["status"], "valid", "{verdict}");
        assert_eq!(verdict["verified"], true);
        assert_eq!(
            verdict["certificate"],
            json!({"type": "course", "uuid": CERT})
        );
        set_revocation(
            services,
            user,
            CertifiedFor::Run(CourseRunId(f.run)),
            true,
            &audit(),
        )
        .await
        .unwrap();
        let (_, verdict) = verify(json!({"jwt": jwt})).await;
        assert_eq!(
            (verdict["status"].as_str(), verdict["verified"].as_bool()),
            (Some("revoked"), Some(false)),
            "{verdict}"
        );
        set_revocation(
            services,
            user,
            CertifiedFor::Run(CourseRunId(f.run)),
            false,
            &audit(),
        )
        .await
        .unwrap();
        assert_eq!(
            verify(Value::String(jwt.clone())).await.1["status"],
            "valid"
        );
        // A tampered payload or a foreign key is invalid.
        let tampered = format!("{}.{}.{}", parts[0], parts[0], parts[2]);
        assert_eq!(
            verify(json!({"jwt": tampered})).await.1["status"],
            "invalid"
        );
        assert_eq!(verify(json!({"nothing": 1})).await.1["status"], "invalid");
        let (status, body) = {
            let response = crate::client()
                .post(format!(
                    "{}/api/v2/verifiable_credentials/verify/",
                    server.base
                ))
                .body("{not json")
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        };
        assert_eq!(status, 400, "{body}");
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}
