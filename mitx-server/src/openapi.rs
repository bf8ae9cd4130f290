//! The server's own OpenAPI document, served at `/api/schema/` (JSON). Handlers carry
//! `#[utoipa::path]` annotations next to their code and the catalog shapes derive their
//! schemas from the types that render them, so the document follows the code; the HTTP tests
//! check that every documented operation is served and every served operation of the
//! reference contract is documented.
//!
//! Enrollment items are assembled from the catalog shapes at run time and are documented
//! by name (the reference contract's schema names) rather than as derived schemas.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi as Document;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;

/// `{"detail": "..."}`: the error body outside validation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Detail {
    /// What went wrong.
    pub detail: String,
}

/// `{"errors": {field: message or [messages]}}`: validation errors.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrors {
    /// Messages by field.
    #[schema(value_type = Object)]
    pub errors: serde_json::Value,
}

/// Body of the enrollment POSTs.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RunIdRequest {
    /// The course run.
    pub run_id: i64,
}

/// Body of `PATCH /api/v1/enrollments/{id}/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReceiveEmailsRequest {
    /// Subscribe to (true) or unsubscribe from (false) course e-mails.
    pub receive_emails: bool,
}

/// Body of `POST /api/v3/program_enrollments/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProgramIdRequest {
    /// The program.
    pub program_id: i64,
}

/// Fields of the HTML form `POST /enrollments/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FormEnrollmentRequest {
    /// The course run id.
    pub run: i64,
    /// Present: answer 200 `Ok`/`Fail` instead of redirecting.
    pub isapi: Option<String>,
}

/// The document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "mitx",
        description = "MITx Online's catalog, enrollment and users API, served by mitx. Paths and shapes follow the original MITx Online API."
    ),
    paths(
        crate::checkout::v0_checkout,
        crate::checkout::to_payment,
        crate::checkout::result_post,
        crate::checkout::result_get,
        crate::checkout::server_result,
        crate::stripe_webhook::stripe_webhook,
        crate::health::healthz,
        crate::health::readyz,
        schema,
        crate::catalog::v1::list_courses,
        crate::catalog::v1::course_detail,
        crate::catalog::v1::list_programs,
        crate::catalog::v1::program_detail,
        crate::catalog::v1::list_runs,
        crate::catalog::v1::run_detail,
        crate::catalog::v1::list_departments,
        crate::catalog::v1::department_detail,
        crate::catalog::v2::list_courses,
        crate::catalog::v2::course_detail,
        crate::catalog::v2::list_programs,
        crate::catalog::v2::program_detail,
        crate::catalog::v2::list_departments,
        crate::catalog::v2::department_detail,
        crate::catalog::v2::list_collections,
        crate::catalog::v2::collection_detail,
        crate::internal::list_courses,
        crate::users::me,
        crate::users::patch_me,
        crate::users::userinfo,
        crate::users::countries,
        crate::enrollments::list_v1,
        crate::enrollments::list_v2,
        crate::enrollments::list_v3,
        crate::enrollments::retrieve_v3,
        crate::enrollments::create_v1,
        crate::enrollments::create_v2,
        crate::enrollments::create_v3,
        crate::enrollments::update_email_settings,
        crate::enrollments::destroy_v1,
        crate::enrollments::destroy_v2,
        crate::enrollments::destroy_v3,
        crate::enrollment_form::enroll,
        crate::program_enrollments::list_v1,
        crate::program_enrollments::list_v2,
        crate::program_enrollments::list_v3,
        crate::program_enrollments::retrieve_v1,
        crate::program_enrollments::retrieve_v2,
        crate::program_enrollments::retrieve_v3,
        crate::program_enrollments::create_v3,
        crate::program_enrollments::destroy_v1,
        crate::program_enrollments::destroy_v2,
        crate::program_enrollments::destroy_v3,
        crate::certificates::course_certificate,
        crate::certificates::program_certificate,
        crate::certificates::course_credential_download,
        crate::certificates::program_credential_download,
        crate::certificates::verify_credential,
        crate::records::record,
        crate::records::share,
        crate::records::revoke,
        crate::records::shared_record,
        crate::records::partner_schools,
        crate::webhooks::enrollment,
        crate::webhooks::certificate,
        crate::verified_program_enrollments::create,
        crate::baskets::add_to_cart,
        crate::baskets::cart,
        crate::baskets::basket_items_count,
        crate::baskets::redeem_discount,
        crate::baskets::legacy_list,
        crate::baskets::legacy_by_username,
        crate::baskets::legacy_items,
        crate::baskets::legacy_add_item,
        crate::baskets::legacy_delete_item,
        crate::baskets::legacy_discounts,
        crate::baskets::cart_add,
        crate::baskets::claim,
        crate::baskets::v0_list,
        crate::baskets::v0_retrieve,
        crate::baskets::v0_items_list,
        crate::baskets::v0_items_create,
        crate::baskets::v0_items_retrieve,
        crate::baskets::v0_items_update,
        crate::baskets::v0_items_partial_update,
        crate::baskets::v0_items_destroy,
        crate::baskets::v0_add_discount,
        crate::baskets::v0_clear,
        crate::baskets::v0_create_from_product,
        crate::baskets::v0_create_from_product_with_code,
        crate::baskets::v0_create_with_products,
        crate::products::list,
        crate::products::retrieve,
        crate::products::user_flexible_price,
        crate::products::list_all,
        crate::products::retrieve_all,
        crate::orders::history,
        crate::orders::history_legacy,
        crate::orders::history_item,
        crate::orders::receipt,
        crate::orders::receipt_legacy,
        crate::orders::status,
        crate::orders::refund_request,
        crate::orders::receipt_by_run,
        crate::orders::receipt_by_program,
        crate::discounts::create_batch,
        crate::discounts::create_batch_legacy,
        crate::discounts::list,
        crate::discounts::create,
        crate::discounts::retrieve,
        crate::discounts::replace,
        crate::discounts::update,
        crate::discounts::destroy,
        crate::discounts::list_legacy,
        crate::discounts::assignments_legacy,
        crate::discounts::nested::redemptions,
        crate::discounts::nested::redemption,
        crate::discounts::nested::assignees,
        crate::discounts::nested::assign,
        crate::discounts::nested::assignee,
        crate::discounts::nested::assign_put,
        crate::discounts::nested::assign_patch,
        crate::discounts::nested::unassign,
        crate::discounts::nested::products,
        crate::discounts::nested::link,
        crate::discounts::nested::product,
        crate::discounts::nested::link_put,
        crate::discounts::nested::link_patch,
        crate::discounts::nested::unlink,
        crate::discounts::nested::tiers,
        crate::discounts::nested::tier,
    ),
    components(schemas(
        Detail,
        FieldErrors,
        RunIdRequest,
        ReceiveEmailsRequest,
        ProgramIdRequest,
        FormEnrollmentRequest,
        crate::webhooks::EnrollmentWebhookRequest,
        crate::webhooks::CertificateWebhookRequest,
        crate::webhooks::EnrollmentWebhookResponse,
        crate::webhooks::WebhookError
    ))
)]
pub struct ApiDoc;

/// The document, with the alias paths of the users API listed like their originals.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    for (alias, path) in crate::users::ALIASES {
        if let Some(mut item) = doc.paths.paths.get(*path).cloned() {
            // Operation ids must stay unique: name the alias after its path.
            let slug: String = alias
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let slug = format!("alias{slug}").trim_end_matches('_').to_owned();
            if let Some(op) = item.get.as_mut() {
                op.operation_id = Some(slug.clone());
            }
            if let Some(op) = item.patch.as_mut() {
                op.operation_id = Some(format!("{slug}_partial_update"));
            }
            doc.paths.paths.insert((*alias).to_owned(), item);
        }
    }
    doc
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/schema/", get(schema))
}

#[utoipa::path(get, operation_id = "openapi_schema", path = "/api/schema/", tag = "schema",
    responses((status = 200, body = serde_json::Value, description = "This OpenAPI document (JSON)")))]
async fn schema(State(_): State<AppState>) -> Json<Document> {
    Json(document())
}
