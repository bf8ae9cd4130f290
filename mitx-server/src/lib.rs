//! # mitx-server
//!
//! The HTTP API existing MITx Online clients talk to: thin axum handlers that parse the
//! request, call the store/services, and render the original JSON shapes. Errors are JSON
//! (`{"detail": "..."}`, or `{"errors": {...}}` for validation) and bad input never
//! answers 500.

pub mod auth;
pub mod baskets;
pub mod body;
pub mod catalog;
pub mod catalog_cache;
pub mod certificates;
pub mod checkout;
pub mod csrf;
pub mod demo;
pub mod discounts;
pub mod enrollment_form;
pub mod enrollment_views;
pub mod enrollments;
pub mod error;
pub mod etag;
pub mod health;
pub mod internal;
pub mod links;
pub mod listener;
pub mod metrics;
pub mod openapi;
pub mod orders;
pub mod pagination;
pub mod path_key;
pub mod products;
pub mod program_enrollments;
pub mod records;
pub mod rejections;
pub mod stripe_webhook;
pub mod users;
pub mod verified_program_enrollments;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{from_fn, from_fn_with_state};
use mitx_services::Services;
use mitx_services::store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyDeadlineLayer;

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
    pub catalog_cache: Arc<catalog_cache::CatalogCache>,
    /// Catalog courses of this process, for views rendered per caller.
    pub course_cache: Arc<catalog_cache::CourseCache>,
    /// Where absolute links point.
    pub links: links::SiteLinks,
    /// Origins whose pages may send unsafe requests.
    pub csrf: csrf::TrustedOrigins,
    /// Request counters.
    pub metrics: Arc<metrics::Metrics>,
    /// Serve the demo's pages (`mitx serve --demo` only).
    pub demo_pages: bool,
}

impl AppState {
    /// State over the services (their settings say whether the gateway header is
    /// trusted and where courseware lives).
    pub fn new(services: Services) -> Self {
        let settings = services.settings();
        let server = &settings.server;
        AppState {
            store: services.store().clone(),
            openedx_course_base_url: server.openedx_course_base_url.clone(),
            catalog_cache: Arc::new(catalog_cache::CatalogCache::new(
                server.catalog_cache_max_bytes,
                server.catalog_cache_ttl,
            )),
            course_cache: Arc::default(),
            links: links::SiteLinks::new(&settings.site.base_url, server.use_forwarded_host),
            csrf: csrf::TrustedOrigins::new(&settings.site.base_url, &server.csrf_trusted_origins),
            metrics: Arc::default(),
            demo_pages: false,
            services,
        }
    }

    /// Mounts the demo's pages: the stand-in payment page, store front, cart and
    /// dashboard, and the sign-in cookie that stands in for the gateway. `mitx serve
    /// --demo` is the only caller; no setting turns them on.
    pub fn with_demo_pages(mut self) -> Self {
        self.demo_pages = true;
        self
    }
}

/// The whole API, with the edge: request ids and metrics, JSON for every rejection,
/// panics caught, body timeout and size limit, no caching by browsers (the CSRF check
/// runs where the gateway header authenticates: [`auth`]).
pub fn router(state: AppState) -> Router {
    let server = &state.services.settings().server;
    let api_no_store = SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static("cache-control"),
        HeaderValue::from_static("private, no-store"),
    );
    let demo_pages = state.demo_pages;
    let app = Router::new()
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(metrics::routes())
        .merge(
            catalog::routes().route_layer(from_fn_with_state(state.clone(), catalog_cache::layer)),
        )
        .merge(users::routes())
        .merge(enrollments::routes())
        .merge(enrollment_form::routes())
        .merge(program_enrollments::routes())
        .merge(internal::routes())
        .merge(certificates::routes())
        .merge(records::routes())
        .merge(webhooks::routes())
        .merge(verified_program_enrollments::routes())
        .merge(baskets::routes())
        .merge(products::routes())
        .merge(checkout::routes())
        .merge(stripe_webhook::routes())
        .merge(orders::routes())
        .merge(discounts::routes());
    let app = if demo_pages {
        app.merge(demo::routes())
    } else {
        app
    };
    let app = app
        .route_layer(from_fn(metrics::mark_route))
        .fallback(rejections::unknown_route)
        .layer(api_no_store)
        .layer(DefaultBodyLimit::max(server.max_body_bytes))
        // A deadline for the whole body (a per-chunk timeout would let a byte every few
        // seconds hold the request open without end).
        .layer(RequestBodyDeadlineLayer::new(server.body_timeout))
        .layer(CatchPanicLayer::custom(rejections::panic_response))
        .layer(from_fn(rejections::layer))
        .layer(from_fn_with_state(state.clone(), metrics::observe));
    let app = if demo_pages {
        app.layer(from_fn(demo::gateway_from_cookie))
    } else {
        app
    };
    app.with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves; then in-flight requests
/// finish (within `MITX_SHUTDOWN_GRACE_SECONDS`) before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = &state.services.settings().server;
    let limits = listener::ConnectionLimits {
        header_timeout: server.header_timeout,
        shutdown_grace: server.shutdown_grace,
    };
    listener::run(listener, router(state), limits, shutdown).await
}
