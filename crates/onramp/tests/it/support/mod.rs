//! The integration-test harness: the real server, started in-process on port 0 against a fresh database,
//! SQLite in a temporary folder or a PostgreSQL database created for the test and dropped after it.
//!
//! [`Node`] is a second server on the same database, as another node of a scaled-out deployment would be;
//! `jws` makes and tampers with tokens, and `process` runs the real binary.
//!
//! `both_backends!` turns one `async fn(Backend)` into a test per backend. Without
//! `ONRAMP_TEST_POSTGRES_URL` the PostgreSQL tests are ignored, with the reason in `cargo test`'s summary, so
//! that `cargo test` works on a laptop; CI exports the variable.

#![allow(dead_code)]

pub mod c1_client;
pub mod jws;
pub mod mail;
pub mod process;
pub mod python;
pub mod smtp;
pub mod web;
pub mod webhook_receiver;

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use onramp::admin::{self, IssuedCredential};
use onramp::config::{Config, ConnectionLimits, JobTimings, LogFormat, WebhookConfig};
use onramp::server::{self, Server};
use onramp_domain::webhook::RetryPolicy;
use onramp_domain::{BuiltinRole, Id};
use onramp_store::Store;
use serde_json::Value;
use sqlx::Connection;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const POSTGRES_ENV: &str = "ONRAMP_TEST_POSTGRES_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend: `both_backends!(name);` expects `async fn name(backend: Backend)`.
/// `both_backends!(name, needs python_sdk)` (or `needs smtp`, or `needs browser`) also needs that part of the
/// test machine.
///
/// Whether a part is there is decided when the tests are built (`build.rs`): a test that cannot run is
/// ignored with the reason, so the summary `cargo test` prints says what was not tested.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        $crate::both_backends!(@tests $name, #[cfg_attr(any(), ignore)],
            #[cfg_attr(not(onramp_test_postgres), ignore = "ONRAMP_TEST_POSTGRES_URL is not set: PostgreSQL untested")]);
    };
    ($name:ident, needs python_sdk) => {
        $crate::both_backends!(@tests $name,
            #[cfg_attr(not(onramp_test_python_sdk), ignore = "no conductorone-sdk in ONRAMP_TEST_PYTHON: SDK untested")],
            #[cfg_attr(not(all(onramp_test_postgres, onramp_test_python_sdk)),
                ignore = "needs ONRAMP_TEST_POSTGRES_URL and conductorone-sdk in ONRAMP_TEST_PYTHON")]);
    };
    ($name:ident, needs smtp) => {
        $crate::both_backends!(@tests $name,
            #[cfg_attr(not(onramp_test_smtp), ignore = "no aiosmtpd in ONRAMP_TEST_PYTHON: SMTP delivery untested")],
            #[cfg_attr(not(all(onramp_test_postgres, onramp_test_smtp)),
                ignore = "needs ONRAMP_TEST_POSTGRES_URL and aiosmtpd in ONRAMP_TEST_PYTHON")]);
    };
    ($name:ident, needs webhooks) => {
        $crate::both_backends!(@tests $name,
            #[cfg_attr(not(onramp_test_webhooks), ignore = "no standardwebhooks in ONRAMP_TEST_PYTHON: webhook delivery untested")],
            #[cfg_attr(not(all(onramp_test_postgres, onramp_test_webhooks)),
                ignore = "needs ONRAMP_TEST_POSTGRES_URL and standardwebhooks in ONRAMP_TEST_PYTHON")]);
    };
    ($name:ident, needs browser) => {
        $crate::both_backends!(@tests $name,
            #[cfg_attr(not(onramp_test_browser), ignore = "no node, /usr/bin/chromium or web-tests/node_modules: pages untested in a browser")],
            #[cfg_attr(not(all(onramp_test_postgres, onramp_test_browser)),
                ignore = "needs ONRAMP_TEST_POSTGRES_URL, node, /usr/bin/chromium and web-tests/node_modules")]);
    };
    (@tests $name:ident, #[$sqlite:meta], #[$postgres:meta]) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[$sqlite]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[$postgres]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    };
}

/// The PostgreSQL server to make test databases on, when `ONRAMP_TEST_POSTGRES_URL` names one.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|url| !url.is_empty())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub dir: TempDir,
    /// (server URL, database name) of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary folder");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite:{}", dir.path().join("onramp.db").display());
                TestDatabase { url, dir, postgres: None }
            }
            Backend::Postgres => {
                let server = std::env::var(POSTGRES_ENV).expect("postgres test without ONRAMP_TEST_POSTGRES_URL");
                let name = format!("onramp_test_{}", Id::new());
                let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
                let url = with_database(&server, &name);
                TestDatabase { url, dir, postgres: Some((server, name)) }
            }
        }
    }
}

/// The URL of another database on the same server.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = server_url.split_once('?').map_or((server_url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

impl TestDatabase {
    /// Runs one SQL statement on the test database behind the server's back (to move an expiry into the
    /// past, say) and returns the number of rows it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        if self.postgres.is_some() {
            let mut connection = sqlx::PgConnection::connect(&self.url).await.expect("connect to the test database");
            sqlx::query(sql).execute(&mut connection).await.unwrap_or_else(|e| panic!("{sql}: {e}")).rows_affected()
        } else {
            let mut connection =
                sqlx::SqliteConnection::connect(&self.url).await.expect("connect to the test database");
            sqlx::query(sql).execute(&mut connection).await.unwrap_or_else(|e| panic!("{sql}: {e}")).rows_affected()
        }
    }

    /// The first column of the first row of a query whose first column is text, or None for no row or NULL.
    pub async fn query_text(&self, sql: &str) -> Option<String> {
        if self.postgres.is_some() {
            let mut connection = sqlx::PgConnection::connect(&self.url).await.expect("connect to the test database");
            let row: Option<Option<String>> =
                sqlx::query_scalar(sql).fetch_optional(&mut connection).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            row.flatten()
        } else {
            let mut connection =
                sqlx::SqliteConnection::connect(&self.url).await.expect("connect to the test database");
            let row: Option<Option<String>> =
                sqlx::query_scalar(sql).fetch_optional(&mut connection).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            row.flatten()
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            // Drop runs outside async; a short-lived runtime on its own thread does the one statement.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async {
                    let mut admin = sqlx::PgConnection::connect(&server).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
                    Ok::<_, sqlx::Error>(())
                })?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("warning: could not drop a test database");
            }
        }
    }
}

/// A running server with its database, a client, and the bootstrap credential.
pub struct TestServer {
    pub base_url: String,
    pub http: reqwest::Client,
    pub store: std::sync::Arc<dyn Store>,
    pub bootstrap: IssuedCredential,
    /// The first start's console sign-in link for the super-admin, as printed.
    pub console_link: String,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<Server>,
    // Dropped last: the server must stop before its database goes.
    pub database: TestDatabase,
}

pub fn test_config(database: &TestDatabase) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: PathBuf::from(database.dir.path()),
        database_url: database.url.clone(),
        public_url: None,
        log_format: LogFormat::Text,
        admin_email: "admin@example.com".into(),
        smtp_url: None,
        mail_from: None,
        connections: ConnectionLimits::default(),
        trusted_proxies: Vec::new(),
        metrics_token: None,
        // Short, so that tests see retries and sweeps within a few seconds.
        jobs: JobTimings {
            mail_retry_base: Duration::from_millis(200),
            mail_poll: Duration::from_millis(500),
            invitation_sweep: Duration::from_millis(300),
            ..JobTimings::default()
        },
        limits: Default::default(),
        // Quick retries; private addresses stay refused unless a test allows them for its receiver.
        webhooks: WebhookConfig {
            retry: RetryPolicy {
                base: Duration::from_millis(200),
                max_delay: Duration::from_secs(2),
                dead_after: Duration::from_secs(3600),
            },
            timeout: Duration::from_secs(5),
            ..WebhookConfig::default()
        },
    }
}

/// Starts a server on `config` with a port-0 listener, and returns it with the sender that stops it.
async fn launch(config: &Config) -> (Server, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = server::start(config, listener, async {
        let _ = stopped.await;
    })
    .await
    .expect("server starts");
    (server, shutdown)
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |_| {}).await
    }

    /// Starts a server on [`test_config`] as `adjust` changes it (an SMTP server for mail, say).
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let database = TestDatabase::create(backend).await;
        let mut config = test_config(&database);
        adjust(&mut config);
        let (server, shutdown) = launch(&config).await;
        let bootstrap = server.bootstrap.clone().expect("a fresh database is bootstrapped");
        let console_link = server::console_link_url(server.console_link.as_ref().expect("a first start's link"));
        TestServer {
            base_url: format!("http://{}", server.addr),
            http: reqwest::Client::new(),
            store: server.store.clone(),
            bootstrap,
            console_link,
            config,
            shutdown: Some(shutdown),
            server: Some(server),
            database,
        }
    }

    /// Stops the server and waits for it to finish, keeping the database.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.wait().await.expect("server stops cleanly");
        }
    }

    /// Stops the server and starts it again on the same configuration and database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let (server, shutdown) = launch(&self.config).await;
        assert!(server.bootstrap.is_none(), "a restart finds the database bootstrapped");
        self.base_url = format!("http://{}", server.addr);
        self.store = server.store.clone();
        self.shutdown = Some(shutdown);
        self.server = Some(server);
    }

    /// How the running server's search index started.
    pub fn search_start(&self) -> onramp_core::search::SnapshotStart {
        self.server.as_ref().expect("a running server").search.snapshot_start().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Posts a token request form and returns (status, JSON body).
    pub async fn token_request(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.post(self.url("/auth/v1/token")).form(form).send().await.expect("token request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("token response is JSON"))
    }

    /// An access token for a client id and secret, by the plain grant.
    pub async fn token_for(&self, client_id: &str, secret: &str) -> String {
        let form = [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
        let (status, body) = self.token_request(&form).await;
        assert_eq!(status, 200, "token request failed: {body}");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    /// An access token for the bootstrap super-admin.
    pub async fn admin_token(&self) -> String {
        self.token_for(&self.bootstrap.client_id, self.bootstrap.client_secret.expose()).await
    }

    /// A new credential in the default tenant for a user with these roles (what `onramp credential create`
    /// does), and its access token.
    pub async fn credential_with_roles(&self, email: &str, roles: &[BuiltinRole]) -> (IssuedCredential, String) {
        let issued =
            admin::create_credential(self.store.as_ref(), self.bootstrap.tenant_id, email, roles, "test", "127.0.0.1")
                .await
                .expect("credential created");
        let token = self.token_for(&issued.client_id, issued.client_secret.expose()).await;
        (issued, token)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).bearer_auth(token).send().await.expect("GET");
        read(response).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).bearer_auth(token).json(body).send().await.expect("POST");
        read(response).await
    }

    pub async fn post_raw(&self, path: &str, token: &str, body: &'static str) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        read(response).await
    }
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, body)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Another node of a scaled-out deployment: a second server in this process on the database of a running
/// [`TestServer`], with its own port-0 listener. It borrows the database rather than owning it, so the
/// borrow checker makes the database (and so the first server, which owns it) outlive this node.
pub struct Node<'db> {
    pub base_url: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    /// Set only if this node found the database empty, which never happens beside a running TestServer.
    pub bootstrap: Option<IssuedCredential>,
    shutdown: Option<oneshot::Sender<()>>,
    _server: Server,
    _database: PhantomData<&'db TestDatabase>,
}

impl<'db> Node<'db> {
    /// Starts a node on `database`. `public_url` is what a load balancer in front of the nodes would be
    /// configured as (it is the access tokens' issuer); None lets the node derive it from its own address.
    pub async fn start(database: &'db TestDatabase, public_url: Option<String>) -> Node<'db> {
        let config = Config { public_url, ..test_config(database) };
        let (server, shutdown) = launch(&config).await;
        Node {
            base_url: format!("http://{}", server.addr),
            http: reqwest::Client::new(),
            store: server.store.clone(),
            bootstrap: server.bootstrap.clone(),
            shutdown: Some(shutdown),
            _server: server,
            _database: PhantomData,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.base_url)).bearer_auth(token).send().await.expect("GET");
        read(response).await
    }
}

impl Drop for Node<'_> {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Checks a refusal in the API's error shape, `{"code": <gRPC code>, "message": "...", "details": [...]}`,
/// with the HTTP status the code maps to. `case` names the request in the failure message.
#[track_caller]
pub fn assert_api_error(case: &str, (status, body): &(u16, Value), want_status: u16, want_code: i64) {
    assert_eq!(*status, want_status, "{case}: status; body {body}");
    assert_eq!(body["code"], want_code, "{case}: code; body {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{case}: the message must be a non-empty string; body {body}");
    assert!(body["details"].is_array(), "{case}: details must be a list; body {body}");
}

// Helpers of the user, snapshot and SDK tests.

impl TestServer {
    /// A DELETE with the `{}` body the ConductorOne SDKs send.
    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        let request = self.http.delete(self.url(path)).bearer_auth(token).json(&serde_json::json!({}));
        read(request.send().await.expect("DELETE")).await
    }

    /// Creates a user with `POST /api/v1/users` and returns its id; any status but 200 fails the test.
    pub async fn create_user(&self, token: &str, body: &Value) -> String {
        let (status, response) = self.post("/api/v1/users", token, body).await;
        assert_eq!(status, 200, "create user {body}: {response}");
        response["userView"]["user"]["id"].as_str().expect("the created user has an id").to_string()
    }

    /// A second tenant with its own super-admin credential, and that credential's access token.
    pub async fn other_tenant(&self, name: &str) -> (IssuedCredential, String) {
        let (tenant, issued) =
            admin::new_tenant(name, &format!("boss@{name}.example"), "127.0.0.1").expect("a new tenant");
        self.store.create_tenant(&tenant).await.expect("the tenant is stored");
        let token = self.token_for(&issued.client_id, issued.client_secret.expose()).await;
        (issued, token)
    }

    /// Every page of a GET list endpoint (`path` without query), following `nextPageToken` to the end;
    /// returns the pages' `list` arrays in order.
    pub async fn all_pages(&self, path: &str, token: &str, page_size: u32) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut page_token = String::new();
        loop {
            let (status, body) =
                self.get(&format!("{path}?page_size={page_size}&page_token={page_token}"), token).await;
            assert_eq!(status, 200, "GET {path} page {}: {body}", pages.len() + 1);
            pages.push(body["list"].as_array().cloned().unwrap_or_default());
            page_token = body["nextPageToken"].as_str().unwrap_or_default().to_string();
            if page_token.is_empty() {
                return pages;
            }
            assert!(pages.len() < 10_000, "GET {path} never reached its last page");
        }
    }
}
