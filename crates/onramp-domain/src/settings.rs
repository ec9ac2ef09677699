//! The tenant's onboarding settings (`c1.api.settings.v1`): the core onboarding status with its state
//! machine, the AIAM MCP briefing (its own status, goal and targets), the admin's intents and organisation
//! context, and the onboarding conversation's id; and [`OnboardingSettingsUpdate`], the whole meaning of an
//! update request as one pure function, so that the store only locks, applies and writes.
//!
//! The core status moves NOT_STARTED → IN_PROGRESS → COMPLETE, to DISMISSED from any state, and from
//! DISMISSED back to IN_PROGRESS; setting the current status again changes nothing; every other move is
//! refused. The MCP status is a briefing the admin may leave, redo or abandon at will: every move is
//! allowed, and setting NOT_STARTED restarts it, clearing the goal and targets unless the same update sets
//! them.

use crate::{Id, Timestamp};
use serde::{Deserialize, Serialize};

/// `status`: the core onboarding wizard. `UNSPECIFIED` is not a state: on input it means "leave unchanged".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnboardingStatus {
    NotStarted,
    InProgress,
    Complete,
    Dismissed,
}

impl OnboardingStatus {
    pub const ALL: [OnboardingStatus; 4] = [
        OnboardingStatus::NotStarted,
        OnboardingStatus::InProgress,
        OnboardingStatus::Complete,
        OnboardingStatus::Dismissed,
    ];

    /// The stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            OnboardingStatus::NotStarted => "NOT_STARTED",
            OnboardingStatus::InProgress => "IN_PROGRESS",
            OnboardingStatus::Complete => "COMPLETE",
            OnboardingStatus::Dismissed => "DISMISSED",
        }
    }

    /// The protojson enum name.
    pub const fn wire(self) -> &'static str {
        match self {
            OnboardingStatus::NotStarted => "ONBOARDING_STATUS_NOT_STARTED",
            OnboardingStatus::InProgress => "ONBOARDING_STATUS_IN_PROGRESS",
            OnboardingStatus::Complete => "ONBOARDING_STATUS_COMPLETE",
            OnboardingStatus::Dismissed => "ONBOARDING_STATUS_DISMISSED",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == stored)
    }

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.wire() == name)
    }

    /// Whether the core status may move from `self` to `to`. Staying is allowed (and changes nothing).
    pub fn can_move_to(self, to: OnboardingStatus) -> bool {
        use OnboardingStatus::*;
        self == to
            || matches!(
                (self, to),
                (NotStarted, InProgress) | (InProgress, Complete) | (_, Dismissed) | (Dismissed, InProgress)
            )
    }

    /// The states `self` may move to, itself excluded.
    pub fn next_states(self) -> impl Iterator<Item = OnboardingStatus> {
        Self::ALL.into_iter().filter(move |to| *to != self && self.can_move_to(*to))
    }
}

/// `mcpOnboardingStatus`: the AIAM MCP briefing, tracked apart from the core status. Every move is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum McpOnboardingStatus {
    NotStarted,
    InProgress,
    Complete,
    Dismissed,
}

impl McpOnboardingStatus {
    pub const ALL: [McpOnboardingStatus; 4] = [
        McpOnboardingStatus::NotStarted,
        McpOnboardingStatus::InProgress,
        McpOnboardingStatus::Complete,
        McpOnboardingStatus::Dismissed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            McpOnboardingStatus::NotStarted => "NOT_STARTED",
            McpOnboardingStatus::InProgress => "IN_PROGRESS",
            McpOnboardingStatus::Complete => "COMPLETE",
            McpOnboardingStatus::Dismissed => "DISMISSED",
        }
    }

    pub const fn wire(self) -> &'static str {
        match self {
            McpOnboardingStatus::NotStarted => "MCP_ONBOARDING_STATUS_NOT_STARTED",
            McpOnboardingStatus::InProgress => "MCP_ONBOARDING_STATUS_IN_PROGRESS",
            McpOnboardingStatus::Complete => "MCP_ONBOARDING_STATUS_COMPLETE",
            McpOnboardingStatus::Dismissed => "MCP_ONBOARDING_STATUS_DISMISSED",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == stored)
    }

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.wire() == name)
    }
}

/// `McpOnboardingTarget.kind`: which id space a target's `id` is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum McpTargetKind {
    App,
    CatalogEntry,
    McpServer,
}

impl McpTargetKind {
    pub const ALL: [McpTargetKind; 3] = [McpTargetKind::App, McpTargetKind::CatalogEntry, McpTargetKind::McpServer];

    pub const fn wire(self) -> &'static str {
        match self {
            McpTargetKind::App => "MCP_ONBOARDING_TARGET_KIND_APP",
            McpTargetKind::CatalogEntry => "MCP_ONBOARDING_TARGET_KIND_CATALOG_ENTRY",
            McpTargetKind::McpServer => "MCP_ONBOARDING_TARGET_KIND_MCP_SERVER",
        }
    }

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.wire() == name)
    }
}

/// `McpOnboardingTarget.status`: how far the briefing got with one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum McpTargetStatus {
    Pending,
    Done,
    Skipped,
}

impl McpTargetStatus {
    pub const ALL: [McpTargetStatus; 3] = [McpTargetStatus::Pending, McpTargetStatus::Done, McpTargetStatus::Skipped];

    pub const fn wire(self) -> &'static str {
        match self {
            McpTargetStatus::Pending => "MCP_ONBOARDING_TARGET_STATUS_PENDING",
            McpTargetStatus::Done => "MCP_ONBOARDING_TARGET_STATUS_DONE",
            McpTargetStatus::Skipped => "MCP_ONBOARDING_TARGET_STATUS_SKIPPED",
        }
    }

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.wire() == name)
    }
}

/// One server or app the admin chose to govern during the AIAM briefing, and its progress. Stored as JSON
/// in this serde form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpTarget {
    pub kind: McpTargetKind,
    pub id: String,
    pub display_name: String,
    pub mcp_server_id: String,
    pub status: McpTargetStatus,
}

/// `OnboardingOrgContext`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgContext {
    pub industry: String,
    pub organization_size: String,
}

/// A tenant's onboarding settings. A tenant that never wrote any has [`OnboardingSettings::defaults`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnboardingSettings {
    pub tenant_id: Id,
    pub status: OnboardingStatus,
    pub mcp_status: McpOnboardingStatus,
    /// The onboarding conversation's id; empty until one is associated or ensured.
    pub conversation_id: String,
    pub mcp_goal: String,
    pub mcp_targets: Vec<McpTarget>,
    pub intents: Vec<String>,
    pub org_context: OrgContext,
    /// When the settings were last written; None when they never were.
    pub updated_at: Option<Timestamp>,
}

impl OnboardingSettings {
    pub fn defaults(tenant_id: Id) -> OnboardingSettings {
        OnboardingSettings {
            tenant_id,
            status: OnboardingStatus::NotStarted,
            mcp_status: McpOnboardingStatus::NotStarted,
            conversation_id: String::new(),
            mcp_goal: String::new(),
            mcp_targets: Vec::new(),
            intents: Vec::new(),
            org_context: OrgContext::default(),
            updated_at: None,
        }
    }

    /// Equal apart from `updated_at`: whether an update changed anything.
    pub fn same_content(&self, other: &OnboardingSettings) -> bool {
        OnboardingSettings { updated_at: None, ..self.clone() }
            == OnboardingSettings { updated_at: None, ..other.clone() }
    }
}

/// An update of the onboarding settings, already validated at the boundary. Every None leaves its
/// setting unchanged; `Some` of an empty value clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnboardingSettingsUpdate {
    pub status: Option<OnboardingStatus>,
    pub mcp_status: Option<McpOnboardingStatus>,
    pub conversation_id: Option<String>,
    pub mcp_goal: Option<String>,
    pub mcp_targets: Option<Vec<McpTarget>>,
    pub intents: Option<Vec<String>>,
    pub org_context: Option<OrgContext>,
}

/// A move of the core onboarding status that its machine refuses; the message names both states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RefusedMove(pub String);

impl OnboardingSettingsUpdate {
    /// The settings after this update, or [`RefusedMove`] naming both states when the core
    /// status may not move as asked (and then nothing of the update applies). `updated_at` is left as it
    /// was; the store sets it.
    pub fn apply(&self, before: &OnboardingSettings) -> Result<OnboardingSettings, RefusedMove> {
        let mut after = before.clone();
        if let Some(to) = self.status {
            if !before.status.can_move_to(to) {
                let allowed: Vec<&str> = before.status.next_states().map(OnboardingStatus::wire).collect();
                return Err(RefusedMove(format!(
                    "status cannot change from {} to {} (from {} it may change to {})",
                    before.status.wire(),
                    to.wire(),
                    before.status.wire(),
                    allowed.join(" or "),
                )));
            }
            after.status = to;
        }
        if let Some(to) = self.mcp_status {
            if to == McpOnboardingStatus::NotStarted {
                // A restart: the briefing's answers go, unless this same update gives new ones (below).
                after.mcp_goal.clear();
                after.mcp_targets.clear();
            }
            after.mcp_status = to;
        }
        if let Some(goal) = &self.mcp_goal {
            after.mcp_goal = goal.clone();
        }
        if let Some(targets) = &self.mcp_targets {
            after.mcp_targets = targets.clone();
        }
        if let Some(id) = &self.conversation_id {
            after.conversation_id = id.clone();
        }
        if let Some(intents) = &self.intents {
            after.intents = intents.clone();
        }
        if let Some(context) = &self.org_context {
            after.org_context = context.clone();
        }
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OnboardingStatus::*;

    fn target(id: &str) -> McpTarget {
        McpTarget {
            kind: McpTargetKind::App,
            id: id.into(),
            display_name: format!("App {id}"),
            mcp_server_id: String::new(),
            status: McpTargetStatus::Pending,
        }
    }

    fn settings(status: OnboardingStatus) -> OnboardingSettings {
        OnboardingSettings { status, ..OnboardingSettings::defaults(Id::new()) }
    }

    #[test]
    fn core_status_machine_is_exactly_the_documented_one() {
        let allowed = [
            (NotStarted, InProgress),
            (InProgress, Complete),
            (NotStarted, Dismissed),
            (InProgress, Dismissed),
            (Complete, Dismissed),
            (Dismissed, InProgress),
        ];
        for from in OnboardingStatus::ALL {
            for to in OnboardingStatus::ALL {
                let expected = from == to || allowed.contains(&(from, to));
                assert_eq!(from.can_move_to(to), expected, "{from:?} -> {to:?}");
                let update = OnboardingSettingsUpdate { status: Some(to), ..Default::default() };
                match update.apply(&settings(from)) {
                    Ok(after) => {
                        assert!(expected, "{from:?} -> {to:?} must be refused");
                        assert_eq!(after.status, to);
                    }
                    Err(RefusedMove(message)) => {
                        assert!(!expected, "{from:?} -> {to:?} must be allowed");
                        assert!(message.contains(from.wire()) && message.contains(to.wire()), "{message}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_refused_move_applies_nothing_else() {
        let update = OnboardingSettingsUpdate {
            status: Some(Complete),
            mcp_goal: Some("goal".into()),
            intents: Some(vec!["x".into()]),
            ..Default::default()
        };
        assert!(matches!(update.apply(&settings(NotStarted)), Err(RefusedMove(_))));
    }

    #[test]
    fn stored_and_wire_names_round_trip() {
        for status in OnboardingStatus::ALL {
            assert_eq!(OnboardingStatus::parse(status.as_str()), Some(status));
            assert_eq!(OnboardingStatus::from_wire(status.wire()), Some(status));
        }
        for status in McpOnboardingStatus::ALL {
            assert_eq!(McpOnboardingStatus::parse(status.as_str()), Some(status));
            assert_eq!(McpOnboardingStatus::from_wire(status.wire()), Some(status));
        }
        assert_eq!(OnboardingStatus::from_wire("ONBOARDING_STATUS_UNSPECIFIED"), None);
        assert_eq!(McpTargetKind::from_wire("MCP_ONBOARDING_TARGET_KIND_UNSPECIFIED"), None);
        let json = serde_json::to_string(&target("a")).unwrap();
        assert_eq!(json, r#"{"kind":"APP","id":"a","displayName":"App a","mcpServerId":"","status":"PENDING"}"#);
        assert_eq!(serde_json::from_str::<McpTarget>(&json).unwrap(), target("a"));
    }

    #[test]
    fn mcp_moves_are_free_and_not_started_restarts() {
        let briefed = OnboardingSettings {
            mcp_status: McpOnboardingStatus::Complete,
            mcp_goal: "govern MCP".into(),
            mcp_targets: vec![target("a")],
            ..settings(InProgress)
        };
        for to in McpOnboardingStatus::ALL {
            let update = OnboardingSettingsUpdate { mcp_status: Some(to), ..Default::default() };
            let after = update.apply(&briefed).unwrap();
            assert_eq!(after.mcp_status, to);
            let restarted = to == McpOnboardingStatus::NotStarted;
            assert_eq!(after.mcp_goal.is_empty(), restarted, "{to:?}");
            assert_eq!(after.mcp_targets.is_empty(), restarted, "{to:?}");
            assert_eq!(after.status, InProgress, "the core status is untouched");
        }
        // A restart that sets the goal or targets keeps what it sets.
        let update = OnboardingSettingsUpdate {
            mcp_status: Some(McpOnboardingStatus::NotStarted),
            mcp_goal: Some("new goal".into()),
            ..Default::default()
        };
        let after = update.apply(&briefed).unwrap();
        assert_eq!((after.mcp_goal.as_str(), after.mcp_targets.len()), ("new goal", 0));
        let update = OnboardingSettingsUpdate {
            mcp_status: Some(McpOnboardingStatus::NotStarted),
            mcp_targets: Some(vec![target("b")]),
            ..Default::default()
        };
        let after = update.apply(&briefed).unwrap();
        assert_eq!((after.mcp_goal.as_str(), after.mcp_targets), ("", vec![target("b")]));
    }

    #[test]
    fn omitted_leaves_unchanged_and_empty_clears() {
        let before = OnboardingSettings {
            mcp_goal: "goal".into(),
            mcp_targets: vec![target("a")],
            intents: vec!["governance".into()],
            org_context: OrgContext { industry: "retail".into(), organization_size: "50".into() },
            conversation_id: "c".into(),
            ..settings(InProgress)
        };
        let after = OnboardingSettingsUpdate::default().apply(&before).unwrap();
        assert!(after.same_content(&before));
        let clear = OnboardingSettingsUpdate {
            mcp_goal: Some(String::new()),
            mcp_targets: Some(Vec::new()),
            intents: Some(Vec::new()),
            org_context: Some(OrgContext::default()),
            ..Default::default()
        };
        let after = clear.apply(&before).unwrap();
        assert_eq!(
            OnboardingSettings { conversation_id: String::new(), ..after },
            OnboardingSettings { status: InProgress, ..OnboardingSettings::defaults(before.tenant_id) }
        );
    }

    fn update() -> impl proptest::strategy::Strategy<Value = OnboardingSettingsUpdate> {
        use proptest::prelude::*;
        let status = proptest::option::of(prop::sample::select(OnboardingStatus::ALL.to_vec()));
        let mcp = proptest::option::of(prop::sample::select(McpOnboardingStatus::ALL.to_vec()));
        let goal = proptest::option::of("[a-z]{0,3}");
        let intents = proptest::option::of(proptest::collection::vec("[a-z]{1,3}", 0..3));
        (status, mcp, goal, intents).prop_map(|(status, mcp_status, mcp_goal, intents)| OnboardingSettingsUpdate {
            status,
            mcp_status,
            mcp_goal,
            intents,
            ..Default::default()
        })
    }

    proptest::proptest! {
        /// Over any run of updates, the core status moves only as its machine allows, a refused update
        /// changes nothing at all, and COMPLETE is reached only from IN_PROGRESS.
        #[test]
        fn settings_move_only_by_the_machine(updates in proptest::collection::vec(update(), 0..10)) {
            let mut settings = OnboardingSettings::defaults(Id::new());
            for update in updates {
                let before = settings.clone();
                match update.apply(&before) {
                    Ok(after) => {
                        let to = update.status.unwrap_or(before.status);
                        proptest::prop_assert!(before.status.can_move_to(to));
                        proptest::prop_assert_eq!(after.status, to);
                        if to == Complete && before.status != Complete {
                            proptest::prop_assert_eq!(before.status, InProgress);
                        }
                        if let Some(intents) = &update.intents {
                            proptest::prop_assert_eq!(&after.intents, intents);
                        }
                        settings = after;
                    }
                    Err(RefusedMove(message)) => {
                        let to = update.status.expect("only a status move is refused");
                        proptest::prop_assert!(!before.status.can_move_to(to));
                        proptest::prop_assert!(message.contains(to.wire()), "{}", message);
                    }
                }
            }
        }

        /// An update that sets nothing changes nothing.
        #[test]
        fn an_empty_update_changes_nothing(updates in proptest::collection::vec(update(), 0..6)) {
            let mut settings = OnboardingSettings::defaults(Id::new());
            for update in updates {
                settings = update.apply(&settings).unwrap_or(settings);
            }
            proptest::prop_assert_eq!(OnboardingSettingsUpdate::default().apply(&settings), Ok(settings));
        }
    }
}
