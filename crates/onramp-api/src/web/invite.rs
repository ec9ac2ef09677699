//! The invitation page: `GET /invite/{token}` shows who invites you to what and the accept form,
//! `POST /invite/{token}` submits it.
//!
//! Opening the link never consumes it (mail scanners open links before people do); only submitting the
//! form does. The page's URL holds the secret, so it is never stored by a cache and sent with
//! `Referrer-Policy: same-origin` (`page::render`).

use crate::openapi::{ApiRouter, Doc};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use onramp_core::error::Code;
use onramp_core::pages::{Ended, EndedInvitation, InvitationOpened, InvitationPage, Person};
use onramp_core::password::PASSWORD_LENGTH;
use onramp_domain::time_words::TimeInWords;
use onramp_domain::{Secret, Timestamp};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::web::account::{LinkMessagePage, client_info, forged};
use crate::web::form::{CONFIRM_FIELD, Field, FormErrors, NewPassword, confirmation_matches};
use crate::web::page::{Layout, Page, render};
use crate::web::session;
use crate::web::{branding, refusal_page};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/invite/{token}",
            show,
            Doc::page("onramp.pages.Invite", "The invitee's page for an invitation link").html(),
        )
        .post(
            "/invite/{token}",
            submit,
            Doc::page("onramp.pages.AcceptInvite", "Accept the invitation from its page").form::<AcceptForm>().html(),
        )
}

/// The accept form.
#[derive(Template)]
#[template(path = "invite.html")]
struct AcceptPage {
    layout: Layout,
    errors: FormErrors,
    inviter: Option<Person>,
    self_registered: bool,
    /// "Engineering at Acme".
    joining: String,
    purpose: String,
    email: String,
    expires: TimeInWords,
    name: Field,
    password: NewPassword,
    /// The anti-forgery token of the form.
    csrf: String,
}

impl Page for AcceptPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// What the invitee has joined, and where to go next.
#[derive(Template)]
#[template(path = "invite_done.html")]
struct AcceptedPage {
    layout: Layout,
    name: String,
    email: String,
    onboarding_url: Option<String>,
}

impl Page for AcceptedPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// The page of an expired or withdrawn invitation: when, and whom to ask for a new one.
#[derive(Template)]
#[template(path = "invite_ended.html")]
struct EndedPage {
    layout: Layout,
    /// "expired", "was withdrawn".
    what: &'static str,
    when: TimeInWords,
    /// Whom to ask, and for what.
    next: String,
}

impl Page for EndedPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

fn ended_page(ended: &EndedInvitation, now: Timestamp) -> EndedPage {
    let (title, what, at) = match ended.how {
        Ended::Expired { at } => ("This invitation has expired", "expired", at),
        Ended::Revoked { at } => ("This invitation was withdrawn", "was withdrawn", at),
    };
    let next = match (&ended.inviter, ended.how) {
        (Some(inviter), Ended::Expired { .. }) => {
            format!("Ask {} ({}) to send you a new one.", inviter.name, inviter.email)
        }
        (Some(inviter), Ended::Revoked { .. }) => {
            format!("{} ({}) invited you: ask them whether you should still join.", inviter.name, inviter.email)
        }
        (None, _) if ended.self_registered => "Ask to join again to get a new link.".to_string(),
        (None, _) => "Ask the person who invited you to send you a new one.".to_string(),
    };
    EndedPage { layout: Layout::new(title, &ended.branding), what, when: TimeInWords::new(at, now), next }
}

/// The fields of the form as the core names them: (core name, element id, label).
const FIELDS: [(&str, &str, &str); 2] = [("displayName", "displayName", "Name"), ("password", "password", "Password")];

fn accept_page(opened: InvitationPage, display_name: &str, errors: FormErrors, csrf: String) -> AcceptPage {
    let InvitationPage { invitation, directory_name, inviter, branding } = opened;
    let joining = if directory_name.is_empty() || directory_name == branding.name {
        branding.name.clone()
    } else {
        format!("{directory_name} at {}", branding.name)
    };
    let rule = format!("{} characters or more. A few unrelated words are easy to remember.", PASSWORD_LENGTH.start());
    AcceptPage {
        layout: Layout::new("Accept your invitation", &branding),
        inviter,
        self_registered: invitation.invited_by_user_id.is_none(),
        joining,
        purpose: invitation.purpose.clone(),
        email: invitation.email.as_str().to_string(),
        expires: TimeInWords::new(invitation.expires_at, Timestamp::now()),
        name: Field::text("displayName", "Name")
            .hint("As others will see it.")
            .value(display_name)
            .autocomplete("name")
            .required()
            .length(None, 256)
            .checked(&errors),
        password: NewPassword::new(&rule, *PASSWORD_LENGTH.start(), *PASSWORD_LENGTH.end(), &errors),
        errors,
        csrf,
    }
}

async fn show(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    match state.core.invitation_page(client, &token).await {
        Ok(InvitationOpened::Ended(ended)) => render(StatusCode::GONE, &ended_page(&ended, Timestamp::now())),
        Ok(InvitationOpened::Open(opened)) => {
            let name = opened.invitation.display_name.clone();
            let (csrf, cookie) = session::form_token(&state, &headers);
            let mut response = render(StatusCode::OK, &accept_page(*opened, &name, FormErrors::none(), csrf));
            if let Some(cookie) = cookie {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => used_or_refused(&state, &error).await,
    }
}

/// The page of a link that cannot be used: an invitation accepted already leads to sign-in (and from
/// there to the person's account or onboarding); any other refusal says why.
async fn used_or_refused(state: &AppState, error: &onramp_core::error::CoreError) -> Response {
    if error.code == Code::AlreadyExists {
        let page = LinkMessagePage {
            layout: Layout::new("This invitation was accepted already", &branding(state, None).await),
            kind: "info",
            text: "This invitation has already been accepted, so your account exists.".into(),
            next: "Sign in to continue where you were: your onboarding if it is not finished, else your account."
                .into(),
            link: "/signin?next=%2F".into(),
            link_text: "Sign in".into(),
        };
        return render(crate::error::status_of(error.code), &page);
    }
    refusal_page(error, &branding(state, None).await, "invitation")
}

#[derive(Deserialize, JsonSchema)]
struct AcceptForm {
    csrf: Option<String>,
    #[serde(rename = "displayName", default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(rename = "passwordConfirm")]
    password_confirm: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    address: ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(input): Form<AcceptForm>,
) -> Response {
    if !session::form_is_genuine(&state, &headers, input.csrf.as_deref()) {
        return forged(&state).await;
    }
    let client = address.0;
    if !confirmation_matches(&input.password, input.password_confirm.as_deref()) {
        let mut errors = FormErrors::none();
        errors.add(CONFIRM_FIELD, "The two passwords are not the same: type the same password in both fields.");
        return refused_form(&state, &headers, client, &token, &input.display_name, errors).await;
    }
    let password = Secret::new(input.password);
    let info = client_info(address, &headers);
    match state.core.accept_invitation_signed_in(&info, &token, &input.display_name, password).await {
        Ok((onramp_store::Accepted { invitation, user, onboard }, signed_in)) => {
            let page = AcceptedPage {
                layout: Layout::new("Your account is created", &branding(&state, Some(&invitation.tenant_id)).await),
                name: user.display_name.clone(),
                email: invitation.email.as_str().to_string(),
                onboarding_url: onboard.as_ref().map(|onboard| format!("/onboarding/{}", onboard.id)),
            };
            // Accepting signed the invitee in: the session is theirs from this answer on.
            let mut response = render(StatusCode::OK, &page);
            response
                .headers_mut()
                .append(header::SET_COOKIE, session::session_cookie(&state, signed_in.token.expose()));
            response
        }
        // A bad field: the form again with the problem next to its field, keeping the name typed.
        Err(error) if error.code == Code::InvalidArgument => {
            let errors = FormErrors::from_core(&error, &FIELDS, "displayName");
            refused_form(&state, &headers, client, &token, &input.display_name, errors).await
        }
        // Expired or withdrawn since the form was shown: the page of the link says when, and whom to ask.
        Err(error) if error.code == Code::FailedPrecondition => {
            match state.core.invitation_page(client, &token).await {
                Ok(InvitationOpened::Ended(ended)) => render(StatusCode::GONE, &ended_page(&ended, Timestamp::now())),
                _ => used_or_refused(&state, &error).await,
            }
        }
        Err(error) => used_or_refused(&state, &error).await,
    }
}

/// The form again, 400, with `errors` and the name typed.
async fn refused_form(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
    token: &str,
    display_name: &str,
    errors: FormErrors,
) -> Response {
    match state.core.invitation_page(client, token).await {
        Ok(InvitationOpened::Open(opened)) => {
            let (csrf, _) = session::form_token(state, headers);
            render(StatusCode::BAD_REQUEST, &accept_page(*opened, display_name, errors, csrf))
        }
        Ok(InvitationOpened::Ended(ended)) => render(StatusCode::GONE, &ended_page(&ended, Timestamp::now())),
        Err(error) => refusal_page(&error, &branding(state, None).await, "invitation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_core::branding::Branding;
    use onramp_domain::{Email, Id};
    use onramp_store::{Invitation, InvitationStatus};

    fn opened(display_name: &str) -> InvitationPage {
        let now = Timestamp::now();
        let invitation = Invitation {
            id: Id::new(),
            tenant_id: Id::new(),
            directory_app_id: Id::new(),
            email: Email::parse("a@example.com").unwrap(),
            display_name: display_name.into(),
            initial_role_ids: vec![],
            sponsor_user_id: None,
            onboarding_flow_id: None,
            purpose: String::new(),
            job_id: String::new(),
            invited_by_user_id: Some(Id::new()),
            status: InvitationStatus::Pending,
            expires_at: now.plus_seconds(6 * 86_400 + 60),
            accepted_at: None,
            created_user_id: None,
            created_at: now,
            updated_at: now,
        };
        let inviter = Some(Person { name: "Ada <Lovelace>".into(), email: "ada@example.com".into() });
        let branding = Branding { name: "Acme & Co".into(), ..Branding::onramp() };
        InvitationPage { invitation, directory_name: "Engineering".into(), inviter, branding }
    }

    #[test]
    fn the_form_escapes_what_it_shows_and_ties_errors_to_fields() {
        let mut errors = FormErrors::none();
        errors.add("password", "Password: must be 12 to 1024 characters");
        let html = accept_page(opened("<script>"), "<script>", errors, "token".into()).render().unwrap();
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert_eq!(html.matches("<script").count(), 1, "only the layout's own script: {html}");
        assert!(
            html.contains("Ada &#60;Lovelace&#62; (ada@example.com) invited you to join Engineering at Acme &#38; Co")
        );
        assert!(html.contains(" days, on ") && html.contains("<time datetime=\""), "{html}");
        assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"password-hint password-error\""), "{html}");
        assert!(html.contains("href=\"#password\""), "the summary links to the field: {html}");
        assert!(html.contains("autocomplete=\"new-password\"") && html.contains("name=\"passwordConfirm\""));
        assert!(!html.contains("value=\"\" autocomplete=\"new-password\""), "a password is never sent back");
    }
}
