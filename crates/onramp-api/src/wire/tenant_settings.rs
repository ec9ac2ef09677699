//! The wire forms of the tenant settings (`GET`/`POST /api/v1/settings/tenant`, an onramp extension) and
//! the parsing of their update, field by field; a refusal names the field (`logo.data`, `accentColor`).
//!
//! Update semantics, as the onboarding settings': an omitted (or `null`) field leaves its setting
//! unchanged; a present one replaces it. `displayName: ""` and `accentColor: ""` go back to the defaults
//! (the tenant's name, onramp's accent); `logo: {}` (no `data`, or `""`) removes the logo;
//! `userEditableFields: []` lets users edit nothing; `consoleRequiresSecondFactor` (a boolean) keeps the
//! admin console shut to admins who have not set up two-step sign-in. The logo is base64 (standard alphabet, padded) of a
//! PNG, JPEG or WebP image of at most 256 KiB, its type checked from its bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onramp_core::branding::logo_path;
use onramp_domain::branding::{
    Accent, Logo, MAX_LOGO_BYTES, MAX_NAME_CHARS, TenantSettings, TenantSettingsUpdate, check_editable_fields,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::wire::one_line;

/// The settings, every field present (`logo` omitted when there is none). Fields in the order of their
/// JSON names.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantSettingsBody {
    /// `#rrggbb`, or empty for onramp's own.
    pub accent_color: String,
    /// The text colour onramp puts on the accent (white, or black where white would read below 4.5:1).
    pub accent_text_color: String,
    /// Whether the admin console opens only to admins signed in with a second factor.
    pub console_requires_second_factor: bool,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<LogoBody>,
    /// RFC 3339; empty until the settings are first written.
    pub updated_at: String,
    pub user_editable_fields: Vec<String>,
}

#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogoBody {
    pub content_type: &'static str,
    pub sha256: String,
    /// int64, as a string.
    pub size_bytes: String,
    /// Where onramp serves it, relative to the public URL.
    pub url: String,
}

pub fn tenant_settings_json(settings: &TenantSettings) -> TenantSettingsBody {
    let accent = Accent::parse(&settings.accent_color).ok();
    TenantSettingsBody {
        accent_color: settings.accent_color.clone(),
        accent_text_color: accent.map(|accent| accent.text.to_string()).unwrap_or_default(),
        console_requires_second_factor: settings.console_requires_second_factor,
        display_name: settings.display_name.clone(),
        logo: settings.logo.as_ref().map(|logo| LogoBody {
            content_type: logo.image_type.content_type(),
            sha256: logo.sha256.clone(),
            size_bytes: logo.bytes.len().to_string(),
            url: logo_path(logo),
        }),
        updated_at: settings.updated_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
        user_editable_fields: settings.user_editable_fields.clone(),
    }
}

/// The update's body.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantSettingsInput {
    display_name: Option<String>,
    accent_color: Option<String>,
    logo: Option<LogoInput>,
    user_editable_fields: Option<Vec<String>>,
    console_requires_second_factor: Option<bool>,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
struct LogoInput {
    content_type: Option<String>,
    data: Option<String>,
}

impl TenantSettingsInput {
    /// The validated update.
    pub fn into_update(self) -> ApiResult<TenantSettingsUpdate> {
        let display_name =
            self.display_name.map(|name| one_line("displayName", Some(&name), MAX_NAME_CHARS)).transpose()?;
        let accent_color = match self.accent_color {
            Some(value) if value.is_empty() => Some(String::new()),
            Some(value) => {
                Some(Accent::parse(&value).map_err(|problem| ApiError::invalid_field("accentColor", problem))?.color)
            }
            None => None,
        };
        let logo = self.logo.map(parse_logo).transpose()?;
        let user_editable_fields = match self.user_editable_fields {
            Some(fields) => {
                check_editable_fields(&fields)
                    .map_err(|problem| ApiError::invalid_field("userEditableFields", problem))?;
                Some(fields)
            }
            None => None,
        };
        Ok(TenantSettingsUpdate {
            display_name,
            accent_color,
            logo,
            user_editable_fields,
            console_requires_second_factor: self.console_requires_second_factor,
        })
    }
}

/// A present logo: None (remove it) when it has no data, else the checked image.
fn parse_logo(input: LogoInput) -> ApiResult<Option<Logo>> {
    let data = input.data.unwrap_or_default();
    if data.is_empty() {
        return Ok(None);
    }
    // Base64 of the largest logo, and a little: refuse a longer text before decoding it.
    if data.len() > (MAX_LOGO_BYTES / 3 + 2) * 4 {
        return Err(ApiError::invalid_field("logo.data", format!("a logo may be at most {MAX_LOGO_BYTES} bytes")));
    }
    let bytes = STANDARD
        .decode(data.as_bytes())
        .map_err(|_| ApiError::invalid_field("logo.data", "must be base64 (standard alphabet, with padding)"))?;
    let sha256: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let declared = input.content_type.as_deref();
    let logo = Logo::from_upload(bytes, declared, sha256).map_err(|problem| {
        let field = if problem.starts_with("is declared") { "logo.contentType" } else { "logo.data" };
        ApiError::invalid_field(field, problem)
    })?;
    Ok(Some(logo))
}
