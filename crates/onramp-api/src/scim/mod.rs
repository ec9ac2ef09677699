//! SCIM 2.0 (RFC 7643, RFC 7644): the parts without I/O that the `/scim/v2` routes are built on.
//!
//! - [`attributes`]: the attribute definitions of User, EnterpriseUser and Group, the one source of truth;
//! - [`schemas`]: the discovery documents (`ServiceProviderConfig`, `ResourceTypes`, `Schemas`);
//! - [`filter`]: the filter grammar, its tree and its evaluation;
//! - [`patch`]: PATCH operations applied to a resource;
//! - [`projection`]: `attributes` and `excludedAttributes`;
//! - [`list`]: the ListResponse and `startIndex`/`count`;
//! - [`error`]: the error body and the error type of the routes.

pub mod attributes;
pub mod discovery_schemas;
pub mod error;
pub mod filter;
mod filter_parse;
pub mod list;
pub mod patch;
mod patch_targets;
pub mod projection;
pub mod schemas;

#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod patch_tests;
