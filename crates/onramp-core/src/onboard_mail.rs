//! The emails of an onboard, one function each, beside the invitation's (`invite.rs`): the request to its
//! approver, the notice to its sponsor that no approver can be found, and the notice of its failure to the
//! invitee and the sponsor. (The notify emails of a completion are in `onboards.rs`.)
//!
//! An approval request carries its link's secret, like an invitation email: the body holds it only until the
//! message is sent or cancelled (deciding through the link cancels its unsent emails).

use onramp_domain::time_words::TimeInWords;
use onramp_domain::user::User;
use onramp_domain::{Secret, Timestamp};
use onramp_store::{ApprovalLink, Onboard, OutboxMessage};

/// The approval page's link of a secret.
pub fn approval_link(public_url: &str, token: &Secret<String>) -> String {
    format!("{}/approve/{}", public_url.trim_end_matches('/'), token.expose())
}

/// The request to `approver` to approve `invitee`'s onboarding into `into` (the directory's name), with
/// the link that decides it.
pub fn approval_request_email(
    link: &ApprovalLink,
    invitee: &User,
    approver: &User,
    into: &str,
    url: &str,
) -> OutboxMessage {
    let subject = format!("Approve {} joining {into}", invitee.display_name);
    let body = format!(
        "Hello {approver},\n\n{invitee} ({email}) is onboarding into {into} and is waiting for your approval.\n\n\
         To approve or reject, open this link:\n\n{url}\n\nThe link works once and expires {expires}. Until \
         you decide, {invitee}'s account stays inactive.\n",
        approver = approver.display_name,
        invitee = invitee.display_name,
        email = invitee.email.as_str(),
        expires = TimeInWords::new(link.expires_at, Timestamp::now()).phrase(),
    );
    OutboxMessage::new(link.tenant_id, "approval", link.id, approver.email.as_str(), &subject, body)
}

/// The notice to `sponsor` that `invitee`'s onboarding waits on an approval nobody can give: the step names
/// no approver and the user has no manager.
pub fn no_approver_email(onboard: &Onboard, invitee: &User, sponsor: &User, into: &str) -> OutboxMessage {
    let subject = format!("{}'s onboarding needs an approver", invitee.display_name);
    let body = format!(
        "Hello {sponsor},\n\n{invitee} ({email}) is onboarding into {into} and waits for a manager's approval, \
         but nobody can give it: the step names no approver and {invitee} has no manager in onramp.\n\n\
         Set {invitee}'s manager in onramp; the manager can then approve.\n",
        sponsor = sponsor.display_name,
        invitee = invitee.display_name,
        email = invitee.email.as_str(),
    );
    OutboxMessage::new(onboard.tenant_id, "onboard", onboard.id, sponsor.email.as_str(), &subject, body)
}

/// What the notices of a failed onboarding say: whose onboarding, into what, and why. `subject_id` is the
/// onboard (or, when the onboard's id is not at hand, its invitation).
pub struct FailureNotice<'a> {
    pub tenant_id: onramp_domain::Id,
    pub subject_id: onramp_domain::Id,
    pub invitee_name: &'a str,
    pub invitee_email: &'a str,
    pub into: &'a str,
    pub reason: &'a str,
}

/// The failure notice for the invitee.
pub fn onboard_failed_invitee_email(notice: &FailureNotice<'_>) -> OutboxMessage {
    let subject = format!("Your onboarding into {} has stopped", notice.into);
    let body = format!(
        "Hello {name},\n\nYour onboarding into {into} has stopped, and your account will not be activated.\n\n\
         Reason: {reason}\n\nIf you think this is a mistake, contact whoever invited you.\n",
        name = notice.invitee_name,
        into = notice.into,
        reason = notice.reason,
    );
    OutboxMessage::new(notice.tenant_id, "onboard", notice.subject_id, notice.invitee_email, &subject, body)
}

/// The failure notice for the sponsor (`to`).
pub fn onboard_failed_sponsor_email(notice: &FailureNotice<'_>, to: &User) -> OutboxMessage {
    let subject = format!("{}'s onboarding into {} has stopped", notice.invitee_name, notice.into);
    let body = format!(
        "Hello {sponsor},\n\nThe onboarding of {name} ({email}) into {into} has stopped, and their account will \
         not be activated.\n\nReason: {reason}\n",
        sponsor = to.display_name,
        name = notice.invitee_name,
        email = notice.invitee_email,
        into = notice.into,
        reason = notice.reason,
    );
    OutboxMessage::new(notice.tenant_id, "onboard", notice.subject_id, to.email.as_str(), &subject, body)
}
