//! Forgotten passwords: an emailed single-use reset link, under the same rules as invitation links.
//!
//! The link's secret is 256 random bits, kept as SHA-256, good for [`RESET_LIFETIME`]. Opening the link
//! never uses it (mail scanners open links); only setting the new password does, in the transaction that
//! also ends every session of the user. Expired, used and unknown links each have their own message.
//! Asking for a link answers the same whether or not the address has an account; asking is limited per
//! client address (a 429 that says nothing about the address) and per account (past the limit no more
//! emails are sent, silently).

use std::time::Duration;

use onramp_domain::user::User;
use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::{Actor, OutboxMessage, PasswordReset, SecretRefusal, StoreError};

use crate::Core;
use crate::account::ClientInfo;
use crate::branding::Branding;
use crate::emails::{self, Action, EmailContent, Envelope};
use crate::error::{Code, CoreError, CoreResult};
use crate::invite::{looks_like_token, new_token, token_hash};
use crate::limits::too_many;
use crate::password::new_password_hash;

/// How long a reset link works.
pub const RESET_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Why a reset link cannot be used, in the person's terms.
pub fn reset_refused(refusal: SecretRefusal) -> CoreError {
    match refusal {
        SecretRefusal::Expired => CoreError::new(
            Code::FailedPrecondition,
            "this reset link has expired (links work for one hour); ask for a new one",
        ),
        SecretRefusal::Used => CoreError::new(
            Code::AlreadyExists,
            "this reset link has been used already; sign in with your new password, or ask for a new link",
        ),
        SecretRefusal::Unknown | SecretRefusal::Revoked => CoreError::new(
            Code::NotFound,
            "this reset link is not valid: check that it was copied whole, or use the newest reset email",
        ),
    }
}

/// The path of a reset link, under the public URL.
/// A new reset link of `user`, open for [`RESET_LIFETIME`]: its record (the secret only hashed) and the
/// token the link carries.
pub(crate) fn new_reset(user: &User) -> (PasswordReset, Secret<String>) {
    let (token, hash) = new_token();
    let now = Timestamp::now();
    let reset = PasswordReset {
        id: Id::new(),
        tenant_id: user.tenant_id,
        user_id: user.id,
        secret_hash: hash,
        created_at: now,
        expires_at: Timestamp::from_micros(now.micros() + RESET_LIFETIME.as_micros() as i64),
        used_at: None,
    };
    (reset, token)
}

pub fn reset_link(public_url: &str, token: &Secret<String>) -> String {
    format!("{}/reset/{}", public_url.trim_end_matches('/'), token.expose())
}

/// The email that carries a reset link, in the tenant's look (`emails.rs`).
pub fn reset_email(
    reset: &PasswordReset,
    recipient: &str,
    name: &str,
    link: &str,
    branding: &Branding,
    public_url: &str,
) -> OutboxMessage {
    let content = EmailContent {
        subject: format!("Reset your password for {}", branding.name),
        greeting: format!("Hello {name},"),
        paragraphs: vec![format!(
            "Someone, hopefully you, asked to reset the password of your account at {}. To choose a new password, \
             open the link.",
            branding.name
        )],
        action: Some(Action { label: "Choose a new password".to_string(), url: link.to_string() }),
        after: vec![
            "The link works once, for one hour. Choosing a new password signs you out everywhere.".to_string(),
            "If you did not ask for this, you can ignore this email: your password stays as it is.".to_string(),
        ],
    };
    let envelope = Envelope { tenant_id: reset.tenant_id, kind: "password_reset", subject_id: reset.id, recipient };
    emails::render(&envelope, branding, public_url, &content)
}

impl Core {
    /// Emails a reset link to each local account with this email (within the limits); answers the same
    /// whether there is any.
    pub async fn request_password_reset(&self, client: &ClientInfo, email: &str) -> CoreResult<()> {
        self.limits
            .resets
            .take_for(client.address)
            .map_err(|wait| too_many("too many password reset requests from this address", wait))?;
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(CoreError::invalid_field("email", "must be an email address"));
        }
        for user in self.store.local_users_by_email(email).await? {
            // Past an account's limit no email goes out, and the answer stays the same.
            if self.limits.resets_per_account.take(&user.id).is_err() {
                continue;
            }
            self.email_password_reset(&user, None).await?;
        }
        Ok(())
    }

    /// Makes a reset link for `user` and emails it to them, in one write audited as `actor`'s (None: the
    /// user's own request, from the forgot-password page).
    pub(crate) async fn email_password_reset(&self, user: &User, actor: Option<&Actor>) -> CoreResult<()> {
        let (reset, token) = new_reset(user);
        let branding = self.branding(Some(&user.tenant_id)).await?;
        let link = reset_link(&self.public_url, &token);
        let Some(address) = &user.email else {
            return Err(CoreError::invalid_field("email", "the user has no email, so no reset link can be sent"));
        };
        let email = reset_email(&reset, address.as_str(), &user.display_name, &link, &branding, &self.public_url);
        self.write(self.store.create_password_reset(&reset, Some(&email), actor)).await?;
        Ok(())
    }

    /// The reset link a token opens, without using it; otherwise why it cannot be used. Tokens that open
    /// nothing count against the client's address, as invitation links do.
    pub async fn open_password_reset(&self, client: &ClientInfo, token: &str) -> CoreResult<PasswordReset> {
        let opened = if looks_like_token(token) {
            self.store.password_reset_by_secret(&token_hash(token), Timestamp::now()).await
        } else {
            Err(StoreError::Refused(SecretRefusal::Unknown))
        };
        match opened {
            Ok(reset) => Ok(reset),
            Err(StoreError::Refused(SecretRefusal::Unknown)) => {
                self.limits
                    .links
                    .take_for(client.address)
                    .map_err(|wait| too_many("too many links that open nothing from this address", wait))?;
                Err(reset_refused(SecretRefusal::Unknown))
            }
            Err(StoreError::Refused(refusal)) => Err(reset_refused(refusal)),
            Err(error) => Err(error.into()),
        }
    }

    /// Sets a new password with a reset link, using it up and ending every session of the user.
    pub async fn reset_password(&self, client: &ClientInfo, token: &str, password: Secret<String>) -> CoreResult<()> {
        let reset = self.open_password_reset(client, token).await?;
        let user = self.store.get_user(&reset.tenant_id, &reset.user_id).await?;
        let hash = new_password_hash(password, &[user.email_str(), &user.display_name]).await?;
        match self.write(self.store.use_password_reset(&token_hash(token), &hash, Timestamp::now())).await {
            Ok(_) => Ok(()),
            Err(StoreError::Refused(refusal)) => Err(reset_refused(refusal)),
            Err(error) => Err(error.into()),
        }
    }
}
