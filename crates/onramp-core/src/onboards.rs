//! The use cases on onboards: start one for an invitation (choosing its flow), and move its status
//! (`created → in_progress → completed`, or to `failed`); completing it needs the invitation accepted and
//! every required step done, and grants the flow's roles, enables the user if the onboard holds them
//! DISABLED since the acceptance (never a user whose status someone else set) and queues the notify emails,
//! in one transaction.

use onramp_domain::onboarding::{MINIMAL_FLOW_ID, NotifyRecipient, OnboardStatus, StepKind};
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{ListedOnboard, Onboard, OnboardEffects, OnboardFilter, OutboxMessage, StoreError, Turn, WaitingOn};

use crate::error::{Code, CoreError, CoreResult};
use crate::{Core, Principal};

/// The longest failure reason (`PUT` or a rejected approval) onramp keeps, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

pub fn onboard_error(id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("onboard {id}")),
        StoreError::Conflict { constraint: "onboards_concurrent_update" | "users_concurrent_update" } => {
            CoreError::new(Code::Aborted, "the onboard changed while this request ran; read it again and retry")
        }
        StoreError::Conflict { constraint: "onboards_invitation_live" } => {
            CoreError::new(Code::AlreadyExists, "this invitation has an onboard under way already")
        }
        other => other.into(),
    }
}

/// An onboard with whose turn it is (None once it has ended).
#[derive(Clone, Debug, PartialEq)]
pub struct OnboardView {
    pub onboard: Onboard,
    pub turn: Option<TurnView>,
}

/// Whose turn it is in an onboard under way ([`Onboard::turn`]), with the person named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnView {
    /// The current step's key; None while the invitee has still to accept the invitation.
    pub step_key: Option<String>,
    pub waiting_on: WaitingOn,
    /// Who must act: the invitee (None until they accept: no user yet), the named approver, or the user's
    /// first manager now (None when the user has none: nobody can approve).
    pub user_id: Option<Id>,
    /// Since when.
    pub since: Timestamp,
}

impl Core {
    /// The tenant's onboards that `filter` admits, newest first, before the onboard `after` when given
    /// (keyset paging), at most `limit`, each with whose turn it is.
    pub async fn list_onboards(
        &self,
        caller: &Principal,
        filter: &OnboardFilter,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<OnboardView>> {
        caller.require(Permission::OnboardingRead)?;
        let listed = self.store.search_onboards(&caller.tenant_id, filter, after, limit).await?;
        self.views(&caller.tenant_id, listed).await
    }

    /// `onboard` with whose turn it is: for the answer of a use case that returned it to its caller (a
    /// read, a start, a step, a status move), so it asks no permission of its own.
    pub async fn onboard_view(&self, onboard: Onboard) -> CoreResult<OnboardView> {
        let accepted_at = match self.store.find_invitation(&onboard.tenant_id, &onboard.invitation_id).await {
            Ok(invitation) => invitation.accepted_at,
            Err(StoreError::NotFound) => None,
            Err(error) => return Err(error.into()),
        };
        let tenant_id = onboard.tenant_id;
        let mut views = self.views(&tenant_id, vec![ListedOnboard { onboard, accepted_at }]).await?;
        views.pop().ok_or_else(|| CoreError::internal("an onboard's view went missing"))
    }

    /// Whose turn it is in each of `listed`, naming the manager of the onboards that wait on one (their
    /// users read in one query).
    pub(crate) async fn views(&self, tenant_id: &Id, listed: Vec<ListedOnboard>) -> CoreResult<Vec<OnboardView>> {
        let turns: Vec<Option<Turn>> = listed.iter().map(|item| item.onboard.turn(item.accepted_at)).collect();
        let managed: Vec<Id> = listed
            .iter()
            .zip(&turns)
            .filter(|(_, turn)| turn.as_ref().is_some_and(|turn| turn.waiting_on == WaitingOn::Manager))
            .filter_map(|(item, _)| item.onboard.user_id)
            .collect();
        let users = if managed.is_empty() { Vec::new() } else { self.store.get_users(tenant_id, &managed).await? };
        let manager_of =
            |user_id: Option<Id>| users.iter().find(|user| Some(user.id) == user_id)?.manager_ids.first().copied();
        Ok(listed
            .into_iter()
            .zip(turns)
            .map(|(item, turn)| {
                let turn = turn.map(|turn| TurnView {
                    user_id: match turn.waiting_on {
                        WaitingOn::Invitee => item.onboard.user_id,
                        WaitingOn::Approver(approver) => Some(approver),
                        WaitingOn::Manager => manager_of(item.onboard.user_id),
                    },
                    step_key: turn.step_key,
                    waiting_on: turn.waiting_on,
                    since: turn.since,
                });
                OnboardView { onboard: item.onboard, turn }
            })
            .collect())
    }

    pub async fn get_onboard(&self, caller: &Principal, id: &Id) -> CoreResult<Onboard> {
        caller.require(Permission::OnboardingRead)?;
        self.store.get_onboard(&caller.tenant_id, id).await.map_err(onboard_error(id))
    }

    /// Starts an onboard for the invitation `invitation_id`, through the flow `requested_flow`, else the
    /// invitation's (which defaults to its directory's), else the directory's default, else the minimal
    /// flow. The store decides, in the inserting transaction, whether the invitation may start one.
    pub async fn start_onboard(
        &self,
        caller: &Principal,
        invitation_id: &Id,
        requested_flow: Option<Id>,
    ) -> CoreResult<Onboard> {
        caller.require(Permission::OnboardingWrite)?;
        let invitation =
            self.store.find_invitation(&caller.tenant_id, invitation_id).await.map_err(|error| match error {
                StoreError::NotFound => CoreError::not_found(format!("invitation {invitation_id}")),
                other => other.into(),
            })?;
        let directory_flow = match self.store.get_local_directory(&caller.tenant_id, &invitation.directory_app_id).await
        {
            Ok(directory) => directory.onboarding_flow_id,
            Err(StoreError::NotFound) => None,
            Err(error) => return Err(error.into()),
        };
        let flow_id = requested_flow.or(invitation.onboarding_flow_id).or(directory_flow).unwrap_or(MINIMAL_FLOW_ID);
        let flow = self.store.get_flow(&caller.tenant_id, &flow_id).await.map_err(|error| match error {
            StoreError::NotFound => CoreError::invalid_field("flow_id", format!("onboarding flow {flow_id} not found")),
            other => other.into(),
        })?;
        self.require_flow_grantable(caller, Some(flow.id), "flow_id").await?;
        let onboard = Onboard::new(&invitation, &flow, Timestamp::now());
        self.write(self.store.create_onboard(&caller.actor(), &onboard)).await.map_err(onboard_error(&onboard.id))
    }

    /// Moves onboard `id` to `next` (a failure with `failure_reason`, or a default one), if its status may
    /// move so; completing it runs [`completion`]. Setting the current status changes nothing.
    pub async fn set_onboard_status(
        &self,
        caller: &Principal,
        id: &Id,
        next: Option<OnboardStatus>,
        failure_reason: String,
    ) -> CoreResult<Onboard> {
        caller.require(Permission::OnboardingWrite)?;
        let before = self.store.get_onboard(&caller.tenant_id, id).await.map_err(onboard_error(id))?;
        let Some(next) = next.filter(|next| *next != before.status) else { return Ok(before) };
        if !before.status.may_become(next) {
            return Err(CoreError::new(
                Code::FailedPrecondition,
                format!("an onboard that is {} cannot become {}", before.status.as_str(), next.as_str()),
            ));
        }
        let mut after = Onboard { status: next, ..before.clone() };
        let effects = match next {
            OnboardStatus::Completed => {
                for step in &before.steps {
                    if let StepKind::AssignRoles { role_ids } = &step.kind {
                        caller.require_grantable(&format!("the step {:?}", step.key), role_ids)?;
                    }
                }
                // Completed, the onboard holds its user no longer, whether or not it enabled them.
                after.holds_user_disabled = false;
                completion(self, Authority::Caller(caller), &before, None).await?
            }
            OnboardStatus::Failed => {
                after.failure_reason =
                    if failure_reason.is_empty() { "failed through the API".into() } else { failure_reason };
                let emails = crate::approvals::failure_emails(self, &after).await?;
                OnboardEffects { emails, ..OnboardEffects::default() }
            }
            _ => OnboardEffects::default(),
        };
        self.write(self.store.update_onboard(&caller.actor(), &before, &after, &effects))
            .await
            .map_err(onboard_error(id))
    }
}

/// On whose authority an onboard completes.
pub(crate) enum Authority<'a> {
    /// An admin's `PUT /onboards/{id} {"status": "completed"}`: the roles are the caller's grant.
    Caller(&'a Principal),
    /// The onboard's own, when its last required step is done: the flow's roles were checked grantable by
    /// whoever wrote the flow and by whoever chose it for this onboard (the inviter, the directory's
    /// administrator, the admin who started the onboard; `Core::require_flow_grantable`).
    Flow,
}

/// Completes `after` in the write that did its last required step (by whoever did it): when every
/// required step a person does is done and the invitation is accepted, the status becomes completed and
/// `effects` gets the completion's work ([`completion`], on the flow's authority), on top of what the step
/// changed of the user; otherwise `effects` gets the approval requests the step made due. Called by every
/// write of a step, so there is one completion path, the same as the admins' `PUT`.
pub(crate) async fn finish_if_done(
    core: &Core,
    before: &Onboard,
    after: &mut Onboard,
    effects: &mut OnboardEffects,
) -> CoreResult<()> {
    if after.ready_to_complete() {
        // A flow with no step a person does completes at acceptance, passing through in_progress.
        if after.status == OnboardStatus::Created {
            after.status = OnboardStatus::InProgress;
        }
        let done = completion(core, Authority::Flow, after, effects.user_change.take()).await?;
        effects.user_change = done.user_change;
        effects.emails.extend(done.emails);
        after.status = OnboardStatus::Completed;
        after.holds_user_disabled = false;
        return Ok(());
    }
    let Some(user_id) = after.user_id else { return Ok(()) };
    let user = match &effects.user_change {
        Some((_, changed)) => changed.clone(),
        None => core.store.get_user(&after.tenant_id, &user_id).await?,
    };
    let due = crate::approvals::due_effects(core, &before.approvals_due(), after, &user).await?;
    effects.emails.extend(due.emails);
    effects.approval_links.extend(due.approval_links);
    Ok(())
}

/// What completing `onboard` does on `authority`'s behalf: the flow's roles granted to its user, the user
/// enabled if (and only if) the onboard holds them DISABLED since the acceptance, and the notify emails. A
/// user whose status someone else has set keeps it: an onboard never enables (or re-enables) a user it did
/// not hold. An admin's roles are the caller's grant, so they obey the rule of every user change
/// (`require_user_change`); an onboard completing by itself grants on the flow's authority
/// ([`Authority::Flow`]); enabling a held user is the acceptance's doing, which the inviter authorized.
/// `pending` is a change of the user the same write makes (a profile step), which the completion builds on.
/// Refused (400, nothing changed) while the invitation is not accepted or a required step is unfinished.
async fn completion(
    core: &Core,
    authority: Authority<'_>,
    onboard: &Onboard,
    pending: Option<(User, User)>,
) -> CoreResult<OnboardEffects> {
    let Some(user_id) = onboard.user_id else {
        return Err(CoreError::invalid_field("status", "the invitation has not been accepted yet"));
    };
    let unfinished = onramp_domain::onboarding::unfinished_required(&onboard.steps, &onboard.states);
    if !unfinished.is_empty() {
        return Err(CoreError::invalid_field(
            "status",
            format!("required steps are unfinished: {}", unfinished.join(", ")),
        ));
    }
    let (user, mut changed) = match pending {
        Some(change) => change,
        None => {
            let user = core.store.get_user(&onboard.tenant_id, &user_id).await?;
            (user.clone(), user)
        }
    };
    if user.status == UserStatus::Deleted {
        return Err(CoreError::new(Code::FailedPrecondition, "the onboard's user was deleted"));
    }
    let mut emails = Vec::new();
    let invitation = core.store.find_invitation(&onboard.tenant_id, &onboard.invitation_id).await?;
    for step in &onboard.steps {
        match &step.kind {
            StepKind::AssignRoles { role_ids } => {
                for role in role_ids {
                    if !changed.role_ids.contains(role) {
                        changed.role_ids.push(*role);
                    }
                }
            }
            StepKind::Notify { recipient, message } => {
                let to = match recipient {
                    NotifyRecipient::Sponsor => invitation.sponsor_user_id,
                    NotifyRecipient::Manager => changed.manager_ids.first().copied(),
                };
                // A flow may notify a sponsor or manager the invitee does not have; then nobody is written to.
                let Some(to) = to else { continue };
                let Ok(recipient) = core.store.get_user(&onboard.tenant_id, &to).await else { continue };
                // Nor to one deleted, or without an email (provisioned without one).
                if recipient.status == UserStatus::Deleted {
                    continue;
                }
                let Some(address) = recipient.email.clone() else { continue };
                let branding = core.branding(Some(&onboard.tenant_id)).await?;
                let to = (&recipient, address.as_str());
                emails.push(notify_email(onboard, &changed, to, message, &branding, core.public_url()));
            }
            _ => {}
        }
    }
    if let Authority::Caller(caller) = authority {
        caller.require_user_change(&user, Some(&changed))?;
    }
    if onboard.holds_user_disabled {
        changed.status = UserStatus::Enabled;
    }
    let user_change = (changed != user).then_some((user, changed));
    Ok(OnboardEffects { user_change, emails, ..OnboardEffects::default() })
}

fn notify_email(
    onboard: &Onboard,
    user: &User,
    (recipient, address): (&User, &str),
    message: &str,
    branding: &crate::branding::Branding,
    public_url: &str,
) -> OutboxMessage {
    let mut paragraphs = vec![format!(
        "{} ({}) has finished onboarding at {} and their account is now active.",
        user.display_name,
        user.email_str(),
        branding.name
    )];
    // The flow's message, a line to a paragraph, so that its line breaks survive in HTML too.
    paragraphs.extend(message.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string));
    let content = crate::emails::EmailContent {
        subject: format!("{} has finished onboarding", user.display_name),
        greeting: format!("Hello {},", recipient.display_name),
        paragraphs,
        action: None,
        after: Vec::new(),
    };
    let envelope = crate::emails::Envelope {
        tenant_id: onboard.tenant_id,
        kind: "onboard",
        subject_id: onboard.id,
        recipient: address,
    };
    crate::emails::render(&envelope, branding, public_url, &content)
}
