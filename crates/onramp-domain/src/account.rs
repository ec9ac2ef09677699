//! A local user's own account: browser sessions, password reset links and the TOTP second factor, as the
//! store keeps them. The rules on them (timeouts, single use, code windows) are applied by `onramp-core`.

use crate::{Id, Timestamp};

/// How far a session has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStage {
    /// Signed in: the session opens the person's account.
    SignedIn,
    /// The password was right and a second factor (TOTP or recovery code) is still to come; the session
    /// opens nothing but that step.
    SecondFactor,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::SignedIn => "signed_in",
            SessionStage::SecondFactor => "second_factor",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "signed_in" => Some(SessionStage::SignedIn),
            "second_factor" => Some(SessionStage::SecondFactor),
            _ => None,
        }
    }
}

/// A browser session. The cookie holds a secret token; the store keeps its SHA-256 (`token_hash`).
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id: Id,
    pub tenant_id: Id,
    pub user_id: Id,
    pub token_hash: String,
    pub stage: SessionStage,
    /// The `User-Agent` it was started with (cut to 256 characters), shown in the list of sessions.
    pub user_agent: String,
    /// The client address it was started from, shown in the list of sessions.
    pub client_addr: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end of the session, whatever its use.
    pub expires_at: Timestamp,
}

/// A password reset link: its secret is kept as SHA-256, like an invitation's.
#[derive(Clone, Debug, PartialEq)]
pub struct PasswordReset {
    pub id: Id,
    pub tenant_id: Id,
    pub user_id: Id,
    pub secret_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A user's TOTP second factor.
#[derive(Clone, Debug, PartialEq)]
pub struct Totp {
    pub tenant_id: Id,
    pub user_id: Id,
    /// The seed, base32 without padding.
    pub secret: crate::Secret<String>,
    pub created_at: Timestamp,
    /// None until the user typed a first right code; only a confirmed TOTP is asked for at sign-in.
    pub confirmed_at: Option<Timestamp>,
    /// The time step of the last code accepted; only a later step is accepted.
    pub last_step: i64,
    /// Wrong codes in a row, and when the last was given.
    pub failures: u32,
    pub last_failure_at: Option<Timestamp>,
}
