//! Crash-safe state files under `--storage.path`.
//!
//! Two kinds of file share one record framing ([`frame`]): a header line naming the
//! file's kind and format version, then records of `length (u32 LE) | CRC-32 of the
//! payload (u32 LE) | payload`.
//!
//! - A **snapshot** ([`snapshot`]) is written whole to a temporary file, fsynced, renamed
//!   over the old one, and the directory is fsynced: a crash leaves either the old or
//!   the new snapshot, never a mix. It ends with an end marker, so a truncated file is
//!   recognised as such.
//! - An **append log** ([`log`]) records changes made since the last snapshot; each
//!   append is fsynced before it returns. A torn last record (a crash mid-write) is
//!   dropped with a warning when the log is opened.
//!
//! A file that cannot be read is never overwritten: it is renamed aside
//! ([`move_aside`], `NAME.corrupt-TIMESTAMP`) and the error names the file and offset.

pub mod frame;
pub mod log;
pub mod snapshot;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

pub use log::{AppendLog, Replay};

/// Errors reading or writing state files.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An operating system error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file whose contents cannot be read back.
    #[error("{}: corrupt at byte offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the first unreadable byte is.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
}

impl StorageError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: io::Error) -> Self {
        StorageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The directory a file lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs a directory, so that a rename or a new file in it survives a crash.
pub fn fsync_dir(dir: &Path) -> Result<(), StorageError> {
    let f = File::open(dir).map_err(|e| StorageError::io(dir, e))?;
    f.sync_all().map_err(|e| StorageError::io(dir, e))
}

/// Renames an unreadable file to `NAME.corrupt-YYYYMMDDTHHMMSSZ` (with a counter when
/// that name is taken) and returns the new path. The file is kept for inspection.
pub fn move_aside(path: &Path) -> Result<PathBuf, StorageError> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let base = path.as_os_str().to_string_lossy().into_owned();
    let mut target = PathBuf::from(format!("{base}.corrupt-{stamp}"));
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{base}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &target).map_err(|e| StorageError::io(path, e))?;
    fsync_dir(parent_dir(path))?;
    Ok(target)
}
