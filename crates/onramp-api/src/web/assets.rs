//! onramp's own static files: the one stylesheet and the one script, compiled into the binary and served at
//! URLs that carry a hash of their content (`/assets/onramp-<hash>.css`), so they can be cached for a year
//! and a new build's files are new URLs; and each tenant's logo, from the database, named by its SHA-256
//! (`/assets/logo-<sha256>.png`). Nothing is fetched from anywhere else.

use crate::openapi::{ApiRouter, Content, Doc};
use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use onramp_core::branding::logo_path;
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

pub fn routes() -> ApiRouter {
    ApiRouter::new().get(
"/assets/{name}", asset, Doc::page("onramp.pages.Asset", "One of onramp's own files for its pages: the stylesheet, the script, a tenant's logo")
.describe("Named by the hash of its content (`onramp-<hash>.css`, `onramp-<hash>.js`, `logo-<hash>.<ext>`), so it is cached for a year; the pages name the current ones.")
.answer("200", "The file", Content::Files(&["text/css", "text/javascript", "image/png", "image/jpeg", "image/webp"])))
}

async fn asset(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let path = format!("/assets/{name}");
    if let Some(asset) = [&*STYLESHEET, &*SCRIPT].into_iter().find(|asset| asset.url == path) {
        return ([(header::CONTENT_TYPE, asset.content_type), (header::CACHE_CONTROL, IMMUTABLE)], asset.bytes)
            .into_response();
    }
    // A tenant's logo: `logo-<sha256>.<ext>`, the extension that of its type.
    if let Some((hash, _)) = name.strip_prefix("logo-").and_then(|rest| rest.split_once('.'))
        && hash.len() == 64
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        match state.core.logo(hash).await {
            Ok(logo) if logo_path(&logo) == path => {
                let content_type = logo.image_type.content_type();
                return ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, IMMUTABLE)], logo.bytes)
                    .into_response();
            }
            Ok(_) => {}
            Err(error) if error.code == Code::NotFound => {}
            Err(error) => return ApiError::from(error).into_response(),
        }
    }
    ApiError::new(Code::NotFound, "no such asset; pages name their assets by the hash of their content").into_response()
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
