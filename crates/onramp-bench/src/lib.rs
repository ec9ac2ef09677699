//! onramp's benchmarks and the deterministic synthetic users they run on, kept out of the `onramp` binary:
//! the product neither contains them nor depends on anything only they need. `main.rs` is the
//! `onramp-bench` command over these modules.

pub mod accept_memory;
pub mod console_users;
pub mod http_client;
pub mod import;
pub mod invitations;
pub mod scim;
pub mod scratch;
pub mod search;
pub mod server_process;
pub mod synthetic;
pub mod webhooks;

/// Every benchmark's error: a message for the person running it.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = Error> = std::result::Result<T, E>;
