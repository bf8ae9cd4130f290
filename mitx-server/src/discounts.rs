//! The staff discount API (ecommerce spec 6): `POST /api/v0/discounts/create_batch/`
//! (legacy `/api/discounts/create_batch/`), the list with its filters (legacy
//! `/api/discounts/` with `l`/`o`), create, retrieve, update (PUT/PATCH, with the save-time
//! checks answering 400) and delete (tier-linked discounts refused); the legacy list of
//! assignments `/api/discounts/user/`; and, in [`nested`], a discount's redemptions,
//! assignees, products and tiers. Staff only: `is_staff` or superuser; everyone else 403.
//! Changes go through `mitx_services::discount_admin` and `discount_codes`.

pub(crate) mod nested;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use mitx_core::ids::DiscountId;
use mitx_core::money::Money;
use mitx_core::pricing::{
    CodeGenerationRequest, Discount, DiscountCode, DiscountType, PaymentType, RedemptionType,
    parse_supplied_date,
};
use mitx_services::discount_admin::{self, DiscountAdminError};
use mitx_services::discount_codes::{self, DiscountCodesError, NewDiscount};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::discounts::DiscountFilter;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::auth::{AuthUser, PERMISSION_DENIED};
use crate::body;
use crate::pagination::LimitOffset;
use crate::path_key::PathKey;
use crate::{ApiError, AppState};

/// Default page size of the discount list.
pub const DISCOUNT_LIST_DEFAULT_LIMIT: u64 = LimitOffset::V0_DISCOUNTS.default;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/discounts/", get(list).post(create))
        .route("/api/v0/discounts/create_batch/", post(create_batch))
        .route("/api/discounts/create_batch/", post(create_batch_legacy))
        .route(
            "/api/v0/discounts/{id}/",
            get(retrieve).put(replace).patch(update).delete(destroy),
        )
        .route("/api/discounts/", get(list_legacy))
        .route("/api/discounts/user/", get(assignments_legacy))
        .merge(nested::routes())
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// V0Discount JSON.
pub fn discount_json(d: &Discount, is_redeemed: bool) -> Value {
    json!({
        "id": d.id,
        "amount": Money::new(d.amount).to_amount_string(),
        "automatic": d.automatic,
        "discount_type": d.discount_type.slug(),
        "redemption_type": d.redemption_type.slug(),
        "max_redemptions": d.max_redemptions,
        "discount_code": d.code.as_str(),
        "payment_type": d.payment_type.map(PaymentType::slug),
        "is_redeemed": is_redeemed,
        "activation_date": d.activation_date.map(time),
        "expiration_date": d.expiration_date.map(time),
    })
}

/// The caller, when staff or superuser; 403 otherwise.
pub(crate) fn staff(user: &AuthUser) -> Result<Audit, ApiError> {
    if user.0.is_staff || user.0.is_superuser {
        Ok(Audit::new(format!("api:{}", user.0.username), None))
    } else {
        Err(ApiError::Forbidden(PERMISSION_DENIED.into()))
    }
}

pub(crate) fn admin_error(err: DiscountAdminError) -> ApiError {
    match err {
        DiscountAdminError::NotFound => ApiError::NotFound(err.to_string()),
        other => ApiError::from_fault(other.fault(), &other),
    }
}

fn codes_error(err: DiscountCodesError) -> ApiError {
    admin_error(DiscountAdminError::Codes(err))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The body as a map of fields (JSON object, or form fields as strings).
pub(crate) fn fields(headers: &HeaderMap, raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body::is_form(headers) {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
            .map_err(|e| ApiError::BadRequestBody(json!({"detail": e.to_string()})))?;
        let mut map = Map::new();
        for (k, v) in pairs {
            match map.get_mut(&k) {
                Some(Value::Array(items)) => items.push(Value::String(v)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(v)]);
                }
                None => {
                    map.insert(k, Value::String(v));
                }
            }
        }
        Ok(map)
    } else {
        body::json_object(raw)
    }
}

fn flag(map: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => match text(v).trim() {
            "true" | "True" | "1" | "on" | "yes" => Ok(true),
            "false" | "False" | "0" | "off" | "no" | "" => Ok(false),
            other => Err(format!("{key}: \"{other}\" is not a valid boolean.")),
        },
    }
}

fn optional_text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(text(v)).filter(|t| !t.trim().is_empty()),
    }
}

/// A decimal with at most `digits` digits and `places` decimal places (DRF DecimalField).
fn decimal(value: &Value, key: &str, digits: u32, places: u32) -> Result<Decimal, String> {
    let raw = text(value);
    let d: Decimal = raw
        .trim()
        .parse()
        .map_err(|_| format!("{key}: A valid number is required."))?;
    let d = d.normalize();
    if d.scale() > places {
        return Err(format!(
            "{key}: Ensure that there are no more than {places} decimal places."
        ));
    }
    let whole = d.trunc().abs().to_string().trim_start_matches('0').len() as u32;
    if whole + d.scale() > digits {
        return Err(format!(
            "{key}: Ensure that there are no more than {digits} digits in total."
        ));
    }
    Ok(d)
}

/// Reads a `create_batch` body (spec 6): the field checks first, then the generation
/// rules; both failures answer `{"detail": "Batch creation failed: ..."}`.
fn batch_request(map: &Map<String, Value>) -> Result<CodeGenerationRequest, String> {
    let required = |key: &str| {
        optional_text(map, key).ok_or_else(|| format!("{key}: This field is required."))
    };
    let discount_type = required("discount_type")?;
    if DiscountType::parse(&discount_type).is_none() {
        return Err(format!(
            "discount_type: \"{discount_type}\" is not a valid choice."
        ));
    }
    let payment_type = required("payment_type")?;
    if PaymentType::parse(&payment_type).is_none() {
        return Err(format!(
            "payment_type: \"{payment_type}\" is not a valid choice."
        ));
    }
    let amount = match map.get("amount") {
        None | Some(Value::Null) => return Err("amount: This field is required.".into()),
        Some(v) => decimal(v, "amount", 9, 2)?,
    };
    let count = match map.get("count") {
        None | Some(Value::Null) => 1,
        Some(v) => text(v)
            .trim()
            .parse::<u32>()
            .map_err(|_| "count: A valid integer is required.".to_owned())?,
    };
    let prefix = optional_text(map, "prefix");
    if let Some(p) = &prefix
        && p.chars().count() > 63
    {
        return Err("prefix: Ensure this field has no more than 63 characters.".into());
    }
    let codes = match map.get("codes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(v) => vec![text(v)],
    };
    // `one_time_per_user` is accepted and ignored, as in the original (spec 6 quirk).
    flag(map, "one_time_per_user")?;
    Ok(CodeGenerationRequest {
        discount_type,
        payment_type,
        amount,
        count,
        prefix,
        codes,
        one_time: flag(map, "one_time")?,
        once_per_user: flag(map, "once_per_user")?,
        redemption_type: optional_text(map, "redemption_type"),
        activates: optional_text(map, "activates"),
        expires: optional_text(map, "expires"),
    })
}

async fn batch(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, ApiError> {
    let audit = staff(user)?;
    let failed = |message: String| {
        ApiError::BadRequestBody(json!({ "detail": format!("Batch creation failed: {message}") }))
    };
    let map = fields(headers, raw)?;
    let request = batch_request(&map).map_err(failed)?;
    let created = match discount_admin::create_batch(&state.services, &request, &audit).await {
        Ok(created) => created,
        Err(err) if err.fault() == mitx_services::Fault::Caller => {
            return Err(failed(err.to_string()));
        }
        Err(err) => return Err(admin_error(err)),
    };
    let items: Vec<Value> = created.iter().map(|d| discount_json(d, false)).collect();
    Ok((StatusCode::CREATED, Json(Value::Array(items))).into_response())
}

#[utoipa::path(post, operation_id = "discounts_create_batch_create", path = "/api/v0/discounts/create_batch/", tag = "discounts",
    request_body(content = serde_json::Value, description = "`{discount_type, payment_type, amount, count?, prefix?, codes?, one_time?, once_per_user?, redemption_type?, activates?, expires?}`"),
    responses((status = 201, body = serde_json::Value, description = "The created discounts (V0Discount list)"),
        (status = 400, description = "`{\"detail\": \"Batch creation failed: ...\"}`", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn create_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    raw: Bytes,
) -> Result<Response, ApiError> {
    batch(&state, &user, &headers, &raw).await
}

#[utoipa::path(post, operation_id = "discounts_create_batch_create_legacy", path = "/api/discounts/create_batch/", tag = "discounts",
    request_body(content = serde_json::Value, description = "As /api/v0/discounts/create_batch/"),
    responses((status = 201, body = serde_json::Value, description = "The created discounts (V0Discount list)"),
        (status = 400, description = "`{\"detail\": \"Batch creation failed: ...\"}`", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn create_batch_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    raw: Bytes,
) -> Result<Response, ApiError> {
    batch(&state, &user, &headers, &raw).await
}

/// One page of the filtered discount list, newest first (the v0 and the legacy view).
async fn list_page(
    state: &AppState,
    headers: &HeaderMap,
    user: &AuthUser,
    query: &HashMap<String, String>,
    paging: LimitOffset,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    staff(user)?;
    let nonblank = |k: &str| query.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let filter = DiscountFilter {
        search: nonblank("q").map(str::to_owned),
        redemption_type: nonblank("redemption_type").and_then(RedemptionType::parse),
        payment_type: nonblank("payment_type").and_then(PaymentType::parse),
        redeemed: match nonblank("is_redeemed") {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        limit: u32::MAX,
    };
    let all = state.store.list_discounts(&filter).await?;
    let window = paging.window(query);
    let count = all.len() as u64;
    let results: Vec<Value> = window
        .slice(all)
        .iter()
        .map(|s| discount_json(&s.discount, s.redemptions > 0))
        .collect();
    let url = format!("{}{path}", state.links.base(headers));
    Ok(Json(paging.page(&url, query, window, count, results)))
}

#[utoipa::path(get, operation_id = "discounts_list", path = "/api/v0/discounts/", tag = "discounts",
    params(("q" = Option<String>, Query, description = "Code contains"),
        ("redemption_type" = Option<String>, Query, description = "Only this redemption type"),
        ("payment_type" = Option<String>, Query, description = "Only this payment type"),
        ("is_redeemed" = Option<String>, Query, description = "`yes` or `no`"),
        ("limit" = Option<i64>, Query, description = "Page size (default 10)"),
        ("offset" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedV0DiscountList, newest first"),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    list_page(
        &state,
        &headers,
        &user,
        &query,
        LimitOffset::V0_DISCOUNTS,
        "/api/v0/discounts/",
    )
    .await
}

#[utoipa::path(get, operation_id = "discounts_list_legacy", path = "/api/discounts/", tag = "discounts",
    params(("q" = Option<String>, Query, description = "Code contains"),
        ("redemption_type" = Option<String>, Query, description = "Only this redemption type"),
        ("payment_type" = Option<String>, Query, description = "Only this payment type"),
        ("is_redeemed" = Option<String>, Query, description = "`yes` or `no`"),
        ("l" = Option<i64>, Query, description = "Page size (default 10, at most 50)"),
        ("o" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "The items and filters of /api/v0/discounts/, paged with `l`/`o`"),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn list_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    list_page(
        &state,
        &headers,
        &user,
        &query,
        LimitOffset::LEGACY_DISCOUNTS,
        "/api/discounts/",
    )
    .await
}

#[utoipa::path(get, operation_id = "discounts_user_list_legacy", path = "/api/discounts/user/", tag = "discounts",
    params(("l" = Option<i64>, Query, description = "Page size (default 10, at most 50)"),
        ("o" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "Every discount's assignments `{id, discount, user}` (ids), by id, paged with `l`/`o`"),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn assignments_legacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    staff(&user)?;
    let paging = LimitOffset::LEGACY_DISCOUNTS;
    let window = paging.window(&query);
    let page = state
        .store
        .discount_assignment_page(window.limit, window.offset)
        .await?;
    let results: Vec<Value> = page
        .rows
        .iter()
        .map(|a| json!({"id": a.id, "discount": a.discount, "user": a.user}))
        .collect();
    let url = format!("{}/api/discounts/user/", state.links.base(&headers));
    Ok(Json(paging.page(&url, &query, window, page.count, results)))
}

pub(crate) fn path_discount(raw: &str) -> Result<DiscountId, ApiError> {
    raw.trim()
        .parse::<i64>()
        .map(DiscountId)
        .map_err(|_| ApiError::NotFound("No Discount matches the given query.".into()))
}

pub(crate) async fn show(state: &AppState, id: DiscountId) -> Result<Value, ApiError> {
    let record = discount_admin::record(&state.services, id)
        .await
        .map_err(admin_error)?;
    Ok(discount_json(
        &record.discount,
        record.usage.all_redemptions > 0,
    ))
}

#[utoipa::path(get, operation_id = "discounts_retrieve", path = "/api/v0/discounts/{id}/", tag = "discounts",
    params(("id" = i64, Path, description = "Discount id")),
    responses((status = 200, body = serde_json::Value, description = "V0Discount"),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn retrieve(
    State(state): State<AppState>,
    user: AuthUser,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    staff(&user)?;
    Ok(Json(show(&state, path_discount(&raw)?).await?))
}

/// Field errors of a discount body, DRF style.
fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    body::field_error(field, &message.into())
}

/// Applies the body's fields to `d` (all required when `full`).
fn apply(d: &mut Discount, map: &Map<String, Value>, full: bool) -> Result<(), ApiError> {
    if full {
        for key in [
            "amount",
            "discount_code",
            "discount_type",
            "redemption_type",
        ] {
            if map.get(key).is_none_or(Value::is_null) {
                return Err(invalid(key, "This field is required."));
            }
        }
    }
    if let Some(v) = map.get("discount_code") {
        d.code =
            DiscountCode::parse(&text(v)).map_err(|e| invalid("discount_code", e.to_string()))?;
    }
    if let Some(v) = map.get("discount_type") {
        let t = text(v);
        d.discount_type = DiscountType::parse(&t)
            .ok_or_else(|| invalid("discount_type", format!("\"{t}\" is not a valid choice.")))?;
    }
    if let Some(v) = map.get("redemption_type") {
        let t = text(v);
        d.redemption_type = RedemptionType::parse(&t)
            .ok_or_else(|| invalid("redemption_type", format!("\"{t}\" is not a valid choice.")))?;
    }
    if let Some(v) = map.get("payment_type") {
        d.payment_type = match v {
            Value::Null => None,
            v => {
                let t = text(v);
                if t.is_empty() {
                    None
                } else {
                    Some(PaymentType::parse(&t).ok_or_else(|| {
                        invalid("payment_type", format!("\"{t}\" is not a valid choice."))
                    })?)
                }
            }
        };
    }
    if let Some(v) = map.get("amount") {
        d.amount = decimal(v, "amount", 20, 5)
            .map_err(|m| invalid("amount", m.trim_start_matches("amount: ").to_owned()))?;
    }
    if let Some(v) = map.get("max_redemptions") {
        d.max_redemptions = match v {
            Value::Null => 0,
            v => text(v)
                .trim()
                .parse::<u32>()
                .map_err(|_| invalid("max_redemptions", "A valid integer is required."))?,
        };
    }
    if let Some(v) = map.get("automatic") {
        d.automatic =
            flag(map, "automatic").map_err(|_| invalid("automatic", "Must be a valid boolean."))?;
        let _ = v;
    }
    for (key, slot) in [
        ("activation_date", &mut d.activation_date),
        ("expiration_date", &mut d.expiration_date),
    ] {
        if let Some(v) = map.get(key) {
            *slot = match v {
                Value::Null => None,
                v if text(v).trim().is_empty() => None,
                v => Some(parse_supplied_date(&text(v)).map_err(|e| invalid(key, e.to_string()))?),
            };
        }
    }
    Ok(())
}

#[utoipa::path(post, operation_id = "discounts_create", path = "/api/v0/discounts/", tag = "discounts",
    request_body(content = serde_json::Value, description = "V0DiscountRequest"),
    responses((status = 201, body = serde_json::Value, description = "V0Discount"),
        (status = 400, description = "Field errors or the save-time date checks", body = serde_json::Value),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let audit = staff(&user)?;
    let map = fields(&headers, &raw)?;
    // Parse every field through the same rules as an update of a blank discount.
    let mut d = Discount {
        id: DiscountId(0),
        code: DiscountCode::parse("placeholder").map_err(|e| ApiError::Internal(e.to_string()))?,
        discount_type: DiscountType::PercentOff,
        amount: Decimal::ZERO,
        redemption_type: RedemptionType::Unlimited,
        payment_type: None,
        max_redemptions: 0,
        automatic: false,
        activation_date: None,
        expiration_date: None,
        is_bulk: false,
        is_program_discount: false,
    };
    apply(&mut d, &map, true)?;
    let input = NewDiscount {
        code: d.code.to_string(),
        discount_type: d.discount_type,
        amount: d.amount,
        redemption_type: d.redemption_type,
        payment_type: d.payment_type,
        max_redemptions: d.max_redemptions,
        automatic: d.automatic,
        activates: d.activation_date.map(time),
        expires: d.expiration_date.map(time),
    };
    let draft =
        discount_codes::draft_discount(&input, state.services.now()).map_err(codes_error)?;
    let detail = discount_codes::create_discount(&state.services, &draft, &[], &[], &audit)
        .await
        .map_err(codes_error)?;
    Ok((
        StatusCode::CREATED,
        Json(discount_json(&detail.record.discount, false)),
    )
        .into_response())
}

async fn change(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
    raw_id: &str,
    raw: &[u8],
    full: bool,
) -> Result<Json<Value>, ApiError> {
    let audit = staff(user)?;
    let id = path_discount(raw_id)?;
    let map = fields(headers, raw)?;
    let mut d = discount_admin::record(&state.services, id)
        .await
        .map_err(admin_error)?
        .discount;
    apply(&mut d, &map, full)?;
    discount_admin::update(&state.services, &d, &audit)
        .await
        .map_err(admin_error)?;
    Ok(Json(show(state, id).await?))
}

#[utoipa::path(put, operation_id = "discounts_update", path = "/api/v0/discounts/{id}/", tag = "discounts",
    params(("id" = i64, Path, description = "Discount id")),
    request_body(content = serde_json::Value, description = "V0DiscountRequest"),
    responses((status = 200, body = serde_json::Value, description = "V0Discount"),
        (status = 400, description = "Field errors or the save-time date checks", body = serde_json::Value),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn replace(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(id): PathKey,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    change(&state, &user, &headers, &id, &raw, true).await
}

#[utoipa::path(patch, operation_id = "discounts_partial_update", path = "/api/v0/discounts/{id}/", tag = "discounts",
    params(("id" = i64, Path, description = "Discount id")),
    request_body(content = serde_json::Value, description = "PatchedV0DiscountRequest"),
    responses((status = 200, body = serde_json::Value, description = "V0Discount"),
        (status = 400, description = "Field errors or the save-time date checks", body = serde_json::Value),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(id): PathKey,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    change(&state, &user, &headers, &id, &raw, false).await
}

#[utoipa::path(delete, operation_id = "discounts_destroy", path = "/api/v0/discounts/{id}/", tag = "discounts",
    params(("id" = i64, Path, description = "Discount id")),
    responses((status = 204, description = "Deleted with its redemptions, links and basket uses"),
        (status = 400, description = "A flexible-pricing tier uses it", body = crate::openapi::Detail),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn destroy(
    State(state): State<AppState>,
    user: AuthUser,
    PathKey(raw): PathKey,
) -> Result<StatusCode, ApiError> {
    let audit = staff(&user)?;
    let id = path_discount(&raw)?;
    discount_admin::delete(&state.services, id, &audit)
        .await
        .map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}
