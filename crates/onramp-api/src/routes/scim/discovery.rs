//! The discovery routes (RFC 7644 §4): `ServiceProviderConfig`, `ResourceTypes` and `Schemas`, built by
//! [`crate::scim::schemas`]. They describe the protocol and hold no tenant's data, so they answer without a
//! token, as identity providers and conformance tools probe them before authenticating.

use axum::extract::{Path, State};

use super::{BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD, MAX_RESULTS, ScimResponse, base_url};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::list::{ListResponse, Page};
use crate::scim::schemas;
use crate::state::AppState;

/// What onramp announces of its limits.
pub fn limits() -> schemas::Limits {
    schemas::Limits {
        bulk_max_operations: BULK_MAX_OPERATIONS,
        bulk_max_payload_size: BULK_MAX_PAYLOAD,
        filter_max_results: MAX_RESULTS,
    }
}

pub async fn service_provider_config(State(state): State<AppState>) -> ScimResponse {
    ScimResponse::ok(schemas::service_provider_config(&base_url(&state), limits()))
}

pub async fn resource_types(State(state): State<AppState>) -> ScimResponse {
    let all = schemas::resource_types(&base_url(&state));
    let page = Page { start_index: 1, count: all.len() };
    ScimResponse::ok(ListResponse::from_all(&all, page).body())
}

pub async fn resource_type(State(state): State<AppState>, Path(name): Path<String>) -> ScimResult<ScimResponse> {
    let resource = schemas::find_resource_type(&name)
        .ok_or_else(|| ScimError::not_found(format!("ResourceType {name} not found")))?;
    Ok(ScimResponse::ok(schemas::resource_type(resource, &base_url(&state))))
}

pub async fn all_schemas(State(state): State<AppState>) -> ScimResponse {
    let all = schemas::schemas(&base_url(&state));
    let page = Page { start_index: 1, count: all.len() };
    ScimResponse::ok(ListResponse::from_all(&all, page).body())
}

pub async fn one_schema(State(state): State<AppState>, Path(id): Path<String>) -> ScimResult<ScimResponse> {
    let schema = schemas::find_schema(&id).ok_or_else(|| ScimError::not_found(format!("Schema {id} not found")))?;
    Ok(ScimResponse::ok(schemas::schema(schema, &base_url(&state))))
}
