//! The snapshot file of a node's search index: every tenant's index as built (`Index::write_snapshot`) with
//! the change-feed position it reflects, so that a restart reads it and catches up from there instead of
//! re-indexing every user.
//!
//! Layout (integers little-endian):
//! - `ONRAMPSI`, the file layout ([`FILE_LAYOUT`]), the index layout (`onramp_search::SNAPSHOT_LAYOUT`), and
//!   the version of onramp that wrote it (length-prefixed);
//! - the database's identity (length-prefixed; see [`DATABASE_ID_KEY`]);
//! - the feed position (`seq` i64, `id` 12 bytes);
//! - the number of tenants (u32), then per tenant its id (12 bytes) and its index;
//! - SHA-256 of every byte before it.
//!
//! The file is written to a temporary file beside it, flushed to disk, and renamed over the old one, so a
//! crash leaves the old snapshot or the new one, never half of one (and a temporary file, removed at the
//! next start). A snapshot is used only if all of this
//! holds; otherwise it is ignored (and the index rebuilt from the feed): the layouts and version are this
//! build's, the checksum matches, the database identity is this database's, and the position is not ahead
//! of the feed's last number.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use onramp_domain::Id;
use onramp_search::Index;
use onramp_store::FeedPosition;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"ONRAMPSI";
/// The layout of this file around the indexes; change it with any change to what this module writes.
pub const FILE_LAYOUT: u32 = 1;
/// The deployment value naming the database (a random id made by the first node that asked), written into
/// each snapshot so that a snapshot made on another database is never used.
pub const DATABASE_ID_KEY: &str = "search_snapshot_database_id";
const CHECKSUM_BYTES: u64 = 32;
const BUFFER: usize = 1 << 20;

/// Why a snapshot was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// It could not be opened or read.
    Unreadable(String),
    /// Written by another version of onramp, or in another layout.
    OtherVersion(String),
    /// Its checksum does not match, it is cut short, or its content is not an index.
    Corrupt(String),
    /// Made on another database: another identity, or a position ahead of this database's feed.
    OtherDatabase(String),
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ignored::Unreadable(why) => write!(f, "unreadable: {why}"),
            Ignored::OtherVersion(why) => write!(f, "from another version: {why}"),
            Ignored::Corrupt(why) => write!(f, "corrupt: {why}"),
            Ignored::OtherDatabase(why) => write!(f, "from another database: {why}"),
        }
    }
}

/// What a read snapshot holds.
pub struct Loaded {
    pub position: FeedPosition,
    pub tenants: Vec<(Id, Index)>,
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Writes bytes through to a file and into a running checksum.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn put_text(w: &mut dyn Write, text: &str) -> io::Result<()> {
    let len = u16::try_from(text.len()).map_err(|_| io::Error::other("a header text over 64 KiB"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(text.as_bytes())
}

/// Writes the snapshot of `tenants` at `position` to `path`, atomically; returns its size in bytes. The
/// caller holds what keeps the indexes and the position together (see `SearchIndex::write_snapshot`) until
/// `written` is called: by then every byte is in the file, and what is left (the flush to disk and the
/// rename) needs neither.
pub fn write(
    path: &Path,
    database_id: &str,
    position: FeedPosition,
    tenants: &[(Id, Arc<RwLock<Index>>)],
    written: impl FnOnce(),
) -> io::Result<u64> {
    let temporary = temporary_path(path);
    let outcome = write_to(&temporary, database_id, position, tenants).and_then(|file| {
        written();
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        // The rename is durable once the folder is.
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(folder)?.sync_all()?;
        }
        file.metadata().map(|m| m.len())
    });
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    outcome
}

/// Removes the temporary files a writer stopped mid-write (a crash, a kill) left beside `path`. Only one
/// node uses a data folder, and this runs before it writes a snapshot, so none of them is being written.
pub fn remove_leftovers(path: &Path) -> io::Result<usize> {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Ok(0);
    };
    let folder = if folder.as_os_str().is_empty() { Path::new(".") } else { folder };
    let prefix = format!("{name}.");
    let mut removed = 0;
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else { continue };
        if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Creates a new file only its owner can read: the snapshot holds names and emails.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A name beside `path` no other writer uses.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{}.tmp", Id::new()));
    path.with_file_name(name)
}

fn write_to(
    temporary: &Path,
    database_id: &str,
    position: FeedPosition,
    tenants: &[(Id, Arc<RwLock<Index>>)],
) -> io::Result<File> {
    let file = create_private(temporary)?;
    let mut w = BufWriter::with_capacity(BUFFER, Hashing { inner: file, hasher: Sha256::new() });
    w.write_all(MAGIC)?;
    w.write_all(&FILE_LAYOUT.to_le_bytes())?;
    w.write_all(&onramp_search::SNAPSHOT_LAYOUT.to_le_bytes())?;
    put_text(&mut w, version())?;
    put_text(&mut w, database_id)?;
    w.write_all(&position.seq.to_le_bytes())?;
    w.write_all(position.id.as_bytes())?;
    let count = u32::try_from(tenants.len()).map_err(|_| io::Error::other("too many tenants"))?;
    w.write_all(&count.to_le_bytes())?;
    for (tenant_id, index) in tenants {
        w.write_all(tenant_id.as_bytes())?;
        index.read().unwrap_or_else(|p| p.into_inner()).write_snapshot(&mut w)?;
    }
    let Hashing { inner: mut file, hasher } = w.into_inner().map_err(|e| e.into_error())?;
    file.write_all(&hasher.finalize())?;
    Ok(file)
}

/// Reads the snapshot at `path`; `feed_head` is this database's last feed number. `Ok(None)`: there is no
/// snapshot file.
pub fn read(path: &Path, database_id: &str, feed_head: i64) -> Result<Option<Loaded>, Ignored> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Ignored::Unreadable(error.to_string())),
    };
    let unreadable = |e: io::Error| Ignored::Unreadable(e.to_string());
    let size = file.metadata().map_err(unreadable)?.len();
    let corrupt = |e: io::Error| Ignored::Corrupt(e.to_string());

    // The header first, so that a file of another version is named as such whatever its checksum.
    let mut r = BufReader::with_capacity(BUFFER, &mut file);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|_| Ignored::Corrupt("shorter than a header".into()))?;
    if &magic != MAGIC {
        return Err(Ignored::Corrupt("not a search index snapshot".into()));
    }
    let (file_layout, index_layout) = (read_u32(&mut r).map_err(corrupt)?, read_u32(&mut r).map_err(corrupt)?);
    let written_by = read_text(&mut r).map_err(corrupt)?;
    if file_layout != FILE_LAYOUT || index_layout != onramp_search::SNAPSHOT_LAYOUT || written_by != version() {
        return Err(Ignored::OtherVersion(format!(
            "written by onramp {written_by} in layout {file_layout}.{index_layout}, this is {} reading {FILE_LAYOUT}.{}",
            version(),
            onramp_search::SNAPSHOT_LAYOUT
        )));
    }
    drop(r);

    // The checksum, over everything before it, before a byte of the content is believed.
    if size < CHECKSUM_BYTES {
        return Err(Ignored::Corrupt("cut short".into()));
    }
    let body = size - CHECKSUM_BYTES;
    file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER];
    let mut r = (&mut file).take(body);
    loop {
        let n = r.read(&mut buffer).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    let mut stored = [0u8; CHECKSUM_BYTES as usize];
    file.read_exact(&mut stored).map_err(unreadable)?;
    if hasher.finalize().as_slice() != stored {
        return Err(Ignored::Corrupt("the checksum does not match (cut short or changed)".into()));
    }
    drop(buffer);

    file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let mut r = BufReader::with_capacity(BUFFER, (&mut file).take(body));
    let mut header = [0u8; 16];
    r.read_exact(&mut header).map_err(corrupt)?;
    read_text(&mut r).map_err(corrupt)?;
    let written_on = read_text(&mut r).map_err(corrupt)?;
    if written_on != database_id {
        return Err(Ignored::OtherDatabase(format!("made on database {written_on}, this is {database_id}")));
    }
    let mut seq = [0u8; 8];
    r.read_exact(&mut seq).map_err(corrupt)?;
    let mut id = [0u8; 12];
    r.read_exact(&mut id).map_err(corrupt)?;
    let position = FeedPosition { seq: i64::from_le_bytes(seq), id: Id::from_bytes(id) };
    if position.seq > feed_head {
        return Err(Ignored::OtherDatabase(format!(
            "its feed position {} is ahead of this database's feed ({feed_head})",
            position.seq
        )));
    }
    let count = read_u32(&mut r).map_err(corrupt)?;
    let mut read_so_far = 16 + 2 + version().len() as u64 + 2 + written_on.len() as u64 + 20 + 4;
    let mut tenants = Vec::new();
    for _ in 0..count {
        let mut tenant = [0u8; 12];
        r.read_exact(&mut tenant).map_err(corrupt)?;
        read_so_far += 12;
        let (index, used) = Index::read_snapshot(&mut r, body.saturating_sub(read_so_far)).map_err(corrupt)?;
        read_so_far += used;
        tenants.push((Id::from_bytes(tenant), index));
    }
    if read_so_far != body {
        return Err(Ignored::Corrupt(format!("{} bytes follow the last index", body.saturating_sub(read_so_far))));
    }
    Ok(Some(Loaded { position, tenants }))
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_text(r: &mut impl Read) -> io::Result<String> {
    let mut len = [0u8; 2];
    r.read_exact(&mut len)?;
    let mut text = vec![0u8; u16::from_le_bytes(len) as usize];
    r.read_exact(&mut text)?;
    String::from_utf8(text).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a header text not UTF-8"))
}
