//! What the invitee's pages read, gathered for them so that no page reads the store: an invitation with
//! who sent it and where to (or, for an expired or revoked one, when it ended and who sent it), an onboard
//! by its id. Opening an invitation page is limited as the API's
//! lookup of a link is (`open_invitation`); the onboard's page is guarded by its session in `onramp-api`.

use std::net::IpAddr;

use onramp_domain::{Id, Timestamp};
use onramp_store::{Invitation, InvitationStatus, Onboard, SecretRefusal};

use crate::Core;
use crate::branding::Branding;
use crate::error::{CoreError, CoreResult};

/// What an invitation's link opens.
#[derive(Clone, Debug)]
pub enum InvitationOpened {
    Open(Box<InvitationPage>),
    Ended(EndedInvitation),
}

/// How an invitation ended before it was accepted, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Expired { at: Timestamp },
    Revoked { at: Timestamp },
}

/// The public facts of an expired or revoked invitation, for the page of its link: how and when it ended
/// and whom to ask for a new one. Nothing else of the invitation (no email, no purpose).
#[derive(Clone, Debug)]
pub struct EndedInvitation {
    pub how: Ended,
    /// The user who created the invitation; None for a self-registration or a user since deleted.
    pub inviter: Option<Person>,
    pub self_registered: bool,
    pub branding: Branding,
}

/// A person named on a page: who invited you, who must approve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    /// '' for a user without an email.
    pub email: String,
}

/// An open invitation as its page shows it.
#[derive(Clone, Debug)]
pub struct InvitationPage {
    pub invitation: Invitation,
    /// The local directory the invitee joins.
    pub directory_name: String,
    /// The user who created the invitation; None for a self-registration or a user since deleted.
    pub inviter: Option<Person>,
    pub branding: Branding,
}

impl Core {
    /// What the page of an invitation's link shows: the open invitation with who sent it and where to, or
    /// for an expired or revoked one, when it ended and who sent it (so the holder of the link knows whom
    /// to ask); a used or unknown link is refused as `open_invitation` refuses it (limits included).
    pub async fn invitation_page(&self, client: Option<IpAddr>, token: &str) -> CoreResult<InvitationOpened> {
        let invitation = self.invitation_of_secret(client, token).await?;
        let tenant = invitation.tenant_id;
        let ended = match invitation.status_at(Timestamp::now()) {
            InvitationStatus::Pending => None,
            InvitationStatus::Accepted => return Err(CoreError::refused(SecretRefusal::Used)),
            InvitationStatus::Expired => Some(Ended::Expired { at: invitation.expires_at }),
            // A revoked invitation is never changed again: its last change is the revocation.
            InvitationStatus::Revoked => Some(Ended::Revoked { at: invitation.updated_at }),
        };
        let inviter = match &invitation.invited_by_user_id {
            Some(id) => self.person(&tenant, id).await,
            None => None,
        };
        let branding = self.branding(Some(&tenant)).await?;
        if let Some(how) = ended {
            let self_registered = invitation.invited_by_user_id.is_none();
            return Ok(InvitationOpened::Ended(EndedInvitation { how, inviter, self_registered, branding }));
        }
        let directory_name = match self.store.get_local_directory(&tenant, &invitation.directory_app_id).await {
            Ok(directory) => directory.display_name,
            Err(_) => String::new(),
        };
        Ok(InvitationOpened::Open(Box::new(InvitationPage { invitation, directory_name, inviter, branding })))
    }

    /// A user by id as a page names them; None when there is no such user (any more).
    pub async fn person(&self, tenant: &Id, id: &Id) -> Option<Person> {
        let user = self.store.get_user(tenant, id).await.ok()?;
        Some(Person { email: user.email_str().to_string(), name: user.display_name })
    }

    /// The onboard a page's path names.
    pub async fn onboard_for_page(&self, id: &Id) -> CoreResult<Onboard> {
        Ok(self.store.find_onboard(id).await?)
    }
}
