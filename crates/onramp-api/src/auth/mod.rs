//! Authentication primitives for onramp's HTTP surfaces: compact JWS, the
//! ConductorOne credential formats, client assertion verification and
//! onramp's own short-lived access tokens.

pub mod access_token;
pub mod api_key;
pub mod assertion;
pub mod client_secret;
pub mod jose;
