//! The user and the enums of its ConductorOne wire form.

use crate::{Email, Id, Timestamp};

/// Generates an enum whose variants map one-to-one to wire strings, with parsing that refuses unknown
/// values (the server rejects unknown enum values on input; clients accept them on output).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum!(
    /// `status` and `directoryStatus` of a user.
    UserStatus { Unknown => "UNKNOWN", Enabled => "ENABLED", Disabled => "DISABLED", Deleted => "DELETED" }
);

wire_enum!(
    UserType {
        Unspecified => "USER_TYPE_UNSPECIFIED",
        System => "USER_TYPE_SYSTEM",
        Human => "USER_TYPE_HUMAN",
        Service => "USER_TYPE_SERVICE",
        Agent => "USER_TYPE_AGENT",
    }
);

wire_enum!(
    UserOrigin {
        Unspecified => "USER_ORIGIN_UNSPECIFIED",
        Directory => "USER_ORIGIN_DIRECTORY",
        Local => "USER_ORIGIN_LOCAL",
        System => "USER_ORIGIN_SYSTEM",
    }
);

/// The core of a user as stored. The later parts of the user object (provenance arrays, employment fields,
/// profile) are added by the directory work on top of this.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: Id,
    pub tenant_id: Id,
    pub email: Email,
    pub display_name: String,
    pub status: UserStatus,
    pub user_type: UserType,
    pub origin: UserOrigin,
    pub role_ids: Vec<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_unknown_is_refused() {
        for status in UserStatus::ALL {
            assert_eq!(UserStatus::parse(status.as_str()), Some(*status));
        }
        for origin in UserOrigin::ALL {
            assert_eq!(UserOrigin::parse(origin.as_str()), Some(*origin));
        }
        assert_eq!(UserType::parse("USER_TYPE_ROBOT"), None);
        assert_eq!(UserStatus::parse("enabled"), None);
    }
}
