//! The use cases on onboards: start one for an invitation (choosing its flow), and move its status
//! (`created → in_progress → completed`, or to `failed`); completing it needs the invitation accepted and
//! every required step done, and grants the flow's roles, enables the user if the onboard holds them
//! DISABLED since the acceptance (never a user whose status someone else set) and queues the notify emails,
//! in one transaction.

use onramp_domain::onboarding::{MINIMAL_FLOW_ID, NotifyRecipient, OnboardStatus, StepKind};
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{Onboard, OnboardEffects, OutboxMessage, StoreError};

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

impl Core {
    /// The tenant's newest onboards, at most `limit`.
    pub async fn list_onboards(&self, caller: &Principal, limit: u32) -> CoreResult<Vec<Onboard>> {
        caller.require(Permission::OnboardingRead)?;
        Ok(self.store.list_onboards(&caller.tenant_id, limit).await?)
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
                completion(self, caller, &before).await?
            }
            OnboardStatus::Failed => {
                after.failure_reason =
                    if failure_reason.is_empty() { "failed through the API".into() } else { failure_reason };
                OnboardEffects::default()
            }
            _ => OnboardEffects::default(),
        };
        self.write(self.store.update_onboard(&caller.actor(), &before, &after, &effects))
            .await
            .map_err(onboard_error(id))
    }
}

/// What completing `onboard` does for `caller`: the flow's roles granted to its user, the user enabled if
/// (and only if) the onboard holds them DISABLED since the acceptance, and the notify emails. A user whose
/// status someone else has set keeps it: an onboard never enables (or re-enables) a user it did not hold.
/// The roles are the caller's grant, so they obey the rule of every user change (`require_user_change`);
/// enabling a held user is the acceptance's doing, which the inviter authorized. Refused (400, nothing
/// changed) while the invitation is not accepted or a required step is unfinished.
async fn completion(core: &Core, caller: &Principal, onboard: &Onboard) -> CoreResult<OnboardEffects> {
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
    let user = core.store.get_user(&onboard.tenant_id, &user_id).await?;
    if user.status == UserStatus::Deleted {
        return Err(CoreError::new(Code::FailedPrecondition, "the onboard's user was deleted"));
    }
    let mut changed = user.clone();
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
                    NotifyRecipient::Manager => user.manager_ids.first().copied(),
                };
                // A flow may notify a sponsor or manager the invitee does not have; then nobody is written to.
                let Some(to) = to else { continue };
                let Ok(recipient) = core.store.get_user(&onboard.tenant_id, &to).await else { continue };
                if recipient.status == UserStatus::Deleted {
                    continue;
                }
                let branding = core.branding(Some(&onboard.tenant_id)).await?;
                emails.push(notify_email(onboard, &user, &recipient, message, &branding, core.public_url()));
            }
            _ => {}
        }
    }
    caller.require_user_change(&user, Some(&changed))?;
    if onboard.holds_user_disabled {
        changed.status = UserStatus::Enabled;
    }
    let user_change = (changed != user).then_some((user, changed));
    Ok(OnboardEffects { user_change, emails })
}

fn notify_email(
    onboard: &Onboard,
    user: &User,
    recipient: &User,
    message: &str,
    branding: &crate::branding::Branding,
    public_url: &str,
) -> OutboxMessage {
    let mut paragraphs = vec![format!(
        "{} ({}) has finished onboarding at {} and their account is now active.",
        user.display_name,
        user.email.as_str(),
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
        recipient: recipient.email.as_str(),
    };
    crate::emails::render(&envelope, branding, public_url, &content)
}
