//! Whoever must act is told: the approver of a manager-approval step gets an email with a signed link when
//! the step becomes due, and a failed onboard is told to its invitee and its sponsor.
//!
//! An approval step is **due** once the invitation is accepted and every required step before it that a
//! person does (the invitee's, and earlier approvals) is done ([`Onboard::approvals_due`]): so an approval
//! that leads the flow is due when the invitation is accepted, and one after the invitee's steps when the
//! last of them is done. The write that makes it due (the acceptance, or a step) queues the email in its own
//! transaction. The approver is the step's named `approverUserId`, else the user's first manager, at that
//! moment; when there is neither, the sponsor is told instead (and the invitee's page says so).
//!
//! An approval link is like an invitation link (`invite.rs`): 256 random bits, stored only as SHA-256,
//! valid for [`APPROVAL_LINK_DAYS`]; opening it never uses it; deciding (approve or reject) marks it used
//! in the deciding transaction, by an update conditional on it being unused. Links that open nothing count
//! against the client's address like invitation links.
//!
//! The **sponsor** of an onboard is its invitation's `sponsorUserId`, else whoever sent the invitation.

use std::net::IpAddr;

use async_trait::async_trait;
use onramp_domain::onboarding::{OnboardStatus, StepKind};
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Timestamp};
use onramp_store::{
    AcceptEffects, ApprovalLink, FailureNotices, Invitation, Onboard, OnboardEffects, OutboxMessage, SecretRefusal,
    StoreError,
};

use crate::Core;
use crate::branding::Branding;
use crate::error::{CoreError, CoreResult};
use crate::invite::{looks_like_token, new_token, token_hash};
use crate::limits::too_many;
use crate::onboard_mail::{
    FailureNotice, Look, approval_link, approval_request_email, no_approver_email, onboard_failed_invitee_email,
    onboard_failed_sponsor_email,
};
use crate::onboard_steps::{By, StepInput, apply_step_retrying};
use crate::onboards::onboard_error;

/// How long an approval link works, in days.
pub const APPROVAL_LINK_DAYS: i64 = 14;

/// A live user of the tenant, if `id` is one.
async fn live_user(core: &Core, tenant_id: &Id, id: Option<Id>) -> Result<Option<User>, StoreError> {
    let Some(id) = id else { return Ok(None) };
    match core.store.get_user(tenant_id, &id).await {
        Ok(user) if user.status != UserStatus::Deleted && user.deleted_at.is_none() => Ok(Some(user)),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The sponsor of an invitation's onboard: its sponsor, else whoever sent it; a live user, if any.
async fn sponsor_of(core: &Core, invitation: &Invitation) -> Result<Option<User>, StoreError> {
    live_user(core, &invitation.tenant_id, invitation.sponsor_user_id.or(invitation.invited_by_user_id)).await
}

/// What the onboard's directory is called, for the emails and pages ("onboarding into Staff").
async fn directory_name(core: &Core, onboard: &Onboard) -> Result<String, StoreError> {
    match core.store.get_local_directory(&onboard.tenant_id, &onboard.directory_app_id).await {
        Ok(directory) => Ok(directory.display_name),
        Err(StoreError::NotFound) => Ok("onramp".to_string()),
        Err(error) => Err(error),
    }
}

/// The tenant's branding for its emails; an email still goes when it cannot be read, in onramp's look.
async fn branding_of(core: &Core, tenant_id: &Id) -> Branding {
    match core.branding(Some(tenant_id)).await {
        Ok(branding) => branding,
        Err(error) => {
            tracing::warn!(message = %error.message, "the tenant's branding could not be read; the email uses onramp's");
            Branding::onramp()
        }
    }
}

/// Who approves step `index` of `onboard` for its `user` now: the named approver, else the user's first
/// manager; None when neither is a live user.
async fn approver_of(core: &Core, onboard: &Onboard, index: usize, user: &User) -> Result<Option<User>, StoreError> {
    match &onboard.steps[index].kind {
        StepKind::ManagerApproval { approver_user_id: Some(named) } => {
            live_user(core, &onboard.tenant_id, Some(*named)).await
        }
        StepKind::ManagerApproval { approver_user_id: None } => {
            live_user(core, &onboard.tenant_id, user.manager_ids.first().copied()).await
        }
        _ => Ok(None),
    }
}

/// The approval requests of the steps that are due in `after` and were not in `due_before`: for each, a
/// new link and the email to its approver, or, when nobody can approve, the notice to the sponsor.
pub(crate) async fn due_effects(
    core: &Core,
    due_before: &[usize],
    after: &Onboard,
    user: &User,
) -> Result<OnboardEffects, StoreError> {
    let mut effects = OnboardEffects::default();
    let newly: Vec<usize> = after.approvals_due().into_iter().filter(|index| !due_before.contains(index)).collect();
    if newly.is_empty() {
        return Ok(effects);
    }
    let into = directory_name(core, after).await?;
    let branding = branding_of(core, &after.tenant_id).await;
    for index in newly {
        match approver_of(core, after, index, user).await? {
            Some(approver) => request(core, &mut effects, after, index, user, &approver, &into, &branding),
            None => {
                let invitation = core.store.find_invitation(&after.tenant_id, &after.invitation_id).await?;
                if let Some(sponsor) = sponsor_of(core, &invitation).await? {
                    let look = Look { branding: &branding, public_url: core.public_url() };
                    effects.emails.extend(no_approver_email(after, user, &sponsor, &into, &look));
                }
            }
        }
    }
    Ok(effects)
}

/// A new link for step `index` of `onboard` and the email that asks `approver` to decide it, into `effects`.
#[allow(clippy::too_many_arguments)]
fn request(
    core: &Core,
    effects: &mut OnboardEffects,
    onboard: &Onboard,
    index: usize,
    user: &User,
    approver: &User,
    into: &str,
    branding: &Branding,
) {
    let now = Timestamp::now();
    let (token, secret_hash) = new_token();
    let link = ApprovalLink {
        id: Id::new(),
        tenant_id: onboard.tenant_id,
        onboard_id: onboard.id,
        step_key: onboard.steps[index].key.clone(),
        approver_user_id: approver.id,
        secret_hash,
        expires_at: now.plus_seconds(APPROVAL_LINK_DAYS * 24 * 3600),
        used_at: None,
        created_at: now,
    };
    let url = approval_link(core.public_url(), &token);
    let look = Look { branding, public_url: core.public_url() };
    effects.emails.extend(approval_request_email(&link, user, approver, into, &url, &look));
    effects.approval_links.push(link);
}

/// When `user`'s first manager changes (to `user.manager_ids`'), the approvals due in their onboards under
/// way that name no approver now wait for the new manager: each gets a link and the email to them.
pub(crate) async fn new_manager_effects(core: &Core, user: &User) -> Result<OnboardEffects, StoreError> {
    let mut effects = OnboardEffects::default();
    let Some(manager) = live_user(core, &user.tenant_id, user.manager_ids.first().copied()).await? else {
        return Ok(effects);
    };
    let branding = branding_of(core, &user.tenant_id).await;
    for onboard in core.store.onboards_of_user(&user.tenant_id, &user.id).await? {
        let into = directory_name(core, &onboard).await?;
        for index in onboard.approvals_due() {
            if matches!(onboard.steps[index].kind, StepKind::ManagerApproval { approver_user_id: None }) {
                request(core, &mut effects, &onboard, index, user, &manager, &into, &branding);
            }
        }
    }
    Ok(effects)
}

/// The notices of `onboard`'s failure (its `failure_reason`), to its invitee and its sponsor.
pub(crate) async fn failure_emails(core: &Core, onboard: &Onboard) -> Result<Vec<OutboxMessage>, StoreError> {
    let invitation = core.store.find_invitation(&onboard.tenant_id, &onboard.invitation_id).await?;
    let into = directory_name(core, onboard).await?;
    failure_notices(core, &invitation, onboard.id, &into, &onboard.failure_reason).await
}

/// The failure notices of an onboard of `invitation` (`subject_id`: the onboard, or the invitation), to the
/// invitee at the invitation's address and to the sponsor.
pub(crate) async fn failure_notices(
    core: &Core,
    invitation: &Invitation,
    subject_id: Id,
    into: &str,
    reason: &str,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let notice = FailureNotice {
        tenant_id: invitation.tenant_id,
        subject_id,
        invitee_name: &invitation.display_name,
        invitee_email: invitation.email.as_str(),
        into,
        reason,
    };
    let branding = branding_of(core, &invitation.tenant_id).await;
    let look = Look { branding: &branding, public_url: core.public_url() };
    let mut emails = vec![onboard_failed_invitee_email(&notice, &look)];
    if let Some(sponsor) = sponsor_of(core, invitation).await? {
        emails.extend(onboard_failed_sponsor_email(&notice, &sponsor, &look));
    }
    Ok(emails)
}

/// The acceptance's part, in its transaction: an acceptance that did the last required step (a flow whose
/// only person-step is verifying the email) completes the onboard, through the one completion path
/// (`onboards::finish_if_done`); otherwise the approvals it makes due (one that leads the flow) are told.
pub(crate) struct AcceptHook<'a>(pub &'a Core);

#[async_trait]
impl AcceptEffects for AcceptHook<'_> {
    async fn effects(&self, onboard: &Onboard, user: &User) -> Result<(Option<Onboard>, OnboardEffects), StoreError> {
        // Before the acceptance nothing was due (no user); the new user is not committed yet, so the
        // completion builds on it as given rather than reading it.
        let before = Onboard { user_id: None, ..onboard.clone() };
        let mut after = onboard.clone();
        let mut effects =
            OnboardEffects { user_change: Some((user.clone(), user.clone())), ..OnboardEffects::default() };
        crate::onboards::finish_if_done(self.0, &before, &mut after, &mut effects)
            .await
            .map_err(|error| StoreError::WrongState(error.message))?;
        if effects.user_change.as_ref().is_some_and(|(old, new)| old == new) {
            effects.user_change = None;
        }
        Ok(((after != *onboard).then_some(after), effects))
    }
}

/// The notices of an onboard failed because its invitation ended (revoked, expired, its directory
/// deleted), queued in the transaction that ends it.
pub struct FailureHook<'a>(pub &'a Core);

#[async_trait]
impl FailureNotices for FailureHook<'_> {
    async fn notices(&self, invitation: &Invitation, onboard: &Onboard) -> Result<Vec<OutboxMessage>, StoreError> {
        let into = directory_name(self.0, onboard).await?;
        failure_notices(self.0, invitation, onboard.id, &into, &onboard.failure_reason).await
    }
}

/// What an approval link's page shows: whose onboarding, into what, who decides, and the link itself.
#[derive(Clone, Debug)]
pub struct ApprovalView {
    pub link: ApprovalLink,
    pub onboard: Onboard,
    pub invitee: User,
    pub approver: User,
    /// The directory's name.
    pub into: String,
}

/// What opening an approval link finds.
#[derive(Clone, Debug)]
pub enum ApprovalOpened {
    /// The link can decide (unless the onboard has ended meanwhile: see `view.onboard.status`).
    Open(ApprovalView),
    /// The link decided already.
    Used(ApprovalView),
    Expired(ApprovalView),
}

/// One step of an onboard as the invitee's page names who must act on it.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub step_key: String,
    /// Who approves it now; None when nobody can.
    pub approver: Option<User>,
}

impl Core {
    /// The approval link a secret names, in whatever state; the page shows each state its own way. A
    /// secret that names no link is NOT_FOUND and counts against the client's address (past its limit,
    /// RESOURCE_EXHAUSTED). Opening never uses the link.
    pub async fn open_approval(&self, client: Option<IpAddr>, token: &str) -> CoreResult<ApprovalOpened> {
        let found = if looks_like_token(token) {
            self.store.approval_link_by_secret(&token_hash(token)).await
        } else {
            Err(StoreError::NotFound)
        };
        let link = match found {
            Ok(link) => link,
            Err(StoreError::NotFound) => {
                self.limits
                    .links
                    .take_for(client)
                    .map_err(|wait| too_many("too many invalid links from this address", wait))?;
                return Err(CoreError::not_found(
                    "this approval link is not valid: check that it was copied whole, or use the newest email",
                ));
            }
            Err(error) => return Err(error.into()),
        };
        let onboard = self.store.find_onboard(&link.onboard_id).await.map_err(onboard_error(&link.onboard_id))?;
        let user_id =
            onboard.user_id.ok_or_else(|| CoreError::internal("an approval link of an unaccepted onboard"))?;
        let invitee = self.store.get_user(&onboard.tenant_id, &user_id).await?;
        let approver = self.store.get_user(&onboard.tenant_id, &link.approver_user_id).await?;
        let into = directory_name(self, &onboard).await?;
        let view = ApprovalView { link, onboard, invitee, approver, into };
        Ok(match view.link.refusal_at(Timestamp::now()) {
            None => ApprovalOpened::Open(view),
            Some(SecretRefusal::Expired) => ApprovalOpened::Expired(view),
            Some(_) => ApprovalOpened::Used(view),
        })
    }

    /// Decides the approval step of the link a secret names: approves it (which may complete the onboard)
    /// or rejects it with `reason` (which fails the onboard), as the approver the link was sent to, if they
    /// still approve that step; the link is used up by the same write.
    pub async fn decide_approval(
        &self,
        client: Option<IpAddr>,
        token: &str,
        approved: bool,
        reason: Option<String>,
    ) -> CoreResult<Onboard> {
        let view = match self.open_approval(client, token).await? {
            ApprovalOpened::Open(view) => view,
            ApprovalOpened::Used(_) => return Err(CoreError::refused_link(SecretRefusal::Used)),
            ApprovalOpened::Expired(_) => return Err(CoreError::refused_link(SecretRefusal::Expired)),
        };
        if view.onboard.status.is_final() {
            return Err(CoreError::new(
                crate::error::Code::FailedPrecondition,
                format!("this onboarding is {} already", view.onboard.status.as_str().replace('_', " ")),
            ));
        }
        let input = StepInput { approved: Some(approved), reason, ..StepInput::default() };
        let by = By::Link { approver: view.link.approver_user_id, link: view.link.id, step_key: &view.link.step_key };
        apply_step_retrying(self, view.onboard, &view.link.step_key, view.link.approver_user_id, &by, &input)
            .await
            .map_err(|error| match error.code {
                // The write found the link used by a concurrent decision (`OnboardEffects::used_link`).
                crate::error::Code::AlreadyExists => CoreError::refused_link(SecretRefusal::Used),
                _ => error,
            })
    }

    /// The approval steps of `onboard` still to do, each with who approves it now (None: nobody can), for
    /// the invitee's page.
    pub async fn waiting_on(&self, onboard: &Onboard) -> CoreResult<Vec<Waiting>> {
        let Some(user_id) = onboard.user_id else { return Ok(Vec::new()) };
        if onboard.status != OnboardStatus::InProgress && onboard.status != OnboardStatus::Created {
            return Ok(Vec::new());
        }
        let user = self.store.get_user(&onboard.tenant_id, &user_id).await?;
        let mut waiting = Vec::new();
        for (index, (step, state)) in onboard.steps.iter().zip(&onboard.states).enumerate() {
            if matches!(step.kind, StepKind::ManagerApproval { .. }) && !state.done {
                let approver = approver_of(self, onboard, index, &user).await?;
                waiting.push(Waiting { step_key: step.key.clone(), approver });
            }
        }
        Ok(waiting)
    }

    /// The expiry sweep: writes EXPIRED on up to `limit` pending invitations past their expiry, failing
    /// their onboards and telling each invitee and sponsor; returns how many expired.
    pub async fn expire_invitations(&self, now: Timestamp, limit: u32) -> CoreResult<u64> {
        Ok(self.write(self.store.expire_invitations(now, limit, &FailureHook(self))).await?)
    }

    /// The sponsor of `onboard` (the invitation's sponsor, else its sender), for the invitee's page.
    pub async fn sponsor_of_onboard(&self, onboard: &Onboard) -> CoreResult<Option<User>> {
        let invitation = self.store.find_invitation(&onboard.tenant_id, &onboard.invitation_id).await?;
        Ok(sponsor_of(self, &invitation).await?)
    }
}
