//! The records of local directories, invitations and the outbox.

use crate::user::{User, UserOrigin};
use crate::{Email, Id, Timestamp};

/// A local directory (`c1.api.local_directory.v1.LocalDirectoryConfig`): a configuration on an app that
/// lets the tenant invite people into it.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalDirectory {
    /// The backing app's id, which is also the directory's.
    pub app_id: Id,
    pub tenant_id: Id,
    pub display_name: String,
    /// How long an invitation stays acceptable, in seconds.
    pub invitation_ttl_seconds: i64,
    /// At most one directory per tenant is the default.
    pub is_default: bool,
    pub onboarding_flow_id: Option<Id>,
    pub default_profile_type_id: String,
    pub organization_id: String,
    pub allow_self_registration: bool,
    /// Lowercase email domains allowed to self-register; empty allows any.
    pub self_registration_domains: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl LocalDirectory {
    /// Seven days, when the create request names no TTL.
    pub const DEFAULT_TTL_SECONDS: i64 = 7 * 24 * 3600;
    pub const MIN_TTL_SECONDS: i64 = 3600;
    pub const MAX_TTL_SECONDS: i64 = 90 * 24 * 3600;

    /// A directory on `app_id` with every setting at its default: a 7-day TTL, not the default, no flow,
    /// no self-registration.
    pub fn new(app_id: Id, tenant_id: Id, display_name: impl Into<String>, now: Timestamp) -> LocalDirectory {
        LocalDirectory {
            app_id,
            tenant_id,
            display_name: display_name.into(),
            invitation_ttl_seconds: Self::DEFAULT_TTL_SECONDS,
            is_default: false,
            onboarding_flow_id: None,
            default_profile_type_id: String::new(),
            organization_id: String::new(),
            allow_self_registration: false,
            self_registration_domains: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// When an invitation sent (or resent) at `now` expires.
    pub fn expiry_from(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_micros(now.micros() + self.invitation_ttl_seconds * 1_000_000)
    }

    /// Whether an email may self-register in this directory.
    pub fn admits_self_registration(&self, email: &Email) -> bool {
        let domain = email.as_str().rsplit_once('@').map_or("", |(_, domain)| domain);
        self.allow_self_registration
            && (self.self_registration_domains.is_empty()
                || self.self_registration_domains.iter().any(|allowed| allowed.eq_ignore_ascii_case(domain)))
    }
}

/// `LocalUserInvitation.status`. PENDING moves to ACCEPTED, REVOKED or EXPIRED, and nothing else moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub const ALL: [InvitationStatus; 4] =
        [InvitationStatus::Pending, InvitationStatus::Accepted, InvitationStatus::Revoked, InvitationStatus::Expired];

    /// The stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "PENDING",
            InvitationStatus::Accepted => "ACCEPTED",
            InvitationStatus::Revoked => "REVOKED",
            InvitationStatus::Expired => "EXPIRED",
        }
    }

    /// The protojson enum name.
    pub const fn wire(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "LOCAL_INVITATION_STATUS_PENDING",
            InvitationStatus::Accepted => "LOCAL_INVITATION_STATUS_ACCEPTED",
            InvitationStatus::Revoked => "LOCAL_INVITATION_STATUS_REVOKED",
            InvitationStatus::Expired => "LOCAL_INVITATION_STATUS_EXPIRED",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == stored)
    }

    pub fn from_wire(wire: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.wire() == wire)
    }
}

/// An invitation into a local directory (`LocalUserInvitation`). Its secret is never here: only its hash,
/// which the store keeps and uses to find the invitation, is.
#[derive(Clone, Debug, PartialEq)]
pub struct Invitation {
    pub id: Id,
    pub tenant_id: Id,
    pub directory_app_id: Id,
    pub email: Email,
    pub display_name: String,
    pub initial_role_ids: Vec<Id>,
    pub sponsor_user_id: Option<Id>,
    pub onboarding_flow_id: Option<Id>,
    pub purpose: String,
    pub job_id: String,
    /// None for self-registrations.
    pub invited_by_user_id: Option<Id>,
    /// As stored; [`Invitation::status_at`] is what readers see.
    pub status: InvitationStatus,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub created_user_id: Option<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Invitation {
    /// The status at `now`: a pending invitation past its expiry is expired, whether or not the sweep has
    /// written that yet.
    pub fn status_at(&self, now: Timestamp) -> InvitationStatus {
        match self.status {
            InvitationStatus::Pending if self.expires_at <= now => InvitationStatus::Expired,
            status => status,
        }
    }

    /// Whether an onboard may start for this invitation at `now`: a pending one (the onboard waits for the
    /// acceptance), or an accepted one whose user still waits on an onboard (`user_waiting`: an earlier
    /// onboard of the invitation holds the user DISABLED, see [`Onboard::holds_user_disabled`]). Anything
    /// else is refused with a sentence naming the state; `user_status` is the accepted user's, for it. An
    /// active user is never put through onboarding again: completing it would write their status.
    pub fn may_start_onboard(
        &self,
        now: Timestamp,
        user_waiting: bool,
        user_status: Option<crate::user::UserStatus>,
    ) -> Result<(), String> {
        const RULE: &str = "an onboard starts only for a pending invitation, or an accepted one whose user still \
            waits on an onboard";
        match self.status_at(now) {
            InvitationStatus::Pending => Ok(()),
            InvitationStatus::Accepted if user_waiting => Ok(()),
            InvitationStatus::Accepted => Err(format!(
                "the invitation is accepted and its user is {}, not waiting on an onboard; {RULE}",
                user_status.map_or("gone", |status| status.as_str())
            )),
            other => Err(format!("the invitation is {}; {RULE}", other.as_str().to_ascii_lowercase())),
        }
    }

    /// The user accepting this invitation creates: origin LOCAL, a member of the directory, with the initial
    /// roles, and the sponsor (if any) recorded in the profile as `sponsorUserId`.
    pub fn new_user(&self, display_name: &str, now: Timestamp) -> User {
        let mut user = User::new(self.tenant_id, self.email.clone(), display_name, now);
        user.origin = UserOrigin::Local;
        user.directory_ids = vec![self.directory_app_id];
        user.role_ids = self.initial_role_ids.clone();
        if let Some(sponsor) = self.sponsor_user_id {
            user.profile.insert("sponsorUserId".into(), serde_json::Value::String(sponsor.to_string()));
        }
        user
    }
}

/// What ended an invitation's secret's use, when accepting or opening it fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretRefusal {
    /// No invitation has this secret (mistyped, or replaced by a resend).
    Unknown,
    Expired,
    Revoked,
    /// Accepted already: the secret is single-use.
    Used,
}

/// A message waiting in (or delivered from) the outbox. The body (text) and the HTML body hold the message
/// until it is sent or cancelled; both empty them, because an invitation's message carries its secret link.
#[derive(Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: Id,
    pub tenant_id: Id,
    /// What the message is about (`invitation`), and the id of that object: a resend, revoke or accept
    /// cancels the object's unsent messages.
    pub kind: String,
    pub subject_id: Id,
    pub recipient: String,
    pub subject: String,
    /// The text/plain part.
    pub body: String,
    /// The text/html part, from the same template model; empty for a message of text only.
    pub html_body: String,
    /// Delivery attempts started so far (a claim counts as one).
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
}

impl OutboxMessage {
    /// A new message, due now.
    pub fn new(tenant_id: Id, kind: &str, subject_id: Id, recipient: &str, subject: &str, body: String) -> Self {
        let now = Timestamp::now();
        OutboxMessage {
            id: Id::new(),
            tenant_id,
            kind: kind.to_string(),
            subject_id,
            recipient: recipient.to_string(),
            subject: subject.to_string(),
            body,
            html_body: String::new(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        }
    }

    /// The message with an HTML part beside its text.
    pub fn with_html(mut self, html: String) -> Self {
        self.html_body = html;
        self
    }
}

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 20;
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The wait before the retry that follows attempt number `attempts` (from 1): `base × 2^(attempts−1)`, at
/// most [`MAX_RETRY_DELAY`].
pub fn retry_delay(base: std::time::Duration, attempts: i64) -> std::time::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
    base.checked_mul(1u32 << doublings.min(31)).map_or(MAX_RETRY_DELAY, |delay| delay.min(MAX_RETRY_DELAY))
}

/// When a message whose attempt number `attempts` failed is tried again: None gives it up, because the
/// failure is `permanent` or the attempts are spent.
pub fn next_attempt(permanent: bool, attempts: i64, base: std::time::Duration, now: Timestamp) -> Option<Timestamp> {
    if permanent || attempts >= MAX_ATTEMPTS {
        return None;
    }
    let delay = i64::try_from(retry_delay(base, attempts).as_micros()).unwrap_or(i64::MAX);
    Some(Timestamp::from_micros(now.micros().saturating_add(delay)))
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("subject_id", &self.subject_id)
            .field("attempts", &self.attempts)
            .field("body", &"[redacted]")
            .field("html_body", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// One invitee's run through an onboarding flow (`/onboards`).
#[derive(Clone, Debug, PartialEq)]
pub struct Onboard {
    pub id: Id,
    pub tenant_id: Id,
    pub invitation_id: Id,
    /// The directory of the invitation: LeadConduit's `connection_id`.
    pub directory_app_id: Id,
    pub flow_id: Id,
    /// The user the invitation created, once it is accepted.
    pub user_id: Option<Id>,
    /// Whether this onboard holds its user DISABLED: the acceptance created the user DISABLED to wait for
    /// it, and nobody has set the user's status since. Completing the onboard enables the user only then,
    /// so an onboard can never enable (or re-enable) a user whose status someone else decided.
    pub holds_user_disabled: bool,
    pub status: crate::onboarding::OnboardStatus,
    pub failure_reason: String,
    /// The flow's steps when the onboard started.
    pub steps: Vec<crate::onboarding::FlowStep>,
    pub states: Vec<crate::onboarding::StepState>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Onboard {
    /// A new onboard of `invitation` through `flow`, in status `created`; steps that following the
    /// invitation link has done already (verify email) are done when the invitation is accepted.
    pub fn new(invitation: &Invitation, flow: &crate::onboarding::Flow, now: Timestamp) -> Onboard {
        use crate::onboarding::{OnboardStatus, StepState};
        Onboard {
            id: Id::new(),
            tenant_id: invitation.tenant_id,
            invitation_id: invitation.id,
            directory_app_id: invitation.directory_app_id,
            flow_id: flow.id,
            user_id: invitation.created_user_id,
            holds_user_disabled: false,
            status: OnboardStatus::Created,
            failure_reason: String::new(),
            steps: flow.steps.clone(),
            states: flow
                .steps
                .iter()
                .map(|step| StepState { key: step.key.clone(), done: false, completed_by: None, completed_at: None })
                .collect(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Moves a `created` onboard to `in_progress` once any of its steps is done (accepting the invitation
    /// verifies the email).
    pub fn start_if_progressed(&mut self) {
        if self.status == crate::onboarding::OnboardStatus::Created && self.states.iter().any(|s| s.done) {
            self.status = crate::onboarding::OnboardStatus::InProgress;
        }
    }

    /// Marks the verify-email steps done by `user`: the invitation link reached them at that address.
    pub fn email_verified(&mut self, user: Id, now: Timestamp) {
        for (step, state) in self.steps.iter().zip(self.states.iter_mut()) {
            if matches!(step.kind, crate::onboarding::StepKind::VerifyEmail {}) && !state.done {
                state.done = true;
                state.completed_by = Some(user);
                state.completed_at = Some(now);
            }
        }
    }
}

impl Onboard {
    /// The indexes of the manager-approval steps that are due: not done, the invitation accepted, and every
    /// required step before it that a person does (the invitee's own, and earlier approvals) done. An
    /// approval is due at most once, so the approver is told when a write makes it due (the steps of an
    /// onboard only move forward).
    pub fn approvals_due(&self) -> Vec<usize> {
        use crate::onboarding::StepKind;
        if self.user_id.is_none() || self.status.is_final() {
            return Vec::new();
        }
        let mut due = Vec::new();
        for (index, (step, state)) in self.steps.iter().zip(&self.states).enumerate() {
            if matches!(step.kind, StepKind::ManagerApproval { .. }) && !state.done {
                due.push(index);
            }
            if step.required && !step.kind.is_automatic() && !state.done {
                break;
            }
        }
        due
    }

    /// Whether every required step a person does is done, so that the onboard completes (once its
    /// invitation is accepted).
    pub fn ready_to_complete(&self) -> bool {
        self.user_id.is_some()
            && !self.status.is_final()
            && crate::onboarding::unfinished_required(&self.steps, &self.states).is_empty()
    }
}

/// Who an onboard under way waits on ([`Onboard::turn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitingOn {
    /// The invitee: to accept the invitation, or to do their step.
    Invitee,
    /// The approver a manager-approval step names.
    Approver(Id),
    /// The user's manager (a manager-approval step that names nobody): the user's first manager now.
    Manager,
}

impl WaitingOn {
    /// The wire name: `invitee`, `approver`, `manager`.
    pub const fn as_str(self) -> &'static str {
        match self {
            WaitingOn::Invitee => "invitee",
            WaitingOn::Approver(_) => "approver",
            WaitingOn::Manager => "manager",
        }
    }
}

/// Whose turn it is in an onboard under way: its current step, who must act on it, and since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    /// The key of the first required step a person does that is not done; None while the invitation is
    /// not accepted (the invitee's turn is to accept it).
    pub step_key: Option<String>,
    pub waiting_on: WaitingOn,
    /// When it became this step's turn: the latest of the onboard's start, the acceptance and the
    /// completion of the steps before it.
    pub since: Timestamp,
}

impl Onboard {
    /// Whose turn it is, given when its invitation was accepted (`accepted_at`, None while pending); None
    /// for an onboard that ended, or one with nothing left for a person (it completes in the same write).
    /// The current step is the first required person-step not done, in the flow's order, which is the
    /// step an approval waits behind ([`Onboard::approvals_due`]). `since` is never before `created_at`
    /// nor after `updated_at` (every event it is taken from wrote the onboard).
    pub fn turn(&self, accepted_at: Option<Timestamp>) -> Option<Turn> {
        use crate::onboarding::StepKind;
        if self.status.is_final() {
            return None;
        }
        if self.user_id.is_none() {
            return Some(Turn { step_key: None, waiting_on: WaitingOn::Invitee, since: self.created_at });
        }
        let mut since = accepted_at.map_or(self.created_at, |at| at.max(self.created_at));
        for (step, state) in self.steps.iter().zip(&self.states) {
            if state.done {
                since = state.completed_at.map_or(since, |at| at.max(since));
                continue;
            }
            if !step.required || step.kind.is_automatic() {
                continue;
            }
            let waiting_on = match &step.kind {
                StepKind::ManagerApproval { approver_user_id: Some(named) } => WaitingOn::Approver(*named),
                StepKind::ManagerApproval { approver_user_id: None } => WaitingOn::Manager,
                _ => WaitingOn::Invitee,
            };
            return Some(Turn { step_key: Some(step.key.clone()), waiting_on, since });
        }
        None
    }
}

/// Where an outbox message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not yet tried, or being tried for the first time.
    Queued,
    /// Tried and failed; another attempt is scheduled.
    Retrying,
    Sent,
    /// Given up: the refusal was permanent or the attempts were spent.
    Failed,
    /// No longer to send (the invitation was resent, revoked or accepted first).
    Cancelled,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 5] = [
        DeliveryState::Queued,
        DeliveryState::Retrying,
        DeliveryState::Sent,
        DeliveryState::Failed,
        DeliveryState::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// The state of a message from its outbox columns: sent, failed and cancelled are final; an
    /// undelivered message with an error from an earlier attempt is retrying, one without is queued.
    pub fn of(sent: bool, failed: bool, cancelled: bool, last_error: &str) -> DeliveryState {
        match (sent, failed, cancelled) {
            (true, _, _) => DeliveryState::Sent,
            (_, true, _) => DeliveryState::Failed,
            (_, _, true) => DeliveryState::Cancelled,
            _ if last_error.is_empty() => DeliveryState::Queued,
            _ => DeliveryState::Retrying,
        }
    }
}

/// An outbox message as an operator sees it: what it is about, to whom, how its delivery goes. Never its
/// body, which may hold a secret link.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: Id,
    pub kind: String,
    pub subject_id: Id,
    pub recipient: String,
    pub subject: String,
    pub state: DeliveryState,
    /// Attempts started so far.
    pub attempts: i64,
    /// The last attempt's error; empty when none failed.
    pub last_error: String,
    /// When the next attempt is due, for a message still to deliver.
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// When it was sent, given up or cancelled.
    pub ended_at: Option<Timestamp>,
}

/// A signed link that lets an onboard's approver decide its manager-approval step from an email. Its
/// secret is never here: only its hash, which the store keeps and finds the link by.
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalLink {
    pub id: Id,
    pub tenant_id: Id,
    pub onboard_id: Id,
    pub step_key: String,
    /// Who was asked: the step's named approver, or the user's manager when the step became due.
    pub approver_user_id: Id,
    pub secret_hash: String,
    pub expires_at: Timestamp,
    /// When it was used to decide; a link decides once.
    pub used_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl ApprovalLink {
    /// Why the link cannot decide at `now`, if it cannot.
    pub fn refusal_at(&self, now: Timestamp) -> Option<SecretRefusal> {
        if self.used_at.is_some() {
            Some(SecretRefusal::Used)
        } else if self.expires_at <= now {
            Some(SecretRefusal::Expired)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let base = Duration::from_secs(10);
        let delays: Vec<u64> = (1..=11).map(|attempts| retry_delay(base, attempts).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(retry_delay(base, 0), base, "a message not yet attempted waits the base");
        assert_eq!(retry_delay(base, i64::MAX), MAX_RETRY_DELAY, "no overflow");
        assert_eq!(retry_delay(Duration::from_millis(200), 3), Duration::from_millis(800));
    }

    #[test]
    fn failures_are_retried_until_the_attempts_are_spent_or_the_refusal_is_permanent() {
        let now = Timestamp::from_micros(1_000_000_000);
        let transient = false;
        let base = Duration::from_secs(10);
        assert_eq!(next_attempt(transient, 1, base, now), Some(now.plus_seconds(10)));
        assert_eq!(next_attempt(transient, 3, base, now), Some(now.plus_seconds(40)));
        assert_eq!(next_attempt(transient, MAX_ATTEMPTS - 1, base, now), Some(now.plus_seconds(3600)));
        assert_eq!(next_attempt(transient, MAX_ATTEMPTS, base, now), None, "the 20th failure gives up");
        let permanent = true;
        assert_eq!(next_attempt(permanent, 1, base, now), None, "a permanent refusal gives up at once");
    }

    fn status() -> impl Strategy<Value = InvitationStatus> {
        prop::sample::select(InvitationStatus::ALL.to_vec())
    }

    fn invitation(status: InvitationStatus, expires_at: i64) -> Invitation {
        let now = Timestamp::from_micros(0);
        Invitation {
            id: Id::new(),
            tenant_id: Id::new(),
            directory_app_id: Id::new(),
            email: Email::parse("ada@example.com").unwrap(),
            display_name: "Ada".into(),
            initial_role_ids: Vec::new(),
            sponsor_user_id: None,
            onboarding_flow_id: None,
            purpose: String::new(),
            job_id: String::new(),
            invited_by_user_id: None,
            status,
            expires_at: Timestamp::from_micros(expires_at),
            accepted_at: None,
            created_user_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn onboard_of(steps: Vec<crate::onboarding::FlowStep>) -> Onboard {
        let flow = crate::onboarding::Flow { steps, ..crate::onboarding::Flow::minimal(Id::new()) };
        Onboard::new(&invitation(InvitationStatus::Pending, i64::MAX), &flow, Timestamp::from_micros(0))
    }

    fn done(onboard: &mut Onboard, key: &str) {
        let state = onboard.states.iter_mut().find(|state| state.key == key).unwrap();
        state.done = true;
    }

    #[test]
    fn an_approval_is_due_once_the_required_person_steps_before_it_are_done() {
        use crate::onboarding::{FlowStep, StepKind};
        let step = |key: &str, required: bool, kind: StepKind| FlowStep { key: key.into(), required, kind };
        let approval = || StepKind::ManagerApproval { approver_user_id: None };
        let mut onboard = onboard_of(vec![
            step("terms", true, StepKind::AcceptTerms { text: "t".into() }),
            step("note", false, StepKind::VerifyEmail {}),
            step("roles", true, StepKind::AssignRoles { role_ids: vec![Id::new()] }),
            step("first", true, approval()),
            step("second", true, approval()),
        ]);
        assert!(onboard.approvals_due().is_empty(), "nothing is due before acceptance");
        onboard.user_id = Some(Id::new());
        assert!(onboard.approvals_due().is_empty(), "the terms come first");
        done(&mut onboard, "terms");
        assert_eq!(onboard.approvals_due(), [3], "optional and automatic steps do not hold it back");
        assert!(!onboard.ready_to_complete());
        done(&mut onboard, "first");
        assert_eq!(onboard.approvals_due(), [4]);
        done(&mut onboard, "second");
        assert!(onboard.approvals_due().is_empty());
        assert!(onboard.ready_to_complete(), "every required person-step is done");
        onboard.status = crate::onboarding::OnboardStatus::Completed;
        assert!(!onboard.ready_to_complete(), "a completed onboard completes once");
    }

    #[test]
    fn the_turn_is_the_first_required_person_step_not_done() {
        use crate::onboarding::{FlowStep, OnboardStatus, StepKind};
        let step = |key: &str, required: bool, kind: StepKind| FlowStep { key: key.into(), required, kind };
        let boss = Id::new();
        let mut onboard = onboard_of(vec![
            step("note", false, StepKind::AcceptTerms { text: "optional".into() }),
            step("terms", true, StepKind::AcceptTerms { text: "t".into() }),
            step("roles", true, StepKind::AssignRoles { role_ids: vec![Id::new()] }),
            step("named", true, StepKind::ManagerApproval { approver_user_id: Some(boss) }),
            step("manager", true, StepKind::ManagerApproval { approver_user_id: None }),
        ]);
        onboard.created_at = Timestamp::from_micros(100);
        let turn = onboard.turn(None).unwrap();
        assert_eq!((turn.step_key, turn.waiting_on, turn.since), (None, WaitingOn::Invitee, onboard.created_at));
        onboard.user_id = Some(Id::new());
        let turn = onboard.turn(Some(Timestamp::from_micros(500))).unwrap();
        assert_eq!(turn.step_key.as_deref(), Some("terms"), "optional and automatic steps are skipped");
        assert_eq!((turn.waiting_on, turn.since.micros()), (WaitingOn::Invitee, 500), "since the acceptance");
        let complete = |onboard: &mut Onboard, key: &str, at: i64| {
            let state = onboard.states.iter_mut().find(|state| state.key == key).unwrap();
            state.done = true;
            state.completed_at = Some(Timestamp::from_micros(at));
        };
        complete(&mut onboard, "terms", 900);
        let turn = onboard.turn(Some(Timestamp::from_micros(500))).unwrap();
        assert_eq!(turn.step_key.as_deref(), Some("named"));
        assert_eq!((turn.waiting_on, turn.since.micros()), (WaitingOn::Approver(boss), 900));
        complete(&mut onboard, "named", 1200);
        let turn = onboard.turn(Some(Timestamp::from_micros(500))).unwrap();
        assert_eq!((turn.waiting_on, turn.since.micros()), (WaitingOn::Manager, 1200));
        complete(&mut onboard, "note", 5000);
        assert_eq!(onboard.turn(Some(Timestamp::from_micros(500))).unwrap().since.micros(), 5000);
        complete(&mut onboard, "manager", 6000);
        assert_eq!(onboard.turn(None), None, "nothing left for a person");
        onboard.states.iter_mut().for_each(|state| state.done = false);
        onboard.status = OnboardStatus::Failed;
        assert_eq!(onboard.turn(None), None, "an ended onboard waits on nobody");
    }

    #[test]
    fn delivery_states() {
        assert_eq!(DeliveryState::of(false, false, false, ""), DeliveryState::Queued);
        assert_eq!(DeliveryState::of(false, false, false, "421 later"), DeliveryState::Retrying);
        assert_eq!(DeliveryState::of(true, false, false, ""), DeliveryState::Sent);
        assert_eq!(DeliveryState::of(false, true, false, "550 no"), DeliveryState::Failed);
        assert_eq!(DeliveryState::of(false, false, true, ""), DeliveryState::Cancelled);
    }

    #[test]
    fn an_approval_link_decides_once_until_it_expires() {
        let now = Timestamp::from_micros(1_000);
        let link = ApprovalLink {
            id: Id::new(),
            tenant_id: Id::new(),
            onboard_id: Id::new(),
            step_key: "approval".into(),
            approver_user_id: Id::new(),
            secret_hash: String::new(),
            expires_at: Timestamp::from_micros(2_000),
            used_at: None,
            created_at: now,
        };
        assert_eq!(link.refusal_at(now), None);
        assert_eq!(link.refusal_at(Timestamp::from_micros(2_000)), Some(SecretRefusal::Expired));
        let used = ApprovalLink { used_at: Some(now), ..link };
        assert_eq!(used.refusal_at(now), Some(SecretRefusal::Used));
    }

    proptest! {
        /// What a reader sees moves only PENDING → EXPIRED with time; every other status is as stored, and
        /// once a reader sees an invitation expired it stays expired at every later time.
        #[test]
        fn invitations_expire_only_from_pending(stored in status(), expires in any::<i64>(), at in any::<i64>(), later in 0..i64::MAX) {
            let invitation = invitation(stored, expires);
            let now = Timestamp::from_micros(at);
            let seen = invitation.status_at(now);
            match stored {
                InvitationStatus::Pending => {
                    let expired = invitation.expires_at <= now;
                    prop_assert_eq!(seen, if expired { InvitationStatus::Expired } else { InvitationStatus::Pending });
                }
                other => prop_assert_eq!(seen, other),
            }
            let after = Timestamp::from_micros(at.saturating_add(later));
            if seen == InvitationStatus::Expired {
                prop_assert_eq!(invitation.status_at(after), InvitationStatus::Expired);
            }
        }

        /// An onboard starts only for an invitation a reader sees pending, or accepted with its user waiting.
        #[test]
        fn onboards_start_only_from_pending_or_a_waiting_acceptance(stored in status(), expires in any::<i64>(), at in any::<i64>(), waiting in any::<bool>()) {
            let invitation = invitation(stored, expires);
            let now = Timestamp::from_micros(at);
            let allowed = match invitation.status_at(now) {
                InvitationStatus::Pending => true,
                InvitationStatus::Accepted => waiting,
                InvitationStatus::Revoked | InvitationStatus::Expired => false,
            };
            prop_assert_eq!(invitation.may_start_onboard(now, waiting, None).is_ok(), allowed);
        }

        /// Retries never come sooner than the base nor later than the cap, never shrink from one attempt to
        /// the next, and stop at the last attempt or a permanent refusal.
        #[test]
        fn retries_back_off_within_bounds(base_ms in 1u64..100_000, attempts in 1i64..(MAX_ATTEMPTS + 5), permanent in any::<bool>(), at in 0i64..(1 << 52)) {
            let base = Duration::from_millis(base_ms);
            let delay = retry_delay(base, attempts);
            prop_assert!(delay >= base.min(MAX_RETRY_DELAY) && delay <= MAX_RETRY_DELAY);
            prop_assert!(retry_delay(base, attempts + 1) >= delay);
            let now = Timestamp::from_micros(at);
            match next_attempt(permanent, attempts, base, now) {
                None => prop_assert!(permanent || attempts >= MAX_ATTEMPTS),
                Some(next) => {
                    prop_assert!(!permanent && attempts < MAX_ATTEMPTS);
                    prop_assert_eq!(next.micros() - now.micros(), delay.as_micros() as i64);
                }
            }
        }
    }
}
