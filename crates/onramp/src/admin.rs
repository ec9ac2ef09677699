//! Administrative operations shared by first-start bootstrap and the command line: making tenants,
//! credentials and API keys. Each returns its secret exactly once; only a public key or a hash is stored.

use onramp_core::auth::{api_key, client_secret};
use onramp_domain::user::{User, UserOrigin};
use onramp_domain::{BuiltinRole, Email, Id, Secret, TextKind, Timestamp, check_text};
use onramp_store::{Actor, ApiKey, Credential, NewTenant, Store, StoreError, Tenant};

/// A client id and the secret that goes with it, as shown to an operator once.
#[derive(Clone, Debug)]
pub struct IssuedCredential {
    pub credential_id: Id,
    pub tenant_id: Id,
    pub client_id: String,
    pub client_secret: Secret<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new tenant with a super-admin and one credential for it, ready to insert.
pub fn new_tenant(
    name: &str,
    admin_email: &str,
    public_host: &str,
) -> Result<(NewTenant, IssuedCredential), AdminError> {
    let email =
        Email::parse(admin_email).map_err(|e| AdminError::Invalid(format!("admin email {admin_email:?}: {e}")))?;
    one_line_name("tenant name", name)?;
    let now = Timestamp::now();
    let tenant = Tenant { id: Id::new(), name: name.to_string(), created_at: now };
    let admin = service_user(tenant.id, email, "Administrator", &[BuiltinRole::SuperAdmin], now);
    let (credential, issued) = new_credential(&admin, "bootstrap", &[BuiltinRole::SuperAdmin], public_host, now);
    Ok((NewTenant { tenant, admin, credential }, issued))
}

fn service_user(tenant_id: Id, email: Email, display_name: &str, roles: &[BuiltinRole], now: Timestamp) -> User {
    User {
        origin: UserOrigin::System,
        role_ids: roles.iter().map(|role| role.id()).collect(),
        ..User::new(tenant_id, email, display_name, now)
    }
}

fn new_credential(
    user: &User,
    use_case: &str,
    roles: &[BuiltinRole],
    public_host: &str,
    now: Timestamp,
) -> (Credential, IssuedCredential) {
    let (secret, public_key) = client_secret::generate();
    let credential = Credential {
        id: Id::new(),
        tenant_id: user.tenant_id,
        user_id: user.id,
        client_id: client_secret::generate_client_id(public_host, use_case),
        display_name: use_case.to_string(),
        public_key: client_secret::public_key_b64(&public_key),
        role_ids: roles.iter().map(|role| role.id()).collect(),
        created_at: now,
        revoked_at: None,
    };
    let issued = IssuedCredential {
        credential_id: credential.id,
        tenant_id: credential.tenant_id,
        client_id: credential.client_id.clone(),
        client_secret: Secret::new(secret),
    };
    (credential, issued)
}

/// A name given on the command line: one line of text (see `onramp_domain::text`), like every name.
fn one_line_name(what: &str, name: &str) -> Result<(), AdminError> {
    check_text(name, TextKind::OneLine, 256).map_err(|problem| AdminError::Invalid(format!("the {what} {problem}")))
}

/// Parses role names or ids given on the command line.
pub fn parse_roles(names: &[String]) -> Result<Vec<BuiltinRole>, AdminError> {
    names
        .iter()
        .map(|name| {
            BuiltinRole::from_ref(name).ok_or_else(|| {
                let known: Vec<_> = BuiltinRole::ALL.iter().map(|r| r.name()).collect();
                AdminError::Invalid(format!("unknown role {name:?}; the roles are {}", known.join(", ")))
            })
        })
        .collect()
}

/// The user with this email in the tenant, created (enabled, with the roles) if there is none; the roles
/// are granted to an existing user too, since a credential can only carry roles its user holds.
async fn user_with_roles(
    store: &dyn Store,
    tenant_id: Id,
    email: &str,
    roles: &[BuiltinRole],
) -> Result<User, AdminError> {
    let email = Email::parse(email).map_err(|e| AdminError::Invalid(format!("email {email:?}: {e}")))?;
    let actor = Actor::system(tenant_id);
    let role_ids: Vec<Id> = roles.iter().map(|role| role.id()).collect();
    match store.find_user_by_email(&tenant_id, email.as_str()).await {
        Ok(user) => {
            store.grant_roles(&actor, &user.id, &role_ids).await?;
            Ok(store.get_user(&tenant_id, &user.id).await?)
        }
        Err(StoreError::NotFound) => {
            let display_name = email.as_str().split('@').next().unwrap_or("user").to_string();
            let user = service_user(tenant_id, email, &display_name, roles, Timestamp::now());
            store.create_user(&actor, &user).await?;
            Ok(user)
        }
        Err(error) => Err(error.into()),
    }
}

/// Creates a client credential for the user with `email` (created if needed), scoped to `roles`.
pub async fn create_credential(
    store: &dyn Store,
    tenant_id: Id,
    email: &str,
    roles: &[BuiltinRole],
    use_case: &str,
    public_host: &str,
) -> Result<IssuedCredential, AdminError> {
    if use_case.is_empty() || !use_case.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(AdminError::Invalid("the credential name must be lowercase letters, digits and dashes".into()));
    }
    let user = user_with_roles(store, tenant_id, email, roles).await?;
    let (credential, issued) = new_credential(&user, use_case, roles, public_host, Timestamp::now());
    store.create_credential(&Actor::system(tenant_id), &credential).await?;
    Ok(issued)
}

/// An API key for `/onboards` Basic auth (`API:<key>`) for the user with `email` (created if needed).
pub async fn create_api_key(
    store: &dyn Store,
    tenant_id: Id,
    email: &str,
    roles: &[BuiltinRole],
    name: &str,
) -> Result<(Id, Secret<String>), AdminError> {
    one_line_name("API key name", name)?;
    let user = user_with_roles(store, tenant_id, email, roles).await?;
    let (key, key_hash) = api_key::generate();
    let record = ApiKey {
        id: Id::new(),
        tenant_id,
        user_id: user.id,
        display_name: name.to_string(),
        key_hash,
        role_ids: roles.iter().map(|role| role.id()).collect(),
        created_at: Timestamp::now(),
        revoked_at: None,
    };
    store.create_api_key(&Actor::system(tenant_id), &record).await?;
    Ok((record.id, Secret::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_command_line_are_one_line() {
        assert!(new_tenant("Acme Corp", "boss@acme.example", "127.0.0.1").is_ok());
        for name in ["Acme\u{1b}[2J", "Acme\nCorp", "Acme\u{0}"] {
            let error = new_tenant(name, "boss@acme.example", "127.0.0.1").unwrap_err().to_string();
            assert!(error.starts_with("the tenant name must not contain control characters"), "{name:?}: {error}");
        }
        assert!(one_line_name("API key name", "intake\tform").is_err());
    }
}
