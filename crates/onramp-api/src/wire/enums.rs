//! Enum fields of request messages, read as protojson reads them: the value's name (`"ENABLED"`) or its
//! number (`1`). Each enum's names are listed once here in the order of the subset document
//! (`conductorone-subset.yaml`), which is the order of the proto declaration: a value's number is its index.
//! The handlers parse the name as before; a number reaches them as the name it stands for.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A proto enum: its name and its value names in number order (the first is number 0).
pub trait ProtoEnum {
    const NAME: &'static str;
    const VALUES: &'static [&'static str];
}

/// On the wire an enum is its value's name (protojson); a number is read too, but the name is the form
/// documented.
impl<E: ProtoEnum> schemars::JsonSchema for EnumName<E> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        E::NAME.into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "enum": E::VALUES })
    }
}

/// An enum field's value as its name: given as a string, the string; given as a number, the name of the
/// value with that number (an unknown number is refused, naming the field).
pub struct EnumName<E>(String, PhantomData<E>);

impl<E> EnumName<E> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<E> std::ops::Deref for EnumName<E> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<E> AsRef<str> for EnumName<E> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<E> Clone for EnumName<E> {
    fn clone(&self) -> Self {
        EnumName(self.0.clone(), PhantomData)
    }
}

impl<E> fmt::Debug for EnumName<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<E> From<&str> for EnumName<E> {
    fn from(name: &str) -> Self {
        EnumName(name.to_string(), PhantomData)
    }
}

impl<'de, E: ProtoEnum> Deserialize<'de> for EnumName<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NameOrNumber(PhantomData::<E>))
    }
}

struct NameOrNumber<E>(PhantomData<E>);

impl<E: ProtoEnum> NameOrNumber<E> {
    fn number<Err: de::Error>(number: i128) -> Result<EnumName<E>, Err> {
        usize::try_from(number)
            .ok()
            .and_then(|index| E::VALUES.get(index))
            .map(|name| EnumName::from(*name))
            .ok_or_else(|| {
                Err::custom(format!("{number} is not a number of {} (0 to {})", E::NAME, E::VALUES.len() - 1))
            })
    }
}

impl<'de, E: ProtoEnum> Visitor<'de> for NameOrNumber<E> {
    type Value = EnumName<E>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "a {} name or number", E::NAME)
    }

    fn visit_str<Err: de::Error>(self, value: &str) -> Result<Self::Value, Err> {
        Ok(EnumName::from(value))
    }

    fn visit_u64<Err: de::Error>(self, value: u64) -> Result<Self::Value, Err> {
        Self::number(value.into())
    }

    fn visit_i64<Err: de::Error>(self, value: i64) -> Result<Self::Value, Err> {
        Self::number(value.into())
    }
}

/// Declares a [`ProtoEnum`] marker type per enum.
macro_rules! proto_enums {
    ($($(#[$doc:meta])* $marker:ident = $name:literal [$($value:literal),* $(,)?];)*) => {$(
        $(#[$doc])*
        pub struct $marker;

        impl ProtoEnum for $marker {
            const NAME: &'static str = $name;
            const VALUES: &'static [&'static str] = &[$($value),*];
        }
    )*};
}

proto_enums! {
    /// `c1.api.user.v1.User.UserStatus`: `status`, `directoryStatus`, `userStatuses`.
    UserStatusEnum = "UserStatus" ["UNKNOWN", "ENABLED", "DISABLED", "DELETED"];
    UserTypeEnum = "UserType" [
        "USER_TYPE_UNSPECIFIED", "USER_TYPE_SYSTEM", "USER_TYPE_HUMAN", "USER_TYPE_SERVICE", "USER_TYPE_AGENT",
    ];
    UserOriginEnum = "UserOrigin" [
        "USER_ORIGIN_UNSPECIFIED", "USER_ORIGIN_DIRECTORY", "USER_ORIGIN_LOCAL", "USER_ORIGIN_SYSTEM",
    ];
    DelegateStatusEnum = "DelegateStatus" [
        "DELEGATE_STATUS_UNSPECIFIED", "DELEGATE_STATUS_HAS_DELEGATE", "DELEGATE_STATUS_NO_DELEGATE",
    ];
    IdentityMatchingEnum = "AppUserIdentityMatching" [
        "APP_USER_IDENTITY_MATCHING_UNSPECIFIED", "APP_USER_IDENTITY_MATCHING_STRICT",
        "APP_USER_IDENTITY_MATCHING_DISPLAY_NAME", "APP_USER_IDENTITY_MATCHING_CUSTOM",
    ];
    InvitationStatusEnum = "LocalInvitationStatus" [
        "LOCAL_INVITATION_STATUS_UNSPECIFIED", "LOCAL_INVITATION_STATUS_PENDING", "LOCAL_INVITATION_STATUS_ACCEPTED",
        "LOCAL_INVITATION_STATUS_REVOKED", "LOCAL_INVITATION_STATUS_EXPIRED",
    ];
    OnboardingStatusEnum = "OnboardingStatus" [
        "ONBOARDING_STATUS_UNSPECIFIED", "ONBOARDING_STATUS_NOT_STARTED", "ONBOARDING_STATUS_IN_PROGRESS",
        "ONBOARDING_STATUS_COMPLETE", "ONBOARDING_STATUS_DISMISSED",
    ];
    McpOnboardingStatusEnum = "McpOnboardingStatus" [
        "MCP_ONBOARDING_STATUS_UNSPECIFIED", "MCP_ONBOARDING_STATUS_NOT_STARTED", "MCP_ONBOARDING_STATUS_IN_PROGRESS",
        "MCP_ONBOARDING_STATUS_COMPLETE", "MCP_ONBOARDING_STATUS_DISMISSED",
    ];
    McpTargetKindEnum = "McpOnboardingTargetKind" [
        "MCP_ONBOARDING_TARGET_KIND_UNSPECIFIED", "MCP_ONBOARDING_TARGET_KIND_APP",
        "MCP_ONBOARDING_TARGET_KIND_CATALOG_ENTRY", "MCP_ONBOARDING_TARGET_KIND_MCP_SERVER",
    ];
    McpTargetStatusEnum = "McpOnboardingTargetStatus" [
        "MCP_ONBOARDING_TARGET_STATUS_UNSPECIFIED", "MCP_ONBOARDING_TARGET_STATUS_PENDING",
        "MCP_ONBOARDING_TARGET_STATUS_DONE", "MCP_ONBOARDING_TARGET_STATUS_SKIPPED",
    ];
}
