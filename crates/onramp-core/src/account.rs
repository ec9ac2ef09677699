//! A local user's own account in the browser: signing in (password, then a TOTP or recovery code when
//! the user enrolled one), server-side sessions and their limits, signing out, the account's overview,
//! changing the password and editing the profile fields the user may edit.
//!
//! Sessions. The cookie carries a token of 256 random bits (43 characters of base64url); the store keeps
//! only its SHA-256. A session ends after [`SESSION_IDLE`] without use or [`SESSION_LIFETIME`] after it
//! began, whichever comes first; an expired row is deleted when met. Every sign-in makes a new session
//! (a new token and id) and deletes the one the browser had, so a token planted before sign-in is
//! worthless after it. A session waiting for its second factor opens nothing else and lasts
//! [`SECOND_FACTOR_LIFETIME`].
//!
//! Authorization: an [`AccountSession`] can only be had from [`Core::session`], which checked the token,
//! the limits and the user; every use case here acts on that session's own user and nothing else.

use std::net::IpAddr;
use std::time::Duration;

use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::{Actor, Onboard, Session, SessionStage, StoreError};

use crate::Core;
use crate::error::{Code, CoreError, CoreResult};
use crate::invitations::one_line;
use crate::invite::{looks_like_token, new_token, token_hash};
use crate::limits::too_many;
use crate::password::{new_password_hash, verify_password};

/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(60 * 60);
/// A session ends this long after it began, however much it is used.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// A session waiting for its second factor ends this long after the password was right.
pub const SECOND_FACTOR_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// A session's `last_seen_at` is written at most this often (the idle limit is coarse by this much).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Who is asking, as HTTP saw them: kept on the session for the list of sessions.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub address: Option<IpAddr>,
    pub user_agent: String,
}

/// A session just made: the token for the cookie (shown nowhere else), and the session.
#[derive(Debug)]
pub struct SignedIn {
    pub token: Secret<String>,
    pub session: Session,
    /// The password was right and a second factor is still to come.
    pub second_factor: bool,
}

/// A signed-in session and its user, checked by [`Core::session`]: what the account's use cases act on.
#[derive(Clone, Debug)]
pub struct AccountSession {
    session: Session,
    user: User,
}

impl AccountSession {
    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    /// The user, as the audit log records them acting for themself.
    fn actor(&self) -> Actor {
        Actor { tenant_id: self.user.tenant_id, user_id: Some(self.user.id), credential_id: None, request_id: None }
    }
}

/// What the account page shows.
#[derive(Clone, Debug)]
pub struct Account {
    pub user: User,
    /// The user's sessions, newest first (the current one among them).
    pub sessions: Vec<Session>,
    /// Whether two-step sign-in is on, and how many recovery codes are left.
    pub totp_enabled: bool,
    pub recovery_codes_left: u32,
    /// The onboarding under way, if the user is still onboarding.
    pub onboard: Option<Onboard>,
    /// The profile fields the tenant lets its users edit (its `userEditableFields`), by wire name.
    pub editable_fields: Vec<String>,
}

/// A profile edit from the account page: each field present is set.
#[derive(Clone, Debug, Default)]
pub struct ProfileEdit {
    pub display_name: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub employment_type: Option<String>,
}

/// A new session row and its token, for `user` of `tenant`.
pub(crate) fn new_session(
    client: &ClientInfo,
    tenant_id: Id,
    user_id: Id,
    second_factor: bool,
) -> (Secret<String>, Session) {
    let (token, hash) = new_token();
    let now = Timestamp::now();
    let life = if second_factor { SECOND_FACTOR_LIFETIME } else { SESSION_LIFETIME };
    let user_agent: String = client.user_agent.chars().filter(|c| !c.is_control()).take(256).collect();
    let session = Session {
        id: Id::new(),
        tenant_id,
        user_id,
        token_hash: hash,
        stage: if second_factor { SessionStage::SecondFactor } else { SessionStage::SignedIn },
        user_agent,
        client_addr: client.address.map(|address| address.to_string()).unwrap_or_default(),
        created_at: now,
        last_seen_at: now,
        expires_at: later(now, life),
    };
    (token, session)
}

fn later(at: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_micros(at.micros().saturating_add(i64::try_from(by.as_micros()).unwrap_or(i64::MAX)))
}

/// Whether a session is over at `now`, by either limit.
pub fn session_over(session: &Session, now: Timestamp) -> bool {
    session.expires_at <= now || later(session.last_seen_at, SESSION_IDLE) <= now
}

/// A fixed argon2id hash that matches no password anybody types: checked when an email has no account,
/// so that an unknown address costs the same time as a known one.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$b25yYW1wLWRlY295LXNhbHQ$0sQUjfVOUFZsCoXuKN5cBvZlbfK4D35n3Y5CFq/A2cI";

impl Core {
    /// Signs a local user in with their email and password, under the limits on guessing (the client
    /// address's bucket, the account's delay). A wrong email and a wrong password get the same answer. A
    /// disabled account (one that no onboarding holds) is told so, only after its password was right.
    /// With TOTP on, the session made waits for the second factor ([`Core::second_factor`]). `replaces` is
    /// the token of a session the browser had, which is deleted: a new session at every sign-in.
    pub async fn sign_in(
        &self,
        client: &ClientInfo,
        email: &str,
        password: Secret<String>,
        replaces: Option<&str>,
    ) -> CoreResult<SignedIn> {
        let addresses = &self.limits.passwords;
        addresses
            .take_for(client.address)
            .map_err(|wait| too_many("too many wrong passwords from this address", wait))?;
        let outcome = self.sign_in_checked(client, email, password, replaces).await;
        if !matches!(&outcome, Err(error) if error.code == Code::Unauthenticated) {
            addresses.give_back_for(client.address);
        }
        outcome
    }

    async fn sign_in_checked(
        &self,
        client: &ClientInfo,
        email: &str,
        password: Secret<String>,
        replaces: Option<&str>,
    ) -> CoreResult<SignedIn> {
        let refused = || CoreError::unauthenticated("wrong email or password");
        let email = email.trim();
        let candidates = if email.is_empty() { Vec::new() } else { self.store.local_users_by_email(email).await? };
        if candidates.is_empty() {
            verify_password(DECOY_HASH.to_string(), password).await?;
            return Err(refused());
        }
        let mut found = None;
        for user in candidates {
            if self.check_password(&user.tenant_id, &user.id, password.clone()).await? {
                found = Some(user);
                break;
            }
        }
        let user = found.ok_or_else(refused)?;
        if user.status != UserStatus::Enabled
            && self.store.live_onboard_of_user(&user.tenant_id, &user.id).await?.is_none()
        {
            return Err(CoreError::new(
                Code::FailedPrecondition,
                "your account is turned off, so you cannot sign in; ask your administrator to turn it back on",
            ));
        }
        let second_factor =
            matches!(self.store.totp_of(&user.tenant_id, &user.id).await, Ok(totp) if totp.confirmed_at.is_some());
        let (token, session) = new_session(client, user.tenant_id, user.id, second_factor);
        let replaces = replaces.filter(|token| looks_like_token(token)).map(token_hash);
        self.store.create_session(&session, replaces.as_deref()).await?;
        Ok(SignedIn { token, session, second_factor })
    }

    /// The signed-in session a cookie's token opens, if it is live; a session over its limits is deleted.
    /// A session waiting for its second factor opens nothing here.
    pub async fn session(&self, token: &str) -> CoreResult<Option<AccountSession>> {
        let Some(session) = self.live_session(token).await? else { return Ok(None) };
        if session.stage != SessionStage::SignedIn {
            return Ok(None);
        }
        let user = match self.store.get_user(&session.tenant_id, &session.user_id).await {
            Ok(user) if user.status != UserStatus::Deleted => user,
            Ok(_) | Err(StoreError::NotFound) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        // A user turned off since signing in is signed in no more (one being onboarded is DISABLED until
        // the onboarding completes, and keeps their session).
        if user.status != UserStatus::Enabled
            && self.store.live_onboard_of_user(&user.tenant_id, &user.id).await?.is_none()
        {
            return Ok(None);
        }
        let now = Timestamp::now();
        if later(session.last_seen_at, TOUCH_EVERY) <= now {
            self.store.touch_session(&session.id, now).await?;
        }
        Ok(Some(AccountSession { session, user }))
    }

    /// The session waiting for its second factor that a token opens, if it is live.
    pub async fn pending_second_factor(&self, token: &str) -> CoreResult<Option<Session>> {
        Ok(self.live_session(token).await?.filter(|session| session.stage == SessionStage::SecondFactor))
    }

    /// The live session of a token, in any stage.
    pub(crate) async fn live_session(&self, token: &str) -> CoreResult<Option<Session>> {
        if !looks_like_token(token) {
            return Ok(None);
        }
        let session = match self.store.session_by_hash(&token_hash(token)).await {
            Ok(session) => session,
            Err(StoreError::NotFound) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        if session_over(&session, Timestamp::now()) {
            self.store.delete_session(&session.tenant_id, &session.user_id, &session.id).await?;
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// Ends the session a token opens, whatever its stage (signing out).
    pub async fn sign_out(&self, token: &str) -> CoreResult<()> {
        if let Some(session) = self.live_session(token).await? {
            self.store.delete_session(&session.tenant_id, &session.user_id, &session.id).await?;
        }
        Ok(())
    }

    /// What the account page shows of the session's user.
    pub async fn account(&self, session: &AccountSession) -> CoreResult<Account> {
        let user = &session.user;
        let sessions = self.store.sessions_of(&user.tenant_id, &user.id).await?;
        let now = Timestamp::now();
        let sessions =
            sessions.into_iter().filter(|s| s.stage == SessionStage::SignedIn && !session_over(s, now)).collect();
        let totp_enabled =
            matches!(self.store.totp_of(&user.tenant_id, &user.id).await, Ok(totp) if totp.confirmed_at.is_some());
        let recovery_codes_left =
            if totp_enabled { self.store.recovery_codes_left(&user.tenant_id, &user.id).await? } else { 0 };
        let onboard = self.store.live_onboard_of_user(&user.tenant_id, &user.id).await?;
        let editable_fields = self.store.get_tenant_settings(&user.tenant_id).await?.user_editable_fields;
        Ok(Account { user: user.clone(), sessions, totp_enabled, recovery_codes_left, onboard, editable_fields })
    }

    /// Ends one of the user's own sessions; another user's session is not found.
    pub async fn sign_out_session(&self, session: &AccountSession, id: &Id) -> CoreResult<()> {
        let user = &session.user;
        if self.store.delete_session(&user.tenant_id, &user.id, id).await? {
            Ok(())
        } else {
            Err(CoreError::not_found("this session"))
        }
    }

    /// Ends every session of the user, this one included.
    pub async fn sign_out_everywhere(&self, session: &AccountSession) -> CoreResult<u64> {
        Ok(self.store.delete_sessions_of(&session.actor(), &session.user.id, None).await?)
    }

    /// Changes the user's password: the current one must be right (under the limits on guessing), the new
    /// one follows the rule of new passwords. Every other session of the user ends.
    pub async fn change_password(
        &self,
        client: &ClientInfo,
        session: &AccountSession,
        current: Secret<String>,
        new: Secret<String>,
    ) -> CoreResult<()> {
        let user = &session.user;
        self.current_password_right(client, user, current).await?;
        let hash = new_password_hash(new, &[user.email_str(), &user.display_name]).await?;
        self.store.change_password(&session.actor(), &user.id, &hash, &session.session.id).await?;
        Ok(())
    }

    /// Refuses unless `password` is the user's, under the limits on guessing; a wrong one names the field.
    pub(crate) async fn current_password_right(
        &self,
        client: &ClientInfo,
        user: &User,
        password: Secret<String>,
    ) -> CoreResult<()> {
        let addresses = &self.limits.passwords;
        addresses
            .take_for(client.address)
            .map_err(|wait| too_many("too many wrong passwords from this address", wait))?;
        if self.check_password(&user.tenant_id, &user.id, password).await? {
            addresses.give_back_for(client.address);
            Ok(())
        } else {
            Err(CoreError::invalid_field("currentPassword", "is not your current password"))
        }
    }

    /// Sets the profile fields the tenant lets its users edit (its `userEditableFields`) on the user's own
    /// user; a field outside them that would change is refused, naming it.
    pub async fn update_own_profile(&self, session: &AccountSession, edit: &ProfileEdit) -> CoreResult<User> {
        let tenant_id = session.user.tenant_id;
        let editable = self.store.get_tenant_settings(&tenant_id).await?.user_editable_fields;
        let before = self.store.get_user(&tenant_id, &session.user.id).await?;
        let mut after = before.clone();
        let fields = [
            ("displayName", &edit.display_name),
            ("jobTitle", &edit.job_title),
            ("department", &edit.department),
            ("employmentType", &edit.employment_type),
        ];
        for (field, value) in fields {
            let Some(value) = value else { continue };
            let value = one_line(field, Some(value), 256)?;
            let slot = match field {
                "displayName" => &mut after.display_name,
                "jobTitle" => &mut after.job_title,
                "department" => &mut after.department,
                _ => &mut after.employment_type,
            };
            if *slot == value {
                continue;
            }
            if !editable.iter().any(|name| name == field) {
                return Err(CoreError::permission_denied(format!(
                    "you cannot change {field}: your organisation does not let its people edit it"
                )));
            }
            if field == "displayName" && value.is_empty() {
                return Err(CoreError::invalid_field("displayName", "must not be empty"));
            }
            *slot = value;
        }
        if after == before {
            return Ok(before);
        }
        Ok(self.write(self.store.update_user(&session.actor(), &before, &after)).await?)
    }
}
