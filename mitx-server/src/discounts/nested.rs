//! The nested staff discount routes (ecommerce spec 6): a discount's redemptions
//! (`/api/v0/discounts/{id}/redemptions/`), assignees (`.../assignees/`: POST, PUT or PATCH
//! `{user}` assigns, `DELETE .../assignees/{user_id}/` unassigns that user), products
//! (`.../products/`: POST, PUT or PATCH `{product_id}` links, 201 new / 200 existing;
//! `DELETE .../products/{product_id}/` unlinks) and the flexible-pricing tiers that use it
//! (`.../tiers/`, read only: writes answer the router's 405).
//!
//! Lists are limit/offset pages (default 10) of the link rows; the detail routes take the
//! row's id, as the original's viewsets do, except DELETE, which takes the user's or the
//! product's id (spec 6). Staff only; an unknown discount is 404. Writes are the
//! `mitx_services::discount_admin` workflows; reads come from the store.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::SecondsFormat;
use mitx_core::ids::{DiscountId, ProductId, UserId};
use mitx_services::discount_admin::{self, DiscountAdminError, Linked};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::discount_admin::{
    DiscountAssignment, DiscountProductLink, DiscountRedemptionRow, DiscountTier,
};
use mitx_services::store::users::UserKey;
use serde_json::{Map, Value, json};

use super::{admin_error, fields, path_discount, show, staff};
use crate::auth::AuthUser;
use crate::baskets::product_json;
use crate::body;
use crate::pagination::{LimitOffset, Window};
use crate::path_key::{PathKey, PathPair};
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/discounts/{id}/redemptions/", get(redemptions))
        .route(
            "/api/v0/discounts/{id}/redemptions/{item}/",
            get(redemption),
        )
        .route(
            "/api/v0/discounts/{id}/assignees/",
            get(assignees).post(assign),
        )
        .route(
            "/api/v0/discounts/{id}/assignees/{item}/",
            get(assignee)
                .put(assign_put)
                .patch(assign_patch)
                .delete(unassign),
        )
        .route("/api/v0/discounts/{id}/products/", get(products).post(link))
        .route(
            "/api/v0/discounts/{id}/products/{item}/",
            get(product).put(link_put).patch(link_patch).delete(unlink),
        )
        .route("/api/v0/discounts/{id}/tiers/", get(tiers))
        .route("/api/v0/discounts/{id}/tiers/{item}/", get(tier))
}

/// The discount a nested route names: its id and its V0Discount JSON.
struct Parent {
    id: DiscountId,
    json: Value,
}

/// The staff caller's audit and the discount `raw` names (403 before 404).
async fn parent_discount(
    state: &AppState,
    user: &AuthUser,
    raw: &str,
) -> Result<(Audit, Parent), ApiError> {
    let audit = staff(user)?;
    let id = path_discount(raw)?;
    let json = show(state, id).await?;
    Ok((audit, Parent { id, json }))
}

/// A row's id in the path: an integer, else 404.
fn path_item(raw: &str) -> Result<i64, ApiError> {
    raw.trim().parse::<i64>().map_err(|_| ApiError::not_found())
}

/// The limit/offset window the query asks for: the count of all `rows` and the window's.
fn cut<T>(query: &HashMap<String, String>, rows: Vec<T>) -> (Window, u64, Vec<T>) {
    let window = LimitOffset::V0_DISCOUNTS.window(query);
    let count = rows.len() as u64;
    (window, count, window.slice(rows))
}

/// The page body around `results`, with links to `path`.
fn page(
    state: &AppState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    path: &str,
    (window, count): (Window, u64),
    results: Vec<Value>,
) -> Value {
    let url = format!("{}{path}", state.links.base(headers));
    LimitOffset::V0_DISCOUNTS.page(&url, query, window, count, results)
}

/// The User JSON (as `/api/v0/users/me` renders it) of each of `ids`, read once per user.
async fn users_json(
    state: &AppState,
    ids: Vec<UserId>,
) -> Result<BTreeMap<UserId, Value>, ApiError> {
    let mut out = BTreeMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let detail = state.store.user_detail(&UserKey::Id(id.0)).await?;
        let organizations = state.store.member_organizations(id).await?;
        out.insert(id, crate::users::user_body(&detail, &organizations));
    }
    Ok(out)
}

/// The Product JSON of each of `ids` (null for a product that vanished).
async fn products_json(
    state: &AppState,
    ids: Vec<ProductId>,
) -> Result<BTreeMap<ProductId, Value>, ApiError> {
    let mut out = BTreeMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let view = state.store.product_view(id).await?;
        out.insert(id, view.as_ref().map_or(Value::Null, product_json));
    }
    Ok(out)
}

/// The id a write body names under the first of `keys` present: an integer, its text, or
/// an object with an `id` (the contract's nested request shape). Missing: 400.
fn body_id(
    map: &Map<String, Value>,
    keys: &[&'static str],
) -> Result<(&'static str, i64), ApiError> {
    let found = keys
        .iter()
        .find_map(|k| map.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)));
    let Some((key, value)) = found else {
        return Err(body::field_error(keys[0], "This field is required."));
    };
    let value = match value {
        Value::Object(object) => object.get("id").cloned(),
        other => Some(other.clone()),
    };
    Ok((key, body::required_int(value, key)?))
}

/// A link workflow's error: an unknown user or product is the body field's 400.
fn link_error(err: DiscountAdminError, key: &str) -> ApiError {
    match err {
        DiscountAdminError::NoSuchUser(_) | DiscountAdminError::NoSuchProduct(_) => {
            body::field_error(key, &err.to_string())
        }
        other => admin_error(other),
    }
}

/// 201 for a new link, 200 for an existing one.
fn linked_status<T>(linked: &Linked<T>) -> StatusCode {
    if linked.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// One kind of row nested under a discount: how its rows are read and shown.
trait Nested {
    /// The stored row.
    type Row: Send + Sync;
    /// The path segment after the discount's id.
    const SEGMENT: &'static str;
    /// The row's id (the detail route's `{id}`).
    fn id(row: &Self::Row) -> i64;
    /// The discount's rows, in list order.
    fn rows(
        state: &AppState,
        discount: DiscountId,
    ) -> impl Future<Output = Result<Vec<Self::Row>, ApiError>> + Send;
    /// The JSON items of `rows`.
    fn items(
        state: &AppState,
        parent: &Parent,
        rows: &[Self::Row],
    ) -> impl Future<Output = Result<Vec<Value>, ApiError>> + Send;
}

/// A nested row staff add and remove through a workflow (an assignee, a product link).
trait Link: Nested {
    /// The body keys that name the other side; the first names the field in errors.
    const KEYS: &'static [&'static str];
    /// Adds the link (or finds it).
    fn add(
        state: &AppState,
        discount: DiscountId,
        other: i64,
        audit: &Audit,
    ) -> impl Future<Output = Result<Linked<Self::Row>, DiscountAdminError>> + Send;
    /// Removes the link to `other`; whether there was one.
    fn remove(
        state: &AppState,
        discount: DiscountId,
        other: i64,
        audit: &Audit,
    ) -> impl Future<Output = Result<bool, DiscountAdminError>> + Send;
}

struct Redemptions;
struct Assignees;
struct Products;
struct Tiers;

impl Nested for Redemptions {
    type Row = DiscountRedemptionRow;
    const SEGMENT: &'static str = "redemptions";
    fn id(row: &Self::Row) -> i64 {
        row.id
    }
    async fn rows(state: &AppState, discount: DiscountId) -> Result<Vec<Self::Row>, ApiError> {
        Ok(state.store.discount_redemptions(discount).await?)
    }
    async fn items(
        state: &AppState,
        parent: &Parent,
        rows: &[Self::Row],
    ) -> Result<Vec<Value>, ApiError> {
        redemption_items(state, parent, rows).await
    }
}

impl Nested for Assignees {
    type Row = DiscountAssignment;
    const SEGMENT: &'static str = "assignees";
    fn id(row: &Self::Row) -> i64 {
        row.id
    }
    async fn rows(state: &AppState, discount: DiscountId) -> Result<Vec<Self::Row>, ApiError> {
        Ok(state.store.discount_assignments(discount).await?)
    }
    async fn items(
        state: &AppState,
        parent: &Parent,
        rows: &[Self::Row],
    ) -> Result<Vec<Value>, ApiError> {
        assignee_items(state, parent, rows).await
    }
}

impl Link for Assignees {
    const KEYS: &'static [&'static str] = &["user", "user_id"];
    async fn add(
        state: &AppState,
        discount: DiscountId,
        other: i64,
        audit: &Audit,
    ) -> Result<Linked<Self::Row>, DiscountAdminError> {
        discount_admin::assign(&state.services, discount, UserId(other), audit).await
    }
    async fn remove(
        state: &AppState,
        discount: DiscountId,
        other: i64,
        audit: &Audit,
    ) -> Result<bool, DiscountAdminError> {
        discount_admin::unassign(&state.services, discount, UserId(other), audit).await
    }
}

impl Nested for Products {
    type Row = DiscountProductLink;
    const SEGMENT: &'static str = "products";
    fn id(row: &Self::Row) -> i64 {
        row.id
    }
    async fn rows(state: &AppState, discount: DiscountId) -> Result<Vec<Self::Row>, ApiError> {
        Ok(state.store.discount_product_links(discount).await?)
    }
    async fn items(
        state: &AppState,
        parent: &Parent,
        rows: &[Self::Row],
    ) -> Result<Vec<Value>, ApiError> {
        product_items(state, parent, rows).await
    }
}

impl Link for Products {
    const KEYS: &'static [&'static str] = &["product_id", "product"];
    async fn add(
        state: &AppState,
        discount: DiscountId,
        other: i64,
        audit: &Audit,
    ) -> Result<Linked<Self::Row>, DiscountAdminError> {
        discount_admin::link_product(&state.services, discount, ProductId(other), audit).await
    }
    async fn remove(
        state: &AppState,
        discount: DiscountId,
        other: i64,
        audit: &Audit,
    ) -> Result<bool, DiscountAdminError> {
        discount_admin::unlink_product(&state.services, discount, ProductId(other), audit).await
    }
}

impl Nested for Tiers {
    type Row = DiscountTier;
    const SEGMENT: &'static str = "tiers";
    fn id(row: &Self::Row) -> i64 {
        row.id.0
    }
    async fn rows(state: &AppState, discount: DiscountId) -> Result<Vec<Self::Row>, ApiError> {
        Ok(state.store.discount_tiers(discount).await?)
    }
    async fn items(
        _state: &AppState,
        _parent: &Parent,
        rows: &[Self::Row],
    ) -> Result<Vec<Value>, ApiError> {
        Ok(rows.iter().map(tier_json).collect())
    }
}

/// A limit/offset page of the discount's `N` rows.
async fn list<N: Nested>(
    state: &AppState,
    headers: &HeaderMap,
    user: &AuthUser,
    raw: &str,
    query: &HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let (_, parent) = parent_discount(state, user, raw).await?;
    let rows = N::rows(state, parent.id).await?;
    let (window, count, shown) = cut(query, rows);
    let results = N::items(state, &parent, &shown).await?;
    let path = format!("/api/v0/discounts/{}/{}/", parent.id.0, N::SEGMENT);
    Ok(Json(page(
        state,
        headers,
        query,
        &path,
        (window, count),
        results,
    )))
}

/// One of the discount's `N` rows by its id; 404 when it is not the discount's.
async fn retrieve<N: Nested>(
    state: &AppState,
    user: &AuthUser,
    raw: &str,
    item: &str,
) -> Result<Json<Value>, ApiError> {
    let (_, parent) = parent_discount(state, user, raw).await?;
    let item = path_item(item)?;
    let row = N::rows(state, parent.id)
        .await?
        .into_iter()
        .find(|r| N::id(r) == item)
        .ok_or_else(ApiError::not_found)?;
    let mut items = N::items(state, &parent, std::slice::from_ref(&row)).await?;
    Ok(Json(items.pop().unwrap_or(Value::Null)))
}

/// Adds the link the body names: 201 new, 200 already there. `item` (PUT/PATCH) must be
/// an id but is not read: the body names the other side.
async fn write_link<L: Link>(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
    raw_id: &str,
    item: Option<&str>,
    raw: &[u8],
) -> Result<Response, ApiError> {
    let (audit, parent) = parent_discount(state, user, raw_id).await?;
    if let Some(item) = item {
        path_item(item)?;
    }
    let map = fields(headers, raw)?;
    let (key, id) = body_id(&map, L::KEYS)?;
    let linked = L::add(state, parent.id, id, &audit)
        .await
        .map_err(|e| link_error(e, key))?;
    let mut items = L::items(state, &parent, std::slice::from_ref(&linked.link)).await?;
    Ok((
        linked_status(&linked),
        Json(items.pop().unwrap_or(Value::Null)),
    )
        .into_response())
}

/// Removes the link to the user or product `item` names: 204, or 404 when there was none.
async fn remove_link<L: Link>(
    state: &AppState,
    user: &AuthUser,
    raw: &str,
    item: &str,
) -> Result<StatusCode, ApiError> {
    let (audit, parent) = parent_discount(state, user, raw).await?;
    let target = path_item(item)?;
    let removed = L::remove(state, parent.id, target, &audit)
        .await
        .map_err(admin_error)?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

// Redemptions.

/// DiscountRedemption items: the redeemer's User JSON, the discount, the order's receipt.
async fn redemption_items(
    state: &AppState,
    parent: &Parent,
    rows: &[DiscountRedemptionRow],
) -> Result<Vec<Value>, ApiError> {
    let users = users_json(state, rows.iter().map(|r| r.redeemed_by).collect()).await?;
    let order_ids: Vec<_> = rows.iter().map(|r| r.order).collect();
    let orders = state.store.order_views(&order_ids).await?;
    let now = state.services.now();
    Ok(rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "redemption_date": r.redemption_date.to_rfc3339_opts(SecondsFormat::Micros, true),
                "redeemed_by": users.get(&r.redeemed_by).cloned().unwrap_or(Value::Null),
                "redeemed_discount": parent.json,
                "redeemed_order": orders
                    .get(&r.order)
                    .map_or(Value::Null, |o| crate::orders::receipt_json(o, now)),
            })
        })
        .collect())
}

#[utoipa::path(get, operation_id = "discounts_redemptions_list", path = "/api/v0/discounts/{parent_lookup_redeemed_discount}/redemptions/", tag = "discounts",
    params(("parent_lookup_redeemed_discount" = i64, Path, description = "Discount id"),
        ("limit" = Option<i64>, Query, description = "Page size (default 10)"),
        ("offset" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedDiscountRedemptionList, newest first"),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn redemptions(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(raw): PathKey,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    list::<Redemptions>(&state, &headers, &user, &raw, &query).await
}

#[utoipa::path(get, operation_id = "discounts_redemptions_retrieve", path = "/api/v0/discounts/{parent_lookup_redeemed_discount}/redemptions/{id}/", tag = "discounts",
    params(("parent_lookup_redeemed_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Redemption id")),
    responses((status = 200, body = serde_json::Value, description = "DiscountRedemption"),
        (status = 404, description = "No such discount, or no such redemption of it", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn redemption(
    State(state): State<AppState>,
    user: AuthUser,
    PathPair(raw, item): PathPair,
) -> Result<Json<Value>, ApiError> {
    retrieve::<Redemptions>(&state, &user, &raw, &item).await
}

// Assignees.

async fn assignee_items(
    state: &AppState,
    parent: &Parent,
    rows: &[DiscountAssignment],
) -> Result<Vec<Value>, ApiError> {
    let users = users_json(state, rows.iter().map(|a| a.user).collect()).await?;
    Ok(rows
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "discount": parent.json,
                "user": users.get(&a.user).cloned().unwrap_or(Value::Null),
            })
        })
        .collect())
}

#[utoipa::path(get, operation_id = "discounts_assignees_list", path = "/api/v0/discounts/{parent_lookup_discount}/assignees/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("limit" = Option<i64>, Query, description = "Page size (default 10)"),
        ("offset" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedUserDiscountMetaList, by assignment id"),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn assignees(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(raw): PathKey,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    list::<Assignees>(&state, &headers, &user, &raw, &query).await
}

#[utoipa::path(get, operation_id = "discounts_assignees_retrieve", path = "/api/v0/discounts/{parent_lookup_discount}/assignees/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Assignment id")),
    responses((status = 200, body = serde_json::Value, description = "UserDiscountMeta"),
        (status = 404, description = "No such discount, or no such assignment of it", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn assignee(
    State(state): State<AppState>,
    user: AuthUser,
    PathPair(raw, item): PathPair,
) -> Result<Json<Value>, ApiError> {
    retrieve::<Assignees>(&state, &user, &raw, &item).await
}

#[utoipa::path(post, operation_id = "discounts_assignees_create", path = "/api/v0/discounts/{parent_lookup_discount}/assignees/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id")),
    request_body(content = serde_json::Value, description = "`{user}`: the user's id (or `{user: {id}}`; `user_id` is accepted too)"),
    responses((status = 201, body = serde_json::Value, description = "UserDiscountMeta: the new assignment"),
        (status = 200, body = serde_json::Value, description = "UserDiscountMeta: the user was already assigned (nothing added)"),
        (status = 400, description = "Missing or unknown user", body = crate::openapi::FieldErrors),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn assign(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(raw_id): PathKey,
    raw: Bytes,
) -> Result<Response, ApiError> {
    write_link::<Assignees>(&state, &user, &headers, &raw_id, None, &raw).await
}

#[utoipa::path(put, operation_id = "discounts_assignees_update", path = "/api/v0/discounts/{parent_lookup_discount}/assignees/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Any assignment id (not read: the body names the user)")),
    request_body(content = serde_json::Value, description = "`{user}`"),
    responses((status = 200, body = serde_json::Value, description = "UserDiscountMeta: the user was already assigned"),
        (status = 201, body = serde_json::Value, description = "UserDiscountMeta: the new assignment"),
        (status = 400, description = "Missing or unknown user", body = crate::openapi::FieldErrors),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn assign_put(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathPair(raw_id, item): PathPair,
    raw: Bytes,
) -> Result<Response, ApiError> {
    write_link::<Assignees>(&state, &user, &headers, &raw_id, Some(&item), &raw).await
}

#[utoipa::path(patch, operation_id = "discounts_assignees_partial_update", path = "/api/v0/discounts/{parent_lookup_discount}/assignees/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Any assignment id (not read: the body names the user)")),
    request_body(content = serde_json::Value, description = "`{user}`"),
    responses((status = 200, body = serde_json::Value, description = "UserDiscountMeta: the user was already assigned"),
        (status = 201, body = serde_json::Value, description = "UserDiscountMeta: the new assignment"),
        (status = 400, description = "Missing or unknown user", body = crate::openapi::FieldErrors),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn assign_patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathPair(raw_id, item): PathPair,
    raw: Bytes,
) -> Result<Response, ApiError> {
    write_link::<Assignees>(&state, &user, &headers, &raw_id, Some(&item), &raw).await
}

#[utoipa::path(delete, operation_id = "discounts_assignees_destroy", path = "/api/v0/discounts/{parent_lookup_discount}/assignees/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "The assigned user's id (not the assignment's)")),
    responses((status = 204, description = "The user's assignments removed"),
        (status = 404, description = "No such discount, or the user is not assigned", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn unassign(
    State(state): State<AppState>,
    user: AuthUser,
    PathPair(raw, item): PathPair,
) -> Result<StatusCode, ApiError> {
    remove_link::<Assignees>(&state, &user, &raw, &item).await
}

// Products.

async fn product_items(
    state: &AppState,
    parent: &Parent,
    rows: &[DiscountProductLink],
) -> Result<Vec<Value>, ApiError> {
    let products = products_json(state, rows.iter().map(|l| l.product).collect()).await?;
    Ok(rows
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "discount": parent.json,
                "product": products.get(&l.product).cloned().unwrap_or(Value::Null),
            })
        })
        .collect())
}

#[utoipa::path(get, operation_id = "discounts_products_list", path = "/api/v0/discounts/{parent_lookup_discount}/products/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("limit" = Option<i64>, Query, description = "Page size (default 10)"),
        ("offset" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedDiscountProductList, by link id"),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn products(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(raw): PathKey,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    list::<Products>(&state, &headers, &user, &raw, &query).await
}

#[utoipa::path(get, operation_id = "discounts_products_retrieve", path = "/api/v0/discounts/{parent_lookup_discount}/products/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Link id")),
    responses((status = 200, body = serde_json::Value, description = "DiscountProduct"),
        (status = 404, description = "No such discount, or no such link of it", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn product(
    State(state): State<AppState>,
    user: AuthUser,
    PathPair(raw, item): PathPair,
) -> Result<Json<Value>, ApiError> {
    retrieve::<Products>(&state, &user, &raw, &item).await
}

#[utoipa::path(post, operation_id = "discounts_products_create", path = "/api/v0/discounts/{parent_lookup_discount}/products/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id")),
    request_body(content = serde_json::Value, description = "`{product_id}` (or `{product}`, an id or `{id}`)"),
    responses((status = 201, body = serde_json::Value, description = "DiscountProduct: the new link"),
        (status = 200, body = serde_json::Value, description = "DiscountProduct: the product was already linked (nothing added)"),
        (status = 400, description = "Missing or unknown product", body = crate::openapi::FieldErrors),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn link(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(raw_id): PathKey,
    raw: Bytes,
) -> Result<Response, ApiError> {
    write_link::<Products>(&state, &user, &headers, &raw_id, None, &raw).await
}

#[utoipa::path(put, operation_id = "discounts_products_update", path = "/api/v0/discounts/{parent_lookup_discount}/products/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Any link id (not read: the body names the product)")),
    request_body(content = serde_json::Value, description = "`{product_id}`"),
    responses((status = 200, body = serde_json::Value, description = "DiscountProduct: the product was already linked"),
        (status = 201, body = serde_json::Value, description = "DiscountProduct: the new link"),
        (status = 400, description = "Missing or unknown product", body = crate::openapi::FieldErrors),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn link_put(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathPair(raw_id, item): PathPair,
    raw: Bytes,
) -> Result<Response, ApiError> {
    write_link::<Products>(&state, &user, &headers, &raw_id, Some(&item), &raw).await
}

#[utoipa::path(patch, operation_id = "discounts_products_partial_update", path = "/api/v0/discounts/{parent_lookup_discount}/products/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Any link id (not read: the body names the product)")),
    request_body(content = serde_json::Value, description = "`{product_id}`"),
    responses((status = 200, body = serde_json::Value, description = "DiscountProduct: the product was already linked"),
        (status = 201, body = serde_json::Value, description = "DiscountProduct: the new link"),
        (status = 400, description = "Missing or unknown product", body = crate::openapi::FieldErrors),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn link_patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathPair(raw_id, item): PathPair,
    raw: Bytes,
) -> Result<Response, ApiError> {
    write_link::<Products>(&state, &user, &headers, &raw_id, Some(&item), &raw).await
}

#[utoipa::path(delete, operation_id = "discounts_products_destroy", path = "/api/v0/discounts/{parent_lookup_discount}/products/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "The product's id (not the link's)")),
    responses((status = 204, description = "The restriction to the product removed"),
        (status = 404, description = "No such discount, or the product is not linked", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn unlink(
    State(state): State<AppState>,
    user: AuthUser,
    PathPair(raw, item): PathPair,
) -> Result<StatusCode, ApiError> {
    remove_link::<Products>(&state, &user, &raw, &item).await
}

// Tiers.

/// FlexiblePriceTier JSON (`courseware_object` is the BaseCourse shape, for a program too).
fn tier_json(t: &DiscountTier) -> Value {
    json!({
        "id": t.id,
        "courseware_object": {
            "id": t.courseware.id,
            "title": t.courseware.title,
            "readable_id": t.courseware.readable_id,
            "type": t.courseware.kind,
        },
        "discount": t.discount,
        "current": t.current,
        "income_threshold_usd": t.income_threshold_usd,
    })
}

#[utoipa::path(get, operation_id = "discounts_tiers_list", path = "/api/v0/discounts/{parent_lookup_discount}/tiers/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("limit" = Option<i64>, Query, description = "Page size (default 10)"),
        ("offset" = Option<i64>, Query, description = "First item")),
    responses((status = 200, body = serde_json::Value, description = "PaginatedFlexiblePriceTierList: the tiers that use the discount, by id"),
        (status = 404, description = "No such discount", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn tiers(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    PathKey(raw): PathKey,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    list::<Tiers>(&state, &headers, &user, &raw, &query).await
}

#[utoipa::path(get, operation_id = "discounts_tiers_retrieve", path = "/api/v0/discounts/{parent_lookup_discount}/tiers/{id}/", tag = "discounts",
    params(("parent_lookup_discount" = i64, Path, description = "Discount id"),
        ("id" = i64, Path, description = "Tier id")),
    responses((status = 200, body = serde_json::Value, description = "FlexiblePriceTier"),
        (status = 404, description = "No such discount, or no tier of it with that id", body = crate::openapi::Detail),
        (status = 403, description = "Not staff", body = crate::openapi::Detail)))]
async fn tier(
    State(state): State<AppState>,
    user: AuthUser,
    PathPair(raw, item): PathPair,
) -> Result<Json<Value>, ApiError> {
    retrieve::<Tiers>(&state, &user, &raw, &item).await
}
