//! The wire forms of `c1.api.local_directory.v1.LocalDirectoryConfig` and `LocalUserInvitation`, and the
//! inputs that create and update them. Input is checked field by field; a refusal names the field.

use onramp_domain::{BuiltinRole, Email, Id, Timestamp};
use onramp_store::{Invitation, InvitationStatus, LocalDirectory};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::wire::one_line;

/// A directory in protojson. `invitationTtl` is a protobuf Duration (`"604800s"`).
pub fn directory_json(directory: &LocalDirectory) -> Value {
    json!({
        "appId": directory.app_id,
        "displayName": directory.display_name,
        "invitationTtl": format!("{}s", directory.invitation_ttl_seconds),
        "isDefault": directory.is_default,
        "onboardingFlowId": directory.onboarding_flow_id.map(|id| id.to_string()).unwrap_or_default(),
        "defaultProfileTypeId": directory.default_profile_type_id,
        "organizationId": directory.organization_id,
        "allowSelfRegistration": directory.allow_self_registration,
        "selfRegistrationDomains": directory.self_registration_domains,
        "createdAt": directory.created_at,
        "updatedAt": directory.updated_at,
    })
}

/// An invitation in protojson, with its status as of `now` (a pending invitation past its expiry is
/// EXPIRED). `acceptedAt` is present once accepted.
pub fn invitation_json(invitation: &Invitation, now: Timestamp) -> Value {
    let optional_id = |id: Option<Id>| id.map(|id| id.to_string()).unwrap_or_default();
    let mut object = json!({
        "id": invitation.id,
        "directoryAppId": invitation.directory_app_id,
        "email": invitation.email.as_str(),
        "displayName": invitation.display_name,
        "initialRoleIds": invitation.initial_role_ids,
        "sponsorUserId": optional_id(invitation.sponsor_user_id),
        "onboardingFlowId": optional_id(invitation.onboarding_flow_id),
        "purpose": invitation.purpose,
        "jobId": invitation.job_id,
        "invitedByUserId": optional_id(invitation.invited_by_user_id),
        "status": invitation.status_at(now).wire(),
        "expiresAt": invitation.expires_at,
        "createdUserId": optional_id(invitation.created_user_id),
        "createdAt": invitation.created_at,
        "updatedAt": invitation.updated_at,
    });
    if let Some(accepted_at) = invitation.accepted_at {
        object.as_object_mut().expect("a JSON object").insert("acceptedAt".into(), json!(accepted_at));
    }
    object
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
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryInput {
    pub app_id: Option<String>,
    pub display_name: Option<String>,
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
#[derive(Deserialize, Default)]
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
    use super::*;

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
