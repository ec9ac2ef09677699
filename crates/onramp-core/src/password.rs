//! Invitees' passwords: the length rule, and argon2id hashing and verification on a small pool of threads of
//! their own.
//!
//! An argon2id computation needs 19 MiB of working memory by design (onramp uses the argon2 crate's default
//! parameters: m = 19456 KiB, t = 2, p = 1). Allocated per call on tokio's blocking threads, that memory grew
//! with concurrency and stayed: blocking threads come and go, each thread's allocations go to a malloc arena
//! of its own, and glibc keeps freed blocks of that size inside the arena (its mmap threshold rises after the
//! first one is freed), so every arena ends up holding some. 100 concurrent acceptances raised the server's
//! memory by 420 to 780 MiB for good (`onramp-bench accept-memory`, before this module; +42 MiB with it). So every computation runs on a
//! fixed pool of threads, one per core up to [`MAX_THREADS`], each of which allocates its working memory once
//! and reuses it; the rest queue. The server's memory for hashing is then at most `MAX_THREADS` × 19 MiB, and
//! more at once would only queue for the cores anyway.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use onramp_domain::Secret;

use crate::error::{CoreError, CoreResult};

/// The shortest and longest passwords an invitee may choose.
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 12..=1024;

/// The lowest zxcvbn score (0 to 4) a new password may have: 3, "safely unguessable" (about 10^8 guesses
/// or more), so that a password on a list of common or breached ones, a keyboard walk, a repeated word
/// or the person's own name or email is refused even at 12 characters or more.
pub const MIN_STRENGTH: u8 = 3;

/// zxcvbn's work grows with the length of the password; beyond this many characters only the first ones
/// are estimated (a password this long is never weak for its length alone).
const STRENGTH_PREFIX: usize = 100;

/// Checks a new password: [`PASSWORD_LENGTH`], and not guessable by zxcvbn's estimate (score at least
/// [`MIN_STRENGTH`]) given the person's own words (`user_inputs`: email, name). The message says what is
/// wrong in the person's terms.
pub fn check_new_password(password: &Secret<String>, user_inputs: &[&str]) -> CoreResult<()> {
    let text = password.expose();
    let length = text.chars().count();
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(CoreError::invalid_field(
            "password",
            format!("must be {} to {} characters", PASSWORD_LENGTH.start(), PASSWORD_LENGTH.end()),
        ));
    }
    let prefix: String = text.chars().take(STRENGTH_PREFIX).collect();
    let inputs: Vec<String> =
        user_inputs.iter().flat_map(|input| input.split(['@', '.', ' ', '-', '_'])).map(str::to_lowercase).collect();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).filter(|word| word.len() >= 3).collect();
    let estimate = zxcvbn::zxcvbn(&prefix, &inputs);
    if u8::from(estimate.score()) < MIN_STRENGTH {
        let warning = estimate.feedback().and_then(|feedback| feedback.warning()).map(|w| format!(" ({w})"));
        return Err(CoreError::invalid_field(
            "password",
            format!(
                "is too easy to guess{}: use a longer phrase of unrelated words, not a common password or your \
                 own name",
                warning.unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// [`check_new_password`], then [`hash_password`]: what every new password goes through (an invitation's
/// acceptance, a change, a reset).
pub async fn new_password_hash(password: Secret<String>, user_inputs: &[&str]) -> CoreResult<String> {
    check_new_password(&password, user_inputs)?;
    hash_password(password).await
}

/// The most hashing threads, whatever the number of cores: each keeps 19 MiB.
pub const MAX_THREADS: usize = 4;

/// A computation for a hashing thread, given that thread's working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The queue of the hashing threads, which are started on first use.
fn queue() -> &'static mpsc::Sender<Job> {
    static QUEUE: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        for n in 0..cores.clamp(1, MAX_THREADS) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("onramp-argon2-{n}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let next = receiver.lock().expect("the hashing queue's lock is never poisoned").recv();
                        let Ok(job) = next else { return };
                        // A panic drops the job's answer channel (its caller gets an internal error) and
                        // keeps the thread.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                    }
                })
                .expect("the operating system starts a hashing thread");
        }
        sender
    })
}

/// Runs `work` on a hashing thread with its working memory, waiting in the queue for a free thread.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> CoreResult<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |memory| {
        // A request that went away while it was queued needs no answer: its computation is skipped.
        if !answer.is_closed() {
            let _ = answer.send(work(memory));
        }
    });
    queue().send(job).map_err(|_| CoreError::internal("the password hashing threads have stopped"))?;
    answered.await.map_err(|_| CoreError::internal("a password hash computation failed"))
}

/// The first `params.block_count()` blocks of a thread's working memory, grown to that size if needed.
fn blocks<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let count = params.block_count();
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    &mut memory[..count]
}

/// Checks a new password and hashes it with argon2id on a hashing thread. The PHC string holds the salt and
/// parameters.
pub async fn hash_password(password: Secret<String>) -> CoreResult<String> {
    let length = password.expose().chars().count();
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(CoreError::invalid_field(
            "password",
            format!("must be {} to {} characters", PASSWORD_LENGTH.start(), PASSWORD_LENGTH.end()),
        ));
    }
    on_hashing_thread(move |memory| hash_with(password.expose().as_bytes(), memory)).await?.map_err(CoreError::internal)
}

/// Whether `password` matches the PHC string `hash`, computed on a hashing thread. A malformed hash matches
/// nothing.
pub async fn verify_password(hash: String, password: Secret<String>) -> CoreResult<bool> {
    on_hashing_thread(move |memory| verify_with(&hash, password.expose().as_bytes(), memory)).await
}

/// argon2id with the crate's default parameters, in `memory`, as a PHC string (what `PasswordHasher` writes).
fn hash_with(password: &[u8], memory: &mut Vec<Block>) -> argon2::password_hash::Result<String> {
    let argon2 = Argon2::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt_raw, out, blocks(memory, argon2.params()))?)
    })?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Recomputes the hash of `password` with the algorithm, version, parameters and salt `phc` names, in
/// `memory`, and compares in constant time.
fn verify_with(phc: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Ok(algorithm), Some(expected), Some(salt)) = (Algorithm::try_from(parsed.algorithm), parsed.hash, parsed.salt)
    else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else { return false };
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt_raw, out, blocks(memory, argon2.params()))?)
    });
    // Memory grown for a hash of unusual parameters is not kept beyond what the default needs.
    let usual = Params::default().block_count();
    if memory.len() > usual {
        memory.truncate(usual);
        memory.shrink_to_fit();
    }
    computed.is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn passwords_are_checked_then_hashed_with_argon2id() {
        let short = hash_password(Secret::new("short".into())).await.unwrap_err();
        assert!(short.message.contains("password"), "{}", short.message);
        let hash = hash_password(Secret::new("correct horse battery".into())).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!hash.contains("correct horse"));
    }

    #[test]
    fn weak_passwords_are_refused_and_strong_ones_pass() {
        let check = |password: &str, inputs: &[&str]| check_new_password(&Secret::new(password.into()), inputs);
        assert!(check("correct horse battery staple", &[]).is_ok());
        assert!(check("Tr4vel-lamp-orchid-91", &[]).is_ok());
        for weak in ["password1234", "qwertyuiopasdf", "123456789012", "aaaaaaaaaaaaaaa", "iloveyou2024!"] {
            let refused = check(weak, &[]).unwrap_err();
            assert!(refused.message.contains("too easy to guess"), "{weak}: {}", refused.message);
        }
        // The person's own name and email count against them.
        assert!(check("zimmermannzoe1", &["zoe.zimmermann@example.com", "Zoe Zimmermann"]).is_err());
        assert!(check("short", &[]).unwrap_err().message.contains("12 to 1024"));
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways() {
        let ours = hash_password(Secret::new("correct horse battery".into())).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong horse battery", &parsed).is_err());

        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"staple and more", &salt).unwrap().to_string();
        assert!(verify_password(theirs.clone(), Secret::new("staple and more".into())).await.unwrap());
        assert!(!verify_password(theirs, Secret::new("staple and less".into())).await.unwrap());
        assert!(verify_password(ours, Secret::new("correct horse battery".into())).await.unwrap());
    }

    #[tokio::test]
    async fn other_parameters_verify_and_garbage_matches_nothing() {
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let hash = small.hash_password(b"another password", &salt).unwrap().to_string();
        assert!(verify_password(hash, Secret::new("another password".into())).await.unwrap());
        assert!(!verify_password("not a hash".into(), Secret::new("anything at all".into())).await.unwrap());
    }
}
