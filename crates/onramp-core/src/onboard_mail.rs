//! The emails of an onboard, one function each, beside the invitation's (`invite.rs`): the request to its
//! approver, the notice to its sponsor that no approver can be found, and the notice of its failure to the
//! invitee and the sponsor. (The notify emails of a completion are in `onboards.rs`.) Each is multipart,
//! text and HTML from the one email template (`emails::render`), in the tenant's branding.
//!
//! An approval request carries its link's secret, like an invitation email: the bodies hold it only until
//! the message is sent or cancelled (deciding through the link cancels its unsent emails).

use onramp_domain::time_words::TimeInWords;
use onramp_domain::user::User;
use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::{ApprovalLink, Onboard, OutboxMessage};

use crate::branding::Branding;
use crate::emails::{self, Action, EmailContent, Envelope};

/// The approval page's link of a secret.
pub fn approval_link(public_url: &str, token: &Secret<String>) -> String {
    format!("{}/approve/{}", public_url.trim_end_matches('/'), token.expose())
}

/// Whose look an onboard's email takes, and the public URL (for the logo).
pub struct Look<'a> {
    pub branding: &'a Branding,
    pub public_url: &'a str,
}

/// The request to `approver` to approve `invitee`'s onboarding into `into` (the directory's name), with
/// the link that decides it. None for an approver without an email (a user provisioned without one):
/// the link is still made, and nothing is mailed.
pub fn approval_request_email(
    link: &ApprovalLink,
    invitee: &User,
    approver: &User,
    into: &str,
    url: &str,
    look: &Look,
) -> Option<OutboxMessage> {
    let recipient = approver.email.as_ref()?.as_str();
    let expires = TimeInWords::new(link.expires_at, Timestamp::now());
    let content = EmailContent {
        subject: format!("Approve {} joining {into}", invitee.display_name),
        greeting: format!("Hello {},", approver.display_name),
        paragraphs: vec![
            format!(
                "{} ({}) is onboarding into {into} at {} and is waiting for your approval.",
                invitee.display_name,
                invitee.email_str(),
                look.branding.name
            ),
            format!("Until you decide, {}'s account stays inactive.", invitee.display_name),
        ],
        action: Some(Action { label: "Approve or reject".to_string(), url: url.to_string() }),
        after: vec![format!("The link works once and expires {} ({}).", expires.phrase(), expires.exact)],
    };
    let envelope = Envelope { tenant_id: link.tenant_id, kind: "approval", subject_id: link.id, recipient };
    Some(emails::render(&envelope, look.branding, look.public_url, &content))
}

/// The notice to `sponsor` that `invitee`'s onboarding waits on an approval nobody can give: the step names
/// no approver and the user has no manager. None for a sponsor without an email.
pub fn no_approver_email(
    onboard: &Onboard,
    invitee: &User,
    sponsor: &User,
    into: &str,
    look: &Look,
) -> Option<OutboxMessage> {
    let recipient = sponsor.email.as_ref()?.as_str();
    let content = EmailContent {
        subject: format!("{}'s onboarding needs an approver", invitee.display_name),
        greeting: format!("Hello {},", sponsor.display_name),
        paragraphs: vec![
            format!(
                "{name} ({email}) is onboarding into {into} and waits for a manager's approval, but nobody can give \
                 it: the step names no approver and {name} has no manager in onramp.",
                name = invitee.display_name,
                email = invitee.email_str(),
            ),
            format!("Set {}'s manager in onramp: the manager is then emailed a link to approve.", invitee.display_name),
        ],
        action: None,
        after: Vec::new(),
    };
    let envelope = Envelope { tenant_id: onboard.tenant_id, kind: "onboard", subject_id: onboard.id, recipient };
    Some(emails::render(&envelope, look.branding, look.public_url, &content))
}

/// What the notices of a failed onboarding say: whose onboarding, into what, and why. `subject_id` is the
/// onboard.
pub struct FailureNotice<'a> {
    pub tenant_id: Id,
    pub subject_id: Id,
    pub invitee_name: &'a str,
    pub invitee_email: &'a str,
    pub into: &'a str,
    pub reason: &'a str,
}

/// The failure notice for the invitee.
pub fn onboard_failed_invitee_email(notice: &FailureNotice<'_>, look: &Look) -> OutboxMessage {
    let content = EmailContent {
        subject: format!("Your onboarding into {} has stopped", notice.into),
        greeting: format!("Hello {},", notice.invitee_name),
        paragraphs: vec![
            format!(
                "Your onboarding into {} at {} has stopped, and your account will not be activated.",
                notice.into, look.branding.name
            ),
            format!("Reason: {}", notice.reason),
        ],
        action: None,
        after: vec!["If you think this is a mistake, contact whoever invited you.".to_string()],
    };
    let envelope = Envelope {
        tenant_id: notice.tenant_id,
        kind: "onboard",
        subject_id: notice.subject_id,
        recipient: notice.invitee_email,
    };
    emails::render(&envelope, look.branding, look.public_url, &content)
}

/// The failure notice for the sponsor (`to`); None for a sponsor without an email.
pub fn onboard_failed_sponsor_email(notice: &FailureNotice<'_>, to: &User, look: &Look) -> Option<OutboxMessage> {
    let recipient = to.email.as_ref()?.as_str();
    let content = EmailContent {
        subject: format!("{}'s onboarding into {} has stopped", notice.invitee_name, notice.into),
        greeting: format!("Hello {},", to.display_name),
        paragraphs: vec![
            format!(
                "The onboarding of {} ({}) into {} has stopped, and their account will not be activated.",
                notice.invitee_name, notice.invitee_email, notice.into
            ),
            format!("Reason: {}", notice.reason),
        ],
        action: None,
        after: Vec::new(),
    };
    let envelope = Envelope { tenant_id: notice.tenant_id, kind: "onboard", subject_id: notice.subject_id, recipient };
    Some(emails::render(&envelope, look.branding, look.public_url, &content))
}
