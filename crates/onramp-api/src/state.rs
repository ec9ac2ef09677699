//! The state shared by every handler: the application core, and what only HTTP needs.

use std::sync::Arc;

use onramp_core::Core;

use crate::client_addr::TrustedProxies;
use crate::metrics::Metrics;
use crate::paging::PageTokens;

#[derive(Clone)]
pub struct AppState {
    /// Every use case, and the store for reads.
    pub core: Arc<Core>,
    /// The origin of the public URL (`https://host[:port]`): the one origin requests that change something
    /// may come from (`same_origin`).
    pub public_origin: Arc<str>,
    pub page_tokens: PageTokens,
    /// The proxies whose `X-Forwarded-For` names the client ([`crate::client_addr`]).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// The node's figures for `GET /metrics`; None when no metrics token is configured (nothing recorded,
    /// and `/metrics` is 404).
    pub metrics: Option<Arc<Metrics>>,
}
