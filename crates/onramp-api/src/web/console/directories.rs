//! The console's Directories: `/console/directories` lists the tenant's local directories and makes an
//! app one (`directory:write`); `/console/directories/{app_id}` edits one. The form's values go through the
//! API's own `DirectoryInput` (its parsing and validation) to the same use cases, `Core::create_directory`
//! and `Core::update_directory`, so a page refuses what the API refuses, with the error on its field.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_domain::onboarding::Flow;
use onramp_domain::{Id, Permission};
use onramp_store::LocalDirectory;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::impl_console_page;
use crate::routes::path_id;
use crate::state::AppState;
use crate::web::console::{Console, ConsoleForm, ConsoleLayout, Done, NoFields, form_errors, on_the_form};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};
use crate::wire::directory::{DIRECTORY_UPDATABLE, DirectoryInput};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/directories",
            list,
            Doc::page("onramp.pages.ConsoleDirectories", "The console: local directories")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            "/console/directories",
            create,
            Doc::page("onramp.pages.ConsoleDirectoryCreate", "Make an app a local directory")
                .console_form::<Posted>()
                .redirect()
                .html(),
        )
        .get(
            "/console/directories/{app_id}",
            edit,
            Doc::page("onramp.pages.ConsoleDirectory", "The console: one local directory")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            "/console/directories/{app_id}",
            update,
            Doc::page("onramp.pages.ConsoleDirectoryUpdate", "Change a local directory")
                .console_form::<Posted>()
                .redirect()
                .html(),
        )
        .get(
            "/console/directories/{app_id}/delete",
            delete_page,
            Doc::page(
                "onramp.pages.ConsoleDirectoryDeleteConfirm",
                "The confirmation before deleting the local directory",
            )
            .html()
            .redirect(),
        )
        .post(
            "/console/directories/{app_id}/delete",
            delete,
            Doc::page(
                "onramp.pages.ConsoleDirectoryDelete",
                "Delete the local directory, revoking its pending invitations; the app stays (directory:write)",
            )
            .console_form::<NoFields>()
            .redirect(),
        )
}

const PATH: &str = "/console/directories";

/// The form's fields by the names the API's errors use: (API field, element id, label).
const FIELDS: [(&str, &str, &str); 8] = [
    ("appId", "appId", "App"),
    ("displayName", "displayName", "Name"),
    ("invitationTtl", "ttlHours", "Invitations stay valid for"),
    ("onboardingFlowId", "onboardingFlowId", "Onboarding flow"),
    ("selfRegistrationDomains", "domains", "Allowed email domains"),
    ("isDefault", "isDefault", "Default directory"),
    ("defaultProfileTypeId", "defaultProfileTypeId", "Default profile type"),
    ("organizationId", "organizationId", "Organization"),
];

/// One row of the list.
struct Row {
    href: String,
    name: String,
    ttl: String,
    is_default: bool,
    self_registration: String,
    flow: String,
}

/// A choice of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The directory form (create and edit).
struct DirectoryForm {
    /// Create only: the apps that are not a directory yet (None: the app's id is typed).
    apps: Option<Vec<Choice>>,
    creating: bool,
    app_id: Field,
    display_name: Field,
    ttl_hours: Field,
    flows: Vec<Choice>,
    flow_error: Option<String>,
    is_default: bool,
    allow_self_registration: bool,
    domains: Field,
    domains_text: String,
    default_profile_type_id: Field,
    organization_id: Field,
}

#[derive(Template)]
#[template(path = "console/directories.html")]
struct DirectoriesPage {
    console: ConsoleLayout,
    rows: Vec<Row>,
    done: Option<String>,
    /// The create form, shown to an admin who may write directories.
    form: Option<DirectoryForm>,
    errors: FormErrors,
}

impl_console_page!(DirectoriesPage);

#[derive(Template)]
#[template(path = "console/directory.html")]
struct DirectoryPage {
    console: ConsoleLayout,
    name: String,
    app_id: String,
    done: bool,
    may_write: bool,
    form: DirectoryForm,
    errors: FormErrors,
}

impl_console_page!(DirectoryPage);

/// What the form posts.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Posted {
    app_id: String,
    display_name: String,
    ttl_hours: String,
    onboarding_flow_id: String,
    is_default: Option<String>,
    allow_self_registration: Option<String>,
    domains: String,
    default_profile_type_id: String,
    organization_id: String,
}

fn hours_of(seconds: i64) -> String {
    if seconds % 3600 == 0 { (seconds / 3600).to_string() } else { format!("{:.2}", seconds as f64 / 3600.0) }
}

fn ttl_words(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 && s / 86_400 == 1 => "1 day".into(),
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        3600 => "1 hour".into(),
        s => format!("{} hours", hours_of(s)),
    }
}

impl Posted {
    /// The API's input for this form, or the error of a TTL that is not a number of hours.
    fn input(&self, with_app: bool) -> Result<DirectoryInput, FormErrors> {
        let hours = self.ttl_hours.trim();
        let ttl = match hours.parse::<u32>() {
            Ok(hours) => format!("{}s", u64::from(hours) * 3600),
            Err(_) => {
                let mut errors = FormErrors::none();
                errors.add("ttlHours", "Invitations stay valid for: enter a whole number of hours, such as 168");
                return Err(errors);
            }
        };
        let domains: Vec<String> =
            self.domains.split(['\n', ',', ' ']).map(str::trim).filter(|d| !d.is_empty()).map(String::from).collect();
        Ok(DirectoryInput {
            app_id: with_app.then(|| self.app_id.clone()),
            display_name: Some(self.display_name.clone()),
            invitation_ttl: Some(ttl),
            is_default: Some(self.is_default.is_some()),
            onboarding_flow_id: Some(self.onboarding_flow_id.clone()),
            default_profile_type_id: Some(self.default_profile_type_id.clone()),
            organization_id: Some(self.organization_id.clone()),
            allow_self_registration: Some(self.allow_self_registration.is_some()),
            self_registration_domains: Some(domains),
        })
    }

    fn of(directory: &LocalDirectory) -> Posted {
        Posted {
            app_id: directory.app_id.to_string(),
            display_name: directory.display_name.clone(),
            ttl_hours: hours_of(directory.invitation_ttl_seconds),
            onboarding_flow_id: directory.onboarding_flow_id.map(|id| id.to_string()).unwrap_or_default(),
            is_default: directory.is_default.then(|| "on".into()),
            allow_self_registration: directory.allow_self_registration.then(|| "on".into()),
            domains: directory.self_registration_domains.join("\n"),
            default_profile_type_id: directory.default_profile_type_id.clone(),
            organization_id: directory.organization_id.clone(),
        }
    }
}

/// The tenant's flows as choices (empty when the admin may not read them: the directory keeps its flow).
async fn flows(state: &AppState, console: &Console) -> Vec<Flow> {
    state.core.list_flows(&console.principal, None, 1000).await.unwrap_or_default()
}

fn form(
    posted: &Posted,
    creating: bool,
    apps: Option<Vec<Choice>>,
    flows: &[Flow],
    errors: &FormErrors,
) -> DirectoryForm {
    let mut flow_choices = vec![Choice {
        value: String::new(),
        label: "None (the minimal flow)".into(),
        selected: posted.onboarding_flow_id.is_empty(),
    }];
    flow_choices.extend(flows.iter().filter(|flow| !flow.builtin).map(|flow| Choice {
        value: flow.id.to_string(),
        label: flow.display_name.clone(),
        selected: posted.onboarding_flow_id == flow.id.to_string(),
    }));
    DirectoryForm {
        creating,
        apps,
        app_id: Field::text("appId", "App")
            .hint("The id of the app this directory is for.")
            .value(&posted.app_id)
            .checked(errors),
        display_name: Field::text("displayName", "Name")
            .value(&posted.display_name)
            .length(None, 256)
            .required()
            .checked(errors),
        ttl_hours: Field::text("ttlHours", "Invitations stay valid for (hours)")
            .hint("From 1 hour to 2160 hours (90 days); a week is 168.")
            .value(&posted.ttl_hours)
            .checked(errors),
        flows: flow_choices,
        flow_error: errors.message("onboardingFlowId").map(str::to_string),
        is_default: posted.is_default.is_some(),
        allow_self_registration: posted.allow_self_registration.is_some(),
        domains: Field::text("domains", "Allowed email domains")
            .hint("One per line, such as example.com. Empty allows any domain.")
            .checked(errors),
        domains_text: posted.domains.clone(),
        default_profile_type_id: Field::text("defaultProfileTypeId", "Default profile type")
            .hint("The profile type id ConductorOne gives the users it invites; empty for none.")
            .value(&posted.default_profile_type_id)
            .length(None, 128)
            .checked(errors),
        organization_id: Field::text("organizationId", "Organization")
            .hint("The organization id the directory belongs to in ConductorOne; empty for none.")
            .value(&posted.organization_id)
            .length(None, 128)
            .checked(errors),
    }
}

async fn list_page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    posted: &Posted,
    errors: FormErrors,
    done: Option<String>,
) -> Response {
    let directories = match state.core.list_directories(&console.principal, None, 1000).await {
        Ok(directories) => directories,
        Err(error) => return console.refusal(&error),
    };
    let flows = flows(state, console).await;
    let flow_name = |id: Option<Id>| match id {
        None => "The minimal flow".to_string(),
        Some(id) => flows.iter().find(|f| f.id == id).map(|f| f.display_name.clone()).unwrap_or(id.to_string()),
    };
    let rows = directories
        .iter()
        .map(|d| Row {
            href: format!("{PATH}/{}", d.app_id),
            name: d.display_name.clone(),
            ttl: ttl_words(d.invitation_ttl_seconds),
            is_default: d.is_default,
            self_registration: match (d.allow_self_registration, d.self_registration_domains.is_empty()) {
                (false, _) => "Off".into(),
                (true, true) => "Any domain".into(),
                (true, false) => d.self_registration_domains.join(", "),
            },
            flow: flow_name(d.onboarding_flow_id),
        })
        .collect();
    let form = if console.may(Permission::DirectoryWrite) {
        // The apps that are not a directory yet, when the admin may read apps.
        let apps = match state.core.list_apps(&console.principal, None, 1000).await {
            Ok(apps) => Some(
                apps.into_iter()
                    .filter(|app| !directories.iter().any(|d| d.app_id == app.id))
                    .map(|app| Choice {
                        selected: posted.app_id == app.id.to_string(),
                        value: app.id.to_string(),
                        label: app.display_name,
                    })
                    .collect(),
            ),
            Err(_) => None,
        };
        Some(form(posted, true, apps, &flows, &errors))
    } else {
        None
    };
    let page = DirectoriesPage { console: console.layout("Directories", PATH), rows, done, form, errors };
    render(status, &page)
}

async fn list(
    State(state): State<AppState>,
    console: Console,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Response {
    let done = done.done.map(|name| match name.as_str() {
        "deleted" => "The directory was deleted; its pending invitations were revoked. Its app stays.".to_string(),
        name => format!("The directory {name} was created."),
    });
    let posted = Posted { ttl_hours: "168".into(), ..Posted::default() };
    list_page(&state, &console, StatusCode::OK, &posted, FormErrors::none(), done).await
}

async fn create(State(state): State<AppState>, ConsoleForm { console, form }: ConsoleForm<Posted>) -> Response {
    let input = match form.input(true) {
        Ok(input) => input,
        Err(errors) => return list_page(&state, &console, StatusCode::BAD_REQUEST, &form, errors, None).await,
    };
    match state.core.create_directory(&console.principal, |tenant, now| Ok(input.new_directory(tenant, now)?)).await {
        Ok(directory) => see_other(&format!(
            "{PATH}?done={}",
            url::form_urlencoded::byte_serialize(directory.display_name.as_bytes()).collect::<String>()
        )),
        Err(error) if on_the_form(&error) => {
            let errors = form_errors(&error, &FIELDS, "displayName");
            list_page(&state, &console, crate::error::status_of(error.code), &form, errors, None).await
        }
        Err(error) => console.refusal(&error),
    }
}

async fn edit_page(
    state: &AppState,
    console: &Console,
    app_id: &Id,
    status: StatusCode,
    posted: Option<&Posted>,
    errors: FormErrors,
    done: bool,
) -> Response {
    let directory = match state.core.get_directory(&console.principal, app_id).await {
        Ok(directory) => directory,
        Err(error) => return console.refusal(&error),
    };
    let flows = flows(state, console).await;
    let stored = Posted::of(&directory);
    let form = form(posted.unwrap_or(&stored), false, None, &flows, &errors);
    let page = DirectoryPage {
        console: console.layout(directory.display_name.clone(), PATH),
        name: directory.display_name,
        app_id: app_id.to_string(),
        done,
        may_write: console.may(Permission::DirectoryWrite),
        form,
        errors,
    };
    render(status, &page)
}

async fn edit(
    State(state): State<AppState>,
    console: Console,
    Path(app_id): Path<String>,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Response {
    let app_id = match path_id("app_id", &app_id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error.into()),
    };
    edit_page(&state, &console, &app_id, StatusCode::OK, None, FormErrors::none(), done.done.is_some()).await
}

async fn update(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<Posted>,
) -> Response {
    let app_id = match path_id("app_id", &app_id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error.into()),
    };
    let input = match form.input(false) {
        Ok(input) => input,
        Err(errors) => {
            return edit_page(&state, &console, &app_id, StatusCode::BAD_REQUEST, Some(&form), errors, false).await;
        }
    };
    let paths: Vec<&'static str> = DIRECTORY_UPDATABLE.into_iter().collect();
    match state.core.update_directory(&console.principal, &app_id, |d| Ok(input.apply(d, &paths)?)).await {
        Ok(_) => see_other(&format!("{PATH}/{app_id}?done=saved")),
        Err(error) if on_the_form(&error) => {
            let errors = form_errors(&error, &FIELDS, "displayName");
            edit_page(&state, &console, &app_id, crate::error::status_of(error.code), Some(&form), errors, false).await
        }
        Err(error) => console.refusal(&error),
    }
}

#[derive(Template)]
#[template(path = "console/directory_delete.html")]
struct DeletePage {
    console: ConsoleLayout,
    app_id: String,
    name: String,
}

impl_console_page!(DeletePage);

async fn delete_page(State(state): State<AppState>, console: Console, Path(app_id): Path<String>) -> Response {
    let app_id = match path_id("app_id", &app_id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error.into()),
    };
    let directory = match state.core.get_directory(&console.principal, &app_id).await {
        Ok(directory) => directory,
        Err(error) => return console.refusal(&error),
    };
    if !console.may(Permission::DirectoryWrite) {
        let error = onramp_core::CoreError::permission_denied("permission denied: this call requires directory:write");
        return console.refusal(&error);
    }
    let page = DeletePage {
        console: console.layout(format!("Delete {}?", directory.display_name), PATH),
        app_id: app_id.to_string(),
        name: directory.display_name,
    };
    render(StatusCode::OK, &page)
}

/// Deletes the directory through `Core::delete_directory`, as `DELETE /api/v1/local-directory-configs/{id}`:
/// its pending invitations revoked, its app kept. What the core refuses is its page, in its words.
async fn delete(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Response {
    let app_id = match path_id("app_id", &app_id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error.into()),
    };
    match state.core.delete_directory(&console.principal, &app_id).await {
        Ok(()) => see_other(&format!("{PATH}?done=deleted")),
        Err(error) => console.refusal(&error),
    }
}
