//! Signing an invitee in with their email and password (HTTP Basic on the API; the pages sign in through
//! `account.rs`), under the limits on guessing passwords (`limits.rs`).
//!
//! In order: the client address's bucket must have a token (taken now, given back unless the email or
//! password turns out wrong); the account must not be waiting out a delay, else 429 without the password
//! being checked; the guess is counted against the account before the argon2id check, so that concurrent
//! guesses are counted in turn; a right password clears the count.

use std::net::IpAddr;
use std::time::Duration;

use onramp_domain::user::User;
use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::{Onboard, StoreError};

use crate::Core;
use crate::error::{Code, CoreError, CoreResult};
use crate::limits::too_many;
use crate::password::verify_password;

/// How often a guess may lose the race to count itself to concurrent guesses at the same account before it
/// is refused.
const COUNT_ATTEMPTS: u32 = 3;

impl Core {
    /// The onboard's user, when `email` and `password` are theirs.
    pub async fn verify_invitee(
        &self,
        client: Option<IpAddr>,
        onboard: &Onboard,
        email: &str,
        password: Secret<String>,
    ) -> CoreResult<User> {
        let addresses = &self.limits.passwords;
        addresses.take_for(client).map_err(|wait| too_many("too many wrong passwords from this address", wait))?;
        let outcome = self.check_invitee(onboard, email, password).await;
        // Only a wrong email or password is a failure of the address; a refusal by the account's delay checked
        // nothing.
        if !matches!(&outcome, Err(error) if error.code == Code::Unauthenticated) {
            addresses.give_back_for(client);
        }
        outcome
    }

    async fn check_invitee(&self, onboard: &Onboard, email: &str, password: Secret<String>) -> CoreResult<User> {
        let refused = || CoreError::unauthenticated("wrong email or password");
        let user_id = onboard.user_id.ok_or_else(refused)?;
        let user = self.store.get_user(&onboard.tenant_id, &user_id).await.map_err(|_| refused())?;
        if !user.email.as_ref().is_some_and(|own| own.as_str().eq_ignore_ascii_case(email.trim())) {
            return Err(refused());
        }
        if self.check_password(&onboard.tenant_id, &user_id, password).await? { Ok(user) } else { Err(refused()) }
    }

    /// Whether `password` is the user's, under the account's limit: 429 while the account waits out the delay
    /// its wrong guesses earned, without checking the password. A user without a password has no right one.
    pub async fn check_password(&self, tenant_id: &Id, user_id: &Id, password: Secret<String>) -> CoreResult<bool> {
        let settings = &self.limits.settings;
        let refused = |wait| too_many("too many wrong passwords for this account", wait);
        let mut lost = 0;
        let stored = loop {
            let stored = match self.store.password_of(tenant_id, user_id).await {
                Ok(stored) => stored,
                Err(StoreError::NotFound) => return Ok(false),
                Err(error) => return Err(error.into()),
            };
            let now = Timestamp::now();
            if let Some(last) = stored.last_failure_at {
                let wait = settings.password_wait(stored.failures, last, now);
                if !wait.is_zero() {
                    return Err(refused(wait));
                }
            }
            if self.store.count_password_guess(tenant_id, user_id, stored.failures, now).await? {
                break stored;
            }
            lost += 1;
            if lost == COUNT_ATTEMPTS {
                return Err(refused(Duration::from_secs(1)));
            }
        };
        let right = verify_password(stored.hash, password).await?;
        if right {
            self.store.clear_password_failures(tenant_id, user_id).await?;
        }
        Ok(right)
    }
}
