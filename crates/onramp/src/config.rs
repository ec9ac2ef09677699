//! Configuration, layered: built-in defaults, then `onramp.toml` (or the file `--config` names), then
//! `ONRAMP_*` environment variables, then command-line flags; each layer overrides the one before.
//!
//! An `ONRAMP_*` variable onramp does not know is reported at start-up, because a misspelt key that is
//! silently ignored is a configuration bug that is hard to find.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./onramp-data";
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@onramp.local";

/// Environment variables onramp reads (clap reads most of them through its `env` attributes).
pub const KNOWN_ENV: &[&str] = &[
    "ONRAMP_CONFIG",
    "ONRAMP_LISTEN",
    "ONRAMP_DATA_DIR",
    "ONRAMP_DATABASE_URL",
    "ONRAMP_PUBLIC_URL",
    "ONRAMP_LOG_FORMAT",
    "ONRAMP_ADMIN_EMAIL",
    "ONRAMP_TEST_POSTGRES_URL",
];

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
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid onramp configuration: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
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
    fn misspelt_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("onramp.toml");
        std::fs::write(&file, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let error = Config::resolve(Settings::default(), Some(&file)).unwrap_err().to_string();
        assert!(error.contains("listne"), "{error}");
    }
}
