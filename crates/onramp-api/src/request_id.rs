//! Request ids and the per-request tracing span.
//!
//! A request keeps a well-formed `x-request-id` it arrives with (so a load balancer's id follows it), or gets
//! a fresh one; the id is echoed in the response, recorded on the span, and written to audit events.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use onramp_domain::Id;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Middleware: assigns the request id, runs the request inside a span, and logs its outcome.
/// The span never records the query string or headers, which may carry secrets.
pub async fn trace(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| acceptable(value))
        .map(str::to_string)
        .unwrap_or_else(|| Id::new().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        // An unmatched path is not logged: it may hold a secret (an invitation link with a trailing slash).
        .unwrap_or_else(|| "(no route)".to_string());
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(status, elapsed_us = started.elapsed().as_micros() as u64, "request finished");
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn accepts_only_plain_ids() {
        assert!(super::acceptable("5f1c-abc_1.2"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable("a b"));
        assert!(!super::acceptable(&"x".repeat(65)));
    }
}
