//! `GET /metrics`: the node's figures in the Prometheus text format, for the operator's scraper only.
//!
//! Who may read it: the figures name tenants and count their users and invitations, so `/metrics` is served
//! only when a metrics token is configured (`--metrics-token`), and only to a request bearing it
//! (`Authorization: Bearer <token>`); without a token configured it is 404 like any unknown path, and a
//! missing or wrong token is 401. The token is at least 32 characters (checked by the configuration), so it
//! cannot be guessed and no limit on guessing is needed; the node keeps only its SHA-256.
//!
//! What is recorded as it happens, in a recorder of this node's own (`metrics-exporter-prometheus`, no
//! listener of its own, no global state, so several servers in one process do not mix their figures):
//! - `onramp_http_requests_total` and `onramp_http_request_duration_seconds` by `method`, `route` (the
//!   route's template, such as `/api/v1/users/{id}`; `unmatched` for a path no route serves, so a scan of
//!   random paths adds no series) and `status`;
//! - `onramp_search_duration_seconds`: the node's index answering a user search.
//!
//! What is read when scraped, one cheap query each (`onramp_store::GaugeStore`), rather than maintained, so
//! that every node reports the shared database's figures and none drifts:
//! - `onramp_search_index_users{tenant}`, users in this node's index;
//! - `onramp_search_view_cache_hits_total` and `onramp_search_view_cache_misses_total`: users on search pages
//!   whose serialized view came from the node's view cache, or had to be read from the database; and
//!   `onramp_search_view_cache_bytes`, what the cache holds;
//! - `onramp_search_feed_lag_users`: users rows in the change feed the index has not applied, and
//!   `onramp_search_feed_lag_seconds`: 0 when there are none, else the time since the start of the last
//!   catch-up that read the feed to its end (every write committed before it is applied);
//! - `onramp_outbox_messages` (undelivered) and `onramp_outbox_oldest_due_age_seconds` (since the oldest
//!   message that is due now was queued; 0 when none is due);
//! - `onramp_invitations{tenant,status}` as readers see them (a pending invitation past expiry is expired);
//! - `onramp_db_pool_connections`, `onramp_db_pool_idle_connections` and `onramp_db_pool_max_connections`
//!   by `pool`.
//!
//! No label holds an email, a user id or a secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use onramp_core::operations::Gauges;
use onramp_domain::Timestamp;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

/// The path served.
pub const PATH: &str = "/metrics";
/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";
/// Histogram buckets of every latency, in seconds.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// How often recorded latencies are folded into their histograms when nobody scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

const REQUESTS: &str = "onramp_http_requests_total";
const REQUEST_SECONDS: &str = "onramp_http_request_duration_seconds";
const SEARCH_SECONDS: &str = "onramp_search_duration_seconds";
const INDEX_USERS: &str = "onramp_search_index_users";
const VIEW_HITS: &str = "onramp_search_view_cache_hits_total";
const VIEW_MISSES: &str = "onramp_search_view_cache_misses_total";
const VIEW_BYTES: &str = "onramp_search_view_cache_bytes";
const LAG_USERS: &str = "onramp_search_feed_lag_users";
const LAG_SECONDS: &str = "onramp_search_feed_lag_seconds";
const OUTBOX: &str = "onramp_outbox_messages";
const OUTBOX_AGE: &str = "onramp_outbox_oldest_due_age_seconds";
const INVITATIONS: &str = "onramp_invitations";
const POOL_SIZE: &str = "onramp_db_pool_connections";
const POOL_IDLE: &str = "onramp_db_pool_idle_connections";
const POOL_MAX: &str = "onramp_db_pool_max_connections";

/// The node's recorder and the hash of the token that may read it.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    token_sha256: [u8; 32],
}

impl Metrics {
    /// Metrics readable with `token`.
    pub fn new(token: &str) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle, token_sha256: Sha256::digest(token.as_bytes()).into() };
        metrics.record(describe);
        metrics
    }

    /// Runs `record` with this node's recorder as the one the `metrics` macros write to.
    fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, record)
    }

    /// One search by the node's index took `elapsed`.
    pub fn observe_search(&self, elapsed: Duration) {
        self.record(|| metrics::histogram!(SEARCH_SECONDS).record(elapsed.as_secs_f64()));
    }

    /// Folds the latencies recorded since the last scrape into their histograms, so that they take no
    /// memory while nobody scrapes. The server calls it every [`UPKEEP_INTERVAL`].
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Whether `headers` carry the metrics token. Both sides are hashed first, so the comparison takes the
    /// same time whatever the guess.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
        else {
            return false;
        };
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        presented.iter().zip(self.token_sha256).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
    }
}

fn describe() {
    metrics::describe_counter!(REQUESTS, "HTTP requests answered, by method, route template and status.");
    metrics::describe_histogram!(REQUEST_SECONDS, "Time to answer HTTP requests, by method, route and status.");
    metrics::describe_histogram!(SEARCH_SECONDS, "Time the node's index took to answer user searches.");
    metrics::describe_gauge!(INDEX_USERS, "Users in this node's search index, by tenant.");
    metrics::describe_counter!(VIEW_HITS, "Users on search pages whose view came from the node's view cache.");
    metrics::describe_counter!(VIEW_MISSES, "Users on search pages whose view was read from the database.");
    metrics::describe_gauge!(VIEW_BYTES, "Bytes of serialized user views the node's view cache holds.");
    metrics::describe_gauge!(LAG_USERS, "Users rows in the change feed this node's search index has not applied.");
    metrics::describe_gauge!(
        LAG_SECONDS,
        "0 when the search index is caught up, else seconds since its last complete catch-up began."
    );
    metrics::describe_gauge!(OUTBOX, "Outbox messages not yet sent, cancelled or given up.");
    metrics::describe_gauge!(OUTBOX_AGE, "Seconds since the oldest outbox message due now was queued; 0 if none.");
    metrics::describe_gauge!(INVITATIONS, "Invitations by tenant and status (pending past expiry counts as expired).");
    metrics::describe_gauge!(POOL_SIZE, "Open database connections, by pool.");
    metrics::describe_gauge!(POOL_IDLE, "Idle database connections, by pool.");
    metrics::describe_gauge!(POOL_MAX, "The most database connections a pool opens.");
}

/// Middleware: counts and times every request by method, route template and status.
pub async fn record_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(metrics) = state.metrics.clone() else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED.to_string(), |path| path.as_str().into());
    let response = next.run(request).await;
    let labels = [("method", method.to_string()), ("route", route), ("status", response.status().as_str().to_string())];
    let elapsed = started.elapsed().as_secs_f64();
    metrics.record(|| {
        metrics::counter!(REQUESTS, &labels).increment(1);
        metrics::histogram!(REQUEST_SECONDS, &labels).record(elapsed);
    });
    response
}

/// The method as a label: the standard ones by name, any other as `OTHER`, so that made-up methods add no
/// series.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN.iter().find(|known| *known == method).map_or("OTHER", |known| known.as_str())
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(metrics) = state.metrics.clone() else {
        return Err(ApiError::new(Code::NotFound, format!("no route for {PATH}")));
    };
    if !metrics.admits(&headers) {
        let refused = ApiError::unauthenticated("GET /metrics needs the metrics token as a bearer token");
        return Err(refused.with_challenge("Bearer realm=\"metrics\""));
    }
    read_gauges(&state, &metrics).await?;
    let text = metrics.handle.render();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

/// Sets every gauge from the node's index and the database.
async fn read_gauges(state: &AppState, metrics: &Metrics) -> ApiResult<()> {
    let now = Timestamp::now();
    let Gauges { users_behind: behind, index_caught_up_at: caught_up_at, outbox, invitations, pools } =
        state.core.gauges(now).await?;
    let search = state.core.search()?;
    let tenant_sizes = search.tenant_sizes();
    let views = search.views().stats();
    let lag_seconds = match caught_up_at {
        _ if behind == 0 => 0.0,
        Some(began) => began.elapsed().as_secs_f64(),
        None => f64::INFINITY,
    };
    let oldest_due_age =
        outbox.oldest_due_created_at.map_or(0.0, |queued| (now.micros() - queued.micros()).max(0) as f64 / 1e6);
    metrics.record(|| {
        for (tenant, users) in tenant_sizes {
            metrics::gauge!(INDEX_USERS, "tenant" => tenant.to_string()).set(users as f64);
        }
        metrics::counter!(VIEW_HITS).absolute(views.hits);
        metrics::counter!(VIEW_MISSES).absolute(views.misses);
        metrics::gauge!(VIEW_BYTES).set(views.bytes as f64);
        metrics::gauge!(LAG_USERS).set(behind as f64);
        metrics::gauge!(LAG_SECONDS).set(lag_seconds);
        metrics::gauge!(OUTBOX).set(outbox.depth as f64);
        metrics::gauge!(OUTBOX_AGE).set(oldest_due_age);
        // Every status of every tenant with invitations is set, zeros included, so that a status whose
        // last invitation moved on reads 0 rather than its last count.
        let mut tenants: Vec<_> = invitations.iter().map(|count| count.tenant_id).collect();
        tenants.dedup();
        for tenant in tenants {
            for status in onramp_store::InvitationStatus::ALL {
                let count = invitations
                    .iter()
                    .find(|count| count.tenant_id == tenant && count.status == status)
                    .map_or(0, |count| count.count);
                let labels = [("tenant", tenant.to_string()), ("status", status.as_str().to_ascii_lowercase())];
                metrics::gauge!(INVITATIONS, &labels).set(count as f64);
            }
        }
        for pool in pools {
            metrics::gauge!(POOL_SIZE, "pool" => pool.name).set(f64::from(pool.size));
            metrics::gauge!(POOL_IDLE, "pool" => pool.name).set(f64::from(pool.idle));
            metrics::gauge!(POOL_MAX, "pool" => pool.name).set(f64::from(pool.max));
        }
    });
    Ok(())
}

/// Runs [`Metrics::upkeep`] every [`UPKEEP_INTERVAL`], for the server's lifetime.
pub async fn keep_up(metrics: Arc<Metrics>) {
    let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        interval.tick().await;
        metrics.upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_the_token_is_admitted() {
        let metrics = Metrics::new("0123456789abcdef0123456789abcdef");
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            metrics.admits(&headers)
        };
        assert!(with("Bearer 0123456789abcdef0123456789abcdef"));
        assert!(!with("Bearer 0123456789abcdef0123456789abcdee"));
        assert!(!with("Bearer "));
        assert!(!with("Basic 0123456789abcdef0123456789abcdef"));
        assert!(!metrics.admits(&HeaderMap::new()));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
