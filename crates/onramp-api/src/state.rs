//! The state shared by every handler.

use std::sync::Arc;

use onramp_store::Store;

use crate::client_addr::TrustedProxies;
use crate::keys::KeyManager;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::paging::PageTokens;
use crate::search::SearchIndex;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyManager>,
    /// onramp's public base URL (`http://127.0.0.1:8080`): the `iss` of its access tokens.
    pub issuer: Arc<str>,
    /// The host part of the public URL, without port: what client ids and assertion audiences name.
    pub public_host: Arc<str>,
    /// The origin of the public URL (`https://host[:port]`): the one origin requests that change something
    /// may come from (`same_origin`).
    pub public_origin: Arc<str>,
    pub page_tokens: PageTokens,
    pub search: Arc<SearchIndex>,
    /// Woken after a transaction that queued a message in the outbox, so that the delivery worker sends it
    /// now rather than at its next poll.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// The limits on failed guesses (and self-registrations) per client address and per client id.
    pub limits: Arc<Limits>,
    /// The proxies whose `X-Forwarded-For` names the client ([`crate::client_addr`]).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// The node's figures for `GET /metrics`; None when no metrics token is configured (nothing recorded,
    /// and `/metrics` is 404).
    pub metrics: Option<Arc<Metrics>>,
}
