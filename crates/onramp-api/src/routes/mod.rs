//! Handlers, one module per group of routes.

pub mod app_owners;
pub mod apps;
pub mod audit;
pub mod health;
pub mod introspect;
pub mod roles;
pub mod search;
pub mod token;
pub mod users;
