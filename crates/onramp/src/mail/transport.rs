//! Sending one outbox message: building it as an RFC 5322 message and handing it to the configured
//! transport, SMTP or files.
//!
//! Nothing here logs or returns a message's body: an invitation's body carries its secret link.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lettre::address::Envelope;
use lettre::message::header::{self, ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onramp_store::OutboxMessage;

use super::smtp_url::SmtpUrl;

/// The longest one SMTP command may wait for the server.
const SMTP_COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest the whole delivery of one message may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// SMTP replies that refuse this recipient or message for good: no such mailbox (550, 551), a mailbox name
/// not allowed (553), a domain that takes no mail (556). Other 5xx replies (authentication, a refused
/// connection, a full mailbox) may be a configuration or passing problem, so they are retried.
const PERMANENT_REJECTIONS: [u16; 4] = [550, 551, 553, 556];

/// Why a start-up mail setting was refused.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("smtp_url (ONRAMP_SMTP_URL) is not usable: {0}")]
    SmtpUrl(String),
    #[error("mail_from (ONRAMP_MAIL_FROM) {0:?} is not a mailbox such as `onramp <noreply@example.com>`: {1}")]
    From(String, String),
}

/// A failed delivery. `reason` names the failure (an SMTP reply, an I/O error), never the body.
#[derive(Debug)]
pub struct SendError {
    /// The recipient or message is refused for good: retrying cannot help.
    pub permanent: bool,
    pub reason: String,
}

impl SendError {
    fn transient(reason: impl Into<String>) -> Self {
        SendError { permanent: false, reason: reason.into() }
    }
}

/// Where messages go.
enum Transport {
    /// One `<outbox id>.eml` per message in this folder.
    Files(PathBuf),
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        url: SmtpUrl,
    },
}

/// Sends outbox messages from one sender through one transport.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// The file transport: messages become `.eml` files in `dir`, which is created on the first one.
    pub fn files(dir: PathBuf, from: Mailbox) -> Mailer {
        Mailer { from, transport: Transport::Files(dir) }
    }

    /// The SMTP transport for `smtp_url` (see [`SmtpUrl`]); `hello_host` is the name onramp gives itself in
    /// EHLO (the public URL's host). Nothing connects until the first message.
    pub fn smtp(smtp_url: &str, hello_host: &str, from: Mailbox) -> Result<Mailer, MailConfigError> {
        let url = SmtpUrl::parse(smtp_url).map_err(MailConfigError::SmtpUrl)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.clone())
            .port(url.port)
            .tls(url.tls().map_err(MailConfigError::SmtpUrl)?)
            .timeout(Some(SMTP_COMMAND_TIMEOUT))
            .hello_name(client_id(hello_host));
        if let Some(credentials) = url.lettre_credentials() {
            builder = builder.credentials(credentials);
        }
        Ok(Mailer { from, transport: Transport::Smtp { transport: Box::new(builder.build()), url } })
    }

    /// Where mail goes, for the log: a folder, or the SMTP URL without its password.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Files(dir) => format!("files in {}", dir.display()),
            Transport::Smtp { url, .. } => url.describe(),
        }
    }

    /// Delivers one message, within [`SEND_TIMEOUT`].
    pub async fn send(&self, message: &OutboxMessage) -> Result<(), SendError> {
        let email = self.build(message)?;
        let sending = async {
            match &self.transport {
                Transport::Files(dir) => write_file(dir, message, email).await,
                Transport::Smtp { transport, .. } => transport.send(email).await.map(drop).map_err(|error| {
                    let code = error.status().map(u16::from);
                    SendError {
                        permanent: code.is_some_and(|code| PERMANENT_REJECTIONS.contains(&code)),
                        reason: format!("SMTP: {error}"),
                    }
                }),
            }
        };
        tokio::time::timeout(SEND_TIMEOUT, sending)
            .await
            .unwrap_or_else(|_| Err(SendError::transient(format!("no answer within {} s", SEND_TIMEOUT.as_secs()))))
    }

    /// The RFC 5322 message: From the sender, To the recipient, the subject, a text/plain UTF-8 body (and,
    /// when the message has one, its HTML part beside it as multipart/alternative), the
    /// Date the message was queued and a Message-ID made of the outbox id, so that a message delivered twice
    /// (at least once means that can happen) is recognisably the same message.
    pub fn build(&self, message: &OutboxMessage) -> Result<Message, SendError> {
        let to: Address = message.recipient.parse().map_err(|error| SendError {
            permanent: true,
            reason: format!("the recipient is not an address mail can be sent to: {error}"),
        })?;
        let queued = SystemTime::UNIX_EPOCH + Duration::from_micros(message.created_at.micros().max(0).unsigned_abs());
        // The envelope is exactly the outbox's recipient, rather than lettre's reading of the headers.
        let envelope = Envelope::new(Some(self.from.email.clone()), vec![to.clone()])
            .map_err(|error| SendError { permanent: true, reason: format!("cannot address the message: {error}") })?;
        let builder = Message::builder()
            .envelope(envelope)
            .message_id(Some(message_id(message)))
            .date(queued)
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(message.subject.clone())
            .header(header::MIME_VERSION_1_0);
        let built = if message.html_body.is_empty() {
            builder.header(ContentType::TEXT_PLAIN).body(text_body(&message.body))
        } else {
            // Both parts of the same template model; a reader shows the last one it can (the HTML).
            let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text_body(&message.body));
            let html = SinglePart::builder().header(ContentType::TEXT_HTML).body(Body::new(message.html_body.clone()));
            builder.multipart(MultiPart::alternative().singlepart(text).singlepart(html))
        };
        built.map_err(|error| SendError { permanent: true, reason: format!("cannot build the message: {error}") })
    }
}

/// `<{outbox id}@onramp>`.
pub fn message_id(message: &OutboxMessage) -> String {
    format!("<{}@onramp>", message.id)
}

/// The sender: `configured` if given, else `onramp <noreply@{public host}>` when the public URL's host is a
/// domain name, or `onramp <noreply@localhost>` when it is an IP address (an address such as
/// `noreply@127.0.0.1` is no domain's, and mail servers and readers treat it as junk) or cannot stand in an
/// address. lettre reads the From header back when it builds a message, so the sender must be one its
/// parser accepts.
pub fn sender(configured: Option<&str>, public_host: &str) -> Result<Mailbox, MailConfigError> {
    let parse = |text: &str| text.trim().parse::<Mailbox>().map_err(|error| error.to_string());
    let fallback = || {
        parse("onramp <noreply@localhost>")
            .map_err(|error| MailConfigError::From("onramp <noreply@localhost>".into(), error))
    };
    match configured {
        Some(from) => parse(from).map_err(|error| MailConfigError::From(from.to_string(), error)),
        None if public_host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() => fallback(),
        None => parse(&format!("onramp <noreply@{public_host}>")).or_else(|_| fallback()),
    }
}

/// The name onramp gives itself in EHLO.
fn client_id(host: &str) -> ClientId {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ClientId::Ipv4(ip),
        Ok(IpAddr::V6(ip)) => ClientId::Ipv6(ip),
        Err(_) if !host.is_empty() => ClientId::Domain(host.to_string()),
        Err(_) => ClientId::default(),
    }
}

/// The body as 7bit text when it is ASCII with lines of at most 998 octets (RFC 5322's limit), so that
/// the file and the message on the wire read as written, links unbroken; otherwise lettre's choice of
/// quoted-printable or base64.
fn text_body(text: &str) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n");
    let plain_ascii =
        crlf.bytes().all(|byte| byte.is_ascii() && byte != 0) && crlf.split("\r\n").all(|line| line.len() <= 998);
    if plain_ascii {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_string())
    }
}

/// Writes the message as `<dir>/<outbox id>.eml`: first under a hidden temporary name, then renamed, so
/// that a reader never sees half a message. A message written again (a retry after a lost `sent` mark)
/// replaces the same file. Only the path is logged.
async fn write_file(dir: &Path, message: &OutboxMessage, email: Message) -> Result<(), SendError> {
    let dir = dir.to_path_buf();
    let name = format!("{}.eml", message.id);
    let temporary = format!(".{}.{}.tmp", message.id, std::process::id());
    let raw = email.formatted();
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&dir)?;
        let temporary = dir.join(temporary);
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The body may hold a secret link: readable by onramp's user only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary)?;
        file.write_all(&raw)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        Ok(path)
    })
    .await
    .map_err(|error| SendError::transient(format!("mail file writer: {error}")))?;
    match written {
        Ok(path) => {
            tracing::info!(message_id = %message.id, path = %path.display(), "mail written to a file");
            Ok(())
        }
        Err(error) => Err(SendError::transient(format!("cannot write the mail file: {error}"))),
    }
}
