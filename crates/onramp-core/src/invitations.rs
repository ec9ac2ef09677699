//! The use cases on invitations: invite, resend, revoke, self-register, open and accept.
//!
//! The secret leaves onramp only inside the email, which is queued in the outbox by the same transaction
//! that stores the secret's hash; the core wakes the delivery worker when that transaction commits.

use std::net::IpAddr;

use onramp_domain::text::{TextKind, check_text};
use onramp_domain::{Id, Permission, Secret, Timestamp};
use onramp_store::{
    Accepted, Actor, Delivery, Invitation, InvitationStatus, LocalDirectory, OutboxMessage, SecretRefusal, StoreError,
};

use crate::account::{ClientInfo, SignedIn};
use crate::error::{Code, CoreError, CoreResult};
use crate::invite::{self, invitation_email, new_token, token_hash};
use crate::limits::too_many;
use crate::password::new_password_hash;
use crate::{Core, Principal};

/// Free text of at most `max` characters on one line, trimmed, naming `field` when it is refused
/// (`onramp_domain::text`).
pub fn one_line(field: &str, value: Option<&str>, max: usize) -> CoreResult<String> {
    let value = value.map(str::trim).unwrap_or_default();
    check_text(value, TextKind::OneLine, max).map_err(|problem| CoreError::invalid_field(field, problem))?;
    Ok(value.to_string())
}

/// The answer to a store error about directory `app_id`.
pub fn directory_error(app_id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("local directory {app_id}")),
        other => other.into(),
    }
}

/// The answer to a store error about invitation `id`.
pub fn invitation_error(id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("invitation {id}")),
        other => other.into(),
    }
}

/// A person an invitation names, as a list shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: Id,
    pub display_name: String,
    /// '' for a user without an email.
    pub email: String,
}

/// An invitation as the console lists it ([`Core::list_invitations`]).
#[derive(Clone, Debug, PartialEq)]
pub struct InvitationListing {
    pub invitation: Invitation,
    /// The status readers see at the time of the listing (a pending invitation past its expiry is expired).
    pub status: InvitationStatus,
    /// Seconds since it was created.
    pub age_seconds: i64,
    /// Its sponsor, else whoever sent it; None for a self-registration (or a sponsor no longer readable).
    pub sponsor: Option<Person>,
    pub invited_by: Option<Person>,
    /// The delivery of its newest email (a resend queues a new one); None when it has none.
    pub delivery: Option<Delivery>,
}

impl Core {
    /// A new secret for `invitation`: its hash, which the store keeps, and the email carrying its link.
    async fn new_secret(
        &self,
        directory: &LocalDirectory,
        invitation: &Invitation,
    ) -> CoreResult<(String, OutboxMessage)> {
        let (token, hash) = new_token();
        let branding = self.branding(Some(&invitation.tenant_id)).await?;
        let inviter = match &invitation.invited_by_user_id {
            Some(id) => self.person(&invitation.tenant_id, id).await,
            None => None,
        };
        let sender = invite::Sender { branding: &branding, inviter: inviter.as_ref(), public_url: &self.public_url };
        Ok((hash, invitation_email(directory, invitation, &invite::link(&self.public_url, &token), &sender)))
    }

    /// Stores a new `invitation` into `directory` with a new secret and queues its email.
    async fn store_new(&self, actor: &Actor, directory: &LocalDirectory, invitation: &Invitation) -> CoreResult<()> {
        let (hash, email) = self.new_secret(directory, invitation).await?;
        self.write(self.store.create_invitation(actor, invitation, &hash, &email))
            .await
            .map_err(directory_error(&invitation.directory_app_id))
    }

    /// An invitation of directory `app_id` in the caller's tenant (`invitation:read`).
    pub async fn get_invitation(&self, caller: &Principal, app_id: &Id, id: &Id) -> CoreResult<Invitation> {
        caller.require(Permission::InvitationRead)?;
        self.invitation_in(&caller.tenant_id, app_id, id).await
    }

    /// The tenant's invitations, of one directory and in one status (as of `now`) when given, in id order
    /// after `after` (`invitation:read`).
    pub async fn search_invitations(
        &self,
        caller: &Principal,
        directory_app_id: Option<&Id>,
        status: Option<InvitationStatus>,
        now: Timestamp,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<Invitation>> {
        caller.require(Permission::InvitationRead)?;
        Ok(self.store.search_invitations(&caller.tenant_id, directory_app_id, status, now, after, limit).await?)
    }

    /// The console's list of invitations: [`Core::search_invitations`] (of one directory and in one status
    /// when given, in id order after `after`), each with its status at `now`, its age, its sponsor (the
    /// invitation's sponsor, else whoever sent it) and who sent it, by name, and the delivery of its newest
    /// email (`invitation:read`).
    pub async fn list_invitations(
        &self,
        caller: &Principal,
        directory_app_id: Option<&Id>,
        status: Option<InvitationStatus>,
        now: Timestamp,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<InvitationListing>> {
        let invitations = self.search_invitations(caller, directory_app_id, status, now, after, limit).await?;
        let tenant = &caller.tenant_id;
        let mut people: Vec<Id> = invitations
            .iter()
            .flat_map(|invitation| [invitation.sponsor_user_id, invitation.invited_by_user_id])
            .flatten()
            .collect();
        people.sort();
        people.dedup();
        let users = self.store.get_users(tenant, &people).await?;
        let person = |id: Option<Id>| {
            let user = users.iter().find(|user| Some(user.id) == id)?;
            Some(Person { id: user.id, display_name: user.display_name.clone(), email: user.email_str().to_string() })
        };
        let ids: Vec<Id> = invitations.iter().map(|invitation| invitation.id).collect();
        let mut deliveries = self.store.invitation_deliveries(tenant, &ids).await?;
        Ok(invitations
            .into_iter()
            .map(|invitation| {
                let delivery = deliveries
                    .iter()
                    .position(|delivery| delivery.subject_id == invitation.id)
                    .map(|index| deliveries.swap_remove(index));
                InvitationListing {
                    status: invitation.status_at(now),
                    age_seconds: (now.micros() - invitation.created_at.micros()).max(0) / 1_000_000,
                    sponsor: person(invitation.sponsor_user_id.or(invitation.invited_by_user_id)),
                    invited_by: person(invitation.invited_by_user_id),
                    delivery,
                    invitation,
                }
            })
            .collect())
    }

    /// An invitation of directory `app_id` in the tenant; one of another directory is not found.
    pub async fn invitation_in(&self, tenant_id: &Id, app_id: &Id, id: &Id) -> CoreResult<Invitation> {
        match self.store.find_invitation(tenant_id, id).await {
            Ok(invitation) if invitation.directory_app_id == *app_id => Ok(invitation),
            Ok(_) => Err(invitation_error(id)(StoreError::NotFound)),
            Err(error) => Err(invitation_error(id)(error)),
        }
    }

    /// Invites someone into the directory `app_id` with the invitation `make` builds (from the directory and
    /// the time), whose initial roles the caller must be able to grant, and mails them the link.
    pub async fn invite(
        &self,
        caller: &Principal,
        app_id: &Id,
        make: impl FnOnce(&LocalDirectory, Timestamp) -> CoreResult<Invitation>,
    ) -> CoreResult<Invitation> {
        caller.require(Permission::InvitationWrite)?;
        let directory =
            self.store.get_local_directory(&caller.tenant_id, app_id).await.map_err(directory_error(app_id))?;
        let invitation = make(&directory, Timestamp::now())?;
        caller.require_grantable("initialRoleIds", &invitation.initial_role_ids)?;
        self.require_flow_grantable(caller, invitation.onboarding_flow_id, "onboardingFlowId").await?;
        self.store_new(&caller.actor(), &directory, &invitation).await?;
        Ok(invitation)
    }

    pub async fn revoke_invitation(&self, caller: &Principal, app_id: &Id, id: &Id) -> CoreResult<Invitation> {
        caller.require(Permission::InvitationWrite)?;
        let notices = crate::approvals::FailureHook(self);
        self.write(self.store.revoke_invitation(&caller.actor(), app_id, id, &notices))
            .await
            .map_err(invitation_error(id))
    }

    /// A new secret and expiry for a pending invitation, and a new email; the old link stops working.
    pub async fn resend_invitation(&self, caller: &Principal, app_id: &Id, id: &Id) -> CoreResult<Invitation> {
        caller.require(Permission::InvitationWrite)?;
        let directory =
            self.store.get_local_directory(&caller.tenant_id, app_id).await.map_err(directory_error(app_id))?;
        let current = self.invitation_in(&caller.tenant_id, app_id, id).await?;
        let expires_at = directory.expiry_from(Timestamp::now());
        let (hash, email) = self.new_secret(&directory, &Invitation { expires_at, ..current }).await?;
        self.write(self.store.resend_invitation(&caller.actor(), app_id, id, &hash, expires_at, &email))
            .await
            .map_err(invitation_error(id))
    }

    /// Self-registration: when the directory allows it and the email's domain is allowed, an invitation is
    /// created (invited by nobody) and its link mailed to the address. The account exists only once the
    /// link is followed, so the address is proven first. The outcome is the same whether or not the address
    /// already had an account or a pending invitation, so that it reveals nothing about either.
    pub async fn self_register(
        &self,
        client: Option<IpAddr>,
        app_id: &Id,
        make: impl FnOnce(&LocalDirectory) -> CoreResult<Invitation>,
    ) -> CoreResult<()> {
        // Each registration sends an email to an address nobody has proven yet.
        self.limits
            .registrations
            .take_for(client)
            .map_err(|wait| too_many("too many registrations from this address", wait))?;
        let directory = match self.store.find_local_directory(app_id).await {
            Ok(directory) if directory.allow_self_registration => directory,
            Ok(_) => return Err(CoreError::permission_denied("this directory does not allow self-registration")),
            Err(error) => return Err(directory_error(app_id)(error)),
        };
        let invitation = make(&directory)?;
        match self.store_new(&Actor::system(directory.tenant_id), &directory, &invitation).await {
            // Already registered or already invited: the same answer, and no second email.
            Err(error) if error.code == Code::AlreadyExists => Ok(()),
            other => other,
        }
    }

    /// The pending invitation a secret opens, without using it up; otherwise why it cannot be used. The
    /// secret is looked up first, so a valid one is never refused whatever else came from the client's
    /// address; secrets that open nothing count against the address, and past its limit are refused with
    /// RESOURCE_EXHAUSTED rather than NOT_FOUND.
    pub async fn open_invitation(&self, client: Option<IpAddr>, token: &str) -> CoreResult<Invitation> {
        let invitation = self.invitation_of_secret(client, token).await?;
        match invitation.status_at(Timestamp::now()) {
            InvitationStatus::Pending => Ok(invitation),
            InvitationStatus::Accepted => Err(CoreError::refused(SecretRefusal::Used)),
            InvitationStatus::Revoked => Err(CoreError::refused(SecretRefusal::Revoked)),
            InvitationStatus::Expired => Err(CoreError::refused(SecretRefusal::Expired)),
        }
    }

    /// The invitation whose secret hash is exactly the token's, whatever its status: only for the holder
    /// of the link. A token that names none is refused as unknown and counts against the address (only
    /// unknown ones do).
    pub(crate) async fn invitation_of_secret(&self, client: Option<IpAddr>, token: &str) -> CoreResult<Invitation> {
        // Anything not shaped like a token opens nothing, and costs no database read.
        let found = if invite::looks_like_token(token) {
            self.store.invitation_by_secret(&token_hash(token)).await
        } else {
            Err(StoreError::Refused(SecretRefusal::Unknown))
        };
        if matches!(found, Err(StoreError::Refused(SecretRefusal::Unknown))) {
            self.limits
                .links
                .take_for(client)
                .map_err(|wait| too_many("too many invalid invitation links from this address", wait))?;
        }
        Ok(found?)
    }

    /// Accepts an invitation by its secret (the API and the invitee's form): the user, its password and,
    /// with a flow, its onboard, in one transaction.
    pub async fn accept_invitation(
        &self,
        client: Option<IpAddr>,
        token: &str,
        display_name: &str,
        password: Secret<String>,
    ) -> CoreResult<Accepted> {
        Ok(self.accept(client, token, display_name, password, None).await?.0)
    }

    /// Accepts an invitation on its web page: the invitee is signed in by the acceptance's own transaction,
    /// and the new session's token is returned with the outcome.
    pub async fn accept_invitation_signed_in(
        &self,
        client: &ClientInfo,
        token: &str,
        display_name: &str,
        password: Secret<String>,
    ) -> CoreResult<(Accepted, SignedIn)> {
        let (accepted, signed_in) = self.accept(client.address, token, display_name, password, Some(client)).await?;
        let signed_in = signed_in.ok_or_else(|| CoreError::internal("an acceptance with a session made none"))?;
        Ok((accepted, signed_in))
    }

    async fn accept(
        &self,
        client: Option<IpAddr>,
        token: &str,
        display_name: &str,
        password: Secret<String>,
        signing_in: Option<&ClientInfo>,
    ) -> CoreResult<(Accepted, Option<SignedIn>)> {
        let display_name = one_line("displayName", Some(display_name), 256)?;
        // Refuse a dead secret before spending an argon2 hash on its password.
        let invitation = self.open_invitation(client, token).await?;
        let name = if display_name.is_empty() { invitation.display_name.as_str() } else { display_name.as_str() };
        let password_hash = new_password_hash(password, &[invitation.email.as_str(), name]).await?;
        let secret_hash = token_hash(token);
        let hook = crate::approvals::AcceptHook(self);
        // The user's id is made by the acceptance; the store sets it on the session.
        let new_session =
            signing_in.map(|client| crate::account::new_session(client, invitation.tenant_id, Id::new(), false));
        let session = new_session.as_ref().map(|(_, session)| session);
        let accepting = self.store.accept_invitation(&secret_hash, &display_name, &password_hash, &hook, session);
        let accepted = self.write(accepting).await.map_err(|error| match error {
            StoreError::Conflict { constraint: "users_email_live" } => CoreError::new(
                Code::AlreadyExists,
                "a user with this email exists already; the invitation stays pending until it is revoked",
            ),
            other => other.into(),
        })?;
        let signed_in = new_session.map(|(token, session)| SignedIn {
            token,
            session: onramp_store::Session { tenant_id: accepted.user.tenant_id, user_id: accepted.user.id, ..session },
            second_factor: false,
        });
        Ok((accepted, signed_in))
    }
}
