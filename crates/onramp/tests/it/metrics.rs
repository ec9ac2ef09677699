//! `GET /metrics` (issue #12): who may read it (only with the configured metrics token; not served without
//! one), and what it says after traffic: requests by route template and status (a path no route serves
//! counted as `unmatched`, never by its text), search latency, index size per tenant, change-feed lag, the
//! outbox, invitations by status and the database pools. Every line of the text must parse as the
//! Prometheus text format.
//!
//! The outbox is made to hold a due message by mailing to a port nobody listens on, with a retry an hour
//! away, and then moving the message's next attempt into the past on the test database: the worker, asleep
//! until the retry, leaves it due.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use onramp_domain::{Id, Secret};
use onramp_store::FeedPosition;
use serde_json::{Value, json};

use crate::both_backends;
use crate::directories::create_directory;
use crate::invitations::{invitation_path, invite};
use crate::support::smtp::free_port;
use crate::support::{Backend, TestServer, assert_api_error, read};

const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

/// A server with the metrics token configured, whose mail fails and is retried an hour later.
async fn server_with_metrics(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.metrics_token = Some(Secret::new(TOKEN.to_string()));
        config.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{}", free_port())));
        config.jobs.mail_retry_base = Duration::from_secs(3600);
        config.jobs.mail_poll = Duration::from_secs(3600);
    })
    .await
}

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text format strictly: every line is `# HELP name text`, `# TYPE name kind`, or a sample with
/// a valid name, well-formed labels (escaped values) and a number; anything else fails the test.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut typed = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or_else(|| panic!("HELP without text: {line:?}"));
            assert!(valid_name(name) && !help.is_empty(), "bad HELP line {line:?}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("TYPE without kind: {line:?}"));
            assert!(valid_name(name), "bad TYPE line {line:?}");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "bad TYPE {line:?}");
            assert!(typed.insert(name.to_string(), kind.to_string()).is_none(), "TYPE given twice: {line:?}");
            continue;
        }
        assert!(!line.starts_with('#'), "a comment that is neither HELP nor TYPE: {line:?}");
        samples.push(parse_sample(line));
    }
    for sample in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| sample.name.strip_suffix(suffix).filter(|base| typed.contains_key(*base)))
            .unwrap_or(&sample.name);
        assert!(typed.contains_key(family), "a sample without a TYPE: {}", sample.name);
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("a sample without a value: {line:?}"));
    let name = &line[..name_end];
    assert!(valid_name(name), "bad metric name in {line:?}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let close;
        loop {
            let (start, c) = chars.next().unwrap_or_else(|| panic!("unclosed labels in {line:?}"));
            if c == '}' {
                close = start;
                break;
            }
            let eq = inner[start..].find('=').map(|i| start + i).unwrap_or_else(|| panic!("label without = {line:?}"));
            let key = &inner[start..eq];
            assert!(valid_name(key) && !key.contains(':'), "bad label name {key:?} in {line:?}");
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "label value not quoted in {line:?}");
            let mut value = String::new();
            loop {
                match chars.next().unwrap_or_else(|| panic!("unterminated label value in {line:?}")).1 {
                    '"' => break,
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => panic!("bad escape {other:?} in {line:?}"),
                    },
                    '\n' => panic!("raw newline in {line:?}"),
                    c => value.push(c),
                }
            }
            assert!(labels.insert(key.to_string(), value).is_none(), "label given twice in {line:?}");
            match chars.peek() {
                Some((_, ',')) => {
                    chars.next();
                }
                Some((_, '}')) => {}
                _ => panic!("labels not separated by commas in {line:?}"),
            }
        }
        rest = &inner[close + 1..];
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().unwrap_or_else(|| panic!("a sample without a value: {line:?}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number.parse().unwrap_or_else(|_| panic!("not a number in {line:?}")),
    };
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().unwrap_or_else(|_| panic!("bad timestamp in {line:?}"));
    }
    assert!(fields.next().is_none(), "trailing text in {line:?}");
    Sample { name: name.to_string(), labels, value }
}

/// The value of the one sample named `name` whose labels include `labels`; None if there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v)))
        .collect();
    assert!(matching.len() <= 1, "{name} {labels:?} matches several samples: {matching:?}");
    matching.first().map(|sample| sample.value)
}

async fn scrape(server: &TestServer) -> (String, Vec<Sample>) {
    let response = server.http.get(server.url("/metrics")).bearer_auth(TOKEN).send().await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.expect("the metrics text");
    let samples = parse(&text);
    (text, samples)
}

/// Waits until the first delivery attempt of the invitation's email has failed and been rescheduled.
async fn wait_for_failed_attempt(server: &TestServer, invitation_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let sql = format!("SELECT last_error FROM outbox WHERE subject_id = '{invitation_id}'");
    while server.database.query_text(&sql).await.unwrap_or_default().is_empty() {
        assert!(Instant::now() < deadline, "the delivery attempt did not fail in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn metrics_count_traffic(backend: Backend) {
    let server = server_with_metrics(backend).await;
    let token = server.admin_token().await;
    let tenant = server.bootstrap.tenant_id.to_string();

    let (_, before) = scrape(&server).await;
    assert_eq!(value(&before, "onramp_search_index_users", &[("tenant", &tenant)]), Some(1.0), "the admin alone");
    assert_eq!(value(&before, "onramp_http_requests_total", &[("route", "/api/v1/search/users")]), None);

    // Traffic: a user, two searches, an invitation, and 404s matched and not.
    let user_id = server.create_user(&token, &json!({"email": "grace@example.com", "displayName": "Grace"})).await;
    for query in ["grace", ""] {
        let (status, body) = server.post("/api/v1/search/users", &token, &json!({"query": query})).await;
        assert_eq!(status, 200, "{body}");
    }
    for path in ["/no/such/path", "/secret-scan/.env", &format!("/api/v1/users/{}", Id::new())] {
        assert_eq!(server.get(path, &token).await.0, 404, "{path}");
    }
    let directory = create_directory(&server, &token, "Contractors", Value::Null).await;
    let invitation = invite(&server, &token, &directory, "ada@example.com", Value::Null).await;
    let invitation_id = invitation["id"].as_str().unwrap().to_string();
    wait_for_failed_attempt(&server, &invitation_id).await;
    let moved = server
        .database
        .execute(&format!(
            "UPDATE outbox SET next_attempt_at = 1, created_at = {} WHERE subject_id = '{invitation_id}'",
            onramp_domain::Timestamp::now().micros() - 60_000_000
        ))
        .await;
    assert_eq!(moved, 1);

    let (text, after) = scrape(&server).await;
    let requests = |method: &str, route: &str, status: &str| {
        value(&after, "onramp_http_requests_total", &[("method", method), ("route", route), ("status", status)])
    };
    assert_eq!(requests("POST", "/api/v1/search/users", "200"), Some(2.0), "{text}");
    assert_eq!(requests("GET", "unmatched", "404"), Some(2.0), "paths no route serves share one label");
    assert_eq!(requests("GET", "/api/v1/users/{id}", "404"), Some(1.0), "a matched route is named by its template");
    assert_eq!(requests("POST", "/api/v1/users", "200"), Some(1.0));
    assert_eq!(requests("GET", "/metrics", "200"), Some(1.0), "the first scrape");
    let latency = |suffix: &str, le: Option<&str>| {
        let mut labels = vec![("method", "POST"), ("route", "/api/v1/search/users"), ("status", "200")];
        labels.extend(le.map(|le| ("le", le)));
        value(&after, &format!("onramp_http_request_duration_seconds{suffix}"), &labels)
    };
    assert_eq!(latency("_count", None), Some(2.0));
    assert_eq!(latency("_bucket", Some("+Inf")), Some(2.0));
    assert!(latency("_sum", None).unwrap() > 0.0);
    assert_eq!(value(&after, "onramp_search_duration_seconds_count", &[]), Some(2.0));
    assert_eq!(value(&after, "onramp_search_duration_seconds_bucket", &[("le", "+Inf")]), Some(2.0));
    for sample in after.iter().filter(|s| s.name.ends_with("_bucket")) {
        assert!(sample.labels.contains_key("le"), "a bucket without le: {sample:?}");
    }

    // Gauges read at scrape time.
    assert_eq!(value(&after, "onramp_search_index_users", &[("tenant", &tenant)]), Some(2.0), "admin and Grace");
    assert_eq!(value(&after, "onramp_search_feed_lag_users", &[]), Some(0.0), "the node caught up on its writes");
    // The first search read Grace's view from the database; the second found it cached, and read the admin's.
    assert_eq!(value(&after, "onramp_search_view_cache_hits_total", &[]), Some(1.0), "{text}");
    assert_eq!(value(&after, "onramp_search_view_cache_misses_total", &[]), Some(2.0), "{text}");
    assert!(value(&after, "onramp_search_view_cache_bytes", &[]).unwrap() > 200.0, "two views");
    assert_eq!(value(&after, "onramp_search_feed_lag_seconds", &[]), Some(0.0));
    assert_eq!(value(&after, "onramp_outbox_messages", &[]), Some(1.0), "the undelivered invitation email");
    let age = value(&after, "onramp_outbox_oldest_due_age_seconds", &[]).unwrap();
    assert!((60.0..3600.0).contains(&age), "queued a minute ago: {age}");
    let invitations =
        |samples: &[_], status| value(samples, "onramp_invitations", &[("tenant", &tenant), ("status", status)]);
    assert_eq!(invitations(&after, "pending"), Some(1.0));
    assert_eq!(invitations(&after, "revoked"), Some(0.0));
    let pool = if backend == Backend::Sqlite { "write" } else { "main" };
    let max = value(&after, "onramp_db_pool_max_connections", &[("pool", pool)]).unwrap();
    assert_eq!(max, if backend == Backend::Sqlite { 1.0 } else { 16.0 });
    let open = value(&after, "onramp_db_pool_connections", &[("pool", pool)]).unwrap();
    let idle = value(&after, "onramp_db_pool_idle_connections", &[("pool", pool)]).unwrap();
    assert!(open >= 1.0 && open <= max && idle <= open, "open {open}, idle {idle}, max {max}");

    // Nothing that names a person or a secret.
    for private in ["@", &user_id, &invitation_id, TOKEN, "secret-scan", "no/such"] {
        assert!(!text.contains(private), "/metrics shows {private:?}");
    }

    // Revoking moves the invitation to REVOKED (its pending count back to 0, not left at 1) and cancels
    // its email.
    let revoke = format!("{}/revoke", invitation_path(&directory, &invitation_id));
    assert_eq!(server.post(&revoke, &token, &json!({})).await.0, 200);
    let (_, last) = scrape(&server).await;
    assert_eq!(invitations(&last, "pending"), Some(0.0));
    assert_eq!(invitations(&last, "revoked"), Some(1.0));
    assert_eq!(value(&last, "onramp_outbox_messages", &[]), Some(0.0));
    assert_eq!(value(&last, "onramp_outbox_oldest_due_age_seconds", &[]), Some(0.0));
    assert_eq!(value(&last, "onramp_http_requests_total", &[("route", "/metrics"), ("status", "200")]), Some(2.0));
}
both_backends!(metrics_count_traffic);

/// The lag gauge's query: an index at the start of the feed has every user to apply, one at its end none.
async fn feed_lag_counts_users_behind(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.admin_token().await;
    server.create_user(&token, &json!({"email": "grace@example.com", "displayName": "Grace"})).await;
    assert_eq!(server.store.users_behind(FeedPosition::START).await.unwrap(), 2);
    let feed = server.store.users_changed_after(FeedPosition::START, 10).await.unwrap();
    let (end, _) = feed.last().unwrap();
    assert_eq!(server.store.users_behind(*end).await.unwrap(), 0);
    assert_eq!(server.store.users_behind(feed[0].0).await.unwrap(), 1);
}
both_backends!(feed_lag_counts_users_behind);

/// Without a metrics token `/metrics` is not served; with one, only its bearer may read it (an API access
/// token, even a super-admin's, is not it).
async fn metrics_need_the_token(backend: Backend) {
    let plain = TestServer::start(backend).await;
    let response = read(plain.http.get(plain.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap()).await;
    assert_api_error("no token configured", &response, 404, 5);

    let server = server_with_metrics(backend).await;
    let admin = server.admin_token().await;
    for (case, bearer) in [
        ("no token", None),
        ("wrong token", Some("metrics-token-0123456789abcdef012345678")),
        ("an API token", Some(admin.as_str())),
    ] {
        let mut request = server.http.get(server.url("/metrics"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"metrics\"", "{case}");
        let response = read(response).await;
        assert_api_error(case, &response, 401, 16);
    }
    let response = server.http.get(server.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // The refusals were counted, under the route's template.
    let (_, samples) = scrape(&server).await;
    let refused = value(&samples, "onramp_http_requests_total", &[("route", "/metrics"), ("status", "401")]);
    assert_eq!(refused, Some(3.0));
}
both_backends!(metrics_need_the_token);
