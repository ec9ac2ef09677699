//! The browser's side of sessions and anti-forgery: which cookies, with which attributes, and the check of
//! every form POST. The sessions themselves (tokens, limits, rotation) are the core's (`account.rs`).
//!
//! Cookies, both `HttpOnly`, `SameSite=Lax`, `Path=/`; on an https public URL also `Secure` and named with
//! the `__Host-` prefix (so no subdomain or plain-http page can set them):
//! - the session cookie holds the session's token (256 random bits); the database keeps its hash.
//! - the anti-forgery cookie holds 256 random bits for forms shown before there is a session (sign-in,
//!   forgot password, the invitation): set by the page that shows such a form.
//!
//! Every form carries a hidden `csrf` field: the HMAC, under the deployment secret, of the session token
//! when the browser has a session cookie, else of the anti-forgery cookie. A POST is refused (403) unless
//! its `csrf` is that of the cookies it came with. Another site can make a browser send the cookies but
//! cannot read them or the page, so it cannot know the value. This is beside `same_origin`, which refuses
//! any cross-site POST by its `Origin`.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onramp_core::account::SESSION_LIFETIME;

use crate::state::AppState;

/// The form field that carries the anti-forgery token.
pub const CSRF_FIELD: &str = "csrf";

const SESSION: &str = "onramp_session";
const ANTI_FORGERY: &str = "onramp_csrf";

/// Whether the deployment is on https (cookies `Secure`, names `__Host-`).
fn secure(state: &AppState) -> bool {
    state.core.public_url().starts_with("https://")
}

fn cookie_name(state: &AppState, base: &str) -> String {
    if secure(state) { format!("__Host-{base}") } else { base.to_string() }
}

/// The value of the cookie `name` in a request, if it has one.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The session token a request carries, if any (live or not: the core decides).
pub fn session_token<'h>(state: &AppState, headers: &'h HeaderMap) -> Option<&'h str> {
    cookie(headers, &cookie_name(state, SESSION))
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let text =
        format!("{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}", cookie_name(state, name));
    HeaderValue::from_str(&text).expect("a cookie of base64url and ASCII is a valid header")
}

/// The `Set-Cookie` of a new session's token.
pub fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    set_cookie(state, SESSION, token, SESSION_LIFETIME.as_secs())
}

/// The `Set-Cookie` that removes the session cookie (signing out).
pub fn clear_session_cookie(state: &AppState) -> HeaderValue {
    set_cookie(state, SESSION, "", 0)
}

/// The anti-forgery token of a page's forms, and the `Set-Cookie` of a new anti-forgery cookie when the
/// browser has neither a session nor such a cookie yet.
pub fn form_token(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(binding) = binding(state, headers) {
        return (tag(state, &binding), None);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let value = URL_SAFE_NO_PAD.encode(bytes);
    let cookie = set_cookie(state, ANTI_FORGERY, &value, 24 * 60 * 60);
    (tag(state, &format!("pre:{value}")), Some(cookie))
}

/// The anti-forgery token after a sign-in: bound to the new session's token.
pub fn form_token_for_session(state: &AppState, session_token: &str) -> String {
    tag(state, &format!("session:{session_token}"))
}

/// What a request's forms are bound to: its session cookie, else its anti-forgery cookie.
fn binding(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(token) = session_token(state, headers) {
        return Some(format!("session:{token}"));
    }
    cookie(headers, &cookie_name(state, ANTI_FORGERY)).map(|value| format!("pre:{value}"))
}

fn tag(state: &AppState, binding: &str) -> String {
    state.page_tokens.tag("web.csrf", binding.as_bytes())
}

/// Whether a form's `csrf` value is the one its cookies call for (compared in constant time).
pub fn form_is_genuine(state: &AppState, headers: &HeaderMap, submitted: Option<&str>) -> bool {
    let (Some(binding), Some(submitted)) = (binding(state, headers), submitted) else { return false };
    let expected = tag(state, &binding);
    expected.len() == submitted.len()
        && expected.bytes().zip(submitted.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// A `next` parameter if it is a path on this site (`/account`), never another site (`//evil`, `/\evil`,
/// `https://...`); else None.
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && next.chars().all(|c| !c.is_control() && c != '\\');
    local.then(|| next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/onboarding/abc")).as_deref(), Some("/onboarding/abc"));
        assert_eq!(local_path(Some("/account?x=1")).as_deref(), Some("/account?x=1"));
        for foreign in ["//evil.example", "/\\evil.example", "https://evil.example/", "account", "/a\nb", ""] {
            assert_eq!(local_path(Some(foreign)), None, "{foreign:?}");
        }
        assert_eq!(local_path(None), None);
    }
}
