//! Two-step sign-in on the account page: `GET /account/two-step` shows the enrolment under way (a QR code
//! drawn as inline SVG, and the key in text) with the field for a first code; starting, confirming and
//! turning off are POSTs. The recovery codes are shown once, in the answer to the confirming POST (they
//! exist nowhere else in plain text), on a page that is not stored by any cache.

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use onramp_core::account::AccountSession;
use onramp_core::totp::TotpSetup;
use onramp_domain::Secret;
use qrcodegen::{QrCode, QrCodeEcc};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::web::account::{account_post, account_response, client_info, refused_status, signed_in};
use crate::web::form::{Field, FormErrors};
use crate::web::page::{Layout, Page, render, see_other};
use crate::web::session;
use crate::web::{branding, refusal_page, with_retry_after};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/account/two-step",
            setup_page,
            Doc::page("onramp.pages.TwoStepSetup", "The two-step sign-in being set up: QR code, key, first code")
                .html()
                .redirect(),
        )
        .post(
            "/account/two-step/start",
            start,
            Doc::page("onramp.pages.TwoStepStart", "Start setting up two-step sign-in").form::<CsrfOnly>().redirect(),
        )
        .post(
            "/account/two-step/confirm",
            confirm,
            Doc::page(
                "onramp.pages.TwoStepConfirm",
                "Turn two-step sign-in on with a first code; shows the recovery codes once",
            )
            .form::<ConfirmForm>()
            .html()
            .redirect(),
        )
        .post(
            "/account/two-step/off",
            turn_off,
            Doc::page("onramp.pages.TwoStepOff", "Turn two-step sign-in off with the password and a code")
                .form::<OffForm>()
                .redirect(),
        )
}

/// A QR code as the path of an SVG: one `h1v1h-1z` square per dark module, with a quiet zone of 4.
pub struct QrSvg {
    /// The side of the view box, modules plus the quiet zone.
    pub side: i32,
    pub path: String,
}

fn qr_svg(text: &str) -> Option<QrSvg> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{} {}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    Some(QrSvg { side: size + 8, path })
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
struct SetupPage {
    layout: Layout,
    errors: FormErrors,
    csrf: String,
    qr: Option<QrSvg>,
    secret_text: String,
    code: Field,
}

impl Page for SetupPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

async fn setup_response(
    state: &AppState,
    headers: &HeaderMap,
    session: &AccountSession,
    setup: TotpSetup,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let (csrf, _) = session::form_token(state, headers);
    let mut code = Field::text("code", "Code from your app")
        .hint("6 digits, as your app shows them now.")
        .autocomplete("one-time-code")
        .required()
        .length(Some(6), 8)
        .checked(&errors);
    code.inputmode = Some("numeric");
    let page = SetupPage {
        layout: Layout::new("Set up two-step sign-in", &branding(state, Some(&session.user().tenant_id)).await),
        errors,
        csrf,
        qr: qr_svg(&setup.uri),
        secret_text: setup.secret_text,
        code,
    };
    render(status, &page)
}

async fn setup_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers, "/account/two-step").await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match state.core.totp_setup(&session).await {
        Ok(Some(setup)) => setup_response(&state, &headers, &session, setup, FormErrors::none(), StatusCode::OK).await,
        Ok(None) => see_other("/account"),
        Err(error) => refusal_page(&error, &branding(&state, Some(&session.user().tenant_id)).await, "page"),
    }
}

#[derive(Deserialize, JsonSchema)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn start(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfOnly>) -> Response {
    let session = match account_post(&state, &headers, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match state.core.begin_totp(&session).await {
        Ok(_) => see_other("/account/two-step"),
        Err(error) => refusal_page(&error, &branding(&state, Some(&session.user().tenant_id)).await, "page"),
    }
}

#[derive(Deserialize, JsonSchema)]
struct ConfirmForm {
    csrf: Option<String>,
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "totp_codes.html")]
struct CodesPage {
    layout: Layout,
    codes: Vec<String>,
}

impl Page for CodesPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

async fn confirm(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let session = match account_post(&state, &headers, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let client = client_info(client, &headers);
    match state.core.confirm_totp(&client, &session, &form.code).await {
        Ok(codes) => {
            let page = CodesPage {
                layout: Layout::new(
                    "Save your recovery codes",
                    &branding(&state, Some(&session.user().tenant_id)).await,
                ),
                codes,
            };
            render(StatusCode::OK, &page)
        }
        Err(error) => {
            let errors = FormErrors::from_core(&error, &[("code", "code", "Code")], "code");
            let response = match state.core.totp_setup(&session).await {
                Ok(Some(setup)) => {
                    setup_response(&state, &headers, &session, setup, errors, refused_status(&error)).await
                }
                _ => refusal_page(&error, &branding(&state, Some(&session.user().tenant_id)).await, "page"),
            };
            with_retry_after(response, &error)
        }
    }
}

#[derive(Deserialize, JsonSchema)]
struct OffForm {
    csrf: Option<String>,
    #[serde(rename = "totpPassword", default)]
    password: String,
    #[serde(rename = "totpCode", default)]
    code: String,
}

async fn turn_off(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<OffForm>,
) -> Response {
    let session = match account_post(&state, &headers, form.csrf.as_deref()).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let client = client_info(client, &headers);
    match state.core.disable_totp(&client, &session, Secret::new(form.password), &form.code).await {
        Ok(()) => see_other("/account?done=totp-off"),
        Err(error) => {
            let fields = [("currentPassword", "totpPassword", "Your password"), ("code", "totpCode", "Code")];
            let errors = FormErrors::from_core(&error, &fields, "totpCode");
            let response =
                account_response(&state, &headers, &session, errors, None, None, refused_status(&error)).await;
            with_retry_after(response, &error)
        }
    }
}
