//! Tests of the index through its public API, and a property test against a brute-force oracle.

use onramp_domain::user::{AttributeSource, Sources, User, UserOrigin, UserStatus, UserType};
use onramp_domain::{Email, Id, Timestamp};
use proptest::prelude::*;

use crate::walk::FilterCache;
use crate::{Cursor, Entry, Hit, Index, Page, Query, QueryError, Rank, normalize};

fn id(n: u32) -> Id {
    let mut bytes = [0u8; 12];
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    Id::from_bytes(bytes)
}

fn entry(n: u32, name: &str, email: &str) -> Entry {
    Entry {
        id: id(n),
        display_name: name.into(),
        emails: vec![email.into()],
        usernames: Vec::new(),
        status: UserStatus::Enabled,
        user_type: UserType::Human,
        origin: UserOrigin::Local,
        role_ids: Vec::new(),
        manager_ids: Vec::new(),
        delegated_user_id: None,
        source_app_ids: Vec::new(),
        department: String::new(),
        job_title: String::new(),
    }
}

fn index_of(entries: impl IntoIterator<Item = Entry>) -> Index {
    let mut index = Index::new();
    for e in entries {
        index.upsert(e);
    }
    index
}

fn text(q: &str) -> Query {
    Query { text: Some(q.into()), ..Query::default() }
}

/// Every result of `query`, fetched in pages of `limit`.
fn all_pages(index: &Index, query: &Query, limit: usize) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = index.search(query, after, limit).unwrap();
        assert!(page.hits.len() <= limit);
        out.extend(page.hits.iter().copied());
        assert!(out.len() <= index.len(), "more results than users: paging repeats itself");
        match page.next {
            Some(cursor) => {
                assert_eq!(Some(cursor), page.hits.last().map(|h| Cursor { rank: h.rank, id: h.id }));
                assert_eq!(page.hits.len(), limit, "a page with a next cursor is full");
                after = Some(cursor);
            }
            None => return out,
        }
    }
}

fn ids_of(index: &Index, query: &Query) -> Vec<u32> {
    all_pages(index, query, 1000).iter().map(|h| number(h.id)).collect()
}

fn number(id: Id) -> u32 {
    let b = id.as_bytes();
    u32::from_be_bytes([b[8], b[9], b[10], b[11]])
}

fn ranked(index: &Index, q: &str) -> Vec<(Rank, u32)> {
    all_pages(index, &text(q), 1000).iter().map(|h| (h.rank, number(h.id))).collect()
}

fn people() -> Index {
    index_of([
        entry(1, "Ada Lovelace", "ada.lovelace@example.com"),
        entry(2, "Adam Smith", "adam.smith@example.com"),
        entry(3, "José García", "jose.garcia@example.com"),
        entry(4, "John Smith", "jsmith@example.com"),
        entry(5, "Jon Smyth", "jon@example.com"),
        entry(6, "Zoë Müller", "zoe@example.com"),
        entry(7, "Madalena Adams", "madalena@example.com"),
    ])
}

#[test]
fn exact_words_rank_first_then_prefixes() {
    let index = people();
    // "ada" is a whole word of 1; the beginning of "adam" (2) and "adams" (7); inside "madalena" (7 again).
    assert_eq!(ranked(&index, "ada"), [(Rank::Exact, 1), (Rank::Prefix, 2), (Rank::Prefix, 7)]);
    assert_eq!(ranked(&index, "SMITH"), [(Rank::Exact, 2), (Rank::Exact, 4), (Rank::Typo, 5)]);
    // "jon smyth" is one edit away from both words.
    assert_eq!(ranked(&index, "smith john"), [(Rank::Exact, 4), (Rank::Typo, 5)]);
}

#[test]
fn accents_do_not_matter_either_way() {
    let index = people();
    assert_eq!(ranked(&index, "jose garcia"), [(Rank::Exact, 3)]);
    assert_eq!(ranked(&index, "GARCÍA"), [(Rank::Exact, 3)]);
    assert_eq!(ranked(&index, "muller zoe"), [(Rank::Exact, 6)]);
    assert_eq!(ranked(&index, "Mül"), [(Rank::Prefix, 6)]);
}

#[test]
fn substring_rank() {
    let index = people();
    assert_eq!(ranked(&index, "ovela"), [(Rank::Substring, 1)]);
    assert_eq!(ranked(&index, "h@ex"), [(Rank::Substring, 2), (Rank::Substring, 4)]);
    // Two characters: exact via the field-end marker.
    assert_eq!(ranked(&index, "th"), [(Rank::Substring, 2), (Rank::Substring, 4), (Rank::Substring, 5)]);
    assert_eq!(ranked(&index, "ce"), [(Rank::Substring, 1)]);
    // The whole query, spaces included, inside one field.
    assert_eq!(ranked(&index, "da lovel"), [(Rank::Substring, 1)]);
    // ... but when every word begins a word, that is the better rank.
    assert_eq!(ranked(&index, "a lovel"), [(Rank::Prefix, 1)]);
    assert_eq!(ranked(&index, "lovelace ada"), [(Rank::Exact, 1)]);
    assert_eq!(ranked(&index, "ce ada"), []);
}

#[test]
fn typo_rank_needs_four_characters() {
    let index = people();
    assert_eq!(ranked(&index, "lovleace"), [(Rank::Typo, 1)]);
    assert_eq!(ranked(&index, "smiht"), [(Rank::Typo, 2), (Rank::Typo, 4)]);
    assert_eq!(ranked(&index, "jonh"), [(Rank::Typo, 4), (Rank::Typo, 5)]);
    assert_eq!(ranked(&index, "smyht jo"), [(Rank::Typo, 5)]);
    // "jom" is three characters: no typo matching.
    assert_eq!(ranked(&index, "jom"), []);
    // Two edits are too many.
    assert_eq!(ranked(&index, "lvoleace"), []);
}

#[test]
fn other_scripts_and_long_words() {
    let long = "x".repeat(300);
    let index = index_of([
        entry(1, "Ольга Петрова", "olga@example.com"),
        entry(2, "中村 愛子", "aiko@example.com"),
        entry(3, &format!("Long {long}"), "long@example.com"),
        entry(4, "Ольга Смирнова", "smirnova@example.com"),
    ]);
    assert_eq!(ranked(&index, "ОЛЬГА"), [(Rank::Exact, 1), (Rank::Exact, 4)]);
    assert_eq!(ranked(&index, "пет"), [(Rank::Prefix, 1)]);
    assert_eq!(ranked(&index, "етро"), [(Rank::Substring, 1)]);
    assert_eq!(ranked(&index, "петрвоа"), [(Rank::Typo, 1)]);
    assert_eq!(ranked(&index, "смирнва ольга"), [(Rank::Typo, 4)]);
    assert_eq!(ranked(&index, "中村"), [(Rank::Exact, 2)]);
    assert_eq!(ranked(&index, "村 愛"), [(Rank::Substring, 2)]);
    assert_eq!(ranked(&index, "愛子"), [(Rank::Exact, 2)]);
    assert_eq!(ranked(&index, "яя"), []);
    assert_eq!(ranked(&index, &long), [(Rank::Exact, 3)]);
    assert_eq!(ranked(&index, &format!("{long}y")), [(Rank::Typo, 3)]);
    assert_eq!(ranked(&index, &long[..200]), [(Rank::Prefix, 3)]);
}

#[test]
fn short_queries_are_refused_naming_the_field() {
    let index = people();
    for q in ["", "a", " é ", "\t"] {
        let err = index.search(&text(q), None, 10).unwrap_err();
        assert_eq!(err.field, "query");
        assert!(err.to_string().starts_with("invalid query: "), "{err}");
    }
    assert!(index.search(&text("ab"), None, 10).is_ok());
    let err: QueryError = index.search(&text("Ø"), None, 10).unwrap_err();
    assert_eq!(err.field, "query");
}

#[test]
fn oversized_queries_are_refused_naming_the_field() {
    use crate::{MAX_FILTER_VALUE_CHARS, MAX_FILTER_VALUES, MAX_QUERY_CHARS};
    let index = people();
    assert!(index.search(&text(&"ä".repeat(MAX_QUERY_CHARS)), None, 10).is_ok(), "characters, not bytes");
    let err = index.search(&text(&"a".repeat(MAX_QUERY_CHARS + 1)), None, 10).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.to_string()),
        ("query", "invalid query: must be at most 1000 characters long".into())
    );
    let long = "d".repeat(MAX_FILTER_VALUE_CHARS + 1);
    let query = Query { departments: vec!["x".into(), long.clone()], ..Query::default() };
    assert_eq!(index.search(&query, None, 10).unwrap_err().field, "departments[1]");
    let query = Query { email: Some(long), ..Query::default() };
    assert_eq!(index.search(&query, None, 10).unwrap_err().field, "email");
    let query = Query { ids: Some(vec![Id::from_bytes([0; 12]); MAX_FILTER_VALUES + 1]), ..Query::default() };
    assert_eq!(index.search(&query, None, 10).unwrap_err().field, "ids");
    let query = Query { job_titles: vec!["j".into(); MAX_FILTER_VALUES], ..Query::default() };
    assert!(index.search(&query, None, 10).is_ok());
}

#[test]
fn without_text_every_live_user_in_id_order() {
    let mut index = people();
    let mut deleted = entry(8, "Gone Person", "gone@example.com");
    deleted.status = UserStatus::Deleted;
    index.upsert(deleted);
    let mut unknown = entry(9, "Odd Person", "odd@example.com");
    unknown.status = UserStatus::Unknown;
    index.upsert(unknown);
    let mut disabled = entry(10, "Off Person", "off@example.com");
    disabled.status = UserStatus::Disabled;
    index.upsert(disabled);
    assert_eq!(index.len(), 10);
    assert_eq!(ids_of(&index, &Query::default()), [1, 2, 3, 4, 5, 6, 7, 10]);
    let only = |statuses: Vec<UserStatus>| ids_of(&index, &Query { statuses, ..Query::default() });
    assert_eq!(only(vec![UserStatus::Deleted]), [8]);
    assert_eq!(only(vec![UserStatus::Deleted, UserStatus::Disabled]), [8, 10]);
    assert_eq!(only(vec![UserStatus::Unknown]), [9]);
    assert_eq!(ids_of(&index, &Query { statuses: vec![UserStatus::Deleted], ..text("gone") }), [8]);
    assert_eq!(ids_of(&index, &text("gone")), Vec::<u32>::new());
}

fn filtered() -> Index {
    let (role_a, role_b, boss, app_x, app_y) = (id(100), id(101), id(1), id(200), id(201));
    let mut users = Vec::new();
    let mut u = entry(1, "Boss One", "boss@example.com");
    u.department = "Engineering".into();
    u.job_title = "Director".into();
    u.role_ids = vec![role_a];
    u.origin = UserOrigin::Directory;
    u.source_app_ids = vec![app_x];
    users.push(u);
    let mut u = entry(2, "Two Worker", "two@example.com");
    u.emails.push("Second.Two@Example.org".into());
    u.department = "engineering".into();
    u.job_title = "Engineer".into();
    u.role_ids = vec![role_a, role_b];
    u.manager_ids = vec![boss];
    u.delegated_user_id = Some(id(3));
    u.user_type = UserType::Service;
    users.push(u);
    let mut u = entry(3, "Three Helper", "three@example.com");
    u.department = "Sales".into();
    u.manager_ids = vec![boss];
    u.origin = UserOrigin::Directory;
    u.source_app_ids = vec![app_y];
    users.push(u);
    let mut u = entry(4, "Four Self", "four@example.com");
    u.delegated_user_id = Some(id(4));
    u.user_type = UserType::Agent;
    u.origin = UserOrigin::System;
    users.push(u);
    let mut u = entry(5, "Five Gone", "five@example.com");
    u.status = UserStatus::Deleted;
    u.delegated_user_id = Some(id(1));
    users.push(u);
    index_of(users)
}

#[test]
fn each_filter() {
    let index = filtered();
    let q = |f: fn(&mut Query)| {
        let mut query = Query::default();
        f(&mut query);
        ids_of(&index, &query)
    };
    assert_eq!(q(|_| {}), [1, 2, 3, 4]);
    assert_eq!(q(|q| q.email = Some("SECOND.two@example.ORG".into())), [2]);
    assert_eq!(q(|q| q.email = Some("two@example.com".into())), [2]);
    assert_eq!(q(|q| q.email = Some("two@example".into())), Vec::<u32>::new());
    assert_eq!(q(|q| q.email = Some("five@example.com".into())), Vec::<u32>::new());
    assert_eq!(q(|q| q.ids = Some(vec![id(3), id(1), id(77), id(5)])), [1, 3]);
    assert_eq!(q(|q| q.ids = Some(vec![])), Vec::<u32>::new());
    assert_eq!(q(|q| q.exclude_ids = vec![id(2), id(77)]), [1, 3, 4]);
    assert_eq!(q(|q| q.role_ids = vec![id(101)]), [2]);
    assert_eq!(q(|q| q.role_ids = vec![id(100), id(101)]), [1, 2]);
    assert_eq!(q(|q| q.role_ids = vec![id(999)]), Vec::<u32>::new());
    assert_eq!(q(|q| q.manager_ids = vec![id(1)]), [2, 3]);
    assert_eq!(q(|q| q.departments = vec!["ENGINEERING".into()]), [1, 2]);
    assert_eq!(q(|q| q.departments = vec!["sales".into(), "engineering".into()]), [1, 2, 3]);
    assert_eq!(q(|q| q.departments = vec!["engineer".into()]), Vec::<u32>::new());
    assert_eq!(q(|q| q.job_titles = vec!["engineer".into()]), [2]);
    assert_eq!(q(|q| q.exclude_types = vec![UserType::Service, UserType::Agent]), [1, 3]);
    assert_eq!(q(|q| q.origins = vec![UserOrigin::Directory]), [1, 3]);
    assert_eq!(q(|q| q.exclude_origins = vec![UserOrigin::Directory, UserOrigin::System]), [2]);
    assert_eq!(q(|q| q.source_app_ids = vec![id(201)]), [3]);
    assert_eq!(q(|q| q.delegated_user_ids = vec![id(3), id(1)]), [2]);
    assert_eq!(q(|q| q.has_delegate = Some(true)), [2, 4]);
    assert_eq!(q(|q| q.has_delegate = Some(false)), [1, 3]);
    // 1 is the delegate of a deleted user (any status counts); 4 only of itself.
    assert_eq!(q(|q| q.is_delegate = Some(true)), [1, 3]);
    assert_eq!(q(|q| q.is_delegate = Some(false)), [2, 4]);
    // All filters hold together.
    assert_eq!(
        q(|q| {
            q.role_ids = vec![id(100)];
            q.manager_ids = vec![id(1)]
        }),
        [2]
    );
    assert_eq!(
        q(|q| {
            q.departments = vec!["engineering".into()];
            q.exclude_ids = vec![id(1)]
        }),
        [2]
    );
}

#[test]
fn origins_or_source_apps_when_both_given() {
    let index = filtered();
    let q = |origins: Vec<UserOrigin>, apps: Vec<Id>| {
        ids_of(&index, &Query { origins, source_app_ids: apps, ..Query::default() })
    };
    assert_eq!(q(vec![UserOrigin::System], vec![]), [4]);
    assert_eq!(q(vec![], vec![id(200)]), [1]);
    assert_eq!(q(vec![UserOrigin::System], vec![id(200)]), [1, 4]);
    assert_eq!(q(vec![UserOrigin::Local], vec![id(201)]), [2, 3]);
    // The rest of the filters still hold.
    let query = Query {
        origins: vec![UserOrigin::System],
        source_app_ids: vec![id(200)],
        exclude_types: vec![UserType::Agent],
        ..Query::default()
    };
    assert_eq!(ids_of(&index, &query), [1]);
}

#[test]
fn delegation_follows_changes() {
    let mut index = filtered();
    let is_delegate = |index: &Index| ids_of(index, &Query { is_delegate: Some(true), ..Query::default() });
    // A delegate inserted after the user delegating to it.
    let mut six = entry(6, "Six", "six@example.com");
    six.delegated_user_id = Some(id(7));
    index.upsert(six.clone());
    assert_eq!(is_delegate(&index), [1, 3]);
    index.upsert(entry(7, "Seven", "seven@example.com"));
    assert_eq!(is_delegate(&index), [1, 3, 7]);
    // The delegator changes its delegate; then drops it.
    six.delegated_user_id = Some(id(3));
    index.upsert(six.clone());
    assert_eq!(is_delegate(&index), [1, 3]);
    let mut two = entry(2, "Two Worker", "two@example.com");
    two.delegated_user_id = None;
    index.upsert(two);
    assert_eq!(is_delegate(&index), [1, 3]);
    six.delegated_user_id = None;
    index.upsert(six);
    assert_eq!(is_delegate(&index), [1]);
    assert_eq!(ids_of(&index, &Query { has_delegate: Some(true), ..Query::default() }), [4]);
}

#[test]
fn upsert_replaces_every_old_value() {
    let (role, boss, app) = (id(100), id(50), id(200));
    let mut old = entry(1, "Grace Hopper", "grace@navy.example");
    old.usernames = vec!["ghopper".into()];
    old.department = "Navy".into();
    old.job_title = "Admiral".into();
    old.role_ids = vec![role];
    old.manager_ids = vec![boss];
    old.source_app_ids = vec![app];
    old.delegated_user_id = Some(id(2));
    old.origin = UserOrigin::Directory;
    old.user_type = UserType::Service;
    let mut index = index_of([old, entry(2, "Other Person", "other@example.com")]);
    let mut new = entry(1, "Ada Byron", "ada@math.example");
    new.status = UserStatus::Disabled;
    index.upsert(new);
    assert_eq!(index.len(), 2);
    let none: Vec<u32> = Vec::new();
    for q in ["grace", "hopper", "ghopper", "navy", "grac", "hoper", "race"] {
        assert_eq!(ids_of(&index, &text(q)), none, "{q}");
    }
    for q in ["ada", "byron", "math", "yro", "bryon"] {
        assert_eq!(ids_of(&index, &text(q)), [1], "{q}");
    }
    let filters = [
        Query { email: Some("grace@navy.example".into()), ..Query::default() },
        Query { departments: vec!["navy".into()], ..Query::default() },
        Query { job_titles: vec!["admiral".into()], ..Query::default() },
        Query { role_ids: vec![role], ..Query::default() },
        Query { manager_ids: vec![boss], ..Query::default() },
        Query { source_app_ids: vec![app], ..Query::default() },
        Query { delegated_user_ids: vec![id(2)], ..Query::default() },
        Query { has_delegate: Some(true), ..Query::default() },
        Query { is_delegate: Some(true), ..Query::default() },
        Query { origins: vec![UserOrigin::Directory], ..Query::default() },
        Query { statuses: vec![UserStatus::Enabled], exclude_ids: vec![id(2)], ..Query::default() },
    ];
    for query in &filters {
        assert_eq!(ids_of(&index, query), none, "{query:?}");
    }
    assert_eq!(ids_of(&index, &Query { email: Some("ADA@math.example".into()), ..Query::default() }), [1]);
    assert_eq!(ids_of(&index, &Query { exclude_types: vec![UserType::Service], ..Query::default() }), [1, 2]);
    assert_eq!(ids_of(&index, &Query { statuses: vec![UserStatus::Disabled], ..Query::default() }), [1]);
    // Same values again: nothing changes.
    index.upsert(entry(2, "Other Person", "other@example.com"));
    assert_eq!(ids_of(&index, &text("other person")), [2]);
}

#[test]
fn ids_inserted_out_of_order_come_out_in_order() {
    let order = [5u32, 1, 9, 3, 7, 2, 8, 4, 6, 10];
    let index = index_of(order.map(|n| entry(n, &format!("Sam Person{n}"), &format!("sam{n}@example.com"))));
    let all: Vec<u32> = (1..=10).collect();
    assert_eq!(ids_of(&index, &Query::default()), all);
    assert_eq!(ids_of(&index, &text("sam")), all);
    assert_eq!(ids_of(&index, &text("person")), all);
    for limit in 1..=4 {
        let pages: Vec<u32> = all_pages(&index, &text("pers"), limit).iter().map(|h| number(h.id)).collect();
        assert_eq!(pages, all);
    }
}

#[test]
fn many_late_users_across_blocks() {
    // Many late users, with successors in many blocks.
    let n = 12_000u32;
    let mut numbers: Vec<u32> = (0..n).collect();
    // A fixed shuffle: first a fifth in order, then the rest in a scrambled order.
    numbers[n as usize / 5..].sort_by_key(|x| x.wrapping_mul(2_654_435_761) % 7919);
    let names = ["Kim", "Lee", "Park", "Choi"];
    let index = index_of(numbers.iter().map(|&k| {
        let mut e = entry(k, &format!("{} {}", names[k as usize % 4], k % 10), &format!("u{k}@example.com"));
        e.status = if k % 3 == 0 { UserStatus::Disabled } else { UserStatus::Enabled };
        e
    }));
    let expect = |f: &dyn Fn(u32) -> bool| (0..n).filter(|&k| f(k)).collect::<Vec<_>>();
    assert_eq!(ids_of(&index, &Query::default()), expect(&|_| true));
    assert_eq!(ids_of(&index, &text("kim")), expect(&|k| k % 4 == 0));
    let disabled = Query { statuses: vec![UserStatus::Disabled], ..text("lee") };
    assert_eq!(ids_of(&index, &disabled), expect(&|k| k % 4 == 1 && k % 3 == 0));
    let paged: Vec<u32> = all_pages(&index, &text("park"), 7).iter().map(|h| number(h.id)).collect();
    assert_eq!(paged, expect(&|k| k % 4 == 2));
    // Exact ranks before prefix ranks: "kim 3" has the word "3" exactly only in names ending in 3.
    let hits = all_pages(&index, &text("kim 3"), 10);
    let exact: Vec<u32> = hits.iter().filter(|h| h.rank == Rank::Exact).map(|h| number(h.id)).collect();
    assert_eq!(exact, expect(&|k| k % 4 == 0 && k % 10 == 3));
}

#[test]
fn walks_split_with_a_helper_answer_as_one_walk() {
    // Tests have blocks of eight users, so 3,000 users are 375 blocks: every long walk hands its far half to a
    // helper (`walk.rs`). Users come late (ids out of order) among the first 1,200 and the last 100, so that
    // late users sit in both halves.
    let n = 3_000u32;
    let mut numbers: Vec<u32> = (0..n).collect();
    numbers[..1_200].sort_by_key(|x| x.wrapping_mul(2_654_435_761) % 7919);
    numbers[n as usize - 100..].reverse();
    let index = index_of(numbers.iter().map(|&k| {
        // "Rare" only among the last users, so that the near half of every walk finds none of them.
        let name = if k > n - 40 && k % 3 == 0 { "Rare Person" } else { ["Quinn Doe", "Avery Roe"][k as usize % 2] };
        let mut e = entry(k, name, &format!("u{k}@example.com"));
        e.status = if k % 5 == 0 { UserStatus::Disabled } else { UserStatus::Enabled };
        e.department = if k % 7 == 0 { "Research".into() } else { "Sales".into() };
        e
    }));
    let expect = |f: &dyn Fn(u32) -> bool| (0..n).filter(|&k| f(k)).collect::<Vec<_>>();
    let splits = || crate::walk::SPLITS.with(|s| s.get());
    let before = splits();
    // Every rank of "rare" (exact, then prefix and substring over the users' texts) walks all blocks.
    let rare = expect(&|k| k > n - 40 && k % 3 == 0);
    assert_eq!(ranked(&index, "rare"), rare.iter().map(|&k| (Rank::Exact, k)).collect::<Vec<_>>());
    assert_eq!(all_pages(&index, &text("rare"), 2), all_pages(&index, &text("rare"), 1000));
    assert_eq!(all_pages(&index, &text("rarr"), 3), all_pages(&index, &text("rarr"), 1000));
    // Filters, whose blocks the ranks share, with hits in both halves, in small pages.
    let research =
        Query { departments: vec!["research".into()], statuses: vec![UserStatus::Disabled], ..text("quinn") };
    let paged: Vec<u32> = all_pages(&index, &research, 4).iter().map(|h| number(h.id)).collect();
    assert_eq!(paged, expect(&|k| k % 2 == 0 && k % 35 == 0 && !(k > n - 40 && k % 3 == 0)));
    let filter_only = Query { departments: vec!["Research".into()], ..Query::default() };
    assert_eq!(all_pages(&index, &filter_only, 9), all_pages(&index, &filter_only, 1000));
    assert!(splits() > before, "no walk was split");
}

#[test]
fn paging_in_small_pages_equals_one_big_page() {
    let mut users = Vec::new();
    for n in 1..=40u32 {
        let first = ["Anna", "Annabel", "Hannah", "Ann", "Joanna"][n as usize % 5];
        users.push(entry(n, &format!("{first} Example"), &format!("{}{n}@example.com", first.to_lowercase())));
    }
    let index = index_of(users);
    for query in [text("ann"), text("anna"), text("annna"), Query::default(), text("nna")] {
        let big = index.search(&query, None, 1000).unwrap();
        assert_eq!(big.next, None);
        assert!(!big.hits.is_empty());
        for limit in [1, 3, 7] {
            assert_eq!(all_pages(&index, &query, limit), big.hits, "{query:?} {limit}");
        }
    }
    // Ranks come in order, and ids in order within a rank.
    let hits = index.search(&text("anna"), None, 1000).unwrap().hits;
    assert!(hits.windows(2).all(|w| (w[0].rank, w[0].id) < (w[1].rank, w[1].id)));
    assert_eq!(hits.first().map(|h| h.rank), Some(Rank::Exact));
    assert!(hits.iter().any(|h| h.rank == Rank::Substring));
    assert!(hits.iter().any(|h| h.rank == Rank::Typo));
    assert!(hits.iter().any(|h| h.rank == Rank::Prefix));
    // A zero-sized page is empty.
    assert_eq!(index.search(&text("anna"), None, 0).unwrap(), Page { hits: vec![], next: None });
}

#[test]
fn paging_survives_inserts_and_deletes_between_pages() {
    let mut index = index_of((1..=10).map(|n| entry(n * 10, "Pat Doe", &format!("pat{n}@example.com"))));
    let page = index.search(&text("pat"), None, 4).unwrap();
    assert_eq!(page.hits.iter().map(|h| number(h.id)).collect::<Vec<_>>(), [10, 20, 30, 40]);
    index.upsert(entry(5, "Pat Early", "early@example.com"));
    index.upsert(entry(45, "Pat Middle", "middle@example.com"));
    let mut gone = entry(50, "Pat Doe", "pat5@example.com");
    gone.status = UserStatus::Deleted;
    index.upsert(gone);
    let page = index.search(&text("pat"), page.next, 4).unwrap();
    assert_eq!(page.hits.iter().map(|h| number(h.id)).collect::<Vec<_>>(), [45, 60, 70, 80]);
}

#[test]
fn many_renames_compact_the_arenas() {
    let mut index = index_of((0..100).map(|n| entry(n, "Start Name", &format!("s{n}@example.com"))));
    for round in 0..400u32 {
        for n in 0..100u32 {
            let mut e =
                entry(n, &format!("Round{round} Person{n} {}", "x".repeat(20)), &format!("r{round}.{n}@ex.com"));
            e.role_ids = vec![id(1000 + round % 3), id(2000 + n)];
            index.upsert(e);
        }
    }
    assert_eq!(index.len(), 100);
    assert_eq!(ranked(&index, "round399 person7")[0], (Rank::Exact, 7));
    assert_eq!(ranked(&index, "round399 person7")[1], (Rank::Prefix, 70));
    // The old names are gone: only one-edit matches to the new ones remain.
    assert!(ranked(&index, "round398").iter().all(|(rank, _)| *rank == Rank::Typo));
    assert!(ranked(&index, "r398.7@ex.com").iter().all(|(rank, _)| *rank == Rank::Typo));
    assert_eq!(ranked(&index, "398."), []);
    assert_eq!(ranked(&index, "r399.7@ex.com")[0], (Rank::Exact, 7));
    assert_eq!(ids_of(&index, &Query { role_ids: vec![id(2042)], ..Query::default() }), [42]);
    assert_eq!(ids_of(&index, &Query { role_ids: vec![id(1000)], ..Query::default() }).len(), 100);
    assert_eq!(ids_of(&index, &Query { role_ids: vec![id(1000 + 398 % 3)], ..Query::default() }).len(), 0);
    assert!(index.heap_bytes() < 4 << 20, "{}", index.heap_bytes());
}

#[test]
fn the_index_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + Default>() {}
    shared::<Index>();
}

#[test]
fn heap_grows_with_users() {
    let empty = Index::new().heap_bytes();
    let index = index_of((0..2000).map(|n| entry(n, &format!("User {n}"), &format!("user{n}@example.com"))));
    assert!(index.heap_bytes() > empty + 2000 * 50, "{} {}", empty, index.heap_bytes());
    assert!(!index.is_empty());
}

#[test]
fn entry_from_user() {
    let now = Timestamp::from_micros(0);
    let mut user = User::new(id(8), Email::parse("Primary@Example.com").unwrap(), "Ada", now);
    user.id = id(9);
    user.emails = vec![Email::parse("other@example.com").unwrap(), Email::parse("primary@example.com").unwrap()];
    user.directory_ids = vec![id(300), id(301)];
    let source = |app: &str| AttributeSource {
        app_id: app.into(),
        app_user_id: String::new(),
        app_user_profile_attribute_key: String::new(),
        user_attribute_mapping_id: String::new(),
        value: String::new(),
        priority: 0,
    };
    user.sources = Sources {
        department_sources: vec![source(&id(301).to_string()), source("not an id")],
        username_sources: vec![source(&id(302).to_string().to_uppercase())],
        manager_sources: vec![source(&id(303).to_string()), source(&id(300).to_string())],
        ..Sources::default()
    };
    user.usernames = vec!["ada".into()];
    let e = Entry::from(&user);
    assert_eq!(e.id, id(9));
    assert_eq!(e.emails, ["primary@example.com", "other@example.com"]);
    // Directories first, then the apps of the nine source lists in order; unparseable ids are skipped.
    assert_eq!(e.source_app_ids, [id(300), id(301), id(303), id(302)]);
    assert_eq!(e.usernames, ["ada"]);

    // A primary missing from `emails` goes first.
    user.emails = vec![Email::parse("other@example.com").unwrap()];
    assert_eq!(Entry::from(&user).emails, ["primary@example.com", "other@example.com"]);
}

// ---------------------------------------------------------------------------------------------------------
// The oracle: the module doc's rules, written as plainly as possible over whole entries.

fn osa_distance(a: &[char], b: &[char]) -> usize {
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

fn split_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(String::from).collect()
}

fn oracle_rank(e: &Entry, query: &str) -> Option<Rank> {
    let q = normalize(query);
    let fields: Vec<String> =
        std::iter::once(&e.display_name).chain(&e.emails).chain(&e.usernames).map(|f| normalize(f)).collect();
    let user_words: Vec<String> = fields.iter().flat_map(|f| split_words(f)).collect();
    let query_words = split_words(&q);
    let every = |ok: &dyn Fn(&str) -> bool| !query_words.is_empty() && query_words.iter().all(|w| ok(w));
    let exact = every(&|w| user_words.iter().any(|u| u == w));
    let prefix = every(&|w| user_words.iter().any(|u| u.starts_with(w)));
    let substring = fields.iter().any(|f| f.contains(&q));
    let typo = every(&|w| {
        let wc: Vec<char> = w.chars().collect();
        user_words
            .iter()
            .any(|u| u.starts_with(w) || (wc.len() >= 4 && osa_distance(&wc, &u.chars().collect::<Vec<_>>()) <= 1))
    });
    [(exact, Rank::Exact), (prefix, Rank::Prefix), (substring, Rank::Substring), (typo, Rank::Typo)]
        .into_iter()
        .find(|(ok, _)| *ok)
        .map(|(_, rank)| rank)
}

fn oracle_filter(e: &Entry, all: &[Entry], q: &Query) -> bool {
    let any = |list: &[Id], have: &[Id]| list.is_empty() || list.iter().any(|x| have.contains(x));
    let live = [UserStatus::Enabled, UserStatus::Disabled];
    let statuses: &[UserStatus] = if q.statuses.is_empty() { &live } else { &q.statuses };
    let lower =
        |list: &[String], value: &str| list.is_empty() || list.iter().any(|x| x.to_lowercase() == value.to_lowercase());
    let is_delegate = all.iter().any(|o| o.id != e.id && o.delegated_user_id == Some(e.id));
    let origin_ok = q.origins.contains(&e.origin);
    let apps_ok = q.source_app_ids.iter().any(|a| e.source_app_ids.contains(a));
    let origins_or_apps = match (q.origins.is_empty(), q.source_app_ids.is_empty()) {
        (true, true) => true,
        (false, true) => origin_ok,
        (true, false) => apps_ok,
        (false, false) => origin_ok || apps_ok,
    };
    statuses.contains(&e.status)
        && q.ids.as_ref().is_none_or(|ids| ids.contains(&e.id))
        && !q.exclude_ids.contains(&e.id)
        && q.email.as_ref().is_none_or(|m| e.emails.iter().any(|x| normalize(x) == normalize(m)))
        && any(&q.role_ids, &e.role_ids)
        && any(&q.manager_ids, &e.manager_ids)
        && lower(&q.departments, &e.department)
        && lower(&q.job_titles, &e.job_title)
        && !q.exclude_types.contains(&e.user_type)
        && origins_or_apps
        && !q.exclude_origins.contains(&e.origin)
        && any(&q.delegated_user_ids, &e.delegated_user_id.into_iter().collect::<Vec<_>>())
        && q.has_delegate.is_none_or(|h| h == e.delegated_user_id.is_some())
        && q.is_delegate.is_none_or(|d| d == is_delegate)
}

/// Every result of `q` over the latest entry of each id, sorted by (rank, id).
fn oracle(entries: &[Entry], q: &Query) -> Result<Vec<Hit>, ()> {
    let mut latest: Vec<Entry> = Vec::new();
    for e in entries {
        match latest.iter_mut().find(|l| l.id == e.id) {
            Some(l) => *l = e.clone(),
            None => latest.push(e.clone()),
        }
    }
    if q.text.as_ref().is_some_and(|t| normalize(t).chars().count() < 2) {
        return Err(());
    }
    let mut hits: Vec<Hit> = latest
        .iter()
        .filter(|e| oracle_filter(e, &latest, q))
        .filter_map(|e| match &q.text {
            None => Some(Hit { id: e.id, rank: Rank::Exact }),
            Some(t) => oracle_rank(e, t).map(|rank| Hit { id: e.id, rank }),
        })
        .collect();
    hits.sort_by_key(|h| (h.rank, h.id));
    Ok(hits)
}

const FIRST: &[&str] = &["José", "Jose", "John", "Jon", "Jonh", "Zoë", "Søren", "Anna", "Ann", "Łukasz", "Mary-Ann"];
const LAST: &[&str] = &["Smith", "Smyth", "Müller", "Muller", "García", "Østergaard", "Stra\u{df}e", "O'Brien", ""];
const QUERIES: &[&str] = &[
    "jo",
    "jos",
    "josé",
    "jose",
    "JOSE GARCIA",
    "john",
    "jonh",
    "smith",
    "smiht",
    "smyth",
    "sm",
    "mith",
    "ith",
    "muller",
    "mueller",
    "zoe",
    "zoë m",
    "soren",
    "sören",
    "ann",
    "anna",
    "anna smith",
    "ary-an",
    "y-ann",
    "garcía",
    "garcai",
    "ostergaard",
    "østergard",
    "strasse",
    "strase",
    "brien",
    "o'b",
    "o b",
    "n s",
    "@ex",
    "example",
    "exmaple",
    ".com",
    "e.co",
    "lukasz",
    "łukas",
    "x",
    "a",
    "é",
    "  ",
    "-",
    "--",
    "j s",
    "jon smyth",
    "jo sm",
    "1",
    "12",
    "u1",
    "user1",
    "usr1",
];
const DEPARTMENTS: &[&str] = &["Eng", "eng", "Sales", "", "ÉTÉ"];

fn arb_pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    (0..items.len()).prop_map(move |i| items[i].clone())
}

fn pool_id() -> impl Strategy<Value = Id> {
    (0u32..24).prop_map(id)
}

fn arb_entry() -> impl Strategy<Value = Entry> {
    let names = (arb_pick(FIRST), arb_pick(LAST), 0u32..30, any::<bool>());
    let kinds = (
        arb_pick(UserStatus::ALL),
        arb_pick(UserType::ALL),
        arb_pick(UserOrigin::ALL),
        arb_pick(DEPARTMENTS),
        arb_pick(DEPARTMENTS),
    );
    let lists = (
        prop::collection::vec((100u32..103).prop_map(id), 0..3),
        prop::collection::vec(pool_id(), 0..2),
        prop::collection::vec((200u32..203).prop_map(id), 0..2),
        prop::option::of(pool_id()),
    );
    (pool_id(), names, kinds, lists).prop_map(
        |(id, (first, last, n, second_email), (status, user_type, origin, department, job_title), lists)| {
            let (role_ids, manager_ids, source_app_ids, delegated_user_id) = lists;
            let local = format!("{}.{}", normalize(first), normalize(last)).replace(' ', "");
            let mut emails = vec![format!("{local}{n}@example.com")];
            if second_email {
                emails.push(format!("{}@Other.Example", first.to_uppercase()));
            }
            Entry {
                id,
                display_name: format!("{first} {last}"),
                emails,
                usernames: if n % 3 == 0 { vec![format!("user{n}")] } else { vec![] },
                status,
                user_type,
                origin,
                role_ids,
                manager_ids,
                delegated_user_id,
                source_app_ids,
                department: department.to_string(),
                job_title: job_title.to_string(),
            }
        },
    )
}

fn arb_query() -> impl Strategy<Value = Query> {
    let text = prop::option::of(arb_pick(QUERIES).prop_map(String::from));
    let email = prop::option::weighted(
        0.15,
        prop_oneof![
            Just("JOSE.GARCIA1@example.com".to_string()),
            Just("anna@other.example".to_string()),
            Just("john.smith2@example.com".to_string()),
        ],
    );
    let ids = prop::option::weighted(0.2, prop::collection::vec(pool_id(), 0..4));
    let lists = (
        prop::collection::vec(pool_id(), 0..2),
        prop::collection::vec((100u32..103).prop_map(id), 0..2),
        prop::collection::vec(pool_id(), 0..2),
        prop::collection::vec(arb_pick(DEPARTMENTS).prop_map(String::from), 0..2),
        prop::collection::vec(arb_pick(DEPARTMENTS).prop_map(String::from), 0..2),
        prop::collection::vec(arb_pick(UserStatus::ALL), 0..3),
    );
    let more = (
        prop::collection::vec(arb_pick(UserType::ALL), 0..2),
        prop::collection::vec(arb_pick(UserOrigin::ALL), 0..2),
        prop::collection::vec(arb_pick(UserOrigin::ALL), 0..2),
        prop::collection::vec((200u32..203).prop_map(id), 0..2),
        prop::collection::vec(pool_id(), 0..2),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    );
    // Each filter is usually absent, so that results are not always empty.
    let sparse = prop::collection::vec(0u8..4, 13);
    (text, email, ids, lists, more, sparse).prop_map(|(text, email, ids, lists, more, sparse)| {
        let (exclude_ids, role_ids, manager_ids, departments, job_titles, statuses) = lists;
        let (exclude_types, origins, exclude_origins, source_app_ids, delegated_user_ids, has_delegate, is_delegate) =
            more;
        let keep = |i: usize| sparse[i] == 0;
        Query {
            text,
            email,
            ids,
            exclude_ids: if keep(0) { exclude_ids } else { vec![] },
            role_ids: if keep(1) { role_ids } else { vec![] },
            manager_ids: if keep(2) { manager_ids } else { vec![] },
            departments: if keep(3) { departments } else { vec![] },
            job_titles: if keep(4) { job_titles } else { vec![] },
            statuses: if keep(5) { statuses } else { vec![] },
            exclude_types: if keep(6) { exclude_types } else { vec![] },
            origins: if keep(7) { origins } else { vec![] },
            exclude_origins: if keep(8) { exclude_origins } else { vec![] },
            source_app_ids: if keep(9) { source_app_ids } else { vec![] },
            delegated_user_ids: if keep(10) { delegated_user_ids } else { vec![] },
            has_delegate: if keep(11) { has_delegate } else { None },
            is_delegate: if keep(12) { is_delegate } else { None },
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn search_agrees_with_the_oracle(
        entries in prop::collection::vec(arb_entry(), 0..40),
        queries in prop::collection::vec((arb_query(), 1usize..6), 1..6),
    ) {
        let index = index_of(entries.iter().cloned());
        for (query, limit) in &queries {
            let expected = oracle(&entries, query);
            let mut got = Vec::new();
            let mut after = None;
            let result = loop {
                match index.search(query, after, *limit) {
                    Err(e) => {
                        prop_assert_eq!(e.field, "query");
                        break Err(());
                    }
                    Ok(page) => {
                        prop_assert!(page.hits.len() <= *limit);
                        got.extend(page.hits);
                        prop_assert!(got.len() <= index.len(), "more results than users: paging repeats itself");
                        match page.next {
                            None => break Ok(got),
                            Some(cursor) => {
                                prop_assert!(got.len() < expected.as_ref().map_or(0, |e| e.len()) || expected.is_err(),
                                    "a next cursor after the last result");
                                after = Some(cursor);
                            }
                        }
                    }
                }
            };
            prop_assert_eq!(result, expected, "query {:?} limit {}", query, limit);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Searched in the middle of a bulk build, while the last users' grams wait in a batch, the index answers
    /// what the oracle does.
    #[test]
    fn a_bulk_build_answers_like_the_oracle_meanwhile(
        entries in prop::collection::vec(arb_entry(), 1..40),
        queries in prop::collection::vec(arb_query(), 1..6),
    ) {
        let mut index = Index::new();
        index.start_bulk();
        for e in &entries {
            index.upsert(e.clone());
        }
        for query in &queries {
            let got = index.search(query, None, 100).map(|page| page.hits).map_err(|_| ());
            prop_assert_eq!(got, oracle(&entries, query), "query {:?}", query);
        }
        index.finish_bulk();
    }
}

#[test]
fn users_whose_grams_wait_in_a_batch_are_found_and_a_snapshot_waits_for_the_end() {
    let mut entries: Vec<Entry> =
        (0..30).map(|n| entry(n, &format!("Person {n}"), &format!("p{n}@example.com"))).collect();
    entries.push(entry(30, "Grace Hopper", "grace@navy.example"));
    let mut index = Index::new();
    index.start_bulk();
    for e in &entries {
        index.upsert(e.clone());
    }
    assert!(index.grams.pending(), "the last user's grams wait");
    let expected = [("hopp", vec![(Rank::Prefix, 30)]), ("race", vec![(Rank::Substring, 30)])];
    for (q, hits) in &expected {
        assert_eq!(&ranked(&index, q), hits, "{q}");
    }
    let email = Query { email: Some("Grace@Navy.example".into()), ..Query::default() };
    assert_eq!(ids_of(&index, &email), [30]);
    assert!(index.write_snapshot(&mut Vec::new()).is_err(), "no snapshot of postings still to be applied");
    index.finish_bulk();
    assert!(!index.grams.pending());
    for (q, hits) in &expected {
        assert_eq!(&ranked(&index, q), hits, "{q}");
    }
    assert!(index.same_as(&index_of(entries)));
}

#[test]
fn searches_share_their_filters_until_the_index_changes() {
    let mut index = index_of((0..400u32).map(|n| {
        let mut e = entry(n, &format!("Person {n}"), &format!("p{n}@example.com"));
        e.department = format!("d{}", n % 40);
        e
    }));
    let cache = |index: &Index| index.filter_cache.lock().unwrap().bytes();
    let in_department = |d: u32, q: Option<&str>| Query {
        text: q.map(Into::into),
        departments: vec![format!("D{d}")],
        ..Query::default()
    };
    // Ten users each, spread over every block: each search evaluates the filter in every block.
    assert_eq!(ids_of(&index, &in_department(7, None)), (0..10).map(|k| 7 + 40 * k).collect::<Vec<_>>());
    let one = cache(&index);
    assert!(one > 0 && index.filter_cache.lock().unwrap().holds(&in_department(7, None)));
    // Another text with the same filters reads them: nothing more is cached.
    assert_eq!(ids_of(&index, &in_department(7, Some("person 47"))), [47]);
    assert_eq!(cache(&index), one);
    // Nor do the same filters written otherwise.
    let written_otherwise =
        Query { departments: vec!["d7".into(), "D7".into()], statuses: vec![UserStatus::Enabled], ..Query::default() };
    let same = Query { departments: vec!["D7".into()], statuses: vec![UserStatus::Enabled; 2], ..Query::default() };
    assert_eq!(ids_of(&index, &written_otherwise).len(), 10);
    let before = cache(&index);
    assert_eq!(ids_of(&index, &same).len(), 10);
    assert_eq!(cache(&index), before);
    // Filters naming users one by one are not kept.
    let by_id = Query { ids: Some(vec![id(7), id(8)]), ..in_department(7, None) };
    assert_eq!(ids_of(&index, &by_id), [7]);
    assert_eq!(cache(&index), before);
    // Every department in turn: the cache keeps to its share of the index, the oldest filters going first.
    for d in 0..40 {
        assert_eq!(ids_of(&index, &in_department(d, None)).len(), 10);
        assert!(cache(&index) <= 400 * FilterCache::BYTES_PER_USER + one, "{} bytes", cache(&index));
    }
    let held = index.filter_cache.lock().unwrap();
    assert!(held.holds(&in_department(39, None)) && !held.holds(&in_department(0, None)));
    drop(held);
    // A change empties it, and the next search sees the change.
    let mut moved = entry(47, "Person 47", "p47@example.com");
    moved.department = "d39".into();
    index.upsert(moved);
    assert_eq!(cache(&index), 0);
    assert_eq!(ids_of(&index, &in_department(39, None)).len(), 11);
    assert_eq!(ids_of(&index, &in_department(7, None)).len(), 9);
}

/// The index written to a snapshot and read back.
fn round_trip(index: &Index) -> Index {
    let mut bytes = Vec::new();
    index.write_snapshot(&mut bytes).unwrap();
    let (read, used) = Index::read_snapshot(&mut bytes.as_slice(), bytes.len() as u64 + 7).unwrap();
    assert_eq!(used, bytes.len() as u64, "the reader takes exactly what the writer wrote");
    assert!(snapshot_bytes(&read) == bytes, "read back as written, the word table's slots included");
    read
}

/// Every result of `query` in pages of `limit`, or the error.
fn paged(index: &Index, query: &Query, limit: usize) -> Result<Vec<Hit>, String> {
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = index.search(query, after, limit).map_err(|e| e.field)?;
        got.extend(page.hits);
        match page.next {
            None => return Ok(got),
            Some(cursor) => after = Some(cursor),
        }
    }
}

#[test]
fn snapshot_of_an_empty_index_and_of_a_renamed_one() {
    let empty = Index::new();
    assert!(round_trip(&empty).same_as(&empty));
    let mut index = people();
    let renamed = round_trip(&index);
    index.upsert(entry(2, "Grace Murray", "grace@example.com"));
    let mut read = round_trip(&index);
    assert!(read.same_as(&index));
    assert!(!renamed.same_as(&index), "the comparison sees a rename");
    assert_eq!(ranked(&read, "murray"), ranked(&index, "murray"));
    read.upsert(entry(9, "Ada Byron", "byron@example.com"));
    index.upsert(entry(9, "Ada Byron", "byron@example.com"));
    assert!(read.same_as(&index));
    assert_eq!(ranked(&read, "ada"), ranked(&index, "ada"));
    assert!(ranked(&read, "ada").contains(&(Rank::Exact, 9)));
}

#[test]
fn a_snapshot_cut_short_or_with_a_bad_count_is_refused() {
    let index = filtered();
    let mut bytes = Vec::new();
    index.write_snapshot(&mut bytes).unwrap();
    for cut in [0, 1, 8, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(Index::read_snapshot(&mut &bytes[..cut], cut as u64).is_err(), "cut at {cut}");
        assert!(Index::read_snapshot(&mut bytes.as_slice(), cut as u64).is_err(), "limited to {cut}");
    }
    // An absurd number of users is refused before anything is allocated for them.
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(Index::read_snapshot(&mut huge.as_slice(), huge.len() as u64).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A snapshot read back is the same index: equal parts, the oracle's answers, and the same answers after
    /// further upserts (renames and new users) to both.
    #[test]
    fn snapshot_round_trip_equals_the_index(
        entries in prop::collection::vec(arb_entry(), 0..40),
        later in prop::collection::vec(arb_entry(), 0..10),
        queries in prop::collection::vec((arb_query(), 1usize..6), 1..5),
    ) {
        let index = index_of(entries.iter().cloned());
        let mut read = round_trip(&index);
        prop_assert!(read.same_as(&index));
        for (query, limit) in &queries {
            let expected = oracle(&entries, query).map_err(|()| "query".to_string());
            prop_assert_eq!(paged(&read, query, *limit), expected, "query {:?}", query);
        }
        let mut index = index;
        let mut all = entries.clone();
        for e in later {
            index.upsert(e.clone());
            read.upsert(e.clone());
            all.push(e);
        }
        prop_assert!(read.same_as(&index));
        for (query, limit) in &queries {
            let expected = oracle(&all, query).map_err(|()| "query".to_string());
            prop_assert_eq!(paged(&read, query, *limit), expected, "after upserts, query {:?}", query);
        }
    }
}

#[test]
fn a_renamed_user_keeps_its_own_words_and_loses_the_old_ones() {
    // Words of one user are kept by their place in its text; a rename moves them.
    let mut index = Index::new();
    let mut ada = entry(1, "Ada Lovelace", "ada.lovelace.1815@example.com");
    ada.usernames = vec!["alovelace1815".into()];
    index.upsert(ada.clone());
    index.upsert(entry(2, "Charles Babbage", "charles@example.org"));
    assert_eq!(ids_of(&index, &text("alovelace1815")), [1]);
    ada.display_name = "Augusta Ada King Countess of Lovelace".into();
    ada.emails = vec!["countess@example.org".into(), "ada.lovelace.1815@example.com".into()];
    index.upsert(ada.clone());
    for word in ["alovelace1815", "1815", "countess", "augusta"] {
        assert_eq!(ids_of(&index, &text(word)), [1], "{word}");
    }
    // A typo finds the moved word too, and a second user sharing it makes no difference to the first.
    assert_eq!(ids_of(&index, &text("alovelace1816")), [1]);
    let mut other = entry(3, "Someone Else", "s@example.net");
    other.usernames = vec!["alovelace1815".into()];
    index.upsert(other);
    assert_eq!(ids_of(&index, &text("alovelace1815")), [1, 3]);
    ada.display_name = "Ada".into();
    ada.emails = vec!["ada@example.com".into()];
    ada.usernames = Vec::new();
    index.upsert(ada);
    assert_eq!(ids_of(&index, &text("alovelace1815")), [3]);
    assert!(ids_of(&index, &text("countess")).is_empty());
    // Only as a substring of the other user's username now.
    assert_eq!(ids_of(&index, &text("1815")), [3]);
    let mut bytes = Vec::new();
    index.write_snapshot(&mut bytes).unwrap();
    let (read, _) = Index::read_snapshot(&mut bytes.as_slice(), bytes.len() as u64).unwrap();
    assert_eq!(ids_of(&read, &text("alovelace1815")), [3]);
    assert_eq!(ids_of(&read, &text("ada")), [1]);
}

/// The snapshot bytes of an index.
fn snapshot_bytes(index: &Index) -> Vec<u8> {
    let mut bytes = Vec::new();
    index.write_snapshot(&mut bytes).unwrap();
    bytes
}

/// The snapshot bytes of an index but for its word table's, which are written as the table's slots lie, and
/// so depend on the order its words came in and on when it grew: two indexes built differently compare their
/// word tables by their words and postings (`same_as`), and everything else by these bytes.
fn snapshot_bytes_but_words(index: &Index) -> Vec<u8> {
    let mut bytes = snapshot_bytes(index);
    let mut words = Vec::new();
    index.words.write_snapshot(&mut crate::snapshot::Out::new(&mut words)).unwrap();
    let at = bytes.windows(words.len()).position(|w| w == words).expect("the word table is in the snapshot");
    bytes.drain(at..at + words.len());
    bytes
}

/// New users in id order, renames, users inserted out of order and repeated ids, and new users again.
fn mixed_entries() -> Vec<Entry> {
    let names = ["Ada Lovelace", "Grace Hopper", "Zoë Ødegård", "Jürgen Łukasz", "Alan Turing", "李 小龍"];
    let user = |n: u32| {
        let name = names[n as usize % names.len()];
        let mut e = entry(n, name, &format!("{}.{n}@d{}.example", normalize(name).replace(' ', "."), n % 30));
        e.usernames = vec![format!("u{}", n * 7919 % 100_000)];
        e.status = UserStatus::ALL[n as usize % UserStatus::ALL.len()];
        e.role_ids = vec![id(1_000_000 + n % 3)];
        e.delegated_user_id = n.is_multiple_of(5).then(|| id(n / 2));
        e.department = ["Eng", "Sales", ""][n as usize % 3].into();
        e
    };
    let mut entries: Vec<Entry> = (0..1500).map(|n| user(n * 2 + 10)).collect();
    // Renames of earlier users, and users between earlier ones, one by one and in short runs.
    for n in (0..400).step_by(7) {
        let mut renamed = user(n * 2 + 10);
        renamed.display_name = format!("Renamed {n} Person");
        renamed.emails.push(format!("second.{n}@other.example"));
        entries.push(renamed);
        entries.extend((0..n % 6).map(|k| user(n * 2 + 11 + 2 * k)));
    }
    entries.extend((0..5).map(|n| user(n * 2 + 10)));
    entries.extend((5000..6200).map(user));
    entries.push(user(6100));
    entries.extend((6200..6203).map(user));
    entries.extend((7000..7300).map(user));
    entries
}

#[test]
fn a_bulk_build_is_the_same_index_as_upserts_one_by_one() {
    let entries = mixed_entries();
    let one_by_one = index_of(entries.iter().cloned());
    let expected = snapshot_bytes_but_words(&one_by_one);
    let mut index = Index::new();
    index.start_bulk();
    for e in &entries {
        index.upsert(e.clone());
    }
    index.finish_bulk();
    assert!(index.same_as(&one_by_one));
    assert_eq!(snapshot_bytes_but_words(&index), expected);
    // The same on two threads (the postings lent while batches are applied, called home at each rename), in
    // several calls.
    let mut index = Index::new();
    index.start_bulk();
    let (head, tail) = entries.split_at(entries.len() / 3);
    index.upsert_all(head.iter().cloned());
    index.upsert_all(tail.iter().cloned());
    assert!(index.grams.pending(), "a batch still waits after upsert_all");
    index.finish_bulk();
    assert!(index.same_as(&one_by_one));
    assert_eq!(snapshot_bytes_but_words(&index), expected);
    // New users only, compacted (from 1,024 users under test) while the postings are lent: to the same
    // capacities as on one thread.
    let new_users = || entries[..1500].iter().cloned();
    let (mut one_thread, mut two_threads) = (Index::new(), Index::new());
    one_thread.start_bulk();
    new_users().for_each(|e| one_thread.upsert(e));
    one_thread.finish_bulk();
    two_threads.start_bulk();
    two_threads.upsert_all(new_users());
    two_threads.finish_bulk();
    assert!(two_threads.same_as(&one_thread));
    assert_eq!(two_threads.grams.heap_bytes(), one_thread.grams.heap_bytes(), "compacted as on one thread");
    for q in ["ada", "renamed 40", "odegard", "lukasz", "u79", "second", "d7.example", "grace hoper", "小龍"] {
        assert_eq!(ranked(&index, q), ranked(&one_by_one, q), "{q}");
    }
    assert_eq!(index.heap_bytes(), one_by_one.heap_bytes(), "nothing kept after finish_bulk");
    // Started on an index that already has renamed users (and so tombstones), and searched meanwhile.
    let (first, rest) = entries.split_at(1800);
    let mut index = index_of(first.iter().cloned());
    index.start_bulk();
    for (i, e) in rest.iter().enumerate() {
        index.upsert(e.clone());
        if i.is_multiple_of(500) {
            let expected = index_of(first.iter().chain(&rest[..=i]).cloned());
            assert_eq!(ranked(&index, "ada"), ranked(&expected, "ada"));
        }
    }
    index.finish_bulk();
    assert!(index.same_as(&one_by_one));
    assert_eq!(snapshot_bytes_but_words(&index), expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any sequence of upserts made in bulk builds the index upserting them one by one builds.
    #[test]
    fn bulk_upserts_equal_upserts_one_by_one(
        entries in prop::collection::vec(arb_entry(), 0..40),
        start in 0usize..40,
    ) {
        let one_by_one = index_of(entries.iter().cloned());
        let start = start.min(entries.len());
        let mut index = index_of(entries[..start].iter().cloned());
        index.start_bulk();
        for e in &entries[start..] {
            index.upsert(e.clone());
        }
        index.finish_bulk();
        prop_assert!(index.same_as(&one_by_one));
        prop_assert_eq!(snapshot_bytes_but_words(&index), snapshot_bytes_but_words(&one_by_one));
        // On two threads (`upsert_all`): the same, to the capacities one thread leaves.
        let one_thread = index;
        let mut index = index_of(entries[..start].iter().cloned());
        index.start_bulk();
        index.upsert_all(entries[start..].iter().cloned());
        index.finish_bulk();
        prop_assert!(index.same_as(&one_by_one));
        prop_assert_eq!(snapshot_bytes_but_words(&index), snapshot_bytes_but_words(&one_by_one));
        prop_assert_eq!(index.grams.heap_bytes(), one_thread.grams.heap_bytes());
    }
}
