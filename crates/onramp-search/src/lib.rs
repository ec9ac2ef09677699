//! The user search index of one tenant, held in memory and kept fresh by the caller (see `onramp-api`'s
//! `search` module): the database is the source of truth, and this index is rebuilt from it at start-up.
//!
//! Semantics (the contract the API and its tests rely on):
//!
//! Limits. A text of more than [`MAX_QUERY_CHARS`] characters, an `email`, department or job title of more
//! than [`MAX_FILTER_VALUE_CHARS`], and a list of more than [`MAX_FILTER_VALUES`] values are refused with
//! [`QueryError`] (`Query::check_limits`).
//!
//! Text. `Query::text` is normalised (lowercase, accents removed, whitespace collapsed and trimmed); a
//! normalised text shorter than 2 characters is refused with [`QueryError`]. It is matched against the
//! user's display name, every email and every username (each normalised the same way), and each matching
//! user gets a rank, best first:
//! 1. `Exact`: every word of the query is a whole word of the user (words split on anything that is not a
//!    letter or digit, so `ada.lovelace@example.com` has the words `ada`, `lovelace`, `example`, `com`);
//! 2. `Prefix`: every word of the query is a whole word or the beginning of a word of the user;
//! 3. `Substring`: the whole normalised query is a substring of one of the user's normalised fields;
//! 4. `Typo`: every word of the query is a whole word, a word's beginning, or (for query words of 4
//!    characters or more) a whole word within one edit (insertion, deletion, substitution or transposition of
//!    adjacent characters) of a word of the user.
//!
//! A user's rank is the best rank it qualifies for. Results come in (rank, id) order; without a text
//! query every user has the same rank and results are in id order.
//!
//! Filters. Every list filter matches users having any of the listed values, an empty list is no filter, and
//! all given filters must hold together — except `origins` and `source_app_ids`, which, when both are given,
//! match users satisfying either (the ConductorOne rule). `statuses` empty means ENABLED or DISABLED (deleted
//! users only when asked for). `email` matches any email of the user, case-insensitively, exactly.
//! Departments and job titles match case-insensitively, exactly.
//!
//! Pages. A page is the first `limit` results strictly after the cursor in (rank, id) order. A user that
//! stays unchanged keeps its rank and id, so paging while others are inserted, changed or deleted never
//! repeats it and never skips it.
//!
//! Details the rules above leave open, as implemented:
//! - A query with no word at all (only punctuation, such as `--`) can match only as a substring: "every word
//!   of the query" does not make every user an exact match.
//! - Normalisation is [`normalize`]: lowercase, canonical decomposition with combining marks dropped, a few
//!   letters folded by table (`ß` → `ss`, `æ` → `ae`, `œ` → `oe`, `ø` → `o`, `ł` → `l`, `đ`/`ð` → `d`, `þ` →
//!   `th`, ...), whitespace and control characters collapsed to one space, zero-width characters dropped.
//! - `email` compares the normalised forms, which for the ASCII addresses onramp accepts is a case-insensitive
//!   comparison. Departments and job titles compare character by character lowercased.
//! - `ids: Some(vec![])` matches nobody (`None` is no restriction). `is_delegate` counts delegations from
//!   other users only: a user naming itself as delegate is not a delegate for it.
//! - A page of `limit` 0 is empty, with no cursor.
//!
//! How it works is described in `index.rs`; at a million users, see `onramp-bench search`.

mod batch;
mod expr;
mod filters;
mod grams;
mod index;
mod normalize;
mod snapshot;
mod sparse;
mod tables;
#[cfg(test)]
mod tests;
mod text;
mod walk;

pub use index::Index;
pub use normalize::normalize;
pub use snapshot::LAYOUT as SNAPSHOT_LAYOUT;

use onramp_domain::Id;
use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};

/// What the index keeps of a user: the fields search matches and filters on.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: Id,
    pub display_name: String,
    /// Every email, the primary first; none for a user without an email.
    pub emails: Vec<String>,
    pub usernames: Vec<String>,
    pub status: UserStatus,
    pub user_type: UserType,
    pub origin: UserOrigin,
    pub role_ids: Vec<Id>,
    pub manager_ids: Vec<Id>,
    pub delegated_user_id: Option<Id>,
    /// The apps the user comes from: its directories and the apps named in its attribute sources.
    pub source_app_ids: Vec<Id>,
    pub department: String,
    pub job_title: String,
}

impl From<&User> for Entry {
    fn from(user: &User) -> Self {
        // The primary leads `emails` (none for a user without an email).
        let mut emails: Vec<String> = user.email.iter().map(|email| email.as_str().to_string()).collect();
        for email in &user.emails {
            if !emails.iter().any(|e| e == email.as_str()) {
                emails.push(email.as_str().to_string());
            }
        }
        let s = &user.sources;
        let attribute_apps = [
            &s.department_sources,
            &s.directory_status_sources,
            &s.email_sources,
            &s.employee_id_sources,
            &s.employment_status_sources,
            &s.employment_type_sources,
            &s.job_title_sources,
            &s.manager_sources,
            &s.username_sources,
        ]
        .into_iter()
        .flatten()
        .filter_map(|source| source.app_id.parse::<Id>().ok());
        let mut source_app_ids: Vec<Id> = Vec::new();
        for app in user.directory_ids.iter().copied().chain(attribute_apps) {
            if !source_app_ids.contains(&app) {
                source_app_ids.push(app);
            }
        }
        Entry {
            id: user.id,
            display_name: user.display_name.clone(),
            emails,
            usernames: user.usernames.clone(),
            status: user.status,
            user_type: user.user_type,
            origin: user.origin,
            role_ids: user.role_ids.clone(),
            manager_ids: user.manager_ids.clone(),
            delegated_user_id: user.delegated_user_id,
            source_app_ids,
            department: user.department.clone(),
            job_title: user.job_title.clone(),
        }
    }
}

/// A search. `Default` is "every live user".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Query {
    pub text: Option<String>,
    pub email: Option<String>,
    /// Restricts results to these ids (the request's `ids` and `refs` together); `None` is no restriction.
    pub ids: Option<Vec<Id>>,
    pub exclude_ids: Vec<Id>,
    pub role_ids: Vec<Id>,
    pub manager_ids: Vec<Id>,
    pub departments: Vec<String>,
    pub job_titles: Vec<String>,
    pub statuses: Vec<UserStatus>,
    pub exclude_types: Vec<UserType>,
    pub origins: Vec<UserOrigin>,
    pub exclude_origins: Vec<UserOrigin>,
    pub source_app_ids: Vec<Id>,
    pub delegated_user_ids: Vec<Id>,
    /// `Some(true)`: users with a delegate; `Some(false)`: users without one.
    pub has_delegate: Option<bool>,
    /// `Some(true)`: users who are the delegate of at least one other user (of any status).
    pub is_delegate: Option<bool>,
}

/// How well a user matched the text query, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    Exact = 0,
    Prefix = 1,
    Substring = 2,
    Typo = 3,
}

/// Where a page ended: the next page starts strictly after this (rank, id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// `Rank::Exact` when there is no text query.
    pub rank: Rank,
    pub id: Id,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub hits: Vec<Hit>,
    /// The cursor of the last hit when more results follow it; `None` on the last page.
    pub next: Option<Cursor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub id: Id,
    pub rank: Rank,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct QueryError {
    /// The request field at fault, as the wire names it (`query`, `departments[2]`).
    pub field: String,
    pub message: String,
}

/// The longest text query, in characters. Matching costs grow with the text (its words, their one-typo
/// variants, substring postings), and no name or email is longer.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// The longest value of a free-text filter (`email`, each department and job title), in characters: the
/// longest such field a user can have.
pub const MAX_FILTER_VALUE_CHARS: usize = 256;
/// The most values of one list filter (`ids` and `refs` together count as one).
pub const MAX_FILTER_VALUES: usize = 1_000;

impl Query {
    /// Checks the sizes this contract accepts, so that no request buys unbounded work: the text, each
    /// free-text value and each list. [`Index::search`] refuses what this refuses.
    pub fn check_limits(&self) -> Result<(), QueryError> {
        let refuse = |field: String, message: String| Err(QueryError { field, message });
        if self.text.as_ref().is_some_and(|text| text.chars().count() > MAX_QUERY_CHARS) {
            return refuse("query".into(), format!("must be at most {MAX_QUERY_CHARS} characters long"));
        }
        if self.email.as_ref().is_some_and(|email| email.chars().count() > MAX_FILTER_VALUE_CHARS) {
            return refuse("email".into(), format!("must be at most {MAX_FILTER_VALUE_CHARS} characters long"));
        }
        for (field, values) in [("departments", &self.departments), ("jobTitles", &self.job_titles)] {
            if let Some(at) = values.iter().position(|value| value.chars().count() > MAX_FILTER_VALUE_CHARS) {
                let message = format!("must be at most {MAX_FILTER_VALUE_CHARS} characters long");
                return refuse(format!("{field}[{at}]"), message);
            }
        }
        let lengths = [
            ("ids", self.ids.as_ref().map_or(0, Vec::len)),
            ("excludeIds", self.exclude_ids.len()),
            ("roleIds", self.role_ids.len()),
            ("managerIds", self.manager_ids.len()),
            ("departments", self.departments.len()),
            ("jobTitles", self.job_titles.len()),
            ("userStatuses", self.statuses.len()),
            ("excludeTypes", self.exclude_types.len()),
            ("origins", self.origins.len()),
            ("excludeOrigins", self.exclude_origins.len()),
            ("sourceAppIds", self.source_app_ids.len()),
            ("delegatedUserIds", self.delegated_user_ids.len()),
        ];
        match lengths.into_iter().find(|(_, length)| *length > MAX_FILTER_VALUES) {
            Some((field, _)) => refuse(field.into(), format!("must hold at most {MAX_FILTER_VALUES} values")),
            None => Ok(()),
        }
    }
}
