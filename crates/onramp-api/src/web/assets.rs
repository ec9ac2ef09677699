//! onramp's own static files: the one stylesheet and the one script, compiled into the binary and served at
//! URLs that carry a hash of their content (`/assets/onramp-<hash>.css`), so they can be cached for a year
//! and a new build's files are new URLs. Nothing is fetched from anywhere else.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The cache lifetime of anything served at a content-hashed URL: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One compiled-in file and the URL it is served at.
pub struct Asset {
    pub url: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        Asset { url: format!("/assets/{stem}-{}.{extension}", short_hash(bytes)), content_type, bytes }
    }
}

/// The first 16 hex digits of the SHA-256 of `bytes`: the content hash in an asset's URL.
pub fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub static STYLESHEET: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("onramp", "css", "text/css; charset=utf-8", include_bytes!("../../assets/onramp.css")));

pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("onramp", "js", "text/javascript; charset=utf-8", include_bytes!("../../assets/onramp.js"))
});

pub fn routes() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    let path = format!("/assets/{name}");
    match [&*STYLESHEET, &*SCRIPT].into_iter().find(|asset| asset.url == path) {
        Some(asset) => ([(header::CONTENT_TYPE, asset.content_type), (header::CACHE_CONTROL, IMMUTABLE)], asset.bytes)
            .into_response(),
        None => ApiError::new(Code::NotFound, "no such asset; pages name their assets by the hash of their content")
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_hash_of_the_content() {
        assert_eq!(STYLESHEET.url, format!("/assets/onramp-{}.css", short_hash(STYLESHEET.bytes)));
        assert!(SCRIPT.url.starts_with("/assets/onramp-") && SCRIPT.url.ends_with(".js"));
        assert_eq!(short_hash(b"").len(), 16);
    }
}
