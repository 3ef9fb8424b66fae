//! The append log: changes since the last snapshot, each append fsynced before it returns.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::frame::{self, Frame};
use super::{StorageError, fsync_dir, move_aside, parent_dir};

/// An open append log.
#[derive(Debug)]
pub struct AppendLog {
    file: File,
    path: PathBuf,
    header_len: u64,
    len: u64,
}

/// What opening a log found in it.
#[derive(Debug, Default)]
pub struct Replay {
    /// The records, in the order they were appended.
    pub records: Vec<Vec<u8>>,
    /// The byte offset of each record in the file it was read from.
    pub offsets: Vec<u64>,
    /// A torn last record (a crash in the middle of an append) that was dropped.
    pub dropped_tail: Option<StorageError>,
    /// Damage before the end of the log: the file was renamed to the given path, and
    /// the records before the damage were copied into a new log.
    pub moved_aside: Option<(StorageError, PathBuf)>,
}

impl AppendLog {
    /// Opens the log at `path` (creating it when missing) and reads its records.
    ///
    /// A torn tail is cut off (with a warning); a log damaged elsewhere is moved aside
    /// and replaced by a log holding the records before the damage. Neither is an error:
    /// both are reported in the [`Replay`].
    pub fn open(path: &Path, header: &[u8]) -> Result<(AppendLog, Replay), StorageError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok((Self::create(path, header)?, Replay::default()));
            }
            Err(e) => return Err(StorageError::io(path, e)),
        };
        let corrupt = |offset: usize, reason: String| StorageError::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason,
        };
        let mut replay = Replay::default();
        if !bytes.starts_with(header) {
            if bytes.len() < header.len() && header.starts_with(&bytes) {
                // Crashed while creating the log: nothing was ever appended.
                tracing::warn!(file = %path.display(), "Append log has an incomplete header; starting it anew");
                return Ok((Self::create(path, header)?, replay));
            }
            let err = corrupt(
                0,
                format!(
                    "not a log of this kind: expected the header {:?}",
                    String::from_utf8_lossy(header).trim_end()
                ),
            );
            let aside = move_aside(path)?;
            tracing::error!(err = %err, moved_to = %aside.display(), "Append log is unreadable; kept it aside and started a new one");
            replay.moved_aside = Some((err, aside));
            return Ok((Self::create(path, header)?, replay));
        }
        let mut offset = header.len();
        while offset < bytes.len() {
            match frame::decode_at(&bytes, offset) {
                Ok(Frame::Record(payload, next)) => {
                    replay.records.push(payload.to_vec());
                    replay.offsets.push(offset as u64);
                    offset = next;
                }
                Ok(Frame::End(_)) => {
                    let err = corrupt(offset, "unexpected end marker in a log".to_string());
                    return Self::replace_damaged(path, header, replay, err);
                }
                Err(e) if e.torn => {
                    let err = corrupt(offset, format!("torn last record dropped ({})", e.reason));
                    tracing::warn!(err = %err, "Dropping the torn last record of the append log (the process stopped in the middle of writing it)");
                    replay.dropped_tail = Some(err);
                    let f = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| StorageError::io(path, e))?;
                    f.set_len(offset as u64)
                        .and_then(|()| f.sync_all())
                        .map_err(|e| StorageError::io(path, e))?;
                    break;
                }
                Err(e) => {
                    let err = corrupt(offset, e.reason);
                    return Self::replace_damaged(path, header, replay, err);
                }
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| StorageError::io(path, e))?;
        let log = AppendLog {
            file,
            path: path.to_path_buf(),
            header_len: header.len() as u64,
            len: offset as u64,
        };
        Ok((log, replay))
    }

    /// Moves a damaged log aside and starts a new one holding the records read so far.
    fn replace_damaged(
        path: &Path,
        header: &[u8],
        mut replay: Replay,
        err: StorageError,
    ) -> Result<(AppendLog, Replay), StorageError> {
        let aside = move_aside(path)?;
        tracing::error!(err = %err, moved_to = %aside.display(), kept_records = replay.records.len(), "Append log is damaged; kept it aside and carried the records before the damage into a new log");
        let mut log = Self::create(path, header)?;
        log.append(&replay.records)?;
        replay.moved_aside = Some((err, aside));
        Ok((log, replay))
    }

    /// Creates an empty log (header only), durably.
    fn create(path: &Path, header: &[u8]) -> Result<AppendLog, StorageError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| StorageError::io(path, e))?;
        file.write_all(header)
            .and_then(|()| file.sync_all())
            .map_err(|e| StorageError::io(path, e))?;
        drop(file);
        fsync_dir(parent_dir(path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| StorageError::io(path, e))?;
        Ok(AppendLog {
            file,
            path: path.to_path_buf(),
            header_len: header.len() as u64,
            len: header.len() as u64,
        })
    }

    /// Appends records and fsyncs them: when this returns `Ok`, they survive a crash.
    /// On error the log is cut back to where it was, so no partial record stays behind.
    pub fn append<R: AsRef<[u8]>>(&mut self, records: &[R]) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in records {
            frame::encode(r.as_ref(), &mut buf);
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(StorageError::io(&self.path, e))
            }
        }
    }

    /// Empties the log (keeping its header), durably: called once its records are in a
    /// snapshot.
    pub fn reset(&mut self) -> Result<(), StorageError> {
        self.file
            .set_len(self.header_len)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| StorageError::io(&self.path, e))?;
        self.len = self.header_len;
        Ok(())
    }

    /// The log's size in bytes, header included.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == self.header_len
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"test log v1\n";

    fn records(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("record {i}").into_bytes()).collect()
    }

    #[test]
    fn appends_survive_reopening_and_reset_empties() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut log, replay) = AppendLog::open(&path, HEADER).unwrap();
        assert!(replay.records.is_empty() && log.is_empty());
        log.append(&records(2)).unwrap();
        log.append(&records(3)[2..]).unwrap();
        drop(log);
        let (mut log, replay) = AppendLog::open(&path, HEADER).unwrap();
        assert_eq!(replay.records, records(3));
        assert!(replay.dropped_tail.is_none() && replay.moved_aside.is_none());
        log.reset().unwrap();
        drop(log);
        let (_, replay) = AppendLog::open(&path, HEADER).unwrap();
        assert!(replay.records.is_empty());
    }

    #[test]
    fn torn_tail_at_every_offset_is_dropped_and_later_appends_are_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut log, _) = AppendLog::open(&path, HEADER).unwrap();
        log.append(&records(2)).unwrap();
        let before_last = log.len() as usize;
        log.append(&[b"the last one".to_vec()]).unwrap();
        drop(log);
        let full = std::fs::read(&path).unwrap();
        for cut in before_last..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (mut log, replay) = AppendLog::open(&path, HEADER).unwrap();
            assert_eq!(replay.records, records(2), "cut at {cut}");
            assert_eq!(
                replay.dropped_tail.is_some(),
                cut > before_last,
                "cut at {cut}"
            );
            assert!(replay.moved_aside.is_none());
            log.append(&[b"after".to_vec()]).unwrap();
            drop(log);
            let (_, replay) = AppendLog::open(&path, HEADER).unwrap();
            assert_eq!(replay.records.len(), 3, "cut at {cut}");
            assert_eq!(replay.records[2], b"after");
        }
        // A crash while creating the log leaves part of the header.
        std::fs::write(&path, &HEADER[..4]).unwrap();
        let (_, replay) = AppendLog::open(&path, HEADER).unwrap();
        assert!(replay.records.is_empty() && replay.moved_aside.is_none());
    }

    #[test]
    fn damage_in_the_middle_is_moved_aside_keeping_earlier_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut log, _) = AppendLog::open(&path, HEADER).unwrap();
        log.append(&records(1)).unwrap();
        let second = log.len() as usize;
        log.append(&records(3)[1..]).unwrap();
        drop(log);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[second + frame::HEADER_LEN] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let (_, replay) = AppendLog::open(&path, HEADER).unwrap();
        assert_eq!(replay.records, records(1));
        let (err, aside) = replay.moved_aside.unwrap();
        assert!(
            err.to_string().ends_with(&format!(
                "log: corrupt at byte offset {second}: record checksum mismatch"
            )),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            bytes,
            "the damaged file is kept as it was"
        );
        assert!(aside.to_string_lossy().contains("log.corrupt-"));
        // The new log holds the records before the damage.
        let (_, replay) = AppendLog::open(&path, HEADER).unwrap();
        assert_eq!(replay.records, records(1));
        // A foreign file is moved aside whole.
        std::fs::write(&path, b"something else entirely").unwrap();
        let (_, replay) = AppendLog::open(&path, HEADER).unwrap();
        assert!(replay.records.is_empty());
        assert!(replay.moved_aside.is_some());
    }
}
