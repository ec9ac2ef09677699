//! The figures of `onramp-bench search`: latency percentiles, the resident memory of this process, and how
//! each part of the run is printed, ending with the summary against the targets of the search issue.

use std::time::Duration;

use onramp_core::search::ViewCacheStats;

use super::Options;
use super::library::TantivyFigures;
use super::queries::{SET_SIZE, Sets, TYPO};

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

pub(super) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

pub(super) fn ratio(alternative: Duration, onramp: Duration) -> String {
    if onramp.is_zero() {
        return "-".into();
    }
    let ratio = alternative.as_secs_f64() / onramp.as_secs_f64();
    if ratio < 10.0 { format!("x{ratio:.1}") } else { format!("x{ratio:.0}") }
}

pub(super) fn mib(bytes: f64) -> f64 {
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

pub(super) fn resident_bytes() -> Option<u64> {
    parse_vmrss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// What the in-process run measured.
pub(super) struct InProcess {
    pub(super) build: Duration,
    pub(super) resident_growth: Option<u64>,
    pub(super) heap_bytes: usize,
    pub(super) latencies: [Latencies; 4],
    pub(super) recall: (usize, usize),
}

/// One row of an alternative's table: what was run, its latencies, and (found, tried) for a typo set.
pub(super) type Row = (String, Latencies, Option<(usize, usize)>);

/// One alternative (SQLite FTS5 or PostgreSQL pg_trgm) on the same users and queries.
pub(super) struct Alternative {
    pub(super) name: &'static str,
    /// Set name, latencies, and (hits, tried) recall for typo sets.
    pub(super) rows: Vec<Row>,
    /// Time to load and index the users, where measured.
    pub(super) build: Option<Duration>,
    /// Size on disk (the database file), where measured.
    pub(super) disk_bytes: Option<u64>,
    /// Time from opening the database again to its first answer, where measured.
    pub(super) restart: Option<Duration>,
}

/// What the HTTP phase measured.
pub(super) struct Http {
    pub(super) import: Duration,
    pub(super) start: Duration,
    /// How long the load waited for the server's start-up snapshot to be written.
    pub(super) snapshot_wait: Duration,
    pub(super) elapsed: Duration,
    pub(super) requests: usize,
    pub(super) non_ok: usize,
    pub(super) failures: usize,
    pub(super) first_error: Option<String>,
    pub(super) all: Latencies,
    pub(super) per_set: Vec<Latencies>,
    /// `GET /healthz` under the same load, taking turns with search a second at a time: (requests, elapsed,
    /// non-200 or failed).
    pub(super) trivial: Option<(usize, Duration, usize)>,
    /// The server's view cache at the end of the load.
    pub(super) views: ViewCacheStats,
}

impl Http {
    pub(super) fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub(super) fn trivial_rate(&self) -> Option<f64> {
        self.trivial.map(|(requests, elapsed, _)| requests as f64 / elapsed.as_secs_f64())
    }
}

pub(super) fn print_alternative(alternative: &Alternative, onramp: &InProcess) {
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

pub(super) fn print_http(http: &Http, options: &Options, sets: &Sets) {
    println!(
        "import     {} users in {:.1} s (before the server starts); server start {:.2} s; then {:.2} s until its \
         start-up snapshot was written (the load waits for it)",
        options.count,
        http.import.as_secs_f64(),
        http.start.as_secs_f64(),
        http.snapshot_wait.as_secs_f64()
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
    let ViewCacheStats { views, bytes, hits, misses } = http.views;
    println!(
        "views      {:.1} % of the users on the pages came from the view cache ({hits} hits, {misses} read from the \
         database); it holds {views} views, {:.1} MiB",
        100.0 * hits as f64 / (hits + misses).max(1) as f64,
        mib(bytes as f64)
    );
    if let (Some((requests, elapsed, bad)), Some(rate)) = (http.trivial, http.trivial_rate()) {
        println!(
            "GET /healthz (a trivial JSON route, as many connections, in turns with search): {requests} in {:.2} s = {rate:.0}/s; \
             non-200 or failed: {bad}",
            elapsed.as_secs_f64()
        );
    }
    for (s, l) in http.per_set.iter().enumerate() {
        println!("  {:<15} n {:>7}  p50 {:>10}  p99 {:>10}", sets.sets[s].0, l.n, ms(l.p50), ms(l.p99));
    }
    if let Some(error) = &http.first_error {
        println!("first error: {error}");
    }
}

/// onramp's index, tantivy and FTS5 side by side: build, memory, disk, restart, p50/p99 per class, recall.
pub(super) fn side_by_side(onramp: &InProcess, tantivy: Option<&TantivyFigures>, sqlite: Option<&Alternative>) {
    println!("\n== side by side: onramp-search, tantivy, SQLite FTS5 (same users, same queries) ==");
    let opt_ms = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
    let opt_mib = |b: Option<u64>| b.map_or("-".to_string(), |b| format!("{:.1} MiB", mib(b as f64)));
    let restart = |d: Option<Duration>| d.map_or("-".to_string(), ms);
    let recall = |r: Option<(usize, usize)>| {
        r.map_or("-".to_string(), |(found, tried)| format!("{:.2} %", 100.0 * found as f64 / tried.max(1) as f64))
    };
    println!(
        "{:<22} {:>8} {:>13} {:>11} {:>13} {:>10}",
        "engine", "build", "resident +", "on disk", "restart", "typo recall"
    );
    let onramp_restart = "snapshot row".to_string();
    println!(
        "{:<22} {:>8} {:>13} {:>11} {:>13} {:>10}",
        "onramp-search",
        opt_ms(Some(onramp.build)),
        opt_mib(onramp.resident_growth),
        "- (memory)",
        onramp_restart,
        recall(Some(onramp.recall))
    );
    if let Some(t) = tantivy {
        println!(
            "{:<22} {:>8} {:>13} {:>11} {:>13} {:>10}",
            "tantivy",
            opt_ms(Some(t.build)),
            opt_mib(t.resident_growth),
            opt_mib(Some(t.disk_bytes)),
            restart(Some(t.restart)),
            recall(Some(t.recall))
        );
    }
    if let Some(a) = sqlite {
        println!(
            "{:<22} {:>8} {:>13} {:>11} {:>13} {:>10}",
            "SQLite FTS5",
            opt_ms(a.build),
            "-",
            opt_mib(a.disk_bytes),
            restart(a.restart),
            recall(a.rows.get(TYPO).and_then(|row| row.2))
        );
    }
    println!("p50 / p99 per class:");
    println!("{:<22} {:>21} {:>21} {:>21} {:>21}", "engine", "substring", "one-typo", "filter-only", "text+filters");
    let cells =
        |l: [Latencies; 4]| -> Vec<String> { l.iter().map(|l| format!("{} / {}", ms(l.p50), ms(l.p99))).collect() };
    let line = |name: &str, l: [Latencies; 4]| {
        let c = cells(l);
        println!("{name:<22} {:>21} {:>21} {:>21} {:>21}", c[0], c[1], c[2], c[3]);
    };
    line("onramp-search", onramp.latencies);
    if let Some(t) = tantivy {
        line("tantivy", std::array::from_fn(|s| t.latencies(s)));
    }
    if let Some(a) = sqlite {
        line("SQLite FTS5", std::array::from_fn(|s| a.rows.get(s).map(|row| row.1).unwrap_or_default()));
    }
}

/// The rows of issue #15's target table that belong to search, each with its figure and PASS or FAIL. Each
/// phase is None when it did not run (`--only`), and its rows are left out; `restart` and `http` are
/// Some(None) when the phase failed.
pub(super) fn summary(
    count: usize,
    index: Option<(&InProcess, Option<&TantivyFigures>)>,
    restart: Option<Option<Duration>>,
    http: Option<Option<&Http>>,
) {
    let row = |what: &str, figure: String, target: &str, verdict: &str| {
        println!("{what:<46} {figure:>16}   {target:<48} {verdict}");
    };
    println!("\n== summary: the targets of issue #15 that belong to search ==");
    if let Some((in_process, tantivy)) = index {
        index_rows(in_process, tantivy, row);
    }
    if let Some(restart) = restart {
        // A node back to serving search: its index started from its snapshot, caught up from the change
        // feed, and the first search answered (the restart phase). The issue sets 10 s at 10M, 1 s at 1M.
        let (limit, target) = if count >= 10_000_000 {
            (Duration::from_secs(10), "<= 10 s at 10M")
        } else {
            (Duration::from_secs(1), "<= 1 s at 1M")
        };
        match restart {
            Some(took) => row("restart of a node to serving search", ms(took), target, verdict(took <= limit)),
            None => row("restart of a node to serving search", "failed".into(), target, "FAIL"),
        }
    }
    if let Some(http) = http {
        http_rows(http, row);
    }
    if index.is_none() || restart.is_none() || http.is_none() {
        println!("(only some phases ran: the rows of the others are left out)");
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}

/// Memory, build, latency and recall.
fn index_rows(in_process: &InProcess, tantivy: Option<&TantivyFigures>, row: impl Fn(&str, String, &str, &str)) {
    // Index resident memory: at most 3 GiB, and at most 1.5 times tantivy's index *on disk* (its directory's
    // size after the merge to one segment), on the same users in the same run.
    let gib3 = 3.0 * 1024.0 * 1024.0 * 1024.0;
    match (in_process.resident_growth, tantivy) {
        (Some(bytes), Some(t)) => {
            let bound = 1.5 * t.disk_bytes as f64;
            row(
                "index resident memory",
                format!("{:.1} MiB", mib(bytes as f64)),
                &format!("<= 3 GiB and <= 1.5 x tantivy on disk ({:.1} MiB)", mib(bound)),
                verdict(bytes as f64 <= gib3 && bytes as f64 <= bound),
            );
        }
        (Some(bytes), None) => row(
            "index resident memory",
            format!("{:.1} MiB", mib(bytes as f64)),
            "<= 3 GiB and <= 1.5 x tantivy on disk (no tantivy)",
            "FAIL",
        ),
        (None, _) => row(
            "index resident memory",
            format!("unknown (heap {:.1} MiB)", mib(in_process.heap_bytes as f64)),
            "<= 3 GiB and <= 1.5 x tantivy on disk",
            "FAIL",
        ),
    }
    let build = in_process.build.as_secs_f64();
    row("index build from scratch", format!("{build:.2} s"), "<= 60 s", verdict(build <= 60.0));
    for (s, name) in ["substring", "one-typo", "filter-only", "text+filters"].iter().enumerate() {
        let p99 = in_process.latencies[s].p99;
        row(&format!("in-process p99, {name}"), ms(p99), "<= 2 ms", verdict(p99 <= Duration::from_millis(2)));
    }
    let (found, tried) = in_process.recall;
    let recall = 100.0 * found as f64 / tried.max(1) as f64;
    row("one-typo recall", format!("{recall:.2} %"), ">= 99 %", verdict(recall >= 99.0));
}

/// Searches per second over HTTP, alone and as a share of `/healthz`.
fn http_rows(http: Option<&Http>, row: impl Fn(&str, String, &str, &str)) {
    match http {
        Some(http) => {
            let clean = http.non_ok == 0 && http.failures == 0;
            let rate = http.rate();
            row(
                "POST /api/v1/search/users over HTTP",
                format!("{rate:.0}/s"),
                ">= 10,000 searches/s, none failed",
                verdict(rate >= 10_000.0 && clean),
            );
            match (http.trivial_rate(), http.trivial) {
                (Some(trivial), Some((_, _, bad))) => row(
                    "  ... as a share of GET /healthz",
                    format!("{:.1} %", 100.0 * rate / trivial),
                    &format!(">= 30 % of {trivial:.0}/s (same run)"),
                    verdict(rate >= 0.3 * trivial && bad == 0 && clean),
                ),
                _ => row("  ... as a share of GET /healthz", "not measured".into(), ">= 30 %", "FAIL"),
            }
            row("HTTP non-200 / failed requests", format!("{} / {}", http.non_ok, http.failures), "0", verdict(clean));
        }
        None => row("POST /api/v1/search/users over HTTP", "failed".into(), ">= 10,000 searches/s", "FAIL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
