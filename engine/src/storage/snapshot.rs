//! Snapshot files: written whole and atomically, read back with every record checked.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::frame::{self, Frame};
use super::{StorageError, fsync_dir, parent_dir};

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one:
/// a temporary file beside it is written and fsynced, renamed over `path`, and the
/// directory is fsynced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| StorageError::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| StorageError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StorageError::io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| StorageError::io(path, e))?;
        fsync_dir(parent_dir(path))
    })();
    if result.is_err() {
        // Best effort: a leftover temporary file is harmless but untidy.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The temporary file [`write_atomic`] writes first: `NAME.tmp` beside `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Frames `records` after `header` and writes them with [`write_atomic`]; returns the
/// file's size.
pub fn write(path: &Path, header: &[u8], records: &[Vec<u8>]) -> Result<u64, StorageError> {
    let total: usize = records.iter().map(|r| r.len() + frame::HEADER_LEN).sum();
    let mut buf = Vec::with_capacity(header.len() + total + frame::HEADER_LEN);
    buf.extend_from_slice(header);
    for r in records {
        frame::encode(r, &mut buf);
    }
    frame::encode_end(&mut buf);
    write_atomic(path, &buf)?;
    Ok(buf.len() as u64)
}

/// Records read back, each with its byte offset in the file.
pub type Records = Vec<(u64, Vec<u8>)>;

/// Reads a snapshot written by [`write`]: `None` when the file does not exist, the
/// records with their byte offsets otherwise. A wrong header, a damaged record, a missing end marker or data
/// after it is a [`StorageError::Corrupt`] naming the offset.
pub fn read(path: &Path, header: &[u8]) -> Result<Option<Records>, StorageError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(path, e)),
    };
    let corrupt = |offset: usize, reason: String| StorageError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if !bytes.starts_with(header) {
        return Err(corrupt(
            0,
            format!(
                "not a snapshot of this kind: expected the header {:?}",
                String::from_utf8_lossy(header).trim_end()
            ),
        ));
    }
    let mut records = Vec::new();
    let mut offset = header.len();
    loop {
        if offset == bytes.len() {
            return Err(corrupt(
                offset,
                "truncated: the end marker is missing".to_string(),
            ));
        }
        match frame::decode_at(&bytes, offset) {
            Ok(Frame::Record(payload, next)) => {
                records.push((offset as u64, payload.to_vec()));
                offset = next;
            }
            Ok(Frame::End(next)) => {
                if next != bytes.len() {
                    return Err(corrupt(
                        next,
                        format!(
                            "{} unexpected bytes after the end marker",
                            bytes.len() - next
                        ),
                    ));
                }
                return Ok(Some(records));
            }
            Err(e) if e.torn => {
                return Err(corrupt(offset, format!("truncated: {}", e.reason)));
            }
            Err(e) => return Err(corrupt(offset, e.reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"test snapshot v1\n";

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap");
        assert_eq!(read(&path, HEADER).unwrap(), None);
        let records = vec![b"one".to_vec(), b"two".to_vec()];
        let size = write(&path, HEADER, &records).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        let read_back = read(&path, HEADER).unwrap().unwrap();
        assert_eq!(
            read_back.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
            records
        );
        assert_eq!(read_back[0].0, HEADER.len() as u64);
        assert!(!temp_path(&path).exists());
        // An empty snapshot is valid too.
        write(&path, HEADER, &[]).unwrap();
        assert_eq!(read(&path, HEADER).unwrap(), Some(vec![]));
    }

    #[test]
    fn every_truncation_is_reported_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap");
        write(&path, HEADER, &[b"alpha".to_vec(), b"beta".to_vec()]).unwrap();
        let full = std::fs::read(&path).unwrap();
        for cut in 0..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let err = read(&path, HEADER).unwrap_err();
            let StorageError::Corrupt { offset, .. } = &err else {
                panic!("cut at {cut}: {err}")
            };
            assert!(*offset as usize <= cut, "cut at {cut}: {err}");
            assert!(err.to_string().contains("snap: corrupt at byte offset"));
        }
    }

    #[test]
    fn garbage_is_reported_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap");
        std::fs::write(&path, b"\x0a\x12protobuf from upstream").unwrap();
        let err = read(&path, HEADER).unwrap_err().to_string();
        assert!(
            err.contains("corrupt at byte offset 0: not a snapshot"),
            "{err}"
        );
        write(&path, HEADER, &[b"alpha".to_vec()]).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.push(7);
        std::fs::write(&path, &bytes).unwrap();
        let err = read(&path, HEADER).unwrap_err().to_string();
        assert!(
            err.contains("unexpected bytes after the end marker"),
            "{err}"
        );
    }
}
