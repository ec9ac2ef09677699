//! A rough in-crate measurement of the index at scale: build time, heap, and search latency for substring,
//! one-typo, filter-only and combined queries with pageSize 10.
//!
//! `cargo run --release -p onramp-search --example scale -- [users] [order]` where `order` is `in-order`
//! (default), `jitter` (5 % of users swapped with one up to 1,000 places earlier, which leaves most users
//! "late") or `shuffled`. The users follow `onramp::synthetic` (Zipf names, numbered emails and usernames,
//! departments, job titles) with the benchmark's roles, types and origins; the queries follow its four sets.
//!
//! Diagnosis: `QUERIES=a,b,c` times just those texts (`ROLE=n`, `DEPT=name` add filters, `REPEAT=n` runs);
//! `CLONE_ONLY=1` times the entries' cloning alone (part of the build time, as `User` → `Entry` is for callers).

use std::time::Instant;

use onramp_domain::Id;
use onramp_domain::user::{UserOrigin, UserStatus, UserType};
use onramp_search::{Entry, Index, Query};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FIRST: &str = "James John Robert Michael Mary William David Jennifer Richard Linda Maria Joseph Thomas Patricia \
    Elizabeth Charles Christopher Barbara Daniel Susan Jessica Matthew Sarah Anthony Karen Mark Nancy Donald Lisa \
    Steven Betty Paul Margaret Andrew Sandra Joshua Ashley Kenneth Kimberly Kevin Emily Brian Donna George Michelle \
    Timothy Carol Ronald Amanda Edward Dorothy Jason Melissa Jeffrey Deborah Ryan Stephanie Jacob Rebecca Gary \
    Sharon Nicholas Laura Eric Cynthia Jonathan Kathleen Stephen Amy Larry Angela Justin Shirley Scott Anna Brandon \
    Brenda Benjamin Pamela Samuel Emma Gregory Nicole Alexander Helen Frank Samantha Patrick Katherine Raymond \
    Christine Jack Debra Dennis Rachel Jerry Carolyn Tyler Janet Aaron José Zoë Renée Björn Søren Chloé François \
    Łukasz Ana Mateo Priya Wei Aiko Olga Kwame Fatima Ines Noémie Gregg";
const LAST: &str = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez \
    Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis \
    Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera \
    Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart \
    Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox \
    Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders \
    Patel Myers Long Ross Foster Jiménez Müller Østergaard Nakamura Kowalski Dubois Okafor Schröder Lindqvist Novák \
    Haddad";
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Support",
    "Finance",
    "Legal",
    "People",
    "Operations",
    "Product",
    "Design",
    "Security",
    "Research",
];
const TITLES: &[&str] = &[
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Engineering Manager",
    "Account Executive",
    "Sales Manager",
    "Marketing Specialist",
    "Support Engineer",
    "Accountant",
    "Counsel",
    "Recruiter",
    "Operations Analyst",
    "Product Manager",
    "Product Designer",
    "Security Engineer",
    "Research Scientist",
    "Director",
    "Vice President",
    "Intern",
    "Data Analyst",
];
const DOMAINS: &[&str] = &["acme.example", "globex.example", "initech.example", "umbrella.example"];
const ROLES: [f64; 4] = [0.25, 0.03, 0.005, 0.001];

fn zipf<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    let total: f64 = (1..=items.len()).map(|r| 1.0 / r as f64).sum();
    let mut target = rng.unit() * total;
    for (r, item) in items.iter().enumerate() {
        target -= 1.0 / (r + 1) as f64;
        if target < 0.0 {
            return item;
        }
    }
    items[items.len() - 1]
}

fn fold(s: &str) -> String {
    onramp_search::normalize(s).chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn role(n: u8) -> Id {
    Id::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n])
}

fn users(count: usize) -> Vec<Entry> {
    let first: Vec<&str> = FIRST.split_whitespace().collect();
    let last: Vec<&str> = LAST.split_whitespace().collect();
    let mut rng = Rng(7);
    (0..count)
        .map(|i| {
            let (f, l) = (zipf(&mut rng, &first), zipf(&mut rng, &last));
            let (fa, la) = (fold(f), fold(l));
            let domain = DOMAINS[rng.below(DOMAINS.len())];
            let mut id = [0u8; 12];
            id[..4].copy_from_slice(&(1_700_000_000u32 + (i / 1000) as u32).to_be_bytes());
            id[4..9].copy_from_slice(&[1, 2, 3, 4, 5]);
            id[9..].copy_from_slice(&(i as u32).to_be_bytes()[1..]);
            Entry {
                id: Id::from_bytes(id),
                display_name: format!("{f} {l}"),
                emails: vec![format!("{fa}.{la}.{i}@{domain}")],
                usernames: vec![format!("{}{la}{i}", &fa[..1])],
                status: if rng.unit() < 0.95 { UserStatus::Enabled } else { UserStatus::Disabled },
                user_type: match rng.unit() {
                    k if k < 0.04 => UserType::Service,
                    k if k < 0.05 => UserType::Agent,
                    _ => UserType::Human,
                },
                origin: if rng.unit() < 0.4 { UserOrigin::Directory } else { UserOrigin::Local },
                role_ids: (0..4u8).filter(|&r| rng.unit() < ROLES[r as usize]).map(|r| role(r + 1)).collect(),
                manager_ids: Vec::new(),
                delegated_user_id: None,
                source_app_ids: Vec::new(),
                department: DEPARTMENTS[rng.below(DEPARTMENTS.len())].into(),
                job_title: TITLES[rng.below(TITLES.len())].into(),
            }
        })
        .collect()
}

fn substring(users: &[Entry], rng: &mut Rng) -> String {
    loop {
        let u = &users[rng.below(users.len())];
        let field = if rng.unit() < 0.7 { &u.display_name } else { &u.emails[0] };
        let chars: Vec<char> = field.chars().collect();
        let len = (3 + rng.below(4)).min(chars.len());
        let start = rng.below(chars.len() - len + 1);
        let piece = &chars[start..start + len];
        if piece[0] == ' ' || piece[len - 1] == ' ' {
            continue;
        }
        return piece.iter().collect();
    }
}

fn typo(users: &[Entry], rng: &mut Rng) -> String {
    loop {
        let u = &users[rng.below(users.len())];
        let name = onramp_search::normalize(&u.display_name);
        let words: Vec<&str> = name.split(' ').filter(|w| w.chars().count() >= 4).collect();
        if words.is_empty() {
            continue;
        }
        let mut c: Vec<char> = words[rng.below(words.len())].chars().collect();
        let letter = (b'a' + rng.below(26) as u8) as char;
        match rng.below(4) {
            0 => c.insert(rng.below(c.len() + 1), letter),
            1 if c.len() > 4 => {
                c.remove(rng.below(c.len()));
            }
            2 => {
                let at = rng.below(c.len());
                if c[at] == letter {
                    continue;
                }
                c[at] = letter;
            }
            _ => {
                let at = rng.below(c.len() - 1);
                if c[at] == c[at + 1] {
                    continue;
                }
                c.swap(at, at + 1);
            }
        }
        return c.into_iter().collect();
    }
}

fn filters(rng: &mut Rng) -> Query {
    let dept = |rng: &mut Rng| DEPARTMENTS[rng.below(DEPARTMENTS.len())].to_lowercase();
    let title = |rng: &mut Rng| TITLES[rng.below(TITLES.len())].to_uppercase();
    let mut q = Query::default();
    match rng.below(11) {
        0 => q.departments = vec![dept(rng)],
        1 => q.job_titles = vec![title(rng)],
        2 => {
            q.departments = vec![dept(rng), dept(rng)];
            q.job_titles = vec![title(rng)];
        }
        3 => q.statuses = vec![UserStatus::Disabled],
        4 => q.role_ids = vec![role(1 + rng.below(4) as u8)],
        5 => q.exclude_types = vec![UserType::Human],
        6 => {
            q.origins = vec![UserOrigin::Directory];
            q.statuses = vec![UserStatus::Disabled];
        }
        7 => {
            q.departments = vec![dept(rng)];
            q.job_titles = vec![title(rng)];
            q.role_ids = vec![role(4)];
        }
        8 => {
            q.departments = vec![dept(rng)];
            q.statuses = vec![UserStatus::Disabled];
            q.exclude_types = vec![UserType::Human];
            q.origins = vec![UserOrigin::Local];
        }
        9 => {
            q.job_titles = vec![title(rng)];
            q.role_ids = vec![role(3)];
            q.origins = vec![UserOrigin::Directory];
        }
        _ => {
            q.exclude_types = vec![UserType::Service, UserType::Agent];
            q.role_ids = vec![role(1)];
        }
    }
    q
}

fn resident() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse::<usize>().ok().map(|kib| kib * 1024)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(1_000_000, |a| a.parse().expect("a number of users"));
    let order = args.next().unwrap_or_else(|| "in-order".into());
    let mut all = users(count);
    let mut rng = Rng(42);
    match order.as_str() {
        "in-order" => {}
        "jitter" => {
            for i in 0..all.len() {
                if rng.unit() < 0.05 {
                    let j = i.saturating_sub(rng.below(1000));
                    all.swap(i, j);
                }
            }
        }
        "shuffled" => {
            for i in (1..all.len()).rev() {
                all.swap(i, rng.below(i + 1));
            }
        }
        other => panic!("unknown order {other}"),
    }
    let before = resident();
    let started = Instant::now();
    let mut index = Index::new();
    if std::env::var_os("CLONE_ONLY").is_some() {
        for e in &all {
            std::hint::black_box(e.clone());
        }
        println!("cloning only: {:.2} s", started.elapsed().as_secs_f64());
        return;
    }
    for e in &all {
        index.upsert(e.clone());
    }
    let build = started.elapsed();
    let after = resident();
    println!(
        "{count} users ({order}): build {:.2} s, heap_bytes {:.1} MiB, resident growth {:.1} MiB",
        build.as_secs_f64(),
        index.heap_bytes() as f64 / 1048576.0,
        before.zip(after).map_or(f64::NAN, |(b, a)| a.saturating_sub(b) as f64 / 1048576.0)
    );

    for (part, bytes) in index.heap_report() {
        println!("    {part:>14}: {:>7.1} MiB", bytes as f64 / 1048576.0);
    }
    if let Ok(texts) = std::env::var("QUERIES") {
        for text in texts.split(',') {
            let mut q = Query { text: Some(text.into()), ..Query::default() };
            if let Ok(r) = std::env::var("ROLE") {
                q.role_ids = vec![role(r.parse().unwrap())];
            }
            if let Ok(d) = std::env::var("DEPT") {
                q.departments = vec![d];
            }
            let mut times = Vec::new();
            let repeat: usize = std::env::var("REPEAT").map_or(20, |r| r.parse().unwrap());
            for _ in 0..repeat {
                let t = Instant::now();
                let page = index.search(&q, None, 10).unwrap();
                times.push(t.elapsed().as_nanos() as f64 / 1000.0);
                std::hint::black_box(page);
            }
            let page = index.search(&q, None, 10).unwrap();
            println!("{text:?}: {:?} µs; {:?}", &times[..5], page.hits.iter().map(|h| h.rank).collect::<Vec<_>>());
        }
        return;
    }
    let sets: Vec<(&str, Vec<Query>)> = vec![
        ("substring", (0..2000).map(|_| Query { text: Some(substring(&all, &mut rng)), ..Query::default() }).collect()),
        ("one-typo", (0..2000).map(|_| Query { text: Some(typo(&all, &mut rng)), ..Query::default() }).collect()),
        ("filter-only", (0..2000).map(|_| filters(&mut rng)).collect()),
        (
            "query+filters",
            (0..2000)
                .map(|_| {
                    let text = if rng.unit() < 0.7 { substring(&all, &mut rng) } else { typo(&all, &mut rng) };
                    Query { text: Some(text), ..filters(&mut rng) }
                })
                .collect(),
        ),
    ];
    for (name, queries) in &sets {
        for q in queries {
            let _ = index.search(q, None, 10);
        }
        let mut nanos: Vec<(u128, &Query)> = queries
            .iter()
            .map(|q| {
                let t = Instant::now();
                let page = index.search(q, None, 10);
                std::hint::black_box(page.ok());
                (t.elapsed().as_nanos(), q)
            })
            .collect();
        nanos.sort_by_key(|n| n.0);
        let at = |p: f64| nanos[((nanos.len() as f64 * p) as usize).min(nanos.len() - 1)].0 as f64 / 1000.0;
        println!(
            "{name:>14}: p50 {:>7.1} µs  p90 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs",
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0)
        );
        for (n, q) in nanos.iter().rev().take(3) {
            println!("    {:>8.1} µs  {:?}", *n as f64 / 1000.0, (q.text.as_deref(), &q.departments, &q.role_ids));
        }
    }
}
