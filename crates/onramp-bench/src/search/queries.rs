//! The four query sets of `onramp-bench search`, drawn from the users and the seed: substrings of names and
//! emails, one-typo words, filters alone, and text with filters; and each search's request body.

use std::fmt;

use onramp_domain::BuiltinRole;
use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};
use onramp_search::{Query, normalize};

use super::data::{EXTRA_SEED, ROLE_SHARES, below, one_typo, pick};
use crate::synthetic::{DEPARTMENTS, JOB_TITLES, Rng};

/// Queries in each set.
pub const SET_SIZE: usize = 2000;
/// Results asked for by every query (`pageSize`).
pub const PAGE_SIZE: usize = 10;

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
        let field = if rng.unit() < 0.7 { user.display_name.as_str() } else { user.email_str() };
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
    /// The set called `name` (`substring`, `one-typo`, `filter-only` or `query+filters`).
    pub fn named(&self, name: &str) -> Result<&[Search], String> {
        let found = self.sets.iter().find(|(each, _)| *each == name).map(|(_, set)| set.as_slice());
        found.ok_or_else(|| {
            let names: Vec<&str> = self.sets.iter().map(|(each, _)| *each).collect();
            format!("no query set {name:?}: {}", names.join(", "))
        })
    }

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

#[cfg(test)]
mod tests {
    use onramp_domain::{Id, Timestamp};

    use super::super::data::{damerau, inputs};
    use super::*;

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
        // The examples take a set by its name.
        for (at, name) in ["substring", "one-typo", "filter-only", "query+filters"].into_iter().enumerate() {
            let named = a.named(name).unwrap();
            assert!(std::ptr::eq(named, a.sets[at].1.as_slice()), "{name}");
        }
        let unknown = a.named("typo").unwrap_err();
        assert!(unknown.contains("\"typo\"") && unknown.contains("one-typo, filter-only"), "{unknown}");
    }

    #[test]
    fn request_bodies() {
        let body = Search { text: Some("jö".into()), roles: vec![BuiltinRole::Admin], ..Search::default() }.json();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["query"], "jö");
        assert_eq!(value["pageSize"], 10);
        assert_eq!(value["roleIds"][0], BuiltinRole::Admin.id().to_string());
        assert!(value.get("departments").is_none());
    }
}
