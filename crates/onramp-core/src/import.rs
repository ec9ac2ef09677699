//! Bulk import of users, shared by `POST /api/v1/users/import` and `onramp import users FILE`: every row is
//! validated on its own, the good rows are inserted in large batches, and the report says which rows failed
//! and why.
//!
//! Validation is complete before a row reaches the store: every text field is checked by the rule of
//! `onramp_domain::text` (a NUL, which PostgreSQL cannot store, would otherwise fail the row's whole batch
//! there). So the one thing a batch insert can still refuse is a row whose email a live user has. If this
//! import made that user, the row repeats an earlier row and fails; otherwise the user was there before, and
//! the row fails, or with [`ImportOptions::skip_existing`] is counted as skipped, which makes re-running an
//! interrupted import safe.

use std::sync::Arc;

use onramp_domain::user::User;
use onramp_domain::{Id, Timestamp};
use onramp_store::{Actor, ImportedRow, Store, StoreError};

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

    /// Whether this import created the user `id`. `imported` is in row order, which is the order the ids
    /// were made in, one after the other by `Id::new` (whose ids only increase within a process), so it is
    /// sorted and a binary search finds them without keeping another set of every row.
    fn made(&self, id: Id) -> bool {
        self.imported.binary_search_by_key(&id, |(_, imported)| *imported).is_ok()
    }
}

/// One batch of validated rows, with their row indexes.
#[derive(Default)]
struct Batch {
    users: Vec<User>,
    rows: Vec<usize>,
}

/// A row of an import as a surface parsed it: it becomes a new user of the tenant, or fails naming its
/// field. (`onramp-api` implements it for its user input, which the API and the command line both read.)
pub trait ImportRow {
    /// The roles the row gives its user, which the importing caller must be able to grant.
    fn role_ids(&self) -> Vec<Id>;
    fn into_new_user(self, row: usize, tenant_id: Id, now: Timestamp) -> Result<User, RowError>;
}

/// Validates rows until a batch is full or the input ends; bad rows go straight to the report.
fn next_batch<R: ImportRow>(
    rows: &mut impl Iterator<Item = (usize, Result<R, RowError>)>,
    tenant_id: Id,
    now: Timestamp,
    errors: &mut Vec<RowError>,
) -> Batch {
    let mut batch = Batch::default();
    for (row, input) in rows.by_ref() {
        match input.and_then(|input| input.into_new_user(row, tenant_id, now)) {
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
pub(crate) async fn import_users<R: ImportRow>(
    store: Arc<dyn Store>,
    actor: &Actor,
    rows: impl IntoIterator<Item = Result<R, RowError>>,
    options: ImportOptions,
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let now = Timestamp::now();
    let mut rows = rows.into_iter().enumerate();
    let mut batch = next_batch(&mut rows, actor.tenant_id, now, &mut report.errors);
    while !batch.users.is_empty() {
        let (writer, writer_actor) = (store.clone(), actor.clone());
        let write = tokio::spawn(async move {
            let outcomes = writer.import_users(&writer_actor, &batch.users).await;
            (batch, outcomes)
        });
        let next = next_batch(&mut rows, actor.tenant_id, now, &mut report.errors);
        let (written, outcomes) =
            write.await.map_err(|join| StoreError::Corrupt(format!("import task failed: {join}")))?;
        let outcomes = outcomes?;
        let rows_of = || written.users.iter().zip(&written.rows).zip(&outcomes);
        for ((user, row), _) in rows_of().filter(|(_, outcome)| **outcome == ImportedRow::Inserted) {
            debug_assert!(report.imported.last().is_none_or(|(_, last)| *last < user.id), "ids in row order");
            report.imported.push((*row, user.id));
        }
        for ((user, row), outcome) in rows_of() {
            let ImportedRow::EmailTaken { holder } = outcome else { continue };
            if holder.is_some_and(|holder| report.made(holder)) {
                let message = format!("{} is the email of an earlier row", user.email_str());
                report.errors.push(RowError { row: *row, field: "email".into(), message });
            } else if options.skip_existing {
                report.skipped += 1;
            } else {
                let message = format!("a user with email {} already exists", user.email_str());
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
