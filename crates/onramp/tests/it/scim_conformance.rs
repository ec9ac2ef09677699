//! The public SCIM conformance suite, `scim2-tester` (PyPI), against the real server: every check it makes
//! of `/scim/v2` with a connection's token. Any failing check (ERROR or CRITICAL) fails the test. Its report
//! is printed (`cargo test -p onramp --test it scim_conformance -- --nocapture`).

use std::process::Command;

use onramp_domain::BuiltinRole;

use crate::scim::scim_token;
use crate::support::{Backend, TestServer};

fn python() -> String {
    std::env::var("ONRAMP_TEST_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

async fn scim2_tester_passes_every_check(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = scim_token(&server, BuiltinRole::Admin).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/scim_conformance.py");
    let base = server.url("/scim/v2");
    let output = tokio::task::spawn_blocking(move || Command::new(python()).args([script, &base, &token]).output())
        .await
        .expect("the runner")
        .expect("python runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "scim2-tester did not finish: {}", String::from_utf8_lossy(&output.stderr));
    let failing: Vec<&str> =
        report.lines().filter(|line| line.starts_with("ERROR ") || line.starts_with("CRITICAL ")).collect();
    assert!(failing.is_empty(), "scim2-tester checks that fail: {failing:#?}\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onramp_test_scim2_tester), ignore = "no scim2-tester in ONRAMP_TEST_PYTHON: SCIM conformance untested")]
async fn scim2_tester_on_sqlite() {
    scim2_tester_passes_every_check(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(onramp_test_postgres, onramp_test_scim2_tester)),
    ignore = "needs ONRAMP_TEST_POSTGRES_URL and scim2-tester in ONRAMP_TEST_PYTHON"
)]
async fn scim2_tester_on_postgres() {
    scim2_tester_passes_every_check(Backend::Postgres).await
}
