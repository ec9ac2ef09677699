//! The console's Invite at `/console/invite`: one person (email, name, directory, roles, flow), or many from
//! a CSV file (`POST /console/invite/csv`, multipart; columns `email,name[,roles][,flow]`, roles by name or
//! id separated by `;`, an optional header row). Every invitation is the API's `InvitationInput`, parsed
//! and validated by the same code, and one call of the same use case (`Core::invite`,
//! `invitation:write`, the roles the caller may grant); a CSV row's refusal is shown in its row of the
//! result table and does not stop the others.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::error::CoreError;
use onramp_domain::{BuiltinRole, Id, Permission};
use serde_json::json;

use crate::error::status_of;
use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::directories::Choice;
use crate::web::console::{
    Console, ConsoleForm, ConsoleLayout, ConsoleMultipart, form_errors, grant_refusal, on_the_form,
};
use crate::web::form::{Field, FormErrors};
use crate::web::page::render;
use crate::wire::directory::InvitationInput;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/invite",
            show,
            Doc::page("onramp.pages.ConsoleInvite", "The console: invite one person or many from a CSV file")
                .html()
                .redirect(),
        )
        .post(
            "/console/invite",
            invite_one,
            Doc::page("onramp.pages.ConsoleInviteOne", "Invite one person (Core::invite)")
                .console_form::<serde_json::Map<String, serde_json::Value>>()
                .redirect()
                .html(),
        )
        .post(
            "/console/invite/csv",
            invite_csv,
            Doc::page("onramp.pages.ConsoleInviteCsv", "Invite everyone in a CSV file, each row its own invitation")
                .multipart::<crate::web::account::CsrfOnly>()
                .redirect()
                .html(),
        )
}

const PATH: &str = "/console/invite";

/// The most rows one CSV upload invites.
const MAX_ROWS: usize = 500;

const FIELDS: [(&str, &str, &str); 5] = [
    ("email", "email", "Email"),
    ("displayName", "displayName", "Name"),
    ("directory", "directory", "Directory"),
    ("initialRoleIds", "role-0", "Roles"),
    ("onboardingFlowId", "flow", "Onboarding flow"),
];

struct RoleBox {
    id: String,
    name: &'static str,
    label: &'static str,
    checked: bool,
}

/// One row of a CSV upload's result.
struct RowResult {
    line: usize,
    email: String,
    invited: bool,
    reason: String,
}

#[derive(Template)]
#[template(path = "console/invite.html")]
struct InvitePage {
    console: ConsoleLayout,
    may_write: bool,
    done: Option<String>,
    errors: FormErrors,
    email: Field,
    display_name: Field,
    directories: Vec<Choice>,
    csv_directories: Vec<Choice>,
    directory_error: Option<String>,
    roles: Vec<RoleBox>,
    roles_error: Option<String>,
    flows: Vec<Choice>,
    flow_error: Option<String>,
    csv_error: Option<String>,
    results: Option<Vec<RowResult>>,
    invited: usize,
}

impl_console_page!(InvitePage);

/// What the one-person form posted (roles repeat, so it is read as pairs).
#[derive(Default)]
struct One {
    email: String,
    display_name: String,
    directory: String,
    roles: Vec<String>,
    flow: String,
}

impl One {
    fn from_pairs(pairs: &[(String, String)]) -> One {
        let mut one = One::default();
        for (name, value) in pairs {
            match name.as_str() {
                "email" => one.email = value.clone(),
                "displayName" => one.display_name = value.clone(),
                "directory" => one.directory = value.clone(),
                "roles" => one.roles.push(value.clone()),
                "flow" => one.flow = value.clone(),
                _ => {}
            }
        }
        one
    }
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    one: &One,
    errors: FormErrors,
    done: Option<String>,
    csv: (Option<String>, &str),
    results: Option<Vec<RowResult>>,
) -> Response {
    let directories = state.core.list_directories(&console.principal, None, 1000).await.unwrap_or_default();
    let flows = state.core.list_flows(&console.principal, None, 1000).await.unwrap_or_default();
    let choices = |selected: &str| -> Vec<Choice> {
        let default = directories.iter().find(|d| d.is_default).map(|d| d.app_id.to_string()).unwrap_or_default();
        let selected = if selected.is_empty() { default.as_str() } else { selected };
        directories
            .iter()
            .map(|d| Choice {
                value: d.app_id.to_string(),
                label: d.display_name.clone(),
                selected: d.app_id.to_string() == selected,
            })
            .collect()
    };
    let mut flow_choices =
        vec![Choice { value: String::new(), label: "The directory's flow".into(), selected: one.flow.is_empty() }];
    flow_choices.extend(flows.iter().map(|flow| Choice {
        value: flow.id.to_string(),
        label: flow.display_name.clone(),
        selected: one.flow == flow.id.to_string(),
    }));
    let roles = BuiltinRole::ALL
        .iter()
        .filter(|role| console.principal.may_grant(**role))
        .enumerate()
        .map(|(i, role)| RoleBox {
            id: format!("role-{i}"),
            name: role.name(),
            label: role.display_name(),
            checked: one.roles.iter().any(|r| r == role.name()),
        })
        .collect();
    let invited = results.iter().flatten().filter(|row| row.invited).count();
    let page = InvitePage {
        console: console.layout("Invite", PATH),
        may_write: console.may(Permission::InvitationWrite),
        done,
        email: Field::text("email", "Email").of_type("email").value(&one.email).required().checked(&errors),
        display_name: Field::text("displayName", "Name").value(&one.display_name).required().checked(&errors),
        directories: choices(&one.directory),
        csv_directories: choices(csv.1),
        directory_error: errors.message("directory").map(str::to_string),
        roles,
        roles_error: errors.message("role-0").map(str::to_string),
        flows: flow_choices,
        flow_error: errors.message("flow").map(str::to_string),
        csv_error: csv.0,
        results,
        invited,
        errors,
    };
    render(status, &page)
}

async fn show(State(state): State<AppState>, console: Console) -> Response {
    page(&state, &console, StatusCode::OK, &One::default(), FormErrors::none(), None, (None, ""), None).await
}

/// Invites one person into `directory` through the API's input and the core's use case.
async fn invite(state: &AppState, console: &Console, one: &One) -> Result<(), CoreError> {
    let directory: Id =
        one.directory.trim().parse().map_err(|_| CoreError::invalid_field("directory", "choose a directory"))?;
    let body = json!({
        "email": one.email,
        "displayName": one.display_name,
        "initialRoleIds": one.roles,
        "onboardingFlowId": one.flow,
    });
    let input: InvitationInput = serde_json::from_value(body).expect("the form's body is the input's shape");
    let invited_by = Some(console.principal.user_id);
    state.core.invite(&console.principal, &directory, |d, now| Ok(input.new_invitation(d, invited_by, now)?)).await?;
    Ok(())
}

async fn invite_one(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let one = One::from_pairs(&form);
    match invite(&state, &console, &one).await {
        Ok(()) => {
            let done = format!(
                "{} was invited; the invitation email is on its way to {}.",
                one.display_name.trim(),
                one.email.trim()
            );
            page(&state, &console, StatusCode::OK, &One::default(), FormErrors::none(), Some(done), (None, ""), None)
                .await
        }
        // A role the admin may not grant: the roles field's error, the form kept.
        Err(error) if grant_refusal(&error, "initialRoleIds") => {
            let mut errors = FormErrors::none();
            let why = error.message.trim_start_matches("permission denied: ");
            errors.add("role-0", format!("Roles: {}", crate::web::sentence(why)));
            page(&state, &console, status_of(error.code), &one, errors, None, (None, ""), None).await
        }
        Err(error) if on_the_form(&error) || error.code == onramp_core::error::Code::NotFound => {
            let errors = form_errors(&error, &FIELDS, "email");
            page(&state, &console, status_of(error.code), &one, errors, None, (None, ""), None).await
        }
        Err(error) => console.refusal(&error),
    }
}

/// The rows of a CSV file: (line, email, name, roles, flow); a header row naming `email` is skipped.
fn rows(bytes: &[u8]) -> Result<Vec<(usize, One)>, String> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| format!("line {}: {error}", index + 1))?;
        let cell = |i: usize| record.get(i).unwrap_or_default().to_string();
        if index == 0 && cell(0).eq_ignore_ascii_case("email") {
            continue;
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() > 4 {
            return Err(format!("line {}: a row has at most 4 columns: email, name, roles, flow", index + 1));
        }
        let roles = cell(2).split([';', ' ']).filter(|r| !r.is_empty()).map(String::from).collect();
        rows.push((
            index + 1,
            One { email: cell(0), display_name: cell(1), directory: String::new(), roles, flow: cell(3) },
        ));
        if rows.len() > MAX_ROWS {
            return Err(format!("a file may invite at most {MAX_ROWS} people at once"));
        }
    }
    if rows.is_empty() {
        return Err("the file has no rows; each row is email,name[,roles][,flow]".into());
    }
    Ok(rows)
}

async fn invite_csv(State(state): State<AppState>, form: ConsoleMultipart) -> Response {
    let console = &form.console;
    let directory = form.text("csvDirectory");
    let parsed = match form.file("file") {
        None => Err("choose a CSV file".to_string()),
        Some(file) => rows(&file.bytes),
    };
    let rows = match parsed {
        Ok(rows) => rows,
        Err(problem) => {
            let mut errors = FormErrors::none();
            errors.add("file", format!("CSV file: {problem}"));
            let csv_error = errors.message("file").map(str::to_string);
            let one = One::default();
            return page(&state, console, StatusCode::BAD_REQUEST, &one, errors, None, (csv_error, &directory), None)
                .await;
        }
    };
    let mut results = Vec::with_capacity(rows.len());
    let mut refusals = Vec::new();
    for (line, mut one) in rows {
        one.directory = directory.clone();
        let outcome = invite(&state, console, &one).await;
        results.push(RowResult {
            line,
            email: one.email,
            invited: outcome.is_ok(),
            reason: outcome.as_ref().err().map(|error| crate::web::sentence(&error.message)).unwrap_or_default(),
        });
        if let Err(error) = outcome {
            refusals.push(error);
        }
    }
    // The core refused every row as not allowed (a read-only admin may not invite): the upload is refused.
    if refusals.len() == results.len()
        && let Some(error) = refusals.iter().find(|e| e.code == onramp_core::error::Code::PermissionDenied)
        && refusals.iter().all(|e| e.code == onramp_core::error::Code::PermissionDenied)
    {
        return console.refusal(error);
    }
    page(&state, console, StatusCode::OK, &One::default(), FormErrors::none(), None, (None, &directory), Some(results))
        .await
}
