//! `GET /openapi.json`: the OpenAPI 3.1 document of every route onramp serves. Unauthenticated: it
//! describes the surfaces and exposes no data.
//!
//! The document is `openapi.json` beside this crate's `lib.rs`. Its ConductorOne part is the public
//! ConductorOne document's operations that onramp serves, with their schemas as published (the
//! integration test `openapi` compares them with `api/conductorone-subset.yaml`); the rest
//! describes onramp's additions, `/onboards`, the invitee's pages and the operations routes, and the test
//! checks that every route of [`crate::router`] is in it. schemathesis checks the server against it.
//!
//! It is not generated from the typed `Serialize` bodies of `wire/` and the routes: a route or a field
//! added to the wire is added to `openapi.json` by hand, and the tests say when one is forgotten. One
//! deliberate difference from ConductorOne's document: protobuf Durations are `format: google-duration`
//! with the pattern of their protojson form (`"604800s"`), where ConductorOne's says `format: duration`,
//! which JSON Schema reads as ISO 8601 (`P7D`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The route of the document.
pub const PATH: &str = "/openapi.json";

/// The document, as served.
pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], DOCUMENT).into_response()
}
