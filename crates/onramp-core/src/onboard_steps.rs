//! Completing an onboard's steps, and the rule of each step, for every surface (the API's
//! `POST /api/v1/onboards/{id}/steps/{key}/complete` and the invitee's onboarding pages).
//!
//! Each step is completed by whom its rule allows: the invitee (authenticated by the surface with their email
//! and password) accepts terms and completes their profile; staff holding `user:write` (and allowed to change
//! that user) may complete a profile; staff holding `onboarding:write` mark an email verified; only the
//! approver (or one of the user's managers) gives a manager approval. Steps onramp performs itself (assign
//! roles, notify) run when the onboard completes.

use onramp_domain::onboarding::{OnboardStatus, StepKind};
use onramp_domain::user::User;
use std::net::IpAddr;

use onramp_domain::{Id, Permission, Secret, Timestamp};
use onramp_store::{Onboard, OnboardEffects, StoreError};

use crate::error::{Code, CoreError, CoreResult};
use crate::invitations::one_line;
use crate::onboards::{MAX_REASON_CHARS, onboard_error};
use crate::{Core, Principal};

/// What a request to complete a step carries (each step reads the fields it needs), as the API's JSON body
/// and the onboarding page's form both name them.
#[derive(Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct StepInput {
    /// acceptTerms
    pub accepted: Option<bool>,
    /// managerApproval
    pub approved: Option<bool>,
    pub reason: Option<String>,
    /// verifyEmail (admins)
    pub verified: Option<bool>,
    /// completeProfile: values to set on the user before the step's fields are checked.
    pub display_name: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub employment_type: Option<String>,
    pub manager_ids: Option<Vec<String>>,
}

/// Whether `user` may give an approval naming `approver_user_id`: that approver, or, when the step names
/// none, one of the onboard's user's `managers`.
fn may_approve(approver_user_id: Option<Id>, managers: &[Id], user: Id) -> bool {
    match approver_user_id {
        Some(approver) => approver == user,
        None => managers.contains(&user),
    }
}

/// The managers of the onboard's user; none before the invitation is accepted.
async fn managers_of(core: &Core, onboard: &Onboard) -> CoreResult<Vec<Id>> {
    match onboard.user_id {
        Some(id) => Ok(core.store.get_user(&onboard.tenant_id, &id).await?.manager_ids),
        None => Ok(Vec::new()),
    }
}

/// Whether `user` may give one of the onboard's manager approvals.
async fn approves(core: &Core, onboard: &Onboard, user: Id) -> CoreResult<bool> {
    let managers = managers_of(core, onboard).await?;
    Ok(onboard.steps.iter().any(|step| {
        matches!(&step.kind, StepKind::ManagerApproval { approver_user_id }
            if may_approve(*approver_user_id, &managers, user))
    }))
}

/// Who completes a step: staff (a bearer token or API key), or the invitee with the email and password a
/// surface received (HTTP Basic on the API).
pub enum StepActor {
    Staff(Principal),
    Invitee { email: String, password: Secret<String>, client: Option<IpAddr> },
}

impl Core {
    /// Completes step `key` of onboard `id` for `actor`, if the step's rule allows it. The invitee names
    /// only the onboard; staff are confined to their tenant, and someone who may not read onboards learns
    /// nothing of one they do not approve.
    pub async fn complete_step(&self, actor: StepActor, id: &Id, key: &str, input: &StepInput) -> CoreResult<Onboard> {
        let (before, actor_user, staff) = match actor {
            StepActor::Staff(principal) => {
                let onboard = self.store.get_onboard(&principal.tenant_id, id).await.map_err(onboard_error(id))?;
                if principal.require(Permission::OnboardingRead).is_err()
                    && !approves(self, &onboard, principal.user_id).await?
                {
                    return Err(onboard_error(id)(StoreError::NotFound));
                }
                (onboard, principal.user_id, Some(principal))
            }
            StepActor::Invitee { email, password, client } => {
                let onboard = self.store.find_onboard(id).await.map_err(onboard_error(id))?;
                let user = self.verify_invitee(client, &onboard, &email, password).await?;
                (onboard, user.id, None)
            }
        };
        let by = match &staff {
            Some(principal) => By::Staff(principal),
            None => By::Invitee,
        };
        apply_step_retrying(self, before, key, actor_user, &by, input).await
    }

    /// The keys of `onboard`'s manager-approval steps, not yet done, that `caller` is the one to decide
    /// (the approver a step names, or, when it names none, one of the user's managers): which Approve and
    /// Reject buttons the console shows. Deciding ([`Core::complete_step`]) checks it again.
    pub async fn approvals_for(&self, caller: &Principal, onboard: &Onboard) -> CoreResult<Vec<String>> {
        if onboard.tenant_id != caller.tenant_id || onboard.status.is_final() || onboard.user_id.is_none() {
            return Ok(Vec::new());
        }
        let managers = managers_of(self, onboard).await?;
        Ok(onboard
            .steps
            .iter()
            .zip(&onboard.states)
            .filter(|(step, state)| {
                !state.done
                    && matches!(&step.kind, StepKind::ManagerApproval { approver_user_id }
                        if may_approve(*approver_user_id, &managers, caller.user_id))
            })
            .map(|(step, _)| step.key.clone())
            .collect())
    }

    /// Completes step `key` of `before` for its own invitee, whom a surface authenticated (the onboarding
    /// page's session).
    pub async fn complete_own_step(&self, before: &Onboard, key: &str, input: &StepInput) -> CoreResult<Onboard> {
        let user_id = before.user_id.ok_or_else(|| CoreError::unauthenticated("the invitation is not accepted"))?;
        apply_step_retrying(self, before.clone(), key, user_id, &By::Invitee, input).await
    }
}

/// Who does a step, as the rule of each step asks.
pub(crate) enum By<'a> {
    /// The onboard's own invitee, authenticated by a surface.
    Invitee,
    /// Staff, by their principal.
    Staff(&'a Principal),
    /// The approver an approval link was sent to, deciding through it (the link is checked by the caller
    /// and marked used by the write).
    Link { approver: Id, link: Id, step_key: &'a str },
}

/// How many times a step re-reads the onboard and applies itself again when another write came between
/// its read and its write (another step, an approval, an admin's change).
const STEP_ATTEMPTS: usize = 5;

/// [`apply_step`], applied again to the newer onboard when a concurrent write to it (or its user) came
/// first: of two last steps done at once, the second sees the first and completes the onboard, once.
pub(crate) async fn apply_step_retrying(
    core: &Core,
    mut before: Onboard,
    key: &str,
    actor_user: Id,
    by: &By<'_>,
    request: &StepInput,
) -> CoreResult<Onboard> {
    let mut attempt = 1;
    loop {
        match apply_step(core, &before, key, actor_user, by, request).await {
            Err(error) if error.code == Code::Aborted && attempt < STEP_ATTEMPTS => {
                attempt += 1;
                before = core.store.find_onboard(&before.id).await.map_err(onboard_error(&before.id))?;
            }
            other => return other,
        }
    }
}

/// Completes step `key` of `before` for `actor_user`, who acts as `by` says, if the step's rule allows it.
/// The write that does the last required step completes the onboard (`onboards::finish_if_done`); one that
/// makes an approval due tells its approver; a rejection fails the onboard and tells the invitee and the
/// sponsor; all in the step's transaction.
async fn apply_step(
    core: &Core,
    before: &Onboard,
    key: &str,
    actor_user: Id,
    by: &By<'_>,
    request: &StepInput,
) -> CoreResult<Onboard> {
    let staff = match by {
        By::Staff(principal) => Some(*principal),
        _ => None,
    };
    let id = before.id;
    if before.status.is_final() {
        return Err(CoreError::new(Code::FailedPrecondition, format!("the onboard is {}", before.status.as_str())));
    }
    let index = before
        .steps
        .iter()
        .position(|step| step.key == key)
        .ok_or_else(|| CoreError::not_found(format!("step {key:?} of onboard {id}")))?;
    let step = &before.steps[index];
    if before.states[index].done {
        return Err(CoreError::new(Code::FailedPrecondition, format!("step {key:?} is done already")));
    }
    let is_admin = staff.is_some_and(|p| p.require(Permission::OnboardingWrite).is_ok());
    let invitee = matches!(by, By::Invitee);
    let actor = match staff {
        Some(principal) => principal.actor(),
        None => onramp_store::Actor {
            tenant_id: before.tenant_id,
            user_id: Some(actor_user),
            credential_id: None,
            request_id: None,
        },
    };
    let mut after = before.clone();
    let mut effects = OnboardEffects::default();
    let mut rejected = None;
    match &step.kind {
        StepKind::AcceptTerms { .. } => {
            if !invitee {
                return Err(CoreError::permission_denied("only the invitee can accept the terms"));
            }
            if request.accepted != Some(true) {
                return Err(CoreError::invalid_field("accepted", "must be true to accept the terms"));
            }
        }
        StepKind::CompleteProfile { required_fields } => {
            // The step writes the user: staff need the right to write users at all, checked before anything
            // about the user is read.
            if let Some(principal) = staff {
                principal.require(Permission::UserWrite)?;
            } else if !invitee {
                return Err(CoreError::permission_denied("only the invitee completes their own profile"));
            }
            let user_id = before
                .user_id
                .ok_or_else(|| CoreError::new(Code::FailedPrecondition, "the invitation has not been accepted yet"))?;
            // A manager approves the onboarding, so the invitee cannot choose their own.
            if staff.is_none() && request.manager_ids.is_some() {
                return Err(CoreError::permission_denied("only an admin can set the manager of an onboarding user"));
            }
            let user = core.store.get_user(&before.tenant_id, &user_id).await?;
            let mut changed = user.clone();
            apply_profile(request, &mut changed)?;
            // The invitee writes their own profile (`actor_user` is the onboard's user, authenticated); staff
            // write it only as they could through the user API (a super-admin's only as a super-admin).
            match staff {
                Some(principal) => principal.require_user_change(&user, Some(&changed))?,
                None if invitee && actor_user == user_id => {}
                None => return Err(CoreError::permission_denied("only the invitee completes their own profile")),
            }
            if let Some(missing) = required_fields.iter().find(|field| !field.present(&changed)) {
                return Err(CoreError::invalid_field(missing.as_str(), "is required by this step"));
            }
            if changed != user {
                effects.user_change = Some((user, changed));
            }
        }
        StepKind::VerifyEmail {} => {
            if !is_admin {
                return Err(CoreError::permission_denied("an email is verified by following the invitation link"));
            }
            if request.verified != Some(true) {
                return Err(CoreError::invalid_field("verified", "must be true"));
            }
        }
        StepKind::ManagerApproval { approver_user_id } => {
            let approver = match by {
                By::Staff(principal) => principal.user_id,
                By::Link { approver, step_key, .. } if *step_key == key => *approver,
                By::Link { .. } => return Err(CoreError::permission_denied("this link decides another step")),
                By::Invitee => {
                    return Err(CoreError::permission_denied("the invitee cannot approve their own onboarding"));
                }
            };
            if before.user_id.is_none() {
                return Err(CoreError::new(Code::FailedPrecondition, "the invitation has not been accepted yet"));
            }
            if !may_approve(*approver_user_id, &managers_of(core, before).await?, approver) {
                return Err(CoreError::permission_denied(
                    "only the approver named by the step, or the user's manager, can approve",
                ));
            }
            match request.approved {
                Some(true) => {}
                Some(false) => {
                    let reason = one_line("reason", request.reason.as_deref(), MAX_REASON_CHARS)?;
                    let name = core.store.get_user(&before.tenant_id, &approver).await?.display_name;
                    rejected = Some(if reason.is_empty() {
                        format!("{name} did not approve it (no reason given)")
                    } else {
                        format!("{name} did not approve it: {reason}")
                    });
                }
                None => return Err(CoreError::invalid_field("approved", "is required (true or false)")),
            }
        }
        StepKind::AssignRoles { .. } | StepKind::Notify { .. } => {
            return Err(CoreError::new(
                Code::FailedPrecondition,
                format!("step {key:?} is performed by onramp when the onboard completes"),
            ));
        }
    }
    if let By::Link { link, .. } = by {
        effects.used_link = Some(*link);
    }
    let now = Timestamp::now();
    match rejected {
        Some(reason) => {
            after.status = OnboardStatus::Failed;
            after.failure_reason = reason;
            effects.emails.extend(crate::approvals::failure_emails(core, &after).await?);
        }
        None => {
            let state_of = &mut after.states[index];
            state_of.done = true;
            state_of.completed_by = Some(actor_user);
            state_of.completed_at = Some(now);
            after.start_if_progressed();
            crate::onboards::finish_if_done(core, before, &mut after, &mut effects).await?;
        }
    }
    core.write(core.store.update_onboard(&actor, before, &after, &effects)).await.map_err(onboard_error(&id))
}

/// Writes the profile fields a complete-profile request carries into `user`.
fn apply_profile(request: &StepInput, user: &mut User) -> CoreResult<()> {
    let text =
        |field: &str, value: &Option<String>| value.as_deref().map(|v| one_line(field, Some(v), 256)).transpose();
    if let Some(name) = text("displayName", &request.display_name)? {
        if name.is_empty() {
            return Err(CoreError::invalid_field("displayName", "must not be empty"));
        }
        user.display_name = name;
    }
    if let Some(title) = text("jobTitle", &request.job_title)? {
        user.job_title = title;
    }
    if let Some(department) = text("department", &request.department)? {
        user.department = department;
    }
    if let Some(kind) = text("employmentType", &request.employment_type)? {
        user.employment_type = kind;
    }
    if let Some(managers) = &request.manager_ids {
        user.manager_ids = managers
            .iter()
            .enumerate()
            .map(|(i, raw)| raw.parse().map_err(|e| CoreError::invalid_field(&format!("managerIds[{i}]"), e)))
            .collect::<CoreResult<_>>()?;
    }
    Ok(())
}
