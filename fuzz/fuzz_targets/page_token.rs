//! Page tokens (`onramp_api::paging::PageTokens`) and the search cursor they carry.
//!
//! The input is tried as a token: decoding must not panic, and a token that decodes is exactly the one
//! encoding its key would give (tokens have one spelling). It is also used as a sort key: encoding then
//! decoding gives it back, and any other query's fingerprint refuses the token.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onramp_api::paging::{PageTokens, fingerprint};
use onramp_api::routes::search::decode_cursor;

fuzz_target!(|data: &[u8]| {
    let tokens = PageTokens::new(vec![7; 32]);
    let query = fingerprint(&["fuzz", "tenant"]);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(Some(key)) = tokens.decode(Some(text), &query)
    {
        assert_eq!(tokens.encode(&query, &key), text, "a token that decodes is the canonical encoding");
        let _ = decode_cursor(&key);
    }
    let token = tokens.encode(&query, data);
    assert_eq!(tokens.decode(Some(&token), &query).ok().flatten().as_deref(), Some(data), "round trip");
    let other = fingerprint(&["fuzz", "other tenant"]);
    assert!(tokens.decode(Some(&token), &other).is_err(), "another query's token is refused");
    let _ = decode_cursor(data);
});
