//! The console's Onboards: the board at `/console/onboards` (`Core::list_onboards`, the use case of `GET
//! /onboards`), grouped by status, each onboard with its current step, whom it waits on and since when,
//! filtered by status and flow (GET `?status=&flow=`) and keyset-paged by `?after=<page token>`
//! ([`parts::Pages`]); and one onboard at
//! `/console/onboards/{id}` (`Core::get_onboard`) with its steps.
//!
//! From an onboard's page, through the API's use cases: the approver (the one the step names, or one of
//! the user's managers: `Core::approvals_for` says which buttons to show) approves or rejects an approval
//! step, and an admin completes a step their roles allow (verify email with `onboarding:write`, a profile
//! with `user:write`), all by `Core::complete_step` as `POST /api/v1/onboards/{id}/steps/{key}/complete`
//! does; an admin with `onboarding:write` fails an onboard with a reason (`Core::set_onboard_status`, as `PUT
//! /onboards/{id}`). A bad reason comes back as that field's error.

use crate::openapi::{ApiRouter, Doc};
use schemars::JsonSchema;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::error::Code;
use onramp_core::onboard_steps::{StepActor, StepInput};
use onramp_core::onboards::{MAX_REASON_CHARS, OnboardView, TurnView};
use onramp_domain::onboarding::{OnboardStatus, StepKind};
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{OnboardFilter, WaitingOn};
use serde::Deserialize;

use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::directories::Choice;
use crate::web::console::parts::{self, href};
use crate::web::console::{Console, ConsoleForm, ConsoleLayout, Done};
use crate::web::form::FormErrors;
use crate::web::page::{render, see_other};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/onboards",
            board,
            Doc::page(
                "onramp.pages.ConsoleOnboards",
                "The console: the onboards board, filtered by status and flow, paged",
            )
            .query::<BoardQuery>()
            .html()
            .redirect(),
        )
        .get(
            "/console/onboards/{id}",
            onboard,
            Doc::page("onramp.pages.ConsoleOnboard", "The console: one onboard and its steps")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            "/console/onboards/{id}/steps/{key}",
            step,
            Doc::page(
                "onramp.pages.ConsoleOnboardStep",
                "The console: approve, reject or complete a step (form, anti-forgery token)",
            )
            .console_form::<StepForm>()
            .html()
            .redirect(),
        )
        .post(
            "/console/onboards/{id}/fail",
            fail,
            Doc::page(
                "onramp.pages.ConsoleFailOnboard",
                "The console: fail an onboard with a reason (form, anti-forgery token)",
            )
            .console_form::<FailForm>()
            .html()
            .redirect(),
        )
}

/// Onboards on a page of the board.
pub const PAGE: usize = 25;

/// One onboard on the board.
pub struct Card {
    pub href: String,
    pub who: String,
    pub flow: String,
    /// "Waiting on the approver, Ann (ann@…) at step "nod"", or how it ended.
    pub turn: String,
    pub since: Option<TimeInWords>,
}

/// The board's column of one status.
pub struct Column {
    pub id: &'static str,
    pub label: &'static str,
    pub class: &'static str,
    pub cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "console/onboards.html")]
struct BoardPage {
    console: ConsoleLayout,
    errors: FormErrors,
    statuses: Vec<Choice>,
    flows: Vec<Choice>,
    columns: Vec<Column>,
    first: Option<String>,
    next: Option<String>,
}

impl_console_page!(BoardPage);

#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct BoardQuery {
    status: Option<String>,
    flow: Option<String>,
    after: Option<String>,
}

/// Whose turn it is, in words.
fn turn_words(turn: &TurnView, names: &HashMap<Id, String>) -> String {
    let on = match (turn.waiting_on, turn.user_id) {
        (WaitingOn::Invitee, Some(id)) => format!("the invitee, {}", parts::name_of(names, &id)),
        (WaitingOn::Invitee, None) => "the invitee".to_string(),
        (WaitingOn::Approver(id), _) => format!("the approver, {}", parts::name_of(names, &id)),
        (WaitingOn::Manager, Some(id)) => format!("the manager, {}", parts::name_of(names, &id)),
        (WaitingOn::Manager, None) => "a manager, and the user has none: nobody can approve".to_string(),
    };
    match &turn.step_key {
        Some(key) => format!("Waiting on {on} at step \u{201c}{key}\u{201d}"),
        None => format!("Waiting on {on} to accept the invitation"),
    }
}

/// The people an onboard's view names: its user and whoever it waits on.
fn people(views: &[&OnboardView]) -> Vec<Id> {
    views
        .iter()
        .flat_map(|view| [view.onboard.user_id, view.turn.as_ref().and_then(|turn| turn.user_id)])
        .flatten()
        .collect()
}

fn who(view: &OnboardView, names: &HashMap<Id, String>) -> String {
    match view.onboard.user_id {
        Some(user) => parts::name_of(names, &user),
        None => format!("Invitation {} (not accepted yet)", view.onboard.invitation_id),
    }
}

async fn flow_names(state: &AppState, console: &Console) -> onramp_core::CoreResult<Vec<(Id, String)>> {
    let flows = state.core.list_flows(&console.principal, None, 1000).await?;
    Ok(flows.into_iter().map(|flow| (flow.id, flow.display_name)).collect())
}

fn flow_name(flows: &[(Id, String)], id: &Id) -> String {
    flows.iter().find(|(flow, _)| flow == id).map_or_else(|| format!("flow {id}"), |(_, name)| name.clone())
}

async fn board(State(state): State<AppState>, console: Console, Query(query): Query<BoardQuery>) -> Response {
    let mut errors = FormErrors::none();
    let status = match parts::given(&query.status) {
        None => None,
        Some(raw) => match OnboardStatus::parse(raw) {
            Some(status) => Some(status),
            None => {
                errors.add("status", "Status: must be created, in_progress, completed or failed");
                None
            }
        },
    };
    let flow = parts::id_filter(&query.flow, "flow", "Flow", &mut errors);
    let base = vec![
        ("status", status.map(|s| s.as_str().to_string()).unwrap_or_default()),
        ("flow", flow.map(|id| id.to_string()).unwrap_or_default()),
    ];
    let pages = parts::Pages::read(&state, &console, "console.onboards", &base, &query.after, &mut errors);
    let filter = OnboardFilter { statuses: status.into_iter().collect(), flow_id: flow, ..OnboardFilter::default() };
    let mut views = if errors.is_empty() {
        match state.core.list_onboards(&console.principal, &filter, pages.after.as_ref(), PAGE as u32 + 1).await {
            Ok(views) => views,
            Err(error) => return console.refusal(&error),
        }
    } else {
        Vec::new()
    };
    let next = pages.next(&mut views, PAGE, |view| view.onboard.id);
    let (flows, names) = match (
        flow_names(&state, &console).await,
        parts::names(&state, &console.principal, &people(&views.iter().collect::<Vec<_>>())).await,
    ) {
        (Ok(flows), Ok(names)) => (flows, names),
        (Err(error), _) | (_, Err(error)) => return console.refusal(&error),
    };
    let columns = OnboardStatus::ALL
        .iter()
        .filter(|s| status.is_none_or(|status| status == **s))
        .map(|s| Column {
            id: s.as_str(),
            label: parts::onboard_status_label(*s),
            class: parts::onboard_status_class(*s),
            cards: views
                .iter()
                .filter(|view| view.onboard.status == *s)
                .map(|view| Card {
                    href: format!("/console/onboards/{}", view.onboard.id),
                    who: who(view, &names),
                    flow: flow_name(&flows, &view.onboard.flow_id),
                    turn: match &view.turn {
                        Some(turn) => turn_words(turn, &names),
                        None if view.onboard.status == OnboardStatus::Failed => {
                            format!("Failed: {}", view.onboard.failure_reason)
                        }
                        None => "Done".to_string(),
                    },
                    since: view.turn.as_ref().map(|turn| TimeInWords::new(turn.since, Timestamp::now())),
                })
                .collect(),
        })
        .collect();
    let mut statuses = vec![Choice { value: String::new(), label: "Any status".into(), selected: status.is_none() }];
    statuses.extend(OnboardStatus::ALL.iter().map(|s| Choice {
        value: s.as_str().into(),
        label: parts::onboard_status_label(*s).into(),
        selected: status == Some(*s),
    }));
    let mut flow_choices = vec![Choice { value: String::new(), label: "Any flow".into(), selected: flow.is_none() }];
    flow_choices.extend(flows.iter().map(|(id, name)| Choice {
        value: id.to_string(),
        label: name.clone(),
        selected: flow == Some(*id),
    }));
    let filters = |token: &str| [base.clone(), vec![("after", token.to_string())]].concat();
    let page = BoardPage {
        console: console.layout("Onboards", "/console/onboards"),
        statuses,
        flows: flow_choices,
        columns,
        first: (!pages.is_first()).then(|| href("/console/onboards", &filters(""))),
        next: next.map(|token| href("/console/onboards", &filters(&token))),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(status, &page)
}

/// One step of an onboard's page, with what this admin may do with it.
pub struct StepRow {
    pub key: String,
    pub kind: &'static str,
    pub required: bool,
    pub done: bool,
    pub automatic: bool,
    pub current: bool,
    pub by: Option<String>,
    pub at: Option<TimeInWords>,
    /// Approve and Reject buttons (the admin is this step's approver).
    pub decide: bool,
    /// A Complete button (verify email, profile), when the admin's roles allow it.
    pub complete: bool,
    pub reason_id: String,
    pub reason_error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/onboard.html")]
struct OnboardPage {
    console: ConsoleLayout,
    errors: FormErrors,
    notice: Option<&'static str>,
    id: Id,
    status: &'static str,
    status_class: &'static str,
    flow: String,
    invitation_href: String,
    invitation_id: Id,
    started: TimeInWords,
    failure_reason: String,
    turn: Option<String>,
    since: Option<TimeInWords>,
    steps: Vec<StepRow>,
    may_fail: bool,
    fail_reason: String,
}

impl_console_page!(OnboardPage);

fn kind_label(kind: &StepKind) -> &'static str {
    match kind {
        StepKind::AcceptTerms { .. } => "Accept the terms",
        StepKind::CompleteProfile { .. } => "Complete the profile",
        StepKind::VerifyEmail {} => "Verify the email address",
        StepKind::ManagerApproval { .. } => "Approval",
        StepKind::AssignRoles { .. } => "Assign roles (done by onramp at completion)",
        StepKind::Notify { .. } => "Notify (done by onramp at completion)",
    }
}

async fn onboard(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<Done>,
) -> Response {
    let notice = match query.done.as_deref() {
        Some("approved") => Some("Approved."),
        Some("rejected") => Some("Rejected: the onboard failed, and the invitee and the sponsor were told."),
        Some("completed") => Some("The step is complete."),
        Some("failed") => Some("The onboard failed; the invitee and the sponsor were told."),
        _ => None,
    };
    onboard_page(&state, console, &id, FormErrors::none(), notice, String::new()).await
}

async fn onboard_page(
    state: &AppState,
    console: Console,
    raw_id: &str,
    errors: FormErrors,
    notice: Option<&'static str>,
    fail_reason: String,
) -> Response {
    let Ok(id) = raw_id.parse::<Id>() else {
        return console.refusal(&onramp_core::CoreError::not_found(format!("onboard {raw_id}")));
    };
    let onboard = match state.core.get_onboard(&console.principal, &id).await {
        Ok(onboard) => onboard,
        Err(error) => return console.refusal(&error),
    };
    let approvals = match state.core.approvals_for(&console.principal, &onboard).await {
        Ok(keys) => keys,
        Err(error) => return console.refusal(&error),
    };
    let view = match state.core.onboard_view(onboard).await {
        Ok(view) => view,
        Err(error) => return console.refusal(&error),
    };
    let mut ids = people(&[&view]);
    ids.extend(view.onboard.states.iter().filter_map(|state| state.completed_by));
    let (flows, names) = match (flow_names(state, &console).await, parts::names(state, &console.principal, &ids).await)
    {
        (Ok(flows), Ok(names)) => (flows, names),
        (Err(error), _) | (_, Err(error)) => return console.refusal(&error),
    };
    let now = Timestamp::now();
    let onboard = &view.onboard;
    let live = !onboard.status.is_final();
    let current_key = view.turn.as_ref().and_then(|turn| turn.step_key.clone());
    let steps = onboard
        .steps
        .iter()
        .zip(&onboard.states)
        .map(|(step, state)| {
            let complete = live
                && !state.done
                && match step.kind {
                    StepKind::VerifyEmail {} => console.may(Permission::OnboardingWrite),
                    StepKind::CompleteProfile { .. } => onboard.user_id.is_some() && console.may(Permission::UserWrite),
                    _ => false,
                };
            let reason_id = format!("reason-{}", step.key);
            StepRow {
                kind: kind_label(&step.kind),
                required: step.required,
                done: state.done,
                automatic: step.kind.is_automatic(),
                current: current_key.as_deref() == Some(step.key.as_str()),
                by: state.completed_by.map(|id| parts::name_of(&names, &id)),
                at: state.completed_at.map(|at| TimeInWords::new(at, now)),
                decide: approvals.contains(&step.key),
                complete,
                reason_error: errors.message(&reason_id).map(str::to_string),
                reason_id,
                key: step.key.clone(),
            }
        })
        .collect();
    let page = OnboardPage {
        console: console.layout(format!("Onboard of {}", who(&view, &names)), "/console/onboards"),
        notice,
        id: onboard.id,
        status: parts::onboard_status_label(onboard.status),
        status_class: parts::onboard_status_class(onboard.status),
        flow: flow_name(&flows, &onboard.flow_id),
        invitation_href: format!(
            "{}#invitation-{}",
            href("/console/invitations", &[("directory", onboard.directory_app_id.to_string())]),
            onboard.invitation_id
        ),
        invitation_id: onboard.invitation_id,
        started: TimeInWords::new(onboard.created_at, now),
        failure_reason: onboard.failure_reason.clone(),
        turn: view.turn.as_ref().map(|turn| turn_words(turn, &names)),
        since: view.turn.as_ref().map(|turn| TimeInWords::new(turn.since, now)),
        steps,
        may_fail: live && console.may(Permission::OnboardingWrite),
        fail_reason,
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(status, &page)
}

/// A step's form: approve, reject (with a reason) or complete.
#[derive(Deserialize, JsonSchema)]
struct StepForm {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn step(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    form: ConsoleForm<StepForm>,
) -> Response {
    let ConsoleForm { console, form } = form;
    let Ok(onboard_id) = id.parse::<Id>() else {
        return console.refusal(&onramp_core::CoreError::not_found(format!("onboard {id}")));
    };
    let (input, done) = match form.decision.as_str() {
        "approve" => (StepInput { approved: Some(true), ..StepInput::default() }, "approved"),
        "reject" => {
            (StepInput { approved: Some(false), reason: form.reason.clone(), ..StepInput::default() }, "rejected")
        }
        "complete" => (StepInput { verified: Some(true), ..StepInput::default() }, "completed"),
        _ => {
            let error = onramp_core::CoreError::invalid_field("decision", "must be approve, reject or complete");
            return console.refusal(&error);
        }
    };
    let actor = StepActor::Staff(console.principal.clone());
    match state.core.complete_step(actor, &onboard_id, &key, &input).await {
        Ok(_) => see_other(&format!("/console/onboards/{onboard_id}?done={done}")),
        Err(error) if error.code == Code::InvalidArgument => {
            let reason_id = format!("reason-{key}");
            let errors = FormErrors::from_core(&error, &[("reason", &reason_id, "Reason")], &reason_id);
            onboard_page(&state, console, &id, errors, None, String::new()).await
        }
        Err(error) => console.refusal(&error),
    }
}

#[derive(Deserialize, JsonSchema)]
struct FailForm {
    #[serde(default)]
    reason: String,
}

async fn fail(State(state): State<AppState>, Path(id): Path<String>, form: ConsoleForm<FailForm>) -> Response {
    let ConsoleForm { console, form } = form;
    let Ok(onboard_id) = id.parse::<Id>() else {
        return console.refusal(&onramp_core::CoreError::not_found(format!("onboard {id}")));
    };
    let reason = match crate::wire::one_line("failure_reason", Some(&form.reason), MAX_REASON_CHARS) {
        Ok(reason) if !reason.is_empty() => reason,
        Ok(_) => {
            let mut errors = FormErrors::none();
            errors.add("fail-reason", "Reason: say why the onboard fails; the invitee and the sponsor are told");
            return onboard_page(&state, console, &id, errors, None, form.reason).await;
        }
        Err(error) => {
            let mut errors = FormErrors::none();
            errors.add("fail-reason", format!("Reason: {}", error.message));
            return onboard_page(&state, console, &id, errors, None, form.reason).await;
        }
    };
    match state.core.set_onboard_status(&console.principal, &onboard_id, Some(OnboardStatus::Failed), reason).await {
        Ok(_) => see_other(&format!("/console/onboards/{onboard_id}?done=failed")),
        Err(error) => console.refusal(&error),
    }
}
