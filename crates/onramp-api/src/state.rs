//! The state shared by every handler.

use std::sync::Arc;

use onramp_store::Store;

use crate::keys::KeyManager;
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
    pub page_tokens: PageTokens,
    pub search: Arc<SearchIndex>,
}
