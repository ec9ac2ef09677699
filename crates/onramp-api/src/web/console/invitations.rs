//! The console's Invitations at `/console/invitations` (`Core::list_invitations`, the use case of `GET
//! /api/v1/onramp/invitations`): filtered by directory and status (GET `?directory=&status=`), each with its
//! sponsor, age in words and the delivery of its email, keyset-paged by `?after=<page token>`
//! ([`parts::Pages`]). A pending invitation
//! has Resend and Revoke buttons when the admin's roles allow `invitation:write`; each POSTs (with the
//! anti-forgery token) to the core's `resend_invitation` / `revoke_invitation`, the API's use cases, and
//! comes back to the list it was on (post/redirect/get).

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::invitations::InvitationListing;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::InvitationStatus;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::directories::Choice;
use crate::web::console::parts::{self, DeliveryWords, href};
use crate::web::console::{Console, ConsoleForm, ConsoleLayout};
use crate::web::form::FormErrors;
use crate::web::page::{render, see_other};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/invitations",
            list,
            Doc::page(
                "onramp.pages.ConsoleInvitations",
                "The console: invitations, filtered by directory and status, paged",
            )
            .query::<ListQuery>()
            .html()
            .redirect(),
        )
        .post(
            "/console/invitations/{id}/resend",
            resend,
            Doc::page(
                "onramp.pages.ConsoleResendInvitation",
                "The console: resend an invitation (form, anti-forgery token)",
            )
            .console_form::<ActionForm>()
            .html()
            .redirect(),
        )
        .post(
            "/console/invitations/{id}/revoke",
            revoke,
            Doc::page(
                "onramp.pages.ConsoleRevokeInvitation",
                "The console: revoke an invitation (form, anti-forgery token)",
            )
            .console_form::<ActionForm>()
            .html()
            .redirect(),
        )
}

/// Invitations on a page.
pub const PAGE: usize = 25;

pub struct Row {
    pub id: Id,
    pub email: String,
    pub name: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub directory: String,
    pub directory_id: Id,
    pub sponsor: String,
    pub age: String,
    pub expires: TimeInWords,
    pub pending: bool,
    pub delivery: Option<DeliveryWords>,
}

#[derive(Template)]
#[template(path = "console/invitations.html")]
struct InvitationsPage {
    console: ConsoleLayout,
    errors: FormErrors,
    notice: Option<&'static str>,
    directories: Vec<Choice>,
    statuses: Vec<Choice>,
    rows: Vec<Row>,
    may_write: bool,
    /// This page's own address (what a form comes back to).
    here: String,
    first: Option<String>,
    next: Option<String>,
}

impl_console_page!(InvitationsPage);

#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct ListQuery {
    directory: Option<String>,
    status: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

fn parse_status(raw: &str) -> Option<InvitationStatus> {
    InvitationStatus::ALL.into_iter().find(|status| parts::invitation_status_name(*status) == raw)
}

async fn list(State(state): State<AppState>, console: Console, Query(query): Query<ListQuery>) -> Response {
    let mut errors = FormErrors::none();
    let directory = parts::id_filter(&query.directory, "directory", "Directory", &mut errors);
    let status = match parts::given(&query.status) {
        None => None,
        Some(raw) => match parse_status(raw) {
            Some(status) => Some(status),
            None => {
                errors.add("status", "Status: must be pending, accepted, expired or revoked");
                None
            }
        },
    };
    let base = vec![
        ("directory", directory.map(|id| id.to_string()).unwrap_or_default()),
        ("status", status.map(|status| parts::invitation_status_name(status).to_string()).unwrap_or_default()),
    ];
    let pages = parts::Pages::read(&state, &console, "console.invitations", &base, &query.after, &mut errors);
    let filters = |token: &str| [base.clone(), vec![("after", token.to_string())]].concat();
    let now = Timestamp::now();
    let mut listed = if errors.is_empty() {
        match state
            .core
            .list_invitations(
                &console.principal,
                directory.as_ref(),
                status,
                now,
                pages.after.as_ref(),
                PAGE as u32 + 1,
            )
            .await
        {
            Ok(listed) => listed,
            Err(error) => return console.refusal(&error),
        }
    } else {
        Vec::new()
    };
    let next = pages.next(&mut listed, PAGE, |item| item.invitation.id);
    // The directories by name, for the filter and the rows, when the admin may read them.
    let known = if console.may(Permission::DirectoryRead) {
        match state.core.list_directories(&console.principal, None, 1000).await {
            Ok(known) => known,
            Err(error) => return console.refusal(&error),
        }
    } else {
        Vec::new()
    };
    let directory_name = |id: &Id| {
        known.iter().find(|d| d.app_id == *id).map_or_else(|| format!("directory {id}"), |d| d.display_name.clone())
    };
    let mut directories =
        vec![Choice { value: String::new(), label: "All directories".into(), selected: directory.is_none() }];
    directories.extend(known.iter().map(|d| Choice {
        value: d.app_id.to_string(),
        label: d.display_name.clone(),
        selected: directory == Some(d.app_id),
    }));
    if let Some(id) = directory.filter(|id| !known.iter().any(|d| d.app_id == *id)) {
        directories.push(Choice { value: id.to_string(), label: directory_name(&id), selected: true });
    }
    let mut statuses = vec![Choice { value: String::new(), label: "Any status".into(), selected: status.is_none() }];
    statuses.extend(InvitationStatus::ALL.iter().map(|s| Choice {
        value: parts::invitation_status_name(*s).into(),
        label: parts::invitation_status_label(*s).into(),
        selected: status == Some(*s),
    }));
    let rows = listed.iter().map(|item| row(item, now, &directory_name)).collect();
    let notice = match query.done.as_deref() {
        Some("resent") => Some("The invitation was sent again, with a new link; the old link no longer works."),
        Some("revoked") => Some("The invitation was revoked; its link no longer works."),
        _ => None,
    };
    let page = InvitationsPage {
        console: console.layout("Invitations", "/console/invitations"),
        notice,
        directories,
        statuses,
        rows,
        may_write: console.may(Permission::InvitationWrite),
        here: href("/console/invitations", &filters(&pages.token)),
        first: (!pages.is_first()).then(|| href("/console/invitations", &filters(""))),
        next: next.map(|token| href("/console/invitations", &filters(&token))),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(status, &page)
}

fn row(item: &InvitationListing, now: Timestamp, directory_name: &impl Fn(&Id) -> String) -> Row {
    let invitation = &item.invitation;
    Row {
        id: invitation.id,
        email: invitation.email.as_str().to_string(),
        name: invitation.display_name.clone(),
        status: parts::invitation_status_label(item.status),
        status_class: parts::invitation_status_name(item.status),
        directory: directory_name(&invitation.directory_app_id),
        directory_id: invitation.directory_app_id,
        sponsor: item
            .sponsor
            .as_ref()
            .map_or_else(|| "nobody (self-registered)".to_string(), |p| format!("{} ({})", p.display_name, p.email)),
        age: parts::age_in_words(item.age_seconds),
        expires: TimeInWords::new(invitation.expires_at, now),
        pending: item.status == InvitationStatus::Pending,
        delivery: item.delivery.as_ref().map(|delivery| parts::delivery_words(delivery, now)),
    }
}

/// A Resend or Revoke button's form: the invitation's directory, and the list to come back to.
#[derive(Deserialize, JsonSchema)]
struct ActionForm {
    directory: String,
    #[serde(default)]
    back: String,
}

/// Where a form comes back to: the list it was sent from (only a console invitations address), told what
/// happened.
fn back_to(back: &str, done: &str, id: &str) -> String {
    let base = if back.starts_with("/console/invitations") && !back.contains(['\r', '\n', '#']) {
        back
    } else {
        "/console/invitations"
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}done={done}#invitation-{id}")
}

async fn act(state: &AppState, form: ConsoleForm<ActionForm>, id: &str, resend: bool) -> Response {
    let ConsoleForm { console, form } = form;
    let (Ok(id), Ok(directory)) = (id.parse::<Id>(), form.directory.parse::<Id>()) else {
        let error = onramp_core::CoreError::not_found(format!("invitation {id}"));
        return console.refusal(&error);
    };
    let done = if resend {
        state.core.resend_invitation(&console.principal, &directory, &id).await
    } else {
        state.core.revoke_invitation(&console.principal, &directory, &id).await
    };
    match done {
        Ok(_) => see_other(&back_to(&form.back, if resend { "resent" } else { "revoked" }, &id.to_string())),
        Err(error) => console.refusal(&error),
    }
}

async fn resend(State(state): State<AppState>, Path(id): Path<String>, form: ConsoleForm<ActionForm>) -> Response {
    act(&state, form, &id, true).await
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>, form: ConsoleForm<ActionForm>) -> Response {
    act(&state, form, &id, false).await
}
