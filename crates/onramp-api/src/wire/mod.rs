//! Wire forms of domain objects on the ConductorOne surface (protojson: lowerCamelCase, enums by full
//! name, RFC 3339 times, 64-bit integers as strings).

pub mod app;
pub mod directory;
pub mod mask;
pub mod settings;
pub mod user;
pub mod user_input;
