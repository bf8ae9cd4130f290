//! # mitx-server
//!
//! The HTTP API existing MITx Online clients talk to: thin axum handlers that parse the
//! request, call the store/services, and render the original JSON shapes. Errors are JSON
//! (`{"detail": "..."}`, or `{"errors": {...}}` for validation) and bad input never
//! answers 500.

pub mod auth;
pub mod body;
pub mod catalog;
pub mod catalog_cache;
pub mod enrollment_form;
pub mod enrollment_views;
pub mod enrollments;
pub mod error;
pub mod etag;
pub mod health;
pub mod internal;
pub mod openapi;
pub mod pagination;
pub mod path_key;
pub mod program_enrollments;
pub mod users;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use mitx_services::Services;
use mitx_services::store::Store;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The workflows: every change of data goes through them.
    pub services: Services,
    /// The read handle (the same as `services.store()`).
    pub store: Store,
    /// `OPENEDX_COURSE_BASE_URL`: base of courseware URLs.
    pub openedx_course_base_url: String,
    /// Rendered catalog responses of this process.
    pub catalog_cache: std::sync::Arc<catalog_cache::CatalogCache>,
    /// Catalog courses of this process, for views rendered per caller.
    pub course_cache: std::sync::Arc<catalog_cache::CourseCache>,
}

impl AppState {
    /// State over the services (their settings say whether the gateway header is
    /// trusted and where courseware lives).
    pub fn new(services: Services) -> Self {
        AppState {
            store: services.store().clone(),
            openedx_course_base_url: services.settings().server.openedx_course_base_url.clone(),
            services,
            catalog_cache: std::sync::Arc::default(),
            course_cache: std::sync::Arc::default(),
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let api_no_store = SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static("cache-control"),
        HeaderValue::from_static("private, no-store"),
    );
    Router::new()
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(
            catalog::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                catalog_cache::layer,
            )),
        )
        .merge(users::routes())
        .merge(enrollments::routes())
        .merge(enrollment_form::routes())
        .merge(program_enrollments::routes())
        .merge(internal::routes())
        .layer(api_no_store)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
