//! The admin console's own rules: who may enter it, and as which [`Principal`]; the one-time sign-in links
//! an operator makes on the command line (and first start prints); the overview's counts.
//!
//! The console has no sessions of its own: an admin signs in at `/signin` like anyone (password, then a
//! TOTP or recovery code when enrolled: [`Core::sign_in`]), and each console request turns that session
//! into a [`Principal`] here ([`Core::console_access`]): the session's tenant and user, the session's id as
//! the credential (so the audit log says which sign-in did what), and the user's roles as read on this
//! request, so a role taken away applies to the next click. Every console action then calls the same use
//! case as the API with that principal, and the use case checks the permission, as for any caller.

use onramp_domain::user::{User, UserStatus};
use onramp_domain::{BuiltinRole, Id, Permission, Secret, Timestamp};
use onramp_store::{PasswordReset, StoreError};

use crate::Core;
use crate::account::AccountSession;
use crate::error::{Code, CoreError, CoreResult};
use crate::invite::new_token;
use crate::principal::Principal;
use crate::reset::{RESET_LIFETIME, reset_link};

/// The roles that open the console; other users (basic users) are refused it.
pub const CONSOLE_ROLES: [BuiltinRole; 4] =
    [BuiltinRole::SuperAdmin, BuiltinRole::Admin, BuiltinRole::ReadOnlyAdmin, BuiltinRole::DirectoryAdmin];

/// Whether a user's roles open the console.
pub fn is_console_user(user: &User) -> bool {
    user.role_ids.iter().filter_map(BuiltinRole::from_id).any(|role| CONSOLE_ROLES.contains(&role))
}

/// What a signed-in session may see of the console.
#[derive(Clone, Debug)]
pub enum ConsoleAccess {
    /// The console opens, acting as this principal.
    Open(Principal),
    /// The tenant requires a second factor for the console and this admin has not set one up: they may
    /// only be sent to set it up.
    NeedsSecondFactor,
}

/// A one-time link to set a console password, for the operator to hand over.
#[derive(Debug)]
pub struct SignInLink {
    pub user: User,
    /// The link (a reset link: `/reset/<256-bit token>`), shown once; only its hash is stored.
    pub url: Secret<String>,
    pub expires_at: Timestamp,
}

/// How many users of each status the overview shows, every status listed (0 when none).
#[derive(Clone, Debug)]
pub struct UserCounts {
    pub by_status: Vec<(UserStatus, i64)>,
}

impl Core {
    /// The console's principal for a signed-in session: refused (PERMISSION_DENIED) unless the session's
    /// user holds an admin role and is enabled; [`ConsoleAccess::NeedsSecondFactor`] when the tenant
    /// requires a second factor for the console and the user has none.
    pub async fn console_access(
        &self,
        session: &AccountSession,
        request_id: Option<String>,
    ) -> CoreResult<ConsoleAccess> {
        let user = session.user();
        if !is_console_user(user) || user.status != UserStatus::Enabled {
            return Err(CoreError::permission_denied(
                "the console is for administrators; your account holds no administrator role",
            ));
        }
        let settings = self.store.get_tenant_settings(&user.tenant_id).await?;
        if settings.console_requires_second_factor
            && !matches!(self.store.totp_of(&user.tenant_id, &user.id).await,
                Ok(totp) if totp.confirmed_at.is_some())
        {
            return Ok(ConsoleAccess::NeedsSecondFactor);
        }
        Ok(ConsoleAccess::Open(Principal {
            tenant_id: user.tenant_id,
            user_id: user.id,
            credential_id: session.session().id,
            roles: user.role_ids.iter().filter_map(BuiltinRole::from_id).collect(),
            request_id,
        }))
    }

    /// Makes a one-time link (a password reset link: 256 bits, stored hashed, one hour) for the admin with
    /// `email` in `tenant_id` to set their console password; printed by the operator's command, never
    /// emailed. Refuses an unknown email and a user without an admin role, saying so. `public_url` is the
    /// base of the link (a command-line process has no serving configuration of its own).
    pub async fn console_sign_in_link(&self, tenant_id: &Id, email: &str, public_url: &str) -> CoreResult<SignInLink> {
        let email = email.trim();
        let user = match self.store.find_user_by_email(tenant_id, &email.to_ascii_lowercase()).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => {
                return Err(CoreError::new(Code::NotFound, format!("no user has the email {email:?} in this tenant")));
            }
            Err(error) => return Err(error.into()),
        };
        if !is_console_user(&user) {
            return Err(CoreError::new(
                Code::FailedPrecondition,
                format!(
                    "{email} holds no administrator role (super-admin, admin, read-only-admin or directory-admin), \
                     so the console would not open for them"
                ),
            ));
        }
        if user.status != UserStatus::Enabled {
            return Err(CoreError::new(
                Code::FailedPrecondition,
                format!("{email} is {}; turn the account on first", user.status.as_str().to_ascii_lowercase()),
            ));
        }
        let (token, hash) = new_token();
        let now = Timestamp::now();
        let expires_at = Timestamp::from_micros(now.micros() + RESET_LIFETIME.as_micros() as i64);
        let reset = PasswordReset {
            id: Id::new(),
            tenant_id: user.tenant_id,
            user_id: user.id,
            secret_hash: hash,
            created_at: now,
            expires_at,
            used_at: None,
        };
        self.write(self.store.create_password_reset(&reset, None)).await?;
        Ok(SignInLink { url: Secret::new(reset_link(public_url, &token)), user, expires_at })
    }

    /// The tenant's live users counted by status (`user:read`).
    pub async fn user_counts(&self, caller: &Principal) -> CoreResult<UserCounts> {
        caller.require(Permission::UserRead)?;
        let counted = self.store.user_counts_by_status(&caller.tenant_id).await?;
        let by_status = [UserStatus::Enabled, UserStatus::Disabled]
            .into_iter()
            .map(|status| (status, counted.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n)))
            .chain(counted.iter().filter(|(s, _)| !matches!(s, UserStatus::Enabled | UserStatus::Disabled)).copied())
            .collect();
        Ok(UserCounts { by_status })
    }
}
