//! The console's Audit log at `/console/audit` (`Core::list_audit_events`, the use case of `GET
//! /api/v1/audit-events`): filtered by actor (a user id), action, object (type and id) and time (`since`,
//! `until`: a date, or an RFC 3339 time), newest first (`?order=oldest`: as the log is kept), keyset-paged
//! by `?after=<page token>` ([`parts::Pages`]).
//! Each event links to its object's console page when there is one (a user, an onboard, an invitation), and
//! its actor to the events of that actor. A bad filter is that field's error, never a 500.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Id, Timestamp};
use onramp_store::{AuditEvent, AuditFilter, AuditOrder};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::directories::Choice;
use crate::web::console::parts::{self, href};
use crate::web::console::{Console, ConsoleLayout};
use crate::web::form::{Field, FormErrors};
use crate::web::page::render;

pub fn routes() -> ApiRouter {
    ApiRouter::new().get(
        "/console/audit",
        audit,
        Doc::page(
            "onramp.pages.ConsoleAudit",
            "The console: the audit log, filtered by actor, action, object and time, paged",
        )
        .query::<AuditQuery>()
        .html()
        .redirect(),
    )
}

/// Events on a page.
pub const PAGE: usize = 50;

pub struct Row {
    pub id: Id,
    pub action: String,
    pub object: String,
    pub object_href: Option<String>,
    pub actor: String,
    pub actor_href: Option<String>,
    pub when: TimeInWords,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    console: ConsoleLayout,
    errors: FormErrors,
    fields: Vec<Field>,
    orders: Vec<Choice>,
    rows: Vec<Row>,
    first: Option<String>,
    next: Option<String>,
}

impl_console_page!(AuditPage);

#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// `oldest` for the log's own order; newest first otherwise.
    order: Option<String>,
    after: Option<String>,
}

/// A time filter: a date (`2026-12-03`, its start in UTC) or an RFC 3339 time.
fn time_filter(raw: &Option<String>, field: &str, label: &str, errors: &mut FormErrors) -> Option<Timestamp> {
    let raw = parts::given(raw)?;
    let text = if raw.len() == 10 { format!("{raw}T00:00:00Z") } else { raw.to_string() };
    match Timestamp::parse_rfc3339(&text) {
        Ok(time) => Some(time),
        Err(_) => {
            errors.add(
                field,
                format!("{label}: must be a date such as 2026-01-31, or a time such as 2026-01-31T09:00:00Z"),
            );
            None
        }
    }
}

/// A text filter: one line of at most 256 characters.
fn text_filter(raw: &Option<String>, field: &str, label: &str, errors: &mut FormErrors) -> Option<String> {
    let raw = parts::given(raw)?;
    match crate::wire::one_line(field, Some(raw), 256) {
        Ok(text) => Some(text),
        Err(error) => {
            errors.add(field, format!("{label}: {}", error.message));
            None
        }
    }
}

/// The console page of an event's object, when there is one.
fn object_href(event: &AuditEvent) -> Option<String> {
    let id: Id = event.object_id.parse().ok()?;
    match event.object_type.as_str() {
        "user" => Some(format!("/console/users/{id}")),
        "onboard" => Some(format!("/console/onboards/{id}")),
        "invitation" | "local_directory_invitation" => Some(format!("/console/invitations#invitation-{id}")),
        _ => None,
    }
}

async fn audit(State(state): State<AppState>, console: Console, Query(query): Query<AuditQuery>) -> Response {
    let mut errors = FormErrors::none();
    let filter = AuditFilter {
        actor_user_id: parts::id_filter(&query.actor, "actor", "Actor", &mut errors),
        action: text_filter(&query.action, "action", "Action", &mut errors),
        object_type: text_filter(&query.object_type, "object_type", "Object type", &mut errors),
        object_id: text_filter(&query.object_id, "object_id", "Object id", &mut errors),
        since: time_filter(&query.since, "since", "From", &mut errors),
        until: time_filter(&query.until, "until", "Until", &mut errors),
    };
    let order = match parts::given(&query.order) {
        None | Some("newest") => AuditOrder::NewestFirst,
        Some("oldest") => AuditOrder::OldestFirst,
        Some(_) => {
            errors.add("order", "Order: must be newest first or oldest first");
            AuditOrder::NewestFirst
        }
    };
    let oldest = order == AuditOrder::OldestFirst;
    let raw = |value: &Option<String>| parts::given(value).unwrap_or_default().to_string();
    let base = vec![
        ("order", if oldest { "oldest".to_string() } else { String::new() }),
        ("actor", raw(&query.actor)),
        ("action", raw(&query.action)),
        ("object_type", raw(&query.object_type)),
        ("object_id", raw(&query.object_id)),
        ("since", raw(&query.since)),
        ("until", raw(&query.until)),
    ];
    let pages = parts::Pages::read(&state, &console, "console.audit", &base, &query.after, &mut errors);
    let mut events = if errors.is_empty() {
        match state
            .core
            .list_audit_events(&console.principal, &filter, order, pages.after.as_ref(), PAGE as u32 + 1)
            .await
        {
            Ok(events) => events,
            Err(error) if error.code == onramp_core::error::Code::InvalidArgument => {
                errors = FormErrors::from_core(&error, &[("until", "until", "Until")], "until");
                Vec::new()
            }
            Err(error) => return console.refusal(&error),
        }
    } else {
        Vec::new()
    };
    let next = pages.next(&mut events, PAGE, |event| event.id);
    let actors: Vec<Id> = events.iter().filter_map(|event| event.actor_user_id).collect();
    let names = match parts::names(&state, &console.principal, &actors).await {
        Ok(names) => names,
        Err(error) => return console.refusal(&error),
    };
    let now = Timestamp::now();
    let rows = events
        .iter()
        .map(|event| Row {
            id: event.id,
            action: event.action.clone(),
            object: format!("{} {}", event.object_type, event.object_id),
            object_href: object_href(event),
            actor: match (event.actor_user_id, event.actor_credential_id) {
                (Some(user), _) => parts::name_of(&names, &user),
                (None, Some(credential)) => format!("credential {credential}"),
                (None, None) => "onramp".to_string(),
            },
            actor_href: event.actor_user_id.map(|user| href("/console/audit", &[("actor", user.to_string())])),
            when: TimeInWords::new(event.created_at, now),
            request_id: event.request_id.clone().unwrap_or_default(),
        })
        .collect();
    let filters = |token: &str| [base.clone(), vec![("after", token.to_string())]].concat();
    let fields = vec![
        Field::text("actor", "Actor").hint("A user's id").value(raw(&query.actor)).checked(&errors),
        Field::text("action", "Action").hint("Such as user.update").value(raw(&query.action)).checked(&errors),
        Field::text("object_type", "Object type")
            .hint("Such as user, onboard, invitation")
            .value(raw(&query.object_type))
            .checked(&errors),
        Field::text("object_id", "Object id").value(raw(&query.object_id)).checked(&errors),
        Field::text("since", "From")
            .hint("A date, 2026-01-31, or a time in UTC")
            .value(raw(&query.since))
            .checked(&errors),
        Field::text("until", "Until (not included)").hint("A date or a time").value(raw(&query.until)).checked(&errors),
    ];
    let orders = vec![
        Choice { value: String::new(), label: "Newest first".into(), selected: !oldest },
        Choice { value: "oldest".into(), label: "Oldest first".into(), selected: oldest },
    ];
    let page = AuditPage {
        console: console.layout("Audit log", "/console/audit"),
        fields,
        orders,
        rows,
        first: (!pages.is_first()).then(|| href("/console/audit", &filters(""))),
        next: next.map(|token| href("/console/audit", &filters(&token))),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(status, &page)
}
