//! Product routes (ecommerce spec 7): `/api/v0/products/` (signed-in; active products
//! except runs whose enrollment has ended; limit/offset with a default limit of 2), the
//! detail, the learner's flexible price of a product, and the staff listing
//! `/api/v0/products/all/` with `search`.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use mitx_core::ids::ProductId;
use mitx_services::baskets;
use mitx_services::store::baskets::{ProductView, Purchasable};
use serde_json::{Value, json};

use crate::auth::{AuthUser, CurrentUser, PERMISSION_DENIED};
use crate::baskets::{discount_json, product_json};
use crate::path_key::PathKey;
use crate::{ApiError, AppState, body};

/// The default page size of the product listings.
pub const DEFAULT_LIMIT: usize = 2;

/// The detail answer for an unknown or inactive product.
pub const NO_PRODUCT: &str = "No Product matches the given query.";

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/products/", get(list))
        .route("/api/v0/products/all/", get(list_all))
        .route("/api/v0/products/all/{id}/", get(retrieve_all))
        .route("/api/v0/products/{id}/", get(retrieve))
        .route(
            "/api/v0/products/{id}/user_flexible_price/",
            get(user_flexible_price),
        )
}

/// Every active product with what it sells, by id.
async fn active_views(app: &AppState) -> Result<Vec<ProductView>, ApiError> {
    let mut views = Vec::new();
    for product in app.store.list_products(false).await? {
        if let Some(view) = app.store.product_view(product.id).await? {
            views.push(view);
        }
    }
    Ok(views)
}

fn enrollment_ended(view: &ProductView, now: DateTime<Utc>) -> bool {
    matches!(
        &view.purchasable,
        Purchasable::CourseRun { enrollment_end: Some(end), .. } if *end < now
    )
}

fn matches_search(view: &ProductView, search: &str) -> bool {
    let needle = search.to_lowercase();
    let readable = match &view.purchasable {
        Purchasable::CourseRun { courseware_id, .. } => courseware_id.as_str(),
        Purchasable::Program { readable_id, .. } => readable_id.as_str(),
        Purchasable::Missing => "",
    };
    readable.to_lowercase().contains(&needle)
        || view.product.description.to_lowercase().contains(&needle)
}

/// DRF's limit/offset page: a bad or missing limit is the default, a bad offset 0.
fn page(
    app: &AppState,
    headers: &HeaderMap,
    path: &str,
    query: &str,
    extra: &[(&str, String)],
    views: &[ProductView],
) -> Value {
    let first = |key: &str| body::form_values(query, key).into_iter().next();
    let limit = first("limit")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    let offset = first("offset")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let count = views.len();
    let results: Vec<Value> = views
        .iter()
        .skip(offset)
        .take(limit)
        .map(product_json)
        .collect();
    let base = app.links.base(headers);
    let link = |offset: Option<usize>| {
        let mut params = vec![format!("limit={limit}")];
        if let Some(offset) = offset {
            params.push(format!("offset={offset}"));
        }
        for (key, value) in extra {
            params.push(format!("{key}={}", url_escape(value)));
        }
        Value::String(format!("{base}{path}?{}", params.join("&")))
    };
    let next = if offset + limit < count {
        link(Some(offset + limit))
    } else {
        Value::Null
    };
    let previous = if offset == 0 {
        Value::Null
    } else if offset <= limit {
        link(None)
    } else {
        link(Some(offset - limit))
    };
    json!({"count": count, "next": next, "previous": previous, "results": results})
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[utoipa::path(get, operation_id = "products_list", path = "/api/v0/products/", tag = "products",
    params(("limit" = Option<u64>, Query, description = "Page size (default 2)"), ("offset" = Option<u64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedProductList: active products, except runs whose enrollment has ended"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn list(
    State(app): State<AppState>,
    AuthUser(_): AuthUser,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let now = app.services.now();
    let views: Vec<ProductView> = active_views(&app)
        .await?
        .into_iter()
        .filter(|v| !enrollment_ended(v, now))
        .collect();
    let query = query.unwrap_or_default();
    let body = page(&app, &headers, "/api/v0/products/", &query, &[], &views);
    Ok(Json(body).into_response())
}

/// An active product by the path id, or 404 `No Product matches the given query.`.
async fn active_view(app: &AppState, key: &str) -> Result<ProductView, ApiError> {
    let not_found = || ApiError::NotFound(NO_PRODUCT.into());
    let id = key.parse::<i64>().map_err(|_| not_found())?;
    app.store
        .product_view(ProductId(id))
        .await?
        .filter(|v| v.product.is_active)
        .ok_or_else(not_found)
}

#[utoipa::path(get, operation_id = "products_retrieve", path = "/api/v0/products/{id}/", tag = "products",
    params(("id" = i64, Path, description = "The product")),
    responses((status = 200, body = serde_json::Value, description = "Product"),
        (status = 404, body = crate::openapi::Detail, description = "Unknown or inactive product"),
        (status = 403, body = crate::openapi::Detail, description = "Anonymous caller")))]
async fn retrieve(
    State(app): State<AppState>,
    AuthUser(_): AuthUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    Ok(Json(product_json(&active_view(&app, &key).await?)).into_response())
}

#[utoipa::path(get, operation_id = "products_user_flexible_price_retrieve", path = "/api/v0/products/{id}/user_flexible_price/", tag = "products",
    params(("id" = i64, Path, description = "The product")),
    responses((status = 200, body = serde_json::Value, description = "ProductFlexiblePrice: the product and the caller's approved flexible-price discount (null for anonymous callers or none)"),
        (status = 404, body = crate::openapi::Detail, description = "Unknown or inactive product")))]
async fn user_flexible_price(
    State(app): State<AppState>,
    user: CurrentUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let view = active_view(&app, &key).await?;
    let discount = match &user.0 {
        Some(user) => {
            baskets::finaid_for(&app.services, user.id, view.product.id, app.services.now()).await?
        }
        None => None,
    };
    let p = &view.product;
    Ok(Json(json!({
        "id": p.id.0,
        "price": p.price.to_price_string(),
        "description": p.description,
        "is_active": p.is_active,
        "product_flexible_price": discount.as_ref().map(discount_json),
    }))
    .into_response())
}

fn require_staff(user: &AuthUser) -> Result<(), ApiError> {
    if user.0.is_staff {
        Ok(())
    } else {
        Err(ApiError::Forbidden(PERMISSION_DENIED.into()))
    }
}

#[utoipa::path(get, operation_id = "products_all_list", path = "/api/v0/products/all/", tag = "products",
    params(("limit" = Option<u64>, Query, description = "Page size (default 2)"), ("offset" = Option<u64>, Query, description = "First item"),
        ("search" = Option<String>, Query, description = "Part of the run courseware id, program readable id or description (any case)")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedProductList: every active product"),
        (status = 403, body = crate::openapi::Detail, description = "Not staff")))]
async fn list_all(
    State(app): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    require_staff(&user)?;
    let query = query.unwrap_or_default();
    let search = body::form_values(&query, "search")
        .into_iter()
        .next()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let views: Vec<ProductView> = active_views(&app)
        .await?
        .into_iter()
        .filter(|v| search.as_deref().is_none_or(|s| matches_search(v, s)))
        .collect();
    let extra: Vec<(&str, String)> = search.iter().map(|s| ("search", s.clone())).collect();
    let body = page(
        &app,
        &headers,
        "/api/v0/products/all/",
        &query,
        &extra,
        &views,
    );
    Ok(Json(body).into_response())
}

#[utoipa::path(get, operation_id = "products_all_retrieve", path = "/api/v0/products/all/{id}/", tag = "products",
    params(("id" = i64, Path, description = "The product")),
    responses((status = 200, body = serde_json::Value, description = "Product"),
        (status = 404, body = crate::openapi::Detail, description = "Unknown or inactive product"),
        (status = 403, body = crate::openapi::Detail, description = "Not staff")))]
async fn retrieve_all(
    State(app): State<AppState>,
    user: AuthUser,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    require_staff(&user)?;
    Ok(Json(product_json(&active_view(&app, &key).await?)).into_response())
}
