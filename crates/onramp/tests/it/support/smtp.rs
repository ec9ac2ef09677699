//! An SMTP server for the mail tests: `tests/python/smtp_sink.py` (aiosmtpd) as a child process that keeps
//! every message it receives as a file, read back here with the envelope and the parsed message.
//!
//! It runs as a [`PythonChild`], whose interpreter needs `aiosmtpd` (`.ci/run` installs it); tests that use
//! the sink are declared `both_backends!(name, needs smtp)`, so that without it they are ignored, with the
//! reason, rather than run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::mail::{self, Mail};
use super::python::PythonChild;

/// What the sink prints once it accepts connections.
const READY: &str = "smtp sink listening on 127.0.0.1:";

/// A TCP port on 127.0.0.1 that was free a moment ago (bound, read, released), for a server that must be
/// configured before the sink on that port exists.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address").port()
}

/// One message the sink received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The envelope: MAIL FROM and RCPT TO, as the client sent them.
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The message as received, parsed.
    pub mail: Mail,
}

/// The running sink.
pub struct SmtpSink {
    pub port: u16,
    /// Before the folder, so that the sink stops before its folder goes.
    _child: PythonChild,
    folder: TempDir,
}

impl SmtpSink {
    /// Starts the sink on `port` (0: any free port) and waits until it listens.
    pub async fn start(port: u16) -> SmtpSink {
        let folder = tempfile::tempdir().expect("temporary folder");
        let child = PythonChild::start("smtp_sink.py", port, folder.path(), READY).await;
        SmtpSink { port: child.port, folder, _child: child }
    }

    /// The URL to configure onramp with.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .expect("the sink's folder")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("a received message");
                let record: Value = serde_json::from_str(&text).expect("the sink writes JSON");
                let strings = |value: &Value| -> Vec<String> {
                    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
                };
                Received {
                    mail_from: record["mailFrom"].as_str().unwrap_or_default().to_string(),
                    rcpt_tos: strings(&record["rcptTos"]),
                    mail: mail::parse(record["data"].as_str().unwrap_or_default()),
                }
            })
            .collect()
    }

    /// Waits until at least `count` messages have arrived and returns them all; panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "waited {timeout:?} for {count} message(s) at the SMTP sink; {} arrived",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
