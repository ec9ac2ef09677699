//! The in-process part of `onramp-bench search`: the `onramp-search` index built from the users in this
//! process (build time, resident memory), every query set timed one query at a time, and the one-typo recall.

use std::time::{Duration, Instant};

use onramp_domain::user::User;
use onramp_search::Query;

use super::data::build_index;
use super::figures::{InProcess, Latencies, mib, ms, resident_bytes};
use super::queries::{FILTER_SHAPES, FILTERS, PAGE_SIZE, Search, Sets, TYPO};

/// Builds the index, runs every set against it and prints the figures.
pub(super) fn in_process(users: &[User], sets: &Sets) -> InProcess {
    println!("\n== in-process: onramp-search ==");
    let before = resident_bytes();
    let started = Instant::now();
    let index = build_index(users);
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
    let parts: Vec<String> = index
        .heap_report()
        .into_iter()
        .map(|(part, bytes)| format!("{part} {:.0}", bytes as f64 / users.len().max(1) as f64))
        .collect();
    println!("           bytes/user by part: {}", parts.join(", "));

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
