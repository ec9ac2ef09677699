//! The start-up warning about a public URL that only this machine can open: `onramp serve` listening on
//! every address with a loopback public URL says so on standard error (every emailed link would point at
//! the reader's own machine); listening on loopback with the same URL, as a developer does, says nothing.

use std::time::{Duration, Instant};

use crate::both_backends;
use crate::data_files::without_colours;
use crate::support::process::{Serve, database_args};
use crate::support::{Backend, TestDatabase};

/// The warning's words (`server::unreachable_public_url`).
const WARNING: &str = "is this machine only, but onramp listens on";

async fn a_loopback_public_url_is_warned_about_when_listening_elsewhere(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let mut args = database_args(&database, backend);
    args.extend(["--public-url".to_string(), "http://127.0.0.1:8080".to_string()]);

    // Every address: the warning, naming the URL's host, the listener and the setting to change.
    let everywhere = Serve::start_on("0.0.0.0:0", &args, database.dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let stderr = without_colours(&everywhere.stderr());
        if let Some(line) = stderr.lines().find(|line| line.contains(" WARN ") && line.contains(WARNING)) {
            break line.to_string();
        }
        assert!(Instant::now() < deadline, "no warning about the public URL on standard error:\n{stderr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(line.contains("127.0.0.1") && line.contains("0.0.0.0:") && line.contains("--public-url"), "{line}");
    drop(everywhere);

    // Loopback only: nothing to warn about. The server is up (its listening line was read), and the start-up
    // warnings come before that line, so none is still to come.
    let local = Serve::start(&args, database.dir.path()).await;
    let response = reqwest::get(format!("{}/healthz", local.base_url())).await.expect("healthz");
    assert_eq!(response.status(), 200);
    let stderr = without_colours(&local.stderr());
    assert!(!stderr.contains(WARNING), "no warning on a loopback listener:\n{stderr}");
}
both_backends!(a_loopback_public_url_is_warned_about_when_listening_elsewhere);
