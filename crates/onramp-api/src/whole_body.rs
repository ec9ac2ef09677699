//! Every request body is read whole, up to [`crate::MAX_BODY_BYTES`], before the request is routed.
//!
//! hyper reuses a kept-alive connection only when the previous request's body was read to its end; a handler
//! that answers without reading the body (a 401, an early 404, a `DELETE` that takes no body) would leave
//! hyper to close the connection, at times without `Connection: close`, and a client that sent its next
//! request on it sees the connection drop. Reading the body here, in one place, makes that impossible for
//! every route. Handlers get the body as read (their extractors read from memory). A body over the limit is
//! answered 413 in the API's error shape with `Connection: close`, since its rest is never read.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::MAX_BODY_BYTES;
use crate::error::ApiError;

/// Middleware: reads the request body whole before the rest of the router sees the request.
pub async fn read_whole_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return closing(ApiError::body_too_large(MAX_BODY_BYTES));
    }
    let mut stream = body.into_data_stream();
    let mut read = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return closing(ApiError::invalid_field("body", "could not read the request body"));
        };
        if read.len() + chunk.len() > MAX_BODY_BYTES {
            return closing(ApiError::body_too_large(MAX_BODY_BYTES));
        }
        read.extend_from_slice(&chunk);
    }
    next.run(Request::from_parts(parts, Body::from(read))).await
}

/// The error, on a connection that is closed after it.
fn closing(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
