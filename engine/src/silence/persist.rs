//! The stored form of a silence: one JSON object per record of the snapshot and the log.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::model::Silence;

/// The snapshot's file name under `--storage.path`.
///
/// Not upstream's `silences`, so an Alertmanager data directory is never mistaken for
/// ours (nor overwritten).
pub const SNAPSHOT_FILE: &str = "silences.larum";
/// The append log's file name under `--storage.path`.
pub const LOG_FILE: &str = "silences.larum.log";
/// First line of a snapshot: kind and format version.
pub const SNAPSHOT_HEADER: &[u8] = b"larum silences snapshot v1\n";
/// First line of a log: kind and format version.
pub const LOG_HEADER: &[u8] = b"larum silences log v1\n";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordRef<'a> {
    silence: &'a Silence,
    expires_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Record {
    silence: Silence,
    expires_at: Timestamp,
}

/// Encodes a silence and the time it may be garbage-collected.
pub fn encode(silence: &Silence, expires_at: Timestamp) -> Vec<u8> {
    // Serializing plain structs with string keys cannot fail.
    serde_json::to_vec(&RecordRef {
        silence,
        expires_at,
    })
    .unwrap_or_default()
}

/// Decodes a record written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<(Silence, Timestamp), String> {
    let r: Record =
        serde_json::from_slice(bytes).map_err(|e| format!("undecodable silence: {e}"))?;
    if r.silence.id.is_empty() {
        return Err("silence without an ID".to_string());
    }
    Ok((r.silence, r.expires_at))
}
