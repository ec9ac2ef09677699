//! Handlers, one module per group of routes.

pub mod health;
pub mod introspect;
pub mod token;
