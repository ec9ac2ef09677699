//! What this process's transactions have touched, for the application layer to act on at commit.
//!
//! Three counters, each bumped inside the one function that every write of its kind goes through:
//! [`users`] by the taking of a change-feed number (every transaction that writes `users` rows takes one),
//! [`outbox`] by the queueing of an outbox message, [`webhook`] by the queueing of a webhook delivery. `onramp_core::Core` reads them before and after each
//! write it makes: a moved counter means the write may have touched users (catch the search index up) or
//! queued mail or webhooks (wake their delivery worker). A write of another request in between, or one that rolled back,
//! only moves a counter that needed no moving, and the catch-up or wake-up it causes finds nothing to do;
//! a write that touched users or the outbox always moves its counter before the store call returns.

use std::sync::atomic::{AtomicU64, Ordering};

static USERS: AtomicU64 = AtomicU64::new(0);
static OUTBOX: AtomicU64 = AtomicU64::new(0);
static COMMITS: AtomicU64 = AtomicU64::new(0);
static WEBHOOKS: AtomicU64 = AtomicU64::new(0);

/// The counters at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Touched {
    pub users: u64,
    pub outbox: u64,
    pub webhooks: u64,
}

/// The counters now.
pub fn touched() -> Touched {
    Touched {
        users: USERS.load(Ordering::Acquire),
        outbox: OUTBOX.load(Ordering::Acquire),
        webhooks: WEBHOOKS.load(Ordering::Acquire),
    }
}

pub(crate) fn users() {
    USERS.fetch_add(1, Ordering::AcqRel);
}

pub(crate) fn outbox() {
    OUTBOX.fetch_add(1, Ordering::AcqRel);
}

/// How many COMMITs this process's writes have made: one per write on PostgreSQL, one per batch of the
/// group commit on SQLite (so, beside the count of writes, the number of writes each fsync made durable).
pub fn commits() -> u64 {
    COMMITS.load(Ordering::Acquire)
}

pub(crate) fn committed() {
    COMMITS.fetch_add(1, Ordering::AcqRel);
}

pub(crate) fn webhook() {
    WEBHOOKS.fetch_add(1, Ordering::AcqRel);
}
