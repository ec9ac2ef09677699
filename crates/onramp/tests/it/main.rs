//! onramp's integration tests: one binary, every test against the real server over HTTP, on SQLite and
//! (when `ONRAMP_TEST_POSTGRES_URL` is set) PostgreSQL.

mod support;

mod abuse_passwords;
mod abuse_secrets;
mod access_tokens;
mod account;
mod app_owners;
mod apps;
mod auth_token;
mod bootstrap;
mod browser;
mod connections;
mod console;
mod console_board;
mod console_data;
mod console_pages;
mod cross_site;
mod data_files;
mod directories;
mod errors;
mod flows;
mod imports;
mod invitations;
mod mail;
mod metrics;
mod onboard_privilege;
mod onboarding_e2e;
mod onboarding_finish;
mod onboarding_settings;
mod onboards;
mod openapi;
mod public_url;
mod python_sdk;
mod rbac;
mod request_bodies;
mod search;
mod snapshots;
mod super_admins;
mod surfaces;
mod tenant_settings;
mod text_fields;
mod users;
mod users_admin;
mod web_pages;
mod wire;
