//! The admin console at `/console` (issue #14): pages for the people who run the directory, each action
//! the same use case of the core, with the same permission check, as the API.
//!
//! **Who gets in.** An admin signs in at `/signin` as anyone does (password, then the second factor when
//! they enrolled one), with `next` leading back here; the console has no sessions of its own. On every
//! request [`Console`] (the extractor every page takes) opens the session (`Core::session`: idle and
//! absolute limits) and asks the core for the console's principal (`Core::console_access`): the session's
//! user with their roles read now, the session's id as the credential. Not signed in: to
//! `/signin?next=<here>`. No admin role: a 403 page. The tenant requires a second factor and the admin has
//! none: a page whose one button starts the setup at `/account/two-step`, and nothing else.
//!
//! **Forms.** A POST handler takes [`ConsoleForm<T>`]: it checks the anti-forgery token (`csrf`, from
//! [`Console::csrf`]) before anything else (403 otherwise), then opens the console as a GET does and
//! parses `T` from the form. `same_origin` has already refused a cross-site POST. The handler calls the
//! core's use case with [`Console::principal`]; the core decides. A refusal becomes [`Console::refusal`]
//! (403 for a read-only admin's write, with the core's words), a success a redirect (post/redirect/get).
//!
//! **Write controls.** A page shows a form only when [`Console::may`] says the admin's roles allow the
//! permission its use case checks, so a read-only admin sees none; the check that counts is still the core's.
//!
//! ## How to add a page
//! 1. Write `console/<page>.rs`: `pub fn routes() -> ApiRouter` registering the page's paths under
//!    `/console/` with their documentation (`.get(path, handler, Doc::page(id, summary).query::<Q>().html()
//!    .redirect())`, `.post(path, handler, Doc::page(..).console_form::<T>().redirect().html())`, the
//!    query and form structs deriving `JsonSchema`; see `crate::openapi`); GET handlers take [`Console`],
//!    POST handlers [`ConsoleForm<T>`]; each calls the core with
//!    `console.principal` and renders with `page::render(status, &YourPage { console: console.layout(
//!    "Title", "/console/<page>"), .. })`.
//! 2. Write `templates/console/<page>.html`: `{% extends "console/base.html" %}`, the content in
//!    `{% block console %}`; the struct has a `console: ConsoleLayout` field and `impl_console_page!(YourPage);`.
//!    Every form carries `<input type="hidden" name="csrf" value="{{ console.csrf }}">`.
//! 3. Add `.merge(<page>::routes())` to [`routes`] and the page's entry to [`NAV`] (its label, path and the
//!    permission that shows it in the navigation).
//! 4. Test it over HTTP in `crates/onramp/tests/it/console.rs` (both backends) and in the browser in
//!    `web-tests/journeys/console*.test.mjs` (axe, screenshots at 1280 and 390 px).

pub mod access;
pub mod apps;
pub mod audit;
pub mod directories;
pub mod flows;
pub mod invitations;
pub mod invite;
pub mod onboards;
pub mod overview;
pub mod parts;
pub mod settings;
pub mod user;
pub mod users;
pub mod webhooks;

use crate::openapi::ApiRouter;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use onramp_core::Principal;
use onramp_core::branding::Branding;
use onramp_core::console::ConsoleAccess;
use onramp_core::error::CoreError;
use onramp_domain::Permission;
use onramp_domain::user::User;
use serde::de::DeserializeOwned;

use crate::error::status_of;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::web::account::{CsrfOnly, LinkMessagePage, forged, signed_in, to_sign_in};
use crate::web::form::FormErrors;
use crate::web::page::{Layout, render};
use crate::web::{branding, sentence, session};

/// Every route of the console.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .merge(overview::routes())
        .merge(users::routes())
        .merge(user::routes())
        .merge(invite::routes())
        .merge(apps::routes())
        .merge(directories::routes())
        .merge(settings::routes())
        .merge(access::routes())
        .merge(invitations::routes())
        .merge(onboards::routes())
        .merge(flows::routes())
        .merge(audit::routes())
        .merge(webhooks::routes())
}

/// Whether a refusal of the core belongs on the form (a bad value, a conflict, a wrong state): the form
/// comes back with it; anything else (not allowed, not found) is [`Console::refusal`]'s page.
pub fn on_the_form(error: &CoreError) -> bool {
    use onramp_core::error::Code;
    matches!(error.code, Code::InvalidArgument | Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted)
}

/// Whether the core refused a role the admin may not grant (or take away), given in the input `field`
/// (`roleIds`, `initialRoleIds`): `Principal::require_grantable` and the rule of user changes name the
/// field first. That refusal is the roles field's error on its form, not a page: the admin's other roles
/// still let them use the form.
pub fn grant_refusal(error: &CoreError, field: &str) -> bool {
    error.code == onramp_core::error::Code::PermissionDenied
        && error.message.starts_with(&format!("permission denied: {field} "))
}

/// The errors of a console form refused by the core, as [`FormErrors::from_core`] makes them; a field
/// named with an index or a path (`selfRegistrationDomains[2]`, `steps[1].text`) is also looked up by its
/// name alone when the form has no field of the whole name.
pub fn form_errors(error: &CoreError, fields: &[(&str, &str, &str)], fallback: &str) -> FormErrors {
    let mut named = CoreError::new(error.code, error.message.clone());
    named.details = error.details.clone();
    for detail in &mut named.details {
        let Some(field) = detail.pointer_mut("/fieldViolations/0/field") else { continue };
        let Some(name) = field.as_str().map(str::to_string) else { continue };
        if !fields.iter().any(|(known, ..)| *known == name) {
            let base = name.split(['[', '.']).next().unwrap_or(&name).to_string();
            *field = serde_json::Value::String(base);
        }
    }
    FormErrors::from_core(&named, fields, fallback)
}

/// The query of a page a form's action redirects to: `?done=<what was done>`, which the page says in words.
#[derive(serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct Done {
    pub done: Option<String>,
}

/// The form of an action whose only field is the anti-forgery token (a delete, a sign-out, a reset email).
#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct NoFields {}

/// One page in the console's navigation.
pub struct NavEntry {
    pub label: &'static str,
    pub path: &'static str,
    /// The permission that shows the entry (None: every admin).
    pub permission: Option<Permission>,
}

/// The console's pages, in the navigation's order: the (Overview, Users, Invite, Invitations,
/// Onboards, Flows, Apps, Directories, Audit log, Settings, Access).
pub const NAV: &[NavEntry] = &[
    NavEntry { label: "Overview", path: "/console", permission: None },
    NavEntry { label: "Users", path: "/console/users", permission: Some(Permission::UserRead) },
    NavEntry { label: "Invite", path: "/console/invite", permission: Some(Permission::InvitationRead) },
    NavEntry { label: "Invitations", path: "/console/invitations", permission: Some(Permission::InvitationRead) },
    NavEntry { label: "Onboards", path: "/console/onboards", permission: Some(Permission::OnboardingRead) },
    NavEntry { label: "Flows", path: "/console/flows", permission: Some(Permission::OnboardingRead) },
    NavEntry { label: "Apps", path: "/console/apps", permission: Some(Permission::AppRead) },
    NavEntry { label: "Directories", path: "/console/directories", permission: Some(Permission::DirectoryRead) },
    NavEntry { label: "Audit log", path: "/console/audit", permission: Some(Permission::AuditRead) },
    NavEntry { label: "Settings", path: "/console/settings", permission: Some(Permission::SettingsRead) },
    NavEntry { label: "Webhooks", path: "/console/webhooks", permission: Some(Permission::SettingsRead) },
    NavEntry { label: "Access", path: "/console/access", permission: Some(Permission::CredentialManage) },
];

/// A signed-in admin on a console page: the principal every use case is called with, the anti-forgery
/// token of the page's forms, and what the layout shows.
pub struct Console {
    pub principal: Principal,
    /// The admin, as read on this request.
    pub user: User,
    pub csrf: String,
    pub branding: Branding,
}

/// What `console/base.html` shows around every console page.
pub struct ConsoleLayout {
    pub base: Layout,
    pub nav: Vec<NavLink>,
    pub admin_name: String,
    pub admin_email: String,
    /// The roles of the admin, by their display names.
    pub roles: String,
    pub csrf: String,
}

pub struct NavLink {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// Implements [`Page`] for a console page struct with a `console: ConsoleLayout` field.
#[macro_export]
macro_rules! impl_console_page {
    ($page:ty) => {
        impl $crate::web::page::Page for $page {
            fn layout(&self) -> &$crate::web::page::Layout {
                &self.console.base
            }
        }
    };
}

impl Console {
    /// Whether the admin's roles allow `permission`: whether the page offers the controls of a use case
    /// that checks it.
    pub fn may(&self, permission: Permission) -> bool {
        self.principal.require(permission).is_ok()
    }

    /// The layout of a page titled `title` at `path` (the navigation marks it current).
    pub fn layout(&self, title: impl Into<String>, path: &str) -> ConsoleLayout {
        let nav = NAV
            .iter()
            .filter(|entry| entry.permission.is_none_or(|permission| self.may(permission)))
            .map(|entry| NavLink { label: entry.label, href: entry.path, current: entry.path == path })
            .collect();
        let roles: Vec<&str> = self.principal.roles.iter().map(|role| role.display_name()).collect();
        ConsoleLayout {
            base: Layout::new(title, &self.branding),
            nav,
            admin_name: self.user.display_name.clone(),
            admin_email: self.user.email_str().to_string(),
            roles: roles.join(", "),
            csrf: self.csrf.clone(),
        }
    }

    /// The page for a refusal of the core (a read-only admin's write is 403, a missing user 404, a
    /// concurrent change 409), in the console's layout, with the core's words.
    pub fn refusal(&self, error: &CoreError) -> Response {
        let title = match status_of(error.code).as_u16() {
            403 => "Not allowed",
            404 => "Not found",
            409 => "Changed meanwhile",
            400 => "This cannot be done",
            _ => "Something went wrong",
        };
        let page = ConsoleMessage {
            console: self.layout(title, ""),
            kind: "error",
            text: sentence(&error.message),
            back: None,
        };
        crate::web::with_retry_after(render(status_of(error.code), &page), error)
    }
}

/// A console page that only says something, with an optional link back.
#[derive(Template)]
#[template(path = "console/message.html")]
pub struct ConsoleMessage {
    pub console: ConsoleLayout,
    pub kind: &'static str,
    pub text: String,
    pub back: Option<(String, String)>,
}

impl_console_page!(ConsoleMessage);

/// What an admin sees of the console while the tenant requires a second factor they have not set up: the
/// way to set it up (`/account/two-step`), and nothing else.
#[derive(Template)]
#[template(path = "console/two_step_required.html")]
struct TwoStepRequired {
    layout: Layout,
    text: String,
    csrf: String,
}

impl crate::web::page::Page for TwoStepRequired {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A GET comes back to itself after signing in; a POST (whose form is gone) to the console's start.
        let here = match (&parts.method, parts.uri.path_and_query()) {
            (&Method::GET, Some(path)) => path.as_str().to_string(),
            _ => "/console".to_string(),
        };
        let session = signed_in(state, &parts.headers, &here).await?;
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
        let branding = branding(state, Some(&session.user().tenant_id)).await;
        match state.core.console_access(&session, request_id).await {
            Ok(ConsoleAccess::Open(principal)) => {
                let (csrf, _) = session::form_token(state, &parts.headers);
                Ok(Console { principal, user: session.user().clone(), csrf, branding })
            }
            Ok(ConsoleAccess::NeedsSecondFactor) => {
                let (csrf, _) = session::form_token(state, &parts.headers);
                let page = TwoStepRequired {
                    text: format!(
                        "{} asks everyone who uses the console to sign in in two steps: your password, then a \
                         code from an authenticator app on your phone.",
                        branding.name
                    ),
                    layout: Layout::new("Set up two-step sign-in first", &branding),
                    csrf,
                };
                Err(render(StatusCode::FORBIDDEN, &page))
            }
            Err(error) if status_of(error.code) == StatusCode::FORBIDDEN => Err(render(
                StatusCode::FORBIDDEN,
                &LinkMessagePage {
                    layout: Layout::new("The console is for administrators", &branding),
                    kind: "error",
                    text: sentence(&error.message),
                    next: "If you need it, ask an administrator to give you an administrator role.".into(),
                    link: "/account".into(),
                    link_text: "Go to your account".into(),
                },
            )),
            Err(error) => Err(crate::web::refusal_page(&error, &branding, "page")),
        }
    }
}

/// A console form's POST: the anti-forgery token checked first, then the console opened, then the form
/// parsed as `T` (a form that does not parse is 400).
pub struct ConsoleForm<T> {
    pub console: Console,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(axum::response::IntoResponse::into_response)?;
        let token: CsrfOnly = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfOnly { csrf: None });
        if !session::form_is_genuine(state, &parts.headers, token.csrf.as_deref()) {
            return Err(forged(state).await);
        }
        let console = match Console::from_request_parts(&mut parts, state).await {
            Ok(console) => console,
            // The session ended while the form was open: sign in again, then start at the console.
            Err(response) if response.status() == StatusCode::SEE_OTHER => return Err(to_sign_in("/console")),
            Err(response) => return Err(response),
        };
        match serde_urlencoded::from_bytes::<T>(&bytes) {
            Ok(form) => Ok(ConsoleForm { console, form }),
            Err(error) => {
                let refusal = CoreError::new(
                    onramp_core::error::Code::InvalidArgument,
                    format!("the form could not be read: {error}"),
                );
                Err(console.refusal(&refusal))
            }
        }
    }
}

/// One part of a `multipart/form-data` console form: a field's text, or a file's bytes and name.
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// A console form posted as `multipart/form-data` (a file upload): read whole (the body limit holds),
/// then the anti-forgery token checked first, then the console opened, as [`ConsoleForm`] does.
pub struct ConsoleMultipart {
    pub console: Console,
    pub parts: Vec<Part>,
}

impl ConsoleMultipart {
    /// The text of the field `name` (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.parts
            .iter()
            .find(|part| part.name == name && part.file_name.is_none())
            .map(|part| String::from_utf8_lossy(&part.bytes).into_owned())
            .unwrap_or_default()
    }

    /// The file of the field `name`, when one was chosen.
    pub fn file(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|part| part.name == name && part.file_name.as_deref().is_some_and(|f| !f.is_empty()))
    }
}

impl FromRequest<AppState> for ConsoleMultipart {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let unreadable = |error: String| {
            render(
                StatusCode::BAD_REQUEST,
                &crate::web::MessagePage {
                    layout: Layout::new("The form could not be read", &Branding::onramp()),
                    kind: "error",
                    text: sentence(&error),
                    next: "Go back and send it again.".into(),
                },
            )
        };
        let mut multipart =
            match axum::extract::Multipart::from_request(Request::from_parts(parts.clone(), body), state).await {
                Ok(multipart) => multipart,
                Err(error) => return Err(unreadable(error.body_text())),
            };
        let mut read = Vec::new();
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_string();
                    let file_name = field.file_name().map(str::to_string);
                    let content_type = field.content_type().map(str::to_string);
                    match field.bytes().await {
                        Ok(bytes) => read.push(Part { name, file_name, content_type, bytes }),
                        Err(error) => return Err(unreadable(error.body_text())),
                    }
                }
                Ok(None) => break,
                Err(error) => return Err(unreadable(error.body_text())),
            }
        }
        let csrf =
            read.iter().find(|part| part.name == "csrf").map(|part| String::from_utf8_lossy(&part.bytes).into_owned());
        if !session::form_is_genuine(state, &parts.headers, csrf.as_deref()) {
            return Err(forged(state).await);
        }
        match Console::from_request_parts(&mut parts, state).await {
            Ok(console) => Ok(ConsoleMultipart { console, parts: read }),
            Err(response) if response.status() == StatusCode::SEE_OTHER => Err(to_sign_in("/console")),
            Err(response) => Err(response),
        }
    }
}
