//! Onboarding flows and onboards: the ordered, typed steps that take an invitee to a working account, and
//! the state machine of one invitee's run through them.
//!
//! A flow is a list of steps. Each step has a key unique in its flow, says whether it is required, and has a
//! kind with its own settings. Steps that need a person (accept terms, complete profile, verify email,
//! manager approval) are completed through the API, each checking its own rule; steps onramp performs
//! itself (assign roles, notify) run when the onboard completes. An onboard completes only when every
//! required step a person must do is done.

use serde::{Deserialize, Serialize};

use crate::text::{TextKind, check_text};
use crate::{Id, Timestamp};

/// The id of the built-in minimal flow, the same in every tenant (like the built-in roles' ids).
pub const MINIMAL_FLOW_ID: Id = Id::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);

/// A user field a complete-profile step can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileField {
    #[serde(rename = "displayName")]
    DisplayName,
    #[serde(rename = "jobTitle")]
    JobTitle,
    #[serde(rename = "department")]
    Department,
    #[serde(rename = "employmentType")]
    EmploymentType,
    #[serde(rename = "managerIds")]
    Manager,
}

impl ProfileField {
    pub const ALL: [ProfileField; 5] = [
        ProfileField::DisplayName,
        ProfileField::JobTitle,
        ProfileField::Department,
        ProfileField::EmploymentType,
        ProfileField::Manager,
    ];

    /// The user field's wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProfileField::DisplayName => "displayName",
            ProfileField::JobTitle => "jobTitle",
            ProfileField::Department => "department",
            ProfileField::EmploymentType => "employmentType",
            ProfileField::Manager => "managerIds",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.as_str() == name)
    }

    /// Whether `user` has this field.
    pub fn present(self, user: &crate::user::User) -> bool {
        match self {
            ProfileField::DisplayName => !user.display_name.trim().is_empty(),
            ProfileField::JobTitle => !user.job_title.trim().is_empty(),
            ProfileField::Department => !user.department.trim().is_empty(),
            ProfileField::EmploymentType => !user.employment_type.trim().is_empty(),
            ProfileField::Manager => !user.manager_ids.is_empty(),
        }
    }
}

/// Who a notify step writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotifyRecipient {
    #[serde(rename = "NOTIFY_RECIPIENT_SPONSOR")]
    Sponsor,
    #[serde(rename = "NOTIFY_RECIPIENT_MANAGER")]
    Manager,
}

/// A step's kind and settings. Stored and sent as protojson: `{"acceptTerms": {"text": "..."}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepKind {
    /// The invitee accepts these terms.
    AcceptTerms { text: String },
    /// The user must have these fields set.
    #[serde(rename_all = "camelCase")]
    CompleteProfile { required_fields: Vec<ProfileField> },
    /// The invitee proves the email address; following the invitation link does.
    VerifyEmail {},
    /// The approver (or, when none is set, one of the user's managers) approves.
    #[serde(rename_all = "camelCase")]
    ManagerApproval {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approver_user_id: Option<Id>,
    },
    /// onramp grants these roles when the onboard completes.
    #[serde(rename_all = "camelCase")]
    AssignRoles { role_ids: Vec<Id> },
    /// onramp emails the sponsor or manager when the onboard completes.
    Notify { recipient: NotifyRecipient, message: String },
}

impl StepKind {
    /// Whether onramp performs the step itself (at completion) rather than a person.
    pub fn is_automatic(&self) -> bool {
        matches!(self, StepKind::AssignRoles { .. } | StepKind::Notify { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            StepKind::AcceptTerms { .. } => "acceptTerms",
            StepKind::CompleteProfile { .. } => "completeProfile",
            StepKind::VerifyEmail {} => "verifyEmail",
            StepKind::ManagerApproval { .. } => "managerApproval",
            StepKind::AssignRoles { .. } => "assignRoles",
            StepKind::Notify { .. } => "notify",
        }
    }
}

/// One step of a flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowStep {
    /// Unique in the flow: 1 to 64 lowercase letters, digits, dashes and underscores.
    pub key: String,
    pub required: bool,
    #[serde(flatten)]
    pub kind: StepKind,
}

/// A flow problem, naming the step at fault by its index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("steps[{index}]: {message}")]
pub struct FlowError {
    pub index: usize,
    pub message: String,
}

/// The most steps a flow may have.
pub const MAX_STEPS: usize = 32;

/// Checks a flow's steps: keys well-formed and unique, settings sensible. References to users and roles are
/// checked by the caller, which knows the tenant.
pub fn validate_steps(steps: &[FlowStep]) -> Result<(), FlowError> {
    if steps.len() > MAX_STEPS {
        return Err(FlowError { index: MAX_STEPS, message: format!("a flow has at most {MAX_STEPS} steps") });
    }
    for (index, step) in steps.iter().enumerate() {
        let error = |message: &str| FlowError { index, message: message.to_string() };
        let key_ok = (1..=64).contains(&step.key.len())
            && step.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !key_ok {
            return Err(error("key must be 1 to 64 lowercase letters, digits, dashes or underscores"));
        }
        if steps[..index].iter().any(|earlier| earlier.key == step.key) {
            return Err(error("key is used by an earlier step"));
        }
        match &step.kind {
            StepKind::AcceptTerms { text } if text.trim().is_empty() || text.chars().count() > 20_000 => {
                return Err(error("acceptTerms.text must hold the terms (1 to 20000 characters)"));
            }
            StepKind::AcceptTerms { text } => {
                check_text(text, TextKind::MultiLine, 20_000)
                    .map_err(|problem| error(&format!("acceptTerms.text {problem}")))?;
            }
            StepKind::CompleteProfile { required_fields } if required_fields.is_empty() => {
                return Err(error("completeProfile.requiredFields must name at least one field"));
            }
            StepKind::AssignRoles { role_ids } if role_ids.is_empty() => {
                return Err(error("assignRoles.roleIds must name at least one role"));
            }
            StepKind::Notify { message, .. } => {
                check_text(message, TextKind::MultiLine, 4000)
                    .map_err(|problem| error(&format!("notify.message {problem}")))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// An onboarding flow.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub id: Id,
    pub tenant_id: Id,
    pub display_name: String,
    pub description: String,
    pub steps: Vec<FlowStep>,
    /// The built-in minimal flow: read-only, never stored.
    pub builtin: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Flow {
    /// The minimal flow every tenant has: the invitee confirms their name. Accepting the invitation has
    /// already proven the email.
    pub fn minimal(tenant_id: Id) -> Flow {
        Flow {
            id: MINIMAL_FLOW_ID,
            tenant_id,
            display_name: "Minimal".into(),
            description: "Built in: the invitee confirms their profile.".into(),
            steps: vec![FlowStep {
                key: "profile".into(),
                required: true,
                kind: StepKind::CompleteProfile { required_fields: vec![ProfileField::DisplayName] },
            }],
            builtin: true,
            created_at: Timestamp::from_micros(0),
            updated_at: Timestamp::from_micros(0),
        }
    }
}

/// The status of an onboard (LeadConduit's lowercase names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnboardStatus {
    Created,
    InProgress,
    Completed,
    Failed,
}

impl OnboardStatus {
    pub const ALL: [OnboardStatus; 4] =
        [OnboardStatus::Created, OnboardStatus::InProgress, OnboardStatus::Completed, OnboardStatus::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            OnboardStatus::Created => "created",
            OnboardStatus::InProgress => "in_progress",
            OnboardStatus::Completed => "completed",
            OnboardStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// `created → in_progress → completed`, `created | in_progress → failed`; a status to itself is no change.
    pub fn may_become(self, next: OnboardStatus) -> bool {
        use OnboardStatus::*;
        matches!((self, next), (Created, InProgress | Failed) | (InProgress, Completed | Failed))
    }

    pub fn is_final(self) -> bool {
        matches!(self, OnboardStatus::Completed | OnboardStatus::Failed)
    }
}

/// The state of one step within an onboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepState {
    pub key: String,
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
}

/// The required person-steps of `steps` that `states` does not mark done, by key.
pub fn unfinished_required<'a>(steps: &'a [FlowStep], states: &[StepState]) -> Vec<&'a str> {
    steps
        .iter()
        .filter(|step| step.required && !step.kind.is_automatic())
        .filter(|step| !states.iter().any(|state| state.key == step.key && state.done))
        .map(|step| step.key.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(key: &str, kind: StepKind) -> FlowStep {
        FlowStep { key: key.into(), required: true, kind }
    }

    #[test]
    fn steps_serialise_as_protojson_oneofs() {
        let terms = step("terms", StepKind::AcceptTerms { text: "Be nice".into() });
        let json = serde_json::to_value(&terms).unwrap();
        assert_eq!(json, serde_json::json!({"key": "terms", "required": true, "acceptTerms": {"text": "Be nice"}}));
        let approval: FlowStep =
            serde_json::from_value(serde_json::json!({"key": "boss", "required": false, "managerApproval": {}}))
                .unwrap();
        assert_eq!(approval.kind, StepKind::ManagerApproval { approver_user_id: None });
        let profile: FlowStep = serde_json::from_value(
            serde_json::json!({"key": "p", "required": true, "completeProfile": {"requiredFields": ["jobTitle"]}}),
        )
        .unwrap();
        assert_eq!(profile.kind, StepKind::CompleteProfile { required_fields: vec![ProfileField::JobTitle] });
    }

    #[test]
    fn validation_names_the_step() {
        assert!(validate_steps(&Flow::minimal(Id::new()).steps).is_ok());
        let duplicate = [step("a", StepKind::VerifyEmail {}), step("a", StepKind::VerifyEmail {})];
        assert_eq!(validate_steps(&duplicate).unwrap_err().index, 1);
        let bad_key = [step("A B", StepKind::VerifyEmail {})];
        assert_eq!(validate_steps(&bad_key).unwrap_err().index, 0);
        let empty_terms = [step("t", StepKind::AcceptTerms { text: " ".into() })];
        assert!(validate_steps(&empty_terms).unwrap_err().message.contains("acceptTerms"));
        let no_fields = [step("p", StepKind::CompleteProfile { required_fields: vec![] })];
        assert!(validate_steps(&no_fields).is_err());
        let terms = [step("t", StepKind::AcceptTerms { text: "1. Be kind.\r\n2. Be\tbrief.\n".into() })];
        assert!(validate_steps(&terms).is_ok(), "terms are multi-line text");
        let nul_terms = [step("t", StepKind::AcceptTerms { text: "Be kind\0".into() })];
        assert!(validate_steps(&nul_terms).unwrap_err().message.starts_with("acceptTerms.text must not contain"));
        let escape = StepKind::Notify { recipient: NotifyRecipient::Sponsor, message: "\u{1b}[2J".into() };
        assert!(validate_steps(&[step("n", escape)]).unwrap_err().message.starts_with("notify.message must not"));
    }

    #[test]
    fn status_machine() {
        use OnboardStatus::*;
        assert!(Created.may_become(InProgress) && InProgress.may_become(Completed) && Created.may_become(Failed));
        assert!(!Completed.may_become(InProgress) && !Failed.may_become(InProgress) && !InProgress.may_become(Created));
        assert!(!Completed.may_become(Completed));
        assert!(!Created.may_become(Completed), "an onboard is under way before it completes");
        for status in OnboardStatus::ALL {
            assert_eq!(OnboardStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn unfinished_ignores_optional_and_automatic_steps() {
        let steps = vec![
            step("terms", StepKind::AcceptTerms { text: "t".into() }),
            FlowStep { key: "opt".into(), required: false, kind: StepKind::VerifyEmail {} },
            step("roles", StepKind::AssignRoles { role_ids: vec![Id::new()] }),
        ];
        assert_eq!(unfinished_required(&steps, &[]), vec!["terms"]);
        let done = [StepState { key: "terms".into(), done: true, completed_by: None, completed_at: None }];
        assert!(unfinished_required(&steps, &done).is_empty());
    }

    proptest::proptest! {
        /// Whatever moves are tried, an onboard's statuses follow created → in_progress → completed, or end
        /// in failed: a final status never moves, completed is reached only from in_progress, and no status
        /// comes back.
        #[test]
        fn onboard_statuses_move_only_forward(tries in proptest::collection::vec(proptest::sample::select(OnboardStatus::ALL.to_vec()), 0..12)) {
            let mut path = vec![OnboardStatus::Created];
            for next in tries {
                let current = *path.last().unwrap();
                if current.may_become(next) {
                    proptest::prop_assert!(!current.is_final(), "{current:?} is final");
                    proptest::prop_assert!(!path.contains(&next), "{next:?} came back");
                    if next == OnboardStatus::Completed {
                        proptest::prop_assert_eq!(current, OnboardStatus::InProgress);
                    }
                    path.push(next);
                }
            }
            use OnboardStatus::*;
            let allowed: [&[OnboardStatus]; 5] =
                [&[Created], &[Created, InProgress], &[Created, InProgress, Completed], &[Created, Failed], &[Created, InProgress, Failed]];
            proptest::prop_assert!(allowed.contains(&path.as_slice()), "{path:?}");
        }
    }
}
