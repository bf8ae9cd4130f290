//! B2B organizations and contracts over HTTP: SSO membership reconciliation from the
//! gateway claims (integrations spec 3.3 "Orgs", pricing-and-b2b spec 6.3) and the v2
//! catalog's `org_id` / `contract_id` filters (courses spec 5.4).

use chrono::Utc;
use mitx_core::ids::UserId;
use mitx_services::store::users::UserKey;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};

use crate::auth::{databases, jdoe, start_with, userinfo};
use crate::contract::{Contract, reference_path};

const DEMO: &str = include_str!("../../fixtures/demo/catalog.json");
const T0: &str = "'2026-01-01T00:00:00Z'";
const MARK: &str = "'2020-02-02T00:00:00Z'";
const SSO_ACME: &str = "0b7c5a4e-3f0e-4d55-9a2b-1c2d3e4f5a6b";
const ORG: i64 = 9001;
const MANAGED: i64 = 9011;
const CODES: i64 = 9012;
const B2B_RUN: i64 = 9001;

/// Ids of the demo rows the B2B setup uses.
struct Setup {
    course: i64,
    program: i64,
}

async fn run(db: &TestDb, sql: &str) -> u64 {
    match db.store.execute_raw(sql).await {
        Ok(n) => n,
        Err(e) => panic!("{sql}: {e:?}"),
    }
}

/// The demo catalog plus: organization ACME (SSO id) with a managed contract and a code
/// contract, a run of 6.431x in the managed contract, and the SDS program made B2B-only
/// and linked to the managed contract.
async fn setup(db: &TestDb) -> Setup {
    let data = serde_json::from_str(DEMO).unwrap();
    tx!(db.store, t => t.import_catalog(&data, Utc::now()).await).unwrap();
    let course = db
        .store
        .catalog_course_id("course-v1:MITx+6.431x")
        .await
        .unwrap()
        .unwrap();
    let program = db
        .store
        .catalog_program_id("program-v1:MITx+SDS")
        .await
        .unwrap()
        .unwrap();
    run(
        db,
        &format!(
            "INSERT INTO organizations (id, name, org_key, slug, sso_organization_id, created_on, updated_on) \
             VALUES ({ORG}, 'Acme', 'ACME', 'org-acme', '{SSO_ACME}', {T0}, {T0})"
        ),
    )
    .await;
    for (id, slug, kind) in [(MANAGED, "managed", "managed"), (CODES, "codes", "code")] {
        run(
            db,
            &format!(
                "INSERT INTO contracts (id, organization_id, name, slug, membership_type, created_on, updated_on) \
                 VALUES ({id}, {ORG}, 'Acme {slug}', '{slug}', '{kind}', {T0}, {T0})"
            ),
        )
        .await;
    }
    run(
        db,
        &format!(
            "INSERT INTO course_runs (id, course_id, title, courseware_id, run_tag, start_date, \
             enrollment_start, live, is_self_paced, b2b_contract_id, created_on, updated_on) \
             VALUES ({B2B_RUN}, {course}, 'Probability', 'course-v1:UAI_ACME+6.431x+1T9011C2026', \
             '1T9011C2026', {T0}, {T0}, TRUE, TRUE, {MANAGED}, {T0}, {T0})"
        ),
    )
    .await;
    run(
        db,
        &format!("UPDATE programs SET b2b_only = TRUE WHERE id = {program}"),
    )
    .await;
    run(
        db,
        &format!(
            "INSERT INTO contract_programs (contract_id, program_id, sort_order) VALUES ({MANAGED}, {program}, 1)"
        ),
    )
    .await;
    Setup { course, program }
}

/// jdoe's claims, in ACME or not.
fn claims(in_acme: bool) -> Value {
    let mut claims = jdoe();
    if in_acme {
        claims["organization"] = json!({"acme": {"id": SSO_ACME}});
    }
    claims
}

/// Another person's claims, never in ACME.
fn outsider() -> Value {
    json!({
        "sub": "11111111-2222-4333-8444-555555555555",
        "preferred_username": "outsider",
        "email": "outsider@example.com",
        "name": "Out Sider",
    })
}

async fn get(base: &str, path: &str, claims: Option<&Value>) -> (u16, Value) {
    let mut request = crate::client().get(format!("{base}{path}"));
    if let Some(claims) = claims {
        request = request.header("X-Userinfo", userinfo(claims));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn jdoe_id(db: &TestDb) -> UserId {
    db.store
        .find_user(&UserKey::Text("jdoe".into()))
        .await
        .unwrap()
        .expect("jdoe exists")
        .id
}

fn check_contract(path: &str, body: &Value) {
    let Some(reference) = reference_path() else {
        eprintln!("contract check skipped: the reference is not beside this checkout");
        return;
    };
    // The original answers "" for a page without a financial-assistance form although the
    // schema says `format: uri` (see contract.rs): such values are replaced first.
    let mut body = body.clone();
    for item in body["results"].as_array_mut().into_iter().flatten() {
        let url = &mut item["page"]["financial_assistance_form_url"];
        if url == "" {
            *url = json!("http://example.org/");
        }
    }
    let violations = Contract::load(&reference).check(path, "get", 200, &body);
    assert!(violations.is_empty(), "{path}: {violations:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2b_members_see_their_contract_courses() {
    for db in databases().await {
        let ids_of = setup(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let member = claims(true);
        for query in [
            format!("org_id={ORG}"),
            format!("contract_id={MANAGED}"),
            format!("org_id={ORG}&contract_id={MANAGED}"),
        ] {
            let (status, body) =
                get(&base, &format!("/api/v2/courses/?{query}"), Some(&member)).await;
            assert_eq!(status, 200, "{query}: {body}");
            assert_eq!(body["count"], 1, "{query}: {body}");
            let course = &body["results"][0];
            assert_eq!(course["id"], ids_of.course);
            // Only the contract's runs, the run of the caller's contract as next run, and
            // the contract's (B2B-only) program.
            assert_eq!(ids(&course["courseruns"]), vec![B2B_RUN], "{query}");
            assert_eq!(course["courseruns"][0]["b2b_contract"], MANAGED);
            assert_eq!(course["next_run_id"], B2B_RUN, "{query}");
            assert_eq!(ids(&course["programs"]), vec![ids_of.program], "{query}");
            check_contract("/api/v2/courses/", &body);
        }
        // The code contract has no runs, and the member is not attached to it anyway.
        let (_, body) = get(
            &base,
            &format!("/api/v2/courses/?contract_id={CODES}"),
            Some(&member),
        )
        .await;
        assert_eq!(body["count"], 0);
        // An unknown organization is nobody's.
        let (_, body) = get(&base, "/api/v2/courses/?org_id=424242", Some(&member)).await;
        assert_eq!(body["count"], 0);
        // Non-members and anonymous callers get nothing.
        for caller in [Some(outsider()), Some(claims(false)), None] {
            for query in [format!("org_id={ORG}"), format!("contract_id={MANAGED}")] {
                let (status, body) =
                    get(&base, &format!("/api/v2/courses/?{query}"), caller.as_ref()).await;
                assert_eq!(status, 200);
                assert_eq!(body["count"], 0, "{caller:?} {query}: {body}");
                assert_eq!(body["results"], json!([]));
            }
        }
        // The public listing hides the B2B run and the B2B-only program.
        let (_, body) = get(
            &base,
            "/api/v2/courses/?readable_id=course-v1:MITx%2B6.431x",
            None,
        )
        .await;
        let course = &body["results"][0];
        assert!(!ids(&course["courseruns"]).contains(&B2B_RUN), "{course}");
        assert!(!ids(&course["programs"]).contains(&ids_of.program));
        assert_ne!(course["next_run_id"], B2B_RUN);
        // A bad value is a validation error, not an empty list.
        let (status, body) = get(&base, "/api/v2/courses/?org_id=acme", None).await;
        assert_eq!(status, 400, "{body}");
        stop.send(()).ok();
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2b_course_detail_follows_the_filters() {
    let db = TestDb::sqlite().await.unwrap();
    let ids_of = setup(&db).await;
    let (base, stop) = start_with(&db, true).await;
    let path = format!("/api/v2/courses/{}/?org_id={ORG}", ids_of.course);
    let (status, body) = get(&base, &path, Some(&claims(true))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body["courseruns"]), vec![B2B_RUN]);
    let (status, _) = get(&base, &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = get(&base, &path, Some(&outsider())).await;
    assert_eq!(status, 404);
    // Without the parameter the course is public, without its B2B run.
    let (status, body) = get(&base, &format!("/api/v2/courses/{}/", ids_of.course), None).await;
    assert_eq!(status, 200);
    assert!(!ids(&body["courseruns"]).contains(&B2B_RUN));
    stop.send(()).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2b_programs_follow_access() {
    for db in databases().await {
        let ids_of = setup(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let member = claims(true);
        let (_, public) = get(&base, "/api/v2/programs/?page_size=100", None).await;
        assert!(!ids(&public["results"]).contains(&ids_of.program));
        let public_count = public["count"].as_i64().unwrap();
        assert!(public_count > 0);
        // Inaccessible organization or contract: the non-B2B list.
        for caller in [None, Some(outsider())] {
            for query in [format!("org_id={ORG}"), format!("contract_id={MANAGED}")] {
                let (status, body) = get(
                    &base,
                    &format!("/api/v2/programs/?page_size=100&{query}"),
                    caller.as_ref(),
                )
                .await;
                assert_eq!(status, 200);
                assert_eq!(body["results"], public["results"], "{caller:?} {query}");
            }
        }
        // Accessible: the programs of the contract(s), B2B-only included.
        for query in [
            format!("org_id={ORG}"),
            format!("contract_id={MANAGED}"),
            format!("org_id={ORG}&contract_id={MANAGED}"),
        ] {
            let (status, body) =
                get(&base, &format!("/api/v2/programs/?{query}"), Some(&member)).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(ids(&body["results"]), vec![ids_of.program], "{query}");
            check_contract("/api/v2/programs/", &body);
        }
        // The detail of a B2B-only program.
        let detail = format!("/api/v2/programs/{}/", ids_of.program);
        let (status, _) = get(&base, &detail, Some(&member)).await;
        assert_eq!(status, 404, "not without a parameter");
        let (status, _) = get(&base, &format!("{detail}?org_id={ORG}"), None).await;
        assert_eq!(status, 404, "not for anonymous callers");
        let (status, _) = get(&base, &format!("{detail}?org_id={ORG}"), Some(&outsider())).await;
        assert_eq!(status, 404, "not for non-members");
        for query in [format!("org_id={ORG}"), format!("contract_id={MANAGED}")] {
            let (status, body) = get(&base, &format!("{detail}?{query}"), Some(&member)).await;
            assert_eq!(status, 200, "{query}: {body}");
            assert_eq!(body["id"], ids_of.program);
        }
        stop.send(()).ok();
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2b_claims_reconcile_memberships() {
    for db in databases().await {
        setup(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let me = "/api/v0/users/me";
        // Joining: the membership and the active managed contract, not the code contract.
        let (status, _) = get(&base, me, Some(&claims(true))).await;
        assert_eq!(status, 200);
        let user = jdoe_id(&db).await;
        assert_eq!(db.store.user_org_ids(user).await.unwrap(), vec![ORG]);
        assert_eq!(
            db.store.user_contract_ids(user).await.unwrap(),
            vec![MANAGED]
        );

        // Leaving: claims without the organization remove both.
        let (status, _) = get(&base, me, Some(&claims(false))).await;
        assert_eq!(status, 200);
        assert!(db.store.user_org_ids(user).await.unwrap().is_empty());
        assert!(db.store.user_contract_ids(user).await.unwrap().is_empty());

        // A membership kept until seen (joined by code) survives claims without it…
        run(
            &db,
            &format!(
                "INSERT INTO user_organizations (user_id, organization_id, keep_until_seen, created_on, updated_on) \
                 VALUES ({}, {ORG}, TRUE, {MARK}, {MARK})",
                user.0
            ),
        )
        .await;
        let (status, _) = get(&base, me, Some(&claims(false))).await;
        assert_eq!(status, 200);
        assert_eq!(db.store.user_org_ids(user).await.unwrap(), vec![ORG]);
        // …and once the organization shows up the flag is cleared.
        let (status, _) = get(&base, me, Some(&claims(true))).await;
        assert_eq!(status, 200);
        let facts = db.store.gateway_org_facts(Some(user), &[]).await.unwrap();
        assert_eq!(facts.memberships.len(), 1);
        assert!(!facts.memberships[0].keep_until_seen);
        // Now a plain SSO membership: claims without it remove it.
        let (status, _) = get(&base, me, Some(&claims(false))).await;
        assert_eq!(status, 200);
        assert!(db.store.user_org_ids(user).await.unwrap().is_empty());

        // A new user is created with the membership in the same request.
        let mut newcomer = outsider();
        newcomer["organization"] =
            json!({"acme": {"id": SSO_ACME}, "unknown": {"id": "not-a-uuid"}});
        let (status, body) = get(&base, me, Some(&newcomer)).await;
        assert_eq!(status, 200, "{body}");
        let newcomer_id = UserId(body["id"].as_i64().unwrap());
        assert_eq!(db.store.user_org_ids(newcomer_id).await.unwrap(), vec![ORG]);
        assert_eq!(
            db.store.user_contract_ids(newcomer_id).await.unwrap(),
            vec![MANAGED]
        );
        stop.send(()).ok();
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2b_identical_claims_write_nothing() {
    for db in databases().await {
        setup(&db).await;
        let (base, stop) = start_with(&db, true).await;
        let member = claims(true);
        let path = format!("/api/v2/courses/?org_id={ORG}");
        let (status, _) = get(&base, &path, Some(&member)).await;
        assert_eq!(status, 200);
        let user = jdoe_id(&db).await;
        // Mark the rows, then repeat the request: a write would move updated_on.
        run(
            &db,
            &format!("UPDATE users SET updated_on = {MARK} WHERE id = {}", user.0),
        )
        .await;
        run(
            &db,
            &format!(
                "UPDATE user_organizations SET updated_on = {MARK} WHERE user_id = {}",
                user.0
            ),
        )
        .await;
        let counts = |db: &TestDb| {
            let store = db.store.clone();
            async move {
                let mut out = Vec::new();
                for table in [
                    "users",
                    "user_profiles",
                    "legal_addresses",
                    "user_organizations",
                    "contract_learners",
                ] {
                    out.push(store.count(table).await.unwrap());
                }
                out
            }
        };
        let before = counts(&db).await;
        for _ in 0..2 {
            let (status, body) = get(&base, &path, Some(&member)).await;
            assert_eq!(status, 200);
            assert_eq!(body["count"], 1);
        }
        assert_eq!(counts(&db).await, before);
        let unchanged = |table: &str, column: &str| {
            format!(
                "UPDATE {table} SET updated_on = updated_on WHERE {column} = {} AND updated_on = {MARK}",
                user.0
            )
        };
        assert_eq!(run(&db, &unchanged("users", "id")).await, 1);
        assert_eq!(
            run(&db, &unchanged("user_organizations", "user_id")).await,
            1
        );

        // The check can fail: a changed claim is written.
        let mut changed = member.clone();
        changed["email"] = json!("jdoe@new.example.com");
        let (status, _) = get(&base, &path, Some(&changed)).await;
        assert_eq!(status, 200);
        assert_eq!(run(&db, &unchanged("users", "id")).await, 0);
        stop.send(()).ok();
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2b_responses_bypass_the_catalog_cache() {
    let db = TestDb::sqlite().await.unwrap();
    setup(&db).await;
    let (base, stop) = start_with(&db, true).await;
    let path = format!("/api/v2/courses/?org_id={ORG}");
    let (_, body) = get(&base, &path, None).await;
    assert_eq!(body["count"], 0);
    let (_, body) = get(&base, &path, Some(&claims(true))).await;
    assert_eq!(body["count"], 1, "the anonymous answer was not reused");
    let (_, body) = get(&base, &path, None).await;
    assert_eq!(body["count"], 0, "the member's answer was not reused");
    let programs = format!("/api/v2/programs/?org_id={ORG}");
    let (_, member) = get(&base, &programs, Some(&claims(true))).await;
    let (_, anonymous) = get(&base, &programs, None).await;
    assert_ne!(member["results"], anonymous["results"]);
    stop.send(()).ok();
}
