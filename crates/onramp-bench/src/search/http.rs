//! The HTTP phase of `onramp-bench search`: the users imported into a fresh SQLite database, the real server
//! started on it in this process (its own runtime, its index loaded at start as at any start), and
//! `POST /api/v1/search/users` sent with the queries of every set, in turn, over `--connections` keep-alive
//! connections for `--seconds` from a load generator on a thread and runtime of its own; and, for scale,
//! `GET /healthz` (a trivial JSON route) the same way for the same time, on the same server in the same run.
//! The two take turns a second at a time ([`SLICE`]), so that whatever else the machine does during the run
//! weighs on both alike, and their ratio holds even on a busy machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::HeaderValue;
use onramp::admin;
use tokio::sync::oneshot;

use super::Options;
use super::figures::{Http, Latencies};
use super::queries::{FILTERS, Sets};
use crate::http_client::Connection;
use crate::server_process::SeededServer;
use crate::{Error, Result};

const SEARCH: &str = "/api/v1/search/users";
const JSON: &str = "application/json";
/// How long search and `/healthz` each load the server in one turn.
const SLICE: Duration = Duration::from_secs(1);

/// The bodies of all sets, interleaved (one of each set in turn), with the set each came from.
pub(super) fn interleave(sets: &Sets) -> Vec<(usize, Bytes)> {
    let longest = sets.sets.iter().map(|(_, set)| set.len()).max().unwrap_or(0);
    let mut bodies = Vec::new();
    for i in 0..longest {
        for (s, (_, set)) in sets.sets.iter().enumerate() {
            if let Some(search) = set.get(i) {
                bodies.push((s, Bytes::from(search.json())));
            }
        }
    }
    bodies
}

/// Runs the HTTP phase on its own thread (the server gets its own runtime, the load generator another).
pub(super) async fn http(options: &Options, dir: PathBuf, bodies: Vec<(usize, Bytes)>) -> Result<Http> {
    let (count, seed, seconds, connections) = (options.count, options.seed, options.seconds, options.connections);
    println!(
        "\n== HTTP: POST /api/v1/search/users, SQLite, {connections} keep-alive connections for {seconds} s ==\n\
         (importing {count} users and starting the server ...)"
    );
    let (done, outcome) = oneshot::channel();
    std::thread::Builder::new().name("bench-server".into()).spawn(move || {
        let _ = done.send(http_thread(dir, count, seed, seconds, connections, bodies));
    })?;
    outcome.await.map_err(|_| "the HTTP benchmark thread panicked")?
}

fn http_thread(
    dir: PathBuf,
    count: usize,
    seed: u64,
    seconds: u64,
    connections: usize,
    bodies: Vec<(usize, Bytes)>,
) -> Result<Http> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("bench-server-rt").build()?;
    let outcome = runtime.block_on(serve_and_load(dir, count, seed, seconds, connections, bodies));
    runtime.shutdown_timeout(Duration::from_secs(10));
    outcome
}

async fn serve_and_load(
    dir: PathBuf,
    count: usize,
    seed: u64,
    seconds: u64,
    connections: usize,
    bodies: Vec<(usize, Bytes)>,
) -> Result<Http> {
    let seeded = SeededServer::prepare(dir, count, seed).await?;
    let (addr, issued, import) = (seeded.addr, seeded.issued.clone(), seeded.import);
    let (server, start) = seeded.start().await?;
    // A server started from the feed writes its index's snapshot in the background at once (at 10M, seconds
    // of a core): the load waits for it, so that it measures searching, not that one-off write. Writes are
    // serial, so this returns once the server's own is done (or writes it, if it has not begun).
    let waited = Instant::now();
    server.search().write_snapshot().await?;
    let snapshot_wait = waited.elapsed();
    let outcome = drive(addr, &issued, bodies, seconds, connections).await;
    let views = server.search().views().stats();
    server.stop().await?;
    let load = outcome?;
    Ok(Http { import, start, snapshot_wait, views, ..load })
}

/// Gets a token, checks that search answers, and runs the load generator on a thread of its own.
async fn drive(
    addr: SocketAddr,
    issued: &admin::IssuedCredential,
    bodies: Vec<(usize, Bytes)>,
    seconds: u64,
    connections: usize,
) -> Result<Http> {
    let authorization = crate::server_process::bearer(addr, issued).await?;
    let mut conn = Connection::open(addr).await?;
    let probe = bodies.iter().find(|(s, _)| *s == FILTERS).ok_or("no filter-only query")?;
    let response = conn.send(conn.post(SEARCH, JSON, Some(&authorization), probe.1.clone())).await?;
    if response.status != 200 {
        return Err(format!("search answered {}: {}", response.status, response.text()).into());
    }
    let page: serde_json::Value = serde_json::from_slice(&response.body)?;
    if page["list"].as_array().is_none_or(|list| list.is_empty()) {
        return Err(format!("a filter-only search found nobody: {}", response.text()).into());
    }
    drop(conn);

    let (done, outcome) = oneshot::channel();
    std::thread::Builder::new().name("bench-load".into()).spawn(move || {
        let outcome =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::from).map(|runtime| {
                runtime.block_on(async {
                    let search = Load::Search { authorization, bodies: Arc::new(bodies) };
                    let (mut searched, mut trivial) = (Loaded::default(), Loaded::default());
                    for turn in 0..seconds.max(1) {
                        // Each turn starts where the last left off in the bodies, so that every query is sent.
                        let first = searched.requests();
                        searched.add(load(addr, &search, first, connections).await);
                        trivial.add(load(addr, &Load::Healthz, turn as usize, connections).await);
                    }
                    let bad = trivial.figures.non_ok + trivial.figures.failures;
                    Http { trivial: Some((trivial.requests(), trivial.elapsed, bad)), ..searched.into_http() }
                })
            });
        let _ = done.send(outcome);
    })?;
    outcome.await.map_err(|_| "the load generator thread panicked")?
}

/// What the load generator sends.
#[derive(Clone)]
enum Load {
    /// `POST /api/v1/search/users` with the bodies of every set in turn.
    Search { authorization: HeaderValue, bodies: Arc<Vec<(usize, Bytes)>> },
    /// `GET /healthz`, counted as set 0.
    Healthz,
}

impl Load {
    /// The `n`th request on `conn` and the set it belongs to.
    fn request(&self, conn: &Connection, n: usize) -> (usize, hyper::Request<http_body_util::Full<Bytes>>) {
        match self {
            Load::Search { authorization, bodies } => {
                let (set, body) = &bodies[n % bodies.len()];
                (*set, conn.post(SEARCH, JSON, Some(authorization), body.clone()))
            }
            Load::Healthz => (0, conn.get("/healthz", None)),
        }
    }
}

#[derive(Default)]
struct ConnectionFigures {
    /// (set, nanoseconds) of every answered request.
    latencies: Vec<(usize, u64)>,
    non_ok: usize,
    failures: usize,
    first_error: Option<String>,
}

/// The figures of one kind of load over its turns.
#[derive(Default)]
struct Loaded {
    figures: ConnectionFigures,
    elapsed: Duration,
}

impl Loaded {
    fn requests(&self) -> usize {
        self.figures.latencies.len()
    }

    fn add(&mut self, (figures, elapsed): (ConnectionFigures, Duration)) {
        self.figures.latencies.extend(figures.latencies);
        self.figures.non_ok += figures.non_ok;
        self.figures.failures += figures.failures;
        self.figures.first_error = self.figures.first_error.take().or(figures.first_error);
        self.elapsed += elapsed;
    }

    fn into_http(self) -> Http {
        let Loaded { figures, elapsed } = self;
        let mut per_set: Vec<Vec<u64>> = vec![Vec::new(); 4];
        for (s, nanos) in &figures.latencies {
            per_set[*s].push(*nanos);
        }
        Http {
            import: Duration::ZERO,
            start: Duration::ZERO,
            snapshot_wait: Duration::ZERO,
            elapsed,
            requests: figures.latencies.len(),
            non_ok: figures.non_ok,
            failures: figures.failures,
            first_error: figures.first_error,
            all: Latencies::of(figures.latencies.iter().map(|(_, n)| *n).collect()),
            per_set: per_set.into_iter().map(Latencies::of).collect(),
            trivial: None,
            views: Default::default(),
        }
    }
}

/// One turn of `what` for [`SLICE`] over `connections` connections, the `c`th sending the requests
/// `first + c * 7919`, `+ 1`, ...; answers what they measured and how long the turn took.
async fn load(addr: SocketAddr, what: &Load, first: usize, connections: usize) -> (ConnectionFigures, Duration) {
    let started = Instant::now();
    let deadline = started + SLICE;
    let tasks: Vec<_> = (0..connections.max(1))
        .map(|c| tokio::spawn(connection(addr, what.clone(), first + c * 7919, deadline)))
        .collect();
    let mut figures = ConnectionFigures::default();
    for task in tasks {
        match task.await {
            Ok(done) => {
                figures.latencies.extend(done.latencies);
                figures.non_ok += done.non_ok;
                figures.failures += done.failures;
                figures.first_error = figures.first_error.or(done.first_error);
            }
            Err(join) => {
                figures.failures += 1;
                figures.first_error.get_or_insert(format!("a connection task failed: {join}"));
            }
        }
    }
    (figures, started.elapsed())
}

/// One keep-alive connection sending requests back to back until the deadline.
async fn connection(addr: SocketAddr, what: Load, first: usize, deadline: Instant) -> ConnectionFigures {
    let mut figures = ConnectionFigures::default();
    let mut conn: Option<Connection> = None;
    let mut next = first;
    while Instant::now() < deadline {
        let current = match conn.as_mut() {
            Some(current) => current,
            None => match Connection::open(addr).await {
                Ok(opened) => conn.insert(opened),
                Err(error) => {
                    figures.failures += 1;
                    figures.first_error.get_or_insert(format!("connect: {error}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let (set, request) = what.request(current, next);
        next += 1;
        let started = Instant::now();
        match current.send(request).await {
            Ok(response) => {
                figures.latencies.push((set, started.elapsed().as_nanos() as u64));
                if response.status != 200 {
                    figures.non_ok += 1;
                    figures.first_error.get_or_insert_with(|| format!("HTTP {}: {}", response.status, response.text()));
                }
                if response.close {
                    conn = None;
                }
            }
            Err(error) => {
                figures.failures += 1;
                figures.first_error.get_or_insert(format!("request: {error}"));
                conn = None;
            }
        }
    }
    figures
}
