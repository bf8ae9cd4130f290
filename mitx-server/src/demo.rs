//! The demo's pages (`mitx serve --demo` only; [`crate::AppState::with_demo_pages`] is the
//! one way to mount them): a sign-in that stands in for the API gateway, a store front, a
//! cart and a dashboard, and a local page that stands in for CyberSource Secure
//! Acceptance. The payment page checks the signed checkout form like CyberSource does,
//! shows the order, and posts a correctly signed ACCEPT, DECLINE or CANCEL back to
//! `/checkout/result/`, so a purchase runs end to end with no external account.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use mitx_services::cybersource;

use crate::auth::CurrentUser;
use crate::checkout::escape_html;
use crate::{ApiError, AppState};

/// The cookie holding the demo learner's gateway claims (base64 JSON).
pub const DEMO_USER_COOKIE: &str = "mitx_demo_userinfo";
/// Where the demo's checkout form posts.
pub const DEMO_PAYMENT_PATH: &str = "/demo/cybersource/pay/";

/// The demo pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo/", get(store_front))
        .route("/demo/signin/", post(sign_in))
        .route(DEMO_PAYMENT_PATH, post(payment_page))
        .route("/dashboard/", get(dashboard))
        .route("/cart/", get(cart))
}

/// Demo only: a request without the gateway header but with the demo sign-in cookie is
/// treated as if the gateway had sent the cookie's claims.
pub async fn gateway_from_cookie(mut request: Request, next: Next) -> Response {
    if !request.headers().contains_key("x-userinfo")
        && let Some(claims) = cookie(request.headers(), DEMO_USER_COOKIE)
        && let Ok(value) = HeaderValue::from_str(&claims)
    {
        request.headers_mut().insert("x-userinfo", value);
    }
    next.run(request).await
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t} · mitx demo</title>\
         <style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem}}\
         .message{{background:#eef;padding:.5rem}}</style></head>\n<body>\
         <p><a href=\"/demo/\">Store</a> · <a href=\"/cart/\">Cart</a> · \
         <a href=\"/dashboard/\">Dashboard</a></p>\n<h1>{t}</h1>\n{body}\n</body></html>\n",
        t = escape_html(title)
    ))
}

fn user_message(headers: &HeaderMap) -> String {
    let Some(raw) = cookie(headers, crate::enrollment_form::USER_MESSAGE_COOKIE) else {
        return String::new();
    };
    let decoded = percent_decode(&raw);
    format!(
        "<p class=\"message\" id=\"user-message\">{}</p>",
        escape_html(&decoded)
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn store_front(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, ApiError> {
    let Some(user) = user else {
        return Ok(page(
            "Sign in",
            "<p>The demo stands in for the API gateway: pick a learner name.</p>\
             <form method=\"post\" action=\"/demo/signin/\">\
             <label>Username <input name=\"username\" value=\"demo-learner\"></label> \
             <button id=\"sign-in\" type=\"submit\">Sign in</button></form>",
        )
        .into_response());
    };
    let products = state.store.list_products(false).await?;
    let rows: String = products
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>${}</td><td><button class=\"buy\" \
                 data-product=\"{}\" data-courseware=\"{}\">Buy</button></td></tr>\n",
                escape_html(p.courseware.as_deref().unwrap_or("")),
                escape_html(&p.description),
                p.price.to_price_string(),
                p.id.0,
                escape_html(p.courseware.as_deref().unwrap_or(""))
            )
        })
        .collect();
    let body = format!(
        "<p>Signed in as <b id=\"username\">{}</b>.</p>\
         <table><tr><th>Courseware</th><th>Product</th><th>Price</th><th></th></tr>\n{rows}</table>\
         <script>\
         for (const b of document.querySelectorAll('button.buy')) {{\
           b.addEventListener('click', async () => {{\
             const r = await fetch('/api/v0/baskets/create_from_product/' + b.dataset.product + '/', \
               {{method: 'POST', headers: {{'Content-Type': 'application/json'}}, body: '{{}}'}});\
             if (r.ok) {{ window.location = '/checkout/to_payment'; }}\
             else {{ alert('Could not add to the basket: ' + r.status); }}\
           }});\
         }}</script>",
        escape_html(&user.username)
    );
    Ok(page("Store", &body).into_response())
}

async fn sign_in(raw: Bytes) -> Response {
    let username = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&raw)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "username"))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 30
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or_else(|| "demo-learner".to_owned());
    let encoded = mitx_services::demo::demo_userinfo(&username);
    let mut response = StatusCode::FOUND.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/demo/"));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{DEMO_USER_COOKIE}={encoded}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn posted(raw: &[u8]) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw)
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default()
}

/// What CyberSource posts back for `request` with `decision`, signed with `key`.
fn reply(
    request: &BTreeMap<String, String>,
    decision: &str,
    key: &str,
) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, String> = request
        .iter()
        .filter(|(k, _)| *k != "signature" && *k != "signed_field_names")
        .map(|(k, v)| (format!("req_{k}"), v.clone()))
        .collect();
    let (reason, message) = match decision {
        "ACCEPT" => ("100", "Request was processed successfully."),
        "DECLINE" => ("481", "The order has been rejected by Decision Manager."),
        _ => ("200", "The payment was cancelled by the customer."),
    };
    fields.insert("decision".into(), decision.into());
    fields.insert("reason_code".into(), reason.into());
    fields.insert("message".into(), message.into());
    let transaction: String = mitx_services::demo::demo_transaction_id();
    fields.insert("transaction_id".into(), transaction);
    fields.insert("req_card_number".into(), "xxxxxxxxxxxx1111".into());
    fields.insert("req_card_type".into(), "001".into());
    fields.insert("req_payment_method".into(), "card".into());
    cybersource::sign(&mut fields, key);
    fields
}

async fn payment_page(State(state): State<AppState>, raw: Bytes) -> Result<Response, ApiError> {
    let request = posted(&raw);
    let key = &state.services.settings().payment.cybersource_security_key;
    if !cybersource::verify(&|n: &str| request.get(n).cloned(), key) {
        return Err(ApiError::Forbidden(
            "The checkout form's signature does not verify.".into(),
        ));
    }
    let count: usize = request
        .get("line_item_count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
        .min(100);
    let items: String = (0..count)
        .map(|i| {
            let get = |f: &str| {
                request
                    .get(&format!("item_{i}_{f}"))
                    .map(|v| escape_html(v))
                    .unwrap_or_default()
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>${}</td></tr>",
                get("name"),
                get("quantity"),
                get("unit_price")
            )
        })
        .collect();
    let forms: String = [
        ("ACCEPT", "Pay"),
        ("DECLINE", "Decline"),
        ("CANCEL", "Cancel"),
    ]
    .iter()
    .map(|(decision, label)| {
        let inputs: String = reply(&request, decision, key)
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    escape_html(k),
                    escape_html(v)
                )
            })
            .collect();
        format!(
            "<form method=\"post\" action=\"/checkout/result/\" style=\"display:inline\">{inputs}\
                 <button id=\"{}\" type=\"submit\">{label}</button></form> ",
            decision.to_ascii_lowercase()
        )
    })
    .collect();
    let reference = request
        .get("reference_number")
        .map(|r| escape_html(r))
        .unwrap_or_default();
    let amount = request
        .get("amount")
        .map(|a| escape_html(a))
        .unwrap_or_default();
    let body = format!(
        "<p>This page stands in for CyberSource Secure Acceptance (demo only; no card is \
         charged).</p><p>Order <b id=\"reference\">{reference}</b></p>\
         <table><tr><th>Item</th><th>Quantity</th><th>Unit price</th></tr>{items}</table>\
         <p>Total: <b id=\"amount\">${amount}</b></p>{forms}"
    );
    Ok(page("Demo payment", &body).into_response())
}

async fn dashboard(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let message = user_message(&headers);
    let Some(user) = user else {
        return Ok(page(
            "Dashboard",
            &format!("{message}<p><a href=\"/demo/\">Sign in</a></p>"),
        )
        .into_response());
    };
    let enrollments = state.store.active_enrollments(user.id).await?;
    let rows: String = enrollments
        .iter()
        .map(|e| {
            format!(
                "<tr class=\"enrollment\"><td>{}</td><td>{}</td><td class=\"mode\">{}</td></tr>",
                escape_html(e.run.run.courseware_id.as_str()),
                escape_html(&e.run.course_title),
                e.record.enrollment.mode.slug()
            )
        })
        .collect();
    let body = format!(
        "{message}<table id=\"enrollments\"><tr><th>Run</th><th>Course</th><th>Mode</th></tr>{rows}</table>"
    );
    Ok(page("Dashboard", &body).into_response())
}

async fn cart(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let message = user_message(&headers);
    let basket = match &user {
        Some(user) => state.store.checkout_basket(user.id).await?,
        None => None,
    };
    let rows: String = basket
        .iter()
        .flat_map(|b| b.items.iter())
        .map(|i| {
            format!(
                "<tr><td>{}</td><td>${}</td></tr>",
                escape_html(&i.description),
                i.price.to_price_string()
            )
        })
        .collect();
    let body = format!(
        "{message}<table><tr><th>Item</th><th>Price</th></tr>{rows}</table>\
         <p><a id=\"checkout\" href=\"/checkout/to_payment\">Check out</a></p>"
    );
    Ok(page("Cart", &body).into_response())
}
