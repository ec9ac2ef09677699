//! The admin console's overview as one use case: how many users, invitations and onboards there are by
//! status, and what needs someone: onboards waiting on an approver (named, or the user's manager) or on the
//! invitee for longer than the caller's threshold, pending invitations expiring within 48 hours, and emails
//! that failed (lately) or are retrying. Each part needs its own read permission; a caller sees the parts
//! their roles allow and is refused only when they may read none of them.

use std::time::Duration;

use onramp_domain::onboarding::OnboardStatus;
use onramp_domain::user::UserStatus;
use onramp_domain::{Id, Permission, Timestamp};
use onramp_store::{Delivery, Invitation, InvitationStatus};

use crate::error::{CoreError, CoreResult};
use crate::onboards::OnboardView;
use crate::{Core, Principal};

/// The most items each list of the overview holds; its total says how many there are in all.
pub const OVERVIEW_ITEMS: u32 = 50;
/// How far ahead an expiring invitation is looked for.
pub const EXPIRING_WITHIN: Duration = Duration::from_secs(48 * 3600);
/// How far back a failed email is shown: one that failed earlier was seen, or resent, by now.
pub const FAILED_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest waiting threshold, in days.
pub const MAX_WAITING_DAYS: u32 = 365;

/// A list of the overview: the first [`OVERVIEW_ITEMS`] of it, and how many there are in all.
#[derive(Clone, Debug, PartialEq)]
pub struct Bounded<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// The emails in trouble: those retrying and those that failed within [`FAILED_WITHIN`], newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct TroubledEmails {
    pub items: Vec<Delivery>,
    pub retrying: i64,
    pub failed: i64,
}

/// The overview of a tenant at `now`. A part is None when the caller may not read it (`users`:
/// `user:read`; `invitations`, `expiring_invitations` and `emails`: `invitation:read`; `onboards` and
/// `waiting_onboards`: `onboarding:read`).
#[derive(Clone, Debug, PartialEq)]
pub struct Overview {
    pub now: Timestamp,
    /// The threshold of `waiting_onboards`, in days.
    pub waiting_days: u32,
    pub users: Option<Vec<(UserStatus, i64)>>,
    pub invitations: Option<Vec<(InvitationStatus, i64)>>,
    pub onboards: Option<Vec<(OnboardStatus, i64)>>,
    /// Onboards under way whose turn (invitee, approver or manager) began more than `waiting_days` ago,
    /// longest waiting first.
    pub waiting_onboards: Option<Bounded<OnboardView>>,
    /// Pending invitations that expire within [`EXPIRING_WITHIN`], soonest first.
    pub expiring_invitations: Option<Bounded<Invitation>>,
    pub emails: Option<TroubledEmails>,
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

impl Core {
    /// The tenant's overview, with onboards counted as waiting once their turn is older than
    /// `waiting_days` days (0 to [`MAX_WAITING_DAYS`], else refused naming `waitingDays`).
    pub async fn overview(&self, caller: &Principal, waiting_days: u32) -> CoreResult<Overview> {
        let may = |permission| caller.require(permission).is_ok();
        let (users, invitations, onboards) =
            (may(Permission::UserRead), may(Permission::InvitationRead), may(Permission::OnboardingRead));
        if !(users || invitations || onboards) {
            return Err(CoreError::permission_denied(
                "permission denied: this call requires user:read, invitation:read or onboarding:read",
            ));
        }
        if waiting_days > MAX_WAITING_DAYS {
            return Err(CoreError::invalid_field("waitingDays", format!("must be 0 to {MAX_WAITING_DAYS}")));
        }
        let tenant = &caller.tenant_id;
        let now = Timestamp::now();
        let counts = self.store.status_counts(tenant, now).await?;
        let mut overview = Overview {
            now,
            waiting_days,
            users: users.then_some(counts.users),
            invitations: invitations.then_some(counts.invitations),
            onboards: onboards.then_some(counts.onboards),
            waiting_onboards: None,
            expiring_invitations: None,
            emails: None,
        };
        if invitations {
            let until = Timestamp::from_micros(now.micros().saturating_add(micros(EXPIRING_WITHIN)));
            let (items, total) = self.store.expiring_invitations(tenant, now, until, OVERVIEW_ITEMS).await?;
            overview.expiring_invitations = Some(Bounded { items, total });
            let failed_since = Timestamp::from_micros(now.micros().saturating_sub(micros(FAILED_WITHIN)));
            let (items, retrying, failed) =
                self.store.troubled_deliveries(tenant, failed_since, OVERVIEW_ITEMS).await?;
            overview.emails = Some(TroubledEmails { items, retrying, failed });
        }
        if onboards {
            let days = Duration::from_secs(u64::from(waiting_days) * 24 * 3600);
            let cutoff = Timestamp::from_micros(now.micros().saturating_sub(micros(days)));
            overview.waiting_onboards = Some(self.waiting_onboards(tenant, cutoff).await?);
        }
        Ok(overview)
    }

    /// The onboards under way whose turn began before `cutoff`, longest waiting first: one indexed query of
    /// the store, on the turn's start that every write of an onboard stores.
    async fn waiting_onboards(&self, tenant: &Id, cutoff: Timestamp) -> CoreResult<Bounded<OnboardView>> {
        let (waiting, total) = self.store.waiting_onboards(tenant, cutoff, OVERVIEW_ITEMS).await?;
        Ok(Bounded { items: self.views(tenant, waiting).await?, total })
    }
}
