//! Service tokens (`Authorization: Bearer|Api-Key mitx_…`) and the internal ETL feed
//! `/api/internal/courses/` (courses spec 5.6, integrations scenario 55).

use chrono::Utc;
use mitx_services::store::audit_log::Audit;
use mitx_services::store::service_tokens::{
    NewServiceToken, SCOPE_CATALOG_READ, token_from_bytes, token_hash,
};
use mitx_services::testing::TestDb;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::auth::{databases, jdoe, start_with, userinfo};
use crate::contract::{Contract, reference_path};

const DEMO: &str = include_str!("../../fixtures/demo/catalog.json");
const FEED: &str = "/api/internal/courses/";
const COURSE: &str = "course-v1:MITx+14.100x";
const SOURCE_RUN: &str = "course-v1:MITx+14.100x+SOURCE";
const B2B_RUN: &str = "course-v1:MITx+14.100x+B2B_ACME";
const T0: &str = "'2026-01-01T00:00:00Z'";

/// The demo catalog plus, for 14.100x, a source run and a run of a B2B contract: two runs
/// the public v2 API never shows.
async fn catalog(db: &TestDb) {
    let data = serde_json::from_str(DEMO).expect("demo catalog parses");
    tx!(db.store, t => t.import_catalog(&data, Utc::now()).await).expect("import demo catalog");
    let course = format!("(SELECT id FROM courses WHERE readable_id = '{COURSE}')");
    for sql in [
        format!(
            "INSERT INTO course_runs (course_id, title, courseware_id, run_tag, is_source_run, \
             live, created_on, updated_on) \
             VALUES ({course}, 'Source', '{SOURCE_RUN}', 'SOURCE', TRUE, FALSE, {T0}, {T0})"
        ),
        format!(
            "INSERT INTO organizations (name, org_key, slug, created_on, updated_on) \
             VALUES ('Acme', 'ACME', 'org-acme', {T0}, {T0})"
        ),
        format!(
            "INSERT INTO contracts (organization_id, name, slug, membership_type, \
             contract_start, contract_end, created_on, updated_on) VALUES \
             ((SELECT id FROM organizations WHERE org_key = 'ACME'), 'Acme 2026', 'acme-2026', \
             'code', '2026-01-01', '2026-12-31', {T0}, {T0})"
        ),
        format!(
            "INSERT INTO course_runs (course_id, title, courseware_id, run_tag, live, \
             b2b_contract_id, start_date, created_on, updated_on) VALUES ({course}, 'Acme run', \
             '{B2B_RUN}', 'B2B_ACME', TRUE, (SELECT id FROM contracts WHERE slug = 'acme-2026'), \
             '2026-02-01T00:00:00Z', {T0}, {T0})"
        ),
    ] {
        db.store.execute_raw(&sql).await.expect(&sql);
    }
}

/// Creates a `catalog:read` token named `name`; returns its secret.
async fn issue(db: &TestDb, name: &str, seed: u8) -> String {
    let secret = token_from_bytes(&[seed; 20]);
    let new = NewServiceToken::new(name, &secret, &[SCOPE_CATALOG_READ.to_owned()]).unwrap();
    tx!(db.store, t => t.create_service_token(&new, &Audit::default(), Utc::now()).await).unwrap();
    secret
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
) -> (u16, HeaderMap, Value) {
    let mut request = client.get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn courseware_ids(course: &Value) -> Vec<String> {
    course["courseruns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["courseware_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_token_reads_the_internal_feed_with_every_run() {
    for db in databases().await {
        catalog(&db).await;
        let secret = issue(&db, "mit-learn-etl", 1).await;
        let (base, stop) = start_with(&db, false).await;
        let client = crate::client();
        let courses = db.store.count("courses").await.unwrap();

        // Default page: 12 of every course, by title, with a next link.
        let bearer = format!("Bearer {secret}");
        let (status, headers, page) = get(&client, &format!("{base}{FEED}"), Some(&bearer)).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(headers["cache-control"], "private, no-store");
        assert_eq!(page["count"], courses);
        assert_eq!(
            page["results"].as_array().unwrap().len(),
            12.min(courses as usize)
        );
        assert_eq!(page["previous"], Value::Null);
        if courses > 12 {
            assert!(
                page["next"]
                    .as_str()
                    .unwrap()
                    .ends_with("/api/internal/courses/?page=2"),
                "{}",
                page["next"]
            );
        }
        let titles: Vec<&str> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap())
            .collect();
        let mut sorted = titles.clone();
        sorted.sort();
        assert_eq!(titles, sorted, "ordered by title");

        // The Api-Key scheme (the original's) and any letter case work too.
        let api_key = format!("Api-Key {secret}");
        let url = format!("{base}{FEED}?page_size=100&live=false&readable_id=ignored");
        let (status, _, all) = get(&client, &url, Some(&api_key)).await;
        assert_eq!(status, 200, "{all}");
        assert_eq!(all["count"], courses, "filters are ignored");
        let (status, _, _) = get(&client, &url, Some(&format!("bearer {secret}"))).await;
        assert_eq!(status, 200);

        // The feed has the source and B2B runs; the public v2 detail hides them.
        let course = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["readable_id"] == COURSE)
            .expect("course in the feed")
            .clone();
        let feed_runs = courseware_ids(&course);
        assert!(feed_runs.contains(&SOURCE_RUN.to_owned()), "{feed_runs:?}");
        assert!(feed_runs.contains(&B2B_RUN.to_owned()), "{feed_runs:?}");
        let stored = db
            .store
            .catalog_runs_of(&[course["id"].as_i64().unwrap()])
            .await
            .unwrap();
        assert_eq!(feed_runs.len(), stored.len(), "every run, none dropped");
        let ids: Vec<i64> = course["courseruns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        let mut by_id = ids.clone();
        by_id.sort_unstable();
        assert_eq!(ids, by_id, "runs by id");
        let b2b = course["courseruns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["courseware_id"] == B2B_RUN)
            .unwrap();
        assert!(b2b["b2b_contract"].is_i64(), "{b2b}");
        let (status, _, public) = get(
            &client,
            &format!("{base}/api/v2/courses/{}/", course["id"]),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let public_runs = courseware_ids(&public);
        assert!(
            !public_runs.contains(&SOURCE_RUN.to_owned()),
            "{public_runs:?}"
        );
        assert!(
            !public_runs.contains(&B2B_RUN.to_owned()),
            "{public_runs:?}"
        );
        assert!(public_runs.len() < feed_runs.len());
        // Everything else about the course is the v2 shape.
        let mut a = course.clone();
        let mut b = public.clone();
        a["courseruns"] = Value::Null;
        b["courseruns"] = Value::Null;
        assert_eq!(a, b);

        // The use was recorded.
        let token = db
            .store
            .service_token("mit-learn-etl")
            .await
            .unwrap()
            .unwrap();
        assert!(token.last_used_on.is_some());

        // The shape is the v2 course list's contract.
        if let Some(path) = reference_path() {
            let contract = Contract::load(&path);
            let problems = contract.check_known("/api/v2/courses/", "get", 200, &all);
            assert!(problems.is_empty(), "{problems:#?}");
        } else {
            eprintln!("skipped contract check: reference contract not found");
        }
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_feed_refuses_missing_unknown_revoked_and_unscoped_tokens() {
    for db in databases().await {
        catalog(&db).await;
        // 0xab: the secret has hex letters, so its upper-case twin is malformed.
        let secret = issue(&db, "etl", 0xab).await;
        // A token without `catalog:read` (no such scope can be issued yet, so it is
        // written directly).
        let other = token_from_bytes(&[3; 20]);
        db.store
            .execute_raw(&format!(
                "INSERT INTO service_tokens (name, token_hash, scopes, created_on) \
                 VALUES ('other', '{}', 'b2b:manager-check', {T0})",
                token_hash(&other)
            ))
            .await
            .unwrap();
        let (base, stop) = start_with(&db, false).await;
        let client = crate::client();
        let url = format!("{base}{FEED}");

        let (status, _, body) = get(&client, &url, None).await;
        assert_eq!(status, 403);
        assert_eq!(
            body["detail"],
            "Authentication credentials were not provided."
        );

        let (status, _, body) = get(&client, &url, Some(&format!("Bearer {other}"))).await;
        assert_eq!(status, 403);
        assert_eq!(
            body["detail"],
            "You do not have permission to perform this action."
        );

        let unknown = token_from_bytes(&[4; 20]);
        for value in [
            format!("Bearer {unknown}"),
            format!("Api-Key {unknown}"),
            "Bearer mitx_not-hex".to_owned(),
            format!("Bearer {}", secret.to_uppercase().replace("MITX_", "mitx_")),
        ] {
            let (status, headers, body) = get(&client, &url, Some(&value)).await;
            assert_eq!(status, 401, "{value}");
            assert_eq!(body["detail"], "Invalid token.", "{value}");
            assert_eq!(headers["www-authenticate"], "Bearer realm=\"api\"");
        }

        let (status, _, _) = get(&client, &url, Some(&format!("Bearer {secret}"))).await;
        assert_eq!(status, 200);
        tx!(db.store, t => t.revoke_service_token("etl", &Audit::default(), Utc::now()).await)
            .unwrap();
        let (status, headers, body) = get(&client, &url, Some(&format!("Bearer {secret}"))).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["detail"], "Invalid token.");
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"api\"");
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_authorization_values_are_refused_or_ignored_never_500() {
    let db = TestDb::sqlite().await.unwrap();
    catalog(&db).await;
    let secret = issue(&db, "etl", 5).await;
    let (base, stop) = start_with(&db, true).await;
    let client = crate::client();
    let long = "x".repeat(8000);
    let values: Vec<HeaderValue> = [
        "",
        "Bearer",
        "Bearer ",
        "Api-Key",
        "mitx_",
        "Basic dXNlcjpwYXNz",
        "Bearer some-oauth2-token",
        "Token mitx_0000000000000000000000000000000000000000",
        "Bearer mitx_",
        "Api-Key mitx_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "Bearer mitx_'; DROP TABLE service_tokens; --",
        "Bearer\tmitx_0000000000000000000000000000000000000000",
        long.as_str(),
    ]
    .iter()
    .map(|v| HeaderValue::from_str(v).unwrap())
    .chain([
        HeaderValue::from_bytes(b"Bearer mitx_\xff\xfe").unwrap(),
        HeaderValue::from_bytes(b"\xff\xff").unwrap(),
    ])
    .collect();
    for value in &values {
        let shown = String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(60)
            .collect::<String>();
        for path in [
            FEED,
            "/api/v0/users/me",
            "/api/v1/enrollments/",
            "/api/v2/courses/",
        ] {
            let response = client
                .get(format!("{base}{path}"))
                .header("Authorization", value.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(
                [200, 401, 403].contains(&status),
                "{path} with {shown:?}: {status}"
            );
            if status == 401 {
                assert_eq!(
                    response.headers()["www-authenticate"],
                    "Bearer realm=\"api\""
                );
            }
            let body: Value = response.json().await.unwrap();
            assert!(body.is_object(), "{path} with {shown:?}: {body}");
            // Public endpoints ignore what is not a `mitx_` token; the public catalog
            // never asks.
            if path == "/api/v2/courses/" {
                assert_eq!(status, 200, "{shown:?}");
            }
        }
    }
    // Values that are not service tokens are ignored: anonymous, not refused.
    let (status, _, me) = get(
        &client,
        &format!("{base}/api/v0/users/me"),
        Some("Bearer abc"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["is_anonymous"], true);
    // A malformed `mitx_` token is refused wherever the caller is asked for.
    let (status, _, _) = get(
        &client,
        &format!("{base}/api/v0/users/me"),
        Some("Bearer mitx_0"),
    )
    .await;
    assert_eq!(status, 401);
    // The valid token still works after all that, and nothing was written.
    let (status, _, _) = get(
        &client,
        &format!("{base}{FEED}"),
        Some(&format!("Bearer {secret}")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(db.store.count("service_tokens").await.unwrap(), 1);
    assert_eq!(db.store.count("users").await.unwrap(), 0);
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_token_cannot_act_as_a_learner() {
    for db in databases().await {
        let secret = issue(&db, "etl", 6).await;
        let (base, stop) = start_with(&db, true).await;
        let client = crate::client();
        let bearer = format!("Bearer {secret}");
        for path in [
            "/api/v1/enrollments/",
            "/api/v2/enrollments/",
            "/api/v3/program_enrollments/",
            "/api/v0/userinfo/",
        ] {
            let (status, _, body) = get(&client, &format!("{base}{path}"), Some(&bearer)).await;
            assert_eq!(status, 403, "{path}: {body}");
            assert_eq!(
                body["detail"], "Service tokens cannot act as a learner.",
                "{path}"
            );
        }
        let (status, _, body) = get(&client, &format!("{base}/api/v1/enrollments/"), None).await;
        assert_eq!(status, 403);
        assert_eq!(
            body["detail"],
            "Authentication credentials were not provided."
        );
        // A token with a gateway header: still a service call, and no user is created.
        let response = client
            .get(format!("{base}/api/v1/enrollments/"))
            .header("Authorization", &bearer)
            .header("X-Userinfo", userinfo(&jdoe()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["detail"], "Service tokens cannot act as a learner.");
        // Public endpoints see the service caller as anonymous.
        let (status, _, me) = get(&client, &format!("{base}/api/v0/users/me"), Some(&bearer)).await;
        assert_eq!(status, 200);
        assert_eq!(me["is_anonymous"], true);
        assert_eq!(db.store.count("users").await.unwrap(), 0);
        let _ = stop.send(());
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superuser_reads_the_internal_feed_other_users_do_not() {
    let db = TestDb::sqlite().await.unwrap();
    catalog(&db).await;
    let (base, stop) = start_with(&db, true).await;
    let client = crate::client();
    let feed = || {
        client
            .get(format!("{base}{FEED}"))
            .header("X-Userinfo", userinfo(&jdoe()))
            .send()
    };
    let response = feed().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "You do not have permission to perform this action."
    );
    db.store
        .execute_raw("UPDATE users SET is_superuser = TRUE WHERE username = 'jdoe'")
        .await
        .unwrap();
    let response = feed().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let _ = stop.send(());
    db.cleanup().await.unwrap();
}
