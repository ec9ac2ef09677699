//! The console's Settings at `/console/settings`: the tenant's branding (name, accent colour, logo upload)
//! and whether the console requires a second factor (`POST /console/settings/tenant`, multipart for the
//! logo), and its onboarding settings (`POST /console/settings/onboarding`). Each form becomes the body the
//! API reads (`TenantSettingsInput`, the onboarding `UpdateInput`), parsed and validated by the same code,
//! and goes to the same use cases (`Core::update_tenant_settings`, `Core::update_onboarding_settings`,
//! `settings:write`). The MCP targets and the conversation id stay the API's.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onramp_core::error::CoreError;
use onramp_domain::Permission;
use onramp_domain::settings::OnboardingStatus;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::status_of;
use crate::impl_console_page;
use crate::state::AppState;
use crate::web::console::directories::Choice;
use crate::web::console::{Console, ConsoleForm, ConsoleLayout, ConsoleMultipart, Done, form_errors, on_the_form};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{render, see_other};
use crate::wire::settings::UpdateInput;
use crate::wire::tenant_settings::TenantSettingsInput;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/console/settings",
            show,
            Doc::page("onramp.pages.ConsoleSettings", "The console: branding, sign-in and onboarding settings")
                .query::<Done>()
                .html()
                .redirect(),
        )
        .post(
            "/console/settings/tenant",
            save_tenant,
            Doc::page(
                "onramp.pages.ConsoleSettingsTenant",
                "Save the branding (logo upload) and the second-factor requirement",
            )
            .multipart::<crate::web::account::CsrfOnly>()
            .redirect()
            .html(),
        )
        .post(
            "/console/settings/onboarding",
            save_onboarding,
            Doc::page("onramp.pages.ConsoleSettingsOnboarding", "Save the onboarding settings")
                .console_form::<Onboarding>()
                .redirect()
                .html(),
        )
}

const PATH: &str = "/console/settings";

const FIELDS: [(&str, &str, &str); 8] = [
    ("displayName", "displayName", "Name shown to people"),
    ("accentColor", "accentColor", "Accent colour"),
    ("logo", "logo", "Logo"),
    ("userEditableFields", "editable-0", "Fields people edit"),
    ("mcpOnboardingGoal", "goal", "Goal"),
    ("intents", "intents", "Intents"),
    ("orgContext.industry", "industry", "Industry"),
    ("orgContext.organizationSize", "organizationSize", "Organisation size"),
];

/// The branding form's values.
#[derive(Default)]
struct Branding {
    display_name: String,
    accent_color: String,
    requires_second_factor: bool,
    /// The profile fields people may edit on /account (`userEditableFields`); None: the form had no such
    /// field (a client of an older page), which leaves them as they are.
    user_editable_fields: Option<Vec<String>>,
}

/// A profile field's checkbox in the branding form.
struct EditableBox {
    id: String,
    name: &'static str,
    label: &'static str,
    checked: bool,
}

/// The words of each field of `EDITABLE_FIELDS`.
fn editable_label(field: &str) -> &'static str {
    match field {
        "displayName" => "Name",
        "jobTitle" => "Job title",
        "department" => "Department",
        _ => "Employment type",
    }
}

/// The onboarding form's values.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct Onboarding {
    status: String,
    goal: String,
    intents: String,
    industry: String,
    organization_size: String,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    console: ConsoleLayout,
    may_write: bool,
    done: Option<&'static str>,
    errors: FormErrors,
    display_name: Field,
    accent_color: Field,
    logo: Field,
    logo_url: Option<String>,
    requires_second_factor: bool,
    editable: Vec<EditableBox>,
    editable_error: Option<String>,
    /// The fields people edit, in words, for the read-only view.
    editable_words: String,
    statuses: Vec<Choice>,
    goal: Field,
    goal_text: String,
    intents: Field,
    intents_text: String,
    industry: Field,
    organization_size: Field,
    conversation_id: String,
}

impl_console_page!(SettingsPage);

fn status_label(status: OnboardingStatus) -> &'static str {
    match status {
        OnboardingStatus::NotStarted => "Not started",
        OnboardingStatus::InProgress => "In progress",
        OnboardingStatus::Complete => "Complete",
        OnboardingStatus::Dismissed => "Dismissed",
    }
}

async fn page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    branding: Option<Branding>,
    onboarding: Option<Onboarding>,
    errors: FormErrors,
    done: Option<&'static str>,
) -> Response {
    let tenant = match state.core.tenant_settings(&console.principal).await {
        Ok(settings) => settings,
        Err(error) => return console.refusal(&error),
    };
    let settings = match state.core.onboarding_settings(&console.principal).await {
        Ok(settings) => settings,
        Err(error) => return console.refusal(&error),
    };
    let branding = branding.unwrap_or(Branding {
        display_name: tenant.display_name.clone(),
        accent_color: tenant.accent_color.clone(),
        requires_second_factor: tenant.console_requires_second_factor,
        user_editable_fields: Some(tenant.user_editable_fields.clone()),
    });
    let editable_now = branding.user_editable_fields.clone().unwrap_or_else(|| tenant.user_editable_fields.clone());
    let editable: Vec<EditableBox> = onramp_domain::branding::EDITABLE_FIELDS
        .iter()
        .enumerate()
        .map(|(i, field)| EditableBox {
            id: format!("editable-{i}"),
            name: field,
            label: editable_label(field),
            checked: editable_now.iter().any(|f| f == field),
        })
        .collect();
    let editable_words = {
        let words: Vec<&str> = editable.iter().filter(|b| b.checked).map(|b| b.label).collect();
        if words.is_empty() { "None".to_string() } else { words.join(", ") }
    };
    let onboarding = onboarding.unwrap_or(Onboarding {
        status: settings.status.wire().to_string(),
        goal: settings.mcp_goal.clone(),
        intents: settings.intents.join("\n"),
        industry: settings.org_context.industry.clone(),
        organization_size: settings.org_context.organization_size.clone(),
    });
    let page = SettingsPage {
        console: console.layout("Settings", PATH),
        may_write: console.may(Permission::SettingsWrite),
        done,
        display_name: Field::text("displayName", "Name shown to people")
            .hint("On every page and email. Empty shows the tenant's name.")
            .value(&branding.display_name)
            .length(None, 100)
            .checked(&errors),
        accent_color: Field::text("accentColor", "Accent colour")
            .hint("A colour such as #0b5cad, for buttons and the header's line. Empty uses onramp's.")
            .value(&branding.accent_color)
            .checked(&errors),
        logo: Field::text("logo", "Logo")
            .of_type("file")
            .hint("PNG, JPEG, GIF or WebP, up to 256 KiB.")
            .checked(&errors),
        logo_url: tenant.logo.as_ref().map(onramp_core::branding::logo_path),
        requires_second_factor: branding.requires_second_factor,
        editable,
        editable_error: errors.message("editable-0").map(str::to_string),
        editable_words,
        statuses: OnboardingStatus::ALL
            .iter()
            .map(|s| Choice {
                value: s.wire().to_string(),
                label: status_label(*s).to_string(),
                selected: onboarding.status == s.wire(),
            })
            .collect(),
        goal: Field::text("goal", "Goal").hint("What the tenant's onboarding is for.").checked(&errors),
        goal_text: onboarding.goal,
        intents: Field::text("intents", "Intents").hint("One per line.").checked(&errors),
        intents_text: onboarding.intents,
        industry: Field::text("industry", "Industry").value(&onboarding.industry).checked(&errors),
        organization_size: Field::text("organizationSize", "Organisation size")
            .value(&onboarding.organization_size)
            .checked(&errors),
        conversation_id: settings.conversation_id,
        errors,
    };
    render(status, &page)
}

async fn show(State(state): State<AppState>, console: Console, Query(done): Query<Done>) -> Response {
    let done = match done.done.as_deref() {
        Some("tenant") => Some("The branding and sign-in settings were saved."),
        Some("onboarding") => Some("The onboarding settings were saved."),
        _ => None,
    };
    page(&state, &console, StatusCode::OK, None, None, FormErrors::none(), done).await
}

/// The refused form again with its errors, or the refusal's page.
async fn refused(
    state: &AppState,
    console: &Console,
    error: CoreError,
    branding: Option<Branding>,
    onboarding: Option<Onboarding>,
) -> Response {
    if !on_the_form(&error) {
        return console.refusal(&error);
    }
    let fallback = if branding.is_some() { "displayName" } else { "goal" };
    let errors = form_errors(&error, &FIELDS, fallback);
    page(state, console, status_of(error.code), branding, onboarding, errors, None).await
}

async fn save_tenant(State(state): State<AppState>, form: ConsoleMultipart) -> Response {
    let branding = Branding {
        display_name: form.text("displayName"),
        accent_color: form.text("accentColor").trim().to_string(),
        requires_second_factor: !form.text("consoleRequiresSecondFactor").is_empty(),
        user_editable_fields: (!form.text("userEditableFields.shown").is_empty()).then(|| {
            form.parts
                .iter()
                .filter(|part| part.name == "userEditableFields" && part.file_name.is_none())
                .map(|part| String::from_utf8_lossy(&part.bytes).into_owned())
                .collect()
        }),
    };
    let mut body = json!({
        "displayName": branding.display_name,
        "accentColor": branding.accent_color,
        "consoleRequiresSecondFactor": branding.requires_second_factor,
    });
    if let Some(fields) = &branding.user_editable_fields {
        body["userEditableFields"] = json!(fields);
    }
    if let Some(file) = form.file("logo") {
        body["logo"] = json!({"contentType": file.content_type, "data": STANDARD.encode(&file.bytes)});
    } else if !form.text("removeLogo").is_empty() {
        body["logo"] = json!({});
    }
    let input: TenantSettingsInput = serde_json::from_value(body).expect("the form's body is the input's shape");
    match state.core.update_tenant_settings(&form.console.principal, || Ok(input.into_update()?)).await {
        Ok(_) => see_other(&format!("{PATH}?done=tenant")),
        Err(error) => refused(&state, &form.console, error, Some(branding), None).await,
    }
}

async fn save_onboarding(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<Onboarding>,
) -> Response {
    let intents: Vec<&str> = form.intents.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let body: Value = json!({
        "status": form.status,
        "mcpOnboardingGoal": form.goal,
        "intents": intents,
        "orgContext": {"industry": form.industry.trim(), "organizationSize": form.organization_size.trim()},
    });
    let input: UpdateInput = match serde_json::from_value(body) {
        Ok(input) => input,
        Err(error) => {
            let error = CoreError::invalid_field("status", error);
            return refused(&state, &console, error, None, Some(form)).await;
        }
    };
    match state.core.update_onboarding_settings(&console.principal, || Ok(input.into_update()?)).await {
        Ok(_) => see_other(&format!("{PATH}?done=onboarding")),
        Err(error) => refused(&state, &console, error, None, Some(form)).await,
    }
}
