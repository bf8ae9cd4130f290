//! The learner's order APIs (ecommerce spec 5.6, 7): history (`/api/v0/orders/history/`,
//! legacy `/api/orders/history/`), one historical order, the receipt
//! (`/api/v0/orders/receipt/{id}/`, legacy `/api/orders/receipt/{id}/`), the pollable
//! status (`/api/v0/orders/status/{order_id}/`), refund requests
//! (`POST /api/v0/orders/refund-requests/`) and the receipt redirects
//! (`/orders/receipt/by-run/{id}/`, `/orders/receipt/by-program/{id}/`).
//!
//! Reads come from the store's order read models; the amounts from
//! `mitx_services::order_receipts` (the core's receipt arithmetic); the refund request is
//! the `refund_requests` workflow.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use mitx_core::ids::{CourseRunId, OrderId, ProgramId};
use mitx_core::orders::{
    ORDER_HISTORY_DEFAULT_LIMIT, ORDER_STATUS_NOT_FOUND, OrderLookup, RefundReason,
};
use mitx_services::order_receipts::{
    billing_address, history_titles, payment_summary, receipt_lines, refund_eligible,
};
use mitx_services::refund_requests::{self, RefundRequestError, RefundRequestInput};
use mitx_services::store::order_views::{OrderLineView, OrderView, RedemptionView};
use serde_json::{Value, json};

use crate::auth::{AuthUser, CurrentUser};
use crate::body;
use crate::path_key::PathKey;
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/orders/history/", get(history))
        .route("/api/orders/history/", get(history_legacy))
        .route("/api/v0/orders/history/{id}/", get(history_item))
        .route("/api/v0/orders/receipt/{id}/", get(receipt))
        .route("/api/orders/receipt/{id}/", get(receipt_legacy))
        .route("/api/v0/orders/status/{order_id}/", get(status))
        .route("/api/v0/orders/refund-requests/", post(refund_request))
        .route("/orders/receipt/by-run/{id}/", get(receipt_by_run))
        .route("/orders/receipt/by-program/{id}/", get(receipt_by_program))
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn opt_time(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |t| Value::String(time(t)))
}

/// The current product of a line with its purchasable object (Product JSON, spec 7).
pub fn line_product_json(line: &OrderLineView) -> Value {
    let purchasable = match (&line.run, &line.program) {
        (Some(run), _) => json!({
            "id": run.id,
            "title": run.title,
            "run_tag": run.run_tag,
            "start_date": opt_time(run.start_date),
            "end_date": opt_time(run.end_date),
            "course": {"id": run.course_id, "title": run.course_title, "page": null},
            "readable_id": run.courseware_id,
            "enrollment_start": opt_time(run.enrollment_start),
            "enrollment_end": opt_time(run.enrollment_end),
            "course_number": run.course_number(),
        }),
        (None, Some(program)) => json!({
            "id": program.id,
            "title": program.title,
            "readable_id": program.readable_id,
            "page": null,
        }),
        (None, None) => Value::Null,
    };
    json!({
        "id": line.product_id,
        "price": line.product_price.to_price_string(),
        "description": line.product_description,
        "is_active": line.product_is_active,
        "purchasable_object": purchasable,
    })
}

/// A redeemed discount as the receipt nests it.
fn redeemed_discount_json(r: &RedemptionView) -> Value {
    let d = &r.discount;
    json!({
        "id": d.id,
        "created_on": time(r.discount_created_on),
        "updated_on": time(r.discount_updated_on),
        "amount": mitx_core::money::Money::new(d.amount).to_amount_string(),
        "automatic": d.automatic,
        "discount_type": d.discount_type.slug(),
        "redemption_type": d.redemption_type.slug(),
        "payment_type": d.payment_type.map(|p| p.slug()),
        "max_redemptions": d.max_redemptions,
        "discount_code": d.code.as_str(),
        "activation_date": opt_time(d.activation_date),
        "expiration_date": opt_time(d.expiration_date),
        "is_bulk": d.is_bulk,
        "is_program_discount": d.is_program_discount,
        "b2b_sheet_location": r.b2b_sheet_location,
    })
}

/// One OrderHistory item.
fn history_json(order: &OrderView, now: DateTime<Utc>) -> Value {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| {
            json!({
                "quantity": l.quantity,
                "item_description": l.description,
                "unit_price": l.price.to_price_string(),
                "total_price": (l.price * l.quantity).to_price_string(),
                "id": l.id,
                "product": line_product_json(l),
            })
        })
        .collect();
    json!({
        "id": order.id,
        "state": order.state.as_str(),
        "reference_number": order.reference_number,
        "purchaser": {
            "id": order.purchaser.id,
            "username": order.purchaser.username,
            "name": order.purchaser.name,
            "created_on": time(order.purchaser.created_on),
            "updated_on": time(order.purchaser.updated_on),
        },
        "total_price_paid": order.total_price_paid.to_amount_string(),
        "lines": lines,
        "created_on": time(order.created_on),
        "titles": history_titles(order),
        "updated_on": time(order.updated_on),
        "refund_eligible": refund_eligible(order, now),
    })
}

/// The receipt (Order JSON).
pub(crate) fn receipt_json(order: &OrderView, now: DateTime<Utc>) -> Value {
    let address = order.purchaser.legal_address.clone().unwrap_or_default();
    let lines: Vec<Value> = receipt_lines(order)
        .into_iter()
        .map(|l| {
            json!({
                "quantity": l.quantity,
                "total_paid": l.total_paid,
                "discount": l.discount,
                "CEUs": null,
                "content_title": l.content_title,
                "content_type": l.content_type,
                "readable_id": l.readable_id,
                "price": l.price,
                "start_date": opt_time(l.start_date),
                "end_date": opt_time(l.end_date),
            })
        })
        .collect();
    let refunds: Vec<Value> = order
        .transactions
        .iter()
        .filter(|t| t.is_refund)
        .map(|t| {
            json!({
                "amount": t.amount.amount().to_string().parse::<f64>().unwrap_or(0.0),
                "date": time(t.created_on),
            })
        })
        .collect();
    let newest = order.newest_transaction();
    json!({
        "id": order.id,
        "state": order.state.as_str(),
        "purchaser": {
            "country": address.country.unwrap_or_default(),
            "first_name": address.first_name,
            "last_name": address.last_name,
            "street_address_1": address.street_address_1.unwrap_or_default(),
            "street_address_2": "",
            "city": address.city.unwrap_or_default(),
            "state": address.state,
            "postal_code": address.postal_code.unwrap_or_default(),
            "email": order.purchaser.email,
        },
        "total_price_paid": order.total_price_paid.to_amount_string(),
        "lines": lines,
        "discounts": order.redemptions.iter().map(|r| json!({"redeemed_discount": redeemed_discount_json(r)})).collect::<Vec<_>>(),
        "refunds": refunds,
        "reference_number": order.reference_number,
        "created_on": time(order.created_on),
        "transactions": newest.map_or(Value::Null, |t| json!(payment_summary(t))),
        "street_address": newest.map_or(Value::Null, |t| json!(billing_address(t))),
        "refund_eligible": refund_eligible(order, now),
    })
}

/// `limit` and `offset` as DRF's limit/offset pagination reads them: a missing, invalid or
/// non-positive limit is the default; an invalid or negative offset is 0.
fn limit_offset(query: &HashMap<String, String>) -> (u64, u64) {
    let limit = query
        .get("limit")
        .and_then(|l| l.trim().parse::<u64>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(ORDER_HISTORY_DEFAULT_LIMIT as u64);
    let offset = query
        .get("offset")
        .and_then(|o| o.trim().parse::<u64>().ok())
        .unwrap_or(0);
    (limit, offset)
}

fn page_link(state: &AppState, headers: &HeaderMap, path: &str, limit: u64, offset: u64) -> String {
    let base = state.links.base(headers);
    if offset == 0 {
        format!("{base}{path}?limit={limit}")
    } else {
        format!("{base}{path}?limit={limit}&offset={offset}")
    }
}

async fn history_page(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    user: &AuthUser,
    query: &HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let (limit, offset) = limit_offset(query);
    let page = state.store.order_history(user.0.id, limit, offset).await?;
    let now = state.services.now();
    let path = uri.path();
    let next = (offset + limit < page.count)
        .then(|| page_link(state, headers, path, limit, offset + limit));
    let previous =
        (offset > 0).then(|| page_link(state, headers, path, limit, offset.saturating_sub(limit)));
    Ok(Json(json!({
        "count": page.count,
        "next": next,
        "previous": previous,
        "results": page.orders.iter().map(|o| history_json(o, now)).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(get, operation_id = "orders_history_list", path = "/api/v0/orders/history/", tag = "orders",
    params(("limit" = Option<i64>, Query, description = "Page size (default 20)"),
        ("offset" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedOrderHistoryList: the caller's fulfilled and refunded orders, newest first"),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    user: AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    history_page(&state, &headers, &uri, &user, &query).await
}

#[utoipa::path(get, operation_id = "orders_history_list_legacy", path = "/api/orders/history/", tag = "orders",
    params(("limit" = Option<i64>, Query, description = "Page size (default 20)"),
        ("offset" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "The same as /api/v0/orders/history/"),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn history_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    user: AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    history_page(&state, &headers, &uri, &user, &query).await
}

fn path_order(raw: &str) -> Result<OrderId, ApiError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::not_found());
    }
    trimmed
        .parse::<i64>()
        .map(OrderId)
        .map_err(|_| ApiError::not_found())
}

async fn own_order(state: &AppState, user: &AuthUser, raw: &str) -> Result<OrderView, ApiError> {
    let id = path_order(raw)?;
    state
        .store
        .order_view_for_user(user.0.id, &OrderLookup::ById(id))
        .await?
        .ok_or_else(ApiError::not_found)
}

#[utoipa::path(get, operation_id = "orders_history_retrieve", path = "/api/v0/orders/history/{id}/", tag = "orders",
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, body = serde_json::Value, description = "OrderHistory of one of the caller's fulfilled or refunded orders"),
        (status = 404, description = "Not the caller's, or not fulfilled/refunded", body = crate::openapi::Detail),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn history_item(
    State(state): State<AppState>,
    user: AuthUser,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let order = own_order(&state, &user, &raw).await?;
    if !order.state.is_in_history() {
        return Err(ApiError::not_found());
    }
    Ok(Json(history_json(&order, state.services.now())))
}

#[utoipa::path(get, operation_id = "orders_receipt_retrieve", path = "/api/v0/orders/receipt/{id}/", tag = "orders",
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, body = serde_json::Value, description = "Order: the receipt of one of the caller's orders (any state)"),
        (status = 404, description = "Not the caller's order", body = crate::openapi::Detail),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn receipt(
    State(state): State<AppState>,
    user: AuthUser,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let order = own_order(&state, &user, &raw).await?;
    Ok(Json(receipt_json(&order, state.services.now())))
}

#[utoipa::path(get, operation_id = "orders_receipt_retrieve_legacy", path = "/api/orders/receipt/{id}/", tag = "orders",
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, body = serde_json::Value, description = "The same as /api/v0/orders/receipt/{id}/"),
        (status = 404, description = "Not the caller's order", body = crate::openapi::Detail),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn receipt_legacy(
    State(state): State<AppState>,
    user: AuthUser,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let order = own_order(&state, &user, &raw).await?;
    Ok(Json(receipt_json(&order, state.services.now())))
}

#[utoipa::path(get, operation_id = "orders_status_retrieve", path = "/api/v0/orders/status/{order_id}/", tag = "orders",
    params(("order_id" = String, Path, description = "Order id or reference number")),
    responses((status = 200, body = serde_json::Value, description = "OrderStatus {id, reference_number, total_price_paid, state}"),
        (status = 404, description = "`{\"state\": \"Not found.\"}`", body = serde_json::Value),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn status(
    State(state): State<AppState>,
    user: AuthUser,
    PathKey(raw): PathKey,
) -> Result<Response, ApiError> {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "state": ORDER_STATUS_NOT_FOUND })),
        )
            .into_response()
    };
    let Ok(lookup) = OrderLookup::parse(&raw) else {
        return Ok(not_found());
    };
    let Some(order) = state.store.order_view_for_user(user.0.id, &lookup).await? else {
        return Ok(not_found());
    };
    Ok(Json(json!({
        "id": order.id,
        "reference_number": order.reference_number,
        "total_price_paid": order.total_price_paid.to_amount_string(),
        "state": order.state.as_str(),
    }))
    .into_response())
}

/// `refund_reason`: a choice slug, blank, or absent.
fn refund_reason(raw: Option<Value>) -> Result<Option<RefundReason>, ApiError> {
    let text = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_value::<RefundReason>(Value::String(text.clone()))
        .map(Some)
        .map_err(|_| {
            body::field_error(
                "refund_reason",
                &format!("\"{text}\" is not a valid choice."),
            )
        })
}

fn refund_error(err: RefundRequestError) -> ApiError {
    match err {
        RefundRequestError::Invalid(errors) => {
            let mut map = BTreeMap::new();
            if let Some(m) = errors.order {
                map.insert("order".to_owned(), json!([m]));
            }
            if let Some(m) = errors.consent_given {
                map.insert("consent_given".to_owned(), json!([m]));
            }
            ApiError::Validation(map)
        }
        RefundRequestError::NoSuchOrder(_) => body::field_error("order", &err.to_string()),
        other => ApiError::from_fault(other.fault(), &other),
    }
}

#[utoipa::path(post, operation_id = "orders_refund_requests_create", path = "/api/v0/orders/refund-requests/", tag = "orders",
    request_body(content = serde_json::Value, description = "RefundRequestRequest `{order, refund_reason?, refund_reason_text?, consent_given}` (JSON or form)"),
    responses((status = 201, body = serde_json::Value, description = "RefundRequest: the four fields as recorded (status pending)"),
        (status = 400, description = "`errors.order` or `errors.consent_given`", body = crate::openapi::FieldErrors),
        (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn refund_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let order = body::required_int(body::field(&headers, &raw, "order")?, "order")?;
    let reason = refund_reason(body::field(&headers, &raw, "refund_reason")?)?;
    let text = match body::field(&headers, &raw, "refund_reason_text")? {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    let consent = match body::field(&headers, &raw, "consent_given")? {
        None => false,
        some => body::required_bool(some, "consent_given")?,
    };
    let record = refund_requests::submit(
        &state.services,
        user.0.id,
        &RefundRequestInput {
            order: OrderId(order),
            refund_reason: reason,
            refund_reason_text: text,
            consent_given: consent,
        },
    )
    .await
    .map_err(refund_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "order": record.order,
            "refund_reason": record.refund_reason,
            "refund_reason_text": record.refund_reason_text,
            "consent_given": record.consent_given,
        })),
    )
        .into_response())
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

fn login_redirect(uri: &axum::http::Uri) -> Response {
    let next: String = url_escape(uri.path());
    redirect(&format!("/login/?next={next}"))
}

fn url_escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn path_id(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok()
}

#[utoipa::path(get, operation_id = "orders_receipt_by_run", path = "/orders/receipt/by-run/{id}/", tag = "orders",
    params(("id" = i64, Path, description = "Course run id")),
    responses((status = 302, description = "To /orders/receipt/{order_id}/ of the newest fulfilled order that paid for the run (anonymous: to /login/)"),
        (status = 404, description = "No such paid order", body = crate::openapi::Detail)))]
async fn receipt_by_run(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    CurrentUser(user): CurrentUser,
    PathKey(raw): PathKey,
) -> Result<Response, ApiError> {
    let Some(user) = user else {
        return Ok(login_redirect(&uri));
    };
    let run = path_id(&raw).ok_or_else(ApiError::not_found)?;
    let order = state
        .store
        .newest_paid_run_order(user.id, CourseRunId(run))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(redirect(&format!("/orders/receipt/{order}/")))
}

#[utoipa::path(get, operation_id = "orders_receipt_by_program", path = "/orders/receipt/by-program/{id}/", tag = "orders",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 302, description = "To /orders/receipt/{order_id}/ of the newest fulfilled order that paid for the program (anonymous: to /login/)"),
        (status = 404, description = "No such paid order", body = crate::openapi::Detail)))]
async fn receipt_by_program(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    CurrentUser(user): CurrentUser,
    PathKey(raw): PathKey,
) -> Result<Response, ApiError> {
    let Some(user) = user else {
        return Ok(login_redirect(&uri));
    };
    let program = path_id(&raw).ok_or_else(ApiError::not_found)?;
    let order = state
        .store
        .newest_paid_program_order(user.id, ProgramId(program))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(redirect(&format!("/orders/receipt/{order}/")))
}
