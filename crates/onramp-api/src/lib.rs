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
pub mod openapi;
pub mod paging;
pub mod panics;
pub mod principal;
pub mod request_id;
pub mod routes;
pub mod same_origin;
pub mod scim;
pub mod state;
pub mod web;
pub mod whole_body;
pub mod wire;

use crate::openapi::{ApiRouter, Content, Doc};
use axum::Router;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::Response;

use crate::routes::audit::{AuditEventBody, AuditQuery};
use crate::routes::health::{HealthBody, ReadyBody};
use crate::routes::introspect::{IntrospectBody, UserIntrospectBody, UserIntrospectRequest};
use crate::routes::roles::{RoleBody, RoleResponse};
use crate::routes::search::SearchUsersRequest;
use crate::routes::users::{ImportBody, ImportRequest, UpdateRequest, UserListBody};
use crate::wire::user::UserViewResponse;
use crate::wire::user_input::UserInput;
use crate::wire::{Empty, ListBody};

use crate::error::{ApiError, Code};
pub use crate::state::AppState;

/// The longest request body read, in bytes; a longer one is 413.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Every route onramp serves with its documentation, registered together (see [`openapi`]).
pub fn api() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/healthz",
            routes::health::healthz,
            Doc::ops("onramp.ops.Health", "The process answers").json::<HealthBody>("200", "Alive"),
        )
        .get(
            "/readyz",
            routes::health::readyz,
            Doc::ops("onramp.ops.Ready", "The database answers too")
                .json::<ReadyBody>("200", "Ready")
                .json::<ReadyBody>("503", "The database does not answer"),
        )
        .get(
            metrics::PATH,
            metrics::scrape,
            Doc::ops(
                "onramp.ops.Metrics",
                "Prometheus text exposition; served only with --metrics-token, to that bearer",
            )
            .security(openapi::Security::MetricsToken)
            .answer("200", "Prometheus text format 0.0.4", Content::Text)
            .answer(
                "default",
                "Error (404 when the node serves no metrics)",
                Content::Subset("local.rpc.Status"),
            ),
        )
        .get(
            routes::openapi::PATH,
            routes::openapi::document,
            Doc::ops("onramp.ops.OpenApi", "This document")
                .json::<serde_json::Value>("200", "The OpenAPI 3.1 document of every route onramp serves"),
        )
        .post("/auth/v1/token", routes::token::token, Doc::c1("local.auth.v1.Token"))
        .get(
            "/api/v1/auth/introspect",
            routes::introspect::auth_introspect,
            Doc::c1("c1.api.auth.v1.Auth.Introspect").ok::<IntrospectBody>(),
        )
        .post(
            "/api/v1/users/introspect",
            routes::introspect::user_introspect,
            Doc::c1("c1.api.user.v1.UserService.Introspect").body::<UserIntrospectRequest>().ok::<UserIntrospectBody>(),
        )
        .get(
            "/api/v1/users",
            routes::users::list_users,
            Doc::c1("c1.api.user.v1.UserService.List").ok::<UserListBody>(),
        )
        .post(
            "/api/v1/users",
            routes::users::create_user,
            Doc::api("onramp.user.v1.UserService.Create", "User", "Create a user")
                .body::<UserInput>()
                .ok::<UserViewResponse>(),
        )
        .post(
            "/api/v1/users/import",
            routes::users::import,
            Doc::api("onramp.user.v1.UserService.Import", "User", "Import users in bulk")
                .body::<ImportRequest>()
                .ok::<ImportBody>(),
        )
        .get(
            "/api/v1/users/{id}",
            routes::users::get_user,
            Doc::c1("c1.api.user.v1.UserService.Get").ok::<UserViewResponse>(),
        )
        .post(
            "/api/v1/users/{id}",
            routes::users::update_user,
            Doc::api("onramp.user.v1.UserService.Update", "User", "Update a user")
                .body::<UpdateRequest>()
                .ok::<UserViewResponse>(),
        )
        .delete(
            "/api/v1/users/{id}",
            routes::users::delete_user,
            Doc::api("onramp.user.v1.UserService.Delete", "User", "Delete a user").ok::<Empty>(),
        )
        .post(
            "/api/v1/search/users",
            routes::search::search_users,
            Doc::c1("c1.api.user.v1.UserSearch.Search")
                .body::<SearchUsersRequest>()
                .ok::<routes::search::SearchUsersBody>(),
        )
        .get(
            "/api/v1/iam/roles",
            routes::roles::list_roles,
            Doc::c1("c1.api.iam.v1.Roles.List").ok::<ListBody<RoleBody>>(),
        )
        .get(
            "/api/v1/iam/roles/{role_id}",
            routes::roles::get_role,
            Doc::c1("c1.api.iam.v1.Roles.Get").ok::<RoleResponse>(),
        )
        .get(
            "/api/v1/audit-events",
            routes::audit::list_audit_events,
            Doc::api(
                "onramp.audit.v1.AuditService.List",
                "Audit",
                "The audit log, oldest first, filtered by actor, action, object and time",
            )
            .query::<AuditQuery>()
            .ok::<ListBody<AuditEventBody>>(),
        )
        .merge(routes::apps::routes())
        .merge(routes::app_owners::routes())
        .merge(routes::directories::routes())
        .merge(routes::invitations::routes())
        .merge(routes::settings::routes())
        .merge(routes::flows::routes())
        .merge(routes::onboards::routes())
        .merge(routes::console::routes())
        .merge(routes::scim::routes())
        .merge(routes::webhooks::routes())
        .merge(web::routes())
}

/// Every route onramp serves, with request tracing.
pub fn router(state: AppState) -> Router {
    let cross_site = axum::middleware::from_fn_with_state(state.clone(), same_origin::refuse_cross_site);
    api()
        .into_router()
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

/// No route: the SCIM error body under `/scim/` (identity providers read only that), the API's elsewhere.
async fn not_found(uri: Uri) -> Response {
    let message = format!("no route for {}", uri.path());
    if uri.path().starts_with("/scim/") {
        return axum::response::IntoResponse::into_response(crate::scim::error::ScimError::not_found(message));
    }
    axum::response::IntoResponse::into_response(ApiError::new(Code::NotFound, message))
}

async fn method_not_allowed(method: Method, uri: Uri) -> (axum::http::StatusCode, ApiError) {
    let error = ApiError::new(Code::Unimplemented, format!("{} is not allowed on {}", method, uri.path()));
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, error)
}
