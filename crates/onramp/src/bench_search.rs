//! `onramp bench search`: the user search index (`onramp-search`) measured on synthetic users, beside the
//! usual alternatives on the same users and the same queries (SQLite FTS5 with the trigram tokenizer,
//! PostgreSQL with pg_trgm), then `POST /api/v1/search/users` under load over HTTP.
//!
//! Everything follows from the seed: the users (`synthetic::Users`, with roles, types and origins given here
//! to fixed fractions of them) and four query sets of [`SET_SIZE`] queries each: substrings of names and
//! emails, one-typo words, filters alone, and text with filters. The alternatives are given the text
//! already lowercased and without accents (and the queries the same way), so that they are asked for what
//! onramp matches; what they cannot do (typos, for FTS5) shows up as recall, not as an error.
//!
//! The run leaves nothing behind: temporary files are removed, the PostgreSQL database made for the run is
//! dropped (also on error and on Ctrl-C), and the HTTP server and load generator end with it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_api::wire::user_input::UserInput;
use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};
use onramp_domain::{BuiltinRole, Id, Timestamp};
use onramp_search::{Index, Query, normalize};
use onramp_store::Actor;
use sqlx::{ConnectOptions, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::config::{Config, LogFormat};
use crate::synthetic::{DEPARTMENTS, JOB_TITLES, Rng, Users};
use crate::{admin, server};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

/// Queries in each set.
pub const SET_SIZE: usize = 2000;
/// Results asked for by every query (`pageSize`).
pub const PAGE_SIZE: usize = 10;
/// Longest time one alternative spends on one query set; a set cut short reports how many queries ran.
const ALTERNATIVE_BUDGET: Duration = Duration::from_secs(30);
/// Seeds the roles, types and origins, apart from the generator's own stream.
const EXTRA_SEED: u64 = 0x5ea7_c4b3_1d0f_a11c;
/// Each role is given to this share of the users, independently.
const ROLE_SHARES: [(BuiltinRole, f64); 4] = [
    (BuiltinRole::BasicUser, 0.25),
    (BuiltinRole::DirectoryAdmin, 0.03),
    (BuiltinRole::ReadOnlyAdmin, 0.005),
    (BuiltinRole::Admin, 0.001),
];

pub struct Options {
    pub count: usize,
    pub seed: u64,
    pub postgres_url: Option<String>,
    pub seconds: u64,
    pub connections: usize,
}

// ----------------------------------------------------------------------------------------------------------
// Data and queries

/// The synthetic users of `seed`, with roles (see [`ROLE_SHARES`]), types (4 % service, 1 % agent, the rest
/// human) and origins (40 % directory, the rest local) drawn from a second stream of the same seed.
pub fn inputs(seed: u64) -> impl Iterator<Item = UserInput> {
    let mut rng = Rng::new(seed ^ EXTRA_SEED);
    Users::new(seed).map(move |mut input| {
        let roles: Vec<String> = ROLE_SHARES
            .iter()
            .filter(|(_, share)| rng.unit() < *share)
            .map(|(role, _)| role.name().to_string())
            .collect();
        if !roles.is_empty() {
            input.role_ids = Some(roles);
        }
        let kind = rng.unit();
        let user_type = match kind {
            k if k < 0.04 => UserType::Service,
            k if k < 0.05 => UserType::Agent,
            _ => UserType::Human,
        };
        input.user_type = Some(user_type.as_str().into());
        let origin = if rng.unit() < 0.4 { UserOrigin::Directory } else { UserOrigin::Local };
        input.origin = Some(origin.as_str().into());
        input
    })
}

fn below(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[below(rng, items.len())]
}

/// `word` with one random edit: an insertion, deletion, substitution or transposition of two adjacent
/// letters, never giving back the word itself, and never shorter than 4 characters (onramp tolerates typos
/// in query words of 4 characters or more). `word` must have at least 4 characters.
pub fn one_typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    assert!(chars.len() >= 4, "one_typo needs a word of 4 characters or more: {word:?}");
    let letter = |rng: &mut Rng| (b'a' + below(rng, 26) as u8) as char;
    loop {
        match below(rng, 4) {
            0 => {
                let at = below(rng, chars.len() + 1);
                chars.insert(at, letter(rng));
            }
            1 if chars.len() > 4 => {
                chars.remove(below(rng, chars.len()));
            }
            2 => {
                let at = below(rng, chars.len());
                let replacement = letter(rng);
                if replacement == chars[at] {
                    continue;
                }
                chars[at] = replacement;
            }
            3 => {
                let at = below(rng, chars.len() - 1);
                if chars[at] == chars[at + 1] {
                    continue;
                }
                chars.swap(at, at + 1);
            }
            _ => continue,
        }
        return chars.into_iter().collect();
    }
}

/// A search as the benchmark sends it to every engine.
#[derive(Clone, Debug, Default)]
pub struct Search {
    pub text: Option<String>,
    pub departments: Vec<String>,
    pub job_titles: Vec<String>,
    pub statuses: Vec<UserStatus>,
    pub exclude_types: Vec<UserType>,
    pub origins: Vec<UserOrigin>,
    pub roles: Vec<BuiltinRole>,
    /// Which filter shape made the filters (see [`FILTER_SHAPES`]).
    pub shape: Option<usize>,
    /// For a typo query: the index of the user whose word was misspelt.
    pub intended: Option<usize>,
}

/// The filter shapes, from broad to nearly empty; the comment gives the share of users each matches.
pub const FILTER_SHAPES: &[&str] = &[
    "department",                                   // 1/12
    "jobTitle",                                     // 1/20
    "2 departments + jobTitle",                     // ~1/120
    "status DISABLED",                              // 5 %
    "one role",                                     // 25 %, 3 %, 0.5 % or 0.1 %
    "excludeTypes HUMAN",                           // 5 %
    "origin DIRECTORY + status DISABLED",           // 2 %
    "department + jobTitle + role admin",           // ~0.0004 %: a handful of users
    "dept + DISABLED + not HUMAN + origin LOCAL",   // ~0.01 %
    "jobTitle + role read-only-admin + DIRECTORY",  // ~0.01 %
    "excludeTypes SERVICE,AGENT + role basic-user", // ~24 %
];

/// Department and job-title values as a client might type them: mostly as stored, sometimes in another case.
fn cased(rng: &mut Rng, value: &str) -> String {
    match below(rng, 5) {
        0 => value.to_lowercase(),
        1 => value.to_uppercase(),
        _ => value.to_string(),
    }
}

fn filters(rng: &mut Rng) -> Search {
    let shape = below(rng, FILTER_SHAPES.len());
    let department = |rng: &mut Rng| {
        let value = pick(rng, DEPARTMENTS);
        cased(rng, value)
    };
    let job_title = |rng: &mut Rng| {
        let value = pick(rng, JOB_TITLES);
        cased(rng, value)
    };
    let mut search = Search { shape: Some(shape), ..Search::default() };
    match shape {
        0 => search.departments = vec![department(rng)],
        1 => search.job_titles = vec![job_title(rng)],
        2 => {
            let first = department(rng);
            let second = loop {
                let second = department(rng);
                if !second.eq_ignore_ascii_case(&first) {
                    break second;
                }
            };
            search.departments = vec![first, second];
            search.job_titles = vec![job_title(rng)];
        }
        3 => search.statuses = vec![UserStatus::Disabled],
        4 => search.roles = vec![ROLE_SHARES[below(rng, ROLE_SHARES.len())].0],
        5 => search.exclude_types = vec![UserType::Human],
        6 => {
            search.origins = vec![UserOrigin::Directory];
            search.statuses = vec![UserStatus::Disabled];
        }
        7 => {
            search.departments = vec![department(rng)];
            search.job_titles = vec![job_title(rng)];
            search.roles = vec![BuiltinRole::Admin];
        }
        8 => {
            search.departments = vec![department(rng)];
            search.statuses = vec![UserStatus::Disabled];
            search.exclude_types = vec![UserType::Human];
            search.origins = vec![UserOrigin::Local];
        }
        9 => {
            search.job_titles = vec![job_title(rng)];
            search.roles = vec![BuiltinRole::ReadOnlyAdmin];
            search.origins = vec![UserOrigin::Directory];
        }
        _ => {
            search.exclude_types = vec![UserType::Service, UserType::Agent];
            search.roles = vec![BuiltinRole::BasicUser];
        }
    }
    search
}

/// A 3–6 character piece of a random user's display name (70 %) or email, not starting or ending with a
/// space; 15 % are uppercased and 10 % get accents the user's name may not have.
fn substring(users: &[User], rng: &mut Rng) -> String {
    loop {
        let user = &users[below(rng, users.len())];
        let field = if rng.unit() < 0.7 { user.display_name.as_str() } else { user.email.as_str() };
        let chars: Vec<char> = field.chars().collect();
        let len = (3 + below(rng, 4)).min(chars.len());
        if len < 3 {
            continue;
        }
        let start = below(rng, chars.len() - len + 1);
        let piece = &chars[start..start + len];
        if piece[0].is_whitespace() || piece[len - 1].is_whitespace() {
            continue;
        }
        let piece: String = piece.iter().collect();
        let variant = rng.unit();
        return if variant < 0.15 {
            piece.to_uppercase()
        } else if variant < 0.25 {
            piece.replace('e', "é").replace('o', "ö").replace('u', "ü")
        } else {
            piece
        };
    }
}

/// A random user's display-name word of 4 characters or more, misspelt once; 30 % capitalised.
fn typo(users: &[User], rng: &mut Rng) -> (String, usize) {
    loop {
        let intended = below(rng, users.len());
        let name = normalize(&users[intended].display_name);
        let words: Vec<&str> = name.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 4).collect();
        if words.is_empty() {
            continue;
        }
        let misspelt = one_typo(words[below(rng, words.len())], rng);
        let misspelt = if rng.unit() < 0.3 {
            let mut chars = misspelt.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        } else {
            misspelt
        };
        return (misspelt, intended);
    }
}

/// A whole word of a random user's display name, as written.
fn word(users: &[User], rng: &mut Rng) -> String {
    let name = &users[below(rng, users.len())].display_name;
    let words: Vec<&str> = name.split_whitespace().collect();
    words[below(rng, words.len())].to_string()
}

/// The four query sets.
pub struct Sets {
    pub sets: [(&'static str, Vec<Search>); 4],
}

pub const SUBSTRING: usize = 0;
pub const TYPO: usize = 1;
pub const FILTERS: usize = 2;
pub const COMBINED: usize = 3;

impl Sets {
    pub fn generate(users: &[User], seed: u64) -> Sets {
        let mut rng = Rng::new(seed ^ EXTRA_SEED ^ 0xbe9c_0de5);
        let substrings =
            (0..SET_SIZE).map(|_| Search { text: Some(substring(users, &mut rng)), ..Search::default() }).collect();
        let typos = (0..SET_SIZE)
            .map(|_| {
                let (text, intended) = typo(users, &mut rng);
                Search { text: Some(text), intended: Some(intended), ..Search::default() }
            })
            .collect();
        let filter_only = (0..SET_SIZE).map(|_| filters(&mut rng)).collect();
        let combined = (0..SET_SIZE)
            .map(|_| {
                let text = match rng.unit() {
                    r if r < 0.6 => substring(users, &mut rng),
                    r if r < 0.8 => word(users, &mut rng),
                    _ => typo(users, &mut rng).0,
                };
                Search { text: Some(text), ..filters(&mut rng) }
            })
            .collect();
        Sets {
            sets: [
                ("substring", substrings),
                ("one-typo", typos),
                ("filter-only", filter_only),
                ("query+filters", combined),
            ],
        }
    }
}

impl Search {
    pub fn index_query(&self) -> Query {
        Query {
            text: self.text.clone(),
            departments: self.departments.clone(),
            job_titles: self.job_titles.clone(),
            statuses: self.statuses.clone(),
            exclude_types: self.exclude_types.clone(),
            origins: self.origins.clone(),
            role_ids: self.roles.iter().map(|role| role.id()).collect(),
            ..Query::default()
        }
    }

    /// The `SearchUsersRequest` body.
    pub fn json(&self) -> String {
        let mut body = serde_json::Map::new();
        body.insert("pageSize".into(), PAGE_SIZE.into());
        if let Some(text) = &self.text {
            body.insert("query".into(), text.clone().into());
        }
        let mut list = |key: &str, values: Vec<String>| {
            if !values.is_empty() {
                body.insert(key.into(), values.into());
            }
        };
        list("departments", self.departments.clone());
        list("jobTitles", self.job_titles.clone());
        list("userStatuses", self.statuses.iter().map(|s| s.as_str().to_string()).collect());
        list("excludeTypes", self.exclude_types.iter().map(|t| t.as_str().to_string()).collect());
        list("origins", self.origins.iter().map(|o| o.as_str().to_string()).collect());
        list("roleIds", self.roles.iter().map(|r| r.id().to_string()).collect());
        serde_json::Value::Object(body).to_string()
    }
}

impl fmt::Display for Search {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(text) = &self.text {
            parts.push(format!("query={text:?}"));
        }
        let mut list = |key: &str, values: Vec<String>| {
            if !values.is_empty() {
                parts.push(format!("{key}=[{}]", values.join(",")));
            }
        };
        list("departments", self.departments.clone());
        list("jobTitles", self.job_titles.clone());
        list("userStatuses", self.statuses.iter().map(|s| s.as_str().to_string()).collect());
        list("excludeTypes", self.exclude_types.iter().map(|t| t.as_str().to_string()).collect());
        list("origins", self.origins.iter().map(|o| o.as_str().to_string()).collect());
        list("roleIds", self.roles.iter().map(|r| r.name().to_string()).collect());
        write!(f, "{}", parts.join(" "))
    }
}

// ----------------------------------------------------------------------------------------------------------
// Figures

/// Latency percentiles of one query set.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latencies {
    /// Queries timed.
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    /// Nearest-rank percentiles of the given durations (nanoseconds).
    pub fn of(mut nanos: Vec<u64>) -> Latencies {
        if nanos.is_empty() {
            return Latencies::default();
        }
        nanos.sort_unstable();
        let at =
            |p: f64| Duration::from_nanos(nanos[((p * nanos.len() as f64).ceil() as usize).clamp(1, nanos.len()) - 1]);
        Latencies { n: nanos.len(), p50: at(0.50), p99: at(0.99), max: at(1.0) }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn ratio(alternative: Duration, onramp: Duration) -> String {
    if onramp.is_zero() {
        return "-".into();
    }
    let ratio = alternative.as_secs_f64() / onramp.as_secs_f64();
    if ratio < 10.0 { format!("x{ratio:.1}") } else { format!("x{ratio:.0}") }
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// The `VmRSS` of a `/proc/self/status` text, in bytes.
pub fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

fn resident_bytes() -> Option<u64> {
    parse_vmrss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

struct InProcess {
    build: Duration,
    resident_growth: Option<u64>,
    heap_bytes: usize,
    latencies: [Latencies; 4],
    recall: (usize, usize),
}

/// One row of an alternative's table: what was run, its latencies, and (found, tried) for a typo set.
type Row = (String, Latencies, Option<(usize, usize)>);

struct Alternative {
    name: &'static str,
    /// Set name, latencies, and (hits, tried) recall for typo sets.
    rows: Vec<Row>,
}

struct Http {
    import: Duration,
    start: Duration,
    elapsed: Duration,
    requests: usize,
    non_ok: usize,
    failures: usize,
    first_error: Option<String>,
    all: Latencies,
    per_set: Vec<Latencies>,
}

// ----------------------------------------------------------------------------------------------------------
// The run

/// Runs the benchmark and prints its figures. Ctrl-C stops it; on any ending (error, Ctrl-C or panic) the
/// temporary files and the PostgreSQL database are removed.
pub async fn run_search(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let cleanup = Cleanup {
        scratch: std::env::temp_dir().join(format!("onramp-bench-search-{}", Id::new())),
        postgres: options.postgres_url.clone().map(|server| (server, format!("onramp_bench_search_{}", Id::new()))),
    };
    let database = cleanup.postgres.as_ref().map_or("", |(_, name)| name.as_str());
    let outcome = tokio::select! {
        outcome = run(&options, &cleanup.scratch, database) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    drop(cleanup);
    outcome.map_err(|error| -> Box<dyn std::error::Error> { error })
}

/// What the run may leave behind, removed on drop (so also when a panic unwinds through the run).
struct Cleanup {
    scratch: PathBuf,
    /// (server URL, database name) of the database the run makes.
    postgres: Option<(String, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
        if let Some((server, name)) = self.postgres.take() {
            // Drop may run on a runtime thread, which cannot block on a future: use a thread of its own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(drop_database(&server, &name)).map_err(|e| std::io::Error::other(e.to_string()))
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!(
                    "onramp: could not drop the benchmark database; drop databases named onramp_bench_search_* by hand"
                );
            }
        }
    }
}

async fn run(options: &Options, scratch: &Path, database: &str) -> Result<()> {
    std::fs::create_dir_all(scratch)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "onramp bench search: {} users (seed {}), {} CPUs, pageSize {PAGE_SIZE}, {SET_SIZE} queries per set",
        options.count, options.seed, cpus
    );

    let started = Instant::now();
    let tenant = Id::new();
    let now = Timestamp::now();
    let users: Vec<User> = inputs(options.seed)
        .take(options.count)
        .map(|input| input.into_new_user(tenant, now).map_err(|e| e.message))
        .collect::<Result<_, String>>()?;
    let sets = Sets::generate(&users, options.seed);
    describe_data(&users, started.elapsed());

    let in_process = in_process(&users, &sets);
    let sqlite = sqlite_alternative(&users, &sets, &scratch.join("fts5.db")).await?;
    print_alternative(&sqlite, &in_process);
    if let Some(server) = &options.postgres_url {
        let postgres = postgres_alternative(server, database, &users, &sets).await;
        drop_database(server, database).await?;
        print_alternative(&postgres?, &in_process);
    } else {
        println!("\n== PostgreSQL pg_trgm: skipped (no --postgres-url / ONRAMP_BENCH_POSTGRES_URL) ==");
    }
    drop(users);

    let bodies: Vec<(usize, String)> = interleave(&sets);
    let http = http(options, scratch.join("server"), bodies).await;
    match &http {
        Ok(http) => print_http(http, options, &sets),
        Err(error) => println!("\n== HTTP: failed: {error} =="),
    }
    summary(&in_process, http.as_ref().ok());
    Ok(())
}

fn describe_data(users: &[User], took: Duration) {
    let share = |f: &dyn Fn(&User) -> bool| 100.0 * users.iter().filter(|u| f(u)).count() as f64 / users.len() as f64;
    let roles: Vec<String> = ROLE_SHARES
        .iter()
        .map(|(role, _)| format!("{} {:.1} %", role.name(), share(&|u: &User| u.role_ids.contains(&role.id()))))
        .collect();
    println!("\n== data ==");
    println!("users      {} generated and validated in {:.2} s", users.len(), took.as_secs_f64());
    println!("roles      {}", roles.join(", "));
    println!(
        "filters    disabled {:.1} %, service {:.1} %, agent {:.1} %, origin directory {:.1} %; {} departments, {} job titles",
        share(&|u: &User| u.status == UserStatus::Disabled),
        share(&|u: &User| u.user_type == UserType::Service),
        share(&|u: &User| u.user_type == UserType::Agent),
        share(&|u: &User| u.origin == UserOrigin::Directory),
        DEPARTMENTS.len(),
        JOB_TITLES.len(),
    );
    println!("filter shapes (filter-only and query+filters sets draw one each):");
    for (i, shape) in FILTER_SHAPES.iter().enumerate() {
        println!("  {i:>2}  {shape}");
    }
}

// ----------------------------------------------------------------------------------------------------------
// In-process

fn in_process(users: &[User], sets: &Sets) -> InProcess {
    println!("\n== in-process: onramp-search ==");
    let before = resident_bytes();
    let started = Instant::now();
    let mut index = Index::new();
    for user in users {
        index.upsert(user.into());
    }
    let build = started.elapsed();
    let after = resident_bytes();
    let heap_bytes = index.heap_bytes();
    let resident_growth = before.zip(after).map(|(before, after)| after.saturating_sub(before));
    println!(
        "build      {} upserts in {:.2} s ({:.0} users/s)",
        users.len(),
        build.as_secs_f64(),
        users.len() as f64 / build.as_secs_f64()
    );
    match (before, after) {
        (Some(before), Some(after)) => println!(
            "memory     resident +{:.1} MiB (VmRSS {:.1} -> {:.1} MiB); heap_bytes() {:.1} MiB ({:.0} bytes/user)",
            mib(after.saturating_sub(before) as f64),
            mib(before as f64),
            mib(after as f64),
            mib(heap_bytes as f64),
            heap_bytes as f64 / users.len().max(1) as f64
        ),
        _ => println!(
            "memory     VmRSS unavailable; heap_bytes() {:.1} MiB ({:.0} bytes/user)",
            mib(heap_bytes as f64),
            heap_bytes as f64 / users.len().max(1) as f64
        ),
    }

    println!("{:<15} {:>5} {:>11} {:>11} {:>11}  {:>9}", "set", "n", "p50", "p99", "max", "mean hits");
    let mut latencies = [Latencies::default(); 4];
    let mut slowest: Vec<(usize, Vec<(u64, usize)>)> = Vec::new();
    for (s, (name, set)) in sets.sets.iter().enumerate() {
        let queries: Vec<Query> = set.iter().map(Search::index_query).collect();
        for query in queries.iter().take(100) {
            let _ = index.search(query, None, PAGE_SIZE);
        }
        let mut nanos = Vec::with_capacity(queries.len());
        let (mut hits, mut errors, mut first_error) = (0, 0, None);
        for query in &queries {
            let started = Instant::now();
            let result = index.search(query, None, PAGE_SIZE);
            nanos.push(started.elapsed().as_nanos() as u64);
            match result {
                Ok(page) => hits += page.hits.len(),
                Err(error) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("{error} ({query:?})"));
                }
            }
        }
        let mut ranked: Vec<(u64, usize)> = nanos.iter().copied().zip(0..).collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        ranked.truncate(3);
        slowest.push((s, ranked));
        latencies[s] = Latencies::of(nanos.clone());
        let l = latencies[s];
        println!(
            "{name:<15} {:>5} {:>11} {:>11} {:>11}  {:>9.1}",
            l.n,
            ms(l.p50),
            ms(l.p99),
            ms(l.max),
            hits as f64 / set.len() as f64
        );
        if errors > 0 {
            println!("  {errors} queries refused, first: {}", first_error.unwrap_or_default());
        }
        if s >= FILTERS {
            let mut by_shape: Vec<Vec<u64>> = vec![Vec::new(); FILTER_SHAPES.len()];
            for (search, nanos) in set.iter().zip(&nanos) {
                by_shape[search.shape.unwrap_or(0)].push(*nanos);
            }
            slowest_shapes(s, by_shape);
        }
    }

    let typos = &sets.sets[TYPO].1;
    let found = typos
        .iter()
        .filter(|search| {
            let id = users[search.intended.expect("typo queries name their user")].id;
            let query = Query { text: search.text.clone(), ids: Some(vec![id]), ..Query::default() };
            index.search(&query, None, PAGE_SIZE).is_ok_and(|page| page.hits.iter().any(|hit| hit.id == id))
        })
        .count();
    println!(
        "one-typo recall (search restricted to the intended user finds it): {found}/{} = {:.2} %",
        typos.len(),
        100.0 * found as f64 / typos.len() as f64
    );
    let misses: Vec<String> = typos
        .iter()
        .filter(|search| {
            let id = users[search.intended.unwrap_or(0)].id;
            let query = Query { text: search.text.clone(), ids: Some(vec![id]), ..Query::default() };
            !index.search(&query, None, PAGE_SIZE).is_ok_and(|page| page.hits.iter().any(|hit| hit.id == id))
        })
        .take(5)
        .map(|search| {
            format!(
                "{:?} for {:?}",
                search.text.as_deref().unwrap_or(""),
                users[search.intended.unwrap_or(0)].display_name
            )
        })
        .collect();
    if !misses.is_empty() {
        println!("  missed, e.g.: {}", misses.join(", "));
    }
    println!("slowest queries:");
    for (s, ranked) in slowest {
        let (name, set) = &sets.sets[s];
        for (nanos, i) in ranked {
            println!("  {name:<14} {:>10}  {}", ms(Duration::from_nanos(nanos)), set[i]);
        }
    }
    InProcess { build, resident_growth, heap_bytes, latencies, recall: (found, typos.len()) }
}

fn slowest_shapes(set: usize, by_shape: Vec<Vec<u64>>) {
    let name = if set == FILTERS { "filter-only" } else { "query+filters" };
    let mut rows: Vec<(usize, Latencies)> =
        by_shape.into_iter().enumerate().filter(|(_, n)| !n.is_empty()).map(|(i, n)| (i, Latencies::of(n))).collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1.p99));
    let text: Vec<String> = rows.iter().take(3).map(|(i, l)| format!("#{i} p99 {}", ms(l.p99))).collect();
    println!("  {name} by filter shape, slowest p99: {}", text.join("; "));
}

// ----------------------------------------------------------------------------------------------------------
// Alternatives: SQL shared by both

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// How a text query is asked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextMode {
    /// FTS5 `MATCH` of the quoted phrase (SQLite) or `ILIKE '%q%'` (PostgreSQL).
    Substring,
    /// PostgreSQL `t % q ORDER BY similarity(t, q) DESC`.
    Similarity,
    /// PostgreSQL `q <% t ORDER BY q <<-> t` (word similarity: the query against the best-matching part).
    WordSimilarity,
}

enum Bind {
    Text(String),
    Texts(Vec<String>),
}

fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", normalize(text).replace('"', "\"\""))
}

fn like_pattern(text: &str) -> String {
    let escaped = normalize(text).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl Dialect {
    /// `column IN (...)` or `NOT IN`, binding the values.
    fn list(self, column: &str, values: Vec<String>, negate: bool, binds: &mut Vec<Bind>) -> String {
        match self {
            Dialect::Sqlite => {
                let marks = vec!["?"; values.len()].join(", ");
                binds.extend(values.into_iter().map(Bind::Text));
                format!("{column} {}IN ({marks})", if negate { "NOT " } else { "" })
            }
            Dialect::Postgres => {
                binds.push(Bind::Texts(values));
                let n = binds.len();
                if negate { format!("{column} <> ALL(${n})") } else { format!("{column} = ANY(${n})") }
            }
        }
    }

    fn conditions(self, search: &Search, binds: &mut Vec<Bind>) -> Vec<String> {
        let lower = |values: &[String]| values.iter().map(|v| v.to_lowercase()).collect::<Vec<_>>();
        let mut conditions = Vec::new();
        if !search.departments.is_empty() {
            conditions.push(self.list("u.department", lower(&search.departments), false, binds));
        }
        if !search.job_titles.is_empty() {
            conditions.push(self.list("u.job_title", lower(&search.job_titles), false, binds));
        }
        // No statuses means ENABLED or DISABLED, which every generated user is.
        if !search.statuses.is_empty() {
            let statuses = search.statuses.iter().map(|s| s.as_str().to_string()).collect();
            conditions.push(self.list("u.status", statuses, false, binds));
        }
        if !search.exclude_types.is_empty() {
            let types = search.exclude_types.iter().map(|t| t.as_str().to_string()).collect();
            conditions.push(self.list("u.user_type", types, true, binds));
        }
        if !search.origins.is_empty() {
            let origins = search.origins.iter().map(|o| o.as_str().to_string()).collect();
            conditions.push(self.list("u.origin", origins, false, binds));
        }
        if !search.roles.is_empty() {
            let roles = search.roles.iter().map(|r| r.name().to_string()).collect();
            let inner = self.list("role", roles, false, binds);
            conditions.push(format!("u.id IN (SELECT user_id FROM user_roles WHERE {inner})"));
        }
        conditions
    }

    /// The statement for a search, with its parameters.
    fn sql(self, search: &Search, mode: TextMode) -> (String, Vec<Bind>) {
        let mut binds = Vec::new();
        let Some(text) = &search.text else {
            // Filters alone come in id order, as onramp pages them.
            let conditions = self.conditions(search, &mut binds);
            let sql =
                format!("SELECT u.id FROM users u WHERE {} ORDER BY u.id LIMIT {PAGE_SIZE}", conditions.join(" AND "));
            return (sql, binds);
        };
        let (from, text_condition, order) = match (self, mode) {
            (Dialect::Sqlite, _) => {
                binds.push(Bind::Text(fts_phrase(text)));
                ("fts JOIN users u ON u.id = fts.rowid", "fts MATCH ?".to_string(), String::new())
            }
            (Dialect::Postgres, TextMode::Substring) => {
                binds.push(Bind::Text(like_pattern(text)));
                ("users u", "u.t ILIKE $1".to_string(), String::new())
            }
            (Dialect::Postgres, TextMode::Similarity) => {
                binds.push(Bind::Text(normalize(text)));
                ("users u", "u.t % $1".to_string(), " ORDER BY similarity(u.t, $1) DESC".to_string())
            }
            (Dialect::Postgres, TextMode::WordSimilarity) => {
                binds.push(Bind::Text(normalize(text)));
                ("users u", "$1 <% u.t".to_string(), " ORDER BY $1 <<-> u.t".to_string())
            }
        };
        let mut conditions = vec![text_condition];
        conditions.extend(self.conditions(search, &mut binds));
        let sql = format!("SELECT u.id FROM {from} WHERE {}{order} LIMIT {PAGE_SIZE}", conditions.join(" AND "));
        (sql, binds)
    }
}

/// Whether the alternative finds the intended user with this typo query.
fn recall_sql(dialect: Dialect, mode: TextMode) -> &'static str {
    match (dialect, mode) {
        (Dialect::Sqlite, _) => "SELECT rowid FROM fts WHERE rowid = ? AND fts MATCH ?",
        (Dialect::Postgres, TextMode::Substring) => "SELECT id FROM users WHERE id = $1 AND t ILIKE $2",
        (Dialect::Postgres, TextMode::Similarity) => "SELECT id FROM users WHERE id = $1 AND t % $2",
        (Dialect::Postgres, TextMode::WordSimilarity) => "SELECT id FROM users WHERE id = $1 AND $2 <% t",
    }
}

fn recall_text(dialect: Dialect, mode: TextMode, text: &str) -> String {
    match (dialect, mode) {
        (Dialect::Sqlite, _) => fts_phrase(text),
        (Dialect::Postgres, TextMode::Substring) => like_pattern(text),
        _ => normalize(text),
    }
}

/// The text the alternatives index: display name and emails, normalised.
fn search_text(user: &User) -> String {
    let emails: Vec<&str> = user.emails.iter().map(|e| e.as_str()).collect();
    normalize(&format!("{} {}", user.display_name, emails.join(" ")))
}

/// Times the queries of one set on one alternative: the first few once untimed (to warm caches and the
/// statement cache), then every query in turn until [`ALTERNATIVE_BUDGET`] is spent.
struct Timer {
    started: Option<Instant>,
    nanos: Vec<u64>,
}

const WARM_UP: usize = 20;

impl Timer {
    fn new() -> Timer {
        Timer { started: None, nanos: Vec::new() }
    }

    /// The order to run a set of `len` queries in: (query index, timed).
    fn order(len: usize) -> impl Iterator<Item = (usize, bool)> {
        (0..len.min(WARM_UP)).map(|i| (i, false)).chain((0..len).map(|i| (i, true)))
    }

    /// Records one timed query; false once the budget is spent.
    fn record(&mut self, query_started: Instant) -> bool {
        self.nanos.push(query_started.elapsed().as_nanos() as u64);
        self.started.get_or_insert(query_started).elapsed() <= ALTERNATIVE_BUDGET
    }

    fn latencies(self) -> Latencies {
        Latencies::of(self.nanos)
    }
}

fn print_alternative(alternative: &Alternative, onramp: &InProcess) {
    println!("\n== {} ==", alternative.name);
    println!(
        "{:<30} {:>5} {:>11} {:>11} {:>11}   {:>8} {:>8}",
        "set", "n", "p50", "p99", "max", "p50 /onr", "p99 /onr"
    );
    for (name, l, recall) in &alternative.rows {
        let set = onramp_set(name);
        let onramp = set.map(|s| onramp.latencies[s]).unwrap_or_default();
        let cut = if l.n < SET_SIZE { " (budget)" } else { "" };
        print!(
            "{name:<30} {:>5} {:>11} {:>11} {:>11}   {:>8} {:>8}{cut}",
            l.n,
            ms(l.p50),
            ms(l.p99),
            ms(l.max),
            ratio(l.p50, onramp.p50),
            ratio(l.p99, onramp.p99)
        );
        if let Some((found, tried)) = recall {
            print!("  recall {found}/{tried} = {:.2} %", 100.0 * *found as f64 / *tried as f64);
        }
        println!();
    }
}

fn onramp_set(row: &str) -> Option<usize> {
    ["substring", "one-typo", "filter-only", "query+filters"].iter().position(|name| row.starts_with(name))
}

// ----------------------------------------------------------------------------------------------------------
// SQLite FTS5

async fn sqlite_alternative(users: &[User], sets: &Sets, path: &Path) -> Result<Alternative> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off)
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "MEMORY")
        // Slow statements are what this measures; sqlx's warnings about them would only be noise.
        .disable_statement_logging();
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let started = Instant::now();
    for statement in [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, department TEXT NOT NULL, job_title TEXT NOT NULL, \
         status TEXT NOT NULL, user_type TEXT NOT NULL, origin TEXT NOT NULL)",
        "CREATE TABLE user_roles (role TEXT NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (role, user_id)) \
         WITHOUT ROWID",
        "CREATE VIRTUAL TABLE fts USING fts5(display_name, emails, tokenize = 'trigram')",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    let mut tx = conn.begin().await?;
    const ROWS: usize = 500;
    for (chunk_index, chunk) in users.chunks(ROWS).enumerate() {
        let base = chunk_index * ROWS;
        let sql = format!("INSERT INTO users VALUES {}", vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", "));
        let mut query = sqlx::query(&sql);
        for (offset, user) in chunk.iter().enumerate() {
            query = query
                .bind((base + offset) as i64)
                .bind(user.department.to_lowercase())
                .bind(user.job_title.to_lowercase())
                .bind(user.status.as_str())
                .bind(user.user_type.as_str())
                .bind(user.origin.as_str());
        }
        query.execute(&mut *tx).await?;
        let sql = format!(
            "INSERT INTO fts (rowid, display_name, emails) VALUES {}",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (offset, user) in chunk.iter().enumerate() {
            let emails: Vec<&str> = user.emails.iter().map(|e| e.as_str()).collect();
            query = query
                .bind((base + offset) as i64)
                .bind(normalize(&user.display_name))
                .bind(normalize(&emails.join(" ")));
        }
        query.execute(&mut *tx).await?;
        let roles: Vec<(String, i64)> = chunk
            .iter()
            .enumerate()
            .flat_map(|(offset, user)| {
                user.role_ids
                    .iter()
                    .filter_map(BuiltinRole::from_id)
                    .map(move |r| (r.name().to_string(), (base + offset) as i64))
            })
            .collect();
        if !roles.is_empty() {
            let sql = format!("INSERT INTO user_roles VALUES {}", vec!["(?, ?)"; roles.len()].join(", "));
            let query = roles.into_iter().fold(sqlx::query(&sql), |q, (role, id)| q.bind(role).bind(id));
            query.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    for statement in [
        "CREATE INDEX users_department ON users (department)",
        "CREATE INDEX users_job_title ON users (job_title)",
        "CREATE INDEX users_status ON users (status)",
        "CREATE INDEX users_user_type ON users (user_type)",
        "CREATE INDEX users_origin ON users (origin)",
        "INSERT INTO fts (fts) VALUES ('optimize')",
        "ANALYZE",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    let load = started.elapsed();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let name = "SQLite FTS5 trigram";
    println!(
        "\n{name}: {} users loaded and indexed in {:.1} s; database file {:.1} MiB",
        users.len(),
        load.as_secs_f64(),
        mib(size as f64)
    );

    let mut rows = Vec::new();
    for (s, (set_name, set)) in sets.sets.iter().enumerate() {
        let statements: Vec<(String, Vec<Bind>)> =
            set.iter().map(|q| Dialect::Sqlite.sql(q, TextMode::Substring)).collect();
        let mut timer = Timer::new();
        for (i, timed) in Timer::order(set.len()) {
            let (sql, binds) = &statements[i];
            let query = binds.iter().fold(sqlx::query(sql), |q, bind| match bind {
                Bind::Text(text) => q.bind(text.as_str()),
                Bind::Texts(_) => unreachable!("SQLite lists are bound value by value"),
            });
            let started = Instant::now();
            query.fetch_all(&mut conn).await?;
            if timed && !timer.record(started) {
                break;
            }
        }
        let latencies = timer.latencies();
        let recall = if s == TYPO { Some(sqlite_recall(&mut conn, set).await?) } else { None };
        let how = if s == FILTERS { "ORDER BY id" } else { "MATCH" };
        rows.push((format!("{set_name} ({how})"), latencies, recall));
    }
    conn.close().await?;
    Ok(Alternative { name: "SQLite FTS5 trigram (MATCH on the quoted phrase, LIMIT 10)", rows })
}

async fn sqlite_recall(conn: &mut sqlx::SqliteConnection, set: &[Search]) -> Result<(usize, usize)> {
    let mut found = 0;
    for search in set {
        let row = sqlx::query(recall_sql(Dialect::Sqlite, TextMode::Substring))
            .bind(search.intended.unwrap_or(0) as i64)
            .bind(recall_text(Dialect::Sqlite, TextMode::Substring, search.text.as_deref().unwrap_or("")))
            .fetch_optional(&mut *conn)
            .await?;
        found += usize::from(row.is_some());
    }
    Ok((found, set.len()))
}

// ----------------------------------------------------------------------------------------------------------
// PostgreSQL pg_trgm

/// The URL of database `name` on the server `server` names.
fn database_url(server: &str, name: &str) -> String {
    match server.rsplit_once('/') {
        Some((base, _)) if base.contains("://") && !base.ends_with('/') => format!("{base}/{name}"),
        _ => format!("{}/{name}", server.trim_end_matches('/')),
    }
}

async fn drop_database(server: &str, name: &str) -> Result<()> {
    let mut admin = sqlx::PgConnection::connect(server).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
    admin.close().await?;
    Ok(())
}

async fn postgres_alternative(server: &str, database: &str, users: &[User], sets: &Sets) -> Result<Alternative> {
    {
        let mut admin = sqlx::PgConnection::connect(server).await?;
        sqlx::query(&format!("CREATE DATABASE {database}")).execute(&mut admin).await?;
        admin.close().await?;
    }
    let options: sqlx::postgres::PgConnectOptions = database_url(server, database).parse()?;
    let mut conn = options.disable_statement_logging().connect().await?;
    let started = Instant::now();
    for statement in [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE TABLE users (id integer PRIMARY KEY, t text NOT NULL, department text NOT NULL, \
         job_title text NOT NULL, status text NOT NULL, user_type text NOT NULL, origin text NOT NULL)",
        "CREATE TABLE user_roles (role text NOT NULL, user_id integer NOT NULL, PRIMARY KEY (role, user_id))",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    const ROWS: usize = 10_000;
    for (chunk_index, chunk) in users.chunks(ROWS).enumerate() {
        let base = chunk_index * ROWS;
        let ids: Vec<i32> = (0..chunk.len()).map(|offset| (base + offset) as i32).collect();
        let column = |f: &dyn Fn(&User) -> String| chunk.iter().map(f).collect::<Vec<String>>();
        sqlx::query(
            "INSERT INTO users SELECT * FROM UNNEST($1::integer[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[])",
        )
        .bind(&ids)
        .bind(column(&search_text))
        .bind(column(&|u| u.department.to_lowercase()))
        .bind(column(&|u| u.job_title.to_lowercase()))
        .bind(column(&|u| u.status.as_str().to_string()))
        .bind(column(&|u| u.user_type.as_str().to_string()))
        .bind(column(&|u| u.origin.as_str().to_string()))
        .execute(&mut conn)
        .await?;
        let (roles, role_users): (Vec<String>, Vec<i32>) = chunk
            .iter()
            .enumerate()
            .flat_map(|(offset, user)| {
                user.role_ids
                    .iter()
                    .filter_map(BuiltinRole::from_id)
                    .map(move |r| (r.name().to_string(), (base + offset) as i32))
            })
            .unzip();
        sqlx::query("INSERT INTO user_roles SELECT * FROM UNNEST($1::text[], $2::integer[])")
            .bind(&roles)
            .bind(&role_users)
            .execute(&mut conn)
            .await?;
    }
    let loaded = started.elapsed();
    for statement in [
        "CREATE INDEX users_t ON users USING gin (t gin_trgm_ops)",
        "CREATE INDEX users_department ON users (department)",
        "CREATE INDEX users_job_title ON users (job_title)",
        "CREATE INDEX users_status ON users (status)",
        "CREATE INDEX users_user_type ON users (user_type)",
        "CREATE INDEX users_origin ON users (origin)",
        "VACUUM ANALYZE users",
        "VACUUM ANALYZE user_roles",
        // Plan every execution with its own values, as the planner would for literal SQL: a generic plan
        // cannot see that one pattern is rare and another common.
        "SET plan_cache_mode = force_custom_plan",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    let indexed = started.elapsed() - loaded;
    let (index_bytes, total_bytes): (i64, i64) = sqlx::query_as(
        "SELECT pg_relation_size('users_t'), pg_total_relation_size('users') + pg_total_relation_size('user_roles')",
    )
    .fetch_one(&mut conn)
    .await?;
    let (version,): (String,) = sqlx::query_as("SHOW server_version").fetch_one(&mut conn).await?;
    println!(
        "\nPostgreSQL {version} pg_trgm: {} users loaded in {:.1} s, indexed (GIN gin_trgm_ops + filter b-trees) in {:.1} s; \
         trigram index {:.1} MiB, tables with indexes {:.1} MiB",
        users.len(),
        loaded.as_secs_f64(),
        indexed.as_secs_f64(),
        mib(index_bytes as f64),
        mib(total_bytes as f64)
    );

    let mut rows = Vec::new();
    let plan: [(usize, TextMode, &str); 6] = [
        (SUBSTRING, TextMode::Substring, "substring (ILIKE)"),
        (TYPO, TextMode::Similarity, "one-typo (t % q, similarity)"),
        (TYPO, TextMode::WordSimilarity, "one-typo (q <% t, word sim.)"),
        (TYPO, TextMode::Substring, "one-typo (ILIKE)"),
        (FILTERS, TextMode::Substring, "filter-only (ORDER BY id)"),
        (COMBINED, TextMode::Substring, "query+filters (ILIKE)"),
    ];
    for (s, mode, row_name) in plan {
        let set = &sets.sets[s].1;
        let statements: Vec<(String, Vec<Bind>)> = set.iter().map(|q| Dialect::Postgres.sql(q, mode)).collect();
        let mut timer = Timer::new();
        for (i, timed) in Timer::order(set.len()) {
            let (sql, binds) = &statements[i];
            let query = binds.iter().fold(sqlx::query(sql), |q, bind| match bind {
                Bind::Text(text) => q.bind(text.as_str()),
                Bind::Texts(values) => q.bind(values.as_slice()),
            });
            let started = Instant::now();
            query.fetch_all(&mut conn).await?;
            if timed && !timer.record(started) {
                break;
            }
        }
        let latencies = timer.latencies();
        let recall = if s == TYPO {
            let mut found = 0;
            for search in set {
                let row = sqlx::query(recall_sql(Dialect::Postgres, mode))
                    .bind(search.intended.unwrap_or(0) as i32)
                    .bind(recall_text(Dialect::Postgres, mode, search.text.as_deref().unwrap_or("")))
                    .fetch_optional(&mut conn)
                    .await?;
                found += usize::from(row.is_some());
            }
            Some((found, set.len()))
        } else {
            None
        };
        rows.push((row_name.to_string(), latencies, recall));
    }
    conn.close().await?;
    Ok(Alternative { name: "PostgreSQL pg_trgm (GIN on the lowercased text, LIMIT 10)", rows })
}

// ----------------------------------------------------------------------------------------------------------
// HTTP

/// The bodies of all sets, interleaved (one of each set in turn), with the set each came from.
fn interleave(sets: &Sets) -> Vec<(usize, String)> {
    let longest = sets.sets.iter().map(|(_, set)| set.len()).max().unwrap_or(0);
    let mut bodies = Vec::new();
    for i in 0..longest {
        for (s, (_, set)) in sets.sets.iter().enumerate() {
            if let Some(search) = set.get(i) {
                bodies.push((s, search.json()));
            }
        }
    }
    bodies
}

/// Runs the HTTP phase on its own thread (the server gets its own runtime, the load generator another).
async fn http(options: &Options, dir: PathBuf, bodies: Vec<(usize, String)>) -> Result<Http> {
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
    bodies: Vec<(usize, String)>,
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
    bodies: Vec<(usize, String)>,
) -> Result<Http> {
    std::fs::create_dir_all(&dir)?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        database_url: format!("sqlite:{}", dir.join("onramp.db").display()),
        data_dir: dir,
        public_url: None,
        log_format: LogFormat::Text,
        admin_email: "admin@bench.example".into(),
        smtp_url: None,
        mail_from: None,
        connections: Default::default(),
        trusted_proxies: Vec::new(),
        jobs: Default::default(),
        limits: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;

    // The users go in before the server starts, so that its index is built from the database as at any
    // start; the default tenant is made here as the first start would make it, keeping its credential.
    let store = server::open_store(&config).await?;
    let (tenant, issued) = admin::new_tenant("default", &config.admin_email, &addr.ip().to_string())?;
    if !store.bootstrap(&tenant).await? {
        return Err("the fresh database already has a default tenant".into());
    }
    let started = Instant::now();
    let rows = inputs(seed).take(count).map(Ok);
    let report =
        onramp_api::import::import_users(store.clone(), &Actor::system(tenant.tenant.id), rows, Default::default())
            .await?;
    let import = started.elapsed();
    if !report.errors.is_empty() {
        return Err(format!("{} rows failed to import, first: {:?}", report.errors.len(), report.errors[0]).into());
    }
    drop(store);

    let (stop, stopped) = oneshot::channel::<()>();
    let started = Instant::now();
    let server = server::start(&config, listener, async move {
        let _ = stopped.await;
    })
    .await?;
    let start = started.elapsed();
    let outcome = drive(addr, &issued, bodies, seconds, connections).await;
    let _ = stop.send(());
    server.wait().await?;
    let load = outcome?;
    Ok(Http { import, start, ..load })
}

/// Gets a token, checks that search answers, and runs the load generator on a thread of its own.
async fn drive(
    addr: SocketAddr,
    issued: &admin::IssuedCredential,
    bodies: Vec<(usize, String)>,
    seconds: u64,
    connections: usize,
) -> Result<Http> {
    let mut conn = Conn::open(addr).await?;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        percent_encode(&issued.client_id),
        percent_encode(issued.client_secret.expose())
    );
    let request = format!(
        "POST /auth/v1/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let response = conn.send(request.as_bytes()).await?;
    if response.status != 200 {
        return Err(format!("token request answered {}: {}", response.status, response.text()).into());
    }
    let token: serde_json::Value = serde_json::from_slice(&response.body)?;
    let token = token["access_token"].as_str().ok_or("the token response has no access_token")?.to_string();

    let requests: Vec<(usize, Vec<u8>)> =
        bodies.iter().map(|(s, body)| (*s, search_request(addr, &token, body))).collect();
    let probe = requests.iter().find(|(s, _)| *s == FILTERS).ok_or("no filter-only query")?;
    let response = conn.send(&probe.1).await?;
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
        let outcome = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::from)
            .map(|runtime| runtime.block_on(load(addr, Arc::new(requests), seconds, connections)));
        let _ = done.send(outcome);
    })?;
    outcome.await.map_err(|_| "the load generator thread panicked")?
}

fn search_request(addr: SocketAddr, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /api/v1/search/users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Default)]
struct ConnectionFigures {
    /// (set, nanoseconds) of every answered request.
    latencies: Vec<(usize, u64)>,
    non_ok: usize,
    failures: usize,
    first_error: Option<String>,
}

async fn load(addr: SocketAddr, requests: Arc<Vec<(usize, Vec<u8>)>>, seconds: u64, connections: usize) -> Http {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections.max(1))
        .map(|c| {
            let requests = requests.clone();
            tokio::spawn(connection(addr, requests, c * 7919, deadline))
        })
        .collect();
    let mut latencies = Vec::new();
    let (mut non_ok, mut failures, mut first_error) = (0, 0, None);
    for task in tasks {
        match task.await {
            Ok(figures) => {
                latencies.extend(figures.latencies);
                non_ok += figures.non_ok;
                failures += figures.failures;
                first_error = first_error.or(figures.first_error);
            }
            Err(join) => {
                failures += 1;
                first_error.get_or_insert(format!("a connection task failed: {join}"));
            }
        }
    }
    let elapsed = started.elapsed();
    let mut per_set: Vec<Vec<u64>> = vec![Vec::new(); 4];
    for (s, nanos) in &latencies {
        per_set[*s].push(*nanos);
    }
    Http {
        import: Duration::ZERO,
        start: Duration::ZERO,
        elapsed,
        requests: latencies.len(),
        non_ok,
        failures,
        first_error,
        all: Latencies::of(latencies.iter().map(|(_, n)| *n).collect()),
        per_set: per_set.into_iter().map(Latencies::of).collect(),
    }
}

/// One keep-alive connection sending requests back to back until the deadline.
async fn connection(
    addr: SocketAddr,
    requests: Arc<Vec<(usize, Vec<u8>)>>,
    first: usize,
    deadline: Instant,
) -> ConnectionFigures {
    let mut figures = ConnectionFigures::default();
    let mut conn: Option<Conn> = None;
    let mut next = first;
    while Instant::now() < deadline {
        let current = match conn.as_mut() {
            Some(current) => current,
            None => match Conn::open(addr).await {
                Ok(opened) => conn.insert(opened),
                Err(error) => {
                    figures.failures += 1;
                    figures.first_error.get_or_insert(format!("connect: {error}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let (set, request) = &requests[next % requests.len()];
        next += 1;
        let started = Instant::now();
        match current.send(request).await {
            Ok(response) => {
                figures.latencies.push((*set, started.elapsed().as_nanos() as u64));
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

/// An HTTP/1.1 client connection: enough of the protocol for a benchmark against onramp.
pub(crate) struct Conn {
    stream: TcpStream,
    buffer: Vec<u8>,
}

#[derive(Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server will close the connection after this response.
    pub close: bool,
}

impl Response {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).chars().take(2000).collect()
    }
}

impl Conn {
    pub(crate) async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buffer: Vec::with_capacity(64 * 1024) })
    }

    pub(crate) async fn send(&mut self, request: &[u8]) -> Result<Response> {
        self.stream.write_all(request).await?;
        loop {
            if let Some((response, used)) = parse_response(&self.buffer)? {
                self.buffer.drain(..used);
                return Ok(response);
            }
            if self.buffer.capacity() - self.buffer.len() < 4096 {
                self.buffer.reserve(64 * 1024);
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err("the server closed the connection".into());
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Parses one response from the start of `buffer`: `None` while it is incomplete, else the response and the
/// number of bytes it took. Bodies are delimited by `Content-Length` or chunked.
pub fn parse_response(buffer: &[u8]) -> Result<Option<(Response, usize)>, String> {
    let Some(head_end) = find(buffer, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..head_end]).map_err(|_| "response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| format!("bad Content-Length {value:?}"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let mut at = head_end + 4;
    if !chunked {
        let length = length.unwrap_or(0);
        if buffer.len() < at + length {
            return Ok(None);
        }
        let body = buffer[at..at + length].to_vec();
        return Ok(Some((Response { status, body, close }, at + length)));
    }
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(&buffer[at..], b"\r\n") else { return Ok(None) };
        let size_text = std::str::from_utf8(&buffer[at..at + line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size {size_text:?}"))?;
        at += line_end + 2;
        if size == 0 {
            // Trailers, if any, then an empty line.
            loop {
                let Some(line_end) = find(&buffer[at..], b"\r\n") else { return Ok(None) };
                at += line_end + 2;
                if line_end == 0 {
                    return Ok(Some((Response { status, body, close }, at)));
                }
            }
        }
        if buffer.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buffer[at..at + size]);
        at += size + 2;
    }
}

fn print_http(http: &Http, options: &Options, sets: &Sets) {
    println!(
        "import     {} users in {:.1} s (before the server starts); server start {:.2} s",
        options.count,
        http.import.as_secs_f64(),
        http.start.as_secs_f64()
    );
    println!(
        "requests   {} in {:.2} s = {:.0} searches/s; non-200: {}; connection failures: {}",
        http.requests,
        http.elapsed.as_secs_f64(),
        http.requests as f64 / http.elapsed.as_secs_f64(),
        http.non_ok,
        http.failures
    );
    println!("latency    p50 {}, p99 {}, max {}", ms(http.all.p50), ms(http.all.p99), ms(http.all.max));
    for (s, l) in http.per_set.iter().enumerate() {
        println!("  {:<15} n {:>7}  p50 {:>10}  p99 {:>10}", sets.sets[s].0, l.n, ms(l.p50), ms(l.p99));
    }
    if let Some(error) = &http.first_error {
        println!("first error: {error}");
    }
}

fn summary(in_process: &InProcess, http: Option<&Http>) {
    let verdict = |pass: bool| if pass { "PASS" } else { "MISS" };
    println!("\n== summary: the issue's targets ==");
    let p99 = in_process.latencies[COMBINED].p99;
    println!(
        "{:<40} {:>14}   target <= 1 ms          {}",
        "in-process p99, query+filters",
        ms(p99),
        verdict(p99 <= Duration::from_millis(1))
    );
    let (found, tried) = in_process.recall;
    let recall = 100.0 * found as f64 / tried.max(1) as f64;
    println!("{:<40} {:>12.2} %   target >= 99 %          {}", "one-typo recall", recall, verdict(recall >= 99.0));
    match http {
        Some(http) => {
            let rate = http.requests as f64 / http.elapsed.as_secs_f64();
            println!(
                "{:<40} {:>12.0}/s   target >= 10,000/s      {}",
                "HTTP searches/s",
                rate,
                verdict(rate >= 10_000.0 && http.non_ok == 0 && http.failures == 0)
            );
            println!(
                "{:<40} {:>14}   target 0                {}",
                "HTTP non-200 / failed requests",
                format!("{} / {}", http.non_ok, http.failures),
                verdict(http.non_ok == 0 && http.failures == 0)
            );
        }
        None => println!("{:<40} {:>14}   target >= 10,000/s      MISS", "HTTP searches/s", "failed"),
    }
    match in_process.resident_growth {
        Some(bytes) => {
            let mib = mib(bytes as f64);
            println!(
                "{:<40} {:>10.1} MiB   target <= 300 MiB       {}",
                "index resident memory",
                mib,
                verdict(mib <= 300.0)
            )
        }
        None => println!(
            "{:<40} {:>14}   target <= 300 MiB       MISS (heap_bytes {:.1} MiB)",
            "index resident memory",
            "unknown",
            mib(in_process.heap_bytes as f64)
        ),
    }
    let build = in_process.build.as_secs_f64();
    println!("{:<40} {:>12.2} s   target <= 10 s          {}", "index build", build, verdict(build <= 10.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions).
    fn damerau(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn damerau_reference() {
        assert_eq!(damerau("jennifer", "jennifer"), 0);
        assert_eq!(damerau("jennifer", "jenifer"), 1);
        assert_eq!(damerau("jennifer", "jennifre"), 1);
        assert_eq!(damerau("smith", "smyth"), 1);
        assert_eq!(damerau("smith", "smiths"), 1);
        assert_eq!(damerau("smith", "msith"), 1);
        assert_eq!(damerau("smith", "mstih"), 2);
    }

    #[test]
    fn a_typo_is_one_edit_away_and_long_enough() {
        let mut rng = Rng::new(3);
        for word in ["mary", "aaaa", "jennifer", "schroder", "ostergaard", "noemie", "lukasz", "abab"] {
            for _ in 0..2000 {
                let typo = one_typo(word, &mut rng);
                assert_eq!(damerau(word, &typo), 1, "{word} -> {typo}");
                assert!(typo.chars().count() >= 4, "{word} -> {typo}");
            }
        }
    }

    #[test]
    fn typo_queries_target_their_user() {
        let now = Timestamp::now();
        let users: Vec<User> = inputs(1).take(500).map(|i| i.into_new_user(Id::new(), now).unwrap()).collect();
        let mut rng = Rng::new(9);
        for _ in 0..500 {
            let (text, intended) = typo(&users, &mut rng);
            let name = normalize(&users[intended].display_name);
            let text = normalize(&text);
            assert!(name.split(' ').any(|word| damerau(word, &text) == 1), "{text} for {name}");
        }
    }

    #[test]
    fn sets_are_deterministic_and_substrings_are_long_enough() {
        let now = Timestamp::now();
        let users: Vec<User> = inputs(5).take(1000).map(|i| i.into_new_user(Id::new(), now).unwrap()).collect();
        let (a, b) = (Sets::generate(&users, 5), Sets::generate(&users, 5));
        for ((_, a), (_, b)) in a.sets.iter().zip(&b.sets) {
            assert_eq!(a.len(), SET_SIZE);
            assert_eq!(a.iter().map(|s| s.json()).collect::<Vec<_>>(), b.iter().map(|s| s.json()).collect::<Vec<_>>());
        }
        for search in &a.sets[SUBSTRING].1 {
            let text = normalize(search.text.as_deref().unwrap());
            assert!((3..=6).contains(&text.chars().count()), "{text:?}");
        }
        assert!(a.sets[FILTERS].1.iter().all(|s| s.text.is_none() && s.shape.is_some()));
    }

    #[test]
    fn inputs_have_roles_types_and_origins_in_proportion() {
        let now = Timestamp::now();
        let users: Vec<User> = inputs(2).take(20_000).map(|i| i.into_new_user(Id::new(), now).unwrap()).collect();
        let share = |f: &dyn Fn(&User) -> bool| users.iter().filter(|u| f(u)).count() as f64 / users.len() as f64;
        assert!((share(&|u| u.role_ids.contains(&BuiltinRole::BasicUser.id())) - 0.25).abs() < 0.02);
        assert!((share(&|u| u.user_type == UserType::Service) - 0.04).abs() < 0.01);
        assert!((share(&|u| u.origin == UserOrigin::Directory) - 0.4).abs() < 0.02);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let l = Latencies::of((1..=100).rev().collect());
        assert_eq!(
            (l.n, l.p50, l.p99, l.max),
            (100, Duration::from_nanos(50), Duration::from_nanos(99), Duration::from_nanos(100))
        );
        let one = Latencies::of(vec![7]);
        assert_eq!(
            (one.p50, one.p99, one.max),
            (Duration::from_nanos(7), Duration::from_nanos(7), Duration::from_nanos(7))
        );
        assert_eq!(Latencies::of(Vec::new()).n, 0);
    }

    #[test]
    fn reads_vmrss() {
        let status = "Name:\tonramp\nVmPeak:\t  2000 kB\nVmRSS:\t   1234 kB\nThreads:\t4\n";
        assert_eq!(parse_vmrss(status), Some(1234 * 1024));
        assert_eq!(parse_vmrss("Name:\tx\n"), None);
    }

    #[test]
    fn parses_responses() {
        let fixed = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: application/json\r\n\r\nhelloHTTP/1.1";
        let (response, used) = parse_response(fixed).unwrap().unwrap();
        assert_eq!((response.status, response.body.as_slice(), response.close, used), (200, &b"hello"[..], false, 75));
        assert_eq!(parse_response(&fixed[..74]).unwrap(), None);
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\ncontent-le").unwrap(), None);

        let chunked = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let (response, used) = parse_response(chunked).unwrap().unwrap();
        assert_eq!(
            (response.status, response.body.as_slice(), response.close, used),
            (400, &b"abcde"[..], true, chunked.len())
        );
        for cut in 0..chunked.len() {
            assert_eq!(parse_response(&chunked[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(parse_response(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn requests_and_forms() {
        assert_eq!(percent_encode("a b+c/d~"), "a%20b%2Bc%2Fd~");
        let body = Search { text: Some("jö".into()), roles: vec![BuiltinRole::Admin], ..Search::default() }.json();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["query"], "jö");
        assert_eq!(value["pageSize"], 10);
        assert_eq!(value["roleIds"][0], BuiltinRole::Admin.id().to_string());
        assert!(value.get("departments").is_none());
    }

    #[test]
    fn sql_for_each_dialect() {
        let search = Search {
            text: Some("O'Bri_".into()),
            departments: vec!["Sales".into()],
            exclude_types: vec![UserType::Human],
            roles: vec![BuiltinRole::Admin],
            ..Search::default()
        };
        let (sql, binds) = Dialect::Postgres.sql(&search, TextMode::Substring);
        assert_eq!(
            sql,
            "SELECT u.id FROM users u WHERE u.t ILIKE $1 AND u.department = ANY($2) AND u.user_type <> ALL($3) \
             AND u.id IN (SELECT user_id FROM user_roles WHERE role = ANY($4)) LIMIT 10"
        );
        assert!(matches!(&binds[0], Bind::Text(p) if p == "%o'bri\\_%"));
        let (sql, binds) = Dialect::Sqlite.sql(&search, TextMode::Substring);
        assert_eq!(
            sql,
            "SELECT u.id FROM fts JOIN users u ON u.id = fts.rowid WHERE fts MATCH ? AND u.department IN (?) \
             AND u.user_type NOT IN (?) AND u.id IN (SELECT user_id FROM user_roles WHERE role IN (?)) LIMIT 10"
        );
        assert!(matches!(&binds[0], Bind::Text(p) if p == "\"o'bri_\""));
        let filters = Search { statuses: vec![UserStatus::Disabled], ..Search::default() };
        let (sql, _) = Dialect::Sqlite.sql(&filters, TextMode::Substring);
        assert_eq!(sql, "SELECT u.id FROM users u WHERE u.status IN (?) ORDER BY u.id LIMIT 10");
    }
}
