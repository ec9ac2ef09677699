//! What the invitee's pages read, gathered for them so that no page reads the store: an invitation with
//! who sent it and where to, an onboard by its id. Opening an invitation page is limited as the API's
//! lookup of a link is (`open_invitation`); the onboard's page is guarded by its session in `onramp-api`.

use std::net::IpAddr;

use onramp_domain::Id;
use onramp_store::{Invitation, Onboard};

use crate::Core;
use crate::branding::Branding;
use crate::error::CoreResult;

/// A person named on a page: who invited you, who must approve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub name: String,
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
    /// The invitation of a link with what its page names, or why it opens nothing (as `open_invitation`).
    pub async fn invitation_page(&self, client: Option<IpAddr>, token: &str) -> CoreResult<InvitationPage> {
        let invitation = self.open_invitation(client, token).await?;
        let tenant = invitation.tenant_id;
        let directory_name = match self.store.get_local_directory(&tenant, &invitation.directory_app_id).await {
            Ok(directory) => directory.display_name,
            Err(_) => String::new(),
        };
        let inviter = match &invitation.invited_by_user_id {
            Some(id) => self.person(&tenant, id).await,
            None => None,
        };
        let branding = self.branding(Some(&tenant)).await?;
        Ok(InvitationPage { invitation, directory_name, inviter, branding })
    }

    /// A user by id as a page names them; None when there is no such user (any more).
    pub async fn person(&self, tenant: &Id, id: &Id) -> Option<Person> {
        let user = self.store.get_user(tenant, id).await.ok()?;
        Some(Person { name: user.display_name, email: user.email.as_str().to_string() })
    }

    /// The onboard a page's path names.
    pub async fn onboard_for_page(&self, id: &Id) -> CoreResult<Onboard> {
        Ok(self.store.find_onboard(id).await?)
    }
}
