//! Webhook delivery: the worker that takes deliveries from the webhook outbox (`webhook_deliveries`, written
//! in the transaction of the change that raised them), signs each the Standard Webhooks way and POSTs it.
//!
//! - At least once: a delivery is claimed under a lease, sent, then marked delivered; a node that dies in
//!   between sends it again after the lease, with the same `webhook-id`, which receivers deduplicate on.
//! - In order per subscription: the store hands out only the first pending delivery of each subscription,
//!   so a later event waits while an earlier one is retrying; deliveries of different subscriptions go
//!   out side by side.
//! - Retries wait longer each time (`RetryPolicy`); a delivery still failing `dead_after` after it was
//!   queued is dead-lettered, and its subscription's next deliveries go ahead.
//! - Never inside a network by accident: the URL's host is resolved and checked at every attempt, and the
//!   connection goes to the address checked (so a name that resolves elsewhere a moment later cannot lead
//!   it inside). Redirects are not followed. Only the first bytes of an answer are kept, for the error.
//! - The webhook key never leaves this process: secrets are derived from it when signing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use onramp_core::webhooks::{WebhookKey, resolve_allowed};
use onramp_domain::Timestamp;
use onramp_store::{Store, StoreError, WebhookDelivery};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::rustls;

use crate::config::{Config, JobTimings, WebhookConfig};
use crate::data_files;

/// Deliveries claimed at once (each of a different subscription).
pub const BATCH: u32 = 32;
/// The most of an answer's body kept for a delivery's last error.
const EXCERPT_BYTES: usize = 200;
/// The shortest sleep between two looks when nothing was claimed.
const MIN_IDLE: Duration = Duration::from_millis(50);
/// The name of the key file in the data folder.
pub const KEY_FILE: &str = "webhooks.key";

/// The webhook key: the configured one, else the data folder's key file, made on first start.
pub fn load_key(config: &Config) -> std::io::Result<WebhookKey> {
    if let Some(text) = &config.webhooks.key {
        return Ok(WebhookKey::from_text(text.expose()));
    }
    let path = config.data_dir.join(KEY_FILE);
    if !path.exists() {
        let fresh = WebhookKey::generate_text();
        let temporary = config.data_dir.join(format!(".{KEY_FILE}.tmp"));
        let _ = std::fs::remove_file(&temporary);
        data_files::create_private_file(&temporary)?;
        std::fs::write(&temporary, format!("{fresh}\n"))?;
        // Linking the finished file into place never shows half a key; a process that loses the race to
        // make it reads the winner's.
        if std::fs::hard_link(&temporary, &path).is_ok() {
            tracing::info!(path = %path.display(), "made a webhook key; back it up, and give every node the same");
        }
        let _ = std::fs::remove_file(&temporary);
    }
    let text = std::fs::read_to_string(&path)?;
    let text = text.trim();
    if text.chars().count() < crate::config::MIN_WEBHOOKS_KEY_CHARS {
        return Err(std::io::Error::other(format!("{} holds no usable webhook key", path.display())));
    }
    Ok(WebhookKey::from_text(text))
}

/// What an attempt came to.
struct Outcome {
    status: Option<i64>,
    error: Option<String>,
}

/// Runs the webhook worker until the task is aborted.
pub async fn deliver_webhooks(
    store: Arc<dyn Store>,
    key: WebhookKey,
    wake: Arc<Notify>,
    settings: WebhookConfig,
    timings: JobTimings,
) {
    let lease = settings.timeout + Duration::from_secs(10);
    let tls = tls_connector();
    loop {
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();

        let claimed = match store.claim_webhooks(Timestamp::now(), lease, BATCH).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "cannot claim webhook deliveries");
                Vec::new()
            }
        };
        let full = claimed.len() == BATCH as usize;
        let mut sending = tokio::task::JoinSet::new();
        for delivery in claimed.iter().cloned() {
            let (store, key, settings, tls) = (store.clone(), key.clone(), settings.clone(), tls.clone());
            sending.spawn(async move { deliver(store.as_ref(), &key, &settings, &tls, delivery).await });
        }
        while sending.join_next().await.is_some() {}
        if full {
            continue;
        }
        let now = Timestamp::now();
        let until_due = match store.webhook_next_due().await {
            Ok(Some(due)) => Duration::from_micros(due.micros().saturating_sub(now.micros()).max(0).unsigned_abs()),
            Ok(None) => timings.mail_poll,
            Err(error) => {
                tracing::warn!(%error, "cannot read the webhook deliveries");
                timings.mail_poll
            }
        };
        let sleep = until_due.min(timings.mail_poll).max(if claimed.is_empty() { MIN_IDLE } else { Duration::ZERO });
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = &mut woken => {}
        }
    }
}

/// Sends one claimed delivery and records the outcome.
async fn deliver(
    store: &dyn Store,
    key: &WebhookKey,
    settings: &WebhookConfig,
    tls: &tokio_rustls::TlsConnector,
    delivery: WebhookDelivery,
) {
    let subscription = match store.get_webhook(&delivery.tenant_id, &delivery.subscription_id).await {
        Ok(subscription) => subscription,
        // Deleted meanwhile, with its deliveries.
        Err(StoreError::NotFound) => return,
        Err(error) => {
            tracing::warn!(delivery_id = %delivery.id, %error, "cannot read a webhook's subscription");
            return;
        }
    };
    let timestamp = Timestamp::now().micros() / 1_000_000;
    let message_id = format!("msg_{}", delivery.event_id);
    let signature = key.sign(&subscription.id, subscription.secret_version, &message_id, timestamp, &delivery.payload);
    let attempt = post(settings, tls, &subscription.url, &message_id, timestamp, &signature, &delivery.payload);
    let outcome = match tokio::time::timeout(settings.timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome { status: None, error: Some(format!("no answer within {:?}", settings.timeout)) },
    };
    let now = Timestamp::now();
    let recorded = match outcome.error {
        None => {
            tracing::info!(delivery_id = %delivery.id, event_type = %delivery.event_type, attempts = delivery.attempts, "webhook delivered");
            store.webhook_delivered(&delivery.id, outcome.status.unwrap_or(0), now).await
        }
        Some(error) => {
            let retry_at = settings.retry.next_attempt(delivery.attempts, delivery.created_at, now);
            match retry_at {
                Some(at) => {
                    tracing::warn!(delivery_id = %delivery.id, attempts = delivery.attempts, %error, retry_at = %at, "webhook delivery failed; will retry")
                }
                None => {
                    tracing::error!(delivery_id = %delivery.id, attempts = delivery.attempts, %error, "webhook delivery failed for too long; dead-lettered")
                }
            }
            store.webhook_failed(&delivery.id, outcome.status, &error, now, retry_at).await
        }
    };
    if let Err(error) = recorded {
        // Delivered but not marked: sent again after the lease, a duplicate, never a loss.
        tracing::warn!(delivery_id = %delivery.id, %error, "cannot record a webhook attempt");
    }
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One POST of `body` to `url`: resolved, checked, connected to the checked address.
async fn post(
    settings: &WebhookConfig,
    tls: &tokio_rustls::TlsConnector,
    url: &str,
    message_id: &str,
    timestamp: i64,
    signature: &str,
    body: &str,
) -> Outcome {
    let failed = |error: String| Outcome { status: None, error: Some(error) };
    let Ok(url) = url::Url::parse(url) else { return failed("the subscription's URL does not parse".into()) };
    let addresses = match resolve_allowed(&url, settings.allow_private_addresses).await {
        Ok(addresses) => addresses,
        Err(why) => return failed(format!("refused: {why}")),
    };
    let stream = match connect(&addresses).await {
        Ok(stream) => stream,
        Err(error) => return failed(error),
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let request = request(&url, message_id, timestamp, signature, body);
    let answer = if url.scheme() == "https" {
        let name = match rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string()) {
            Ok(name) => name,
            Err(_) => return failed(format!("{host} is no TLS server name")),
        };
        match tls.connect(name, stream).await {
            Ok(stream) => exchange(stream, request).await,
            Err(error) => return failed(format!("TLS: {error}")),
        }
    } else {
        exchange(stream, request).await
    };
    match answer {
        Ok((status, _)) if (200..300).contains(&status) => Outcome { status: Some(i64::from(status)), error: None },
        Ok((status, excerpt)) => Outcome {
            status: Some(i64::from(status)),
            error: Some(if excerpt.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {excerpt}")
            }),
        },
        Err(error) => failed(error),
    }
}

/// A connection to the first of `addresses` that takes one.
async fn connect(addresses: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = String::from("no address");
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = format!("cannot connect to {address}: {error}"),
        }
    }
    Err(last)
}

fn request(
    url: &url::Url,
    message_id: &str,
    timestamp: i64,
    signature: &str,
    body: &str,
) -> hyper::Request<Full<Bytes>> {
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    hyper::Request::post(target)
        .header(hyper::header::HOST, host)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "onramp-webhooks")
        .header("webhook-id", message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("the request's parts are valid")
}

/// Sends the request on a fresh connection and returns the status and the start of the answer's body.
async fn exchange<S>(stream: S, request: hyper::Request<Full<Bytes>>) -> Result<(u16, String), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"))?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut kept = Vec::new();
        while kept.len() < EXCERPT_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        kept.extend_from_slice(&data[..data.len().min(EXCERPT_BYTES - kept.len())]);
                    }
                }
                _ => break,
            }
        }
        let excerpt: String =
            String::from_utf8_lossy(&kept).chars().filter(|c| !c.is_control()).collect::<String>().trim().to_string();
        Ok((status, excerpt))
    }
    .await;
    driver.abort();
    result
}
