//! Cross-site requests are refused: a request that may change something (any method but GET, HEAD and
//! OPTIONS) whose `Origin` is not onramp's public URL's origin is 403, on every route.
//!
//! This is what protects the HTML forms (`/invite/{token}`, `/onboarding/...`): their session cookie is
//! `SameSite=Strict`, but that alone leaves older browsers and same-site attackers, and the invitation form
//! needs no cookie at all. Browsers send `Origin` on every POST; onramp's pages use `Referrer-Policy:
//! same-origin` so that they send the real origin rather than `null`. Without `Origin`, a `Referer` must be
//! of the public origin. A request with neither header is let through: it does not come from a current
//! browser (non-browser clients, such as the SDKs and curl, send neither), and only a browser carries the
//! ambient credentials (cookies) that a forged request would abuse. The JSON API needs no exception: it is
//! not served to other origins (onramp sends no CORS headers), so no legitimate browser request to it comes
//! from elsewhere. The forms work only at the public URL, which is where the invitation email sends people.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Whether a request claiming to come from `origin` (its `Origin` header) or, without one, `referer` may
/// proceed, for a server whose public origin (`scheme://host[:port]`, as a browser writes it) is
/// `public_origin`.
pub fn check(public_origin: &str, origin: Option<&str>, referer: Option<&str>) -> Result<(), ApiError> {
    let Some(claimed) = origin.or(referer) else { return Ok(()) };
    // `Origin: null` (a no-referrer page, a sandboxed frame, a redirect across sites) does not parse.
    let same = url::Url::parse(claimed).is_ok_and(|url| url.origin().ascii_serialization() == public_origin);
    if same {
        Ok(())
    } else {
        let header = if origin.is_some() { "Origin" } else { "Referer" };
        Err(ApiError::permission_denied(format!(
            "cross-site request refused: its {header} is not {public_origin}, where onramp is served"
        )))
    }
}

/// Middleware applying [`check`] to every request that is not a read.
pub async fn refuse_cross_site(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    // A header that is not text is no origin of ours.
    let text = |name| headers.get(name).map(|value| value.to_str().unwrap_or("null"));
    if let Err(error) = check(&state.public_origin, text(header::ORIGIN), text(header::REFERER)) {
        tracing::info!(method = %request.method(), "cross-site request refused");
        return error.into_response();
    }
    next.run(request).await
}

/// The origin of onramp's public URL, as browsers write it in `Origin`; None when the URL is not an
/// absolute http or https URL.
pub fn origin_of(public_url: &str) -> Option<String> {
    let url = url::Url::parse(public_url).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONRAMP: &str = "https://onramp.acme.example";

    #[test]
    fn origins_are_compared_as_browsers_write_them() {
        assert_eq!(origin_of("https://Onramp.ACME.example:443/base/").as_deref(), Some(ONRAMP));
        assert_eq!(origin_of("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("onramp.acme.example"), None);
        assert_eq!(origin_of("ftp://onramp.acme.example"), None);
    }

    #[test]
    fn only_the_public_origin_passes() {
        assert!(check(ONRAMP, Some(ONRAMP), None).is_ok());
        assert!(check(ONRAMP, None, Some("https://onramp.acme.example/invite/x")).is_ok());
        assert!(check(ONRAMP, None, None).is_ok(), "not a browser");
        for (origin, referer) in [
            (Some("https://evil.example"), Some("https://onramp.acme.example/")),
            (Some("null"), None),
            (Some("http://onramp.acme.example"), None),
            (Some("https://onramp.acme.example:8443"), None),
            (Some("https://sub.onramp.acme.example"), None),
            (None, Some("https://evil.example/onramp.acme.example")),
            (None, Some("not a url")),
        ] {
            let error = check(ONRAMP, origin, referer).unwrap_err();
            assert!(error.message.starts_with("cross-site request refused"), "{origin:?} {referer:?}");
        }
    }
}
