//! The SCIM 2.0 service provider at `/scim/v2` (RFC 7643, RFC 7644): Users, Groups, discovery and Bulk,
//! over the core's use cases. The protocol's pure parts (filters, PATCH, projection, lists, discovery
//! documents, the error body) are in [`crate::scim`]; this module authenticates the connection, reads and
//! writes `application/scim+json`, and maps onramp's objects.
//!
//! A connection authenticates with `Authorization: Bearer <token>` (`onramp scim-token create`); its caller
//! is the core's `Principal` for the connection's tenant and role, so authorization stays in the core.

pub mod bulk;
pub mod discovery;
pub mod groups;
pub mod user_map;
pub mod users;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use onramp_core::Principal;
use serde_json::Value;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Map;

use crate::openapi::{ApiRouter, Doc};
use crate::request_id::RequestId;
use crate::scim::error::{SCIM_CONTENT_TYPE, ScimError, ScimResult};
use crate::state::AppState;

/// The SCIM error body (RFC 7644 §3.12), for the document.
#[derive(Serialize, JsonSchema)]
pub struct ScimErrorBody {
    pub schemas: Vec<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// `invalidFilter`, `tooMany`, `uniqueness`, `mutability`, `invalidSyntax`, `invalidPath`, `noTarget`,
    /// `invalidValue`, `invalidVers` or `sensitive`, where one applies.
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    pub detail: String,
}

/// A SCIM resource or message: a JSON object whose attributes the `Schemas` discovery documents define.
pub type ScimObject = Map<String, Value>;

/// Every `/scim/v2` route with its documentation.
pub fn routes() -> ApiRouter {
    let discovery = |operation_id, summary| {
        Doc::scim(operation_id, summary)
            .security(crate::openapi::Security::Public)
            .scim_answer::<ScimObject>("200", "The discovery document")
    };
    ApiRouter::new()
        .get(
            "/scim/v2/ServiceProviderConfig",
            discovery::service_provider_config,
            discovery("onramp.scim.ServiceProviderConfig", "What the service provider supports"),
        )
        .get(
            "/scim/v2/ResourceTypes",
            discovery::resource_types,
            discovery("onramp.scim.ResourceTypes.List", "The resource types (User, Group)"),
        )
        .get(
            "/scim/v2/ResourceTypes/{id}",
            discovery::resource_type,
            discovery("onramp.scim.ResourceTypes.Get", "One resource type by name"),
        )
        .get("/scim/v2/Schemas", discovery::all_schemas, discovery("onramp.scim.Schemas.List", "The schemas"))
        .get(
            "/scim/v2/Schemas/{id}",
            discovery::one_schema,
            discovery("onramp.scim.Schemas.Get", "One schema by its URN"),
        )
        .get(
            "/scim/v2/Users",
            users::list_users,
            Doc::scim("onramp.scim.Users.List", "List users, with a SCIM filter, startIndex and count")
                .query::<users::ListQuery>()
                .scim_answer::<ScimObject>("200", "A ListResponse of User resources"),
        )
        .post(
            "/scim/v2/Users/.search",
            users::search_users,
            Doc::scim("onramp.scim.Users.Search", "List users, the query (a SearchRequest) in the body")
                .scim_body::<ScimObject>()
                .scim_answer::<ScimObject>("200", "A ListResponse of User resources"),
        )
        .post(
            "/scim/v2/Groups/.search",
            groups::search_groups,
            Doc::scim("onramp.scim.Groups.Search", "List groups, the query (a SearchRequest) in the body")
                .scim_body::<ScimObject>()
                .scim_answer::<ScimObject>("200", "A ListResponse of Group resources"),
        )
        .post(
            "/scim/v2/.search",
            users::search_all,
            Doc::scim("onramp.scim.Search", "Search several resource types at once: not supported")
                .scim_body::<ScimObject>()
                .scim_answer::<ScimErrorBody>("501", "Not supported: search /Users/.search or /Groups/.search"),
        )
        .post(
            "/scim/v2/Users",
            users::create_user,
            Doc::scim("onramp.scim.Users.Create", "Create a user")
                .scim_body::<ScimObject>()
                .scim_answer::<ScimObject>("201", "The User as created"),
        )
        .get(
            "/scim/v2/Users/{id}",
            users::get_user,
            Doc::scim("onramp.scim.Users.Get", "A user")
                .query::<users::ProjectionQuery>()
                .scim_answer::<ScimObject>("200", "The User"),
        )
        .put(
            "/scim/v2/Users/{id}",
            users::replace_user,
            Doc::scim("onramp.scim.Users.Replace", "Replace a user's attributes")
                .scim_body::<ScimObject>()
                .scim_answer::<ScimObject>("200", "The User as replaced"),
        )
        .operation(
            axum::http::Method::PATCH,
            "/scim/v2/Users/{id}",
            users::patch_user,
            Doc::scim("onramp.scim.Users.Patch", "Change a user by PATCH operations")
                .scim_body::<ScimObject>()
                .scim_answer::<ScimObject>("200", "The User as changed"),
        )
        .post(
            "/scim/v2/Bulk",
            bulk::bulk,
            Doc::scim(
                "onramp.scim.Bulk",
                "Run many Users and Groups operations, each on its own, with bulkId references",
            )
            .scim_body::<ScimObject>()
            .scim_answer::<ScimObject>("200", "A BulkResponse: each operation's status")
            .scim_answer::<ScimErrorBody>("413", "Over maxPayloadSize or maxOperations"),
        )
        .get(
            "/scim/v2/Groups",
            groups::list_groups,
            Doc::scim(
                "onramp.scim.Groups.List",
                "List groups (the roles' groups, then the tenant's), with a SCIM filter",
            )
            .query::<users::ListQuery>()
            .scim_answer::<ScimObject>("200", "A ListResponse of Group resources"),
        )
        .post(
            "/scim/v2/Groups",
            groups::create_group,
            Doc::scim(
                "onramp.scim.Groups.Create",
                "Make a group, or bind one to the role its displayName names, granting its members",
            )
            .scim_body::<ScimObject>()
            .scim_answer::<ScimObject>("201", "The Group"),
        )
        .get(
            "/scim/v2/Groups/{id}",
            groups::get_group,
            Doc::scim("onramp.scim.Groups.Get", "A group (a role's or the tenant's) and its members")
                .query::<users::ProjectionQuery>()
                .scim_answer::<ScimObject>("200", "The Group"),
        )
        .put(
            "/scim/v2/Groups/{id}",
            groups::replace_group,
            Doc::scim(
                "onramp.scim.Groups.Replace",
                "Replace a group's name, externalId and members (a role's group: its members)",
            )
            .scim_body::<ScimObject>()
            .scim_answer::<ScimObject>("200", "The Group"),
        )
        .operation(
            axum::http::Method::PATCH,
            "/scim/v2/Groups/{id}",
            groups::patch_group,
            Doc::scim("onramp.scim.Groups.Patch", "Add, remove or replace a group's members, name or externalId")
                .scim_body::<ScimObject>()
                .scim_answer::<ScimObject>("200", "The Group"),
        )
        .delete(
            "/scim/v2/Groups/{id}",
            groups::delete_group,
            Doc::scim("onramp.scim.Groups.Delete", "Delete a group; a role's group: take the role from every member")
                .answer("204", "Done", crate::openapi::Content::Nothing),
        )
        .delete(
            "/scim/v2/Users/{id}",
            users::delete_user,
            Doc::scim("onramp.scim.Users.Delete", "Delete a user").answer(
                "204",
                "Deleted",
                crate::openapi::Content::Nothing,
            ),
        )
}

/// The caller of a SCIM route: a provisioning connection, as the core's `Principal`.
pub struct ScimCaller(pub Principal);

impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ScimError::unauthorized("missing Authorization: Bearer <SCIM token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ScimError::unauthorized("Authorization must be Bearer <SCIM token>"))?;
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
        match state.core.scim_caller(token, request_id).await? {
            Some(principal) => Ok(ScimCaller(principal)),
            None => Err(ScimError::unauthorized("invalid SCIM token")),
        }
    }
}

/// The most resources one list answers (`filter.maxResults`).
pub const MAX_RESULTS: usize = 1000;

/// The most operations one `/Bulk` request carries (`bulk.maxOperations`).
pub const BULK_MAX_OPERATIONS: usize = 1000;

/// The longest `/Bulk` request body, in bytes (`bulk.maxPayloadSize`).
pub const BULK_MAX_PAYLOAD: usize = 1024 * 1024;

/// The base URL of the SCIM surface, for `meta.location`.
pub fn base_url(state: &AppState) -> String {
    format!("{}/scim/v2", state.core.public_url().trim_end_matches('/'))
}

/// A request body as JSON, whatever its content type says (`application/scim+json` or
/// `application/json`); a body that is not JSON is `invalidSyntax`.
pub fn json_body(body: &Bytes) -> ScimResult<Value> {
    serde_json::from_slice(body).map_err(|error| ScimError::invalid_syntax(format!("the body is not JSON: {error}")))
}

/// A SCIM answer: the status, the body as `application/scim+json`, and an `ETag` (and `Location`, on a
/// create) from the resource's `meta`.
pub struct ScimResponse {
    pub status: StatusCode,
    pub body: Value,
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        ScimResponse { status: StatusCode::OK, body }
    }

    pub fn created(body: Value) -> Self {
        ScimResponse { status: StatusCode::CREATED, body }
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
        if let Some(version) = self.body["meta"]["version"].as_str().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(ETAG, version);
        }
        if self.status == StatusCode::CREATED
            && let Some(location) = self.body["meta"]["location"].as_str().and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(LOCATION, location);
        }
        (self.status, headers, axum::Json(self.body)).into_response()
    }
}

/// 204 No Content, as SCIM answers a DELETE.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Refuses with 412 unless the request's `If-Match` (when it has one) names `version` or is `*`.
pub fn check_if_match(headers: &HeaderMap, version: &str) -> ScimResult<()> {
    let Some(value) = headers.get(IF_MATCH) else { return Ok(()) };
    let value = value.to_str().map_err(|_| ScimError::invalid_syntax("If-Match is not text"))?;
    let strip = |tag: &str| tag.trim().trim_start_matches("W/").trim_matches('"').to_string();
    let wanted = strip(version);
    if value.split(',').any(|tag| tag.trim() == "*" || strip(tag) == wanted) {
        Ok(())
    } else {
        Err(ScimError::precondition_failed(format!("If-Match does not name the current version {version}")))
    }
}

/// A path id: an id that is not one names nothing (404, as for an unknown id).
pub fn resource_id(kind: &str, raw: &str) -> ScimResult<onramp_domain::Id> {
    raw.parse().map_err(|_| ScimError::not_found(format!("{kind} {raw} not found")))
}
