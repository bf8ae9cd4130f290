//! Robustness sweep: every route, hit with garbage query parameters, unknown and
//! non-numeric path ids, malformed bodies and malformed gateway headers, anonymously and as a
//! signed-in learner; then the framework's own rejections: undeclared methods (405),
//! unknown paths (404), bodies over the limit (413), URIs over the limit (414), too many
//! header fields (431). Never a 5xx; every 4xx has a documented status and a JSON body with
//! `detail` or `errors`; a malformed `X-Userinfo` never creates a user row.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::Utc;
use mitx_services::testing::TestDb;
use serde_json::{Value, json};

use crate::auth::{base64, databases, jdoe, start_with, userinfo};

const DEMO: &str = include_str!("../../fixtures/demo/catalog.json");

/// Every route of the API with its methods (`{id}` = a path parameter). Keep in step with
/// the `.route(` calls of `mitx-server/src` (`the_table_lists_every_declared_route` checks);
/// routes still being added may be listed before they exist.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    // Catalog v1.
    ("GET", "/api/v1/courses/"),
    ("GET", "/api/v1/courses/{id}/"),
    ("GET", "/api/v1/programs/"),
    ("GET", "/api/v1/programs/{id}/"),
    ("GET", "/api/v1/course_runs/"),
    ("GET", "/api/v1/course_runs/{id}/"),
    ("GET", "/api/v1/departments/"),
    ("GET", "/api/v1/departments/{id}/"),
    // Catalog v2.
    ("GET", "/api/v2/courses/"),
    ("GET", "/api/v2/courses/{id}/"),
    ("GET", "/api/v2/programs/"),
    ("GET", "/api/v2/programs/{id}/"),
    ("GET", "/api/v2/departments/"),
    ("GET", "/api/v2/departments/{id}/"),
    ("GET", "/api/v2/program-collections/"),
    ("GET", "/api/v2/program-collections/{id}/"),
    // Internal feed.
    ("GET", "/api/internal/courses/"),
    // Users.
    ("GET PATCH", "/api/v0/users/me"),
    ("GET PATCH", "/api/users/me"),
    ("GET PATCH", "/api/v0/users/current_user/"),
    ("GET PATCH", "/api/users/current_user/"),
    ("GET", "/api/v0/userinfo/"),
    ("GET", "/api/userinfo/"),
    ("GET", "/api/v0/countries/"),
    ("GET", "/api/countries/"),
    // Enrollments.
    ("POST", "/enrollments/"),
    ("GET POST", "/api/v1/enrollments/"),
    ("DELETE PATCH", "/api/v1/enrollments/{id}/"),
    ("GET POST", "/api/v2/enrollments/"),
    ("DELETE", "/api/v2/enrollments/{id}/"),
    ("GET POST", "/api/v3/enrollments/"),
    ("GET DELETE", "/api/v3/enrollments/{id}/"),
    // Program enrollments.
    ("GET", "/api/v1/program_enrollments/"),
    ("GET DELETE", "/api/v1/program_enrollments/{id}/"),
    ("GET", "/api/v2/program_enrollments/"),
    ("GET DELETE", "/api/v2/program_enrollments/{id}/"),
    ("GET POST", "/api/v3/program_enrollments/"),
    ("GET DELETE", "/api/v3/program_enrollments/{id}/"),
    // Certificates and credentials.
    ("GET", "/api/v2/course_certificates/{id}/"),
    ("GET", "/api/v2/program_certificates/{id}/"),
    ("GET", "/api/v2/verifiable_course_credential/{id}/download/"),
    (
        "GET",
        "/api/v2/verifiable_program_credential/{id}/download/",
    ),
    ("POST", "/api/v2/verifiable_credentials/verify/"),
    // Learner records.
    ("GET", "/api/records/program/{id}/"),
    ("POST", "/api/records/program/{id}/share/"),
    ("POST", "/api/records/program/{id}/revoke/"),
    ("GET", "/api/records/shared/{id}/"),
    ("GET", "/api/v1/partnerschools/"),
    ("POST", "/api/v2/verified_program_enrollments/{id}/"),
    // Open edX webhooks.
    ("POST", "/api/openedx_webhook/enrollment/"),
    ("POST", "/api/openedx_webhook/certificate/"),
    // Baskets (legacy checkout basket, legacy views, v0) and products.
    ("POST", "/api/checkout/add_to_cart/"),
    ("GET", "/api/checkout/cart/"),
    ("GET", "/api/checkout/basket_items_count/"),
    ("POST", "/api/checkout/redeem_discount/"),
    ("GET", "/api/baskets/"),
    ("GET", "/api/baskets/{id}/"),
    ("GET POST", "/api/baskets/{id}/items/"),
    ("DELETE", "/api/baskets/{id}/items/{id}/"),
    ("GET", "/api/baskets/{id}/discounts/"),
    ("GET", "/cart/add"),
    ("GET", "/checkout/anonymous"),
    ("GET", "/api/v0/baskets/"),
    ("GET", "/api/v0/baskets/{id}/"),
    ("GET POST", "/api/v0/baskets/{id}/items/"),
    ("GET PUT PATCH DELETE", "/api/v0/baskets/{id}/items/{id}/"),
    ("POST", "/api/v0/baskets/add_discount/"),
    ("DELETE", "/api/v0/baskets/clear/"),
    ("POST", "/api/v0/baskets/create_from_product/{id}/"),
    ("POST", "/api/v0/baskets/create_from_product/{id}/{id}/"),
    ("POST", "/api/v0/baskets/create_with_products/"),
    ("GET", "/api/v0/products/"),
    ("GET", "/api/v0/products/all/"),
    ("GET", "/api/v0/products/all/{id}/"),
    ("GET", "/api/v0/products/{id}/"),
    ("GET", "/api/v0/products/{id}/user_flexible_price/"),
    // Stripe events (signed).
    ("POST", "/webhook/stripe/"),
    // Checkout and the CyberSource returns.
    ("GET", "/api/v0/baskets/checkout/"),
    ("GET", "/checkout/to_payment"),
    ("GET POST", "/checkout/result/"),
    ("POST", "/api/checkout/result/"),
    // Orders (ecommerce spec 5.6, 7).
    ("GET", "/api/v0/orders/history/"),
    ("GET", "/api/orders/history/"),
    ("GET", "/api/v0/orders/history/{id}/"),
    ("GET", "/api/v0/orders/receipt/{id}/"),
    ("GET", "/api/orders/receipt/{id}/"),
    ("GET", "/api/v0/orders/status/{id}/"),
    ("POST", "/api/v0/orders/refund-requests/"),
    ("GET", "/orders/receipt/by-run/{id}/"),
    ("GET", "/orders/receipt/by-program/{id}/"),
    // Staff discounts (ecommerce spec 6).
    ("GET POST", "/api/v0/discounts/"),
    ("POST", "/api/v0/discounts/create_batch/"),
    ("POST", "/api/discounts/create_batch/"),
    ("GET PUT PATCH DELETE", "/api/v0/discounts/{id}/"),
    ("GET", "/api/discounts/"),
    ("GET", "/api/discounts/user/"),
    ("GET", "/api/v0/discounts/{id}/redemptions/"),
    ("GET", "/api/v0/discounts/{id}/redemptions/{id}/"),
    ("GET POST", "/api/v0/discounts/{id}/assignees/"),
    (
        "GET PUT PATCH DELETE",
        "/api/v0/discounts/{id}/assignees/{id}/",
    ),
    ("GET POST", "/api/v0/discounts/{id}/products/"),
    (
        "GET PUT PATCH DELETE",
        "/api/v0/discounts/{id}/products/{id}/",
    ),
    ("GET", "/api/v0/discounts/{id}/tiers/"),
    ("GET", "/api/v0/discounts/{id}/tiers/{id}/"),
    // The OpenAPI document.
    ("GET", "/api/schema/"),
    // Prometheus metrics.
    ("GET", "/metrics"),
];

/// Garbage query strings (sent to every route).
fn bad_queries() -> Vec<String> {
    let long_digits = "9".repeat(5000);
    let long_text = "x".repeat(8000);
    let long_list = "1,".repeat(2000);
    let mut out: Vec<String> = [
        "page=abc",
        "page=-1",
        "page=0",
        "page=99999999999999999999",
        "page=9223372036854775807",
        "page=1&page_size=0",
        "page_size=0",
        "page_size=-5",
        "page_size=1000",
        "page_size=abc",
        "page_size=99999999999999999999",
        "id=1,x",
        "id=,,,",
        "id=99999999999999999999",
        "id=-9223372036854775808",
        "live=maybe",
        "page__live=2",
        "courserun_is_enrollable=2",
        "org_id=x",
        "org_id=99999999999999999999",
        "contract_id=-1",
        "contract_id=x",
        "exclude_b2b=maybe",
        "courseruns__language=xx",
        "courseruns__variant_length=Z",
        "relevant_to=%00",
        "readable_id=%FF%FE",
        "readable_id=%00",
        "readable_id=a%00b&live=true",
        "page=%FF",
        "live=%C3%28",
        "%FF=1",
        "%=%",
        "&&&==&",
        "page=1&page=abc",
        "include_approved_financial_aid=nope",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    out.push(format!("page={long_digits}"));
    out.push(format!("page_size={long_digits}"));
    out.push(format!("id={long_list}"));
    out.push(format!("readable_id={long_text}"));
    out.push(format!("relevant_to={long_text}"));
    out.push(format!("org_id={long_digits}"));
    out
}

/// Unknown, non-numeric and out-of-range path ids.
const BAD_IDS: &[&str] = &[
    "999999",
    "0",
    "-1",
    "abc",
    "%00",
    "%FF",
    "1.5",
    "1e3",
    "%2F",
    "a%00b",
    "course-v1:MITx%2B14.100x%00",
    "123456789012345678901234567890",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
];

/// Malformed bodies: `(content type, bytes)`.
fn bad_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let json_type = "application/json";
    let form = "application/x-www-form-urlencoded";
    let mut out: Vec<(&'static str, Vec<u8>)> = [
        "",
        "{",
        "[]",
        "null",
        "\"text\"",
        "123",
        "{}",
        r#"{"run_id": "x", "run": "x", "program_id": "x", "receive_emails": "maybe", "id": "x"}"#,
        r#"{"run_id": 1e400, "program_id": 1e400}"#,
        r#"{"run_id": 123456789012345678901234567890, "run": 123456789012345678901234567890, "program_id": 123456789012345678901234567890}"#,
        r#"{"run_id": 9223372036854775807, "run": 9223372036854775807, "program_id": 9223372036854775807}"#,
        r#"{"run_id": -1, "run": -1, "program_id": -1, "receive_emails": -1}"#,
        r#"{"run_id": [1], "run": {"a": 1}, "program_id": {"a": 1}, "receive_emails": null}"#,
        r#"{"run_id": true, "program_id": false, "receive_emails": "yes"}"#,
        r#"{"receive_emails": true}"#,
        r#"{"receive_emails": false, "run_id": 1, "program_id": 1}"#,
        r#"{"run_id": 1.5, "program_id": "1.5"}"#,
        r#"{"email": 5, "name": [], "legal_address": "x", "user_profile": 7}"#,
        r#"{"run_id": "\u0000", "run": "\u0000", "program_id": "\u0000", "readable_id": "\u0000", "email": "a\u0000@example.com", "name": "\u0000"}"#,
        r#"{"legal_address": {"country": 5, "state": ["x"], "first_name": {}}}"#,
    ]
    .iter()
    .map(|s| (json_type, s.as_bytes().to_vec()))
    .collect();
    out.push((json_type, "[".repeat(10_000).into_bytes()));
    out.push((json_type, b"{\"run_id\": \"\xff\xfe\"}".to_vec()));
    out.push((
        json_type,
        format!("{{\"run_id\": \"{}\"}}", "9".repeat(20_000)).into_bytes(),
    ));
    out.push(("text/plain", b"run_id=1".to_vec()));
    out.push(("application/xml", b"<run>1</run>".to_vec()));
    for body in [
        "",
        "run=abc",
        "run=abc&isapi=1",
        "run=%FF",
        "run=99999999999999999999999&isapi=1",
        "run=-1",
        "run=&isapi=",
        "%%%=%%%",
        "run_id=x&program_id=x&receive_emails=maybe",
    ] {
        out.push((form, body.as_bytes().to_vec()));
    }
    out.push((form, b"run=\xff".to_vec()));
    out
}

/// Malformed `X-Userinfo` values (none of them may create a user).
fn bad_userinfos() -> Vec<String> {
    let sub = "0e6f2b4c-5a1d-4f3e-9c8b-7a6d5e4f3a2b";
    let mut out = vec![
        String::new(),
        "not-base64!!".to_owned(),
        "====".to_owned(),
        "A".repeat(6000),
        base64(b"not json"),
        base64(b"[1, 2]"),
        base64(b"null"),
        base64(b"\"sub\""),
        base64(b"42"),
        base64(&[0xff, 0xfe, 0xfd]),
        base64(b"{\"sub\": \"\xff\"}"),
    ];
    for claims in [
        json!({"sub": 5}),
        json!({"sub": ["a"], "email": "x@example.com", "preferred_username": "x"}),
        json!({"sub": {"a": 1}, "email": "x@example.com", "preferred_username": "x"}),
        json!({"sub": sub, "email": 5, "preferred_username": "badtypes"}),
        json!({"sub": sub, "email": "badtypes@example.com", "preferred_username": ["x"]}),
        json!({"sub": sub, "email": "badtypes@example.com", "preferred_username": "badtypes", "name": {"a": 1}}),
        json!({"sub": sub, "email": null, "preferred_username": null}),
        json!({"sub": sub, "email": true, "preferred_username": 1.5}),
        json!({"sub": sub, "email": ["a@example.com"], "preferred_username": "badtypes"}),
        json!({"sub": sub, "email": format!("{}@example.com", "a".repeat(5000)), "preferred_username": "toolong"}),
        json!({"sub": sub, "email": "toolong@example.com", "preferred_username": "u".repeat(5000)}),
        json!({"sub": sub, "email": "nul\u{0}@example.com", "preferred_username": "nul\u{0}", "name": "\u{0}"}),
        json!({"sub": "\u{0}", "email": "nulsub@example.com", "preferred_username": "nulsub"}),
    ] {
        out.push(userinfo(&claims));
    }
    out
}

/// 4xx bodies of another shape that the specs give on purpose: `(path, status, body)`.
const OTHER_ERROR_BODIES: &[(&str, u16, &str)] = &[
    // Integrations spec 3.4: a user without an edX username.
    (
        "/api/v0/userinfo/",
        409,
        r#"{"error": "User has no edx_username."}"#,
    ),
    (
        "/api/userinfo/",
        409,
        r#"{"error": "User has no edx_username."}"#,
    ),
    // Courses spec 5.6: an unknown or inactive shared record.
    ("/api/records/shared/{id}/", 404, "[]"),
    // Ecommerce spec 4.2: unknown products.
    (
        "/api/checkout/add_to_cart/",
        404,
        r#"{"message": "Product not found"}"#,
    ),
    (
        "/api/v0/baskets/create_from_product/{id}/",
        404,
        r#"{"error": "Product not found"}"#,
    ),
    (
        "/api/v0/baskets/create_from_product/{id}/{id}/",
        404,
        r#"{"error": "Product not found"}"#,
    ),
    (
        "/api/v0/baskets/create_with_products/",
        404,
        r#"{"error": "Product not found"}"#,
    ),
    // Ecommerce spec 7: the order status of an order the caller does not have.
    (
        "/api/v0/orders/status/{id}/",
        404,
        r#"{"state": "Not found."}"#,
    ),
];

/// The 4xx statuses the API documents (docs/api.md, "Errors").
const DOCUMENTED_STATUSES: &[u16] = &[400, 401, 403, 404, 405, 406, 408, 409, 413, 414, 415, 431];

/// Paths no route declares.
const UNKNOWN_PATHS: &[&str] = &[
    "/",
    "/api/",
    "/api/v2/",
    "/api/v2/nope/",
    "/api/v2/courses/1/extra/",
    "/api/v9/courses/",
    "/%FF",
    "/.env",
    "/api/v2/courses",
];

/// Other malformed headers (the internal feed's service tokens among them).
const BAD_HEADERS: &[(&str, &str)] = &[
    ("authorization", "Bearer"),
    ("authorization", "Bearer "),
    ("authorization", "Bearer not-a-token"),
    ("authorization", "Api-Key x"),
    ("authorization", "Basic !!!"),
    ("if-none-match", "\"unterminated"),
    ("if-none-match", "W/"),
    ("x-forwarded-host", "::::"),
    ("x-forwarded-proto", "gopher"),
    ("referer", "http://evil.example/x"),
];

/// Methods declared per path by the `.route(` calls of `src` (`{…}` → `{id}`).
fn declared_routes() -> BTreeSet<(String, String)> {
    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                // The demo's pages are mounted only by `mitx serve --demo` (the browser
                // test in e2e/ covers them); the API router never serves them.
                && path.file_name().is_none_or(|n| n != "demo.rs")
            {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut paths,
    );
    let mut out = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read source");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's text up to its closing parenthesis.
            let mut depth = 1;
            let mut end = rest.len();
            let mut in_string = false;
            for (i, c) in rest.char_indices() {
                match c {
                    '"' => in_string = !in_string,
                    '(' if !in_string => depth += 1,
                    ')' if !in_string => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &rest[..end];
            let Some(route) = call.split('"').nth(1) else {
                continue;
            };
            let route = normalize(route);
            let after = call.splitn(3, '"').nth(2).unwrap_or("");
            for method in ["get", "post", "put", "patch", "delete"] {
                let needle = format!("{method}(");
                let found = after.match_indices(&needle).any(|(i, _)| {
                    after[..i]
                        .chars()
                        .last()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
                });
                if found {
                    out.insert((method.to_uppercase(), route.clone()));
                }
            }
        }
    }
    out
}

/// `{anything}` → `{id}`.
fn normalize(route: &str) -> String {
    route
        .split('/')
        .map(|seg| if seg.starts_with('{') { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn table() -> Vec<(String, String)> {
    ROUTES
        .iter()
        .flat_map(|(methods, path)| {
            methods
                .split_whitespace()
                .map(|m| (m.to_owned(), (*path).to_owned()))
        })
        .collect()
}

#[test]
fn the_table_lists_every_declared_route() {
    let declared = declared_routes();
    assert!(
        declared.contains(&("GET".to_owned(), "/api/v2/courses/".to_owned())),
        "the source scan found nothing: {declared:?}"
    );
    let listed: BTreeSet<(String, String)> = table().into_iter().collect();
    let missing: Vec<_> = declared.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "add these routes to ROUTES in tests/robustness.rs: {missing:?}"
    );
}

/// The sweep's client and what it has found so far.
struct Sweep {
    client: reqwest::Client,
    base: String,
    failures: Vec<String>,
    sent: usize,
}

impl Sweep {
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &mut self,
        method: &str,
        template: &str,
        id: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) {
        let path = template.replace("{id}", id);
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let mut request = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            &url,
        );
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, bytes)) = body {
            request = request
                .header("content-type", content_type)
                .body(bytes.to_vec());
        }
        let label = || {
            let mut shown = format!("{method} {url}");
            shown.truncate(300);
            let hs: Vec<String> = headers
                .iter()
                .map(|(k, v)| {
                    let mut v = (*v).to_owned();
                    v.truncate(120);
                    format!("{k}: {v}")
                })
                .collect();
            let b = body.map(|(t, b)| {
                let mut text = String::from_utf8_lossy(b).into_owned();
                text.truncate(120);
                format!("[{t}] {text}")
            });
            format!("{shown} headers={hs:?} body={b:?}")
        };
        self.sent += 1;
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.failures
                    .push(format!("{}: transport error {e}", label()));
                return;
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap_or_default();
        if status >= 500 {
            self.failures.push(format!(
                "{}: {status} {}",
                label(),
                String::from_utf8_lossy(&bytes)
            ));
            return;
        }
        if !(400..500).contains(&status) {
            return;
        }
        if !DOCUMENTED_STATUSES.contains(&status) {
            self.failures
                .push(format!("{}: undocumented status {status}", label()));
        }
        let json_error = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .is_some_and(|o| o.contains_key("detail") || o.contains_key("errors"));
        if json_error {
            return;
        }
        let documented = OTHER_ERROR_BODIES.iter().any(|(path, code, body)| {
            *path == template
                && *code == status
                && serde_json::from_slice::<Value>(&bytes).ok()
                    == serde_json::from_str::<Value>(body).ok()
        });
        if documented {
            return;
        }
        // Ecommerce spec 5.1: a refused checkout is the six-key checkout body with `error`
        // naming the check (which one depends on the sweep's basket).
        let checkout_refusal = template == "/api/v0/baskets/checkout/"
            && status == 400
            && serde_json::from_slice::<Value>(&bytes)
                .ok()
                .is_some_and(|v| {
                    v["error"].is_string() && v["no_checkout"] == false && v["order_id"] == 0
                });
        if checkout_refusal {
            return;
        }
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        text.truncate(200);
        self.failures.push(format!(
            "{}: {status} non-JSON error body {text:?}",
            label()
        ));
    }
}

/// Standard base64 with padding, for showing a header in a failure.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

async fn user_count(db: &TestDb) -> usize {
    db.store.list_users(None, 100_000).await.unwrap().len()
}

/// Runs the sweep on `db`; returns the requests that broke the rules.
async fn sweep(db: &TestDb) -> Vec<String> {
    let data = serde_json::from_str(DEMO).expect("demo catalog parses");
    tx!(db.store, t => t.import_catalog(&data, Utc::now()).await).expect("import demo catalog");
    let (base, stop) = start_with(db, true).await;
    let client = crate::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The learner exists before the sweep.
    let learner = userinfo(&jdoe());
    let me: Value = client
        .get(format!("{base}/api/v0/users/me"))
        .header("X-Userinfo", &learner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me["id"].is_i64(), "the learner is signed in: {me}");
    let courses = client
        .get(format!("{base}/api/v2/courses/"))
        .send()
        .await
        .unwrap();
    assert_eq!(courses.status(), 200);
    // The learner holds an enrollment and a program enrollment, so that id-based routes
    // also meet rows that exist.
    let runs: Value = client
        .get(format!("{base}/api/v1/course_runs/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_enrollable"] == true)
        .expect("an enrollable demo run")["id"]
        .clone();
    let enrolled = client
        .post(format!("{base}/api/v1/enrollments/"))
        .header("X-Userinfo", &learner)
        .json(&json!({ "run_id": run }))
        .send()
        .await
        .unwrap();
    assert!(enrolled.status().is_success(), "{}", enrolled.status());
    let programs: Value = client
        .get(format!("{base}/api/v2/programs/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let program = programs["results"][0]["id"].clone();
    let _ = client
        .post(format!("{base}/api/v3/program_enrollments/"))
        .header("X-Userinfo", &learner)
        .json(&json!({ "program_id": program }))
        .send()
        .await
        .unwrap();
    let users_before = user_count(db).await;
    let mut s = Sweep {
        client,
        base,
        failures: Vec::new(),
        sent: 0,
    };
    let declared = declared_routes();
    let routes = table();
    let queries = bad_queries();
    let bodies = bad_bodies();
    let anonymous: &[(&str, &str)] = &[];
    let signed_in: &[(&str, &str)] = &[("X-Userinfo", &learner)];
    for who in [anonymous, signed_in] {
        for (method, template) in &routes {
            let empty_object: Option<(&str, &[u8])> =
                (method != "GET").then_some(("application/json", b"{}".as_slice()));
            // Garbage query parameters.
            for query in &queries {
                s.send(method, template, "1", query, who, empty_object)
                    .await;
            }
            // Unknown and non-numeric path ids.
            if template.contains("{id}") {
                for id in BAD_IDS {
                    s.send(method, template, id, "", who, empty_object).await;
                }
            }
            // Malformed bodies.
            if method != "GET" {
                for (content_type, bytes) in &bodies {
                    s.send(method, template, "1", "", who, Some((content_type, bytes)))
                        .await;
                }
            }
            // Other malformed headers.
            for header in BAD_HEADERS {
                let mut headers = who.to_vec();
                headers.push(*header);
                s.send(method, template, "1", "", &headers, empty_object)
                    .await;
            }
            // The framework's own rejections: a URI over the limit (414), too many header
            // fields (431), a body over the limit (413).
            let long_query = format!("q={}", "x".repeat(9_000));
            s.send(method, template, "1", &long_query, who, empty_object)
                .await;
            let names: Vec<String> = (0..120).map(|i| format!("x-filler-{i}")).collect();
            let mut many = who.to_vec();
            many.extend(names.iter().map(|n| (n.as_str(), "1")));
            s.send(method, template, "1", "", &many, empty_object).await;
            if method != "GET" {
                let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(100_000));
                s.send(
                    method,
                    template,
                    "1",
                    "",
                    who,
                    Some(("application/json", huge.as_bytes())),
                )
                .await;
            }
        }
        // Every method a path does not declare (405), every path no route declares (404).
        let paths: BTreeSet<&String> = routes.iter().map(|(_, p)| p).collect();
        for path in paths {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"] {
                if !declared.contains(&(method.to_owned(), path.clone())) {
                    let body = (method != "GET").then_some(("application/json", b"{}".as_slice()));
                    s.send(method, path, "1", "", who, body).await;
                }
            }
        }
        for path in UNKNOWN_PATHS {
            for method in ["GET", "POST", "DELETE"] {
                s.send(method, path, "1", "", who, None).await;
            }
        }
    }
    assert_eq!(
        user_count(db).await,
        users_before,
        "the sweep without X-Userinfo created a user"
    );
    // Malformed gateway headers, on every route; none may create a user.
    for value in bad_userinfos() {
        let before = user_count(db).await;
        for (method, template) in &routes {
            let empty_object: Option<(&str, &[u8])> =
                (method != "GET").then_some(("application/json", b"{}".as_slice()));
            s.send(
                method,
                template,
                "1",
                "",
                &[("X-Userinfo", value.as_str())],
                empty_object,
            )
            .await;
        }
        let after = user_count(db).await;
        if after != before {
            let mut shown = value.clone();
            shown.truncate(200);
            let decoded = decode_base64(&value).map(|b| {
                let mut text = String::from_utf8_lossy(&b).into_owned();
                text.truncate(200);
                text
            });
            s.failures.push(format!(
                "X-Userinfo {shown:?} (decoded {decoded:?}) created {} user row(s)",
                after - before
            ));
        }
    }
    let _ = stop.send(());
    assert!(s.sent > 1000, "the sweep ran ({} requests)", s.sent);
    s.failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_survives_garbage_input() {
    let mut failures = Vec::new();
    for db in databases().await {
        let backend = format!("{:?}", db.store.backend());
        failures.extend(
            sweep(&db)
                .await
                .into_iter()
                .map(|f| format!("[{backend}] {f}")),
        );
        db.cleanup().await.unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} requests broke the rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
