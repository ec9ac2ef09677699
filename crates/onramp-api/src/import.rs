//! Bulk import of users, shared by `POST /api/v1/users/import` and `onramp import users FILE`: every row is
//! validated on its own, the good rows are inserted in large batches, and the report says which rows failed
//! and why.

use onramp_domain::{Id, Timestamp};
use onramp_store::{Actor, Store, StoreError};

use crate::wire::user_input::UserInput;

/// Rows per store call (one transaction and one audit event each).
pub const BATCH: usize = 5_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// Zero-based index of the row in the input.
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The id given to each imported row, by row index.
    #[serde(skip)]
    pub imported: Vec<(usize, Id)>,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    pub fn imported_count(&self) -> usize {
        self.imported.len()
    }
}

/// Validates and imports `rows` (each already parsed, or a parse error naming its field).
pub async fn import_users(
    store: &dyn Store,
    actor: &Actor,
    rows: impl IntoIterator<Item = Result<UserInput, RowError>>,
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut batch_rows = Vec::with_capacity(BATCH);
    let now = Timestamp::now();
    for (row, input) in rows.into_iter().enumerate() {
        let parsed = input.and_then(|input| {
            // Managers and delegates refer to other users, which an import cannot order; they are set by update.
            if input.manager_ids.as_ref().is_some_and(|m| !m.is_empty())
                || input.delegated_user_id.as_ref().is_some_and(|d| !d.is_empty())
            {
                return Err(RowError {
                    row,
                    field: "managerIds".into(),
                    message: "managers and delegates are set after import, by update".into(),
                });
            }
            input.into_new_user(actor.tenant_id, now).map_err(|error| RowError {
                row,
                field: field_of(&error.message),
                message: error.message,
            })
        });
        match parsed {
            Ok(user) => {
                batch.push(user);
                batch_rows.push(row);
            }
            Err(error) => report.errors.push(error),
        }
        if batch.len() == BATCH {
            flush(store, actor, &mut batch, &mut batch_rows, &mut report).await?;
        }
    }
    flush(store, actor, &mut batch, &mut batch_rows, &mut report).await?;
    report.errors.sort_by_key(|error| error.row);
    Ok(report)
}

async fn flush(
    store: &dyn Store,
    actor: &Actor,
    batch: &mut Vec<onramp_domain::user::User>,
    rows: &mut Vec<usize>,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let inserted = store.import_users(actor, batch).await?;
    for ((user, row), ok) in batch.iter().zip(rows.iter()).zip(inserted) {
        if ok {
            report.imported.push((*row, user.id));
        } else {
            report.errors.push(RowError {
                row: *row,
                field: "email".into(),
                message: format!("a user with email {} already exists", user.email),
            });
        }
    }
    batch.clear();
    rows.clear();
    Ok(())
}

/// The field an `invalid FIELD: ...` message names.
fn field_of(message: &str) -> String {
    message.strip_prefix("invalid ").and_then(|rest| rest.split_once(':')).map_or("row", |(field, _)| field).to_string()
}
