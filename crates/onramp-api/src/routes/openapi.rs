//! `GET /openapi.json`: the OpenAPI 3.1 document of every route onramp serves, generated once from the
//! router's registrations ([`crate::api`], see [`crate::openapi`]). Unauthenticated: it describes the
//! surfaces and exposes no data.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The route of the document.
pub const PATH: &str = "/openapi.json";

/// The document, as served: built on first use from the registrations, the same for every server.
pub fn text() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let document = crate::openapi::document(crate::api().operations());
        serde_json::to_string(&document).expect("the document is JSON")
    })
}

pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], text()).into_response()
}
