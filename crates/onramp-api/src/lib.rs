//! onramp's HTTP surfaces: the ConductorOne-compatible API, the token endpoint, `/onboards`, the invitee's
//! pages and the operations routes.
//!
//! Handlers authenticate the caller, parse input into domain types at the boundary, call a use case of
//! `onramp_core::Core` (which checks the caller's authorization) and build the wire response. Every write
//! is a use case; a few reads still go to the core's store directly (search expansion, health, metrics, the
//! API-key and invitation-link lookups of authentication). Handlers never build SQL, check a permission,
//! catch the search index up or wake the mail worker.
//! Errors leave through [`error::ApiError`].

pub mod client_addr;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod paging;
pub mod panics;
pub mod principal;
pub mod request_id;
pub mod routes;
pub mod same_origin;
pub mod state;
pub mod web;
pub mod whole_body;
pub mod wire;

use axum::Router;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::error::{ApiError, Code};
pub use crate::state::AppState;

/// The longest request body read, in bytes; a longer one is 413.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Every route onramp serves, with request tracing.
pub fn router(state: AppState) -> Router {
    let cross_site = axum::middleware::from_fn_with_state(state.clone(), same_origin::refuse_cross_site);
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route(metrics::PATH, get(metrics::scrape))
        .route(routes::openapi::PATH, get(routes::openapi::document))
        .route("/auth/v1/token", post(routes::token::token))
        .route("/api/v1/auth/introspect", get(routes::introspect::auth_introspect))
        .route("/api/v1/users/introspect", post(routes::introspect::user_introspect))
        .route("/api/v1/users", get(routes::users::list_users).post(routes::users::create_user))
        .route("/api/v1/users/import", post(routes::users::import))
        .route(
            "/api/v1/users/{id}",
            get(routes::users::get_user).post(routes::users::update_user).delete(routes::users::delete_user),
        )
        .route("/api/v1/search/users", post(routes::search::search_users))
        .route("/api/v1/iam/roles", get(routes::roles::list_roles))
        .route("/api/v1/iam/roles/{role_id}", get(routes::roles::get_role))
        .route("/api/v1/audit-events", get(routes::audit::list_audit_events))
        .merge(routes::apps::routes())
        .merge(routes::app_owners::routes())
        .merge(routes::directories::routes())
        .merge(routes::invitations::routes())
        .merge(routes::settings::routes())
        .merge(routes::flows::routes())
        .merge(routes::onboards::routes())
        .merge(routes::console::routes())
        .merge(web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cross_site)
        .layer(axum::middleware::from_fn(panics::catch_panics))
        // Outside every layer and handler that may answer early (see `whole_body`).
        .layer(axum::middleware::from_fn(whole_body::read_whole_body))
        .layer(axum::middleware::from_fn(request_id::trace))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record_request))
        .layer(axum::middleware::map_response(nosniff))
        .with_state(state)
}

/// Every response, errors and fallbacks included, tells browsers to trust its `Content-Type` rather than
/// guess one from the bytes: a JSON error quoting client input must never be run as a script or page.
async fn nosniff(mut response: Response) -> Response {
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(Code::NotFound, format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> (axum::http::StatusCode, ApiError) {
    let error = ApiError::new(Code::Unimplemented, format!("{} is not allowed on {}", method, uri.path()));
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, error)
}
