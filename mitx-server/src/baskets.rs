//! Basket routes (ecommerce spec 4.1–4.3, 7, route index 7.1): the legacy checkout basket
//! endpoints, `/cart/add`, the claim at `/checkout/anonymous`, the legacy `/api/baskets/`
//! views and the v0 `/api/v0/baskets/` API (checkout excepted). Handlers parse, call a
//! `mitx_services::baskets` workflow and render the original JSON.
//!
//! Anonymous callers are identified by the `anonymous_basket_id` cookie (a random UUID v4;
//! HttpOnly, SameSite=Lax, Path=/) instead of a Django session key; a write by an
//! anonymous caller without one sets it.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use mitx_core::ids::{BasketId, ProductId, UserId};
use mitx_core::orders::{AddToCartOutcome, CartViewError};
use mitx_core::pricing::{BasketOwner, DiscountRecord, RedeemError};
use mitx_services::baskets::{
    self, BasketError, CartAddRequest, CartFailure, ItemWrite, RedeemFailure,
};
use mitx_services::store::baskets::{BasketState, ProductView, Purchasable};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{AuthUser, CurrentUser};
use crate::path_key::PathKey;
use crate::{ApiError, AppState, body};

/// The cookie holding an anonymous caller's basket id.
pub const ANONYMOUS_COOKIE: &str = mitx_core::orders::ANONYMOUS_BASKET_SESSION_KEY;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/checkout/add_to_cart/", post(add_to_cart))
        .route("/api/checkout/cart/", get(cart))
        .route("/api/checkout/basket_items_count/", get(basket_items_count))
        .route("/api/checkout/redeem_discount/", post(redeem_discount))
        .route("/api/baskets/", get(legacy_list))
        .route("/api/baskets/{key}/", get(legacy_by_username))
        .route(
            "/api/baskets/{key}/items/",
            get(legacy_items).post(legacy_add_item),
        )
        .route(
            "/api/baskets/{key}/items/{item}/",
            axum::routing::delete(legacy_delete_item),
        )
        .route("/api/baskets/{key}/discounts/", get(legacy_discounts))
        .route("/cart/add", get(cart_add))
        .route("/checkout/anonymous", get(claim))
        .route("/api/v0/baskets/", get(v0_list))
        .route("/api/v0/baskets/{key}/", get(v0_retrieve))
        .route(
            "/api/v0/baskets/{key}/items/",
            get(v0_items_list).post(v0_items_create),
        )
        .route(
            "/api/v0/baskets/{key}/items/{item}/",
            get(v0_items_retrieve)
                .put(v0_items_update)
                .patch(v0_items_partial_update)
                .delete(v0_items_destroy),
        )
        .route("/api/v0/baskets/add_discount/", post(v0_add_discount))
        .route("/api/v0/baskets/clear/", axum::routing::delete(v0_clear))
        .route(
            "/api/v0/baskets/create_from_product/{product_id}/",
            post(v0_create_from_product),
        )
        .route(
            "/api/v0/baskets/create_from_product/{product_id}/{discount_code}/",
            post(v0_create_from_product_with_code),
        )
        .route(
            "/api/v0/baskets/create_with_products/",
            post(v0_create_with_products),
        )
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

fn iso(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
    })
}

/// The course number of a course readable id (`course-v1:MITx+14.73x` → `14.73x`).
fn course_number(readable_id: &str) -> &str {
    readable_id.rsplit('+').next().unwrap_or(readable_id)
}

/// `Product` JSON: `{id, price, description, is_active, purchasable_object}`.
pub fn product_json(view: &ProductView) -> Value {
    let p = &view.product;
    let purchasable = match &view.purchasable {
        Purchasable::CourseRun {
            id,
            title,
            run_tag,
            courseware_id,
            start_date,
            end_date,
            enrollment_start,
            enrollment_end,
            course,
            course_title,
            course_readable_id,
        } => json!({
            "id": id.0,
            "title": title,
            "run_tag": run_tag,
            "start_date": iso(*start_date),
            "end_date": iso(*end_date),
            "course": {"id": course.0, "title": course_title, "page": null},
            "readable_id": courseware_id,
            "enrollment_start": iso(*enrollment_start),
            "enrollment_end": iso(*enrollment_end),
            "course_number": course_number(course_readable_id),
        }),
        Purchasable::Program {
            id,
            title,
            readable_id,
        } => json!({"id": id.0, "title": title, "readable_id": readable_id, "page": null}),
        Purchasable::Missing => Value::Null,
    };
    json!({
        "id": p.id.0,
        "price": p.price.to_price_string(),
        "description": p.description,
        "is_active": p.is_active,
        "purchasable_object": purchasable,
    })
}

/// `V0Discount` JSON.
pub fn discount_json(record: &DiscountRecord) -> Value {
    let d = &record.discount;
    json!({
        "id": d.id.0,
        "amount": mitx_core::money::Money::new(d.amount).to_amount_string(),
        "automatic": d.automatic,
        "discount_type": d.discount_type.slug(),
        "redemption_type": d.redemption_type.slug(),
        "max_redemptions": d.max_redemptions,
        "discount_code": d.code.as_str(),
        "payment_type": d.payment_type.map(|p| p.slug()),
        "is_redeemed": record.usage.is_redeemed(),
        "activation_date": iso(d.activation_date),
        "expiration_date": iso(d.expiration_date),
    })
}

fn money_number(money: mitx_core::money::Money) -> Value {
    // Money has at most 5 decimal places and 20 digits: its decimal text parses exactly
    // enough for the 2-decimal totals the original sends as floats.
    money
        .amount()
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// `{basket, product: <id>, id}` items.
fn plain_items(state: &BasketState) -> Value {
    Value::Array(
        state
            .items
            .iter()
            .map(|i| json!({"basket": state.basket.id.0, "product": i.product.0, "id": i.id}))
            .collect(),
    )
}

/// The legacy `{id, user, basket_items}` basket.
fn plain_basket(state: &BasketState) -> Value {
    json!({
        "id": state.basket.id.0,
        "user": state.basket.user.map(|u| u.0),
        "basket_items": plain_items(state),
    })
}

async fn basket_discount(
    app: &AppState,
    state: &BasketState,
) -> Result<Option<DiscountRecord>, ApiError> {
    Ok(match state.discount {
        Some(id) => app.store.discount_records(&[id]).await?.pop(),
        None => None,
    })
}

/// `BasketWithProduct` JSON (spec 7): items with their products, totals as numbers, and
/// the discount unless it is a zero-amount percent-off or dollars-off one.
pub async fn basket_json(app: &AppState, state: &BasketState) -> Result<Value, ApiError> {
    let mut items = Vec::with_capacity(state.items.len());
    for item in &state.items {
        let product = match app.store.product_view(item.product).await? {
            Some(view) => product_json(&view),
            None => Value::Null,
        };
        items.push(json!({"basket": state.basket.id.0, "product": product, "id": item.id}));
    }
    let record = basket_discount(app, state).await?;
    let pricing = baskets::pricing_basket(state, record);
    let discounts: Vec<Value> = pricing
        .listed_discount()
        .map(|record| {
            json!({
                "redeemed_discount": discount_json(record),
                "redeemed_basket": plain_basket(state),
            })
        })
        .into_iter()
        .collect();
    Ok(json!({
        "id": state.basket.id.0,
        "user": state.basket.user.map(|u| u.0),
        "anonymous_id": state.basket.anonymous_id.map(|a| a.hyphenated().to_string()),
        "basket_items": items,
        "total_price": money_number(pricing.total_price()),
        "discounted_price": money_number(pricing.discounted_price()),
        "discounts": discounts,
    }))
}

fn with_status(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

// ---------------------------------------------------------------------------------------
// The caller's basket
// ---------------------------------------------------------------------------------------

/// The anonymous basket id of the request's cookie, if well formed.
pub fn anonymous_cookie(headers: &HeaderMap) -> Option<Uuid> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == ANONYMOUS_COOKIE)
        .and_then(|(_, value)| Uuid::parse_str(value.trim()).ok())
}

fn set_cookie(response: &mut Response, id: Uuid) {
    let cookie = format!(
        "{ANONYMOUS_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/",
        id.hyphenated()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn clear_cookie(response: &mut Response) {
    let cookie = format!("{ANONYMOUS_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Who the basket belongs to for a read: the user, the cookie's id, or nobody.
fn reader(user: &CurrentUser, headers: &HeaderMap) -> Option<BasketOwner> {
    match &user.0 {
        Some(user) => Some(BasketOwner::User(user.id)),
        None => anonymous_cookie(headers).map(BasketOwner::Anonymous),
    }
}

/// Who the basket belongs to for a write; an anonymous caller without a cookie gets a new
/// id (returned so the response can set the cookie).
fn writer(user: &CurrentUser, headers: &HeaderMap) -> (BasketOwner, Option<Uuid>) {
    match &user.0 {
        Some(user) => (BasketOwner::User(user.id), None),
        None => {
            let id = anonymous_cookie(headers).unwrap_or_else(baskets::new_anonymous_id);
            (BasketOwner::Anonymous(id), Some(id))
        }
    }
}

fn basket_error(err: BasketError) -> ApiError {
    match err {
        BasketError::InvalidProduct(_) => body::field_error("product", &err.to_string()),
        BasketError::NotFound => ApiError::not_found(),
        other => ApiError::from_fault(other.fault(), &other),
    }
}

fn path_id(key: &str) -> Result<i64, ApiError> {
    key.parse::<i64>().map_err(|_| ApiError::not_found())
}

// ---------------------------------------------------------------------------------------
// Legacy checkout basket
// ---------------------------------------------------------------------------------------

#[utoipa::path(post, operation_id = "checkout_add_to_cart", path = "/api/checkout/add_to_cart/", tag = "baskets",
    request_body(content = serde_json::Value, description = "`{product_id}` (JSON or form)"),
    responses(
        (status = 200, body = serde_json::Value, description = "`{\"message\": \"Product added to cart\"}` or `\"Product already in cart\"` (multi-item mode)"),
        (status = 404, body = serde_json::Value, description = "`{\"message\": \"Product not found\"}`"),
        (status = 400, body = crate::openapi::FieldErrors, description = "product_id missing or not an integer")))]
async fn add_to_cart(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let product = body::required_int(body::field(&headers, &bytes, "product_id")?, "product_id")?;
    let (owner, cookie) = writer(&user, &headers);
    let outcome = baskets::add_to_cart(&app.services, owner, ProductId(product))
        .await
        .map_err(basket_error)?;
    let status = match outcome {
        AddToCartOutcome::ProductNotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let mut response = with_status(status, json!({"message": outcome.message()}));
    if let Some(id) = cookie {
        set_cookie(&mut response, id);
    }
    Ok(response)
}

fn cart_error(err: CartViewError) -> Response {
    with_status(
        StatusCode::NOT_ACCEPTABLE,
        json!({"detail": err.to_string()}),
    )
}

#[utoipa::path(get, operation_id = "checkout_cart", path = "/api/checkout/cart/", tag = "baskets",
    responses(
        (status = 200, body = serde_json::Value, description = "BasketWithProduct (after the cart refresh for a signed-in learner)"),
        (status = 406, body = crate::openapi::Detail, description = "`No basket` or `No product in basket`")))]
async fn cart(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(owner) = reader(&user, &headers) else {
        return Ok(cart_error(CartViewError::NoBasket));
    };
    match baskets::cart_view(&app.services, owner).await {
        Ok(state) => Ok(Json(basket_json(&app, &state).await?).into_response()),
        Err(CartFailure::Refused(err)) => Ok(cart_error(err)),
        Err(CartFailure::Store(err)) => Err(err.into()),
    }
}

#[utoipa::path(get, operation_id = "checkout_basket_items_count", path = "/api/checkout/basket_items_count/", tag = "baskets",
    responses((status = 200, body = u64, description = "Number of distinct items in the caller's basket (0 without one)")))]
async fn basket_items_count(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let count = match reader(&user, &headers) {
        Some(owner) => app.store.basket_of(owner).await?.map_or(0, |state| {
            let mut products: Vec<ProductId> = state.items.iter().map(|i| i.product).collect();
            products.sort();
            products.dedup();
            products.len()
        }),
        None => 0,
    };
    Ok(Json(json!(count)).into_response())
}

#[utoipa::path(post, operation_id = "checkout_redeem_discount", path = "/api/checkout/redeem_discount/", tag = "baskets",
    request_body(content = serde_json::Value, description = "`{discount}`: the code"),
    responses(
        (status = 200, body = serde_json::Value, description = "`{\"message\": \"Discount applied\", \"code\": <stored code>}`"),
        (status = 404, body = crate::openapi::Detail, description = "`Discount '<code>' not found.`"),
        (status = 406, body = crate::openapi::Detail, description = "`No basket`"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn redeem_discount(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let submitted = match body::field(&headers, &bytes, "discount")? {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match baskets::redeem_discount(&app.services, user.id, &submitted).await {
        Ok(decision) => Ok(Json(json!({
            "message": mitx_core::pricing::RedeemDecision::MESSAGE,
            "code": decision.code.as_str(),
        }))
        .into_response()),
        Err(RedeemFailure::Refused(err @ RedeemError::NoBasket)) => Ok(with_status(
            StatusCode::NOT_ACCEPTABLE,
            json!({"detail": err.to_string()}),
        )),
        Err(RedeemFailure::Refused(err @ RedeemError::NotFound(_))) => {
            Err(ApiError::NotFound(err.to_string()))
        }
        Err(RedeemFailure::Store(err)) => Err(err.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Legacy /api/baskets/ views
// ---------------------------------------------------------------------------------------

async fn own_state(app: &AppState, user: UserId) -> Result<Option<BasketState>, ApiError> {
    Ok(app.store.basket_of(BasketOwner::User(user)).await?)
}

/// The caller's basket when its id is `key`; else 404.
async fn own_state_by_id(app: &AppState, user: UserId, key: &str) -> Result<BasketState, ApiError> {
    let id = path_id(key)?;
    match own_state(app, user).await? {
        Some(state) if state.basket.id.0 == id => Ok(state),
        _ => Err(ApiError::not_found()),
    }
}

#[utoipa::path(get, operation_id = "legacy_baskets_list", path = "/api/baskets/", tag = "baskets",
    responses((status = 200, body = serde_json::Value, description = "The caller's baskets: `[{id, user, basket_items}]`"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn legacy_list(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Response, ApiError> {
    let list: Vec<Value> = own_state(&app, user.id)
        .await?
        .iter()
        .map(plain_basket)
        .collect();
    Ok(Json(Value::Array(list)).into_response())
}

#[utoipa::path(get, operation_id = "legacy_baskets_retrieve", path = "/api/baskets/{username}/", tag = "baskets",
    params(("username" = String, Path, description = "The caller's username")),
    responses((status = 200, body = serde_json::Value, description = "`{id, user, basket_items}`"),
        (status = 404, body = crate::openapi::Detail, description = "Another user's name, or no basket"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn legacy_by_username(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    if key != user.username {
        return Err(ApiError::not_found());
    }
    let state = own_state(&app, user.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(plain_basket(&state)).into_response())
}

#[utoipa::path(get, operation_id = "legacy_baskets_items_list", path = "/api/baskets/{id}/items/", tag = "baskets",
    params(("id" = i64, Path, description = "The caller's basket")),
    responses((status = 200, body = serde_json::Value, description = "`[{basket, product, id}]`"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn legacy_items(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let state = own_state_by_id(&app, user.id, &key).await?;
    Ok(Json(plain_items(&state)).into_response())
}

fn item_json(item: &ItemWrite) -> Value {
    json!({"basket": item.basket.0, "product": item.product.0, "id": item.id})
}

fn product_field(headers: &HeaderMap, bytes: &[u8]) -> Result<ProductId, ApiError> {
    Ok(ProductId(body::required_int(
        body::field(headers, bytes, "product")?,
        "product",
    )?))
}

#[utoipa::path(post, operation_id = "legacy_baskets_items_create", path = "/api/baskets/{id}/items/", tag = "baskets",
    params(("id" = i64, Path, description = "The caller's basket")),
    request_body(content = serde_json::Value, description = "`{product}`"),
    responses((status = 201, body = serde_json::Value, description = "`{basket, product, id}`"),
        (status = 400, body = crate::openapi::FieldErrors, description = "Unknown or inactive product"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn legacy_add_item(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(key): PathKey,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let basket = BasketId(path_id(&key)?);
    let product = product_field(&headers, &bytes)?;
    let item = baskets::add_item(&app.services, user.id, basket, product)
        .await
        .map_err(basket_error)?;
    Ok(with_status(StatusCode::CREATED, item_json(&item)))
}

#[utoipa::path(delete, operation_id = "legacy_baskets_items_destroy", path = "/api/baskets/{id}/items/{item}/", tag = "baskets",
    params(("id" = i64, Path, description = "The caller's basket"), ("item" = i64, Path, description = "The item")),
    responses((status = 204, description = "Removed"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket or item"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn legacy_delete_item(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    axum::extract::Path((key, item)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    destroy_item(&app, user.id, &key, &item).await
}

async fn destroy_item(
    app: &AppState,
    user: UserId,
    key: &str,
    item: &str,
) -> Result<Response, ApiError> {
    let basket = BasketId(path_id(key)?);
    let item = path_id(item)?;
    baskets::delete_item(&app.services, user, basket, item)
        .await
        .map_err(basket_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, operation_id = "legacy_baskets_discounts_list", path = "/api/baskets/{id}/discounts/", tag = "baskets",
    params(("id" = i64, Path, description = "The caller's basket")),
    responses((status = 200, body = serde_json::Value, description = "`[{redeemed_discount, redeemed_basket}]`"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn legacy_discounts(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let state = own_state_by_id(&app, user.id, &key).await?;
    let list: Vec<Value> = basket_discount(&app, &state)
        .await?
        .iter()
        .map(|record| {
            json!({"redeemed_discount": discount_json(record), "redeemed_basket": plain_basket(&state)})
        })
        .collect();
    Ok(Json(Value::Array(list)).into_response())
}

// ---------------------------------------------------------------------------------------
// /cart/add and the claim
// ---------------------------------------------------------------------------------------

#[utoipa::path(get, operation_id = "cart_add", path = "/cart/add", tag = "baskets",
    params(
        ("product_id" = Option<Vec<i64>>, Query, description = "Products (repeatable)"),
        ("course_run_id" = Option<Vec<String>>, Query, description = "Run courseware ids (repeatable)"),
        ("course_id" = Option<Vec<String>>, Query, description = "Run courseware ids (repeatable)"),
        ("program_id" = Option<Vec<i64>>, Query, description = "Programs whose courses' run products are added (repeatable)")),
    responses((status = 302, description = "Basket emptied and filled; redirect to `/cart/`")))]
async fn cart_add(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = query.unwrap_or_default();
    let ints = |key: &str| -> Vec<i64> {
        body::form_values(&query, key)
            .iter()
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    };
    let mut courseware_ids = body::form_values(&query, "course_run_id");
    courseware_ids.extend(body::form_values(&query, "course_id"));
    let request = CartAddRequest {
        product_ids: ints("product_id"),
        courseware_ids,
        program_ids: ints("program_id"),
    };
    let (owner, cookie) = writer(&user, &headers);
    baskets::cart_add(&app.services, owner, &request)
        .await
        .map_err(basket_error)?;
    let mut response = redirect("/cart/");
    if let Some(id) = cookie {
        set_cookie(&mut response, id);
    }
    Ok(response)
}

/// Where anonymous callers of login-required pages go.
fn login_redirect(next: &str) -> Response {
    redirect(&format!("/signin/?next={}", next.replace('/', "%2F")))
}

#[utoipa::path(get, operation_id = "checkout_anonymous", path = "/checkout/anonymous", tag = "baskets",
    responses((status = 302, description = "The anonymous basket (cookie `anonymous_basket_id`) becomes the learner's; redirect to `/checkout/to_payment` (anonymous callers: to the sign-in page)")))]
async fn claim(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(user) = user.0 else {
        return Ok(login_redirect("/checkout/anonymous"));
    };
    let anonymous = anonymous_cookie(&headers);
    baskets::claim(&app.services, user.id, anonymous).await?;
    let mut response = redirect(mitx_core::orders::CLAIM_REDIRECT);
    if anonymous.is_some() {
        clear_cookie(&mut response);
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------
// v0 baskets
// ---------------------------------------------------------------------------------------

#[utoipa::path(get, operation_id = "baskets_list", path = "/api/v0/baskets/", tag = "baskets",
    responses((status = 200, body = serde_json::Value, description = "The caller's baskets (BasketWithProduct)"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_list(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Response, ApiError> {
    let mut list = Vec::new();
    if let Some(state) = own_state(&app, user.id).await? {
        list.push(basket_json(&app, &state).await?);
    }
    Ok(Json(Value::Array(list)).into_response())
}

#[utoipa::path(get, operation_id = "baskets_retrieve", path = "/api/v0/baskets/{id}/", tag = "baskets",
    params(("id" = i64, Path, description = "The caller's basket")),
    responses((status = 200, body = serde_json::Value, description = "BasketWithProduct"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_retrieve(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    if key.parse::<i64>().is_err() {
        // A word here is another route of this family (e.g. `checkout/`), not a basket.
        return Ok(crate::rejections::unknown_route().await);
    }
    let state = own_state_by_id(&app, user.id, &key).await?;
    Ok(Json(basket_json(&app, &state).await?).into_response())
}

#[utoipa::path(get, operation_id = "baskets_items_list", path = "/api/v0/baskets/{parent_lookup_basket}/items/", tag = "baskets",
    params(("parent_lookup_basket" = i64, Path, description = "The caller's basket")),
    responses((status = 200, body = serde_json::Value, description = "`[{basket, product, id}]`"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_items_list(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let state = own_state_by_id(&app, user.id, &key).await?;
    Ok(Json(plain_items(&state)).into_response())
}

#[utoipa::path(post, operation_id = "baskets_items_create", path = "/api/v0/baskets/{parent_lookup_basket}/items/", tag = "baskets",
    params(("parent_lookup_basket" = i64, Path, description = "The caller's basket")),
    request_body(content = serde_json::Value, description = "`{product, basket?}`: a posted basket must be the caller's"),
    responses((status = 201, body = serde_json::Value, description = "`{basket, product, id}`"),
        (status = 400, body = crate::openapi::FieldErrors, description = "Unknown or inactive product"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_items_create(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    PathKey(key): PathKey,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut basket = BasketId(path_id(&key)?);
    if let Some(raw) = body::field(&headers, &bytes, "basket")? {
        basket = BasketId(body::required_int(Some(raw), "basket")?);
    }
    let product = product_field(&headers, &bytes)?;
    let item = baskets::add_item(&app.services, user.id, basket, product)
        .await
        .map_err(basket_error)?;
    Ok(with_status(StatusCode::CREATED, item_json(&item)))
}

async fn item_of(app: &AppState, user: UserId, key: &str, item: &str) -> Result<Value, ApiError> {
    let state = own_state_by_id(app, user, key).await?;
    let item = path_id(item)?;
    state
        .items
        .iter()
        .find(|i| i.id == item)
        .map(|i| json!({"basket": state.basket.id.0, "product": i.product.0, "id": i.id}))
        .ok_or_else(ApiError::not_found)
}

#[utoipa::path(get, operation_id = "baskets_items_retrieve", path = "/api/v0/baskets/{parent_lookup_basket}/items/{id}/", tag = "baskets",
    params(("parent_lookup_basket" = i64, Path, description = "The caller's basket"), ("id" = i64, Path, description = "The item")),
    responses((status = 200, body = serde_json::Value, description = "`{basket, product, id}`"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket or item"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_items_retrieve(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    axum::extract::Path((key, item)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(item_of(&app, user.id, &key, &item).await?).into_response())
}

async fn change_item(
    app: &AppState,
    user: UserId,
    key: &str,
    item: &str,
    product: Option<ProductId>,
) -> Result<Response, ApiError> {
    let basket = BasketId(path_id(key)?);
    let item = path_id(item)?;
    let write = baskets::update_item(&app.services, user, basket, item, product)
        .await
        .map_err(basket_error)?;
    Ok(Json(item_json(&write)).into_response())
}

#[utoipa::path(put, operation_id = "baskets_items_update", path = "/api/v0/baskets/{parent_lookup_basket}/items/{id}/", tag = "baskets",
    params(("parent_lookup_basket" = i64, Path, description = "The caller's basket"), ("id" = i64, Path, description = "The item")),
    request_body(content = serde_json::Value, description = "`{product}`"),
    responses((status = 200, body = serde_json::Value, description = "`{basket, product, id}`"),
        (status = 400, body = crate::openapi::FieldErrors, description = "Missing, unknown or inactive product"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket or item"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_items_update(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    axum::extract::Path((key, item)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let product = product_field(&headers, &bytes)?;
    change_item(&app, user.id, &key, &item, Some(product)).await
}

#[utoipa::path(patch, operation_id = "baskets_items_partial_update", path = "/api/v0/baskets/{parent_lookup_basket}/items/{id}/", tag = "baskets",
    params(("parent_lookup_basket" = i64, Path, description = "The caller's basket"), ("id" = i64, Path, description = "The item")),
    request_body(content = serde_json::Value, description = "`{product?}`"),
    responses((status = 200, body = serde_json::Value, description = "`{basket, product, id}`"),
        (status = 400, body = crate::openapi::FieldErrors, description = "Unknown or inactive product"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket or item"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_items_partial_update(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    axum::extract::Path((key, item)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let product = match body::field(&headers, &bytes, "product")? {
        None => None,
        raw => Some(ProductId(body::required_int(raw, "product")?)),
    };
    change_item(&app, user.id, &key, &item, product).await
}

#[utoipa::path(delete, operation_id = "baskets_items_destroy", path = "/api/v0/baskets/{parent_lookup_basket}/items/{id}/", tag = "baskets",
    params(("parent_lookup_basket" = i64, Path, description = "The caller's basket"), ("id" = i64, Path, description = "The item")),
    responses((status = 204, description = "Removed"),
        (status = 404, body = crate::openapi::Detail, description = "Not the caller's basket or item"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_items_destroy(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    axum::extract::Path((key, item)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    destroy_item(&app, user.id, &key, &item).await
}

#[utoipa::path(post, operation_id = "baskets_add_discount_create", path = "/api/v0/baskets/add_discount/", tag = "baskets",
    params(("discount_code" = String, Query, description = "The code")),
    responses((status = 200, body = serde_json::Value, description = "BasketWithProduct (unchanged when the code loses to the current discount)"),
        (status = 400, body = crate::openapi::FieldErrors, description = "No `discount_code`"),
        (status = 404, body = serde_json::Value, description = "`{\"error\": \"Discount 'X' not found\"}`"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_add_discount(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Some(code) = body::form_values(&query.unwrap_or_default(), "discount_code")
        .into_iter()
        .next()
        .filter(|c| !c.is_empty())
    else {
        return Err(body::field_error(
            "discount_code",
            "This field is required.",
        ));
    };
    match baskets::add_discount(&app.services, user.id, &code).await {
        Ok(state) => Ok(Json(basket_json(&app, &state).await?).into_response()),
        Err(err @ BasketError::DiscountNotFound(_)) => Ok(with_status(
            StatusCode::NOT_FOUND,
            json!({"error": err.to_string()}),
        )),
        Err(err) => Err(basket_error(err)),
    }
}

#[utoipa::path(delete, operation_id = "baskets_clear_destroy", path = "/api/v0/baskets/clear/", tag = "baskets",
    responses((status = 204, description = "The caller's basket is deleted (no basket is fine)")))]
async fn v0_clear(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(owner) = reader(&user, &headers) {
        baskets::clear(&app.services, owner)
            .await
            .map_err(basket_error)?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `quantity` (default 1, at least 1) and `checkout` (default false) of a body.
fn quantity_and_checkout(headers: &HeaderMap, bytes: &[u8]) -> Result<(u32, bool), ApiError> {
    let quantity = match body::field(headers, bytes, "quantity")? {
        None | Some(Value::Null) => 1,
        raw => {
            let q = body::required_int(raw, "quantity")?;
            u32::try_from(q).ok().filter(|q| *q >= 1).ok_or_else(|| {
                body::field_error(
                    "quantity",
                    "Ensure this value is greater than or equal to 1.",
                )
            })?
        }
    };
    let checkout = match body::field(headers, bytes, "checkout")? {
        None | Some(Value::Null) => false,
        raw => body::required_bool(raw, "checkout")?,
    };
    Ok((quantity, checkout))
}

async fn create_from_product(
    app: &AppState,
    user: &CurrentUser,
    headers: &HeaderMap,
    bytes: &[u8],
    product: &str,
    code: Option<&str>,
) -> Result<Response, ApiError> {
    let Ok(product) = product.parse::<i64>() else {
        return Ok(with_status(
            StatusCode::NOT_FOUND,
            json!({"error": "Product not found"}),
        ));
    };
    let (quantity, checkout) = quantity_and_checkout(headers, bytes)?;
    let (owner, cookie) = writer(user, headers);
    let written = match baskets::create_from_product(
        &app.services,
        owner,
        ProductId(product),
        quantity,
        code,
    )
    .await
    {
        Ok(written) => written,
        Err(err @ BasketError::ProductNotFound) => {
            return Ok(with_status(
                StatusCode::NOT_FOUND,
                json!({"error": err.to_string()}),
            ));
        }
        Err(err) => return Err(basket_error(err)),
    };
    let outcome = mitx_core::orders::CreateFromProductOutcome::decide(
        true,
        written.item_was_new,
        checkout,
        user.0.is_some(),
    );
    let mut response = match outcome.location() {
        Some(location) => redirect(location),
        None => {
            let status = StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::OK);
            with_status(status, basket_json(app, &written.state).await?)
        }
    };
    if let Some(id) = cookie {
        set_cookie(&mut response, id);
    }
    Ok(response)
}

#[utoipa::path(post, operation_id = "baskets_create_from_product_create", path = "/api/v0/baskets/create_from_product/{product_id}/", tag = "baskets",
    params(("product_id" = i64, Path, description = "The product")),
    request_body(content = serde_json::Value, description = "Optional `{quantity, checkout}`"),
    responses(
        (status = 200, body = serde_json::Value, description = "BasketWithProduct (item updated)"),
        (status = 201, body = serde_json::Value, description = "BasketWithProduct (item added)"),
        (status = 302, description = "`checkout` true: to `/checkout/to_payment` or `/checkout/anonymous`"),
        (status = 404, body = serde_json::Value, description = "`{\"error\": \"Product not found\"}`")))]
async fn v0_create_from_product(
    State(app): State<AppState>,
    user: CurrentUser,
    PathKey(product): PathKey,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    create_from_product(&app, &user, &headers, &bytes, &product, None).await
}

#[utoipa::path(post, operation_id = "create_basket_from_product_with_discount", path = "/api/v0/baskets/create_from_product/{product_id}/{discount_code}/", tag = "baskets",
    params(("product_id" = i64, Path, description = "The product"), ("discount_code" = String, Path, description = "A code to apply")),
    request_body(content = serde_json::Value, description = "Optional `{quantity, checkout}`"),
    responses(
        (status = 200, body = serde_json::Value, description = "BasketWithProduct (item updated)"),
        (status = 201, body = serde_json::Value, description = "BasketWithProduct (item added)"),
        (status = 302, description = "`checkout` true: to `/checkout/to_payment`"),
        (status = 404, body = serde_json::Value, description = "`{\"error\": \"Product not found\"}`"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_create_from_product_with_code(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    axum::extract::Path((product, code)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let caller = CurrentUser(Some(user));
    create_from_product(&app, &caller, &headers, &bytes, &product, Some(&code)).await
}

#[utoipa::path(post, operation_id = "baskets_create_with_products_create", path = "/api/v0/baskets/create_with_products/", tag = "baskets",
    request_body(content = serde_json::Value, description = "`{product_ids: [{product_id, quantity}], discount_code?, checkout?}`"),
    responses(
        (status = 200, body = serde_json::Value, description = "BasketWithProduct"),
        (status = 302, description = "`checkout` true: to `/checkout/to_payment`"),
        (status = 400, body = crate::openapi::FieldErrors, description = "Malformed product list"),
        (status = 404, body = serde_json::Value, description = "`{\"error\": \"Product not found\"}`"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn v0_create_with_products(
    State(app): State<AppState>,
    AuthUser(user): AuthUser,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut object = body::json_object(&bytes)?;
    let invalid = || body::field_error("product_ids", "Expected a list of {product_id, quantity}.");
    let list = match object.remove("product_ids") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => {
            return Err(body::field_error("product_ids", "This field is required."));
        }
        Some(_) => return Err(invalid()),
    };
    let mut items = Vec::with_capacity(list.len());
    for entry in list {
        let Value::Object(mut entry) = entry else {
            return Err(invalid());
        };
        let product = body::required_int(entry.remove("product_id"), "product_id")?;
        let quantity = match entry.remove("quantity") {
            None | Some(Value::Null) => 1,
            raw => u32::try_from(body::required_int(raw, "quantity")?)
                .ok()
                .filter(|q| *q >= 1)
                .ok_or_else(|| {
                    body::field_error(
                        "quantity",
                        "Ensure this value is greater than or equal to 1.",
                    )
                })?,
        };
        items.push((ProductId(product), quantity));
    }
    let code = match object.remove("discount_code") {
        Some(Value::String(code)) if !code.trim().is_empty() => Some(code),
        _ => None,
    };
    let checkout = match object.remove("checkout") {
        None | Some(Value::Null) => false,
        raw => body::required_bool(raw, "checkout")?,
    };
    let state = match baskets::create_with_products(&app.services, user.id, &items, code.as_deref())
        .await
    {
        Ok(state) => state,
        Err(err @ BasketError::ProductNotFound) => {
            return Ok(with_status(
                StatusCode::NOT_FOUND,
                json!({"error": err.to_string()}),
            ));
        }
        Err(err) => return Err(basket_error(err)),
    };
    if checkout {
        return Ok(redirect(mitx_core::orders::CLAIM_REDIRECT));
    }
    Ok(Json(basket_json(&app, &state).await?).into_response())
}
