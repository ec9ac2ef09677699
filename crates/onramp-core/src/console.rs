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
use onramp_search::{Cursor, Query};
use onramp_store::{Actor, App, AuditEvent, Onboard, StoreError};

use crate::Core;
use crate::account::AccountSession;
use crate::error::{Code, CoreError, CoreResult};
use crate::principal::Principal;
use crate::reset::{new_reset, reset_link};

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

/// One page of the console's user list: the users (in the search's order) and where the next page starts.
#[derive(Clone, Debug)]
pub struct UserRows {
    pub users: Vec<User>,
    pub next: Option<Cursor>,
}

/// What a user's page shows. The parts the admin's roles may not read are empty, and say so.
#[derive(Clone, Debug)]
pub struct UserDetail {
    pub user: User,
    pub managers: Vec<User>,
    pub delegate: Option<User>,
    /// Apps the user owns, with the role slug of each ownership (None: no `app:read`).
    pub apps: Option<Vec<(App, String)>>,
    /// Every onboard of the user, newest first (None: no `onboarding:read`).
    pub onboards: Option<Vec<Onboard>>,
    /// The events about the user and by the user, newest first (None: no `audit:read`).
    pub audit: Option<Vec<AuditEvent>>,
    /// How many live browser sessions the user has.
    pub sessions: usize,
}

/// How many onboards and audit events a user's page shows.
pub const USER_PAGE_ROWS: u32 = 50;

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
        let (reset, token) = new_reset(&user);
        let expires_at = reset.expires_at;
        self.write(self.store.create_password_reset(&reset, None, Some(&Actor::system(user.tenant_id)))).await?;
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

    /// One page of the console's user list: the same search as the API's (`Core::search_users`: the
    /// node's index, its ranking and typo tolerance, `user:read`), with the users it found.
    pub async fn console_user_rows(
        &self,
        caller: &Principal,
        query: &Query,
        after: Option<Cursor>,
        limit: usize,
    ) -> CoreResult<UserRows> {
        let page = self.search_users(caller, query, after, limit).await?;
        let ids: Vec<Id> = page.hits.iter().map(|hit| hit.id).collect();
        let users = self.store.get_users(&caller.tenant_id, &ids).await?;
        Ok(UserRows { users, next: page.next })
    }

    /// What a user's page shows (`user:read`; apps, onboards and the audit trail only with `app:read`,
    /// `onboarding:read` and `audit:read`).
    pub async fn user_detail(&self, caller: &Principal, id: &Id) -> CoreResult<UserDetail> {
        let user = self.get_user(caller, id).await?;
        let tenant = &caller.tenant_id;
        let managers = self.store.get_users(tenant, &user.manager_ids).await?;
        let delegate = match &user.delegated_user_id {
            Some(delegate) => self.store.get_users(tenant, std::slice::from_ref(delegate)).await?.into_iter().next(),
            None => None,
        };
        let may = |permission| caller.require(permission).is_ok();
        let apps = match may(Permission::AppRead) {
            true => Some(self.store.apps_owned_by(tenant, id, 200).await?),
            false => None,
        };
        let onboards = match may(Permission::OnboardingRead) {
            true => Some(self.store.onboard_history_of_user(tenant, id, USER_PAGE_ROWS).await?),
            false => None,
        };
        let audit = match may(Permission::AuditRead) {
            true => Some(self.store.audit_events_of_user(tenant, id, USER_PAGE_ROWS).await?),
            false => None,
        };
        let now = Timestamp::now();
        let sessions = self
            .store
            .sessions_of(tenant, id)
            .await?
            .iter()
            .filter(|s| s.stage == onramp_store::SessionStage::SignedIn && !crate::account::session_over(s, now))
            .count();
        Ok(UserDetail { user, managers, delegate, apps, onboards, audit, sessions })
    }

    /// Emails the user a password reset link on an admin's behalf (`user:write`, and the rule of user
    /// changes: only a super-admin acts on a super-admin), audited as `user.password_reset_link`. A user
    /// without an email cannot be sent one: 400 naming `email`.
    pub async fn send_password_reset(&self, caller: &Principal, id: &Id) -> CoreResult<()> {
        let user = self.user_to_act_on(caller, id).await?;
        if user.email.is_none() {
            return Err(CoreError::invalid_field("email", "the user has no email, so no reset link can be sent"));
        }
        self.email_password_reset(&user, Some(&caller.actor())).await
    }

    /// Ends every browser session of the user (`user:write`, and the rule of user changes), audited as
    /// `user.sign_out_everywhere`; answers how many ended.
    pub async fn sign_out_user(&self, caller: &Principal, id: &Id) -> CoreResult<u64> {
        let user = self.user_to_act_on(caller, id).await?;
        Ok(self.store.delete_sessions_of(&caller.actor(), &user.id, None).await?)
    }

    /// The live user `id`, if the caller may act on them: `user:write`, and the rule of every user change
    /// (a super-admin is acted on only by a super-admin).
    async fn user_to_act_on(&self, caller: &Principal, id: &Id) -> CoreResult<User> {
        caller.require(Permission::UserWrite)?;
        let user = self.get_user(caller, id).await?;
        if user.status == UserStatus::Deleted {
            return Err(CoreError::not_found(format!("user {id}")));
        }
        caller.require_user_change(&user, Some(&user))?;
        if user.role_ids.contains(&BuiltinRole::SuperAdmin.id()) && !caller.roles.contains(&BuiltinRole::SuperAdmin) {
            return Err(CoreError::permission_denied("only a super-admin may act on a super-admin's account"));
        }
        Ok(user)
    }
}
