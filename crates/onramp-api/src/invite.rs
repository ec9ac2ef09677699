//! What invitations need beyond the store: their secret tokens, the emails that carry them, invitees'
//! passwords, and the limit on wrong guesses.
//!
//! A token is 256 random bits written as 43 characters of unpadded base64url. The store keeps only its
//! SHA-256: for a random secret of that length one fast hash is as strong as a slow one. The token reaches
//! the invitee only inside the email's link (`{public url}/invite/{token}`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onramp_domain::Secret;
use onramp_store::{Invitation, LocalDirectory, OutboxMessage};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult, Code};

/// The length of a token in characters.
pub const TOKEN_LENGTH: usize = 43;

/// A new token and the hash the store keeps.
pub fn new_token() -> (Secret<String>, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (Secret::new(token), hash)
}

/// The stored form of a token: lowercase hex SHA-256. Anything that is not a well-formed token hashes to
/// something no invitation has, so callers need not check the shape first.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a string has the shape of a token (so that a page can refuse garbage without a database read).
pub fn looks_like_token(token: &str) -> bool {
    token.len() == TOKEN_LENGTH && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The accept link of a token.
pub fn link(public_url: &str, token: &Secret<String>) -> String {
    format!("{}/invite/{}", public_url.trim_end_matches('/'), token.expose())
}

/// The email that holds an invitation's link. An invitation nobody sent (a self-registration) gets the
/// wording that confirms the person's own request.
pub fn invitation_email(directory: &LocalDirectory, invitation: &Invitation, link: &str) -> OutboxMessage {
    let self_registered = invitation.invited_by_user_id.is_none();
    let (subject, opening) = if self_registered {
        (
            format!("Confirm your email to join {}", directory.display_name),
            format!(
                "Someone, hopefully you, asked to join {} with this email address. To confirm it and create \
                 your account, open this link and choose a password:",
                directory.display_name
            ),
        )
    } else {
        let purpose = if invitation.purpose.is_empty() { String::new() } else { format!(" ({})", invitation.purpose) };
        (
            format!("You're invited to join {}", directory.display_name),
            format!(
                "You have been invited to join {}{purpose}. To accept, open this link and choose a password:",
                directory.display_name
            ),
        )
    };
    // A self-registration's name was typed by whoever asked, unauthenticated: it is not repeated to the
    // address, so the email cannot carry a stranger's words.
    let greeting = if self_registered { "Hello,".to_string() } else { format!("Hello {},", invitation.display_name) };
    let body = format!(
        "{greeting}\n\n{opening}\n\n{link}\n\nThe link works once and expires at {expires} (UTC). If you did not \
         expect this email, you can ignore it.\n",
        expires = invitation.expires_at.to_rfc3339(),
    );
    OutboxMessage::new(invitation.tenant_id, "invitation", invitation.id, invitation.email.as_str(), &subject, body)
}

/// The shortest and longest passwords an invitee may choose.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 12..=1024;

/// Password hashes (and verifications) running at once. Each costs ~19 MiB and tens of milliseconds of a
/// core by design, so without a bound a burst of requests (50 people accepting at once, or an attacker
/// holding one valid link) would take memory in proportion; beyond the cores' count, more at once only
/// queues anyway.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs an argon2id computation on a blocking thread, at most one per core at a time.
pub async fn with_hashing_slot<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    let _slot = hashing_slots().acquire().await.map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
}

/// Checks a new password and hashes it with argon2id (see [`with_hashing_slot`]). The PHC string holds the
/// salt and parameters.
pub async fn hash_password(password: Secret<String>) -> ApiResult<String> {
    let length = password.expose().chars().count();
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(ApiError::invalid_field(
            "password",
            format!("must be {} to {} characters", PASSWORD_LENGTH.start(), PASSWORD_LENGTH.end()),
        ));
    }
    with_hashing_slot(move || {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(ApiError::internal)
    })
    .await?
}

/// Counts events per client address (failed secret guesses — wrong invitation links, wrong invitee
/// passwords — or, in a limiter of its own, self-registrations), and refuses an address that had too many in
/// a window.
/// Wrong guesses are only ever slowed down: nothing is locked or deleted because of them. Kept per node.
pub struct GuessLimiter {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl GuessLimiter {
    /// Ten failures per address per five minutes.
    pub fn new() -> Self {
        Self::with(10, Duration::from_secs(300))
    }

    /// For self-registrations: twenty per address per hour.
    pub fn registrations() -> Self {
        Self::with(20, Duration::from_secs(3600))
    }

    pub fn with(limit: u32, window: Duration) -> Self {
        GuessLimiter { limit, window, failures: Mutex::new(HashMap::new()) }
    }

    /// Refuses with 429 when `address` has used up its failures in the current window.
    pub fn check(&self, address: Option<IpAddr>) -> ApiResult<()> {
        let Some(address) = address else { return Ok(()) };
        let failures = self.failures.lock().expect("the guess limiter's lock is never poisoned");
        match failures.get(&address) {
            Some((start, count)) if start.elapsed() < self.window && *count >= self.limit => Err(ApiError::new(
                Code::ResourceExhausted,
                "too many invalid invitation links from this address; wait a few minutes and try again",
            )),
            _ => Ok(()),
        }
    }

    /// Counts one failure of `address`.
    pub fn failed(&self, address: Option<IpAddr>) {
        let Some(address) = address else { return };
        let mut failures = self.failures.lock().expect("the guess limiter's lock is never poisoned");
        if failures.len() > 100_000 {
            let window = self.window;
            failures.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = failures.entry(address).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

impl Default for GuessLimiter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_base64url_and_hash_to_their_hash() {
        let (token, hash) = new_token();
        assert_eq!(token.expose().len(), TOKEN_LENGTH);
        assert!(looks_like_token(token.expose()));
        assert_eq!(URL_SAFE_NO_PAD.decode(token.expose()).unwrap().len(), 32);
        assert_eq!(token_hash(token.expose()), hash);
        assert_ne!(new_token().1, hash);
        assert!(!looks_like_token("short"));
        assert_eq!(format!("{token:?}"), "[redacted]");
    }

    #[test]
    fn limiter_refuses_after_the_limit_and_forgets_after_the_window() {
        let limiter = GuessLimiter::with(3, Duration::from_millis(50));
        let address = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..3 {
            limiter.check(address).unwrap();
            limiter.failed(address);
        }
        assert_eq!(limiter.check(address).unwrap_err().code, Code::ResourceExhausted);
        limiter.check(Some(IpAddr::from([10, 0, 0, 1]))).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        limiter.check(address).unwrap();
    }

    #[tokio::test]
    async fn passwords_are_checked_then_hashed_with_argon2id() {
        let short = hash_password(Secret::new("short".into())).await.unwrap_err();
        assert!(short.message.contains("password"), "{}", short.message);
        let hash = hash_password(Secret::new("correct horse battery".into())).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
    }
}
