//! The command line: `onramp serve`, `onramp migrate`, and the administrative commands for tenants,
//! client credentials and API keys.

use std::error::Error;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use onramp_core::Core;
use onramp_core::console::SignInLink;
use onramp_domain::{BuiltinRole, Id, Secret};
use onramp_store::{Actor, Store};

use crate::admin::{self, IssuedCredential};
use crate::config::{Config, Settings};
use crate::server::{self, host_of};

#[derive(Parser, Debug)]
#[command(name = "onramp", version, about = "A self-hosted identity directory and onboarding server.")]
pub struct Cli {
    /// Configuration file (default: ./onramp.toml when it exists).
    #[arg(long, env = "ONRAMP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (SQLite in ./onramp-data on 127.0.0.1:8080 unless configured otherwise).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage OAuth2 client credentials.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Manage API keys for the /onboards surface (HTTP Basic API:<key>).
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Manage SCIM 2.0 provisioning connections (bearer tokens for /scim/v2).
    #[command(subcommand)]
    ScimToken(ScimTokenCommand),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Make a one-time link (valid one hour) where an admin sets their console password; prints the link.
    SigninLink {
        /// The admin's email (a user holding super-admin, admin, read-only-admin or directory-admin).
        #[arg(long)]
        email: String,
        #[arg(long)]
        tenant: Option<Id>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import users from a CSV file (header row; list fields separated by `;`) or JSON Lines file
    /// (.jsonl/.ndjson). Good rows are imported; bad rows are reported and the exit status is 1.
    Users {
        file: PathBuf,
        #[arg(long)]
        tenant: Option<Id>,
        /// Count rows whose email already belongs to a user as skipped, not failed (to re-run an
        /// interrupted import).
        #[arg(long)]
        skip_existing: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CredentialCommand {
    /// Create a credential for a user (created if absent), scoped to the given roles; prints the secret once.
    Create {
        #[arg(long)]
        email: String,
        /// A role name (super-admin, admin, read-only-admin, directory-admin, basic-user) or id; repeatable.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// What the credential is for: lowercase letters, digits and dashes; it ends the client id.
        #[arg(long, default_value = "cli")]
        name: String,
        /// The tenant (default: the one made on first start).
        #[arg(long)]
        tenant: Option<Id>,
    },
    /// List a tenant's credentials.
    List {
        #[arg(long)]
        tenant: Option<Id>,
    },
    /// Revoke a credential by id; tokens it already obtained expire within 10 minutes.
    Revoke {
        id: Id,
        #[arg(long)]
        tenant: Option<Id>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create an API key for a user (created if absent); prints the key once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long, default_value = "onboards")]
        name: String,
        #[arg(long)]
        tenant: Option<Id>,
    },
    List {
        #[arg(long)]
        tenant: Option<Id>,
    },
    Revoke {
        id: Id,
        #[arg(long)]
        tenant: Option<Id>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScimTokenCommand {
    /// Create a provisioning connection for an identity provider; prints its bearer token once.
    Create {
        /// The one role the connection acts with (admin or directory-admin to provision users).
        #[arg(long)]
        role: String,
        /// What the connection is for (e.g. okta, entra).
        #[arg(long)]
        name: String,
        #[arg(long)]
        tenant: Option<Id>,
    },
    /// List a tenant's provisioning connections.
    List {
        #[arg(long)]
        tenant: Option<Id>,
    },
    /// Revoke a provisioning connection by id; its token stops working at once.
    Revoke {
        id: Id,
        #[arg(long)]
        tenant: Option<Id>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant with a super-admin; prints its first credential once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
    },
}

/// What an operator sees once after a credential is made: the id, the secret and how to use them.
pub fn credential_notice(issued: &IssuedCredential, public_url: &str) -> String {
    let secret = issued.client_secret.expose();
    format!(
        "  tenant id:     {tenant}\n  client id:     {client_id}\n  client secret: {secret}\n\n\
         The secret is shown only this once; onramp keeps only its public key.\n\
         Get an access token with:\n\n  \
         curl -s {public_url}/auth/v1/token -d grant_type=client_credentials \\\n    \
         --data-urlencode 'client_id={client_id}' \\\n    --data-urlencode 'client_secret={secret}'\n",
        tenant = issued.tenant_id,
        client_id = issued.client_id,
    )
}

/// What an operator sees once after a SCIM connection is made: the token and how to configure an IdP.
pub fn scim_token_notice(id: &Id, role: BuiltinRole, token: &Secret<String>, public_url: &str) -> String {
    format!(
        "Created SCIM connection {id} acting as {role}.\n\n  token: {token}\n\n\
         The token is shown only this once; onramp keeps only its hash.\n\
         In the identity provider: SCIM base URL {public_url}/scim/v2, \
         authentication HTTP header Authorization: Bearer <token>.\n",
        role = role.name(),
        token = token.expose(),
    )
}

/// What an operator sees once after a console sign-in link is made: whom it is for, the link, how long.
pub fn console_link_notice(link: &SignInLink) -> String {
    format!(
        "Console sign-in link for {email} (works once, for one hour):\n\n  {url}\n\n\
         Open it to set a password, then sign in; the console is at /console.\n",
        email = link.user.email_str(),
        url = server::console_link_url(link),
    )
}

async fn tenant_or_default(store: &dyn Store, tenant: Option<Id>) -> Result<Id, Box<dyn Error>> {
    match tenant {
        Some(id) => Ok(store.get_tenant(&id).await.map(|t| t.id).map_err(|_| format!("no tenant {id}"))?),
        None => Ok(store
            .default_tenant()
            .await?
            .ok_or("the database has no default tenant yet: run `onramp serve` once first")?),
    }
}

fn role_names(ids: &[Id]) -> String {
    ids.iter()
        .map(|id| BuiltinRole::from_id(id).map_or(id.to_string(), |r| r.name().to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs an administrative command (everything but `serve`).
pub async fn run_admin(command: Command, config: &Config) -> Result<(), Box<dyn Error>> {
    let store = server::open_store(config).await?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
    let public_host = host_of(&public_url);
    match command {
        Command::Serve => unreachable!("`serve` is run by main"),
        Command::Import(ImportCommand::Users { file, tenant, skip_existing }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            let options = onramp_core::import::ImportOptions { skip_existing };
            crate::import_file::import_file(store.clone(), &Actor::system(tenant), &file, options).await?;
        }
        Command::Migrate => println!("database is migrated ({})", store.backend().name()),
        Command::SigninLink { email, tenant } => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            let link = Core::offline(store.clone()).console_sign_in_link(&tenant, &email, &public_url).await?;
            print!("{}", console_link_notice(&link));
        }
        Command::Tenant(TenantCommand::Create { name, admin_email }) => {
            let (tenant, issued) = admin::new_tenant(&name, &admin_email, &public_host)?;
            store.create_tenant(&tenant).await?;
            println!("Created tenant {name:?} with super-admin {admin_email}.\n");
            print!("{}", credential_notice(&issued, &public_url));
        }
        Command::Credential(CredentialCommand::Create { email, roles, name, tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            let roles = admin::parse_roles(&roles)?;
            let issued = admin::create_credential(store.as_ref(), tenant, &email, &roles, &name, &public_host).await?;
            println!("Created credential {} for {email}.\n", issued.credential_id);
            print!("{}", credential_notice(&issued, &public_url));
        }
        Command::Credential(CredentialCommand::List { tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            println!("{:<24}  {:<48}  {:<10}  {:<30}  CREATED", "ID", "CLIENT ID", "STATE", "ROLES");
            for c in store.list_credentials(&tenant).await? {
                let state = if c.revoked_at.is_some() { "revoked" } else { "active" };
                let roles = role_names(&c.role_ids);
                println!("{:<24}  {:<48}  {state:<10}  {roles:<30}  {}", c.id, c.client_id, c.created_at);
            }
        }
        Command::Credential(CredentialCommand::Revoke { id, tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            store.revoke_credential(&Actor::system(tenant), &id).await?;
            println!("Revoked credential {id}.");
        }
        Command::ApiKey(ApiKeyCommand::Create { email, roles, name, tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            let roles = admin::parse_roles(&roles)?;
            let (id, key): (Id, Secret<String>) =
                admin::create_api_key(store.as_ref(), tenant, &email, &roles, &name).await?;
            println!("Created API key {id} for {email}.\n\n  key: {}\n", key.expose());
            println!("The key is shown only this once. Use it as HTTP Basic credentials API:<key>.");
        }
        Command::ApiKey(ApiKeyCommand::List { tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            println!("{:<24}  {:<20}  {:<10}  {:<30}  CREATED", "ID", "NAME", "STATE", "ROLES");
            for k in store.list_api_keys(&tenant).await? {
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                let roles = role_names(&k.role_ids);
                println!("{:<24}  {:<20}  {state:<10}  {roles:<30}  {}", k.id, k.display_name, k.created_at);
            }
        }
        Command::ScimToken(ScimTokenCommand::Create { role, name, tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            let role = *admin::parse_roles(&[role])?.first().expect("one role asked, one parsed");
            let (record, token) = Core::offline(store.clone()).create_scim_token_as_system(tenant, &name, role).await?;
            print!("{}", scim_token_notice(&record.id, role, &token, &public_url));
        }
        Command::ScimToken(ScimTokenCommand::List { tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            println!("{:<24}  {:<20}  {:<10}  {:<16}  {:<28}  LAST USED", "ID", "NAME", "STATE", "ROLE", "CREATED");
            for t in store.list_scim_tokens(&tenant).await? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                let role = role_names(&[t.role_id]);
                let used = t.last_used_at.map_or("never".to_string(), |at| at.to_string());
                println!(
                    "{:<24}  {:<20}  {state:<10}  {role:<16}  {:<28}  {used}",
                    t.id,
                    t.name,
                    t.created_at.to_string()
                );
            }
        }
        Command::ScimToken(ScimTokenCommand::Revoke { id, tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            store.revoke_scim_token(&Actor::system(tenant), &id).await?;
            println!("Revoked SCIM connection {id}.");
        }
        Command::ApiKey(ApiKeyCommand::Revoke { id, tenant }) => {
            let tenant = tenant_or_default(store.as_ref(), tenant).await?;
            store.revoke_api_key(&Actor::system(tenant), &id).await?;
            println!("Revoked API key {id}.");
        }
    }
    Ok(())
}
