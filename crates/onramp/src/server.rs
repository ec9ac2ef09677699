//! Starting and stopping the server. The server is built from a bound listener and a shutdown future, so
//! that the binary binds its configured address and tests bind port 0, and both stop it cleanly.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use onramp_api::client_addr::TrustedProxies;
use onramp_api::metrics::{self as api_metrics, Metrics};
use onramp_api::paging::{self, PageTokens};
use onramp_api::{AppState, router};
use onramp_core::console::SignInLink;
use onramp_core::keys::DEFAULT_ROTATION;
use onramp_core::search;
use onramp_core::webhooks::WebhookSettings;
use onramp_core::{Core, CoreConfig};
use onramp_store::{Backend, Store, StoreError};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::admin::{self, AdminError, IssuedCredential};
use crate::config::Config;
use crate::data_files;
use crate::mail::{self, MailConfigError, Mailer};
use crate::sweep;
use crate::webhooks;

/// How often a node reloads signing keys (and rotates them when due).
const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("public_url (ONRAMP_PUBLIC_URL) must be an absolute http or https URL, not {0:?}")]
    PublicUrl(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Core(#[from] onramp_core::CoreError),
    #[error("first-start setup: {0}")]
    Bootstrap(#[from] AdminError),
    #[error("{0}")]
    Mail(#[from] MailConfigError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A console sign-in link as printed: after the password is set, sign-in leads on to the console.
pub fn console_link_url(link: &SignInLink) -> String {
    format!("{}?next=%2Fconsole", link.url.expose())
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub public_url: String,
    pub store: Arc<dyn Store>,
    /// The first credential, present only when this start created the default tenant.
    pub bootstrap: Option<IssuedCredential>,
    /// With the first credential: the one-time link where the super-admin sets a console password.
    pub console_link: Option<SignInLink>,
    /// The node's search index (how it started: `snapshot_start`).
    pub search: Arc<search::SearchIndex>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Waits until the server has stopped (its shutdown future resolved and requests drained).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.unwrap_or_else(|join| Err(std::io::Error::other(join)))
    }
}

/// The file of an SQLite database URL; None for PostgreSQL and for SQLite in memory.
fn sqlite_path(config: &Config) -> Result<Option<&Path>, StartError> {
    Ok(match Backend::of_url(&config.database_url)? {
        Backend::Sqlite => config
            .database_url
            .strip_prefix("sqlite:")
            .map(|path| path.split('?').next().unwrap_or(path).trim_start_matches("//"))
            .filter(|path| !path.is_empty() && !path.starts_with(":memory:"))
            .map(Path::new),
        Backend::Postgres => None,
    })
}

/// Opens the database named by the configuration and applies pending migrations. A new SQLite database is
/// created private (`data_files`), with its folder.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    if let Some(database) = sqlite_path(config)? {
        if let Some(parent) = database.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            data_files::create_private_dir(parent)
                .map_err(|source| StartError::DataDir { path: parent.display().to_string(), source })?;
        }
        data_files::create_private_file(database)
            .map_err(|source| StartError::DataDir { path: database.display().to_string(), source })?;
    }
    Ok(onramp_store::open(&config.database_url).await?)
}

/// The public URL: configured, or derived from the address the listener is bound to.
fn public_url(config: &Config, addr: SocketAddr) -> String {
    config.public_url.clone().unwrap_or_else(|| format!("http://{addr}")).trim_end_matches('/').to_string()
}

pub use onramp_core::auth::host_of;

/// Why the public URL cannot be right, when its host is this machine's loopback (or no address at all,
/// `0.0.0.0`) while the listener takes connections from elsewhere: every link onramp emails would point at
/// the reader's own machine. None when the public URL may be fine (a domain name, another address, or a
/// listener that is loopback-only too, as on a developer's machine).
pub fn unreachable_public_url(public_host: &str, listening: SocketAddr) -> Option<String> {
    let host = public_host.trim_matches(['[', ']']);
    let loopback = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost"),
    };
    (loopback && !listening.ip().is_loopback()).then(|| {
        format!(
            "the public URL's host {public_host} is this machine only, but onramp listens on {listening}: every \
             link in its emails (invitations, onboarding) would point at the reader's own machine; set \
             --public-url (ONRAMP_PUBLIC_URL) to the URL people open"
        )
    })
}

/// Where a node keeps the snapshot of its search index: in its data folder, whatever the database.
pub fn search_snapshot_path(config: &Config) -> std::path::PathBuf {
    config.data_dir.join(SEARCH_SNAPSHOT_FILE)
}

/// The file name of the search index snapshot in the data folder.
pub const SEARCH_SNAPSHOT_FILE: &str = "search-index.snapshot";

/// Starts serving on `listener` until `shutdown` resolves.
pub async fn start(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Server, StartError> {
    let addr = listener.local_addr()?;
    let public_url = public_url(config, addr);
    let public_host = host_of(&public_url);
    if let Some(problem) = unreachable_public_url(&public_host, addr) {
        tracing::warn!(public_url = %public_url, listen = %addr, "{problem}");
    }
    let public_origin =
        onramp_api::same_origin::origin_of(&public_url).ok_or_else(|| StartError::PublicUrl(public_url.clone()))?;
    // Checked before the database is touched: a bad mail setting should fail the start, not the first email.
    let mailer = Arc::new(Mailer::from_config(config, &public_host)?);
    // The data folder holds the file transport's mail even when the database is elsewhere.
    data_files::create_private_dir(&config.data_dir)
        .map_err(|source| StartError::DataDir { path: config.data_dir.display().to_string(), source })?;
    let store = open_store(config).await?;
    let webhook_key = webhooks::load_key(config)?;
    data_files::warn_if_loose(&data_files::private_paths(&config.data_dir, sqlite_path(config)?));

    let bootstrap = if store.default_tenant().await?.is_none() {
        let (tenant, issued) = admin::new_tenant("default", &config.admin_email, &public_host)?;
        store.bootstrap(&tenant).await?.then_some(issued)
    } else {
        None
    };

    let stored_secret = store.deployment_value(paging::SECRET_KEY, &PageTokens::generate_secret()).await?;
    let page_tokens = PageTokens::from_stored(&stored_secret)
        .ok_or_else(|| StoreError::Corrupt("the stored page-token secret is malformed".into()))?;
    let core_config = CoreConfig {
        public_url: public_url.clone(),
        limits: config.limits.clone(),
        key_rotation: DEFAULT_ROTATION,
        search_snapshot: Some(search_snapshot_path(config)),
        webhooks: WebhookSettings {
            key: Some(webhook_key.clone()),
            allow_private_addresses: config.webhooks.allow_private_addresses,
        },
    };
    let core = Arc::new(Core::start(store.clone(), core_config).await?);
    let console_link = match &bootstrap {
        Some(issued) => Some(core.console_sign_in_link(&issued.tenant_id, &config.admin_email, &public_url).await?),
        None => None,
    };
    let (keys, search, mail_wake) = (core.keys()?.clone(), core.search()?.clone(), core.mail_wake());
    let (snapshot_search, final_search, server_search) = (search.clone(), search.clone(), search.clone());
    let webhook_wake = core.webhook_wake();
    let state = AppState {
        core,
        public_origin: public_origin.into(),
        page_tokens,
        trusted_proxies: Arc::new(TrustedProxies::new(config.trusted_proxies.clone())),
        metrics: config.metrics_token.as_ref().map(|token| Arc::new(Metrics::new(token.expose()))),
    };
    let metrics = state.metrics.clone();
    let sweep_core = state.core.clone();
    let app = router(state);
    let jobs = config.jobs.clone();
    let webhook_config = config.webhooks.clone();
    let connections = config.connections;
    let job_store = store.clone();
    let task = tokio::spawn(async move {
        let mailer = tokio::spawn(mail::deliver_outbox(job_store.clone(), mailer, mail_wake, jobs.clone()));
        let webhook_worker = tokio::spawn(webhooks::deliver_webhooks(
            job_store.clone(),
            webhook_key,
            webhook_wake,
            webhook_config,
            jobs.clone(),
        ));
        let sweeper = tokio::spawn(sweep::sweep_invitations(sweep_core, jobs.invitation_sweep));
        let refresher = tokio::spawn(async move {
            let mut interval = tokio::time::interval(KEY_REFRESH_INTERVAL);
            interval.tick().await;
            loop {
                interval.tick().await;
                if let Err(error) = keys.refresh().await {
                    tracing::warn!(%error, "signing key refresh failed");
                }
            }
        });
        // Writes through other nodes and the command line reach this node's index through the feed.
        let poller = tokio::spawn(async move {
            let mut interval = tokio::time::interval(search::POLL_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                if let Err(error) = search.catch_up().await {
                    tracing::warn!(%error, "search index catch-up failed");
                }
            }
        });
        // The index's snapshot: once the start-up catch-up is done, then whenever the feed has moved.
        let snapshotter = tokio::spawn(async move {
            let mut interval = tokio::time::interval(jobs.search_snapshot);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                if let Err(error) = snapshot_search.write_snapshot().await {
                    tracing::warn!(%error, "writing the search index snapshot failed");
                }
            }
        });
        let upkeep = metrics.map(|metrics| tokio::spawn(api_metrics::keep_up(metrics)));
        let served = crate::listen::serve(listener, app, connections, shutdown).await;
        if let Some(upkeep) = upkeep {
            upkeep.abort();
        }
        refresher.abort();
        poller.abort();
        snapshotter.abort();
        mailer.abort();
        webhook_worker.abort();
        sweeper.abort();
        // A last snapshot, so that the next start catches up only what other nodes write meanwhile.
        if let Err(error) = final_search.catch_up().await {
            tracing::warn!(%error, "search index catch-up before the last snapshot failed");
        }
        if let Err(error) = final_search.write_snapshot().await {
            tracing::warn!(%error, "writing the search index snapshot at shutdown failed");
        }
        served
    });
    tracing::info!(%addr, backend = store.backend().name(), "onramp listening");
    if !config.trusted_proxies.is_empty() {
        let proxies: Vec<String> = config.trusted_proxies.iter().map(ToString::to_string).collect();
        tracing::info!(proxies = %proxies.join(","), "X-Forwarded-For is believed from these proxies");
    }
    Ok(Server { addr, public_url, store, bootstrap, console_link, search: server_search, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_public_url_is_refused_only_for_a_listener_reachable_from_elsewhere() {
        let everywhere: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let lan: SocketAddr = "192.0.2.10:8080".parse().unwrap();
        for host in ["127.0.0.1", "127.1.2.3", "[::1]", "localhost", "app.localhost", "0.0.0.0"] {
            let problem = unreachable_public_url(host, everywhere).unwrap_or_else(|| panic!("{host}"));
            assert!(problem.contains("--public-url") && problem.contains(host), "{problem}");
            assert!(unreachable_public_url(host, lan).is_some(), "{host} from {lan}");
            assert!(unreachable_public_url(host, loopback).is_none(), "{host} on a loopback listener is fine");
        }
        for host in ["onramp.acme.example", "192.0.2.10", "[2001:db8::1]"] {
            assert!(unreachable_public_url(host, everywhere).is_none(), "{host}");
        }
    }
}
