//! The figures of `onramp-bench search`: latency percentiles, the resident memory of this process, and how
//! each part of the run is printed, ending with the summary against the targets of the search issue.

use std::time::Duration;

use super::Options;
use super::queries::{COMBINED, SET_SIZE, Sets};

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
}

/// What the HTTP phase measured.
pub(super) struct Http {
    pub(super) import: Duration,
    pub(super) start: Duration,
    pub(super) elapsed: Duration,
    pub(super) requests: usize,
    pub(super) non_ok: usize,
    pub(super) failures: usize,
    pub(super) first_error: Option<String>,
    pub(super) all: Latencies,
    pub(super) per_set: Vec<Latencies>,
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

pub(super) fn summary(in_process: &InProcess, http: Option<&Http>) {
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
