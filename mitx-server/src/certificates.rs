//! Public certificate reads (courses spec 1.12, 3.5, 5.4): `GET
//! /api/v2/course_certificates/{uuid}/` and `/api/v2/program_certificates/{uuid}/` (active
//! certificates only: revoked or not yet issued ones are 404), the credential downloads
//! `GET /api/v2/verifiable_{course,program}_credential/{uuid}/download/`, and the public
//! verification of a self-signed credential `POST /api/v2/verifiable_credentials/verify/`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use mitx_core::ids::UserId;
use mitx_services::credentials;
use mitx_services::store::certificates::{CertificateKind, CertificateView};
use mitx_services::store::users::UserKey;
use serde_json::{Value, json};

use crate::catalog::base_url;
use crate::catalog::shapes::{Ctx, V2Program};
use crate::enrollment_views::v2_run_with_course;
use crate::path_key::PathKey;
use crate::{ApiError, AppState};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v2/course_certificates/{uuid}/",
            get(course_certificate),
        )
        .route(
            "/api/v2/program_certificates/{uuid}/",
            get(program_certificate),
        )
        .route(
            "/api/v2/verifiable_course_credential/{credential_id}/download/",
            get(course_credential_download),
        )
        .route(
            "/api/v2/verifiable_program_credential/{credential_id}/download/",
            get(program_credential_download),
        )
        .route(
            "/api/v2/verifiable_credentials/verify/",
            post(verify_credential),
        )
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The uuid in the path, canonical; anything else names no certificate (404).
fn path_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found())
}

/// The certificate when it is active (not revoked, already issued), else 404.
async fn active_certificate(
    state: &AppState,
    kind: CertificateKind,
    raw: &str,
) -> Result<CertificateView, ApiError> {
    let uuid = path_uuid(raw)?;
    state
        .store
        .certificate_by_uuid(kind, &uuid)
        .await?
        .filter(|c| !c.is_revoked && c.issue_date <= Utc::now())
        .ok_or_else(ApiError::not_found)
}

/// `CertificatePageModel` of the pinned revision: `{id, meta, title, product_name, CEUs,
/// overrides, signatory_items}` (null without one).
fn certificate_page(certificate: &CertificateView, site: &str) -> Value {
    let (Some(id), Some(page)) = (certificate.page_revision_id, &certificate.page_data) else {
        return Value::Null;
    };
    let field = |key: &str, default: Value| page.get(key).cloned().unwrap_or(default);
    let published = certificate.page_revised_on.map(time);
    json!({
        "id": id,
        "meta": {
            "type": "cms.CertificatePage",
            "detail_url": format!("{site}/api/v2/pages/{id}/"),
            "html_url": format!("{site}/certificate/{}/", certificate.uuid),
            "slug": "certificate",
            "show_in_menus": false,
            "seo_title": "",
            "search_description": "",
            "first_published_at": published,
            "alias_of": null,
            "locale": "en",
            "live": true,
            "last_published_at": published,
        },
        "title": field("title", json!("")),
        "product_name": field("product_name", json!("")),
        "CEUs": field("CEUs", json!("")),
        "overrides": field("overrides", json!([])),
        "signatory_items": field("signatory_items", json!([])),
    })
}

/// `PublicUser`: `{id, username (edX), name, created_on, updated_on}`.
async fn public_user(state: &AppState, user: UserId) -> Result<Value, ApiError> {
    let row = state
        .store
        .find_user(&UserKey::Id(user.0))
        .await?
        .ok_or_else(|| ApiError::Internal(format!("user {} of a certificate missing", user.0)))?;
    let edx = state.store.edx_user(user).await?;
    Ok(json!({
        "id": row.id.0,
        "username": edx.and_then(|e| e.edx_username),
        "name": row.name,
        "created_on": time(row.created_on),
        "updated_on": time(row.updated_on),
    }))
}

/// The fields both certificate kinds share.
async fn certificate_body(
    state: &AppState,
    certificate: &CertificateView,
    site: &str,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let mut body = serde_json::Map::new();
    body.insert(
        "user".into(),
        public_user(state, certificate.user_id).await?,
    );
    body.insert("uuid".into(), json!(certificate.uuid));
    body.insert("is_revoked".into(), json!(certificate.is_revoked));
    body.insert("issue_date".into(), json!(time(certificate.issue_date)));
    body.insert(
        "certificate_page".into(),
        certificate_page(certificate, site),
    );
    body.insert(
        "verifiable_credential_json".into(),
        certificate
            .credential
            .as_ref()
            .map_or(Value::Null, |(_, data)| data.clone()),
    );
    body.insert(
        "certificate_page_revision".into(),
        json!(certificate.page_revision_id),
    );
    Ok(body)
}

#[utoipa::path(get, operation_id = "course_certificates_retrieve", path = "/api/v2/course_certificates/{uuid}/", tag = "course_certificates",
    params(("uuid" = String, Path, description = "The certificate's uuid")),
    responses((status = 200, body = serde_json::Value, description = "V2CourseRunCertificate: {user, uuid, is_revoked, issue_date, certificate_page, verifiable_credential_json, course_run, certificate_page_revision}"),
        (status = 404, description = "No active certificate (unknown, revoked or not yet issued)", body = crate::openapi::Detail)))]
async fn course_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let certificate = active_certificate(&state, CertificateKind::Course, &raw).await?;
    let site = base_url(&state, &headers);
    let ctx = Ctx::new(&state, &site, Utc::now());
    let course_id = state
        .store
        .catalog_run_course_id(certificate.subject_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let courses = state
        .course_cache
        .courses(&state.store, &[course_id])
        .await?;
    let course = courses.get(&course_id).ok_or_else(ApiError::not_found)?;
    let run = course
        .runs
        .iter()
        .find(|r| r.run.id.0 == certificate.subject_id)
        .ok_or_else(ApiError::not_found)?;
    let mut run_json = v2_run_with_course(course, run, ctx)?;
    if let Some(map) = run_json.as_object_mut() {
        map.insert("approved_flexible_price_exists".into(), json!(false));
    }
    let mut body = certificate_body(&state, &certificate, &site).await?;
    body.insert("course_run".into(), run_json);
    Ok(Json(Value::Object(body)))
}

#[utoipa::path(get, operation_id = "program_certificates_retrieve", path = "/api/v2/program_certificates/{uuid}/", tag = "program_certificates",
    params(("uuid" = String, Path, description = "The certificate's uuid")),
    responses((status = 200, body = serde_json::Value, description = "V2ProgramCertificate: {user, uuid, is_revoked, issue_date, certificate_page, verifiable_credential_json, program, certificate_page_revision}"),
        (status = 404, description = "No active certificate (unknown, revoked or not yet issued)", body = crate::openapi::Detail)))]
async fn program_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(raw): PathKey,
) -> Result<Json<Value>, ApiError> {
    let certificate = active_certificate(&state, CertificateKind::Program, &raw).await?;
    let site = base_url(&state, &headers);
    let ctx = Ctx::new(&state, &site, Utc::now());
    let program = state
        .store
        .catalog_programs(&[certificate.subject_id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(ApiError::not_found)?;
    let program_json = serde_json::to_value(V2Program::new(&program, ctx))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut body = certificate_body(&state, &certificate, &site).await?;
    body.insert("program".into(), program_json);
    Ok(Json(Value::Object(body)))
}

/// The credential JSON of an active certificate as an attachment.
async fn download(
    state: &AppState,
    kind: CertificateKind,
    raw: &str,
) -> Result<Response, ApiError> {
    let uuid = path_uuid(raw)?;
    let certificate = state
        .store
        .certificate_by_credential(kind, &uuid)
        .await?
        .filter(|c| !c.is_revoked && c.issue_date <= Utc::now())
        .ok_or_else(ApiError::not_found)?;
    let (_, data) = certificate.credential.ok_or_else(ApiError::not_found)?;
    let mut response = Json(data).into_response();
    let disposition = format!("attachment; filename=\"credential_{uuid}.json\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[utoipa::path(get, operation_id = "verifiable_course_credential_download_list", path = "/api/v2/verifiable_course_credential/{credential_id}/download/", tag = "verifiable_course_credential",
    params(("credential_id" = String, Path, description = "The credential's uuid")),
    responses((status = 200, body = serde_json::Value, description = "The signed credential, `Content-Disposition: attachment; filename=\"credential_{uuid}.json\"`"),
        (status = 404, description = "No such credential of an active course certificate", body = crate::openapi::Detail)))]
async fn course_credential_download(
    State(state): State<AppState>,
    PathKey(raw): PathKey,
) -> Result<Response, ApiError> {
    download(&state, CertificateKind::Course, &raw).await
}

#[utoipa::path(get, operation_id = "verifiable_program_credential_download_list", path = "/api/v2/verifiable_program_credential/{credential_id}/download/", tag = "verifiable_program_credential",
    params(("credential_id" = String, Path, description = "The credential's uuid")),
    responses((status = 200, body = serde_json::Value, description = "The signed credential, `Content-Disposition: attachment; filename=\"credential_{uuid}.json\"`"),
        (status = 404, description = "No such credential of an active program certificate", body = crate::openapi::Detail)))]
async fn program_credential_download(
    State(state): State<AppState>,
    PathKey(raw): PathKey,
) -> Result<Response, ApiError> {
    download(&state, CertificateKind::Program, &raw).await
}

#[utoipa::path(post, operation_id = "verifiable_credentials_verify", path = "/api/v2/verifiable_credentials/verify/", tag = "verifiable_credentials",
    request_body(content = serde_json::Value, description = "The credential as downloaded (EnvelopedVerifiableCredential), `{\"jwt\": \"…\"}` or the VC-JWT as a JSON string"),
    responses((status = 200, body = serde_json::Value, description = "`{verified, status: valid|revoked|invalid|unknown, credential_id, issuer, certificate, errors}`"),
        (status = 400, description = "The body is not JSON", body = crate::openapi::Detail)))]
async fn verify_credential(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let presented: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequestBody(json!({ "detail": format!("JSON parse error - {e}") }))
    })?;
    let verdict = credentials::verify(&state.services, &presented).await?;
    serde_json::to_value(verdict)
        .map(Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}
