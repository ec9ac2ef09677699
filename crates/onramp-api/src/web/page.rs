//! Rendering a page: the layout's model ([`Layout`]: title, the tenant's name, logo and accent, the asset
//! URLs), the response headers every page carries, and [`render`], the one way a page becomes a response.
//!
//! Every page template extends `layout.html` and has a `layout: Layout` field ([`Page`]). The accent
//! colour is the one piece of style that varies by tenant; it goes in a small `<style>` element whose
//! SHA-256 the `Content-Security-Policy` names, so neither scripts nor styles need `unsafe-inline`.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onramp_core::branding::Branding;
use sha2::{Digest, Sha256};

use crate::web::assets::{SCRIPT, STYLESHEET};

/// onramp's accent when a tenant has not chosen one, with the text colour that reads on it (7.1:1).
pub const DEFAULT_ACCENT: (&str, &str) = ("#1a56b8", "#ffffff");

/// What the layout shows around every page.
pub struct Layout {
    /// The page's own title (the `<title>` adds the tenant's name).
    pub title: String,
    /// The organisation's name, in the header and the title.
    pub brand_name: String,
    /// The logo's URL on onramp (content-hashed), if the tenant has one.
    pub logo_url: Option<String>,
    /// The `<style>` content that sets the accent.
    pub accent_style: String,
    pub stylesheet_url: &'static str,
    pub script_url: &'static str,
}

impl Layout {
    pub fn new(title: impl Into<String>, branding: &Branding) -> Layout {
        let (accent, accent_text) = match &branding.accent {
            Some(accent) => (accent.color.as_str(), accent.text),
            None => DEFAULT_ACCENT,
        };
        Layout {
            title: title.into(),
            brand_name: branding.name.clone(),
            logo_url: branding.logo_path.clone(),
            accent_style: format!(":root{{--accent:{accent};--accent-text:{accent_text}}}"),
            stylesheet_url: &STYLESHEET.url,
            script_url: &SCRIPT.url,
        }
    }

    /// The page's `Content-Security-Policy`: only onramp's own script, stylesheet and images, the accent's
    /// `<style>` by its hash, the script fetching only from onramp (the console's live search), forms
    /// posting only to onramp, never framed.
    pub fn content_security_policy(&self) -> String {
        let hash = STANDARD.encode(Sha256::digest(self.accent_style.as_bytes()));
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-{hash}'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    }
}

/// A page template: it extends `layout.html` and holds the layout's model.
pub trait Page: Template {
    fn layout(&self) -> &Layout;
}

/// The response of a page: its HTML and the headers every page carries. Pages are personal (an invitee's
/// form, their onboarding), so none is stored by a cache; `Referrer-Policy: same-origin` keeps a secret in
/// the URL (an invitation link) from reaching any other site while the page's own form posts still carry
/// their origin (which `same_origin` checks; under `no-referrer` browsers send `Origin: null`).
pub fn render(status: StatusCode, page: &impl Page) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(error) => {
            return crate::error::ApiError::internal(format_args!("a page template failed to render: {error}"))
                .into_response();
        }
    };
    let csp = HeaderValue::from_str(&page.layout().content_security_policy())
        .expect("a policy of ASCII and base64 is a valid header");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        (header::CONTENT_SECURITY_POLICY, csp),
    ];
    (status, headers, html).into_response()
}

/// A redirect after a successful POST (post/redirect/get), so that a reload repeats nothing.
pub fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string()), (header::CACHE_CONTROL, "no-store".into())])
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_accent_style_by_its_hash_and_allows_no_inline_script() {
        let layout = Layout::new("T", &Branding { name: "Acme".into(), ..Branding::onramp() });
        let policy = layout.content_security_policy();
        let hash = STANDARD.encode(Sha256::digest(layout.accent_style.as_bytes()));
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
    }
}
