//! The SQL both alternatives of `onramp-bench search` run (SQLite FTS5 and PostgreSQL pg_trgm): a statement
//! per search and dialect, the recall check of a typo query, and the timer that runs a query set within its
//! budget.

use std::time::{Duration, Instant};

use onramp_domain::user::User;
use onramp_search::normalize;

use super::figures::Latencies;
use super::queries::{PAGE_SIZE, Search};

/// Longest time one alternative spends on one query set; a set cut short reports how many queries ran.
const ALTERNATIVE_BUDGET: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

/// How a text query is asked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TextMode {
    /// FTS5 `MATCH` of the quoted phrase (SQLite) or `ILIKE '%q%'` (PostgreSQL).
    Substring,
    /// PostgreSQL `t % q ORDER BY similarity(t, q) DESC`.
    Similarity,
    /// PostgreSQL `q <% t ORDER BY q <<-> t` (word similarity: the query against the best-matching part).
    WordSimilarity,
}

pub(super) enum Bind {
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
    pub(super) fn sql(self, search: &Search, mode: TextMode) -> (String, Vec<Bind>) {
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
pub(super) fn recall_sql(dialect: Dialect, mode: TextMode) -> &'static str {
    match (dialect, mode) {
        (Dialect::Sqlite, _) => "SELECT rowid FROM fts WHERE rowid = ? AND fts MATCH ?",
        (Dialect::Postgres, TextMode::Substring) => "SELECT id FROM users WHERE id = $1 AND t ILIKE $2",
        (Dialect::Postgres, TextMode::Similarity) => "SELECT id FROM users WHERE id = $1 AND t % $2",
        (Dialect::Postgres, TextMode::WordSimilarity) => "SELECT id FROM users WHERE id = $1 AND $2 <% t",
    }
}

pub(super) fn recall_text(dialect: Dialect, mode: TextMode, text: &str) -> String {
    match (dialect, mode) {
        (Dialect::Sqlite, _) => fts_phrase(text),
        (Dialect::Postgres, TextMode::Substring) => like_pattern(text),
        _ => normalize(text),
    }
}

/// The text the alternatives index: display name and emails, normalised.
pub(super) fn search_text(user: &User) -> String {
    let emails: Vec<&str> = user.emails.iter().map(|e| e.as_str()).collect();
    normalize(&format!("{} {}", user.display_name, emails.join(" ")))
}

/// Times the queries of one set on one alternative: the first few once untimed (to warm caches and the
/// statement cache), then every query in turn until [`ALTERNATIVE_BUDGET`] is spent.
pub(super) struct Timer {
    started: Option<Instant>,
    nanos: Vec<u64>,
}

const WARM_UP: usize = 20;

impl Timer {
    pub(super) fn new() -> Timer {
        Timer { started: None, nanos: Vec::new() }
    }

    /// The order to run a set of `len` queries in: (query index, timed).
    pub(super) fn order(len: usize) -> impl Iterator<Item = (usize, bool)> {
        (0..len.min(WARM_UP)).map(|i| (i, false)).chain((0..len).map(|i| (i, true)))
    }

    /// Records one timed query; false once the budget is spent.
    pub(super) fn record(&mut self, query_started: Instant) -> bool {
        self.nanos.push(query_started.elapsed().as_nanos() as u64);
        self.started.get_or_insert(query_started).elapsed() <= ALTERNATIVE_BUDGET
    }

    pub(super) fn latencies(self) -> Latencies {
        Latencies::of(self.nanos)
    }
}

#[cfg(test)]
mod tests {
    use onramp_domain::BuiltinRole;
    use onramp_domain::user::{UserStatus, UserType};

    use super::*;

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
