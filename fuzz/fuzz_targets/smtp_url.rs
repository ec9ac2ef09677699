//! The SMTP URL (`onramp::mail::SmtpUrl`), which comes from configuration and may hold a password.
//!
//! Nothing may panic; a URL that parses describes itself without its password.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onramp::mail::SmtpUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(url) = SmtpUrl::parse(text) {
        let description = url.describe();
        if let Some((user, password)) = &url.credentials {
            assert!(description.contains(":[redacted]@"), "{description}");
            // The password would show as `:PASSWORD@`, unless the user name itself holds that text.
            let shown = format!(":{password}@");
            if !user.contains(password.as_str()) && password != "[redacted]" {
                assert!(!description.contains(&shown), "the description shows the password: {description}");
            }
        }
        let _ = url.lettre_credentials();
    }
});
