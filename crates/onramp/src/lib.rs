//! The onramp server as a library: configuration, first-start bootstrap, administrative operations and the
//! server's start and stop. `main.rs` is the command line over it; the integration tests start it directly.

pub mod admin;
pub mod cli;
pub mod config;
pub mod data_files;
pub mod import_file;
pub mod listen;
pub mod mail;
pub mod server;
pub mod sweep;
pub mod webhooks;
