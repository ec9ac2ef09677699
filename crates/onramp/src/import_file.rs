//! `onramp import users FILE`: reading user import files, CSV with a header row or JSON Lines (one user
//! object per line), and the report the command prints. Both formats give the same field names as the API
//! (camelCase or snake_case). In CSV, list fields (emails, usernames, employeeIds, roleIds, directoryIds)
//! hold their items separated by `;`.

use std::error::Error;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use onramp_api::wire::user_input::UserInput;
use onramp_core::Core;
use onramp_core::import::{ImportOptions, ImportReport, RowError};
use onramp_store::{Actor, Store};
use serde_json::{Map, Value};

const LIST_FIELDS: &[&str] =
    &["emails", "usernames", "employeeIds", "employee_ids", "roleIds", "role_ids", "directoryIds", "directory_ids"];

/// The rows of a file, parsed lazily so that a file of millions of users is never held in memory.
pub fn read_users(path: &Path) -> Result<Box<dyn Iterator<Item = Result<UserInput, RowError>>>, std::io::Error> {
    let file = std::fs::File::open(path)?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if extension == "csv" {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(std::io::BufReader::new(file));
        let headers = reader.headers().map_err(std::io::Error::other)?.clone();
        let rows = reader.into_records().enumerate().map(move |(row, record)| {
            let record = record.map_err(|error| RowError { row, field: "row".into(), message: error.to_string() })?;
            let mut object = Map::new();
            for (name, value) in headers.iter().zip(record.iter()) {
                if value.is_empty() {
                    continue;
                }
                let value = if LIST_FIELDS.contains(&name) {
                    Value::Array(value.split(';').map(|item| Value::String(item.trim().to_string())).collect())
                } else if name == "profile" {
                    serde_json::from_str(value).map_err(|_| RowError {
                        row,
                        field: "profile".into(),
                        message: "invalid profile: must be a JSON object".into(),
                    })?
                } else {
                    Value::String(value.to_string())
                };
                object.insert(name.to_string(), value);
            }
            UserInput::parse_row(row, &Value::Object(object))
        });
        Ok(Box::new(rows))
    } else {
        let lines = std::io::BufReader::new(file)
            .lines()
            .enumerate()
            .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()));
        let rows = lines.map(|(row, line)| {
            let line = line.map_err(|error| RowError { row, field: "row".into(), message: error.to_string() })?;
            let value: Value = serde_json::from_str(&line).map_err(|error| RowError {
                row,
                field: "row".into(),
                message: format!("not a JSON object: {error}"),
            })?;
            UserInput::parse_row(row, &value)
        });
        Ok(Box::new(rows))
    }
}

/// The most failed rows the command lists one by one.
const ROWS_LISTED: usize = 100;

/// Imports `file` and prints what became of its rows: one summary line (imported, skipped, failed), then
/// each failed row by its number (the first data row is row 1). Fails when any row failed.
pub async fn import_file(
    store: Arc<dyn Store>,
    actor: &Actor,
    file: &Path,
    options: ImportOptions,
) -> Result<(), Box<dyn Error>> {
    let rows = read_users(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let report = Core::offline(store).import_as_system(actor, rows, options).await?;
    print!("{}", summary(&report, file, options));
    if report.errors.is_empty() { Ok(()) } else { Err("some rows were not imported".into()) }
}

fn summary(report: &ImportReport, file: &Path, options: ImportOptions) -> String {
    let failed = report.errors.len();
    let mut text = format!(
        "{}: {} imported, {} skipped (email already in use), {failed} failed.\n",
        file.display(),
        report.imported_count(),
        report.skipped,
    );
    for error in report.errors.iter().take(ROWS_LISTED) {
        text.push_str(&format!("  row {}: {}\n", error.row + 1, error.message));
    }
    if failed > ROWS_LISTED {
        text.push_str(&format!("  ... and {} more\n", failed - ROWS_LISTED));
    }
    if failed > 0 && !options.skip_existing {
        text.push_str("Rows whose email already belongs to a user fail unless --skip-existing is given.\n");
    }
    text
}
