//! The users API (integrations spec 4.5): `GET` and `PATCH /api/v0/users/me` (also
//! `current_user/`), `GET /api/v0/userinfo/`, `GET /api/v0/countries/`; each also without `v0`.
//!
//! `b2b_organizations` lists the organizations the user is a member of with the active
//! contracts of each the user is attached to; `compliance_missing_fields` is the core rule
//! over the legal address and email; `grants` is derived from the superuser flag
//! (`mitx_core::users::grants`: mitx models no groups or permissions).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Json, Router};
use mitx_core::users::countries::country_listing;
use mitx_core::users::field_errors::NON_FIELD_ERRORS;
use mitx_core::users::grants::grants;
use mitx_core::users::legal_address::{
    CountryCode, LegalAddress as CoreAddress, compliance_missing_fields,
};
use mitx_core::users::user_update::UserUpdateInput;
use mitx_services::store::b2b::MemberOrganization;
use mitx_services::store::users::{LegalAddress, UserDetail, UserKey, UserProfile};
use mitx_services::users::{UserUpdateError, update_me};
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
    let endpoints: [(&str, MethodRouter<AppState>); 3] = [
        ("/api/v0/users/me", get(me).patch(patch_me)),
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

/// The stored address as the core compliance rule sees it (an unknown country is unset).
fn core_address(address: &LegalAddress) -> CoreAddress {
    CoreAddress {
        first_name: address.first_name.clone(),
        last_name: address.last_name.clone(),
        country: address
            .country
            .as_deref()
            .and_then(|c| CountryCode::parse(c).ok()),
        state: address.state.clone(),
        postal_code: address.postal_code.clone().unwrap_or_default(),
        street_address_1: address.street_address_1.clone().unwrap_or_default(),
        street_address_2: String::new(),
        city: address.city.clone().unwrap_or_default(),
    }
}

/// `b2b_organizations` items (OpenAPI `OrganizationPage` with `ContractPage` contracts).
fn organization_body(org: &MemberOrganization) -> Value {
    let contracts: Vec<Value> = org
        .contracts
        .iter()
        .map(|k| {
            let variants: Vec<Value> = k
                .variant_options
                .iter()
                .map(|v| {
                    json!({
                        "language": v.language,
                        "variant_length": v.variant_length,
                        "variant_industry": v.variant_industry,
                        // Contract variant sets have no flags of their own: they exist
                        // only inside the contract, so they are active and B2B-only.
                        "active": true,
                        "b2b_only": true,
                        "default_variant": v.is_default,
                    })
                })
                .collect();
            json!({
                "id": k.id,
                "name": k.name,
                "description": k.description,
                "membership_type": k.membership_type,
                "organization": k.organization,
                "contract_start": k.contract_start,
                "contract_end": k.contract_end,
                "slug": k.slug,
                "welcome_message": k.welcome_message,
                "welcome_message_extra": k.welcome_message_extra,
                "programs": k.programs,
                "variant_options": variants,
            })
        })
        .collect();
    json!({
        "id": org.id,
        "name": org.name,
        "description": org.description,
        "logo": org.logo,
        "slug": org.slug,
        "sso_organization_id": org.sso_organization_id,
        "contracts": contracts,
    })
}

/// The users/me body of a signed-in user with their organization memberships.
pub fn user_body(detail: &UserDetail, organizations: &[MemberOrganization]) -> Value {
    let user = &detail.user;
    let address = detail.legal_address.as_ref().map(core_address);
    let missing: Vec<&str> = compliance_missing_fields(address.as_ref(), &user.email)
        .into_iter()
        .map(|f| f.as_str())
        .collect();
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
        "grants": grants(user.is_active, user.is_superuser),
        "is_active": user.is_active,
        "b2b_organizations": organizations.iter().map(organization_body).collect::<Vec<_>>(),
        "compliance_missing_fields": missing,
    })
}

/// The full body of a signed-in user, read from the store.
async fn signed_in_body(state: &AppState, detail: &UserDetail) -> Result<Value, ApiError> {
    let organizations = state.store.member_organizations(detail.user.id).await?;
    Ok(user_body(detail, &organizations))
}

#[utoipa::path(get, operation_id = "users_me", path = "/api/v0/users/me", tag = "users",
    responses((status = 200, body = serde_json::Value, description = "The signed-in user (the anonymous body for anonymous callers); also at /api/users/me, /api/v0/users/current_user/ and /api/users/current_user/")))]
async fn me(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Response {
    match user {
        None => Json(anonymous_body()).into_response(),
        Some(user) => {
            let result = async {
                let detail = state.store.user_detail(&UserKey::Id(user.id.0)).await?;
                signed_in_body(&state, &detail).await
            }
            .await;
            match result {
                Ok(body) => Json(body).into_response(),
                Err(err) => err.into_response(),
            }
        }
    }
}

/// Full-update semantics (integrations spec 4.5): `legal_address` is required (null leaves
/// it as stored), `user_profile` optional (merged into the stored one), `name` and `email`
/// writable; other keys (`username`, `is_active`, …) are ignored. Validation failures are
/// 400 `{"errors": {...}}`; a `password` is refused (mitx keeps no passwords).
#[utoipa::path(patch, operation_id = "users_me_partial_update", path = "/api/v0/users/me", tag = "users",
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value, description = "The updated user (also at /api/users/me, /api/v0/users/current_user/ and /api/users/current_user/)"), (status = 400, body = serde_json::Value, description = "`{\"errors\": {field: [messages]}}`"), (status = 403, description = "Anonymous caller", body = crate::openapi::Detail)))]
async fn patch_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let object = crate::body::json_object(&body)?;
    let input: UserUpdateInput = serde_json::from_value(Value::Object(object)).map_err(|e| {
        ApiError::BadRequestBody(json!({
            "errors": { NON_FIELD_ERRORS: [format!("Invalid data: {e}")] }
        }))
    })?;
    let detail = update_me(&state.services, user.id, &input)
        .await
        .map_err(|err| match err {
            UserUpdateError::Invalid(errors) => {
                ApiError::BadRequestBody(json!({ "errors": errors }))
            }
            other => ApiError::from_fault(other.fault(), &other),
        })?;
    Ok(Json(signed_in_body(&state, &detail).await?))
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
        Ok((Some(_), detail)) => match signed_in_body(&state, &detail).await {
            Ok(body) => Json(body).into_response(),
            Err(err) => err.into_response(),
        },
        Ok((None, _)) => no_username(),
        Err(err) => err.into_response(),
    }
}

#[utoipa::path(get, operation_id = "users_countries", path = "/api/v0/countries/", tag = "users",
    responses((status = 200, body = serde_json::Value, description = "ISO countries with US and CA states (also at /api/countries/)")))]
async fn countries() -> Json<Value> {
    Json(json!(country_listing()))
}
