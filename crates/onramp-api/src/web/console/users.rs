//! The console's user list at `/console/users`: the API's user search (`Core::console_user_rows`, over
//! the node's index: the same ranking and typo tolerance) with filters for status, department, job title
//! and role, in keyset pages (a MACed token of the last row's rank and id, as the API's page tokens).
//! The form is a GET form, so it works without JavaScript; onramp's script (`assets/onramp.js`) fetches
//! the same page as the admin types and puts its results in place.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::error::CoreError;
use onramp_domain::BuiltinRole;
use onramp_domain::user::{User, UserStatus};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::impl_console_page;
use crate::paging::fingerprint;
use crate::routes::search::{decode_cursor, encode_cursor};
use crate::state::AppState;
use crate::web::console::{Console, ConsoleLayout};
use crate::web::page::render;

/// Users per page.
pub const PAGE_SIZE: usize = 25;

pub fn routes() -> ApiRouter {
    ApiRouter::new().get(
        "/console/users",
        users_page,
        Doc::page(
            "onramp.pages.ConsoleUsers",
            "The console: users, searched as the API searches them, filtered, in keyset pages",
        )
        .query::<ListQuery>()
        .html()
        .redirect(),
    )
}

/// The list's query parameters, as the form names them.
#[derive(Deserialize, Default, Clone, JsonSchema)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    /// `active` (enabled and disabled: the default), `enabled`, `disabled` or `deleted`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub title: String,
    /// A role's name (`admin`), or empty.
    #[serde(default)]
    pub role: String,
    /// The page token of where this page starts.
    #[serde(default)]
    pub after: String,
    /// A notice (`deleted`).
    #[serde(default)]
    pub done: String,
}

impl ListQuery {
    /// The search it asks for; an unknown status or role is refused naming the field.
    pub fn to_search(&self) -> Result<onramp_search::Query, CoreError> {
        let statuses = match self.status.as_str() {
            "" | "active" => vec![UserStatus::Enabled, UserStatus::Disabled],
            "enabled" => vec![UserStatus::Enabled],
            "disabled" => vec![UserStatus::Disabled],
            "deleted" => vec![UserStatus::Deleted],
            _ => return Err(CoreError::invalid_field("status", "must be active, enabled, disabled or deleted")),
        };
        let role_ids = match self.role.as_str() {
            "" => Vec::new(),
            name => vec![
                BuiltinRole::from_name(name).ok_or_else(|| CoreError::invalid_field("role", "is not a role"))?.id(),
            ],
        };
        let one = |value: &str| if value.trim().is_empty() { Vec::new() } else { vec![value.trim().to_string()] };
        let text = self.q.trim();
        Ok(onramp_search::Query {
            text: (!text.is_empty()).then(|| text.to_string()),
            statuses,
            role_ids,
            departments: one(&self.department),
            job_titles: one(&self.title),
            ..Default::default()
        })
    }

    /// The list's URL with these filters, starting after `after` (None: the first page).
    fn url(&self, after: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in
            [("q", &self.q), ("status", &self.status), ("department", &self.department), ("title", &self.title)]
        {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        if !self.role.is_empty() {
            query.append_pair("role", &self.role);
        }
        if let Some(after) = after {
            query.append_pair("after", after);
        }
        format!("/console/users?{}", query.finish())
    }
}

/// One user in the list.
pub struct Row {
    pub href: String,
    pub name: String,
    pub email: String,
    pub status: &'static str,
    pub status_badge: &'static str,
    pub details: String,
}

/// A status in words and the badge that shows it.
pub fn status_words(status: UserStatus) -> (&'static str, &'static str) {
    match status {
        UserStatus::Enabled => ("Enabled", "done"),
        UserStatus::Disabled => ("Disabled", "waiting"),
        UserStatus::Deleted => ("Deleted", "failed"),
        UserStatus::Unknown => ("Unknown", "todo"),
    }
}

/// A user's roles by their display names.
pub fn role_names(user: &User) -> String {
    let names: Vec<&str> = user.role_ids.iter().filter_map(BuiltinRole::from_id).map(|r| r.display_name()).collect();
    names.join(", ")
}

fn row(user: &User) -> Row {
    let (status, status_badge) = status_words(user.status);
    let details: Vec<String> = [user.job_title.clone(), user.department.clone(), role_names(user)]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    Row {
        href: format!("/console/users/{}", user.id),
        name: user.display_name.clone(),
        email: user.email_str().to_string(),
        status,
        status_badge,
        details: details.join(" · "),
    }
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    console: ConsoleLayout,
    query: ListQuery,
    roles: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    notice: Option<&'static str>,
    rows: Vec<Row>,
    next: Option<String>,
    first_page: Option<String>,
}

impl_console_page!(UsersPage);

async fn users_page(State(state): State<AppState>, console: Console, Query(query): Query<ListQuery>) -> Response {
    let (rows, next, error, status) = match list(&state, &console, &query).await {
        Ok((rows, next)) => (rows, next, None, StatusCode::OK),
        Err(error) if error.code == onramp_core::error::Code::InvalidArgument => {
            (Vec::new(), None, Some(crate::web::sentence(&error.message)), StatusCode::BAD_REQUEST)
        }
        Err(error) => return console.refusal(&error),
    };
    let notice = match query.done.as_str() {
        "deleted" => Some("The user is deleted."),
        _ => None,
    };
    let first_page = (!query.after.is_empty()).then(|| query.url(None));
    let page = UsersPage {
        console: console.layout("Users", "/console/users"),
        roles: BuiltinRole::ALL.iter().map(|role| (role.name(), role.display_name())).collect(),
        error,
        notice,
        rows,
        next,
        first_page,
        query,
    };
    render(status, &page)
}

/// The rows of the page `query` asks for, and the URL of the next page.
async fn list(state: &AppState, console: &Console, query: &ListQuery) -> Result<(Vec<Row>, Option<String>), CoreError> {
    let search = query.to_search()?;
    // The token continues only the query that made it: the fingerprint covers every filter as parsed.
    let print = fingerprint(&["console.users", &console.principal.tenant_id.to_string(), &format!("{search:?}")]);
    let refused = || CoreError::invalid_field("after", "is not a page of this search; start again from the first page");
    let after = match state.page_tokens.decode(Some(&query.after), &print) {
        Ok(Some(key)) => Some(decode_cursor(&key).ok_or_else(refused)?),
        Ok(None) => None,
        Err(_) => return Err(refused()),
    };
    let found = state.core.console_user_rows(&console.principal, &search, after, PAGE_SIZE).await?;
    let next = found.next.map(|cursor| query.url(Some(&state.page_tokens.encode(&print, &encode_cursor(&cursor)))));
    Ok((found.users.iter().map(row).collect(), next))
}
