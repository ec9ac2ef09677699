//! The real `onramp` binary: first start prints a super-admin credential once, SIGTERM stops it cleanly, a
//! restart keeps the credential, and the `credential` commands make, list and revoke credentials that the
//! running server honours.

use serde_json::Value;

use crate::both_backends;
use crate::support::process::{self, Serve, database_args};
use crate::support::{Backend, TestDatabase, read};

const READ_ONLY_ADMIN_ROLE_ID: &str = "000000000000000000000003";

/// The value after `label` on the first line of `text` that has it, e.g. `client id:` in a notice.
fn value_after(text: &str, label: &str) -> String {
    let line = text.lines().find(|line| line.contains(label)).unwrap_or_else(|| panic!("no {label:?} in:\n{text}"));
    line.split_once(label).unwrap().1.trim().to_string()
}

/// Posts a plain-secret grant to a server started from the binary.
async fn token_request(base_url: &str, client_id: &str, secret: &str) -> (u16, Value) {
    let form = [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
    let response = reqwest::Client::new().post(format!("{base_url}/auth/v1/token")).form(&form).send().await;
    read(response.expect("token request")).await
}

/// A token for the credential, then `GET /api/v1/auth/introspect` with it.
async fn introspect_as(base_url: &str, client_id: &str, secret: &str) -> Value {
    let (status, body) = token_request(base_url, client_id, secret).await;
    assert_eq!(status, 200, "token for {client_id}: {body}");
    let token = body["access_token"].as_str().expect("access_token");
    let response = reqwest::Client::new().get(format!("{base_url}/api/v1/auth/introspect")).bearer_auth(token);
    let (status, me) = read(response.send().await.expect("introspect")).await;
    assert_eq!(status, 200, "introspect as {client_id}: {me}");
    me
}

/// Stops a server with SIGTERM and checks that it shut down gracefully.
async fn stop(server: Serve) {
    // A client that keeps its connection open, as the SDKs do, must not hold up the shutdown.
    let keep_alive = reqwest::Client::new();
    let health = keep_alive.get(format!("{}/healthz", server.base_url())).send().await.expect("GET /healthz");
    assert_eq!(health.status(), 200);
    health.bytes().await.expect("health body");
    let stderr = server.stderr();
    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status:?}; stderr:\n{stderr}");
    drop(keep_alive);
}

/// Starts the binary on a fresh database, checks the first-start notice, stops it, and returns the printed
/// client id and secret.
async fn first_start(database: &TestDatabase, backend: Backend) -> (String, String) {
    let server = Serve::start(&database_args(database, backend), database.dir.path()).await;
    let stdout = server.stdout();
    let client_id = value_after(&stdout, "client id:");
    let secret = value_after(&stdout, "client secret:");
    assert!(secret.starts_with("secret-token:conductorone.com:v1:"), "{stdout}");
    let curl = stdout.lines().find(|line| line.trim_start().starts_with("curl ")).expect("a curl line");
    assert!(curl.contains(&format!("{}/auth/v1/token", server.base_url())), "curl names this server: {curl}");

    let me = introspect_as(&server.base_url(), &client_id, &secret).await;
    assert_eq!(me["roles"], serde_json::json!(["000000000000000000000001"]), "{me}");
    stop(server).await;
    (client_id, secret)
}

async fn first_start_prints_the_credential_once(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (client_id, secret) = first_start(&database, backend).await;

    let again = Serve::start(&database_args(&database, backend), database.dir.path()).await;
    let stdout = again.stdout();
    assert!(!stdout.contains("client secret"), "a restart must not print a secret:\n{stdout}");
    let me = introspect_as(&again.base_url(), &client_id, &secret).await;
    assert_eq!(me["roles"], serde_json::json!(["000000000000000000000001"]), "{me}");
    stop(again).await;
}
both_backends!(first_start_prints_the_credential_once);

async fn credential_commands(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let workdir = database.dir.path();
    let db_args = database_args(&database, backend);
    let with_db = |args: &[&'static str]| -> Vec<String> {
        args.iter().map(|arg| arg.to_string()).chain(db_args.iter().cloned()).collect()
    };
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let finished = process::run(&args, workdir).await;
        let shown = format!("`onramp {}`:\nstdout:\n{}\nstderr:\n{}", args.join(" "), finished.stdout, finished.stderr);
        assert!(finished.status.success(), "{} failed: {shown}", finished.status);
        finished.stdout
    };
    first_start(&database, backend).await;

    // With the server stopped, the command line writes to the database directly.
    let created =
        run(with_db(&["credential", "create", "--email", "ops@example.com", "--role", "read-only-admin"])).await;
    let credential_id = value_after(&created, "Created credential").split_whitespace().next().unwrap().to_string();
    let client_id = value_after(&created, "client id:");
    let secret = value_after(&created, "client secret:");
    assert!(secret.starts_with("secret-token:conductorone.com:v1:"), "{created}");

    let listed = run(with_db(&["credential", "list"])).await;
    let row = listed.lines().find(|line| line.contains(&credential_id)).unwrap_or_else(|| panic!("{listed}"));
    assert!(row.contains(&client_id) && row.contains("active") && row.contains("read-only-admin"), "{row}");

    let server = Serve::start(&db_args, workdir).await;
    let me = introspect_as(&server.base_url(), &client_id, &secret).await;
    assert_eq!(me["roles"], serde_json::json!([READ_ONLY_ADMIN_ROLE_ID]), "{me}");

    // Revoked from the command line while the server runs, the credential gets no more tokens.
    run(with_db(&["credential", "revoke"]).into_iter().chain([credential_id.clone()]).collect()).await;
    let (status, body) = token_request(&server.base_url(), &client_id, &secret).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "after revoke: {body}");
    let listed = run(with_db(&["credential", "list"])).await;
    let row = listed.lines().find(|line| line.contains(&credential_id)).unwrap_or_else(|| panic!("{listed}"));
    assert!(row.contains("revoked"), "{row}");
    stop(server).await;
}
both_backends!(credential_commands);

async fn an_unsupported_database_url_is_refused(backend: Backend) {
    // The backend does not matter to this refusal; it runs under both names so that every test does.
    let _ = backend;
    let workdir = tempfile::tempdir().expect("temporary folder");
    let data_dir = workdir.path().display().to_string();
    let args = ["serve", "--listen", "127.0.0.1:0", "--data-dir", &data_dir, "--database-url", "mysql://x"];
    let finished = process::run(&args, workdir.path()).await;
    assert!(!finished.status.success(), "onramp must refuse mysql://; stdout:\n{}", finished.stdout);
    assert!(finished.stderr.contains("unsupported database URL"), "stderr:\n{}", finished.stderr);
    assert!(!finished.stdout.contains("listening"), "stdout:\n{}", finished.stdout);
}
both_backends!(an_unsupported_database_url_is_refused);
