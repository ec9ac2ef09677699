//! The console's Overview at `/console`: how many users the tenant has in each status (`user:read`). The
//! rest of the overview (invitations and onboards by status, what needs someone) comes with those
//! pages.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::{Console, ConsoleLayout};
use crate::web::page::render;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console", get(overview))
}

/// One count on the overview.
pub struct Count {
    pub label: &'static str,
    pub value: i64,
    /// Where the counted things are listed, when that page exists.
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    console: ConsoleLayout,
    users: Option<Vec<Count>>,
    total_users: i64,
}

impl_console_page!(OverviewPage);

async fn overview(State(state): State<AppState>, console: Console) -> Response {
    let users = match state.core.user_counts(&console.principal).await {
        Ok(counts) => Some(counts.by_status),
        // An admin whose roles do not read users sees the overview without them.
        Err(error) if error.code == onramp_core::error::Code::PermissionDenied => None,
        Err(error) => return console.refusal(&error),
    };
    let total_users = users.iter().flatten().map(|(_, n)| n).sum();
    let users = users.map(|counts| {
        counts
            .into_iter()
            .map(|(status, value)| Count {
                label: match status {
                    onramp_domain::user::UserStatus::Enabled => "Enabled",
                    onramp_domain::user::UserStatus::Disabled => "Disabled",
                    _ => "Unknown status",
                },
                value,
                href: None,
            })
            .collect()
    });
    let page = OverviewPage { console: console.layout("Overview", "/console"), users, total_users };
    render(StatusCode::OK, &page)
}
