//! The SMTP server URL: `smtp://HOST[:PORT]` (plain, port 25), `smtp://USER:PASS@HOST[:PORT]?tls=required`
//! (STARTTLS, port 587; `tls=opportunistic` upgrades only when the server offers it) or
//! `smtps://USER:PASS@HOST[:PORT]` (TLS from the first byte, port 465).
//!
//! onramp parses the URL itself rather than handing it to lettre, so that a mistake is refused at start
//! with a message that names it, and so that no message ever repeats the URL, which may hold a password.

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use url::Url;

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// No TLS: for a relay on the same host or network.
    Plain,
    /// STARTTLS, refusing to go on without it.
    StartTls,
    /// STARTTLS when the server offers it, else plain.
    Opportunistic,
    /// Implicit TLS (`smtps://`).
    Wrapper,
}

/// A parsed SMTP URL. Its `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// (user, password), percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<SmtpUrl, String> {
        // The parser's own errors never quote the input, so they may be shown.
        let url = Url::parse(text.trim()).map_err(|error| format!("not a URL ({error})"))?;
        let tls = {
            let mut tls = None;
            for (key, value) in url.query_pairs() {
                match key.as_ref() {
                    "tls" if tls.is_none() => tls = Some(value.into_owned()),
                    "tls" => return Err("the tls parameter is given twice".into()),
                    // The key is not quoted: a password with an unescaped `?` would otherwise be echoed.
                    _ => {
                        return Err("an unknown query parameter (the only one is tls); percent-encode `?`, `#` and \
                                    `/` in the user name or password"
                            .into());
                    }
                }
            }
            tls
        };
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("none")) => Security::Plain,
            ("smtp", Some("required")) => Security::StartTls,
            ("smtp", Some("opportunistic")) => Security::Opportunistic,
            ("smtp", Some(other)) => {
                return Err(format!("tls={other} is not one of required, opportunistic, none"));
            }
            ("smtps", None) => Security::Wrapper,
            ("smtps", Some(_)) => return Err("smtps:// is TLS already and takes no tls parameter".into()),
            (other, _) => return Err(format!("the scheme must be smtp:// or smtps://, not {other}://")),
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(host) => host.to_string(),
            None => return Err("no host".into()),
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err("a path or fragment after the host is not allowed".into());
        }
        let port = url.port().unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls | Security::Opportunistic => 587,
            Security::Wrapper => 465,
        });
        let decode = |part: &str, what: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|decoded| decoded.into_owned())
                .map_err(|_| format!("the {what} is not UTF-8 once percent-decoded"))
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(password)) if !user.is_empty() => Some((decode(user, "user")?, decode(password, "password")?)),
            ("", Some(_)) => return Err("a password without a user".into()),
            (_, _) => return Err("a user without a password (write smtp://USER:PASSWORD@HOST)".into()),
        };
        if credentials.is_some() && security == Security::Plain && !is_loopback(&host) {
            return Err(
                "a password would cross the network in the clear: add ?tls=required (STARTTLS) or use smtps://".into(),
            );
        }
        Ok(SmtpUrl { host, port, security, credentials })
    }

    /// The URL without the password, for logs.
    pub fn describe(&self) -> String {
        let scheme = if self.security == Security::Wrapper { "smtps" } else { "smtp" };
        let user = self.credentials.as_ref().map(|(user, _)| format!("{user}:[redacted]@")).unwrap_or_default();
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let tls = match self.security {
            Security::StartTls => "?tls=required",
            Security::Opportunistic => "?tls=opportunistic",
            Security::Plain | Security::Wrapper => "",
        };
        format!("{scheme}://{user}{host}:{}{tls}", self.port)
    }

    /// lettre's TLS setting for this URL, checking server certificates against Mozilla's roots.
    pub fn tls(&self) -> Result<Tls, String> {
        let parameters = || TlsParameters::new(self.host.clone()).map_err(|error| format!("TLS setup: {error}"));
        Ok(match self.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(parameters()?),
            Security::Opportunistic => Tls::Opportunistic(parameters()?),
            Security::Wrapper => Tls::Wrapper(parameters()?),
        })
    }

    pub fn lettre_credentials(&self) -> Option<Credentials> {
        self.credentials.as_ref().map(|(user, password)| Credentials::new(user.clone(), password.clone()))
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse() {
        let plain = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((plain.host.as_str(), plain.port, plain.security), ("127.0.0.1", 2525, Security::Plain));
        assert_eq!(plain.credentials, None);
        assert_eq!(SmtpUrl::parse("smtp://relay.internal").unwrap().port, 25);

        let starttls = SmtpUrl::parse("smtp://mailer%40acme:p%40ss%2Fw0rd@mail.acme.example?tls=required").unwrap();
        assert_eq!((starttls.port, starttls.security), (587, Security::StartTls));
        assert_eq!(starttls.credentials, Some(("mailer@acme".into(), "p@ss/w0rd".into())));
        assert!(starttls.tls().is_ok());

        let wrapper = SmtpUrl::parse("smtps://mailer:secret@mail.acme.example").unwrap();
        assert_eq!((wrapper.port, wrapper.security), (465, Security::Wrapper));
        assert_eq!(SmtpUrl::parse("smtp://h:1?tls=opportunistic").unwrap().security, Security::Opportunistic);
        assert_eq!(SmtpUrl::parse("smtp://[::1]:25/").unwrap().host, "::1");
    }

    #[test]
    fn mistakes_are_named_and_never_show_the_password() {
        let cases = [
            ("mail.acme.example:25", "the scheme must be smtp:// or smtps://"),
            ("http://u:hunter2@mail.acme.example", "not http://"),
            ("smtp://", "no host"),
            ("smtp://:hunter2@mail.acme.example?tls=required", "a password without a user"),
            ("smtp://mailer@mail.acme.example?tls=required", "a user without a password"),
            ("smtp://u:hunter2@mail.acme.example?tls=yes", "tls=yes is not one of"),
            ("smtp://u:hunter2@mail.acme.example?tls=required&pool=1", "an unknown query parameter"),
            ("smtps://u:hunter2@mail.acme.example?tls=required", "takes no tls parameter"),
            ("smtp://u:hunter2@mail.acme.example/ehlo.name", "a path or fragment"),
            ("smtp://u:hunter2@mail.acme.example:99999", "not a URL"),
            ("smtp://u:hunter2@mail.acme.example", "in the clear"),
        ];
        for (url, want) in cases {
            let error = SmtpUrl::parse(url).expect_err(url);
            assert!(error.contains(want), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{url}: {error}");
        }
        // A password with an unescaped `?` turns its tail into a query key, which is not quoted back.
        let error = SmtpUrl::parse("smtps://mailer:2024?Winter-secret@mail.acme.example").unwrap_err();
        assert!(error.contains("percent-encode") && !error.contains("Winter-secret"), "{error}");
        // A plain connection with a password is fine to a relay on this host.
        assert!(SmtpUrl::parse("smtp://u:hunter2@127.0.0.1:2525").is_ok());
    }

    #[test]
    fn the_description_hides_the_password() {
        let url = SmtpUrl::parse("smtp://mailer:hunter2@mail.acme.example?tls=required").unwrap();
        assert_eq!(url.describe(), "smtp://mailer:[redacted]@mail.acme.example:587?tls=required");
        assert_eq!(format!("{url:?}"), url.describe());
        assert_eq!(SmtpUrl::parse("smtps://[::1]").unwrap().describe(), "smtps://[::1]:465");
    }
}
