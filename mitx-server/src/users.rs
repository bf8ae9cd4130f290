//! The users API (integrations spec 4.5): `GET /api/v0/users/me` (also `current_user/`),
//! `GET /api/v0/userinfo/`, `GET /api/v0/countries/`; each also without `v0`.
//!
//! Not yet rendered from data: `grants` (always `[]`), `b2b_organizations` (always `[]`)
//! and `compliance_missing_fields` (always `[]`); `PATCH` is not implemented.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use mitx_core::users::countries::country_listing;
use mitx_services::store::users::{LegalAddress, UserDetail, UserKey, UserProfile};
use serde_json::{Value, json};

use crate::auth::{AuthUser, CurrentUser};
use crate::{ApiError, AppState};

/// Other paths of the same endpoints (the original serves each with and without `v0`,
/// and `me` also as `current_user`): `(alias, path)`.
pub const ALIASES: &[(&str, &str)] = &[
    ("/api/users/me", "/api/v0/users/me"),
    ("/api/v0/users/current_user/", "/api/v0/users/me"),
    ("/api/users/current_user/", "/api/v0/users/me"),
    ("/api/userinfo/", "/api/v0/userinfo/"),
    ("/api/countries/", "/api/v0/countries/"),
];

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    let endpoints = [
        ("/api/v0/users/me", get(me)),
        ("/api/v0/userinfo/", get(userinfo)),
        ("/api/v0/countries/", get(countries)),
    ];
    let mut router = Router::new();
    for (path, handler) in endpoints {
        for (alias, _) in ALIASES.iter().filter(|(_, p)| *p == path) {
            router = router.route(alias, handler.clone());
        }
        router = router.route(path, handler);
    }
    router
}

/// The body for anonymous requests.
pub fn anonymous_body() -> Value {
    json!({
        "id": null,
        "username": null,
        "email": null,
        "global_id": null,
        "legal_address": null,
        "user_profile": null,
        "is_anonymous": true,
        "is_authenticated": false,
        "is_staff": false,
        "is_superuser": false,
        "grants": [],
        "is_active": false,
        "b2b_organizations": [],
        "compliance_missing_fields": [],
    })
}

fn legal_address_body(address: &LegalAddress) -> Value {
    json!({
        "first_name": address.first_name,
        "last_name": address.last_name,
        "country": address.country.as_deref().unwrap_or(""),
        "state": address.state,
        "street_address_1": address.street_address_1.as_deref().unwrap_or(""),
        "street_address_2": "",
        "city": address.city.as_deref().unwrap_or(""),
        "postal_code": address.postal_code.as_deref().unwrap_or(""),
    })
}

fn profile_body(profile: &UserProfile) -> Value {
    json!({
        "gender": profile.gender,
        "year_of_birth": profile.year_of_birth,
        "addl_field_flag": profile.addl_field_flag,
        "company": profile.company,
        "job_title": profile.job_title,
        "industry": profile.industry,
        "job_function": profile.job_function,
        "company_size": profile.company_size,
        "years_experience": profile.years_experience,
        "leadership_level": profile.leadership_level,
        "highest_education": profile.highest_education,
        "type_is_student": profile.type_is_student,
        "type_is_professional": profile.type_is_professional,
        "type_is_educator": profile.type_is_educator,
        "type_is_other": profile.type_is_other,
    })
}

/// The users/me body of a signed-in user.
pub fn user_body(detail: &UserDetail) -> Value {
    let user = &detail.user;
    json!({
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "global_id": user.global_id,
        "legal_address": detail.legal_address.as_ref().map(legal_address_body),
        "user_profile": detail.user_profile.as_ref().map(profile_body),
        "is_anonymous": false,
        "is_authenticated": true,
        "is_editor": user.is_staff || user.is_superuser,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "created_on": user.created_on.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "updated_on": user.updated_on.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "grants": [],
        "is_active": user.is_active,
        "b2b_organizations": [],
        "compliance_missing_fields": [],
    })
}

#[utoipa::path(get, operation_id = "users_me", path = "/api/v0/users/me", tag = "users",
    responses((status = 200, body = serde_json::Value, description = "The signed-in user (the anonymous body for anonymous callers); also at /api/users/me, /api/v0/users/current_user/ and /api/users/current_user/")))]
async fn me(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Response {
    match user {
        None => Json(anonymous_body()).into_response(),
        Some(user) => match state.store.user_detail(&UserKey::Id(user.id.0)).await {
            Ok(detail) => Json(user_body(&detail)).into_response(),
            Err(err) => ApiError::from(err).into_response(),
        },
    }
}

/// Anonymous requests are refused (403) like the other authenticated endpoints; a signed-in
/// user without an edX username gets 409.
#[utoipa::path(get, operation_id = "users_userinfo", path = "/api/v0/userinfo/", tag = "users",
    responses((status = 200, body = serde_json::Value, description = "OIDC-style user info (also at /api/userinfo/)"), (status = 409, body = serde_json::Value, description = "`{\"error\": \"User has no edx_username.\"}`"), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn userinfo(State(state): State<AppState>, AuthUser(user): AuthUser) -> Response {
    let no_username = || {
        (
            StatusCode::CONFLICT,
            Json(json!({"error": "User has no edx_username."})),
        )
            .into_response()
    };
    let result = async {
        let username = state.store.edx_username(user.id).await?;
        let detail = state.store.user_detail(&UserKey::Id(user.id.0)).await?;
        Ok::<_, ApiError>((username, detail))
    }
    .await;
    match result {
        Ok((Some(_), detail)) => Json(user_body(&detail)).into_response(),
        Ok((None, _)) => no_username(),
        Err(err) => err.into_response(),
    }
}

#[utoipa::path(get, operation_id = "users_countries", path = "/api/v0/countries/", tag = "users",
    responses((status = 200, body = serde_json::Value, description = "ISO countries with US and CA states (also at /api/countries/)")))]
async fn countries() -> Json<Value> {
    Json(json!(country_listing()))
}
