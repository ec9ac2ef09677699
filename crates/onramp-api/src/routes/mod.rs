//! Handlers, one module per group of routes.

pub mod app_owners;
pub mod apps;
pub mod audit;
pub mod console;
pub mod directories;
pub mod flows;
pub mod health;
pub mod introspect;
pub mod invitations;
pub mod onboard_steps;
pub mod onboards;
pub mod openapi;
pub mod roles;
pub mod scim;
pub mod search;
pub mod settings;
pub mod token;
pub mod users;
pub mod webhooks;

use onramp_domain::Id;

use crate::error::{ApiError, ApiResult};

/// The one parser of an id in a path: naming the parameter when it is malformed.
pub(crate) fn path_id(name: &str, raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|error| ApiError::invalid_field(name, error))
}
