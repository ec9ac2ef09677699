//! The data folder and the SQLite database files are private to onramp's user: the database holds the
//! access-token signing keys, and the folder holds it and the outgoing mail (invitation links).
//!
//! onramp creates the folders 0700 and the database file 0600 before SQLite opens it; SQLite creates the
//! `-wal` and `-shm` files with the mode of the database file, so they follow. Existing files keep their
//! modes (an operator may have reasons), but a start-up warning names every one that others may read.

use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` and any missing parents, each accessible to onramp's user only. An existing folder is
/// left as it is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the SQLite database file, empty (SQLite takes an empty file as a new database) and readable by
/// onramp's user only, unless it exists.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// The files and folders that must be private: the data folder, and for SQLite the database's folder, the
/// database and its `-wal` and `-shm` files.
pub fn private_paths(data_dir: &Path, sqlite_path: Option<&Path>) -> Vec<PathBuf> {
    let mut paths = vec![data_dir.to_path_buf()];
    if let Some(database) = sqlite_path {
        let parent = database.parent().filter(|parent| !parent.as_os_str().is_empty());
        if let Some(parent) = parent.filter(|parent| !same_path(parent, data_dir)) {
            paths.push(parent.to_path_buf());
        }
        paths.push(database.to_path_buf());
        for suffix in ["-wal", "-shm"] {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            paths.push(name.into());
        }
    }
    paths
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Those of `paths` that exist and that users other than the owner may read, write or enter, with their
/// permission bits.
pub fn loose_permissions(paths: &[PathBuf]) -> Vec<(PathBuf, u32)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        paths
            .iter()
            .filter_map(|path| Some((path.clone(), std::fs::metadata(path).ok()?.permissions().mode() & 0o777)))
            .filter(|(_, mode)| mode & 0o077 != 0)
            .collect()
    }
    #[cfg(not(unix))]
    {
        let _ = paths;
        Vec::new()
    }
}

/// Logs a warning for each of `paths` that others may read.
pub fn warn_if_loose(paths: &[PathBuf]) {
    for (path, mode) in loose_permissions(paths) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "other users may read this; it holds the token signing keys or invitation links: \
             chmod 700 for a folder, 600 for a file"
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_private_and_loose_ones_found() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("a/data");
        create_private_dir(&data).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&data)), (0o700, 0o700));
        let database = data.join("onramp.db");
        create_private_file(&database).unwrap();
        assert_eq!(mode(&database), 0o600);
        std::fs::write(&database, b"kept").unwrap();
        create_private_file(&database).unwrap();
        assert_eq!(std::fs::read(&database).unwrap(), b"kept", "an existing database is left alone");

        let paths = private_paths(&data, Some(&database));
        assert_eq!(paths.len(), 4, "the folder once, the database, -wal and -shm: {paths:?}");
        assert!(loose_permissions(&paths).is_empty());
        std::fs::write(data.join("onramp.db-wal"), b"").unwrap();
        std::fs::set_permissions(data.join("onramp.db-wal"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
        let loose = loose_permissions(&paths);
        assert_eq!(loose, vec![(data.clone(), 0o750), (data.join("onramp.db-wal"), 0o644)]);
    }
}
