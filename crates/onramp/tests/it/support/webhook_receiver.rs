//! A webhook receiver for the webhook tests: `tests/python/webhook_receiver.py` as a child process that
//! verifies each delivery's signature with the `standardwebhooks` library and keeps the ones that verify as
//! files, read back here.
//!
//! It runs as a [`PythonChild`], whose interpreter needs `standardwebhooks` (`.ci/run` installs it); tests
//! that use it are declared `both_backends!(name, needs webhooks)`. Its folder belongs to the test, so a
//! receiver stopped and started again on the same port keeps counting in it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::python::PythonChild;

const READY: &str = "webhook receiver listening on 127.0.0.1:";

/// One delivery the receiver verified and kept.
#[derive(Clone, Debug)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// The verified payload: `{"type", "timestamp", "data"}`.
    pub payload: Value,
}

impl Received {
    pub fn event_type(&self) -> &str {
        self.payload["type"].as_str().unwrap_or_default()
    }
}

/// The running receiver.
pub struct Receiver {
    pub port: u16,
    child: PythonChild,
}

impl Receiver {
    /// Starts the receiver on `port` (0: any free port), keeping what it receives in `folder`.
    pub async fn start(port: u16, folder: &Path) -> Receiver {
        let child = PythonChild::start("webhook_receiver.py", port, folder, READY).await;
        Receiver { port: child.port, child }
    }

    /// The URL to subscribe.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/onramp?source=test", self.port)
    }

    /// Stops the receiver: its port refuses connections from now on.
    pub async fn stop(self) {
        self.child.stop().await;
    }
}

/// Where a test's receiver keeps what it gets, with the secret it verifies with.
pub struct Inbox {
    pub folder: tempfile::TempDir,
}

impl Inbox {
    pub fn new() -> Inbox {
        Inbox { folder: tempfile::tempdir().expect("temporary folder") }
    }

    pub fn path(&self) -> &Path {
        self.folder.path()
    }

    /// The secret the receiver verifies with from its next request on.
    pub fn set_secret(&self, secret: &str) {
        std::fs::write(self.path().join("secret"), secret).expect("write the secret");
    }

    /// Makes every answer wait `seconds` first (0: no wait).
    pub fn set_slow(&self, seconds: f64) {
        let path = self.path().join("slow");
        if seconds > 0.0 {
            std::fs::write(path, seconds.to_string()).expect("write slow");
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Makes every answer `status` with a short body, without looking at the request (None: answer as
    /// usual again).
    pub fn set_failing(&self, status: Option<u16>) {
        let path = self.path().join("fail");
        match status {
            Some(status) => std::fs::write(path, status.to_string()).expect("write fail"),
            None => {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// When each request answered by [`Inbox::set_failing`] came, in seconds since the epoch, in order.
    pub fn failures(&self) -> Vec<f64> {
        let text = std::fs::read_to_string(self.path().join("failures")).unwrap_or_default();
        text.lines().filter_map(|line| line.trim().parse().ok()).collect()
    }

    /// How many deliveries failed verification.
    pub fn rejected(&self) -> usize {
        std::fs::read_to_string(self.path().join("rejected")).map_or(0, |text| text.trim().parse().unwrap_or(0))
    }

    /// Every delivery verified so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.path())
            .expect("the receiver's folder")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let record: Value =
                    serde_json::from_str(&std::fs::read_to_string(path).expect("a record")).expect("JSON");
                Received { id: record["webhookId"].as_str().unwrap().to_string(), payload: record["payload"].clone() }
            })
            .collect()
    }

    /// Waits until `count` deliveries have been verified (or fails after `within`); returns them all.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            let types: Vec<String> = received.iter().map(|r| r.event_type().to_string()).collect();
            assert!(
                Instant::now() < deadline,
                "{count} webhooks expected within {within:?}, {} came ({} rejected): {types:?}",
                received.len(),
                self.rejected()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
