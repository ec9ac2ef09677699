//! The invitation expiry sweep. Readers already see a pending invitation past its expiry as expired; the
//! sweep makes the row and the audit trail say so. Several nodes may sweep at once: the store expires each
//! invitation once.

use std::sync::Arc;
use std::time::Duration;

use onramp_core::Core;
use onramp_domain::Timestamp;

/// The most invitations one sweep statement expires; the sweep repeats while it expires this many.
const SWEEP_BATCH: u32 = 1000;

/// Runs the sweep until the task is aborted: at start and then every `every`, writes EXPIRED on the pending
/// invitations past their expiry, failing their onboards and telling the invitees and sponsors (through the
/// core, whose write wakes the mail worker).
pub async fn sweep_invitations(core: Arc<Core>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let mut expired = 0u64;
        loop {
            match core.expire_invitations(Timestamp::now(), SWEEP_BATCH).await {
                Ok(count) => {
                    expired += count;
                    if count < u64::from(SWEEP_BATCH) {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "invitation expiry sweep failed");
                    break;
                }
            }
        }
        if expired > 0 {
            tracing::info!(expired, "invitations expired");
        }
    }
}
