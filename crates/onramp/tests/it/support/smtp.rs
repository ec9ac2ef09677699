//! An SMTP server for the mail tests: `tests/python/smtp_sink.py` (aiosmtpd) as a child process that keeps
//! every message it receives as a file, read back here with the envelope and the parsed message.
//!
//! The interpreter is `ONRAMP_TEST_PYTHON` or `python3`, with `aiosmtpd` installed (`.ci/run` installs it);
//! tests that use the sink are declared `both_backends!(name, needs smtp)`, so that without it they are
//! ignored, with the reason, rather than run. The child is killed when the sink is dropped, and it exits by
//! itself when its standard input closes, so no test leaves it behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::mail::{self, Mail};

/// What the sink prints once it accepts connections.
const READY: &str = "smtp sink listening on 127.0.0.1:";
/// The longest the sink may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn python() -> String {
    std::env::var("ONRAMP_TEST_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

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
    folder: TempDir,
    child: Child,
    /// Held open: the sink exits when it closes.
    _stdin: ChildStdin,
}

impl SmtpSink {
    /// Starts the sink on `port` (0: any free port) and waits until it listens.
    pub async fn start(port: u16) -> SmtpSink {
        let folder = tempfile::tempdir().expect("temporary folder");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(port.to_string())
            .arg(folder.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("start the SMTP sink with {}: {error}", python()));
        let stdin = child.stdin.take().expect("the sink's stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("the sink's stdout")).lines();
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(port) = line.strip_prefix(READY) {
                    return port.trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await;
        let Ok(Some(port)) = ready else {
            let _ = child.start_kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = tokio::time::timeout(Duration::from_secs(5), pipe.read_to_string(&mut stderr)).await;
            }
            panic!("the SMTP sink did not start on port {port}: {stderr}");
        };
        SmtpSink { port, folder, child, _stdin: stdin }
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

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
