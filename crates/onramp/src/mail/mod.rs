//! Mail delivery: the worker that takes messages from the outbox (written in the transaction of the change
//! that causes them) and sends them through the configured transport, SMTP or `.eml` files in the data
//! folder, retrying failures with exponential backoff.
//!
//! Delivery is at least once: a message is claimed under a lease (so two workers, on one node or several,
//! do not send it at the same time), sent, then marked sent. A node that dies between sending and marking
//! sends it again after the lease; the Message-ID, made of the outbox id, shows the copy for what it is.
//! Logs name a message by its id and its recipient's domain only; the body, which may carry an invitation's
//! secret link, is never logged.

mod smtp_url;
mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_domain::Timestamp;
use onramp_domain::directory::next_attempt;
use onramp_store::{OutboxMessage, Store};
use tokio::sync::Notify;

use crate::config::{Config, JobTimings};

pub use smtp_url::{Security, SmtpUrl};
pub use transport::{MailConfigError, Mailer, SendError, message_id, sender};

/// How long a claim keeps a message from other workers. A batch that runs long leaves its tail to a later
/// claim rather than send a message whose lease may have run out (and which another worker may be sending).
pub const LEASE: Duration = Duration::from_secs(120);
/// Messages claimed at once.
pub const BATCH: u32 = 20;
/// The shortest sleep between two looks at the outbox when nothing was claimed, so that a message that is
/// due but held by another node's claim does not make the worker spin.
const MIN_IDLE: Duration = Duration::from_millis(50);

impl Mailer {
    /// The mailer the configuration asks for: SMTP when `smtp_url` is set, else files in
    /// `<data_dir>/mail`. A bad URL or sender fails here, at start, rather than at the first message.
    pub fn from_config(config: &Config, public_host: &str) -> Result<Mailer, MailConfigError> {
        let from = sender(config.mail_from.as_deref(), public_host)?;
        match &config.smtp_url {
            Some(url) => Mailer::smtp(url.expose(), public_host, from),
            None => Ok(Mailer::files(config.data_dir.join("mail"), from)),
        }
    }
}

/// The domain of an address, which is all of it that logs show.
fn domain_of(recipient: &str) -> &str {
    recipient.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// Runs the delivery worker until the task is aborted: claims due messages, sends each, records the
/// outcome, then sleeps until the next message is due, `timings.mail_poll` passes (messages queued through
/// other nodes), or `wake` is notified (a message queued through this node).
pub async fn deliver_outbox(store: Arc<dyn Store>, mailer: Arc<Mailer>, wake: Arc<Notify>, timings: JobTimings) {
    tracing::info!(transport = %mailer.describe(), "mail delivery started");
    loop {
        // Listening starts before the claim, so that a wake-up during the round is not lost.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();

        let claimed = match store.claim_outbox(Timestamp::now(), LEASE, BATCH).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "cannot claim messages from the outbox");
                Vec::new()
            }
        };
        let full = claimed.len() == BATCH as usize;
        let claimed_at = Instant::now();
        for message in &claimed {
            // A message whose lease could run out while it is sent is left to a later claim.
            if claimed_at.elapsed() + transport::SEND_TIMEOUT >= LEASE {
                break;
            }
            deliver(store.as_ref(), &mailer, message, timings.mail_retry_base).await;
        }
        if full {
            continue;
        }

        let now = Timestamp::now();
        let until_due = match store.outbox_next_due().await {
            Ok(Some(due)) => Duration::from_micros(due.micros().saturating_sub(now.micros()).max(0).unsigned_abs()),
            Ok(None) => timings.mail_poll,
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox");
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

/// Sends one claimed message and records the outcome.
async fn deliver(store: &dyn Store, mailer: &Mailer, message: &OutboxMessage, retry_base: Duration) {
    let domain = domain_of(&message.recipient);
    match mailer.send(message).await {
        Ok(()) => {
            tracing::info!(message_id = %message.id, kind = %message.kind, domain, attempts = message.attempts, "mail sent");
            if let Err(error) = store.outbox_sent(&message.id, Timestamp::now()).await {
                // The message will be sent again after its lease: a duplicate, never a loss.
                tracing::warn!(message_id = %message.id, %error, "mail sent but not marked sent");
            }
        }
        Err(failure) => {
            // The recipient's address may appear in a server's reply; logs keep only its domain.
            let reason = redact(&failure.reason, &message.recipient);
            let retry_at = next_attempt(failure.permanent, message.attempts, retry_base, Timestamp::now());
            match retry_at {
                Some(at) => tracing::warn!(
                    message_id = %message.id, domain, attempts = message.attempts, error = %reason,
                    retry_at = %at, "mail delivery failed; will retry"
                ),
                None => tracing::error!(
                    message_id = %message.id, domain, attempts = message.attempts, error = %reason,
                    permanent = failure.permanent, "mail delivery failed; giving up"
                ),
            }
            if let Err(error) = store.outbox_failed(&message.id, &reason, retry_at).await {
                tracing::warn!(message_id = %message.id, %error, "cannot record a failed mail delivery");
            }
        }
    }
}

/// `text` with every occurrence of `address` (ignoring ASCII case) replaced by `[recipient]`.
fn redact(text: &str, address: &str) -> String {
    if address.is_empty() {
        return text.to_string();
    }
    let (lower, needle) = (text.to_ascii_lowercase(), address.to_ascii_lowercase());
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&needle) {
        out.push_str(&text[rest..at]);
        out.push_str("[recipient]");
        rest = at + needle.len();
    }
    out.push_str(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use onramp_domain::Id;

    use super::*;

    #[test]
    fn failures_are_logged_without_the_recipient() {
        let reason = "SMTP: permanent error (550): 5.1.1 <Ada@Example.com>: Recipient address rejected";
        assert_eq!(
            redact(reason, "ada@example.com"),
            "SMTP: permanent error (550): 5.1.1 <[recipient]>: Recipient address rejected"
        );
        assert_eq!(domain_of("ada@example.com"), "example.com");
    }

    fn message(body: &str) -> OutboxMessage {
        let mut message = OutboxMessage::new(
            Id::new(),
            "invitation",
            Id::new(),
            "ada@example.com",
            "You are invited to Acme — join",
            body.to_string(),
        );
        message.created_at = Timestamp::from_unix_seconds(1_700_000_000);
        message
    }

    /// The headers of a raw message, unfolded, as (lowercase name, value); and the raw body.
    fn parse(raw: &str) -> (Vec<(String, String)>, String) {
        let (head, body) = raw.split_once("\r\n\r\n").expect("a blank line ends the headers");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                headers.last_mut().expect("a folded line continues a header").1.push_str(line);
            } else {
                let (name, value) = line.split_once(':').expect("a header line has a colon");
                headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        (headers, body.to_string())
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        let mut values = headers.iter().filter(|(n, _)| n == name);
        let value = values.next().unwrap_or_else(|| panic!("no {name} header in {headers:?}")).1.as_str();
        assert!(values.next().is_none(), "one {name} header");
        value
    }

    #[tokio::test]
    async fn the_file_transport_writes_one_complete_message_per_outbox_id() {
        let dir = tempfile::tempdir().unwrap();
        let mail_dir = dir.path().join("mail");
        let from = sender(None, "onramp.acme.example").unwrap();
        let mailer = Mailer::files(mail_dir.clone(), from);
        let link = format!("https://onramp.acme.example/invite/{}", "A".repeat(43));
        let long_line = format!("Accept here, before it expires in seven days: {link}");
        assert!(long_line.len() > 76, "longer than quoted-printable would leave unbroken");
        let sent = message(&format!("Hello Ada,\n\n{long_line}\n"));
        mailer.send(&sent).await.unwrap();

        let names: Vec<String> = std::fs::read_dir(&mail_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [format!("{}.eml", sent.id)], "one file, no temporary left behind");
        let raw = std::fs::read_to_string(mail_dir.join(&names[0])).unwrap();
        let (headers, body) = parse(&raw);
        assert_eq!(header(&headers, "from"), "onramp <noreply@onramp.acme.example>");
        assert_eq!(header(&headers, "to"), "ada@example.com");
        assert_eq!(header(&headers, "message-id"), format!("<{}@onramp>", sent.id));
        assert_eq!(header(&headers, "date"), "Tue, 14 Nov 2023 22:13:20 +0000");
        assert_eq!(header(&headers, "content-type"), "text/plain; charset=utf-8");
        assert_eq!(header(&headers, "content-transfer-encoding"), "7bit");
        assert_eq!(header(&headers, "mime-version"), "1.0");
        assert_eq!(
            header(&headers, "subject"),
            "You are invited to Acme =?utf-8?b?4oCU?= join",
            "a non-ASCII subject is encoded"
        );
        assert!(body.contains(&format!("\r\n{long_line}\r\n")), "the link is unbroken: {body}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(mail_dir.join(&names[0])).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only onramp's user reads mail files");
        }

        // Sending again (a retry after a lost `sent` mark) replaces the file rather than adding one.
        mailer.send(&sent).await.unwrap();
        assert_eq!(std::fs::read_dir(&mail_dir).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn bodies_that_are_not_ascii_are_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::files(dir.path().to_path_buf(), sender(Some("HR <hr@acme.example>"), "x").unwrap());
        let sent = message("Bonjour José\n");
        mailer.send(&sent).await.unwrap();
        let raw = std::fs::read_to_string(dir.path().join(format!("{}.eml", sent.id))).unwrap();
        let (headers, body) = parse(&raw);
        assert_eq!(header(&headers, "from"), "HR <hr@acme.example>");
        assert_eq!(header(&headers, "content-transfer-encoding"), "quoted-printable");
        assert_eq!(body.trim_end(), "Bonjour Jos=C3=A9");
    }

    #[tokio::test]
    async fn a_message_with_html_is_multipart_alternative_text_first() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::files(dir.path().to_path_buf(), sender(None, "onramp.acme.example").unwrap());
        let sent = message("Hello Ada,\n").with_html("<p>Hello Ada,</p>".to_string());
        mailer.send(&sent).await.unwrap();
        let raw = std::fs::read_to_string(dir.path().join(format!("{}.eml", sent.id))).unwrap();
        let (headers, body) = parse(&raw);
        assert!(header(&headers, "content-type").starts_with("multipart/alternative;"), "{raw}");
        let text = body.find("Content-Type: text/plain; charset=utf-8").expect("a text part");
        let html = body.find("Content-Type: text/html; charset=utf-8").expect("an HTML part");
        assert!(text < html, "the text part first, so that readers prefer the HTML: {raw}");
        assert!(body.contains("Hello Ada,") && body.contains("<p>Hello Ada,</p>"), "{raw}");
    }

    #[tokio::test]
    async fn an_address_mail_cannot_go_to_is_a_permanent_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::files(dir.path().to_path_buf(), sender(None, "127.0.0.1").unwrap());
        let mut bad = message("x");
        bad.recipient = "not an address".into();
        let error = mailer.send(&bad).await.unwrap_err();
        assert!(error.permanent, "{error:?}");
    }

    #[test]
    fn the_default_sender_is_noreply_at_the_public_host() {
        assert_eq!(sender(None, "onramp.acme.example").unwrap().to_string(), "onramp <noreply@onramp.acme.example>");
        assert_eq!(sender(None, "127.0.0.1").unwrap().to_string(), "onramp <noreply@localhost>", "not an IP's");
        assert_eq!(sender(None, "::1").unwrap().to_string(), "onramp <noreply@localhost>");
        for host in ["onramp.acme.example", "127.0.0.1", "::1", "localhost"] {
            let mailer = Mailer::files("unused".into(), sender(None, host).unwrap());
            assert!(mailer.build(&message("x")).is_ok(), "a message from the default sender of {host} builds");
        }
        let error = sender(Some("not a mailbox"), "x").unwrap_err().to_string();
        assert!(error.contains("mail_from (ONRAMP_MAIL_FROM)"), "{error}");
    }

    #[test]
    fn a_bad_smtp_url_fails_at_start_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            smtp_url: Some(onramp_domain::Secret::new("smtp://mailer:hunter2@mail.acme.example?tls=yes".into())),
            ..test_config(dir.path())
        };
        let error = Mailer::from_config(&config, "onramp.acme.example").err().expect("refused").to_string();
        assert!(error.starts_with("smtp_url (ONRAMP_SMTP_URL) is not usable: tls=yes"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");

        let config = Config { smtp_url: None, ..test_config(dir.path()) };
        let mailer = Mailer::from_config(&config, "onramp.acme.example").unwrap();
        assert_eq!(mailer.describe(), format!("files in {}", dir.path().join("mail").display()));
    }

    fn test_config(dir: &std::path::Path) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.to_path_buf(),
            database_url: "sqlite::memory:".into(),
            public_url: None,
            log_format: crate::config::LogFormat::Text,
            admin_email: "admin@example.com".into(),
            smtp_url: None,
            mail_from: None,
            connections: Default::default(),
            trusted_proxies: Vec::new(),
            metrics_token: None,
            jobs: JobTimings::default(),
            webhooks: Default::default(),
            limits: Default::default(),
        }
    }
}
