//! Handlers, one module per group of routes.

pub mod audit;
pub mod health;
pub mod introspect;
pub mod roles;
pub mod token;
pub mod users;
