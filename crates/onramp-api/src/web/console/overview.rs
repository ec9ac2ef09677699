//! The console's Overview at `/console` (`Core::overview`, the use case of `GET /api/v1/onramp/overview`):
//! users, invitations and onboards counted by status, and what needs someone: onboards waiting on an
//! approver, the manager or the invitee for more than `?days=N` days (default 3), pending invitations
//! expiring within 48 hours, emails that failed or are retrying. Each item links to its object's page (an
//! onboard to its board entry, an invitation to the invitations page filtered to its directory). A part the
//! admin's roles do not read is left out, as the use case leaves it out.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::overview::Overview;
use onramp_domain::Id;
use onramp_domain::onboarding::OnboardStatus;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::user::UserStatus;
use onramp_store::{InvitationStatus, WaitingOn};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::parts::{self, DeliveryWords, href};
use crate::web::console::{Console, ConsoleLayout};
use crate::web::form::{Field, FormErrors};
use crate::web::page::render;

pub fn routes() -> ApiRouter {
    ApiRouter::new().get(
        "/console",
        overview,
        Doc::page(
            "onramp.pages.ConsoleOverview",
            "The admin console: the overview (admins only; others 403, no session: to sign-in)",
        )
        .query::<OverviewQuery>()
        .html()
        .redirect(),
    )
}

/// The waiting threshold when the page names none, in days (the API's default too).
const DEFAULT_DAYS: u32 = 3;

/// One count on the overview.
pub struct Count {
    pub label: &'static str,
    pub value: i64,
    /// Where the counted things are listed, when that page exists.
    pub href: Option<String>,
}

/// One group of counts (users, invitations, onboards).
pub struct Counts {
    pub id: &'static str,
    pub title: &'static str,
    pub total: i64,
    pub noun: &'static str,
    pub counts: Vec<Count>,
}

/// Something that needs someone, with the link to its page.
pub struct Item {
    pub href: String,
    pub title: String,
    pub detail: String,
    pub when: Option<TimeInWords>,
}

pub struct Email {
    pub href: Option<String>,
    pub words: DeliveryWords,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    console: ConsoleLayout,
    errors: FormErrors,
    days_field: Field,
    days: u32,
    counts: Vec<Counts>,
    waiting: Option<(Vec<Item>, i64)>,
    expiring: Option<(Vec<Item>, i64)>,
    emails: Option<(Vec<Email>, i64, i64)>,
}

impl_console_page!(OverviewPage);

#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct OverviewQuery {
    days: Option<String>,
}

fn counts<S: Copy + PartialEq>(
    id: &'static str,
    title: &'static str,
    noun: &'static str,
    all: &[S],
    counted: &[(S, i64)],
    label: impl Fn(S) -> &'static str,
    link: impl Fn(S) -> Option<String>,
) -> Counts {
    let counts: Vec<Count> = all
        .iter()
        .map(|status| Count {
            label: label(*status),
            value: counted.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n),
            href: link(*status),
        })
        .collect();
    Counts { id, title, noun, total: counts.iter().map(|count| count.value).sum(), counts }
}

async fn overview(State(state): State<AppState>, console: Console, Query(query): Query<OverviewQuery>) -> Response {
    let mut errors = FormErrors::none();
    let raw_days = parts::given(&query.days).unwrap_or_default().to_string();
    let days = match parts::given(&query.days).map(str::parse::<u32>) {
        None => DEFAULT_DAYS,
        Some(Ok(days)) if days <= onramp_core::overview::MAX_WAITING_DAYS => days,
        Some(_) => {
            errors.add(
                "days",
                format!("Days: must be a whole number from 0 to {}", onramp_core::overview::MAX_WAITING_DAYS),
            );
            DEFAULT_DAYS
        }
    };
    let days_field = Field::text("days", "Waiting longer than (days)")
        .of_type("number")
        .value(if errors.is_empty() { days.to_string() } else { raw_days })
        .checked(&errors);
    let overview = match state.core.overview(&console.principal, days).await {
        Ok(overview) => overview,
        Err(error) => return console.refusal(&error),
    };
    let page = match build(&state, &console, &overview).await {
        Ok((counts, waiting, expiring, emails)) => OverviewPage {
            console: console.layout("Overview", "/console"),
            errors,
            days_field,
            days,
            counts,
            waiting,
            expiring,
            emails,
        },
        Err(error) => return console.refusal(&error),
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(status, &page)
}

type Parts = (Vec<Counts>, Option<(Vec<Item>, i64)>, Option<(Vec<Item>, i64)>, Option<(Vec<Email>, i64, i64)>);

async fn build(state: &AppState, console: &Console, overview: &Overview) -> onramp_core::CoreResult<Parts> {
    let now = overview.now;
    let mut groups = Vec::new();
    if let Some(users) = &overview.users {
        let statuses = [UserStatus::Enabled, UserStatus::Disabled];
        groups.push(counts(
            "users",
            "Users",
            "user",
            &statuses,
            users,
            |status| if status == UserStatus::Enabled { "Enabled" } else { "Disabled" },
            |_| None,
        ));
    }
    if let Some(invitations) = &overview.invitations {
        groups.push(counts(
            "invitations",
            "Invitations",
            "invitation",
            &InvitationStatus::ALL,
            invitations,
            parts::invitation_status_label,
            |status| Some(href("/console/invitations", &[("status", parts::invitation_status_name(status).into())])),
        ));
    }
    if let Some(onboards) = &overview.onboards {
        groups.push(counts(
            "onboards",
            "Onboards",
            "onboard",
            &OnboardStatus::ALL,
            onboards,
            parts::onboard_status_label,
            |status| Some(href("/console/onboards", &[("status", status.as_str().into())])),
        ));
    }
    let waiting = match &overview.waiting_onboards {
        None => None,
        Some(list) => {
            let mut people: Vec<_> = list.items.iter().filter_map(|view| view.onboard.user_id).collect();
            people.extend(list.items.iter().filter_map(|view| view.turn.as_ref()?.user_id));
            let names = parts::names(state, &console.principal, &people).await?;
            let items = list
                .items
                .iter()
                .map(|view| {
                    let onboard = &view.onboard;
                    let who = match onboard.user_id {
                        Some(user) => parts::name_of(&names, &user),
                        None => "An invitee who has not accepted yet".to_string(),
                    };
                    let turn = view.turn.as_ref();
                    let detail = match turn {
                        None => String::new(),
                        Some(turn) => {
                            let step = turn.step_key.as_deref().map_or("accepting the invitation".to_string(), |key| {
                                format!("step \u{201c}{key}\u{201d}")
                            });
                            let on = match (turn.waiting_on, turn.user_id) {
                                (WaitingOn::Invitee, _) => "the invitee".to_string(),
                                (WaitingOn::Approver(id), _) => {
                                    format!("the approver, {}", parts::name_of(&names, &id))
                                }
                                (WaitingOn::Manager, Some(id)) => {
                                    format!("the manager, {}", parts::name_of(&names, &id))
                                }
                                (WaitingOn::Manager, None) => "a manager (the user has none)".to_string(),
                            };
                            format!("Waiting on {on} at {step}")
                        }
                    };
                    Item {
                        href: format!("/console/onboards/{}", onboard.id),
                        title: who,
                        detail,
                        when: turn.map(|turn| TimeInWords::new(turn.since, now)),
                    }
                })
                .collect();
            Some((items, list.total))
        }
    };
    let expiring = overview.expiring_invitations.as_ref().map(|list| {
        let items = list
            .items
            .iter()
            .map(|invitation| Item {
                href: format!(
                    "{}#invitation-{}",
                    href(
                        "/console/invitations",
                        &[("directory", invitation.directory_app_id.to_string()), ("status", "pending".into())]
                    ),
                    invitation.id
                ),
                title: if invitation.display_name.is_empty() {
                    invitation.email.as_str().to_string()
                } else {
                    format!("{} ({})", invitation.display_name, invitation.email.as_str())
                },
                detail: "Expires".into(),
                when: Some(TimeInWords::new(invitation.expires_at, now)),
            })
            .collect();
        (items, list.total)
    });
    let emails = overview.emails.as_ref().map(|emails| {
        let items = emails
            .items
            .iter()
            .map(|delivery| Email {
                href: match delivery.kind.as_str() {
                    "invitation" => Some(invitation_href(state, console, &delivery.subject_id)),
                    "onboard" => Some(format!("/console/onboards/{}", delivery.subject_id)),
                    _ => None,
                },
                words: parts::delivery_words(delivery, now),
            })
            .collect();
        (items, emails.retrying, emails.failed)
    });
    Ok((groups, waiting, expiring, emails))
}

/// The invitations list (unfiltered) starting at the invitation `id`, with its row as the anchor.
fn invitation_href(state: &AppState, console: &Console, id: &Id) -> String {
    let filters = [("directory", String::new()), ("status", String::new())];
    let start = parts::Pages::starting_at(state, console, "console.invitations", &filters, id);
    format!("{}#invitation-{id}", href("/console/invitations", &[("after", start.unwrap_or_default())]))
}
