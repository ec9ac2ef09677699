//! Reading user import files: CSV with a header row, or JSON Lines (one user object per line). Both give
//! the same field names as the API (camelCase or snake_case). In CSV, list fields (emails, usernames,
//! employeeIds, roleIds, directoryIds) hold their items separated by `;`.

use std::io::BufRead;
use std::path::Path;

use onramp_api::import::RowError;
use onramp_api::wire::user_input::UserInput;
use serde_json::{Map, Value};

const LIST_FIELDS: &[&str] =
    &["emails", "usernames", "employeeIds", "employee_ids", "roleIds", "role_ids", "directoryIds", "directory_ids"];

fn parse_object(row: usize, object: Value) -> Result<UserInput, RowError> {
    onramp_api::extract::parse_json(object.to_string().as_bytes()).map_err(|error| {
        let field = error.message.strip_prefix("invalid ").and_then(|r| r.split_once(':')).map_or("row", |(f, _)| f);
        RowError { row, field: field.to_string(), message: error.message.clone() }
    })
}

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
            parse_object(row, Value::Object(object))
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
            parse_object(row, value)
        });
        Ok(Box::new(rows))
    }
}
