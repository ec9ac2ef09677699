//! ConductorOne credential formats (`onramp_core::auth::client_secret`) and the HTTP Basic header of API keys
//! and invitees (`onramp_core::auth::api_key`): what the token endpoint and `/onboards` read from clients.
//!
//! Nothing may panic; a client id that parses is rebuilt exactly from its parts, and a stored public key that
//! decodes encodes back to the same text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onramp_core::auth::{api_key, client_secret};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = client_secret::parse(text) {
        let _ = key.verifying_key();
    }
    if let Some(parts) = client_secret::parse_client_id(text) {
        assert_eq!(format!("{}@{}/{}", parts.name, parts.host, parts.use_case), text, "client ids round-trip");
    }
    if let Ok(key) = client_secret::public_key_from_b64(text) {
        assert_eq!(client_secret::public_key_b64(&key), text, "stored public keys have one spelling");
    }
    let _ = api_key::basic_credentials(text);
    let _ = api_key::from_basic_header(text);
});
