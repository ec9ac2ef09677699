//! onramp's domain: the types every other crate speaks in, parsed and validated at the boundary.
//!
//! Nothing in this crate does I/O. Storage, HTTP and the binary depend on it; it depends on none of them.

pub mod account;
pub mod apps;
pub mod branding;
pub mod directory;
pub mod email;
pub mod group;
pub mod id;
pub mod onboarding;
pub mod records;
pub mod role;
pub mod secret;
pub mod settings;
pub mod text;
pub mod time;
pub mod time_words;
pub mod user;
pub mod user_change;
pub mod webhook;

pub use email::Email;
pub use id::{Id, IdParseError};
pub use role::{BuiltinRole, Permission};
pub use secret::Secret;
pub use text::{TextError, TextKind, check_text};
pub use time::Timestamp;
