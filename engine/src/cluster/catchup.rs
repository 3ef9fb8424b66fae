//! Bulk catch-up: a replica that starts (with an empty disk, or late) fetches a live
//! peer's full state over HTTP before it counts as settled; gossip alone needs tens of
//! seconds for 100k keys.
//!
//! Peers advertise their API base URL in their chitchat state ([`super::state::API_KEY`]);
//! the snapshot is served at [`SNAPSHOT_PATH`] under the route prefix.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::nflog::{MeshEntry, NotificationLog};
use crate::silence::{Silence, Silences};

/// Path of the snapshot endpoint, under the route prefix.
pub const SNAPSHOT_PATH: &str = "/-/cluster/snapshot";

/// A silence and the time it may be garbage-collected.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceRecord {
    /// The silence.
    pub silence: Silence,
    /// When it may be garbage-collected.
    pub expires_at: Timestamp,
}

/// A replica's full replicated state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every silence.
    pub silences: Vec<SilenceRecord>,
    /// Every notification-log entry.
    pub nflog: Vec<MeshEntry>,
}

impl Snapshot {
    /// The state of these stores.
    pub fn take(silences: &Silences, nflog: &NotificationLog) -> Snapshot {
        Snapshot {
            silences: silences
                .records()
                .into_iter()
                .map(|(silence, expires_at)| SilenceRecord {
                    silence,
                    expires_at,
                })
                .collect(),
            nflog: nflog.entries(),
        }
    }

    /// Merges the snapshot into the stores (newest wins); returns how many silences and
    /// entries changed. Blocks on the silences' fsync.
    pub fn apply(
        self,
        silences: &Silences,
        nflog: &NotificationLog,
    ) -> Result<(usize, usize), crate::silence::SilenceError> {
        let mut entries = 0;
        for e in self.nflog {
            if nflog.merge(e) {
                entries += 1;
            }
        }
        let merged = silences.merge_many(
            self.silences
                .into_iter()
                .map(|r| (r.silence, r.expires_at))
                .collect(),
        )?;
        Ok((merged, entries))
    }
}

/// Why a catch-up failed.
#[derive(Debug, thiserror::Error)]
pub enum CatchupError {
    /// The request failed or the peer answered an error.
    #[error("fetching the snapshot from {peer} failed: {reason}")]
    Fetch {
        /// The peer's name.
        peer: String,
        /// What went wrong.
        reason: String,
    },
    /// Merging failed (storage).
    #[error("merging the snapshot failed: {0}")]
    Merge(String),
}

/// Fetches `base_url`'s snapshot and merges it; returns the silences and entries
/// changed.
pub async fn catch_up(
    client: &reqwest::Client,
    peer: &str,
    base_url: &str,
    silences: Arc<Silences>,
    nflog: Arc<NotificationLog>,
) -> Result<(usize, usize), CatchupError> {
    let fail = |reason: String| CatchupError::Fetch {
        peer: peer.to_string(),
        reason,
    };
    let url = format!("{}{SNAPSHOT_PATH}", base_url.trim_end_matches('/'));
    let started = std::time::Instant::now();
    let response = client
        .get(&url)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("status {}", response.status())));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    let fetched = started.elapsed();
    let size = body.len();
    tokio::task::spawn_blocking(move || {
        let snapshot: Snapshot =
            serde_json::from_slice(&body).map_err(|e| format!("undecodable snapshot: {e}"))?;
        let decoded = started.elapsed();
        let applied = snapshot.apply(&silences, &nflog).map_err(|e| e.to_string());
        tracing::debug!(size, fetched = ?fetched, decoded = ?decoded, applied = ?started.elapsed(), "Catch-up timings");
        applied
    })
    .await
    .map_err(|e| CatchupError::Merge(e.to_string()))?
    .map_err(CatchupError::Merge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::silence::SilenceMatcher;

    #[test]
    fn a_snapshot_round_trips_and_merges_newest_first() {
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
        let a = Silences::in_memory(Default::default(), clock);
        let log_a = NotificationLog::new(Duration::from_secs(3600), clock);
        let now = clock.now();
        let id = a
            .set(Silence::new(
                vec![SilenceMatcher::new(
                    "job",
                    "x",
                    crate::config::matcher::MatchType::Equal,
                )],
                now,
                now + jiff::SignedDuration::from_hours(1),
            ))
            .unwrap();
        log_a.log(
            &crate::nflog::ReceiverKey {
                group_name: "r".into(),
                integration: "webhook".into(),
                idx: 0,
            },
            "g",
            vec![1],
            vec![],
            Duration::ZERO,
        );
        let json = serde_json::to_vec(&Snapshot::take(&a, &log_a)).unwrap();
        let b = Silences::in_memory(Default::default(), clock);
        let log_b = NotificationLog::new(Duration::from_secs(3600), clock);
        let snap: Snapshot = serde_json::from_slice(&json).unwrap();
        assert_eq!(snap.clone().apply(&b, &log_b).unwrap(), (1, 1));
        assert_eq!(b.get(&id), a.get(&id));
        assert_eq!(log_b.entries(), log_a.entries());
        // Applying again changes nothing.
        assert_eq!(snap.apply(&b, &log_b).unwrap(), (0, 0));
    }
}
