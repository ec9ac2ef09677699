//! The use cases on webhook subscriptions and their deliveries, each authorized here for every surface:
//! reads need `settings:read`, changes `settings:write` (a tenant admin's).
//!
//! A subscription's signing secret is never stored. It is derived when it is needed, as
//! `whsec_` + base64(HMAC-SHA256(webhook key, "onramp-webhook-secret" ‖ subscription id ‖ version)), where
//! the webhook key is the server's (configuration, or a file in the data folder), never in the database;
//! so whoever reads the database holds nothing that signs. The secret is shown once, when the subscription
//! is created and when it is rotated (which moves `secret_version` on).
//!
//! Where a webhook may go is checked twice: here, when a URL is given (every address its host resolves to
//! must be allowed), and by the delivery worker, which resolves again, checks, and connects to the address
//! it checked (`resolve_allowed`), so a name that resolves elsewhere later cannot lead it inside.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use hmac::{Hmac, Mac};
use onramp_domain::webhook::{self, EVENT_TYPES, Subscription, WebhookDelivery};
use onramp_domain::{Id, Permission, TextKind, Timestamp, check_text};
use onramp_store::StoreError;
use sha2::Sha256;

use crate::error::{Code, CoreError, CoreResult};
use crate::{Core, Principal};

/// The longest URL a subscription may have.
pub const MAX_URL_CHARS: usize = 2000;
/// The longest a host name may take to resolve.
pub const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// The server's webhook key, from which every subscription's signing secret is derived. Never printed.
#[derive(Clone)]
pub struct WebhookKey(Arc<[u8; 32]>);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey([redacted])")
    }
}

impl WebhookKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        WebhookKey(Arc::new(bytes))
    }

    /// The key of a configured text (at least 32 characters, say `openssl rand -hex 32`): its SHA-256.
    pub fn from_text(text: &str) -> Self {
        use sha2::Digest;
        WebhookKey::new(Sha256::digest(text.trim().as_bytes()).into())
    }

    /// A new key's text: 256 random bits as 64 hex digits.
    pub fn generate_text() -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The signing secret of a subscription at a version, in the Standard Webhooks form `whsec_<base64>`.
    pub fn secret(&self, subscription_id: &Id, version: i64) -> String {
        let bytes = self.secret_bytes(subscription_id, version);
        format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// The raw signing key of a subscription at a version.
    pub fn secret_bytes(&self, subscription_id: &Id, version: i64) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_slice()).expect("HMAC takes any key length");
        mac.update(b"onramp-webhook-secret");
        mac.update(subscription_id.to_string().as_bytes());
        mac.update(&version.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The Standard Webhooks signature of a message: `v1,` + base64(HMAC-SHA256(secret, "id.timestamp.body")).
    pub fn sign(&self, subscription_id: &Id, version: i64, message_id: &str, timestamp: i64, body: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret_bytes(subscription_id, version)).expect("any key length");
        mac.update(format!("{message_id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// What the core needs for webhooks.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// None in a command-line process, which neither creates subscriptions nor signs.
    pub key: Option<WebhookKey>,
    /// Whether URLs may reach loopback, link-local and private addresses (tests, a private deployment).
    pub allow_private_addresses: bool,
}

/// A subscription as written by its creator or an update: None leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// A subscription with its signing secret, as shown once.
#[derive(Clone, Debug)]
pub struct WithSecret {
    pub subscription: Subscription,
    pub secret: String,
}

/// The addresses `url`'s host resolves to, with the port, when every one of them may be reached; the
/// message (to follow `invalid url: `) otherwise. Loopback, private, link-local and the like are refused
/// unless `allow_private` is set.
pub async fn resolve_allowed(url: &url::Url, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let host = url.host_str().ok_or("must have a host")?;
    let port = url.port_or_known_default().ok_or("must have a port")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port)))
            .await
            .map_err(|_| format!("its host {host} did not resolve within {RESOLVE_TIMEOUT:?}"))?
            .map_err(|_| format!("its host {host} does not resolve"))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(format!("its host {host} does not resolve"));
    }
    if !allow_private {
        for address in &addresses {
            if let Some(reason) = webhook::forbidden_address(address.ip()) {
                return Err(format!(
                    "its host {host} is {reason} ({}), which webhooks may not reach; an operator may allow it \
                     with webhooks_allow_private_addresses",
                    address.ip()
                ));
            }
        }
    }
    Ok(addresses)
}

/// A URL a webhook may go to, parsed; the field error otherwise.
async fn check_url(text: &str, allow_private: bool) -> CoreResult<url::Url> {
    let bad = |why: &str| CoreError::invalid_field("url", why);
    if text.chars().count() > MAX_URL_CHARS {
        return Err(bad(&format!("must be at most {MAX_URL_CHARS} characters")));
    }
    let url = url::Url::parse(text).map_err(|error| bad(&format!("is not an absolute URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    resolve_allowed(&url, allow_private).await.map_err(|why| bad(&why))?;
    Ok(url)
}

/// The event types of a request: each a known one, at least one; returned in [`EVENT_TYPES`] order, once.
fn check_event_types(types: &[String]) -> CoreResult<Vec<String>> {
    for name in types {
        if webhook::event_type(name).is_none() {
            return Err(CoreError::invalid_field(
                "eventTypes",
                format!("{name:?} is not an event type; the types are {}", EVENT_TYPES.join(", ")),
            ));
        }
    }
    let chosen: Vec<String> =
        EVENT_TYPES.iter().filter(|known| types.iter().any(|t| t == *known)).map(|t| t.to_string()).collect();
    if chosen.is_empty() {
        return Err(CoreError::invalid_field("eventTypes", "must name at least one event type"));
    }
    Ok(chosen)
}

fn webhook_error(id: &Id) -> impl FnOnce(StoreError) -> CoreError + '_ {
    move |error| match error {
        StoreError::NotFound => CoreError::not_found(format!("webhook {id}")),
        other => other.into(),
    }
}

impl Core {
    fn webhook_key(&self) -> CoreResult<&WebhookKey> {
        self.webhooks.key.as_ref().ok_or_else(|| CoreError::internal("this process has no webhook key"))
    }

    /// Applies `input` to `subscription`, validating each field given.
    async fn apply_webhook_input(&self, subscription: &mut Subscription, input: WebhookInput) -> CoreResult<()> {
        if let Some(url) = input.url {
            subscription.url = check_url(url.trim(), self.webhooks.allow_private_addresses).await?.to_string();
        }
        if let Some(types) = input.event_types {
            subscription.event_types = check_event_types(&types)?;
        }
        if let Some(description) = input.description {
            check_text(&description, TextKind::OneLine, MAX_DESCRIPTION_CHARS)
                .map_err(|error| CoreError::invalid_field("description", error))?;
            subscription.description = description;
        }
        if let Some(enabled) = input.enabled {
            subscription.enabled = enabled;
        }
        Ok(())
    }

    /// Creates a subscription in the caller's tenant; the answer holds its signing secret, shown only now.
    pub async fn create_webhook(&self, caller: &Principal, input: WebhookInput) -> CoreResult<WithSecret> {
        caller.require(Permission::SettingsWrite)?;
        let key = self.webhook_key()?.clone();
        if input.url.is_none() {
            return Err(CoreError::invalid_field("url", "is required"));
        }
        if input.event_types.is_none() {
            return Err(CoreError::invalid_field("eventTypes", "is required"));
        }
        let now = Timestamp::now();
        let mut subscription = Subscription {
            id: Id::new(),
            tenant_id: caller.tenant_id,
            url: String::new(),
            event_types: Vec::new(),
            description: String::new(),
            enabled: true,
            secret_version: 1,
            created_at: now,
            updated_at: now,
        };
        self.apply_webhook_input(&mut subscription, input).await?;
        self.write(self.store.create_webhook(&caller.actor(), &subscription)).await?;
        let secret = key.secret(&subscription.id, subscription.secret_version);
        Ok(WithSecret { subscription, secret })
    }

    /// The caller's tenant's subscriptions in id order, after `after`.
    pub async fn list_webhooks(
        &self,
        caller: &Principal,
        after: Option<&Id>,
        limit: u32,
    ) -> CoreResult<Vec<Subscription>> {
        caller.require(Permission::SettingsRead)?;
        Ok(self.store.list_webhooks(&caller.tenant_id, after, limit).await?)
    }

    pub async fn get_webhook(&self, caller: &Principal, id: &Id) -> CoreResult<Subscription> {
        caller.require(Permission::SettingsRead)?;
        self.store.get_webhook(&caller.tenant_id, id).await.map_err(webhook_error(id))
    }

    /// Changes the fields `input` gives.
    pub async fn update_webhook(&self, caller: &Principal, id: &Id, input: WebhookInput) -> CoreResult<Subscription> {
        caller.require(Permission::SettingsWrite)?;
        let before = self.store.get_webhook(&caller.tenant_id, id).await.map_err(webhook_error(id))?;
        let mut after = before.clone();
        self.apply_webhook_input(&mut after, input).await?;
        if after == before {
            return Ok(before);
        }
        after.updated_at = Timestamp::now().max(Timestamp::from_micros(before.updated_at.micros() + 1));
        self.write(self.store.update_webhook(&caller.actor(), &before, &after)).await.map_err(|error| match error {
            StoreError::Conflict { .. } => {
                CoreError::new(Code::Aborted, "the webhook changed while this update ran; read it again and retry")
            }
            other => webhook_error(id)(other),
        })?;
        Ok(after)
    }

    /// Deletes a subscription and its deliveries.
    pub async fn delete_webhook(&self, caller: &Principal, id: &Id) -> CoreResult<()> {
        caller.require(Permission::SettingsWrite)?;
        self.write(self.store.delete_webhook(&caller.actor(), &caller.tenant_id, id)).await.map_err(webhook_error(id))
    }

    /// Gives a subscription a new signing secret, shown only now; the old one signs nothing more.
    pub async fn rotate_webhook_secret(&self, caller: &Principal, id: &Id) -> CoreResult<WithSecret> {
        caller.require(Permission::SettingsWrite)?;
        let key = self.webhook_key()?.clone();
        let before = self.store.get_webhook(&caller.tenant_id, id).await.map_err(webhook_error(id))?;
        let after = Subscription {
            secret_version: before.secret_version + 1,
            updated_at: Timestamp::now().max(Timestamp::from_micros(before.updated_at.micros() + 1)),
            ..before.clone()
        };
        self.write(self.store.update_webhook(&caller.actor(), &before, &after)).await.map_err(|error| match error {
            StoreError::Conflict { .. } => CoreError::new(Code::Aborted, "the webhook changed meanwhile; try again"),
            other => webhook_error(id)(other),
        })?;
        let secret = key.secret(&after.id, after.secret_version);
        Ok(WithSecret { subscription: after, secret })
    }

    /// A subscription's deliveries, newest first, those before `before_seq`.
    pub async fn list_webhook_deliveries(
        &self,
        caller: &Principal,
        id: &Id,
        before_seq: Option<i64>,
        limit: u32,
    ) -> CoreResult<Vec<WebhookDelivery>> {
        caller.require(Permission::SettingsRead)?;
        self.store.get_webhook(&caller.tenant_id, id).await.map_err(webhook_error(id))?;
        Ok(self.store.list_webhook_deliveries(&caller.tenant_id, id, before_seq, limit).await?)
    }

    /// Queues a delivery's event again for its subscription, after everything queued before.
    pub async fn redeliver_webhook(
        &self,
        caller: &Principal,
        id: &Id,
        delivery_id: &Id,
    ) -> CoreResult<WebhookDelivery> {
        caller.require(Permission::SettingsWrite)?;
        self.store.get_webhook(&caller.tenant_id, id).await.map_err(webhook_error(id))?;
        self.write(self.store.redeliver_webhook(&caller.actor(), &caller.tenant_id, id, delivery_id)).await.map_err(
            |error| match error {
                StoreError::NotFound => CoreError::not_found(format!("delivery {delivery_id} of webhook {id}")),
                other => other.into(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_differ_by_subscription_and_version_and_sign_as_standard_webhooks_says() {
        let key = WebhookKey::new([7; 32]);
        let id = Id::new();
        let first = key.secret(&id, 1);
        assert!(first.starts_with("whsec_"), "{first}");
        assert_ne!(first, key.secret(&id, 2));
        assert_ne!(first, key.secret(&Id::new(), 1));
        assert_eq!(first, WebhookKey::new([7; 32]).secret(&id, 1), "the same key derives the same secret");
        let signature = key.sign(&id, 1, "msg_1", 1_700_000_000, "{}");
        assert!(signature.starts_with("v1,"), "{signature}");
        assert_ne!(signature, key.sign(&id, 1, "msg_1", 1_700_000_001, "{}"));
        assert_eq!(format!("{key:?}"), "WebhookKey([redacted])");
    }

    #[tokio::test]
    async fn urls_inside_networks_are_refused_unless_allowed() {
        for url in ["http://127.0.0.1:9/x", "http://[::1]/", "http://10.0.0.1/", "http://169.254.169.254/latest"] {
            let error = check_url(url, false).await.unwrap_err();
            assert!(error.message.starts_with("invalid url: its host"), "{url}: {}", error.message);
            assert!(check_url(url, true).await.is_ok(), "{url} with the setting");
        }
        for url in ["ftp://example.com/", "not a url", "http://user:pw@93.184.216.34/"] {
            assert!(check_url(url, true).await.is_err(), "{url}");
        }
        assert!(check_url("https://93.184.216.34/hook", false).await.is_ok());
    }
}
