//! The console's Flows: `/console/flows` lists the tenant's onboarding flows (the built-in minimal flow
//! first, read-only) and the directories that use each; `/console/flows/{id}` shows one flow and deletes it
//! (`Core::delete_flow`, refused while the flow is in use); `/console/flows/new` and
//! `/console/flows/{id}/edit` are the flow editor (`onboarding:write`).
//!
//! **The editor works without a script.** It is one form holding the whole flow being edited (name,
//! description, and each step's kind, key, required and its kind's settings, as `steps[i].<field>`); its
//! submit buttons name what to do (`action=add` with `newKind`, `action=up:2`, `action=down:0`,
//! `action=remove:1`, `action=save`). Every action but `save` answers the same form with the edited state,
//! saving nothing. `save` builds the API's own `FlowInput` (each step in its wire form: roles by name, the
//! approver's email looked up by `Core::user_by_email`) and hands it to `Core::create_flow` or
//! `Core::update_flow`, as the API's routes do, so a page refuses what the API refuses. A refused form
//! comes back with each problem beside its field (which step, which field): the core's refusal, and every
//! other problem of the same input by the same checks (`FlowInput::problems`). An edit saved over a
//! change made since the form was opened is refused (`updatedAt`), not applied on top of it.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::error::{Code, CoreError};
use onramp_domain::onboarding::{Flow, MINIMAL_FLOW_ID, NotifyRecipient, ProfileField, StepKind};
use onramp_domain::{BuiltinRole, Id, Permission};
use onramp_store::LocalDirectory;
use serde_json::{Value, json};

use crate::error::status_of;
use crate::impl_console_page;
use crate::openapi::{ApiRouter, Doc};
use crate::routes::flows::{FlowInput, UPDATABLE};
use crate::routes::path_id;
use crate::state::AppState;
use crate::web::console::directories::Choice;
use crate::web::console::{Console, ConsoleForm, ConsoleLayout, Done, on_the_form};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
"/console/flows", list, Doc::page("onramp.pages.ConsoleFlows", "The console: onboarding flows (the built-in minimal flow first) and the directories that use each")
.query::<Done>()
.html()
.redirect())
        .get(
"/console/flows/new", new_flow, Doc::page("onramp.pages.ConsoleFlowNew", "The console: the flow editor for a new flow")
.html()
.redirect()).post(
"/console/flows/new", post_new, Doc::page("onramp.pages.ConsoleFlowCreate", "The new-flow editor's submit: an editing action answers the edited form, save creates the flow. The body also carries each step as steps[<i>].kind, .key, .required, .text, .fields (repeated), .approver (an email; empty for the user's manager), .roles (repeated role names), .recipient and .message.")
.console_form::<serde_json::Map<String, serde_json::Value>>()
.redirect()
.html())
        .get(
"/console/flows/{id}", show, Doc::page("onramp.pages.ConsoleFlow", "The console: one onboarding flow and its steps")
.query::<Done>()
.html()
.redirect())
        .get(
"/console/flows/{id}/edit", edit, Doc::page("onramp.pages.ConsoleFlowEdit", "The console: the flow editor for a flow")
.html()
.redirect()).post(
"/console/flows/{id}/edit", post_edit, Doc::page("onramp.pages.ConsoleFlowUpdate", "The flow editor's submit: an editing action answers the edited form, save updates the flow. The body also carries each step as steps[<i>].kind, .key, .required, .text, .fields (repeated), .approver (an email; empty for the user's manager), .roles (repeated role names), .recipient and .message.")
.console_form::<serde_json::Map<String, serde_json::Value>>()
.redirect()
.html())
        .post(
"/console/flows/{id}/delete", delete, Doc::page("onramp.pages.ConsoleFlowDelete", "Delete a flow (refused while it is in use)")
.console_form::<serde_json::Map<String, serde_json::Value>>()
.redirect()
.html())
}

const PATH: &str = "/console/flows";

/// The most steps the editor reads from a form: more than a flow may have, so that the API's own limit is
/// the one that refuses.
const MAX_FORM_STEPS: usize = 64;

/// A step kind: its wire name, its label, the key a new step of it gets, and what it does.
struct Kind {
    name: &'static str,
    label: &'static str,
    key: &'static str,
    hint: &'static str,
}

const KINDS: [Kind; 6] = [
    Kind {
        name: "acceptTerms",
        label: "Accept terms",
        key: "terms",
        hint: "The invitee reads these terms and accepts them.",
    },
    Kind {
        name: "completeProfile",
        label: "Complete profile",
        key: "profile",
        hint: "The invitee fills in these fields of their profile.",
    },
    Kind {
        name: "verifyEmail",
        label: "Verify email",
        key: "verify-email",
        hint: "The invitee proves their email address; following the invitation link does.",
    },
    Kind {
        name: "managerApproval",
        label: "Approval",
        key: "approval",
        hint: "The user's manager, or the person named here, approves.",
    },
    Kind {
        name: "assignRoles",
        label: "Assign roles",
        key: "roles",
        hint: "onramp grants these roles when the onboard completes.",
    },
    Kind {
        name: "notify",
        label: "Notify",
        key: "notify",
        hint: "onramp emails the sponsor or the manager when the onboard completes.",
    },
];

fn kind_of(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.name == name)
}

fn profile_label(field: ProfileField) -> &'static str {
    match field {
        ProfileField::DisplayName => "Display name",
        ProfileField::JobTitle => "Job title",
        ProfileField::Department => "Department",
        ProfileField::EmploymentType => "Employment type",
        ProfileField::Manager => "Manager",
    }
}

/// A notify step's recipients: the wire name and the words.
const RECIPIENTS: [(&str, &str); 2] =
    [("NOTIFY_RECIPIENT_SPONSOR", "The sponsor (who invited them)"), ("NOTIFY_RECIPIENT_MANAGER", "Their manager")];

fn recipient_name(recipient: NotifyRecipient) -> &'static str {
    match recipient {
        NotifyRecipient::Sponsor => RECIPIENTS[0].0,
        NotifyRecipient::Manager => RECIPIENTS[1].0,
    }
}

// ---------------------------------------------------------------------------------------------------------
// The form's state.

/// One step as the editor holds it: every kind's settings, of which the step's kind uses its own.
#[derive(Clone, Debug, Default, PartialEq)]
struct StepForm {
    kind: String,
    key: String,
    required: bool,
    /// acceptTerms
    text: String,
    /// completeProfile: profile field names
    fields: Vec<String>,
    /// managerApproval: empty for the user's manager, else the approver's email (or user id)
    approver: String,
    /// assignRoles: role names
    roles: Vec<String>,
    /// notify
    recipient: String,
    message: String,
}

impl StepForm {
    fn new(kind: &Kind, taken: &[StepForm]) -> StepForm {
        let mut key = kind.key.to_string();
        let mut n = 2;
        while taken.iter().any(|step| step.key == key) {
            key = format!("{}-{n}", kind.key);
            n += 1;
        }
        StepForm {
            kind: kind.name.into(),
            key,
            required: true,
            fields: if kind.name == "completeProfile" { vec!["displayName".into()] } else { Vec::new() },
            recipient: RECIPIENTS[0].0.into(),
            ..StepForm::default()
        }
    }

    /// The step in the API's wire form, with its approver as resolved (`approver`: a user id or nothing).
    fn wire(&self, approver: Option<&str>) -> Value {
        let settings = match self.kind.as_str() {
            "acceptTerms" => json!({"text": self.text}),
            "completeProfile" => json!({"requiredFields": self.fields}),
            "verifyEmail" => json!({}),
            "managerApproval" => match approver {
                Some(id) => json!({"approverUserId": id}),
                None => json!({}),
            },
            "assignRoles" => json!({"roleIds": self.roles}),
            "notify" => json!({"recipient": self.recipient, "message": self.message}),
            _ => json!({}),
        };
        let mut step = json!({"key": self.key, "required": self.required});
        step[self.kind.as_str()] = settings;
        step
    }
}

/// The flow being edited, as the form posts it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Draft {
    display_name: String,
    description: String,
    steps: Vec<StepForm>,
    /// The stored flow's `updated_at` (microseconds) when the form was opened; empty for a new flow.
    updated_at: String,
}

/// What a submit button asks.
#[derive(Debug, PartialEq)]
enum Action {
    Save,
    Add(String),
    Up(usize),
    Down(usize),
    Remove(usize),
    /// Nothing known: the form comes back as it was posted.
    Show,
}

/// `steps[3].key` as (3, "key").
fn step_field(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("steps[")?;
    let (index, field) = rest.split_once("].")?;
    let index: usize = index.parse().ok()?;
    (index < MAX_FORM_STEPS).then_some((index, field))
}

impl Draft {
    /// The draft and the action of a posted form (fields repeat, so it is read as pairs). Steps are in
    /// the order of their indexes; a step without a kind is no step.
    fn from_pairs(pairs: &[(String, String)]) -> (Draft, Action) {
        let mut draft = Draft::default();
        let mut steps: BTreeMap<usize, StepForm> = BTreeMap::new();
        let mut action = String::new();
        let mut new_kind = String::new();
        for (name, value) in pairs {
            match name.as_str() {
                "displayName" => draft.display_name = value.clone(),
                "description" => draft.description = value.clone(),
                "updatedAt" => draft.updated_at = value.clone(),
                "action" => action = value.clone(),
                "newKind" => new_kind = value.clone(),
                other => {
                    let Some((index, field)) = step_field(other) else { continue };
                    let step = steps.entry(index).or_default();
                    match field {
                        "kind" => step.kind = value.clone(),
                        "key" => step.key = value.clone(),
                        "required" => step.required = true,
                        "text" => step.text = value.clone(),
                        "fields" => step.fields.push(value.clone()),
                        "approver" => step.approver = value.clone(),
                        "roles" => step.roles.push(value.clone()),
                        "recipient" => step.recipient = value.clone(),
                        "message" => step.message = value.clone(),
                        _ => {}
                    }
                }
            }
        }
        draft.steps = steps.into_values().filter(|step| !step.kind.is_empty()).collect();
        let index = |rest: &str| rest.parse::<usize>().ok();
        let action = match action.split_once(':') {
            None if action == "save" => Action::Save,
            None if action == "add" => Action::Add(new_kind),
            Some(("up", rest)) => index(rest).map_or(Action::Show, Action::Up),
            Some(("down", rest)) => index(rest).map_or(Action::Show, Action::Down),
            Some(("remove", rest)) => index(rest).map_or(Action::Show, Action::Remove),
            _ => Action::Show,
        };
        (draft, action)
    }

    /// The draft of a stored flow; `emails` names the approvers the admin may read.
    fn of(flow: &Flow, emails: &HashMap<Id, String>) -> Draft {
        let steps = flow
            .steps
            .iter()
            .map(|step| {
                let mut form = StepForm {
                    kind: step.kind.name().into(),
                    key: step.key.clone(),
                    required: step.required,
                    recipient: RECIPIENTS[0].0.into(),
                    ..StepForm::default()
                };
                match &step.kind {
                    StepKind::AcceptTerms { text } => form.text = text.clone(),
                    StepKind::CompleteProfile { required_fields } => {
                        form.fields = required_fields.iter().map(|f| f.as_str().to_string()).collect();
                    }
                    StepKind::VerifyEmail {} => {}
                    StepKind::ManagerApproval { approver_user_id } => {
                        form.approver = approver_user_id
                            .map(|id| emails.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                            .unwrap_or_default();
                    }
                    StepKind::AssignRoles { role_ids } => {
                        form.roles = role_ids
                            .iter()
                            .map(|id| BuiltinRole::from_id(id).map_or_else(|| id.to_string(), |r| r.name().to_string()))
                            .collect();
                    }
                    StepKind::Notify { recipient, message } => {
                        form.recipient = recipient_name(*recipient).into();
                        form.message = message.clone();
                    }
                }
                form
            })
            .collect();
        Draft {
            display_name: flow.display_name.clone(),
            description: flow.description.clone(),
            steps,
            updated_at: flow.updated_at.micros().to_string(),
        }
    }

    /// Applies an editing action; the words say what changed (None: nothing did).
    fn act(&mut self, action: &Action) -> Option<String> {
        let label = |step: &StepForm| kind_of(&step.kind).map_or(step.kind.clone(), |k| k.label.to_string());
        match *action {
            Action::Add(ref kind) => {
                let kind = kind_of(kind)?;
                let step = StepForm::new(kind, &self.steps);
                self.steps.push(step);
                Some(format!("Step {} ({}) was added at the end.", self.steps.len(), kind.label))
            }
            Action::Up(index) if index > 0 && index < self.steps.len() => {
                self.steps.swap(index - 1, index);
                Some(format!("{} moved up to step {index}.", label(&self.steps[index - 1])))
            }
            Action::Down(index) if index + 1 < self.steps.len() => {
                self.steps.swap(index, index + 1);
                Some(format!("{} moved down to step {}.", label(&self.steps[index + 1]), index + 2))
            }
            Action::Remove(index) if index < self.steps.len() => {
                let removed = self.steps.remove(index);
                Some(format!("Step {} ({}, {}) was removed.", index + 1, label(&removed), removed.key))
            }
            _ => None,
        }
    }

    /// The API's input for this draft, the approvers as resolved.
    fn input(&self, approvers: &[Option<String>]) -> FlowInput {
        FlowInput {
            display_name: Some(self.display_name.clone()),
            description: Some(self.description.clone()),
            steps: Some(
                self.steps
                    .iter()
                    .enumerate()
                    .map(|(i, step)| step.wire(approvers.get(i).and_then(|a| a.as_deref())))
                    .collect(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Where a problem goes on the form.

/// The element id, and the words, of a problem the API names by `field`: `displayName`, `description`, or
/// a step's (`steps[2]` with `acceptTerms.text must ...`, `steps[1].assignRoles.roleIds[0]`,
/// `steps[0].managerApproval.approverUserId`).
fn place(field: &str, description: &str) -> (String, String) {
    match field {
        "displayName" => return ("displayName".into(), format!("Name: {description}")),
        "description" => return ("description".into(), format!("Description: {description}")),
        _ => {}
    }
    let Some((index, rest)) = field
        .strip_prefix("steps[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest)))
    else {
        return ("displayName".into(), crate::web::sentence(description));
    };
    // The path inside the step: from the field, or leading the description (`key must be ...`).
    let (path, words) = match rest.strip_prefix('.') {
        Some(path) => (path.to_string(), description.to_string()),
        None => match description.split_once(' ') {
            Some((first, words)) if first == "key" || first.contains('.') => (first.to_string(), words.to_string()),
            _ => (String::new(), description.to_string()),
        },
    };
    let (slot, what) = if path == "key" {
        ("key", "key")
    } else if path.starts_with("acceptTerms") {
        ("text", "terms")
    } else if path.starts_with("completeProfile") {
        ("fields-0", "profile fields")
    } else if path.starts_with("managerApproval") {
        ("approver", "approver")
    } else if path.starts_with("assignRoles") {
        ("roles-0", "roles")
    } else if path.starts_with("notify.recipient") {
        ("recipient", "recipient")
    } else if path.starts_with("notify") {
        ("message", "message")
    } else {
        return (format!("step-{index}"), format!("Step {}: {}", index + 1, crate::web::sentence(&words)));
    };
    (format!("step-{index}-{slot}"), format!("Step {}, {what}: {words}", index + 1))
}

/// The field and description of a refusal naming a field.
fn violation(error: &CoreError) -> Option<(String, String)> {
    error.details.iter().find_map(|detail| {
        let violation = detail.get("fieldViolations")?.get(0)?;
        Some((violation.get("field")?.as_str()?.to_string(), violation.get("description")?.as_str()?.to_string()))
    })
}

/// Adds `error` to `errors` where it belongs, once per element.
fn add_error(errors: &mut FormErrors, error: &CoreError) {
    let (id, words) = match violation(error) {
        Some((field, description)) => place(&field, &description),
        None => match error.message.find("steps[").and_then(|at| {
            let rest = &error.message[at + 6..];
            rest[..rest.find(']')?].parse::<usize>().ok()
        }) {
            // A role the admin may not grant: the message names the step.
            Some(index) if error.code == Code::PermissionDenied => {
                (format!("step-{index}-roles-0"), crate::web::sentence(&error.message))
            }
            _ => ("displayName".into(), crate::web::sentence(&error.message)),
        },
    };
    if errors.message(&id).is_none() {
        errors.add(id, words);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The pages.

/// One row of the list.
struct FlowRow {
    href: String,
    name: String,
    builtin: bool,
    steps: String,
    directories: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/flows.html")]
struct FlowsPage {
    console: ConsoleLayout,
    rows: Vec<FlowRow>,
    may_write: bool,
    /// Whether the admin may read directories (the "Used by" column).
    may_read_directories: bool,
    done: Option<String>,
}

impl_console_page!(FlowsPage);

/// A step as the flow's page describes it.
struct StepFacts {
    number: usize,
    key: String,
    kind: &'static str,
    required: bool,
    automatic: bool,
    /// The kind's settings in words, each (label, value).
    facts: Vec<(&'static str, String)>,
    /// acceptTerms: the terms, paragraph by paragraph.
    terms: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/flow.html")]
struct FlowPage {
    console: ConsoleLayout,
    id: String,
    name: String,
    description: String,
    builtin: bool,
    steps: Vec<StepFacts>,
    directories: Option<Vec<(String, String)>>,
    may_write: bool,
    done: Option<String>,
    refusal: Option<String>,
}

impl_console_page!(FlowPage);

/// A checkbox of a group.
struct CheckBox {
    id: String,
    value: String,
    label: String,
    checked: bool,
}

/// One step in the editor.
struct StepView {
    index: usize,
    number: usize,
    kind: String,
    label: String,
    hint: &'static str,
    first: bool,
    last: bool,
    /// A problem of the step that is no one field's.
    error: Option<String>,
    key: Field,
    required: bool,
    text: Field,
    text_value: String,
    fields: Vec<CheckBox>,
    fields_error: Option<String>,
    approver: Field,
    roles: Vec<CheckBox>,
    roles_error: Option<String>,
    recipients: Vec<Choice>,
    recipient_error: Option<String>,
    message: Field,
    message_value: String,
}

#[derive(Template)]
#[template(path = "console/flow_edit.html")]
struct EditPage {
    console: ConsoleLayout,
    heading: String,
    action: String,
    cancel: String,
    updated_at: String,
    note: Option<String>,
    errors: FormErrors,
    display_name: Field,
    description: Field,
    description_value: String,
    steps: Vec<StepView>,
    kinds: Vec<Choice>,
    save_label: &'static str,
}

impl_console_page!(EditPage);

fn flow_id(raw: &str) -> Result<Id, CoreError> {
    path_id("id", raw).map_err(Into::into)
}

/// The directories of the tenant, when the admin may read them.
async fn directories(state: &AppState, console: &Console) -> Option<Vec<LocalDirectory>> {
    if !console.may(Permission::DirectoryRead) {
        return None;
    }
    state.core.list_directories(&console.principal, None, 1000).await.ok()
}

/// The directories that run `flow` (a directory without a flow of its own runs the minimal flow), as
/// (link, name).
fn used_by(flow: &Flow, directories: &[LocalDirectory]) -> Vec<(String, String)> {
    directories
        .iter()
        .filter(|d| d.onboarding_flow_id.unwrap_or(MINIMAL_FLOW_ID) == flow.id)
        .map(|d| (format!("/console/directories/{}", d.app_id), d.display_name.clone()))
        .collect()
}

fn steps_in_words(flow: &Flow) -> String {
    let kinds: Vec<&str> =
        flow.steps.iter().map(|s| kind_of(s.kind.name()).map_or(s.kind.name(), |k| k.label)).collect();
    match kinds.len() {
        0 => "No steps".into(),
        1 => format!("1 step: {}", kinds[0]),
        n => format!("{n} steps: {}", kinds.join(", ")),
    }
}

async fn list(State(state): State<AppState>, console: Console, Query(done): Query<Done>) -> Response {
    let flows = match state.core.list_flows(&console.principal, None, 1000).await {
        Ok(flows) => flows,
        Err(error) => return console.refusal(&error),
    };
    let directories = directories(&state, &console).await;
    let rows = flows
        .iter()
        .map(|flow| FlowRow {
            href: format!("{PATH}/{}", flow.id),
            name: flow.display_name.clone(),
            builtin: flow.builtin,
            steps: steps_in_words(flow),
            directories: directories.as_deref().map(|d| used_by(flow, d)).unwrap_or_default(),
        })
        .collect();
    let page = FlowsPage {
        console: console.layout("Flows", PATH),
        rows,
        may_write: console.may(Permission::OnboardingWrite),
        may_read_directories: directories.is_some(),
        done: done.done.map(|name| format!("The flow {name} was deleted.")),
    };
    render(StatusCode::OK, &page)
}

/// The approvers' emails a flow names, when the admin may read users.
async fn approver_emails(state: &AppState, console: &Console, flow: &Flow) -> HashMap<Id, String> {
    let ids: Vec<Id> = flow
        .steps
        .iter()
        .filter_map(|step| match step.kind {
            StepKind::ManagerApproval { approver_user_id } => approver_user_id,
            _ => None,
        })
        .collect();
    if ids.is_empty() || !console.may(Permission::UserRead) {
        return HashMap::new();
    }
    let users = state.core.users_by_ids(&console.principal, &ids).await.unwrap_or_default();
    // A user without an email is named by id, which the flow form takes back as well.
    users
        .into_iter()
        .map(|user| (user.id, user.email.as_ref().map_or_else(|| user.id.to_string(), |e| e.as_str().into())))
        .collect()
}

async fn flow_page(
    state: &AppState,
    console: &Console,
    id: &Id,
    status: StatusCode,
    done: Option<String>,
    refusal: Option<String>,
) -> Response {
    let flow = match state.core.get_flow(&console.principal, id).await {
        Ok(flow) => flow,
        Err(error) => return console.refusal(&error),
    };
    let emails = approver_emails(state, console, &flow).await;
    let names: HashMap<Id, String> = if emails.is_empty() {
        HashMap::new()
    } else {
        let ids: Vec<Id> = emails.keys().copied().collect();
        crate::web::console::parts::names(state, &console.principal, &ids).await.unwrap_or_default()
    };
    let steps = flow
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut facts = Vec::new();
            let mut terms = Vec::new();
            match &step.kind {
                StepKind::AcceptTerms { text } => {
                    let text = text.replace("\r\n", "\n");
                    terms = text.split("\n\n").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
                }
                StepKind::CompleteProfile { required_fields } => {
                    let labels: Vec<&str> = required_fields.iter().map(|f| profile_label(*f)).collect();
                    facts.push(("Fields", labels.join(", ")));
                }
                StepKind::VerifyEmail {} => {}
                StepKind::ManagerApproval { approver_user_id } => {
                    let who = match approver_user_id {
                        None => "The user's manager".to_string(),
                        Some(id) => match (names.get(id), emails.get(id)) {
                            (Some(name), Some(email)) if name != email => format!("{name} ({email})"),
                            (_, Some(email)) => email.clone(),
                            _ => format!("The user {id}"),
                        },
                    };
                    facts.push(("Approver", who));
                }
                StepKind::AssignRoles { role_ids } => {
                    let roles: Vec<String> = role_ids
                        .iter()
                        .map(|id| BuiltinRole::from_id(id).map_or_else(|| id.to_string(), |r| r.display_name().into()))
                        .collect();
                    facts.push(("Roles", roles.join(", ")));
                }
                StepKind::Notify { recipient, message } => {
                    let to = RECIPIENTS.iter().find(|(name, _)| *name == recipient_name(*recipient)).map(|r| r.1);
                    facts.push(("To", to.unwrap_or_default().to_string()));
                    if !message.is_empty() {
                        facts.push(("Message", message.clone()));
                    }
                }
            }
            StepFacts {
                number: i + 1,
                key: step.key.clone(),
                kind: kind_of(step.kind.name()).map_or("Step", |k| k.label),
                required: step.required,
                automatic: step.kind.is_automatic(),
                facts,
                terms,
            }
        })
        .collect();
    let directories = directories(state, console).await.map(|d| used_by(&flow, &d));
    let page = FlowPage {
        console: console.layout(flow.display_name.clone(), PATH),
        id: flow.id.to_string(),
        name: flow.display_name.clone(),
        description: flow.description.clone(),
        builtin: flow.builtin,
        steps,
        directories,
        may_write: console.may(Permission::OnboardingWrite) && !flow.builtin,
        done,
        refusal,
    };
    render(status, &page)
}

async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let id = match flow_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let done = done.done.map(|done| match done.as_str() {
        "created" => "The flow was created.".to_string(),
        _ => "The flow was saved.".to_string(),
    });
    flow_page(&state, &console, &id, StatusCode::OK, done, None).await
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let id = match flow_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let name = match state.core.get_flow(&console.principal, &id).await {
        Ok(flow) => flow.display_name,
        Err(error) => return console.refusal(&error),
    };
    match state.core.delete_flow(&console.principal, &id).await {
        Ok(()) => see_other(&crate::web::console::parts::href(PATH, &[("done", name)])),
        Err(error) if on_the_form(&error) => {
            let words = format!(
                "{} Choose another flow for what uses it, or wait for those onboards to end, then delete it.",
                crate::web::sentence(&error.message)
            );
            flow_page(&state, &console, &id, status_of(error.code), None, Some(words)).await
        }
        Err(error) => console.refusal(&error),
    }
}

/// The editor's page for `draft`.
fn editor(
    console: &Console,
    existing: Option<&Flow>,
    draft: &Draft,
    note: Option<String>,
    errors: FormErrors,
) -> EditPage {
    let (heading, action, cancel, save_label) = match existing {
        Some(flow) => (
            format!("Edit {}", flow.display_name),
            format!("{PATH}/{}/edit", flow.id),
            format!("{PATH}/{}", flow.id),
            "Save the flow",
        ),
        None => ("New flow".to_string(), format!("{PATH}/new"), PATH.to_string(), "Create the flow"),
    };
    let count = draft.steps.len();
    let steps = draft
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let id = |slot: &str| format!("step-{i}-{slot}");
            let name = |field: &str| format!("steps[{i}].{field}");
            let kind = kind_of(&step.kind);
            let fields = ProfileField::ALL
                .iter()
                .enumerate()
                .map(|(n, field)| CheckBox {
                    id: id(&format!("fields-{n}")),
                    value: field.as_str().into(),
                    label: profile_label(*field).into(),
                    checked: step.fields.iter().any(|f| f == field.as_str()),
                })
                .collect();
            // The roles the admin may grant, and any other the step already names.
            let roles = BuiltinRole::ALL
                .iter()
                .filter(|role| console.principal.may_grant(**role) || step.roles.iter().any(|r| r == role.name()))
                .enumerate()
                .map(|(n, role)| CheckBox {
                    id: id(&format!("roles-{n}")),
                    value: role.name().into(),
                    label: role.display_name().into(),
                    checked: step.roles.iter().any(|r| r == role.name()),
                })
                .collect();
            StepView {
                index: i,
                number: i + 1,
                kind: step.kind.clone(),
                label: kind.map_or(step.kind.clone(), |k| k.label.to_string()),
                hint: kind.map_or("", |k| k.hint),
                first: i == 0,
                last: i + 1 == count,
                error: errors.message(&format!("step-{i}")).map(str::to_string),
                key: Field::text(&name("key"), "Key")
                    .id(id("key"))
                    .hint("Names the step in the API: lowercase letters, digits, dashes and underscores.")
                    .value(&step.key)
                    .length(None, 64)
                    .required()
                    .checked(&errors),
                required: step.required,
                text: Field::text(&name("text"), "Terms")
                    .id(id("text"))
                    .hint("What the invitee accepts. A blank line starts a new paragraph.")
                    .checked(&errors),
                text_value: step.text.clone(),
                fields,
                fields_error: errors.message(&id("fields-0")).map(str::to_string),
                approver: Field::text(&name("approver"), "Approver")
                    .id(id("approver"))
                    .of_type("email")
                    .hint("Leave empty for the user's manager, or enter the email of the person who approves.")
                    .value(&step.approver)
                    .checked(&errors),
                roles,
                roles_error: errors.message(&id("roles-0")).map(str::to_string),
                recipients: RECIPIENTS
                    .iter()
                    .map(|(value, label)| Choice {
                        value: (*value).into(),
                        label: (*label).into(),
                        selected: step.recipient == *value,
                    })
                    .collect(),
                recipient_error: errors.message(&id("recipient")).map(str::to_string),
                message: Field::text(&name("message"), "Message")
                    .id(id("message"))
                    .hint("Added to the email. Optional.")
                    .checked(&errors),
                message_value: step.message.clone(),
            }
        })
        .collect();
    EditPage {
        console: console.layout(heading.clone(), PATH),
        heading,
        action,
        cancel,
        updated_at: draft.updated_at.clone(),
        note,
        display_name: Field::text("displayName", "Name")
            .value(&draft.display_name)
            .length(None, 256)
            .required()
            .checked(&errors),
        description: Field::text("description", "Description").hint("What the flow is for. Optional.").checked(&errors),
        description_value: draft.description.clone(),
        steps,
        kinds: KINDS
            .iter()
            .map(|kind| Choice { value: kind.name.into(), label: kind.label.into(), selected: false })
            .collect(),
        save_label,
        errors,
    }
}

async fn new_flow(console: Console) -> Response {
    if let Err(error) = console.principal.require(Permission::OnboardingWrite) {
        return console.refusal(&error);
    }
    render(StatusCode::OK, &editor(&console, None, &Draft::default(), None, FormErrors::none()))
}

async fn edit(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Response {
    let flow = match editable(&state, &console, &id).await {
        Ok(flow) => flow,
        Err(error) => return console.refusal(&error),
    };
    let draft = Draft::of(&flow, &approver_emails(&state, &console, &flow).await);
    render(StatusCode::OK, &editor(&console, Some(&flow), &draft, None, FormErrors::none()))
}

/// The stored flow `raw` names, when the admin may change it.
async fn editable(state: &AppState, console: &Console, raw: &str) -> Result<Flow, CoreError> {
    console.principal.require(Permission::OnboardingWrite)?;
    let id = flow_id(raw)?;
    if id == MINIMAL_FLOW_ID {
        return Err(CoreError::new(Code::FailedPrecondition, "the minimal flow is built in and cannot change"));
    }
    state.core.get_flow(&console.principal, &id).await
}

async fn post_new(State(state): State<AppState>, form: ConsoleForm<Vec<(String, String)>>) -> Response {
    posted(&state, form, None).await
}

async fn post_edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm<Vec<(String, String)>>,
) -> Response {
    posted(&state, form, Some(&id)).await
}

/// A submit of the editor: an editing action answers the edited form; `save` creates or updates the flow.
async fn posted(
    state: &AppState,
    ConsoleForm { console, form }: ConsoleForm<Vec<(String, String)>>,
    id: Option<&str>,
) -> Response {
    // Nothing is done for an admin who may not change flows, not even an edit that saves nothing.
    let existing = match id {
        Some(id) => match editable(state, &console, id).await {
            Ok(flow) => Some(flow),
            Err(error) => return console.refusal(&error),
        },
        None => match console.principal.require(Permission::OnboardingWrite) {
            Ok(_) => None,
            Err(error) => return console.refusal(&error),
        },
    };
    let (mut draft, action) = Draft::from_pairs(&form);
    if action != Action::Save {
        let note = draft.act(&action).map(|done| format!("{done} Nothing is saved until you save the flow."));
        return render(StatusCode::OK, &editor(&console, existing.as_ref(), &draft, note, FormErrors::none()));
    }
    match save(state, &console, existing.as_ref(), &draft).await {
        Ok(flow) => {
            let done = if existing.is_some() { "saved" } else { "created" };
            see_other(&format!("{PATH}/{}?done={done}", flow.id))
        }
        Err(Refused::Form(status, errors)) => {
            render(status, &editor(&console, existing.as_ref(), &draft, None, errors))
        }
        Err(Refused::Page(error)) => console.refusal(&error),
    }
}

enum Refused {
    /// Back on the form, with each problem on its field.
    Form(StatusCode, FormErrors),
    /// Not the form's business (a not-found, say).
    Page(CoreError),
}

/// Saves `draft` through the core: the approvers' emails found, then the API's input to the use case.
async fn save(state: &AppState, console: &Console, existing: Option<&Flow>, draft: &Draft) -> Result<Flow, Refused> {
    let mut errors = FormErrors::none();
    let mut approvers = Vec::with_capacity(draft.steps.len());
    for (index, step) in draft.steps.iter().enumerate() {
        let typed = step.approver.trim();
        if step.kind != "managerApproval" || typed.is_empty() {
            approvers.push(None);
        } else if typed.parse::<Id>().is_ok() {
            approvers.push(Some(typed.to_string()));
        } else {
            let field = format!("steps[{index}].managerApproval.approverUserId");
            match state.core.user_by_email(&console.principal, &field, typed).await {
                Ok(user) => approvers.push(Some(user.id.to_string())),
                Err(error) if error.code == Code::InvalidArgument => {
                    add_error(&mut errors, &error);
                    approvers.push(None);
                }
                Err(error) => return Err(Refused::Page(error)),
            }
        }
    }
    let input = draft.input(&approvers);
    let refusal = if errors.is_empty() {
        let saved = match existing {
            None => state.core.create_flow(&console.principal, |flow| Ok(input.apply(flow, &UPDATABLE)?)).await,
            Some(stored) => {
                let opened = draft.updated_at.clone();
                state
                    .core
                    .update_flow(&console.principal, &stored.id, |flow| {
                        if flow.updated_at.micros().to_string() != opened {
                            return Err(CoreError::new(
                                Code::Aborted,
                                "the flow was changed by someone else since you opened it; open it again to see \
                                 the change, then edit it",
                            ));
                        }
                        Ok(input.apply(flow, &UPDATABLE)?)
                    })
                    .await
            }
        };
        match saved {
            Ok(flow) => return Ok(flow),
            Err(error) => error,
        }
    } else {
        CoreError::new(Code::InvalidArgument, "the approver's email names nobody")
    };
    let refused_for_roles = refusal.code == Code::PermissionDenied && console.may(Permission::OnboardingWrite);
    if !(on_the_form(&refusal) || refused_for_roles) {
        return Err(Refused::Page(refusal));
    }
    if refusal.code == Code::InvalidArgument {
        // Every problem of the input, not only the first.
        for problem in input.problems() {
            add_error(&mut errors, &problem.into());
        }
    }
    if errors.is_empty() || refusal.code != Code::InvalidArgument || violation(&refusal).is_some() {
        add_error(&mut errors, &refusal);
    }
    errors.list.sort_by_key(|error| form_order(&error.id));
    Err(Refused::Form(status_of(refusal.code), errors))
}

/// Where an element comes in the form, for the error summary's order: the name, the description, then
/// each step's fields in their order.
fn form_order(id: &str) -> (usize, usize) {
    const SLOTS: [&str; 7] = ["key", "text", "fields", "approver", "roles", "recipient", "message"];
    match id {
        "displayName" => (0, 0),
        "description" => (1, 0),
        _ => {
            let rest = id.strip_prefix("step-").unwrap_or(id);
            let (index, slot) = rest.split_once('-').unwrap_or((rest, ""));
            let slot = SLOTS.iter().position(|s| slot.starts_with(s)).map_or(0, |p| p + 1);
            (2 + index.parse::<usize>().unwrap_or(usize::MAX - 2), slot)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_posted_form_is_the_draft_and_its_action() {
        let (draft, action) = Draft::from_pairs(&pairs(&[
            ("displayName", "Staff"),
            ("steps[1].kind", "assignRoles"),
            ("steps[1].key", "roles"),
            ("steps[1].roles", "basic-user"),
            ("steps[1].roles", "admin"),
            ("steps[0].kind", "acceptTerms"),
            ("steps[0].key", "terms"),
            ("steps[0].required", "on"),
            ("steps[0].text", "Be kind"),
            ("steps[70].kind", "verifyEmail"),
            ("steps[2].key", "no-kind"),
            ("action", "up:1"),
        ]));
        assert_eq!(action, Action::Up(1));
        assert_eq!(draft.display_name, "Staff");
        assert_eq!(draft.steps.len(), 2, "a step beyond the form's limit or without a kind is none: {draft:?}");
        assert_eq!((draft.steps[0].key.as_str(), draft.steps[0].required), ("terms", true));
        assert_eq!(
            (draft.steps[1].roles.clone(), draft.steps[1].required),
            (vec!["basic-user".into(), "admin".into()], false)
        );
        assert_eq!(
            Draft::from_pairs(&pairs(&[("action", "add"), ("newKind", "notify")])).1,
            Action::Add("notify".into())
        );
        assert_eq!(Draft::from_pairs(&pairs(&[("action", "remove:x")])).1, Action::Show);
        assert_eq!(Draft::from_pairs(&pairs(&[("action", "save")])).1, Action::Save);
    }

    #[test]
    fn editing_actions_add_move_and_remove() {
        let mut draft = Draft::default();
        assert!(draft.act(&Action::Add("acceptTerms".into())).is_some());
        assert!(draft.act(&Action::Add("acceptTerms".into())).is_some());
        assert!(draft.act(&Action::Add("nonsense".into())).is_none());
        let keys = |d: &Draft| d.steps.iter().map(|s| s.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&draft), ["terms", "terms-2"], "a new step's key is free");
        draft.act(&Action::Up(1));
        assert_eq!(keys(&draft), ["terms-2", "terms"]);
        assert!(draft.act(&Action::Up(0)).is_none() && draft.act(&Action::Down(1)).is_none());
        draft.act(&Action::Down(0));
        assert_eq!(keys(&draft), ["terms", "terms-2"]);
        draft.act(&Action::Remove(0));
        assert_eq!(keys(&draft), ["terms-2"]);
        assert!(draft.act(&Action::Remove(5)).is_none());
    }

    #[test]
    fn a_problem_goes_to_its_step_and_field() {
        assert_eq!(
            place("steps[2]", "acceptTerms.text must hold the terms (1 to 20000 characters)"),
            ("step-2-text".to_string(), "Step 3, terms: must hold the terms (1 to 20000 characters)".to_string())
        );
        assert_eq!(place("steps[1]", "key is used by an earlier step").0, "step-1-key");
        assert_eq!(place("steps[0].assignRoles.roleIds[1]", "no such role").0, "step-0-roles-0");
        assert_eq!(place("steps[4].managerApproval.approverUserId", "user x not found").0, "step-4-approver");
        assert_eq!(place("steps[0]", "notify.message must not contain").0, "step-0-message");
        assert_eq!(place("steps[32]", "a flow has at most 32 steps").0, "step-32");
        assert_eq!(place("displayName", "must not be empty"), ("displayName".into(), "Name: must not be empty".into()));
    }

    #[test]
    fn the_summary_follows_the_form() {
        let mut ids = vec!["step-10-key", "step-2-approver", "step-2-key", "step-2", "description", "displayName"];
        ids.sort_by_key(|id| form_order(id));
        assert_eq!(ids, ["displayName", "description", "step-2", "step-2-key", "step-2-approver", "step-10-key"]);
    }
}
