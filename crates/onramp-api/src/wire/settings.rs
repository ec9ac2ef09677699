//! The wire forms of `c1.api.settings.v1` onboarding settings and the parsing of
//! `UpdateOnboardingSettingsRequest`, checked field by field; a refusal names the field
//! (`mcpOnboardingTargets.targets[1].kind`).
//!
//! Update semantics: an omitted (or `null`) field leaves its setting unchanged. `mcpOnboardingGoal: ""`
//! clears the goal; an `mcpOnboardingTargets` wrapper that is present replaces the targets, even when its
//! list is empty or absent. A status of `..._UNSPECIFIED` leaves that status unchanged. `conversationId` is a
//! plain proto3 string, so `""` is indistinguishable from unset and leaves it unchanged. `intents` and
//! `orgContext` are onramp extensions (the published request lacks them) under the same omit-to-leave
//! rule: a present list or object replaces the stored one.

use onramp_domain::text::TextKind;
use onramp_store::{
    McpOnboardingStatus, McpTarget, McpTargetKind, McpTargetStatus, OnboardingSettings, OnboardingSettingsUpdate,
    OnboardingStatus, OrgContext,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::wire::enums::{
    EnumName, McpOnboardingStatusEnum, McpTargetKindEnum, McpTargetStatusEnum, OnboardingStatusEnum,
};
use crate::wire::{checked_text, multi_line};

/// The longest goal onramp keeps, in characters.
const MAX_GOAL_CHARS: usize = 4096;
/// The longest id, label, intent or organisation field, in characters.
const MAX_TEXT_CHARS: usize = 256;
/// The most targets (and the most intents) one tenant keeps.
const MAX_ITEMS: usize = 200;

/// `GetOnboardingSettingsResponse`: every field present, empty lists and strings included. The update
/// answers the same form, a superset of `UpdateOnboardingSettingsResponse`. Fields are in the order of
/// their JSON names.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsBody {
    pub conversation_id: String,
    pub intents: Vec<String>,
    pub mcp_onboarding_goal: String,
    pub mcp_onboarding_status: &'static str,
    pub mcp_onboarding_targets: Vec<TargetBody>,
    pub org_context: OrgContextBody,
    pub status: &'static str,
}

/// `McpOnboardingTarget`.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetBody {
    pub display_name: String,
    pub id: String,
    pub kind: &'static str,
    pub mcp_server_id: String,
    pub status: &'static str,
}

/// `OnboardingOrgContext`.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgContextBody {
    pub industry: String,
    pub organization_size: String,
}

pub fn settings_json(settings: &OnboardingSettings) -> SettingsBody {
    SettingsBody {
        conversation_id: settings.conversation_id.clone(),
        intents: settings.intents.clone(),
        mcp_onboarding_goal: settings.mcp_goal.clone(),
        mcp_onboarding_status: settings.mcp_status.wire(),
        mcp_onboarding_targets: settings.mcp_targets.iter().map(target_json).collect(),
        org_context: OrgContextBody {
            industry: settings.org_context.industry.clone(),
            organization_size: settings.org_context.organization_size.clone(),
        },
        status: settings.status.wire(),
    }
}

pub fn target_json(target: &McpTarget) -> TargetBody {
    TargetBody {
        display_name: target.display_name.clone(),
        id: target.id.clone(),
        kind: target.kind.wire(),
        mcp_server_id: target.mcp_server_id.clone(),
        status: target.status.wire(),
    }
}

/// `UpdateOnboardingSettingsRequest`, plus onramp's `intents` and `orgContext`. Proto (snake_case) names
/// are accepted too.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateInput {
    status: Option<EnumName<OnboardingStatusEnum>>,
    mcp_onboarding_status: Option<EnumName<McpOnboardingStatusEnum>>,
    conversation_id: Option<String>,
    mcp_onboarding_goal: Option<String>,
    mcp_onboarding_targets: Option<TargetListInput>,
    intents: Option<Vec<String>>,
    org_context: Option<OrgContextInput>,
}

/// `McpOnboardingTargetList`: present means replace, so a missing or `null` list inside it is empty.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(default)]
struct TargetListInput {
    targets: Option<Vec<TargetInput>>,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct TargetInput {
    kind: Option<EnumName<McpTargetKindEnum>>,
    id: Option<String>,
    display_name: Option<String>,
    mcp_server_id: Option<String>,
    status: Option<EnumName<McpTargetStatusEnum>>,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct OrgContextInput {
    industry: Option<String>,
    organization_size: Option<String>,
}

/// An enum name parsed by `from_wire`, where `unspecified` (and nothing else outside `all`) means "none";
/// anything else is refused naming the field and the accepted names.
fn enum_field<T: Copy>(
    field: &str,
    value: &str,
    unspecified: &str,
    from_wire: fn(&str) -> Option<T>,
    all: &[T],
    wire: fn(T) -> &'static str,
) -> ApiResult<Option<T>> {
    if value == unspecified {
        return Ok(None);
    }
    from_wire(value).map(Some).ok_or_else(|| {
        let names: Vec<&str> = std::iter::once(unspecified).chain(all.iter().map(|v| wire(*v))).collect();
        ApiError::invalid_field(field, format!("{value:?} is not one of {}", names.join(", ")))
    })
}

/// A one-line text field of at most `max` characters (see `onramp_domain::text`).
fn text(field: &str, value: String, max: usize) -> ApiResult<String> {
    checked_text(field, &value, TextKind::OneLine, max)?;
    Ok(value)
}

impl UpdateInput {
    /// The validated update.
    pub fn into_update(self) -> ApiResult<OnboardingSettingsUpdate> {
        let status = match self.status {
            Some(value) => enum_field(
                "status",
                &value,
                "ONBOARDING_STATUS_UNSPECIFIED",
                OnboardingStatus::from_wire,
                &OnboardingStatus::ALL,
                OnboardingStatus::wire,
            )?,
            None => None,
        };
        let mcp_status = match self.mcp_onboarding_status {
            Some(value) => enum_field(
                "mcpOnboardingStatus",
                &value,
                "MCP_ONBOARDING_STATUS_UNSPECIFIED",
                McpOnboardingStatus::from_wire,
                &McpOnboardingStatus::ALL,
                McpOnboardingStatus::wire,
            )?,
            None => None,
        };
        let conversation_id = match self.conversation_id.filter(|id| !id.is_empty()) {
            Some(id) if id.trim() != id || id.chars().any(char::is_whitespace) => {
                return Err(ApiError::invalid_field("conversationId", "must not contain spaces"));
            }
            Some(id) => Some(text("conversationId", id, MAX_TEXT_CHARS)?),
            None => None,
        };
        let mcp_goal = self
            .mcp_onboarding_goal
            .map(|goal| multi_line("mcpOnboardingGoal", Some(&goal), MAX_GOAL_CHARS))
            .transpose()?;
        let mcp_targets =
            self.mcp_onboarding_targets.map(|list| parse_targets(list.targets.unwrap_or_default())).transpose()?;
        let intents = self.intents.map(parse_intents).transpose()?;
        let org_context = self
            .org_context
            .map(|context| -> ApiResult<OrgContext> {
                Ok(OrgContext {
                    industry: text("orgContext.industry", context.industry.unwrap_or_default(), MAX_TEXT_CHARS)?,
                    organization_size: text(
                        "orgContext.organizationSize",
                        context.organization_size.unwrap_or_default(),
                        MAX_TEXT_CHARS,
                    )?,
                })
            })
            .transpose()?;
        Ok(OnboardingSettingsUpdate {
            status,
            mcp_status,
            conversation_id,
            mcp_goal,
            mcp_targets,
            intents,
            org_context,
        })
    }
}

/// The targets of a replacing list: each needs a kind and an id, and a (kind, id) may appear once. A
/// target without a status (or `..._UNSPECIFIED`) starts PENDING.
fn parse_targets(inputs: Vec<TargetInput>) -> ApiResult<Vec<McpTarget>> {
    if inputs.len() > MAX_ITEMS {
        return Err(ApiError::invalid_field("mcpOnboardingTargets.targets", format!("at most {MAX_ITEMS} targets")));
    }
    let mut targets: Vec<McpTarget> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        let field = |name: &str| format!("mcpOnboardingTargets.targets[{i}].{name}");
        let kind = enum_field(
            &field("kind"),
            input.kind.as_deref().unwrap_or("MCP_ONBOARDING_TARGET_KIND_UNSPECIFIED"),
            "MCP_ONBOARDING_TARGET_KIND_UNSPECIFIED",
            McpTargetKind::from_wire,
            &McpTargetKind::ALL,
            McpTargetKind::wire,
        )?
        .ok_or_else(|| ApiError::invalid_field(&field("kind"), "is required"))?;
        let status = enum_field(
            &field("status"),
            input.status.as_deref().unwrap_or("MCP_ONBOARDING_TARGET_STATUS_UNSPECIFIED"),
            "MCP_ONBOARDING_TARGET_STATUS_UNSPECIFIED",
            McpTargetStatus::from_wire,
            &McpTargetStatus::ALL,
            McpTargetStatus::wire,
        )?
        .unwrap_or(McpTargetStatus::Pending);
        let id = text(&field("id"), input.id.unwrap_or_default(), MAX_TEXT_CHARS)?;
        if id.trim().is_empty() {
            return Err(ApiError::invalid_field(&field("id"), "is required"));
        }
        if targets.iter().any(|t| t.kind == kind && t.id == id) {
            return Err(ApiError::invalid_field(&field("id"), format!("{id:?} is listed twice with this kind")));
        }
        targets.push(McpTarget {
            kind,
            id,
            display_name: text(&field("displayName"), input.display_name.unwrap_or_default(), MAX_TEXT_CHARS)?,
            mcp_server_id: text(&field("mcpServerId"), input.mcp_server_id.unwrap_or_default(), MAX_TEXT_CHARS)?,
            status,
        });
    }
    Ok(targets)
}

/// The intents of a replacing list: non-empty, each at most once.
fn parse_intents(inputs: Vec<String>) -> ApiResult<Vec<String>> {
    if inputs.len() > MAX_ITEMS {
        return Err(ApiError::invalid_field("intents", format!("at most {MAX_ITEMS} intents")));
    }
    let mut intents: Vec<String> = Vec::with_capacity(inputs.len());
    for (i, intent) in inputs.into_iter().enumerate() {
        let field = format!("intents[{i}]");
        let intent = text(&field, intent, MAX_TEXT_CHARS)?;
        if intent.trim().is_empty() {
            return Err(ApiError::invalid_field(&field, "must not be empty"));
        }
        if intents.contains(&intent) {
            return Err(ApiError::invalid_field(&field, format!("{intent:?} is listed twice")));
        }
        intents.push(intent);
    }
    Ok(intents)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::extract::parse_json;

    fn parse(body: &str) -> ApiResult<OnboardingSettingsUpdate> {
        parse_json::<UpdateInput>(body.as_bytes())?.into_update()
    }

    #[test]
    fn settings_in_protojson_keep_every_field() {
        let tenant: onramp_domain::Id = format!("{:024x}", 1).parse().unwrap();
        let mut settings = OnboardingSettings::defaults(tenant);
        let expected = json!({
            "status": OnboardingStatus::NotStarted.wire(), "mcpOnboardingStatus": settings.mcp_status.wire(),
            "conversationId": "", "mcpOnboardingGoal": "", "mcpOnboardingTargets": [], "intents": [],
            "orgContext": {"industry": "", "organizationSize": ""},
        });
        assert_eq!(serde_json::to_string(&settings_json(&settings)).unwrap(), expected.to_string());
        settings.mcp_targets = vec![McpTarget {
            kind: McpTargetKind::App,
            id: "a1".into(),
            display_name: "Wiki".into(),
            mcp_server_id: "s".into(),
            status: McpTargetStatus::Done,
        }];
        settings.intents = vec!["grow".into()];
        settings.org_context.industry = "Retail".into();
        settings.conversation_id = "c1".into();
        let mut expected = expected;
        expected["mcpOnboardingTargets"] = json!([{
            "kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a1", "displayName": "Wiki", "mcpServerId": "s",
            "status": "MCP_ONBOARDING_TARGET_STATUS_DONE",
        }]);
        expected["intents"] = json!(["grow"]);
        expected["orgContext"]["industry"] = json!("Retail");
        expected["conversationId"] = json!("c1");
        assert_eq!(serde_json::to_string(&settings_json(&settings)).unwrap(), expected.to_string());
    }

    #[test]
    fn omitted_null_and_unspecified_leave_unchanged() {
        let expected = OnboardingSettingsUpdate::default();
        assert_eq!(parse("{}").unwrap(), expected);
        let nulls = r#"{"status": null, "mcpOnboardingStatus": null, "mcpOnboardingGoal": null,
                        "mcpOnboardingTargets": null, "intents": null, "orgContext": null, "conversationId": ""}"#;
        assert_eq!(parse(nulls).unwrap(), expected);
        let unspecified = r#"{"status": "ONBOARDING_STATUS_UNSPECIFIED", "mcpOnboardingStatus": "MCP_ONBOARDING_STATUS_UNSPECIFIED"}"#;
        assert_eq!(parse(unspecified).unwrap(), expected);
    }

    #[test]
    fn present_empty_values_clear() {
        let update =
            parse(r#"{"mcpOnboardingGoal": "", "mcpOnboardingTargets": {}, "intents": [], "orgContext": {}}"#).unwrap();
        assert_eq!(update.mcp_goal.as_deref(), Some(""));
        assert_eq!(update.mcp_targets, Some(Vec::new()));
        assert_eq!(update.intents, Some(Vec::new()));
        assert_eq!(update.org_context, Some(OrgContext::default()));
        let update = parse(r#"{"mcp_onboarding_targets": {"targets": null}, "mcp_onboarding_goal": "g"}"#).unwrap();
        assert_eq!((update.mcp_targets, update.mcp_goal.as_deref()), (Some(Vec::new()), Some("g")));
    }

    #[test]
    fn targets_are_checked_one_by_one() {
        let body = r#"{"mcpOnboardingTargets": {"targets": [
            {"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a1"},
            {"kind": "MCP_ONBOARDING_TARGET_KIND_ROBOT", "id": "a2"}]}}"#;
        let error = parse(body).unwrap_err();
        assert!(error.message.starts_with("invalid mcpOnboardingTargets.targets[1].kind:"), "{}", error.message);
        let error = parse(r#"{"mcpOnboardingTargets": {"targets": [{"id": "x"}]}}"#).unwrap_err();
        assert_eq!(error.message, "invalid mcpOnboardingTargets.targets[0].kind: is required");
        let body = r#"{"mcpOnboardingTargets": {"targets": [{"kind": "MCP_ONBOARDING_TARGET_KIND_APP"}]}}"#;
        assert_eq!(parse(body).unwrap_err().message, "invalid mcpOnboardingTargets.targets[0].id: is required");
        let body = r#"{"mcpOnboardingTargets": {"targets": [
            {"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a"}, {"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a"}]}}"#;
        assert!(parse(body).unwrap_err().message.starts_with("invalid mcpOnboardingTargets.targets[1].id:"));
        let body = r#"{"mcpOnboardingTargets": {"targets": [{"kind": "MCP_ONBOARDING_TARGET_KIND_MCP_SERVER",
            "id": "s", "display_name": "S", "status": "MCP_ONBOARDING_TARGET_STATUS_DONE"},
            {"kind": "MCP_ONBOARDING_TARGET_KIND_CATALOG_ENTRY", "id": "s"}]}}"#;
        let targets = parse(body).unwrap().mcp_targets.unwrap();
        assert_eq!((targets[0].display_name.as_str(), targets[0].status), ("S", McpTargetStatus::Done));
        assert_eq!(targets[1].status, McpTargetStatus::Pending);
    }

    #[test]
    fn unknown_enum_values_name_their_field() {
        let error = parse(r#"{"status": "ONBOARDING_STATUS_FINISHED"}"#).unwrap_err();
        assert!(
            error.message.starts_with("invalid status: \"ONBOARDING_STATUS_FINISHED\" is not one of"),
            "{}",
            error.message
        );
        let error = parse(r#"{"mcpOnboardingStatus": "ONBOARDING_STATUS_COMPLETE"}"#).unwrap_err();
        assert!(error.message.starts_with("invalid mcpOnboardingStatus:"), "{}", error.message);
        // protojson reads an enum's number too: 2 is ONBOARDING_STATUS_IN_PROGRESS; there is no 9.
        assert_eq!(parse(r#"{"status": 2}"#).unwrap().status, Some(OnboardingStatus::InProgress));
        let error = parse(r#"{"status": 9}"#).unwrap_err();
        assert!(
            error.message.starts_with("invalid status: 9 is not a number of OnboardingStatus"),
            "{}",
            error.message
        );
        let error = parse(r#"{"intents": ["a", ""]}"#).unwrap_err();
        assert_eq!(error.message, "invalid intents[1]: must not be empty");
    }

    #[test]
    fn only_the_goal_spans_lines() {
        let update = parse(r#"{"mcpOnboardingGoal": "Connect:\n\t- the wiki\r\n\t- the CRM"}"#).unwrap();
        assert_eq!(update.mcp_goal.as_deref(), Some("Connect:\n\t- the wiki\r\n\t- the CRM"));
        for (body, field) in [
            (r#"{"mcpOnboardingGoal": "a\u0000"}"#, "mcpOnboardingGoal"),
            (r#"{"intents": ["two\nlines"]}"#, "intents[0]"),
            (r#"{"orgContext": {"industry": "tab\there"}}"#, "orgContext.industry"),
            (r#"{"conversationId": "c\u0000"}"#, "conversationId"),
            (
                r#"{"mcpOnboardingTargets": {"targets": [{"kind": "MCP_ONBOARDING_TARGET_KIND_APP", "id": "a", "displayName": "A\u0085"}]}}"#,
                "mcpOnboardingTargets.targets[0].displayName",
            ),
        ] {
            let error = parse(body).unwrap_err();
            assert!(
                error.message.starts_with(&format!("invalid {field}: must not contain")),
                "{body}: {}",
                error.message
            );
        }
    }
}
