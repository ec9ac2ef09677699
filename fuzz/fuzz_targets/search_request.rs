//! The body of `POST /api/v1/search/users` (`onramp_api::routes::search::parse_search_request`), and the
//! parsed query run against a small in-memory index (`onramp_search::Index`), since query text reaches the
//! normaliser, the word and substring tables and the one-typo expansion.
//!
//! Nothing may panic, and a page never holds more hits than asked for.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onramp_api::routes::search::parse_search_request;
use onramp_domain::user::{User, UserStatus};
use onramp_domain::{Email, Id, Timestamp};
use onramp_search::{Entry, Index};

/// A few users with names that exercise accents, folded letters and several scripts.
fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = Index::new();
        let names = ["Ada Lovelace", "Zoë Ærøskøbing", "Łukasz Straße", "東京 太郎", "O'Brien-Smith", "İsmail Ünal"];
        for (n, name) in names.iter().enumerate() {
            let email = Email::parse(&format!("user{n}@example.com")).expect("an email");
            let mut user = User::new(Id::new(), email, *name, Timestamp::from_micros(0));
            user.department = if n % 2 == 0 { "Engineering".into() } else { "Sales".into() };
            user.status = if n == 5 { UserStatus::Disabled } else { UserStatus::Enabled };
            user.usernames = vec![format!("user.{n}")];
            index.upsert(Entry::from(&user));
        }
        index
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = parse_search_request(data) else { return };
    if let Ok(page) = index().search(&parsed.query, None, parsed.page_size) {
        assert!(page.hits.len() <= parsed.page_size);
        if let Some(cursor) = page.next {
            let _ = index().search(&parsed.query, Some(cursor), parsed.page_size);
        }
    }
});
