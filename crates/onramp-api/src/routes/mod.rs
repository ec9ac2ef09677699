//! Handlers, one module per group of routes.

pub mod app_owners;
pub mod apps;
pub mod audit;
pub mod directories;
pub mod flows;
pub mod health;
pub mod introspect;
pub mod invitations;
pub mod invite_page;
pub mod onboard_steps;
pub mod onboarding_page;
pub mod onboards;
pub mod openapi;
pub mod roles;
pub mod search;
pub mod settings;
pub mod token;
pub mod users;
