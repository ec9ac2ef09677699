//! onramp's application layer: [`Core`], one facade with a method per use case, which every surface (the
//! ConductorOne-style API, `/onboards`, the invitee's HTML pages, the command line) calls.
//!
//! The core keeps two invariants by construction, so that no surface has to remember them:
//! - **Search sees every write.** Each write goes through [`Core::write`], which compares the store's
//!   counters of what transactions touched (`onramp_store::writes`) before and after: when users were
//!   written, the node's search index catches up before the use case returns, so the next search on this
//!   node finds them.
//! - **Mail and webhooks go out now.** When a write queued an outbox message or a webhook delivery, its
//!   delivery worker is woken at commit.
//!
//! Authorization is checked here, once, for every surface: each use case takes the [`Principal`] the
//! surface authenticated and checks its permission, `may_grant` and the rule of user changes.

pub mod access;
pub mod account;
pub mod approvals;
pub mod apps;
pub mod auth;
pub mod branding;
pub mod console;
pub mod directories;
pub mod emails;
pub mod error;
pub mod flows;
pub mod groups;
pub mod import;
pub mod invitations;
pub mod invite;
pub mod keys;
pub mod limits;
pub mod onboard_mail;
pub mod onboard_steps;
pub mod onboards;
pub mod operations;
pub mod overview;
pub mod pages;
pub mod password;
pub mod principal;
pub mod reset;
pub mod roles;
pub mod scim;
pub mod search;
pub mod settings;
pub mod sign_in;
pub mod tokens;
pub mod totp;
pub mod users;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use onramp_store::{Store, StoreError};
use tokio::sync::Notify;

pub use crate::error::{Code, CoreError, CoreResult};
use crate::keys::KeyManager;
use crate::limits::{LimitSettings, Limits};
pub use crate::principal::Principal;
use crate::search::SearchIndex;
use crate::webhooks::WebhookSettings;

/// What a serving core is configured with.
pub struct CoreConfig {
    /// onramp's public base URL (`http://127.0.0.1:8080`): the `iss` of its access tokens and the base of
    /// invitation links.
    pub public_url: String,
    pub limits: LimitSettings,
    /// How long a signing key signs before the next one takes over.
    pub key_rotation: Duration,
    /// Where the search index snapshot is read at start and written (see `search`); None: never.
    pub search_snapshot: Option<std::path::PathBuf>,
    /// The webhook key and where webhooks may go.
    pub webhooks: WebhookSettings,
}

/// The application: the store, the node's search index, the signing keys, the limits on guessing and the
/// mail worker's wake-up, behind one method per use case.
pub struct Core {
    store: Arc<dyn Store>,
    /// None in a command-line process, which has no index: the servers' feed polls pick its writes up.
    search: Option<Arc<SearchIndex>>,
    /// None in a command-line process, which issues and verifies no tokens.
    keys: Option<Arc<KeyManager>>,
    limits: Limits,
    public_url: Arc<str>,
    /// The host of the public URL, without port: what client ids and assertion audiences name.
    public_host: Arc<str>,
    /// Woken after a transaction that queued a message in the outbox, so that the delivery worker sends it
    /// now rather than at its next poll.
    mail_wake: Arc<Notify>,
    /// Woken after a transaction that queued a webhook delivery, likewise for the webhook worker.
    webhook_wake: Arc<Notify>,
    webhooks: WebhookSettings,
}

impl Core {
    /// The core of a serving node: loads the signing keys (making the first if there is none) and the
    /// search index from the database.
    pub async fn start(store: Arc<dyn Store>, config: CoreConfig) -> Result<Self, StoreError> {
        let keys = Arc::new(KeyManager::start(store.clone(), config.key_rotation).await?);
        let search = SearchIndex::load(store.clone(), config.search_snapshot).await?;
        Ok(Core {
            store,
            search: Some(search),
            keys: Some(keys),
            limits: Limits::new(config.limits),
            public_host: crate::auth::host_of(&config.public_url).into(),
            public_url: config.public_url.into(),
            mail_wake: Arc::new(Notify::new()),
            webhook_wake: Arc::new(Notify::new()),
            webhooks: config.webhooks,
        })
    }

    /// The core of a command-line process (`onramp import users`): no search index and no keys.
    pub fn offline(store: Arc<dyn Store>) -> Self {
        Core {
            store,
            search: None,
            keys: None,
            limits: Limits::new(LimitSettings::default()),
            public_url: "".into(),
            public_host: "".into(),
            mail_wake: Arc::new(Notify::new()),
            webhook_wake: Arc::new(Notify::new()),
            webhooks: WebhookSettings { key: None, allow_private_addresses: false },
        }
    }

    /// The node's search index. A serving core always has one.
    pub fn search(&self) -> CoreResult<&Arc<SearchIndex>> {
        self.search.as_ref().ok_or_else(|| CoreError::internal("this process has no search index"))
    }

    /// The signing keys. A serving core always has them.
    pub fn keys(&self) -> CoreResult<&Arc<KeyManager>> {
        self.keys.as_ref().ok_or_else(|| CoreError::internal("this process has no signing keys"))
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// onramp's public base URL, the `iss` of its access tokens.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// What the mail delivery worker waits on besides its poll.
    pub fn mail_wake(&self) -> Arc<Notify> {
        self.mail_wake.clone()
    }

    /// What the webhook delivery worker waits on besides its poll.
    pub fn webhook_wake(&self) -> Arc<Notify> {
        self.webhook_wake.clone()
    }

    /// Runs one store write and acts on what it touched, whether it succeeded or not (an import's earlier
    /// batches stay written when a later one fails): catches the search index up when users were written,
    /// wakes the mail worker when a message was queued. Every write of every use case goes through here.
    pub(crate) async fn write<T>(&self, write: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let before = onramp_store::writes::touched();
        let result = write.await;
        let after = onramp_store::writes::touched();
        if let Some(search) = self.search.as_ref().filter(|_| after.users != before.users) {
            search.catch_up_after_write().await;
        }
        if after.outbox != before.outbox {
            self.mail_wake.notify_one();
        }
        if after.webhooks != before.webhooks {
            self.webhook_wake.notify_one();
        }
        result
    }
}
