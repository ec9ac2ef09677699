//! Bulk import of users, shared by `POST /api/v1/users/import` and `onramp import users FILE`: every row is
//! validated on its own, the good rows are inserted in large batches, and the report says which rows failed
//! and why.
//!
//! Validation is complete before a row reaches the store: every text field is checked by the rule of
//! `onramp_domain::text` (a NUL, which PostgreSQL cannot store, would otherwise fail the row's whole batch
//! there), and a row repeating the email of an earlier row of the same input fails with that reason. So the
//! one thing a batch insert can still refuse is a row whose email already belongs to a live user: it fails,
//! or with [`ImportOptions::skip_existing`] it is counted as skipped, which makes re-running an interrupted
//! import safe.

use std::collections::HashSet;
use std::sync::Arc;

use onramp_domain::user::User;
use onramp_domain::{Id, Timestamp};
use onramp_store::{Actor, Store, StoreError};

use crate::wire::user_input::UserInput;

/// Rows per store call (one transaction and one audit event each).
pub const BATCH: usize = 20_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// Zero-based index of the row in the input.
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// How an import treats rows whose email already belongs to a live user.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Count such rows as skipped rather than failed: the user is there already, as after an interrupted
    /// import. Without it they fail ("a user with email ... already exists").
    pub skip_existing: bool,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The id given to each imported row, by row index.
    #[serde(skip)]
    pub imported: Vec<(usize, Id)>,
    /// Rows skipped because their email already belonged to a live user (only with `skip_existing`).
    pub skipped: usize,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    pub fn imported_count(&self) -> usize {
        self.imported.len()
    }
}

/// One batch of validated rows, with their row indexes.
#[derive(Default)]
struct Batch {
    users: Vec<User>,
    rows: Vec<usize>,
}

/// Validates rows until a batch is full or the input ends; bad rows go straight to the report. `emails` holds
/// the email of every valid row so far, so that a row repeating one fails here instead of at the insert.
fn next_batch(
    rows: &mut impl Iterator<Item = (usize, Result<UserInput, RowError>)>,
    tenant_id: onramp_domain::Id,
    now: Timestamp,
    emails: &mut HashSet<String>,
    errors: &mut Vec<RowError>,
) -> Batch {
    let mut batch = Batch::default();
    for (row, input) in rows.by_ref() {
        let parsed = input.and_then(|input| {
            // Managers and delegates refer to other users, which an import cannot order; they are set by update.
            if input.manager_ids.as_ref().is_some_and(|m| !m.is_empty())
                || input.delegated_user_id.as_ref().is_some_and(|d| !d.is_empty())
            {
                let message = "managers and delegates are set after import, by update".into();
                return Err(RowError { row, field: "managerIds".into(), message });
            }
            let user = input.into_new_user(tenant_id, now).map_err(|error| RowError {
                row,
                field: field_of(&error.message),
                message: error.message,
            })?;
            if !emails.insert(user.email.as_str().to_owned()) {
                let message = format!("{} is the email of an earlier row", user.email);
                return Err(RowError { row, field: "email".into(), message });
            }
            Ok(user)
        });
        match parsed {
            Ok(user) => {
                batch.users.push(user);
                batch.rows.push(row);
            }
            Err(error) => errors.push(error),
        }
        if batch.users.len() == BATCH {
            break;
        }
    }
    batch
}

/// Validates and imports `rows` (each already parsed, or a parse error naming its field). While one batch
/// is written (on its own task), the next is validated, so parsing and the database work side by side.
pub async fn import_users(
    store: Arc<dyn Store>,
    actor: &Actor,
    rows: impl IntoIterator<Item = Result<UserInput, RowError>>,
    options: ImportOptions,
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let now = Timestamp::now();
    let mut emails = HashSet::new();
    let mut rows = rows.into_iter().enumerate();
    let mut batch = next_batch(&mut rows, actor.tenant_id, now, &mut emails, &mut report.errors);
    while !batch.users.is_empty() {
        let (writer, writer_actor) = (store.clone(), actor.clone());
        let write = tokio::spawn(async move {
            let inserted = writer.import_users(&writer_actor, &batch.users).await;
            (batch, inserted)
        });
        let next = next_batch(&mut rows, actor.tenant_id, now, &mut emails, &mut report.errors);
        let (written, inserted) =
            write.await.map_err(|join| StoreError::Corrupt(format!("import task failed: {join}")))?;
        for ((user, row), ok) in written.users.iter().zip(&written.rows).zip(inserted?) {
            if ok {
                report.imported.push((*row, user.id));
            } else if options.skip_existing {
                report.skipped += 1;
            } else {
                let message = format!("a user with email {} already exists", user.email);
                report.errors.push(RowError { row: *row, field: "email".into(), message });
            }
        }
        batch = next;
    }
    report.errors.sort_by_key(|error| error.row);
    Ok(report)
}

/// The field an `invalid FIELD: ...` message names.
pub fn field_of(message: &str) -> String {
    message.strip_prefix("invalid ").and_then(|rest| rest.split_once(':')).map_or("row", |(field, _)| field).to_string()
}
