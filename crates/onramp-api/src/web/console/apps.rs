//! The console's Apps and owners: `/console/apps` lists the tenant's apps and creates one (the API's
//! `AppInput`, `Core::create_app`); `/console/apps/{id}` shows an app's owners by role slug and adds
//! (`Core::create_app_owner`, v2's create) and removes (`Core::delete_app_owner`) them, all `app:write`.
//! Owners are v2 ownerships, so the `owner` slug here is exactly v1's owners (see `routes/app_owners.rs`).
//! The user picker is an email, found by `Core::user_by_email`.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use onramp_core::error::CoreError;
use onramp_domain::{Id, Permission};
use onramp_store::RoleSlug;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::error::status_of;
use crate::impl_console_page;
use crate::routes::path_id;
use crate::state::AppState;
use crate::web::console::{Console, ConsoleForm, ConsoleLayout, Done, NoFields, form_errors, on_the_form};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};
use crate::wire::app::AppInput;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/apps",
            list,
            Doc::page("onramp.pages.ConsoleApps", "The console: apps").query::<Done>().html().redirect(),
        )
        .post(
            "/console/apps",
            create,
            Doc::page("onramp.pages.ConsoleAppCreate", "Create an app").console_form::<NewApp>().redirect().html(),
        )
        .get(
            "/console/apps/{id}",
            show,
            Doc::page("onramp.pages.ConsoleApp", "The console: an app and its owners by role slug")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            "/console/apps/{id}/owners",
            add_owner,
            Doc::page("onramp.pages.ConsoleAppOwnerAdd", "Add an owner by email under a role slug")
                .console_form::<NewOwner>()
                .redirect()
                .html(),
        )
        .post(
            "/console/apps/{id}/owners/remove",
            remove_owner,
            Doc::page("onramp.pages.ConsoleAppOwnerRemove", "Remove an ownership")
                .console_form::<Removal>()
                .redirect()
                .html(),
        )
        .get(
            "/console/apps/{id}/edit",
            edit_page,
            Doc::page(
                "onramp.pages.ConsoleAppEditForm",
                "The form that edits an app (name, description, icon URL, monthly cost, instructions)",
            )
            .html()
            .redirect(),
        )
        .post(
            "/console/apps/{id}/edit",
            edit,
            Doc::page("onramp.pages.ConsoleAppEdit", "Edit the app through the API's app update (app:write)")
                .console_form::<AppEdit>()
                .redirect(),
        )
        .get(
            "/console/apps/{id}/delete",
            delete_page,
            Doc::page("onramp.pages.ConsoleAppDeleteConfirm", "The confirmation before deleting the app")
                .html()
                .redirect(),
        )
        .post(
            "/console/apps/{id}/delete",
            delete,
            Doc::page("onramp.pages.ConsoleAppDelete", "Delete the app and its ownerships (app:write)")
                .console_form::<NoFields>()
                .redirect(),
        )
}

const PATH: &str = "/console/apps";

struct AppRow {
    href: String,
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "console/apps.html")]
struct AppsPage {
    console: ConsoleLayout,
    apps: Vec<AppRow>,
    may_write: bool,
    done: Option<String>,
    errors: FormErrors,
    display_name: Field,
    description: Field,
}

impl_console_page!(AppsPage);

struct OwnerRow {
    name: String,
    email: String,
    user_id: String,
    slug: String,
}

/// The owners under one role slug.
struct SlugGroup {
    slug: String,
    owners: Vec<OwnerRow>,
}

#[derive(Template)]
#[template(path = "console/app.html")]
struct AppPage {
    console: ConsoleLayout,
    id: String,
    name: String,
    description: String,
    groups: Vec<SlugGroup>,
    may_write: bool,
    done: Option<String>,
    errors: FormErrors,
    email: Field,
    slug: Field,
}

impl_console_page!(AppPage);

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct NewApp {
    display_name: String,
    description: String,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct NewOwner {
    email: String,
    role_slug: String,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct Removal {
    user_id: String,
    role_slug: String,
}

async fn list_page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    form: &NewApp,
    errors: FormErrors,
    done: Option<String>,
) -> Response {
    let apps = match state.core.list_apps(&console.principal, None, 1000).await {
        Ok(apps) => apps,
        Err(error) => return console.refusal(&error),
    };
    let page = AppsPage {
        console: console.layout("Apps and owners", PATH),
        apps: apps
            .into_iter()
            .map(|app| AppRow {
                href: format!("{PATH}/{}", app.id),
                name: app.display_name,
                description: app.description,
            })
            .collect(),
        may_write: console.may(Permission::AppWrite),
        done,
        display_name: Field::text("displayName", "Name").value(&form.display_name).required().checked(&errors),
        description: Field::text("description", "Description").value(&form.description).checked(&errors),
        errors,
    };
    render(status, &page)
}

async fn list(State(state): State<AppState>, console: Console, Query(done): Query<Done>) -> Response {
    let done = done.done.map(|name| match name.as_str() {
        "deleted" => "The app was deleted, with every ownership of it.".to_string(),
        name => format!("The app {name} was created."),
    });
    list_page(&state, &console, StatusCode::OK, &NewApp::default(), FormErrors::none(), done).await
}

async fn create(State(state): State<AppState>, ConsoleForm { console, form }: ConsoleForm<NewApp>) -> Response {
    let input: AppInput =
        serde_json::from_value(json!({"displayName": form.display_name, "description": form.description}))
            .expect("the form's body is the input's shape");
    let made = state
        .core
        .create_app(&console.principal, |tenant_id, now| Ok((input.into_new_app(tenant_id, now)?, input.owner_ids()?)))
        .await;
    match made {
        Ok(app) => see_other(&format!("{PATH}/{}?done=created", app.id)),
        Err(error) if on_the_form(&error) => {
            let fields = [("displayName", "displayName", "Name"), ("description", "description", "Description")];
            let errors = form_errors(&error, &fields, "displayName");
            list_page(&state, &console, status_of(error.code), &form, errors, None).await
        }
        Err(error) => console.refusal(&error),
    }
}

async fn app_page(
    state: &AppState,
    console: &Console,
    id: &Id,
    status: StatusCode,
    owner: &NewOwner,
    errors: FormErrors,
    done: Option<String>,
) -> Response {
    let app = match state.core.get_app(&console.principal, id).await {
        Ok(app) => app,
        Err(error) => return console.refusal(&error),
    };
    let owners = match state.core.list_app_owners(&console.principal, id, None, None, 1000).await {
        Ok(owners) => owners,
        Err(error) => return console.refusal(&error),
    };
    let users = match state.core.app_owner_users(&console.principal, &owners).await {
        Ok(users) => users,
        Err(error) => return console.refusal(&error),
    };
    let mut groups: Vec<SlugGroup> = Vec::new();
    let mut by_slug: Vec<_> = owners.iter().collect();
    by_slug.sort_by(|a, b| {
        (a.role_slug.as_str() != RoleSlug::OWNER, a.role_slug.as_str())
            .cmp(&(b.role_slug.as_str() != RoleSlug::OWNER, b.role_slug.as_str()))
    });
    for ownership in by_slug {
        // A user deleted since owns nothing: left out, as the API's lists do.
        let Some(user) = users.iter().find(|user| user.id == ownership.user_id) else { continue };
        let row = OwnerRow {
            name: user.display_name.clone(),
            email: user.email_str().to_string(),
            user_id: user.id.to_string(),
            slug: ownership.role_slug.as_str().to_string(),
        };
        match groups.last_mut() {
            Some(group) if group.slug == row.slug => group.owners.push(row),
            _ => groups.push(SlugGroup { slug: row.slug.clone(), owners: vec![row] }),
        }
    }
    let slug = if owner.role_slug.is_empty() { RoleSlug::OWNER } else { owner.role_slug.as_str() };
    let page = AppPage {
        console: console.layout(app.display_name.clone(), PATH),
        id: id.to_string(),
        name: app.display_name,
        description: app.description,
        groups,
        may_write: console.may(Permission::AppWrite),
        done,
        email: Field::text("email", "Email")
            .of_type("email")
            .hint("The email of the user who becomes an owner.")
            .value(&owner.email)
            .required()
            .checked(&errors),
        slug: Field::text("roleSlug", "Role")
            .hint("owner (the API's v1 owners), or another slug such as technical-owner.")
            .value(slug)
            .checked(&errors),
        errors,
    };
    render(status, &page)
}

fn app_id(raw: &str) -> Result<Id, CoreError> {
    path_id("id", raw).map_err(Into::into)
}

async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let id = match app_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let done = done.done.map(|done| match done.as_str() {
        "created" => "The app was created.".to_string(),
        "saved" => "The changes are saved.".to_string(),
        "removed" => "The owner was removed.".to_string(),
        _ => "The owner was added.".to_string(),
    });
    app_page(&state, &console, &id, StatusCode::OK, &NewOwner::default(), FormErrors::none(), done).await
}

const OWNER_FIELDS: [(&str, &str, &str); 2] = [("email", "email", "Email"), ("roleSlug", "roleSlug", "Role")];

async fn add_owner(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<NewOwner>,
) -> Response {
    let id = match app_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let added = async {
        let slug =
            RoleSlug::parse(form.role_slug.trim()).map_err(|error| CoreError::invalid_field("roleSlug", error))?;
        let user = state.core.user_by_email(&console.principal, "email", &form.email).await?;
        state.core.create_app_owner(&console.principal, &id, &slug, &user.id).await
    }
    .await;
    match added {
        Ok(_) => see_other(&format!("{PATH}/{id}?done=added")),
        Err(error) if on_the_form(&error) => {
            let errors = form_errors(&error, &OWNER_FIELDS, "email");
            app_page(&state, &console, &id, status_of(error.code), &form, errors, None).await
        }
        Err(error) => console.refusal(&error),
    }
}

async fn remove_owner(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<Removal>,
) -> Response {
    let id = match app_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let removed = async {
        let slug = RoleSlug::parse(&form.role_slug).map_err(|error| CoreError::invalid_field("roleSlug", error))?;
        let user_id: Id = form.user_id.parse().map_err(|error| CoreError::invalid_field("userId", error))?;
        state.core.delete_app_owner(&console.principal, &id, &slug, &user_id).await
    }
    .await;
    match removed {
        Ok(()) => see_other(&format!("{PATH}/{id}?done=removed")),
        Err(error) => console.refusal(&error),
    }
}

/// The app's edit form: the fields of the API's update a person sets (`AppInput`), by their API names.
const EDIT_FIELDS: [(&str, &str, &str); 5] = [
    ("displayName", "displayName", "Name"),
    ("description", "description", "Description"),
    ("iconUrl", "iconUrl", "Icon URL"),
    ("monthlyCostUsd", "monthlyCostUsd", "Monthly cost in US dollars"),
    ("instructions", "instructions", "Instructions"),
];

#[derive(Deserialize, Default, Clone, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct AppEdit {
    display_name: String,
    description: String,
    icon_url: String,
    monthly_cost_usd: String,
    instructions: String,
}

#[derive(Template)]
#[template(path = "console/app_edit.html")]
struct AppEditPage {
    console: ConsoleLayout,
    errors: FormErrors,
    id: String,
    name: String,
    display_name: Field,
    description: Field,
    description_text: String,
    icon_url: Field,
    monthly_cost: Field,
    instructions: Field,
    instructions_text: String,
    may_write: bool,
}

impl_console_page!(AppEditPage);

#[derive(Template)]
#[template(path = "console/app_delete.html")]
struct AppDeletePage {
    console: ConsoleLayout,
    id: String,
    name: String,
    owners: usize,
}

impl_console_page!(AppDeletePage);

fn refuse_without_write(console: &Console) -> Option<Response> {
    (!console.may(Permission::AppWrite))
        .then(|| console.refusal(&CoreError::permission_denied("permission denied: this call requires app:write")))
}

fn app_edit_form(
    console: &Console,
    app: &onramp_store::App,
    form: &AppEdit,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let page = AppEditPage {
        console: console.layout(format!("Edit {}", app.display_name), PATH),
        id: app.id.to_string(),
        name: app.display_name.clone(),
        display_name: Field::text("displayName", "Name").value(&form.display_name).required().checked(&errors),
        description: Field::text("description", "Description").checked(&errors),
        description_text: form.description.clone(),
        icon_url: Field::text("iconUrl", "Icon URL")
            .of_type("url")
            .hint("An image's address, shown beside the app's name in ConductorOne.")
            .value(&form.icon_url)
            .checked(&errors),
        monthly_cost: Field::text("monthlyCostUsd", "Monthly cost in US dollars")
            .hint("A whole number; 0 when it costs nothing.")
            .value(&form.monthly_cost_usd)
            .checked(&errors),
        instructions: Field::text("instructions", "Instructions")
            .hint("What someone asking for access should know.")
            .checked(&errors),
        instructions_text: form.instructions.clone(),
        may_write: true,
        errors,
    };
    let mut page = page;
    page.monthly_cost.inputmode = Some("numeric");
    render(status, &page)
}

async fn edit_page(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Response {
    let app = match app_id(&id) {
        Ok(id) => state.core.get_app(&console.principal, &id).await,
        Err(error) => Err(error),
    };
    let app = match app {
        Ok(app) => app,
        Err(error) => return console.refusal(&error),
    };
    if let Some(refused) = refuse_without_write(&console) {
        return refused;
    }
    let form = AppEdit {
        display_name: app.display_name.clone(),
        description: app.description.clone(),
        icon_url: app.icon_url.clone(),
        monthly_cost_usd: app.monthly_cost_usd.to_string(),
        instructions: app.instructions.clone(),
    };
    app_edit_form(&console, &app, &form, FormErrors::none(), StatusCode::OK)
}

/// The API's update input of the edit form; the cost must be a whole number (empty: 0).
fn app_input(form: &AppEdit) -> Result<AppInput, CoreError> {
    let cost = form.monthly_cost_usd.trim();
    let cost: i64 = if cost.is_empty() {
        0
    } else {
        cost.parse().map_err(|_| CoreError::invalid_field("monthlyCostUsd", "must be a whole number"))?
    };
    let body = json!({
        "displayName": form.display_name,
        "description": form.description,
        "iconUrl": form.icon_url.trim(),
        "monthlyCostUsd": cost,
        "instructions": form.instructions,
    });
    serde_json::from_value(body).map_err(|_| CoreError::invalid_field("monthlyCostUsd", "is too large"))
}

/// Saves the edit form through the API's `AppInput` and the same use case as `POST /api/v1/apps/{id}`
/// (`Core::update_app`, `app:write`).
async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<AppEdit>,
) -> Response {
    let id = match app_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let updated = match app_input(&form) {
        Ok(input) => {
            let paths = input.paths_set();
            state.core.update_app(&console.principal, &id, |app| Ok(input.apply(app, &paths)?)).await
        }
        Err(error) => Err(error),
    };
    match updated {
        Ok(app) => see_other(&format!("{PATH}/{}?done=saved", app.id)),
        Err(error) if on_the_form(&error) => {
            let app = match state.core.get_app(&console.principal, &id).await {
                Ok(app) => app,
                Err(error) => return console.refusal(&error),
            };
            let errors = form_errors(&error, &EDIT_FIELDS, "displayName");
            app_edit_form(&console, &app, &form, errors, status_of(error.code))
        }
        Err(error) => console.refusal(&error),
    }
}

async fn delete_page(State(state): State<AppState>, console: Console, Path(id): Path<String>) -> Response {
    let id = match app_id(&id) {
        Ok(id) => id,
        Err(error) => return console.refusal(&error),
    };
    let app = match state.core.get_app(&console.principal, &id).await {
        Ok(app) => app,
        Err(error) => return console.refusal(&error),
    };
    if let Some(refused) = refuse_without_write(&console) {
        return refused;
    }
    let owners = match state.core.list_app_owners(&console.principal, &id, None, None, 1000).await {
        Ok(owners) => owners.len(),
        Err(error) => return console.refusal(&error),
    };
    let page = AppDeletePage {
        console: console.layout(format!("Delete {}?", app.display_name), PATH),
        id: id.to_string(),
        name: app.display_name,
        owners,
    };
    render(StatusCode::OK, &page)
}

/// Deletes the app and its ownerships through `Core::delete_app`, as `DELETE /api/v1/apps/{id}`.
async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Response {
    let deleted = match app_id(&id) {
        Ok(id) => state.core.delete_app(&console.principal, &id).await,
        Err(error) => Err(error),
    };
    match deleted {
        Ok(()) => see_other(&format!("{PATH}?done=deleted")),
        Err(error) => console.refusal(&error),
    }
}
