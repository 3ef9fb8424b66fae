//! The stored form of the notification log: one JSON [`MeshEntry`] per snapshot record.

use super::MeshEntry;

/// The snapshot's file name under `--storage.path`.
///
/// Not upstream's `nflog`, so an Alertmanager data directory is never mistaken for ours
/// (nor overwritten).
pub const SNAPSHOT_FILE: &str = "nflog.larum";
/// First line of a snapshot: kind and format version.
pub const SNAPSHOT_HEADER: &[u8] = b"larum nflog snapshot v1\n";

/// Encodes one entry.
pub fn encode(entry: &MeshEntry) -> Vec<u8> {
    // Plain structs with string keys: serializing cannot fail.
    serde_json::to_vec(entry).unwrap_or_default()
}

/// Decodes a record written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<MeshEntry, String> {
    let e: MeshEntry = serde_json::from_slice(bytes)
        .map_err(|e| format!("undecodable notification log entry: {e}"))?;
    if e.entry.group_key.is_empty() {
        return Err("notification log entry without a group key".to_string());
    }
    Ok(e)
}
