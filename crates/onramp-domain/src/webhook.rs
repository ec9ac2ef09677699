//! Webhooks: the event types a tenant subscribes to, which audited changes raise which events, a
//! subscription and its deliveries, the retry rule with its dead-letter bound, and which network addresses
//! a webhook may never be sent to.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

use crate::{Id, Timestamp};

/// The events a subscription may ask for, by their wire names.
pub const EVENT_TYPES: [&str; 14] = [
    "user.created",
    "user.updated",
    "user.disabled",
    "user.deleted",
    "invitation.created",
    "invitation.accepted",
    "invitation.revoked",
    "invitation.expired",
    "onboard.started",
    "onboard.step_completed",
    "onboard.completed",
    "onboard.failed",
    "app_owner.added",
    "app_owner.removed",
];

/// The wire name of an event type, if `name` is one.
pub fn event_type(name: &str) -> Option<&'static str> {
    EVENT_TYPES.iter().copied().find(|known| *known == name)
}

/// The events an audited change raises, each with its `data`: the object's audit form after the change
/// (before it, for a removal). A change that raises none (a password change, an app edit) gives none.
///
/// `before` and `after` are the audit log's forms of the object, so that every write that is audited, and
/// only through the one function that audits it, raises its events in its own transaction.
pub fn events_of_change(action: &str, before: Option<&Value>, after: Option<&Value>) -> Vec<(&'static str, Value)> {
    let status = |value: Option<&Value>| value.and_then(|v| v.get("status")).and_then(Value::as_str).map(str::to_owned);
    let data = || after.or(before).cloned().unwrap_or(Value::Null);
    match action {
        "user.create" => vec![("user.created", data())],
        "user.import" => after
            .and_then(|v| v.get("userIds"))
            .and_then(Value::as_array)
            .map(|ids| ids.iter().map(|id| ("user.created", serde_json::json!({ "id": id }))).collect())
            .unwrap_or_default(),
        "user.update" => {
            let mut events = vec![("user.updated", data())];
            if status(after).as_deref() == Some("DISABLED") && status(before).as_deref() != Some("DISABLED") {
                events.push(("user.disabled", data()));
            }
            events
        }
        "user.delete" => vec![("user.deleted", data())],
        "invitation.create" => vec![("invitation.created", data())],
        "invitation.accept" => vec![("invitation.accepted", data())],
        "invitation.revoke" => vec![("invitation.revoked", data())],
        "invitation.expire" => vec![("invitation.expired", data())],
        "onboard.create" => vec![("onboard.started", data())],
        "onboard.start" | "onboard.update" | "onboard.complete" => {
            let mut events = Vec::new();
            if completed_steps(after) > completed_steps(before) {
                events.push(("onboard.step_completed", data()));
            }
            if action == "onboard.complete" {
                events.push(("onboard.completed", data()));
            }
            events
        }
        "onboard.fail" => vec![("onboard.failed", data())],
        "app_owner.create" => vec![("app_owner.added", data())],
        "app_owner.delete" => vec![("app_owner.removed", data())],
        _ => Vec::new(),
    }
}

/// How many steps of an onboard's audit form are done (its `steps` are the step states, `done` each).
fn completed_steps(onboard: Option<&Value>) -> usize {
    let Some(Value::Array(states)) = onboard.and_then(|v| v.get("steps")) else { return 0 };
    states.iter().filter(|state| state.get("done").and_then(Value::as_bool) == Some(true)).count()
}

/// A tenant's subscription: where its events go and which. Its signing secret is not here: it is derived
/// from the server's webhook key, the subscription's id and `secret_version`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: Id,
    pub tenant_id: Id,
    pub url: String,
    /// Wire names from [`EVENT_TYPES`], each once, in that order.
    pub event_types: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// Moved on by each rotation, so that the derived secret changes.
    pub secret_version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookState {
    /// Not yet tried.
    Pending,
    /// Tried and failed; another attempt is scheduled.
    Retrying,
    Delivered,
    /// Dead-lettered: it kept failing for longer than the bound.
    Failed,
}

impl WebhookState {
    pub const fn as_str(self) -> &'static str {
        match self {
            WebhookState::Pending => "pending",
            WebhookState::Retrying => "retrying",
            WebhookState::Delivered => "delivered",
            WebhookState::Failed => "failed",
        }
    }

    pub fn of(delivered: bool, failed: bool, attempts_finished: bool) -> WebhookState {
        match (delivered, failed) {
            (true, _) => WebhookState::Delivered,
            (_, true) => WebhookState::Failed,
            _ if attempts_finished => WebhookState::Retrying,
            _ => WebhookState::Pending,
        }
    }
}

/// One event on its way to one subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDelivery {
    pub id: Id,
    pub tenant_id: Id,
    pub subscription_id: Id,
    /// Its place in the subscription's order.
    pub seq: i64,
    /// The `webhook-id`: the same for every subscription the event went to, and for a redelivery.
    pub event_id: Id,
    pub event_type: String,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    /// The HTTP status of the last attempt's answer; None when it got none (refused, timed out).
    pub last_status: Option<i64>,
    pub last_error: String,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub failed_at: Option<Timestamp>,
}

impl WebhookDelivery {
    pub fn state(&self) -> WebhookState {
        WebhookState::of(self.delivered_at.is_some(), self.failed_at.is_some(), self.last_attempt_at.is_some())
    }
}

/// How deliveries are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; each further one doubles, up to `max_delay`.
    pub base: Duration,
    pub max_delay: Duration,
    /// A delivery still failing this long after it was queued is dead-lettered, and the subscription's next
    /// deliveries go ahead.
    pub dead_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
            dead_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempts` (from 1).
    pub fn delay(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 31)).unwrap_or(31);
        self.base.checked_mul(1u32 << doublings).map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }

    /// When a delivery queued at `created_at` whose attempt number `attempts` failed at `now` is tried
    /// again; None dead-letters it, because that would be past `created_at + dead_after`.
    pub fn next_attempt(&self, attempts: i64, created_at: Timestamp, now: Timestamp) -> Option<Timestamp> {
        let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4);
        let at = now.micros().saturating_add(micros(self.delay(attempts)));
        (at <= created_at.micros().saturating_add(micros(self.dead_after))).then(|| Timestamp::from_micros(at))
    }
}

/// Why a webhook may not go to `ip`, or None when it may: loopback, link-local, private (RFC 1918, ULA
/// fc00::/7, CGNAT 100.64/10), unspecified, multicast and broadcast addresses are inside someone's network,
/// not a tenant's receiver on the internet. IPv4-mapped IPv6 addresses are judged as the IPv4 address.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_link_local() {
                Some("a link-local address")
            } else if v4.is_private() {
                Some("a private address (RFC 1918)")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a shared address (100.64.0.0/10)")
            } else if v4.is_unspecified() || a == 0 {
                Some("an unspecified address")
            } else if v4.is_multicast() {
                Some("a multicast address")
            } else if v4.is_broadcast() {
                Some("the broadcast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("an unspecified address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private address (fc00::/7)")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}

/// The subscription's event types as stored: between commas, so that one `LIKE '%,type,%'` finds it.
pub fn stored_event_types(types: &[String]) -> String {
    format!(",{},", types.join(","))
}

/// The event types of their stored form.
pub fn parse_stored_event_types(stored: &str) -> Vec<String> {
    stored.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// A delivery's payload: `{"type", "timestamp", "data"}`.
pub fn payload(event_type: &str, at: Timestamp, data: &Value) -> String {
    serde_json::json!({ "type": event_type, "timestamp": at.to_rfc3339(), "data": data }).to_string()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn changes_raise_their_events() {
        let enabled = json!({"id": "u", "status": "ENABLED"});
        let disabled = json!({"id": "u", "status": "DISABLED"});
        let names = |events: Vec<(&'static str, Value)>| events.into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        assert_eq!(
            names(events_of_change("user.update", Some(&enabled), Some(&disabled))),
            ["user.updated", "user.disabled"]
        );
        assert_eq!(names(events_of_change("user.update", Some(&disabled), Some(&disabled))), ["user.updated"]);
        assert_eq!(names(events_of_change("user.password_change", None, None)), Vec::<&str>::new());
        let imported = json!({"count": 2, "userIds": ["a", "b"]});
        let events = events_of_change("user.import", None, Some(&imported));
        assert_eq!(events, vec![("user.created", json!({"id": "a"})), ("user.created", json!({"id": "b"}))]);
        let before = json!({"status": "created", "steps": [{"key": "terms", "done": false}]});
        let after = json!({"status": "in_progress", "steps": [{"key": "terms", "done": true}]});
        assert_eq!(names(events_of_change("onboard.start", Some(&before), Some(&after))), ["onboard.step_completed"]);
        assert_eq!(names(events_of_change("onboard.complete", Some(&after), Some(&after))), ["onboard.completed"]);
        let owner = json!({"appId": "a"});
        let events = events_of_change("app_owner.delete", Some(&owner), None);
        assert_eq!(events, vec![("app_owner.removed", owner)], "a removal carries the object as it was");
        for (_, action) in [("", "invitation.create"), ("", "invitation.accept"), ("", "invitation.revoke")] {
            assert_eq!(events_of_change(action, None, Some(&json!({}))).len(), 1, "{action}");
        }
    }

    #[test]
    fn addresses_inside_networks_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(forbidden_address(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in ["93.184.216.34", "100.128.0.1", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert_eq!(forbidden_address(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn stored_event_types_round_trip() {
        let types = vec!["user.created".to_string(), "onboard.failed".to_string()];
        assert_eq!(stored_event_types(&types), ",user.created,onboard.failed,");
        assert_eq!(parse_stored_event_types(&stored_event_types(&types)), types);
    }

    proptest! {
        #[test]
        fn retries_grow_and_stop_at_the_bound(attempts in 1i64..200, base_ms in 1u64..10_000, dead_s in 1u64..1_000_000) {
            let policy = RetryPolicy {
                base: Duration::from_millis(base_ms),
                max_delay: Duration::from_secs(3600),
                dead_after: Duration::from_secs(dead_s),
            };
            prop_assert!(policy.delay(attempts + 1) >= policy.delay(attempts));
            prop_assert!(policy.delay(attempts) <= policy.max_delay);
            let created = Timestamp::from_micros(1_000_000_000);
            let now = Timestamp::from_micros(created.micros() + 1_000);
            match policy.next_attempt(attempts, created, now) {
                Some(at) => {
                    prop_assert!(at > now);
                    prop_assert!(at.micros() <= created.micros() + i64::try_from(dead_s).unwrap() * 1_000_000);
                }
                None => prop_assert!(now.micros() + i64::try_from(policy.delay(attempts).as_micros()).unwrap()
                    > created.micros() + i64::try_from(dead_s).unwrap() * 1_000_000),
            }
        }
    }
}
