//! The limits on guessing secrets and on unauthenticated work, and their numbers.
//!
//! Two kinds of limit:
//! - **Per account** (an invitee's password): consecutive wrong guesses are counted in the database, so
//!   that every node sees them. After [`LimitSettings::password_free_failures`] the next guess must wait a
//!   delay that starts at `password_first_delay` and doubles with each further failure up to
//!   `password_longest_delay`; a right password resets the count. While an account waits, a guess is refused
//!   before its password is checked. See `sign_in.rs`.
//! - **Per client address** (and per client id at the token endpoint): token buckets kept in each node's
//!   memory ([`RateLimiter`]). A bucket holds `burst` tokens and gains one every `every`; each failure takes
//!   one, and an empty bucket answers 429 with `Retry-After` until the next token, a few seconds: an address
//!   is slowed down to a bounded rate, never locked out for long. With several nodes, an address gets each
//!   node's rate.
//!
//! Where a limit is checked depends on the secret. A password can be guessed, so its limits are checked
//! before the password is (a token is taken first and given back when the password was right), and nothing
//! is learnt from a refused guess. Invitation links, client secrets and API keys hold 256 random bits, which
//! nobody guesses; refusing the right one would only let whoever shares an address, or knows a client id
//! (which is not secret), shut its owner out. So a valid invitation link is never refused, and a client's
//! right secret is never refused because of wrong ones for its id: those limits count failures and answer
//! failures past the limit with 429. Wrong client secrets and API keys also take from their address's
//! bucket before they are checked, which keeps one address's flood from costing a database read each.
//!
//! Nothing is ever locked or deleted because of failures; every refusal ends by itself.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::CoreError;

/// A token bucket's shape: `burst` tokens at once, then one more every `every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub burst: u32,
    pub every: Duration,
}

/// The numbers of every limit. Not settings an operator changes; tests shorten or tighten them.
#[derive(Clone, Debug)]
pub struct LimitSettings {
    /// Wrong passwords an account may have in a row before each guess must wait.
    pub password_free_failures: u32,
    /// The wait after the first failure past the free ones; each further failure doubles it.
    pub password_first_delay: Duration,
    /// The longest wait between guesses at one account.
    pub password_longest_delay: Duration,
    /// Wrong passwords (for any account) from one address.
    pub passwords_per_address: Bucket,
    /// Invitation links that open nothing, from one address.
    pub links_per_address: Bucket,
    /// Wrong client secrets, client assertions and API keys from one address.
    pub secrets_per_address: Bucket,
    /// Wrong client secrets or assertions for one client id.
    pub secrets_per_client: Bucket,
    /// Self-registrations (each sends an email to an unproven address) from one address.
    pub registrations_per_address: Bucket,
    /// Password reset requests (each may send an email) from one address.
    pub resets_per_address: Bucket,
    /// Password reset emails to one account; past it, requests send nothing and answer the same.
    pub resets_per_account: Bucket,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            password_free_failures: 5,
            password_first_delay: Duration::from_secs(1),
            password_longest_delay: Duration::from_secs(15 * 60),
            passwords_per_address: Bucket { burst: 10, every: Duration::from_secs(6) },
            links_per_address: Bucket { burst: 10, every: Duration::from_secs(6) },
            secrets_per_address: Bucket { burst: 20, every: Duration::from_secs(3) },
            secrets_per_client: Bucket { burst: 10, every: Duration::from_secs(6) },
            registrations_per_address: Bucket { burst: 20, every: Duration::from_secs(180) },
            resets_per_address: Bucket { burst: 10, every: Duration::from_secs(60) },
            resets_per_account: Bucket { burst: 3, every: Duration::from_secs(20 * 60) },
        }
    }
}

impl LimitSettings {
    /// How long an account whose last `failures` guesses were wrong, the last at `last`, must wait at `now`
    /// before the next guess; zero when it may guess now.
    pub fn password_wait(
        &self,
        failures: u32,
        last: onramp_domain::Timestamp,
        now: onramp_domain::Timestamp,
    ) -> Duration {
        let Some(past_free) = failures.checked_sub(self.password_free_failures) else { return Duration::ZERO };
        let delay =
            self.password_first_delay.saturating_mul(1u32 << past_free.min(30)).min(self.password_longest_delay);
        let ready = last.micros().saturating_add(i64::try_from(delay.as_micros()).unwrap_or(i64::MAX));
        Duration::from_micros(u64::try_from(ready - now.micros()).unwrap_or(0))
    }
}

/// The limiters of a node, one per kind of failure.
pub struct Limits {
    pub settings: LimitSettings,
    pub passwords: RateLimiter<IpAddr>,
    pub links: RateLimiter<IpAddr>,
    pub secrets: RateLimiter<IpAddr>,
    pub clients: RateLimiter<String>,
    pub registrations: RateLimiter<IpAddr>,
    pub resets: RateLimiter<IpAddr>,
    pub resets_per_account: RateLimiter<onramp_domain::Id>,
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        Limits {
            passwords: RateLimiter::new(settings.passwords_per_address),
            links: RateLimiter::new(settings.links_per_address),
            secrets: RateLimiter::new(settings.secrets_per_address),
            clients: RateLimiter::new(settings.secrets_per_client),
            registrations: RateLimiter::new(settings.registrations_per_address),
            resets: RateLimiter::new(settings.resets_per_address),
            resets_per_account: RateLimiter::new(settings.resets_per_account),
            settings,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(LimitSettings::default())
    }
}

/// The 429 of a limit: `what` says what there were too many of, and the client may retry after `wait`.
pub fn too_many(what: &str, wait: Duration) -> CoreError {
    let seconds = retry_after_seconds(wait);
    let unit = if seconds == 1 { "second" } else { "seconds" };
    CoreError::too_many(format!("{what}; try again in {seconds} {unit}"), seconds)
}

/// A wait in whole seconds for `Retry-After`, rounded up and at least one.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// Buckets at most this many keys before full ones are forgotten.
const PRUNE_AT: usize = 100_000;

/// Token buckets per key (a client address, a client id). A bucket is kept as the time at which it will be
/// full again, so a full bucket needs no entry.
pub struct RateLimiter<K> {
    bucket: Bucket,
    full_at: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(bucket: Bucket) -> Self {
        RateLimiter { bucket, full_at: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key`; when there is none, takes nothing and says how long until there is one.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    /// Gives back the token a request took before it turned out not to be a failure.
    pub fn give_back(&self, key: &K) {
        let now = Instant::now();
        let mut full_at = self.full_at.lock().expect("a rate limiter's lock is never poisoned");
        if let Some(at) = full_at.get_mut(key) {
            match at.checked_sub(self.bucket.every).filter(|earlier| *earlier > now) {
                Some(earlier) => *at = earlier,
                None => {
                    full_at.remove(key);
                }
            }
        }
    }

    fn take_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut full_at = self.full_at.lock().expect("a rate limiter's lock is never poisoned");
        if full_at.len() >= PRUNE_AT {
            full_at.retain(|_, at| *at > now);
        }
        let current = full_at.get(key).copied().filter(|at| *at > now).unwrap_or(now);
        let after = current + self.bucket.every;
        let capacity = self.bucket.every.saturating_mul(self.bucket.burst);
        match (after - now).checked_sub(capacity) {
            Some(over) if !over.is_zero() => Err(over),
            _ => {
                full_at.insert(key.clone(), after);
                Ok(())
            }
        }
    }
}

/// The key of a client address: IPv4 addresses (also written as IPv4-mapped IPv6) as they are, IPv6
/// addresses by their /64, since one subscriber usually holds a whole /64.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

impl RateLimiter<IpAddr> {
    /// [`RateLimiter::take`] for a client address; a request without one (no connection info) is not limited.
    pub fn take_for(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        address.map_or(Ok(()), |address| self.take(&address_key(address)))
    }

    /// [`RateLimiter::give_back`] for a client address.
    pub fn give_back_for(&self, address: Option<IpAddr>) {
        if let Some(address) = address {
            self.give_back(&address_key(address));
        }
    }
}

#[cfg(test)]
mod tests {
    use onramp_domain::Timestamp;

    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_one_token_per_interval() {
        let limiter = RateLimiter::new(Bucket { burst: 3, every: Duration::from_secs(10) });
        let start = Instant::now();
        for _ in 0..3 {
            limiter.take_at(&"a", start).unwrap();
        }
        assert_eq!(limiter.take_at(&"a", start), Err(Duration::from_secs(10)));
        assert_eq!(limiter.take_at(&"a", start + Duration::from_secs(4)), Err(Duration::from_secs(6)));
        limiter.take_at(&"b", start).unwrap();
        limiter.take_at(&"a", start + Duration::from_secs(10)).unwrap();
        assert!(limiter.take_at(&"a", start + Duration::from_secs(10)).is_err());
        // Refused takes cost nothing: after 30 s the bucket is full again.
        for _ in 0..3 {
            limiter.take_at(&"a", start + Duration::from_secs(50)).unwrap();
        }
        assert!(limiter.take_at(&"a", start + Duration::from_secs(50)).is_err());
    }

    #[test]
    fn a_token_given_back_can_be_taken_again() {
        let limiter = RateLimiter::new(Bucket { burst: 1, every: Duration::from_secs(3600) });
        limiter.take(&"a").unwrap();
        assert!(limiter.take(&"a").is_err());
        limiter.give_back(&"a");
        limiter.take(&"a").unwrap();
    }

    #[test]
    fn ipv6_addresses_share_their_64_and_mapped_ipv4_is_ipv4() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_key(one), address_key(other));
        assert_ne!(address_key(one), address_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(address_key("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_password_wait_doubles_from_the_sixth_failure_up_to_its_longest() {
        let settings = LimitSettings::default();
        let last = Timestamp::from_micros(1_000_000_000);
        let wait = |failures| settings.password_wait(failures, last, last);
        assert_eq!(wait(0), Duration::ZERO);
        assert_eq!(wait(4), Duration::ZERO);
        assert_eq!(wait(5), Duration::from_secs(1));
        assert_eq!(wait(6), Duration::from_secs(2));
        assert_eq!(wait(14), Duration::from_secs(512));
        assert_eq!(wait(15), Duration::from_secs(900));
        assert_eq!(wait(1000), Duration::from_secs(900));
        let later = Timestamp::from_micros(last.micros() + 1_500_000);
        assert_eq!(settings.password_wait(6, last, later), Duration::from_millis(500));
        assert_eq!(settings.password_wait(5, last, later), Duration::ZERO);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(5001)), 6);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
