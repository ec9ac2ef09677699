//! Decoding rows into domain types, for any backend.

use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};
use onramp_domain::{Email, Id, Timestamp};
use sqlx::{ColumnIndex, Database, Decode, Row, Type};

use crate::StoreError;
use onramp_domain::records::*;

/// Typed column access with corruption reported as [`StoreError::Corrupt`] rather than a panic.
pub(super) trait RowExt {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;

    fn id(&self, column: &str) -> Result<Id, StoreError> {
        let text = self.text(column)?;
        text.parse().map_err(|_| StoreError::Corrupt(format!("{column} is not an id: {text:?}")))
    }

    fn opt_id(&self, column: &str) -> Result<Option<Id>, StoreError> {
        self.opt_text(column)?
            .map(|text| text.parse().map_err(|_| StoreError::Corrupt(format!("{column} is not an id: {text:?}"))))
            .transpose()
    }

    fn time(&self, column: &str) -> Result<Timestamp, StoreError> {
        Ok(Timestamp::from_micros(self.int(column)?))
    }

    fn opt_time(&self, column: &str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.opt_int(column)?.map(Timestamp::from_micros))
    }

    fn id_list(&self, column: &str) -> Result<Vec<Id>, StoreError> {
        let text = self.text(column)?;
        serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} is not a list of ids")))
    }

    fn json(&self, column: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.opt_text(column)?
            .map(|text| serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} is not JSON"))))
            .transpose()
    }
}

impl<R> RowExt for R
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
    R::Database: Database,
{
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

fn wire<T>(parsed: Option<T>, column: &str, value: &str) -> Result<T, StoreError> {
    parsed.ok_or_else(|| StoreError::Corrupt(format!("{column} has an unknown value {value:?}")))
}

/// The parts of a user that live in other tables than `users`.
#[derive(Default)]
pub(super) struct UserRelations {
    pub role_ids: Vec<Id>,
    pub manager_ids: Vec<Id>,
    pub directory_ids: Vec<Id>,
}

fn json_column<T: serde::de::DeserializeOwned>(row: &impl RowExt, column: &str) -> Result<T, StoreError> {
    let text = row.text(column)?;
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} is not valid JSON of its type")))
}

fn email(text: &str) -> Result<Email, StoreError> {
    Email::parse(text).map_err(|_| StoreError::Corrupt(format!("email {text:?}")))
}

/// A user from a `users` row and its relations.
pub(super) fn user(row: &impl RowExt, relations: UserRelations) -> Result<User, StoreError> {
    let status = row.text("status")?;
    let directory_status = row.text("directory_status")?;
    let user_type = row.text("user_type")?;
    let origin = row.text("origin")?;
    let emails: Vec<String> = json_column(row, "emails_json")?;
    Ok(User {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        // '' in the column: a user without an email.
        email: Some(row.text("email")?).filter(|text| !text.is_empty()).map(|text| email(&text)).transpose()?,
        emails: emails.iter().map(|e| email(e)).collect::<Result<_, _>>()?,
        display_name: row.text("display_name")?,
        status: wire(UserStatus::parse(&status), "status", &status)?,
        directory_status: wire(UserStatus::parse(&directory_status), "directory_status", &directory_status)?,
        user_type: wire(UserType::parse(&user_type), "user_type", &user_type)?,
        origin: wire(UserOrigin::parse(&origin), "origin", &origin)?,
        role_ids: relations.role_ids,
        manager_ids: relations.manager_ids,
        delegated_user_id: row.opt_id("delegated_user_id")?,
        directory_ids: relations.directory_ids,
        department: row.text("department")?,
        job_title: row.text("job_title")?,
        employment_status: row.text("employment_status")?,
        employment_type: row.text("employment_type")?,
        usernames: json_column(row, "usernames_json")?,
        employee_ids: json_column(row, "employee_ids_json")?,
        profile: json_column(row, "profile_json")?,
        sources: json_column(row, "sources_json")?,
        external_id: row.opt_text("external_id")?,
        scim_attributes: json_column(row, "scim_attributes_json")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        deleted_at: row.opt_time("deleted_at")?,
    })
}

pub(super) fn credential(row: &impl RowExt) -> Result<Credential, StoreError> {
    Ok(Credential {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        client_id: row.text("client_id")?,
        display_name: row.text("display_name")?,
        public_key: row.text("public_key")?,
        role_ids: row.id_list("role_ids")?,
        created_at: row.time("created_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}

pub(super) fn api_key(row: &impl RowExt) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        display_name: row.text("display_name")?,
        key_hash: row.text("key_hash")?,
        role_ids: row.id_list("role_ids")?,
        created_at: row.time("created_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}

pub(super) fn scim_token(row: &impl RowExt) -> Result<ScimToken, StoreError> {
    Ok(ScimToken {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        name: row.text("name")?,
        role_id: row.id("role_id")?,
        token_hash: row.text("token_hash")?,
        created_at: row.time("created_at")?,
        last_used_at: row.opt_time("last_used_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}

pub(super) fn signing_key(row: &impl RowExt) -> Result<SigningKey, StoreError> {
    Ok(SigningKey {
        id: row.text("id")?,
        generation: row.int("generation")?,
        private_key: row.text("private_key")?,
        public_key: row.text("public_key")?,
        created_at: row.time("created_at")?,
        rotate_at: row.time("rotate_at")?,
        retire_at: row.time("retire_at")?,
    })
}

pub(super) fn audit_event(row: &impl RowExt) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: row.id("id")?,
        tenant_id: row.id("tenant_id")?,
        actor_user_id: row.opt_id("actor_user_id")?,
        actor_credential_id: row.opt_id("actor_credential_id")?,
        action: row.text("action")?,
        object_type: row.text("object_type")?,
        object_id: row.text("object_id")?,
        before: row.json("before_json")?,
        after: row.json("after_json")?,
        request_id: row.opt_text("request_id")?,
        created_at: row.time("created_at")?,
    })
}
