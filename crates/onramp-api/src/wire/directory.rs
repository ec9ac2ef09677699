//! The wire forms of `c1.api.local_directory.v1.LocalDirectoryConfig` and `LocalUserInvitation`, and the
//! inputs that create and update them. Input is checked field by field; a refusal names the field.

use onramp_domain::{BuiltinRole, Email, Id, Timestamp};
use onramp_store::{Invitation, InvitationStatus, LocalDirectory};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::wire::one_line;

/// `c1.api.local_directory.v1.LocalDirectoryConfig` in protojson, fields in the order of their JSON names.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryBody {
    pub allow_self_registration: bool,
    pub app_id: Id,
    pub created_at: Timestamp,
    pub default_profile_type_id: String,
    pub display_name: String,
    /// A protobuf Duration (`"604800s"`).
    #[schemars(extend("format" = "google-duration", "pattern" = crate::openapi::DURATION_PATTERN))]
    pub invitation_ttl: String,
    pub is_default: bool,
    pub onboarding_flow_id: String,
    pub organization_id: String,
    pub self_registration_domains: Vec<String>,
    pub updated_at: Timestamp,
}

/// A directory in protojson.
pub fn directory_json(directory: &LocalDirectory) -> DirectoryBody {
    DirectoryBody {
        allow_self_registration: directory.allow_self_registration,
        app_id: directory.app_id,
        created_at: directory.created_at,
        default_profile_type_id: directory.default_profile_type_id.clone(),
        display_name: directory.display_name.clone(),
        invitation_ttl: format!("{}s", directory.invitation_ttl_seconds),
        is_default: directory.is_default,
        onboarding_flow_id: id_or_empty(directory.onboarding_flow_id),
        organization_id: directory.organization_id.clone(),
        self_registration_domains: directory.self_registration_domains.clone(),
        updated_at: directory.updated_at,
    }
}

/// An optional id on the wire: its text, or "" when unset.
fn id_or_empty(id: Option<Id>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// `c1.api.local_directory.v1.LocalUserInvitation` in protojson, fields in the order of their JSON names.
/// `acceptedAt` is present once accepted.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub created_user_id: String,
    pub directory_app_id: Id,
    pub display_name: String,
    pub email: String,
    pub expires_at: Timestamp,
    pub id: Id,
    pub initial_role_ids: Vec<Id>,
    pub invited_by_user_id: String,
    pub job_id: String,
    pub onboarding_flow_id: String,
    pub purpose: String,
    pub sponsor_user_id: String,
    pub status: &'static str,
    pub updated_at: Timestamp,
}

/// An invitation in protojson, with its status as of `now` (a pending invitation past its expiry is
/// EXPIRED).
pub fn invitation_json(invitation: &Invitation, now: Timestamp) -> InvitationBody {
    InvitationBody {
        accepted_at: invitation.accepted_at,
        created_at: invitation.created_at,
        created_user_id: id_or_empty(invitation.created_user_id),
        directory_app_id: invitation.directory_app_id,
        display_name: invitation.display_name.clone(),
        email: invitation.email.as_str().to_string(),
        expires_at: invitation.expires_at,
        id: invitation.id,
        initial_role_ids: invitation.initial_role_ids.clone(),
        invited_by_user_id: id_or_empty(invitation.invited_by_user_id),
        job_id: invitation.job_id.clone(),
        onboarding_flow_id: id_or_empty(invitation.onboarding_flow_id),
        purpose: invitation.purpose.clone(),
        sponsor_user_id: id_or_empty(invitation.sponsor_user_id),
        status: invitation.status_at(now).wire(),
        updated_at: invitation.updated_at,
    }
}

/// A protobuf Duration in protojson (`"3600s"`, `"1.5s"`) as whole seconds; fractions are refused because
/// TTLs are kept in seconds.
pub fn parse_duration(field: &str, text: &str) -> ApiResult<i64> {
    let invalid = || ApiError::invalid_field(field, format!("{text:?} is not a duration such as \"604800s\""));
    let number = text.strip_suffix('s').ok_or_else(invalid)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return Err(invalid());
    }
    if fraction.bytes().any(|b| b != b'0') {
        return Err(ApiError::invalid_field(field, "must be a whole number of seconds"));
    }
    whole.parse().map_err(|_| invalid())
}

/// A directory TTL within its bounds (1 hour to 90 days).
fn parse_ttl(text: &str) -> ApiResult<i64> {
    let seconds = parse_duration("invitationTtl", text)?;
    if !(LocalDirectory::MIN_TTL_SECONDS..=LocalDirectory::MAX_TTL_SECONDS).contains(&seconds) {
        return Err(ApiError::invalid_field("invitationTtl", "must be between 1 hour (3600s) and 90 days (7776000s)"));
    }
    Ok(seconds)
}

/// An optional id field: empty is none.
fn optional_id(field: &str, raw: Option<&str>) -> ApiResult<Option<Id>> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|error| ApiError::invalid_field(field, error)),
    }
}

/// A domain of the self-registration allow-list: a lowercase DNS name with at least two labels.
fn domain(field: &str, raw: &str) -> ApiResult<String> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.len() > 253 || domain.split('.').count() < 2 || !domain.split('.').all(label_ok) {
        return Err(ApiError::invalid_field(field, format!("{raw:?} is not a domain name such as example.com")));
    }
    Ok(domain)
}

/// The fields of `LocalDirectoryConfig` a client writes, in create (`appId` required) and update.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryInput {
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    #[schemars(extend("format" = "google-duration", "pattern" = crate::openapi::DURATION_PATTERN))]
    pub invitation_ttl: Option<String>,
    pub is_default: Option<bool>,
    pub onboarding_flow_id: Option<String>,
    pub default_profile_type_id: Option<String>,
    pub organization_id: Option<String>,
    pub allow_self_registration: Option<bool>,
    pub self_registration_domains: Option<Vec<String>>,
}

/// Every path a directory update mask may name.
pub const DIRECTORY_UPDATABLE: [&str; 8] = [
    "displayName",
    "invitationTtl",
    "isDefault",
    "onboardingFlowId",
    "defaultProfileTypeId",
    "organizationId",
    "allowSelfRegistration",
    "selfRegistrationDomains",
];

impl DirectoryInput {
    /// The directory a create request describes.
    pub fn new_directory(&self, tenant_id: Id, now: Timestamp) -> ApiResult<LocalDirectory> {
        let app_id = match self.app_id.as_deref().map(str::trim).filter(|raw| !raw.is_empty()) {
            None => return Err(ApiError::invalid_field("appId", "is required")),
            Some(raw) => raw.parse().map_err(|error| ApiError::invalid_field("appId", error))?,
        };
        if self.display_name.as_deref().is_none_or(|name| name.trim().is_empty()) {
            return Err(ApiError::invalid_field("displayName", "is required"));
        }
        let mut directory = LocalDirectory::new(app_id, tenant_id, "", now);
        self.apply(&mut directory, &self.paths_set())?;
        Ok(directory)
    }

    /// The updatable paths this input sets: what an update without a mask changes.
    pub fn paths_set(&self) -> Vec<&'static str> {
        let set = [
            self.display_name.is_some(),
            self.invitation_ttl.is_some(),
            self.is_default.is_some(),
            self.onboarding_flow_id.is_some(),
            self.default_profile_type_id.is_some(),
            self.organization_id.is_some(),
            self.allow_self_registration.is_some(),
            self.self_registration_domains.is_some(),
        ];
        DIRECTORY_UPDATABLE.iter().zip(set).filter(|(_, set)| *set).map(|(path, _)| *path).collect()
    }

    /// Writes the masked fields into `directory`; a masked field absent from the input is reset to its
    /// default (the TTL to 7 days), as protobuf field masks do.
    pub fn apply(&self, directory: &mut LocalDirectory, paths: &[&'static str]) -> ApiResult<()> {
        for path in paths {
            match *path {
                "displayName" => {
                    directory.display_name = one_line("displayName", self.display_name.as_deref(), 256)?;
                    if directory.display_name.is_empty() {
                        return Err(ApiError::invalid_field("displayName", "must not be empty"));
                    }
                }
                "invitationTtl" => {
                    directory.invitation_ttl_seconds = match &self.invitation_ttl {
                        None => LocalDirectory::DEFAULT_TTL_SECONDS,
                        Some(ttl) => parse_ttl(ttl)?,
                    }
                }
                "isDefault" => directory.is_default = self.is_default.unwrap_or_default(),
                "onboardingFlowId" => {
                    directory.onboarding_flow_id = optional_id("onboardingFlowId", self.onboarding_flow_id.as_deref())?
                }
                "defaultProfileTypeId" => {
                    directory.default_profile_type_id =
                        one_line("defaultProfileTypeId", self.default_profile_type_id.as_deref(), 128)?
                }
                "organizationId" => {
                    directory.organization_id = one_line("organizationId", self.organization_id.as_deref(), 128)?
                }
                "allowSelfRegistration" => {
                    directory.allow_self_registration = self.allow_self_registration.unwrap_or_default()
                }
                "selfRegistrationDomains" => {
                    let raw = self.self_registration_domains.clone().unwrap_or_default();
                    if raw.len() > 100 {
                        return Err(ApiError::invalid_field("selfRegistrationDomains", "at most 100 domains"));
                    }
                    let mut domains = Vec::with_capacity(raw.len());
                    for (i, item) in raw.iter().enumerate() {
                        let domain = domain(&format!("selfRegistrationDomains[{i}]"), item)?;
                        if !domains.contains(&domain) {
                            domains.push(domain);
                        }
                    }
                    directory.self_registration_domains = domains;
                }
                other => unreachable!("mask path {other} is checked against DIRECTORY_UPDATABLE"),
            }
        }
        Ok(())
    }
}

/// `LocalUserInvitationServiceCreateRequest`.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct InvitationInput {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub initial_role_ids: Option<Vec<String>>,
    pub sponsor_user_id: Option<String>,
    pub onboarding_flow_id: Option<String>,
    pub purpose: Option<String>,
    pub job_id: Option<String>,
}

impl InvitationInput {
    /// A new pending invitation into `directory`, by `invited_by`, expiring after the directory's TTL.
    pub fn new_invitation(
        &self,
        directory: &LocalDirectory,
        invited_by: Option<Id>,
        now: Timestamp,
    ) -> ApiResult<Invitation> {
        let email = parse_email(self.email.as_deref())?;
        let display_name = one_line("displayName", self.display_name.as_deref(), 256)?;
        if display_name.is_empty() {
            return Err(ApiError::invalid_field("displayName", "is required"));
        }
        let mut initial_role_ids = Vec::new();
        for (i, reference) in self.initial_role_ids.iter().flatten().enumerate() {
            let role = BuiltinRole::from_ref(reference.trim()).ok_or_else(|| {
                ApiError::invalid_field(&format!("initialRoleIds[{i}]"), format!("no role {reference:?}"))
            })?;
            if !initial_role_ids.contains(&role.id()) {
                initial_role_ids.push(role.id());
            }
        }
        Ok(Invitation {
            id: Id::new(),
            tenant_id: directory.tenant_id,
            directory_app_id: directory.app_id,
            email,
            display_name,
            initial_role_ids,
            sponsor_user_id: optional_id("sponsorUserId", self.sponsor_user_id.as_deref())?,
            onboarding_flow_id: optional_id("onboardingFlowId", self.onboarding_flow_id.as_deref())?
                .or(directory.onboarding_flow_id),
            purpose: one_line("purpose", self.purpose.as_deref(), 1024)?,
            job_id: one_line("jobId", self.job_id.as_deref(), 128)?,
            invited_by_user_id: invited_by,
            status: InvitationStatus::Pending,
            expires_at: directory.expiry_from(now),
            accepted_at: None,
            created_user_id: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// A required, well-formed email, lowercased.
pub fn parse_email(raw: Option<&str>) -> ApiResult<Email> {
    let raw = raw
        .map(str::trim)
        .filter(|raw| !raw.is_empty())
        .ok_or_else(|| ApiError::invalid_field("email", "is required"))?;
    Email::parse(raw).map_err(|error| ApiError::invalid_field("email", error))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(n: u8) -> Id {
        format!("{n:024x}").parse().unwrap()
    }

    #[test]
    fn directories_in_protojson() {
        let mut directory = LocalDirectory::new(id(2), id(1), "Staff", Timestamp::from_micros(0));
        let expected = json!({
            "appId": "000000000000000000000002", "displayName": "Staff", "invitationTtl": "604800s",
            "isDefault": false, "onboardingFlowId": "", "defaultProfileTypeId": "", "organizationId": "",
            "allowSelfRegistration": false, "selfRegistrationDomains": [],
            "createdAt": "1970-01-01T00:00:00Z", "updatedAt": "1970-01-01T00:00:00Z",
        });
        assert_eq!(serde_json::to_string(&directory_json(&directory)).unwrap(), expected.to_string());
        directory.onboarding_flow_id = Some(id(3));
        directory.self_registration_domains = vec!["example.com".into()];
        directory.invitation_ttl_seconds = 3600;
        let mut expected = expected;
        expected["onboardingFlowId"] = json!("000000000000000000000003");
        expected["selfRegistrationDomains"] = json!(["example.com"]);
        expected["invitationTtl"] = json!("3600s");
        assert_eq!(serde_json::to_string(&directory_json(&directory)).unwrap(), expected.to_string());
    }

    #[test]
    fn invitations_in_protojson_with_their_status_as_of_now() {
        let directory = LocalDirectory::new(id(2), id(1), "Staff", Timestamp::from_micros(0));
        let input: InvitationInput =
            serde_json::from_value(json!({"email": "new@example.com", "displayName": "New"})).unwrap();
        let mut invitation = input.new_invitation(&directory, None, Timestamp::from_micros(0)).unwrap();
        invitation.id = id(5);
        let expected = json!({
            "id": "000000000000000000000005", "directoryAppId": "000000000000000000000002",
            "email": "new@example.com", "displayName": "New", "initialRoleIds": [], "sponsorUserId": "",
            "onboardingFlowId": "", "purpose": "", "jobId": "", "invitedByUserId": "",
            "status": "LOCAL_INVITATION_STATUS_PENDING", "expiresAt": "1970-01-08T00:00:00Z",
            "createdUserId": "", "createdAt": "1970-01-01T00:00:00Z", "updatedAt": "1970-01-01T00:00:00Z",
        });
        let now = Timestamp::from_micros(1);
        assert_eq!(serde_json::to_string(&invitation_json(&invitation, now)).unwrap(), expected.to_string());
        let later = Timestamp::from_micros(8 * 86_400 * 1_000_000);
        let mut expired = expected.clone();
        expired["status"] = json!("LOCAL_INVITATION_STATUS_EXPIRED");
        assert_eq!(serde_json::to_string(&invitation_json(&invitation, later)).unwrap(), expired.to_string());
        invitation.status = InvitationStatus::Accepted;
        invitation.accepted_at = Some(Timestamp::from_micros(2_000_000));
        invitation.created_user_id = Some(id(6));
        invitation.invited_by_user_id = Some(id(7));
        invitation.sponsor_user_id = Some(id(8));
        invitation.initial_role_ids = vec![id(9)];
        let mut accepted = expected;
        accepted["status"] = json!("LOCAL_INVITATION_STATUS_ACCEPTED");
        accepted["acceptedAt"] = json!("1970-01-01T00:00:02Z");
        accepted["createdUserId"] = json!("000000000000000000000006");
        accepted["invitedByUserId"] = json!("000000000000000000000007");
        accepted["sponsorUserId"] = json!("000000000000000000000008");
        accepted["initialRoleIds"] = json!(["000000000000000000000009"]);
        assert_eq!(serde_json::to_string(&invitation_json(&invitation, later)).unwrap(), accepted.to_string());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("ttl", "604800s").unwrap(), 604_800);
        assert_eq!(parse_duration("ttl", "3600.000s").unwrap(), 3600);
        for bad in ["7d", "3600", "s", "-5s", "1.5s", "1e3s", "3600.0000000001s", " 3600s"] {
            assert!(parse_duration("ttl", bad).unwrap_err().message.contains("ttl"), "{bad}");
        }
        assert!(parse_ttl("3599s").is_err());
        assert!(parse_ttl("3600s").is_ok());
        assert!(parse_ttl("7776000s").is_ok());
        assert!(parse_ttl("7776001s").is_err());
    }

    #[test]
    fn domains() {
        assert_eq!(domain("d", " Example.COM. ").unwrap(), "example.com");
        assert_eq!(domain("d", "mail.example.co.uk").unwrap(), "mail.example.co.uk");
        for bad in ["example", "", "exa mple.com", "-a.com", "a-.com", "a..com", "@example.com"] {
            assert!(domain("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn directory_create_defaults_and_validation() {
        let now = Timestamp::now();
        let input: DirectoryInput =
            serde_json::from_value(json!({"appId": Id::new().to_string(), "displayName": "Staff"})).unwrap();
        let directory = input.new_directory(Id::new(), now).unwrap();
        assert_eq!(directory.invitation_ttl_seconds, LocalDirectory::DEFAULT_TTL_SECONDS);
        assert!(!directory.is_default);
        for (body, field) in [
            (json!({"displayName": "x"}), "appId"),
            (json!({"appId": "nope", "displayName": "x"}), "appId"),
            (json!({"appId": Id::new().to_string()}), "displayName"),
            (json!({"appId": Id::new().to_string(), "displayName": "x", "invitationTtl": "60s"}), "invitationTtl"),
            (
                json!({"appId": Id::new().to_string(), "displayName": "x", "selfRegistrationDomains": ["ok.com", "bad"]}),
                "selfRegistrationDomains[1]",
            ),
        ] {
            let input: DirectoryInput = serde_json::from_value(body.clone()).unwrap();
            let error = input.new_directory(Id::new(), now).unwrap_err();
            assert!(error.message.contains(field), "{body}: {}", error.message);
        }
    }
}
