//! Configuration, layered: built-in defaults, then `onramp.toml` (or the file `--config` names), then
//! `ONRAMP_*` environment variables, then command-line flags; each layer overrides the one before.
//!
//! An `ONRAMP_*` variable onramp does not know is reported at start-up, because a misspelt key that is
//! silently ignored is a configuration bug that is hard to find.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onramp_api::client_addr::IpNet;
use onramp_core::limits::LimitSettings;
use onramp_domain::Secret;
use serde::{Deserialize, Deserializer};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./onramp-data";
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@onramp.local";
/// Seconds a connection has to send a request's headers before it is closed.
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// The shortest metrics token accepted: 32 characters leave nothing to guess (`openssl rand -hex 32` gives 64).
pub const MIN_METRICS_TOKEN_CHARS: usize = 32;
/// Connections served at once. Each holds a file descriptor, and the usual soft limit is 1,024 per process,
/// which the database pool and the mail files share.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 512;

/// Environment variables onramp reads (clap reads most of them through its `env` attributes).
pub const KNOWN_ENV: &[&str] = &[
    "ONRAMP_CONFIG",
    "ONRAMP_LISTEN",
    "ONRAMP_DATA_DIR",
    "ONRAMP_DATABASE_URL",
    "ONRAMP_PUBLIC_URL",
    "ONRAMP_LOG_FORMAT",
    "ONRAMP_ADMIN_EMAIL",
    "ONRAMP_SMTP_URL",
    "ONRAMP_MAIL_FROM",
    "ONRAMP_HEADER_READ_TIMEOUT",
    "ONRAMP_MAX_CONNECTIONS",
    "ONRAMP_TRUSTED_PROXIES",
    "ONRAMP_METRICS_TOKEN",
    "ONRAMP_WEBHOOKS_KEY",
    "ONRAMP_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES",
    "ONRAMP_WEBHOOKS_DEAD_AFTER",
    "ONRAMP_TEST_POSTGRES_URL",
];

/// The shortest webhook key accepted (`openssl rand -hex 32` gives 64 characters).
pub const MIN_WEBHOOKS_KEY_CHARS: usize = 32;
/// Seconds a webhook delivery keeps being retried before it is dead-lettered: three days.
pub const DEFAULT_WEBHOOKS_DEAD_AFTER_SECS: u64 = 3 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The settings a layer may give; every field is optional so that layers can be merged.
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "ONRAMP_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Folder for the embedded SQLite database and outgoing mail files.
    #[arg(long, env = "ONRAMP_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite:PATH or postgres://USER@HOST/DB. Default: SQLite in the data folder.
    #[arg(long, env = "ONRAMP_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The URL clients reach onramp at; its host goes into client ids and token audiences.
    #[arg(long, env = "ONRAMP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Log format on standard error.
    #[arg(long, env = "ONRAMP_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Email of the super-admin created on first start.
    #[arg(long, env = "ONRAMP_ADMIN_EMAIL", global = true)]
    pub admin_email: Option<String>,
    /// SMTP server for outgoing mail: smtp://HOST:PORT, smtp://USER:PASS@HOST:587?tls=required (STARTTLS)
    /// or smtps://USER:PASS@HOST:465. Default: mail is written as .eml files into DATA_DIR/mail.
    #[arg(long, env = "ONRAMP_SMTP_URL", global = true, hide_env_values = true, value_parser = secret_arg)]
    #[serde(default, deserialize_with = "secret_field")]
    pub smtp_url: Option<Secret<String>>,
    /// Sender of outgoing mail. Default: onramp <noreply@HOST of the public URL>.
    #[arg(long, env = "ONRAMP_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Seconds a connection may take to send a request's headers, and a kept-alive connection may sit idle
    /// before its next request, before it is closed. Default: 10.
    #[arg(long, env = "ONRAMP_HEADER_READ_TIMEOUT", global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: Option<u64>,
    /// The most connections served at once; further ones wait in the listen queue until one closes.
    /// Default: 512.
    #[arg(long, env = "ONRAMP_MAX_CONNECTIONS", global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// Proxies whose X-Forwarded-For names the client, as IP addresses or CIDR ranges separated by commas
    /// (10.0.0.0/8,fd00::/8). Default: none; the TCP peer is the client.
    #[arg(long, env = "ONRAMP_TRUSTED_PROXIES", global = true, value_delimiter = ',')]
    #[serde(default, deserialize_with = "ranges_field")]
    pub trusted_proxies: Option<Vec<IpNet>>,
    /// The bearer token that may read `GET /metrics` (at least 32 characters). Default: none, and
    /// `/metrics` is not served. Prefer the variable or the file: a flag shows in the process list.
    #[arg(long, env = "ONRAMP_METRICS_TOKEN", global = true, hide_env_values = true, value_parser = secret_arg)]
    #[serde(default, deserialize_with = "secret_field")]
    pub metrics_token: Option<Secret<String>>,
    /// The key every webhook signing secret is derived from (at least 32 characters). Default: a key
    /// generated into DATA_DIR/webhooks.key on first start. Every node of one PostgreSQL deployment must
    /// have the same key.
    #[arg(long, env = "ONRAMP_WEBHOOKS_KEY", global = true, hide_env_values = true, value_parser = secret_arg)]
    #[serde(default, deserialize_with = "secret_field")]
    pub webhooks_key: Option<Secret<String>>,
    /// Let webhooks go to loopback, link-local and private addresses (a private deployment, tests).
    /// Default: false; such URLs are refused.
    #[arg(long, env = "ONRAMP_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", global = true)]
    pub webhooks_allow_private_addresses: Option<bool>,
    /// Seconds a failing webhook delivery is retried before it is dead-lettered and its subscription's
    /// next deliveries go ahead. Default: 259200 (three days).
    #[arg(long, env = "ONRAMP_WEBHOOKS_DEAD_AFTER", global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhooks_dead_after: Option<u64>,
}

/// A list of CIDR ranges in the file: `trusted_proxies = ["10.0.0.0/8", "192.0.2.7"]`.
fn ranges_field<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<IpNet>>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts.iter().map(|text| text.parse().map_err(serde::de::Error::custom)).collect::<Result<_, _>>().map(Some)
}

/// Reads a flag or variable that may hold a password (the SMTP URL) straight into a [`Secret`], so that
/// printing the settings never shows it.
fn secret_arg(value: &str) -> Result<Secret<String>, std::convert::Infallible> {
    Ok(Secret::new(value.to_string()))
}

fn secret_field<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret<String>>, D::Error> {
    Ok(Some(Secret::new(String::deserialize(deserializer)?)))
}

impl Settings {
    /// `self` over `lower`: a field set here wins.
    fn over(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            public_url: self.public_url.or(lower.public_url),
            log_format: self.log_format.or(lower.log_format),
            admin_email: self.admin_email.or(lower.admin_email),
            smtp_url: self.smtp_url.or(lower.smtp_url),
            mail_from: self.mail_from.or(lower.mail_from),
            header_read_timeout: self.header_read_timeout.or(lower.header_read_timeout),
            max_connections: self.max_connections.or(lower.max_connections),
            trusted_proxies: self.trusted_proxies.or(lower.trusted_proxies),
            metrics_token: self.metrics_token.or(lower.metrics_token),
            webhooks_key: self.webhooks_key.or(lower.webhooks_key),
            webhooks_allow_private_addresses: self
                .webhooks_allow_private_addresses
                .or(lower.webhooks_allow_private_addresses),
            webhooks_dead_after: self.webhooks_dead_after.or(lower.webhooks_dead_after),
        }
    }
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// None: derived from the bound address once the listener is open.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub admin_email: String,
    /// None (or empty): the file transport.
    pub smtp_url: Option<Secret<String>>,
    /// None: `onramp <noreply@public host>`.
    pub mail_from: Option<String>,
    /// How long slow clients may hold a connection, and how many connections are served at once.
    pub connections: ConnectionLimits,
    /// Proxies whose `X-Forwarded-For` is believed; empty: none.
    pub trusted_proxies: Vec<IpNet>,
    /// The bearer token of `GET /metrics`; None (or empty): `/metrics` is not served.
    pub metrics_token: Option<Secret<String>>,
    /// Background job timings; not settings, but tests shorten them.
    pub jobs: JobTimings,
    /// Webhook delivery: the key, where webhooks may go, retries.
    pub webhooks: WebhookConfig,
    /// The numbers of the limits on guessing; not settings, but tests change them.
    pub limits: LimitSettings,
}

/// Limits that keep slow or numerous clients from exhausting the server's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection whose request headers have not all arrived this long after it opened (or after the
    /// previous response, on a kept-alive connection) is closed.
    pub header_read_timeout: Duration,
    /// Connections served at once; the listener accepts no more until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
        }
    }
}

/// How often the background jobs run and how soon mail delivery retries.
#[derive(Clone, Debug)]
pub struct JobTimings {
    /// The first retry of a failed delivery waits this long; each further one twice the one before.
    pub mail_retry_base: Duration,
    /// The longest the delivery worker sleeps between looks at the outbox, so that messages queued through
    /// other nodes (whose wake-ups this node cannot hear) go out within it.
    pub mail_poll: Duration,
    /// How often pending invitations past their expiry are marked EXPIRED.
    pub invitation_sweep: Duration,
    /// How often the search index snapshot is written when the change feed has moved (and once after
    /// start-up, and at shutdown).
    pub search_snapshot: Duration,
}

impl Default for JobTimings {
    fn default() -> Self {
        JobTimings {
            mail_retry_base: Duration::from_secs(10),
            mail_poll: Duration::from_secs(5),
            invitation_sweep: Duration::from_secs(60),
            search_snapshot: Duration::from_secs(300),
        }
    }
}

/// How webhooks are signed and delivered.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// None: the key file in the data folder, made on first start.
    pub key: Option<Secret<String>>,
    pub allow_private_addresses: bool,
    /// Retry delays (not settings, but tests shorten them) and the dead-letter bound (a setting).
    pub retry: onramp_domain::webhook::RetryPolicy,
    /// The longest one attempt may take, connecting included.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            key: None,
            allow_private_addresses: false,
            retry: onramp_domain::webhook::RetryPolicy::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid onramp configuration: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("{setting} must be at least 1")]
    Zero { setting: &'static str },
    #[error("metrics_token (ONRAMP_METRICS_TOKEN) must be at least {MIN_METRICS_TOKEN_CHARS} characters")]
    ShortMetricsToken,
    #[error("webhooks_key (ONRAMP_WEBHOOKS_KEY) must be at least {MIN_WEBHOOKS_KEY_CHARS} characters")]
    ShortWebhooksKey,
}

impl Config {
    /// Merges the command line (which already holds the environment) over the file over the defaults.
    /// `file` is the path given by `--config`; without it `./onramp.toml` is read if it exists.
    pub fn resolve(command_line: Settings, file: Option<&Path>) -> Result<Config, ConfigError> {
        let from_file = match file {
            Some(path) => read_file(path)?,
            None if Path::new("onramp.toml").exists() => read_file(Path::new("onramp.toml"))?,
            None => Settings::default(),
        };
        let merged = command_line.over(from_file);
        // Flags and variables are checked by clap; the file's values are checked here.
        let header_read_timeout = merged.header_read_timeout.unwrap_or(DEFAULT_HEADER_READ_TIMEOUT_SECS);
        let max_connections = merged.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if header_read_timeout == 0 {
            return Err(ConfigError::Zero { setting: "header_read_timeout" });
        }
        if max_connections == 0 {
            return Err(ConfigError::Zero { setting: "max_connections" });
        }
        let metrics_token = merged.metrics_token.filter(|token| !token.expose().is_empty());
        if metrics_token.as_ref().is_some_and(|token| token.expose().chars().count() < MIN_METRICS_TOKEN_CHARS) {
            return Err(ConfigError::ShortMetricsToken);
        }
        let webhooks_key = merged.webhooks_key.filter(|key| !key.expose().is_empty());
        if webhooks_key.as_ref().is_some_and(|key| key.expose().chars().count() < MIN_WEBHOOKS_KEY_CHARS) {
            return Err(ConfigError::ShortWebhooksKey);
        }
        let webhooks_dead_after = merged.webhooks_dead_after.unwrap_or(DEFAULT_WEBHOOKS_DEAD_AFTER_SECS);
        if webhooks_dead_after == 0 {
            return Err(ConfigError::Zero { setting: "webhooks_dead_after" });
        }
        let data_dir = merged.data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url =
            merged.database_url.unwrap_or_else(|| format!("sqlite:{}", data_dir.join("onramp.db").display()));
        Ok(Config {
            listen: merged.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("the default address parses")),
            data_dir,
            database_url,
            public_url: merged.public_url,
            log_format: merged.log_format.unwrap_or(LogFormat::Text),
            admin_email: merged.admin_email.unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string()),
            smtp_url: merged.smtp_url.filter(|url| !url.expose().trim().is_empty()),
            mail_from: merged.mail_from.filter(|from| !from.trim().is_empty()),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(header_read_timeout),
                max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            },
            trusted_proxies: merged.trusted_proxies.unwrap_or_default(),
            metrics_token,
            jobs: JobTimings::default(),
            webhooks: WebhookConfig {
                key: webhooks_key,
                allow_private_addresses: merged.webhooks_allow_private_addresses.unwrap_or(false),
                retry: onramp_domain::webhook::RetryPolicy {
                    dead_after: Duration::from_secs(webhooks_dead_after),
                    ..Default::default()
                },
                ..WebhookConfig::default()
            },
            limits: LimitSettings::default(),
        })
    }
}

fn read_file(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source: Box::new(source) })
}

/// `ONRAMP_*` variables in the environment that onramp does not read.
pub fn unknown_env_keys() -> Vec<String> {
    std::env::vars()
        .map(|(key, _)| key)
        .filter(|key| key.starts_with("ONRAMP_") && !KNOWN_ENV.contains(&key.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("onramp.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/onramp\"\nlog_format = \"json\"\n")
            .unwrap();
        let command_line = Settings { listen: Some("0.0.0.0:7000".parse().unwrap()), ..Settings::default() };
        let config = Config::resolve(command_line, Some(&file)).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:7000");
        assert_eq!(config.data_dir, PathBuf::from("/srv/onramp"));
        assert_eq!(config.database_url, "sqlite:/srv/onramp/onramp.db");
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn the_smtp_url_is_read_but_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("onramp.toml");
        std::fs::write(
            &file,
            "smtp_url = \"smtps://mailer:hunter2@mail.example:465\"\nmail_from = \"HR <hr@acme.example>\"\n",
        )
        .unwrap();
        let config = Config::resolve(Settings::default(), Some(&file)).unwrap();
        assert_eq!(
            config.smtp_url.as_ref().map(|url| url.expose().as_str()),
            Some("smtps://mailer:hunter2@mail.example:465")
        );
        assert_eq!(config.mail_from.as_deref(), Some("HR <hr@acme.example>"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");

        // A flag overrides the file; an empty value means no SMTP (the file transport).
        let command_line = Settings { smtp_url: Some(Secret::new(String::new())), ..Settings::default() };
        let settings_printed = format!("{command_line:?}");
        assert!(settings_printed.contains("[redacted]"), "{settings_printed}");
        assert!(Config::resolve(command_line, Some(&file)).unwrap().smtp_url.is_none());
    }

    #[test]
    fn mail_flags_parse() {
        use clap::Parser;
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            settings: Settings,
        }
        let flags = Flags::try_parse_from([
            "onramp",
            "--smtp-url",
            "smtp://u:hunter2@mail.example?tls=required",
            "--mail-from",
            "HR <hr@acme.example>",
        ])
        .unwrap();
        let config = Config::resolve(flags.settings, None).unwrap();
        assert_eq!(config.smtp_url.unwrap().expose(), "smtp://u:hunter2@mail.example?tls=required");
        assert_eq!(config.mail_from.as_deref(), Some("HR <hr@acme.example>"));
    }

    #[test]
    fn connection_limits_come_from_every_layer() {
        assert_eq!(Config::resolve(Settings::default(), None).unwrap().connections, ConnectionLimits::default());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("onramp.toml");
        std::fs::write(&file, "header_read_timeout = 3\nmax_connections = 40\n").unwrap();
        let config = Config::resolve(Settings::default(), Some(&file)).unwrap();
        assert_eq!(config.connections.header_read_timeout, Duration::from_secs(3));
        assert_eq!(config.connections.max_connections, 40);

        use clap::Parser;
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            settings: Settings,
        }
        let flags = Flags::try_parse_from(["onramp", "--max-connections", "7"]).unwrap();
        let config = Config::resolve(flags.settings, Some(&file)).unwrap();
        assert_eq!(config.connections.max_connections, 7, "the flag wins over the file");
        assert!(Flags::try_parse_from(["onramp", "--header-read-timeout", "0"]).is_err());

        std::fs::write(&file, "max_connections = 0\n").unwrap();
        let error = Config::resolve(Settings::default(), Some(&file)).unwrap_err().to_string();
        assert_eq!(error, "max_connections must be at least 1");
    }

    #[test]
    fn trusted_proxies_from_flag_variable_and_file() {
        use clap::Parser;
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            settings: Settings,
        }
        let flags = Flags::try_parse_from(["onramp", "--trusted-proxies", "10.0.0.0/8,192.0.2.7"]).unwrap();
        let config = Config::resolve(flags.settings, None).unwrap();
        let ranges: Vec<String> = config.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(ranges, ["10.0.0.0/8", "192.0.2.7/32"]);
        let error = Flags::try_parse_from(["onramp", "--trusted-proxies", "10.0.0.0/33"]).err().unwrap().to_string();
        assert!(error.contains("10.0.0.0/33"), "{error}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("onramp.toml");
        std::fs::write(&file, "trusted_proxies = [\"fd00::/8\"]\n").unwrap();
        let config = Config::resolve(Settings::default(), Some(&file)).unwrap();
        assert_eq!(config.trusted_proxies, ["fd00::/8".parse::<IpNet>().unwrap()]);
        std::fs::write(&file, "trusted_proxies = [\"proxy.example\"]\n").unwrap();
        let error = Config::resolve(Settings::default(), Some(&file)).unwrap_err().to_string();
        assert!(error.contains("proxy.example"), "{error}");
        assert!(Config::resolve(Settings::default(), None).unwrap().trusted_proxies.is_empty());
    }

    #[test]
    fn the_metrics_token_is_read_checked_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("onramp.toml");
        let token = "0123456789abcdef0123456789abcdef";
        std::fs::write(&file, format!("metrics_token = \"{token}\"\n")).unwrap();
        let config = Config::resolve(Settings::default(), Some(&file)).unwrap();
        assert_eq!(config.metrics_token.as_ref().map(|t| t.expose().as_str()), Some(token));
        assert!(!format!("{config:?}").contains(token));

        std::fs::write(&file, "metrics_token = \"short\"\n").unwrap();
        let error = Config::resolve(Settings::default(), Some(&file)).unwrap_err().to_string();
        assert!(error.contains("at least 32 characters"), "{error}");
        assert!(!error.contains("short"), "{error}");

        // Empty is off, as without the setting.
        std::fs::write(&file, "metrics_token = \"\"\n").unwrap();
        assert!(Config::resolve(Settings::default(), Some(&file)).unwrap().metrics_token.is_none());
        assert!(Config::resolve(Settings::default(), None).unwrap().metrics_token.is_none());
    }

    #[test]
    fn misspelt_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("onramp.toml");
        std::fs::write(&file, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let error = Config::resolve(Settings::default(), Some(&file)).unwrap_err().to_string();
        assert!(error.contains("listne"), "{error}");
    }
}
