//! The optional second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, the step before and
//! after accepted for clock drift), with 10 single-use recovery codes.
//!
//! Enrolment: [`Core::begin_totp`] stores a new 160-bit seed, unconfirmed; the page shows it as a QR code
//! and in text; [`Core::confirm_totp`] turns it on with a first right code and returns the recovery codes,
//! shown once and stored as SHA-256 (80 random bits each). Turning it off needs the password and a code.
//!
//! At sign-in ([`Core::second_factor`]), a code is checked under the account's delay (the rule of
//! passwords, counted in `user_totp.failures`) and the client address's bucket; a code is accepted only for
//! a time step later than the last accepted one (a conditional update), so no code works twice.

use onramp_domain::{Id, Secret, Timestamp};
use onramp_store::{SessionStage, StoreError, Totp};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

use crate::Core;
use crate::account::{AccountSession, ClientInfo, SignedIn, new_session};
use crate::error::{Code, CoreError, CoreResult};
use crate::limits::too_many;

/// Seconds per code.
const STEP_SECONDS: u64 = 30;
/// How many recovery codes an enrolment gets.
pub const RECOVERY_CODES: usize = 10;

/// What the page shows to enrol an authenticator app.
#[derive(Clone, Debug)]
pub struct TotpSetup {
    /// The seed in base32, in groups of four for typing.
    pub secret_text: String,
    /// The `otpauth://` URI authenticator apps read from the QR code.
    pub uri: String,
}

fn base32_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn generator(secret: &Secret<String>) -> CoreResult<TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret.expose().clone())
        .to_bytes()
        .map_err(|_| CoreError::internal("a stored TOTP seed is not base32"))?;
    Ok(TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP_SECONDS, bytes))
}

/// The time step of `code` for `secret` at `now` (the current step, or the one before or after), if right.
fn matching_step(secret: &Secret<String>, code: &str, now: Timestamp) -> CoreResult<Option<i64>> {
    let totp = generator(secret)?;
    let step = (now.micros() / 1_000_000) as u64 / STEP_SECONDS;
    let mut found = None;
    for candidate in [step - 1, step, step + 1] {
        let expected = totp.generate(candidate * STEP_SECONDS);
        // Compared whole, without stopping at the first difference.
        let same =
            expected.len() == code.len() && expected.bytes().zip(code.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
        if same && found.is_none() {
            found = Some(candidate as i64);
        }
    }
    Ok(found)
}

/// A recovery code as typed: without spaces and dashes, lowercase.
fn normalized_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn code_hash(code: &str) -> String {
    Sha256::digest(normalized_code(code).as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new recovery code: 80 random bits as 16 base32 characters, in groups of four.
fn new_recovery_code() -> String {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let text = base32_of(&bytes).to_ascii_lowercase();
    text.as_bytes().chunks(4).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect::<Vec<_>>().join("-")
}

/// The account an authenticator app lists the code under: the email, else (a user without one) the name.
fn account_label(user: &onramp_domain::user::User) -> &str {
    user.email.as_ref().map_or(user.display_name.as_str(), |email| email.as_str())
}

fn setup_of(totp: &Totp, issuer: &str, account: &str) -> TotpSetup {
    let secret = totp.secret.expose();
    let encode =
        |text: &str| percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
    let uri = format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        encode(issuer),
        encode(account),
        encode(issuer)
    );
    let secret_text =
        secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
    TotpSetup { secret_text, uri }
}

impl Core {
    /// Starts (or restarts) enrolling an authenticator app: a new seed, not yet on.
    pub async fn begin_totp(&self, session: &AccountSession) -> CoreResult<TotpSetup> {
        let user = session.user();
        let mut seed = [0u8; 20];
        getrandom::fill(&mut seed).expect("the operating system's random source failed");
        let totp = Totp {
            tenant_id: user.tenant_id,
            user_id: user.id,
            secret: Secret::new(base32_of(&seed)),
            created_at: Timestamp::now(),
            confirmed_at: None,
            last_step: 0,
            failures: 0,
            last_failure_at: None,
        };
        self.store.begin_totp(&totp).await.map_err(|error| match error {
            StoreError::WrongState(message) => CoreError::new(Code::FailedPrecondition, message),
            other => other.into(),
        })?;
        Ok(setup_of(&totp, &self.issuer(), account_label(user)))
    }

    /// The enrolment under way (not yet confirmed), if any.
    pub async fn totp_setup(&self, session: &AccountSession) -> CoreResult<Option<TotpSetup>> {
        let user = session.user();
        match self.store.totp_of(&user.tenant_id, &user.id).await {
            Ok(totp) if totp.confirmed_at.is_none() => Ok(Some(setup_of(&totp, &self.issuer(), account_label(user)))),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    fn issuer(&self) -> String {
        let host = crate::auth::host_of(&self.public_url);
        if host.is_empty() { "onramp".to_string() } else { format!("onramp ({host})") }
    }

    /// Turns two-step sign-in on with a first right code from the app; returns the recovery codes, which
    /// exist in plain text only in this answer.
    pub async fn confirm_totp(
        &self,
        client: &ClientInfo,
        session: &AccountSession,
        code: &str,
    ) -> CoreResult<Vec<String>> {
        let user = session.user();
        let totp = match self.store.totp_of(&user.tenant_id, &user.id).await {
            Ok(totp) if totp.confirmed_at.is_none() => totp,
            Ok(_) => return Err(CoreError::new(Code::FailedPrecondition, "two-step sign-in is on already")),
            Err(StoreError::NotFound) => {
                return Err(CoreError::new(Code::FailedPrecondition, "start setting up two-step sign-in first"));
            }
            Err(error) => return Err(error.into()),
        };
        self.limits
            .passwords
            .take_for(client.address)
            .map_err(|wait| too_many("too many wrong codes from this address", wait))?;
        let code = code.trim().replace(' ', "");
        let Some(step) = matching_step(&totp.secret, &code, Timestamp::now())? else {
            return Err(CoreError::invalid_field(
                "code",
                "is not the code your app shows now; check the app's clock and try the next code",
            ));
        };
        self.limits.passwords.give_back_for(client.address);
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|code| code_hash(code)).collect();
        let actor = onramp_store::Actor {
            tenant_id: user.tenant_id,
            user_id: Some(user.id),
            credential_id: None,
            request_id: None,
        };
        self.store.confirm_totp(&actor, &user.id, step, &hashes).await.map_err(|error| match error {
            StoreError::WrongState(message) => CoreError::new(Code::FailedPrecondition, message),
            other => other.into(),
        })?;
        Ok(codes)
    }

    /// Turns two-step sign-in off: the password and a current code (or a recovery code) must be right.
    pub async fn disable_totp(
        &self,
        client: &ClientInfo,
        session: &AccountSession,
        password: Secret<String>,
        code: &str,
    ) -> CoreResult<()> {
        let user = session.user();
        self.current_password_right(client, user, password).await?;
        self.check_second_factor(client, &user.tenant_id, &user.id, code).await.map_err(|error| {
            if error.code == Code::Unauthenticated { CoreError::invalid_field("code", error.message) } else { error }
        })?;
        let actor = onramp_store::Actor {
            tenant_id: user.tenant_id,
            user_id: Some(user.id),
            credential_id: None,
            request_id: None,
        };
        self.store.remove_totp(&actor, &user.id).await?;
        Ok(())
    }

    /// The second step of signing in: a code from the app, or a recovery code, for the session waiting for
    /// it. A right one makes a new signed-in session (and deletes the waiting one).
    pub async fn second_factor(&self, client: &ClientInfo, pending_token: &str, code: &str) -> CoreResult<SignedIn> {
        let Some(pending) = self.pending_second_factor(pending_token).await? else {
            return Err(CoreError::unauthenticated("your sign-in took too long; sign in again"));
        };
        debug_assert_eq!(pending.stage, SessionStage::SecondFactor);
        self.check_second_factor(client, &pending.tenant_id, &pending.user_id, code).await?;
        let (token, session) = new_session(client, pending.tenant_id, pending.user_id, false);
        self.store.create_session(&session, Some(&pending.token_hash)).await?;
        Ok(SignedIn { token, session, second_factor: false })
    }

    /// Checks a TOTP code or a recovery code of the user, under the limits: the address's bucket (taken
    /// first, given back when right) and the account's delay (a code is counted before it is checked).
    async fn check_second_factor(
        &self,
        client: &ClientInfo,
        tenant_id: &Id,
        user_id: &Id,
        code: &str,
    ) -> CoreResult<()> {
        let addresses = &self.limits.passwords;
        addresses.take_for(client.address).map_err(|wait| too_many("too many wrong codes from this address", wait))?;
        let outcome = self.check_code(tenant_id, user_id, code).await;
        if !matches!(&outcome, Err(error) if error.code == Code::Unauthenticated) {
            addresses.give_back_for(client.address);
        }
        outcome
    }

    async fn check_code(&self, tenant_id: &Id, user_id: &Id, code: &str) -> CoreResult<()> {
        let wrong = || {
            CoreError::unauthenticated("that code is not right; type the code your app shows now, or a recovery code")
        };
        let mut lost = 0;
        let totp = loop {
            let totp = match self.store.totp_of(tenant_id, user_id).await {
                Ok(totp) if totp.confirmed_at.is_some() => totp,
                Ok(_) | Err(StoreError::NotFound) => return Err(wrong()),
                Err(error) => return Err(error.into()),
            };
            let now = Timestamp::now();
            if let Some(last) = totp.last_failure_at {
                let wait = self.limits.settings.password_wait(totp.failures, last, now);
                if !wait.is_zero() {
                    return Err(too_many("too many wrong codes for this account", wait));
                }
            }
            if self.store.count_totp_guess(tenant_id, user_id, totp.failures, now).await? {
                break totp;
            }
            lost += 1;
            if lost == 3 {
                return Err(too_many("too many wrong codes for this account", std::time::Duration::from_secs(1)));
            }
        };
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return match matching_step(&totp.secret, &digits, Timestamp::now())? {
                Some(step) if self.store.use_totp_step(tenant_id, user_id, step).await? => Ok(()),
                Some(_) => {
                    Err(CoreError::unauthenticated("that code was used already; wait for the next code in your app"))
                }
                None => Err(wrong()),
            };
        }
        if self.store.use_recovery_code(tenant_id, user_id, &code_hash(code), Timestamp::now()).await? {
            Ok(())
        } else {
            Err(wrong())
        }
    }
}

/// The current code of a base32 seed: for tests that play the authenticator app.
pub fn code_now(secret_base32: &str) -> String {
    let secret = Secret::new(secret_base32.replace(' ', ""));
    let now = (Timestamp::now().micros() / 1_000_000) as u64;
    generator(&secret).map(|totp| totp.generate(now)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32_of(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_of(b"f"), "MY");
    }

    #[test]
    fn codes_match_their_step_and_its_neighbours_only() {
        let secret = Secret::new(base32_of(b"12345678901234567890"));
        // RFC 6238's SHA-1 vector: at 59 s the 8-digit code is 94287082, so the 6-digit one is 287082.
        let at = Timestamp::from_micros(59_000_000);
        assert_eq!(matching_step(&secret, "287082", at).unwrap(), Some(1));
        assert_eq!(matching_step(&secret, "287082", Timestamp::from_micros(89_000_000)).unwrap(), Some(1));
        assert_eq!(matching_step(&secret, "287082", Timestamp::from_micros(150_000_000)).unwrap(), None);
        assert_eq!(matching_step(&secret, "000000", at).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_80_bits_and_hash_as_typed() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code_hash(&code), code_hash(&code.to_uppercase().replace('-', " ")));
        assert_ne!(new_recovery_code(), code);
    }
}
