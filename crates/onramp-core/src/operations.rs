//! What an operator's endpoints read: readiness (`/readyz`) and the gauges of `/metrics`. Nothing here
//! names a person, so no principal is asked for: the routes guard themselves (`/metrics` by its token).

use std::time::Instant;

use onramp_domain::Timestamp;
use onramp_store::{InvitationCount, OutboxGauges, PoolGauge};

use crate::Core;
use crate::error::CoreResult;

/// The gauges of one scrape, each from one cheap query (the pools from memory).
#[derive(Clone, Debug)]
pub struct Gauges {
    /// Users rows in the change feed that this node's index has still to apply.
    pub users_behind: i64,
    /// Since when the index has been catching up to the position `users_behind` counts from (as
    /// `SearchIndex::caught_up` says); None when it has not started.
    pub index_caught_up_at: Option<Instant>,
    pub outbox: OutboxGauges,
    pub invitations: Vec<InvitationCount>,
    pub pools: Vec<PoolGauge>,
}

impl Core {
    /// The database backend's name and whether it answers now.
    pub async fn readiness(&self) -> (&'static str, CoreResult<()>) {
        (self.store.backend().name(), self.store.ping().await.map_err(Into::into))
    }

    /// The gauges of `/metrics` as of `now`, with the index's change-feed lag measured against the
    /// position it has applied.
    pub async fn gauges(&self, now: Timestamp) -> CoreResult<Gauges> {
        let (position, index_caught_up_at) = self.search()?.caught_up();
        Ok(Gauges {
            users_behind: self.store.users_behind(position).await?,
            index_caught_up_at,
            outbox: self.store.outbox_gauges(now).await?,
            invitations: self.store.invitation_counts(now).await?,
            pools: self.store.pool_gauges(),
        })
    }
}
