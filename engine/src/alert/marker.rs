//! Alert statuses (upstream's marker): active, or suppressed while silences or
//! inhibiting alerts mute it.
//!
//! Upstream also shows `unprocessed` for an alert its dispatcher has not picked up yet.
//! Larum routes an alert in the same call that stores it, before the API answers, so a
//! stored alert is always processed: an alert nothing mutes needs no entry here at all,
//! which keeps ingestion to one map insert per alert.

use std::sync::RwLock;

use super::Fingerprint;
use super::shard::{FingerprintMap, SHARDS, shard_of};

/// The state of an alert, as the API shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// Received but not yet routed (upstream's transient state; larum routes alerts as
    /// it stores them, so it never reports it).
    Unprocessed,
    /// Routed and not muted.
    #[default]
    Active,
    /// Muted by a silence or an inhibition.
    Suppressed,
}

impl AlertState {
    /// The API's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Unprocessed => "unprocessed",
            AlertState::Active => "active",
            AlertState::Suppressed => "suppressed",
        }
    }
}

/// An alert's state with what mutes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertStatus {
    /// The state.
    pub state: AlertState,
    /// IDs of the active silences that match the alert.
    pub silenced_by: Vec<String>,
    /// Fingerprints (16 hex digits) of alerts inhibiting it.
    pub inhibited_by: Vec<String>,
}

/// What mutes an alert; kept only while something does.
#[derive(Clone, Debug, Default)]
struct Mutes {
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
}

/// The recorded status of an alert: `Some` while something mutes it. An entry of `None`
/// (left after the mutes ended) and no entry both mean active.
type Entry = Option<Box<Mutes>>;

fn state_of(entry: &Entry) -> AlertState {
    if entry.is_some() {
        AlertState::Suppressed
    } else {
        AlertState::Active
    }
}

/// The entry for these mutes: `None` when nothing mutes.
fn entry_for(mutes: Mutes) -> Entry {
    (!mutes.silenced_by.is_empty() || !mutes.inhibited_by.is_empty()).then(|| Box::new(mutes))
}

/// The statuses of every known alert, sharded by fingerprint.
pub struct AlertMarker {
    shards: Box<[RwLock<FingerprintMap<Entry>>]>,
}

impl Default for AlertMarker {
    fn default() -> Self {
        AlertMarker {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
        }
    }
}

impl AlertMarker {
    fn shard(&self, fp: Fingerprint) -> &RwLock<FingerprintMap<Entry>> {
        &self.shards[shard_of(fp)]
    }

    fn update(&self, fp: Fingerprint, f: impl FnOnce(&mut Mutes)) {
        let mut shard = self.shard(fp).write().unwrap_or_else(|p| p.into_inner());
        let entry = shard.entry(fp).or_default();
        let mut mutes = entry.take().map(|b| *b).unwrap_or_default();
        f(&mut mutes);
        *entry = entry_for(mutes);
    }

    /// The status of an alert; active when nothing was recorded.
    pub fn status(&self, fp: Fingerprint) -> AlertStatus {
        let shard = self.shard(fp).read().unwrap_or_else(|p| p.into_inner());
        match shard.get(&fp) {
            None => AlertStatus::default(),
            Some(entry) => {
                let mutes = entry.as_deref().cloned().unwrap_or_default();
                AlertStatus {
                    state: state_of(entry),
                    silenced_by: mutes.silenced_by,
                    inhibited_by: mutes.inhibited_by,
                }
            }
        }
    }

    /// The state of an alert, without copying the muting IDs.
    pub fn state(&self, fp: Fingerprint) -> AlertState {
        let shard = self.shard(fp).read().unwrap_or_else(|p| p.into_inner());
        shard.get(&fp).map(state_of).unwrap_or_default()
    }

    /// Records the silences muting an alert (empty: none); the state follows.
    pub fn set_silenced(&self, fp: Fingerprint, silence_ids: Vec<String>) {
        self.update(fp, |m| m.silenced_by = silence_ids);
    }

    /// Records the alerts inhibiting an alert (empty: none); the state follows.
    pub fn set_inhibited(&self, fp: Fingerprint, inhibiting: Vec<String>) {
        self.update(fp, |m| m.inhibited_by = inhibiting);
    }

    /// Forgets an alert (after garbage collection).
    pub fn delete(&self, fp: Fingerprint) {
        let mut shard = self.shard(fp).write().unwrap_or_else(|p| p.into_inner());
        shard.remove(&fp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_muting() {
        let m = AlertMarker::default();
        let fp = Fingerprint(42);
        assert_eq!(m.state(fp), AlertState::Active);

        m.set_silenced(fp, vec!["s1".into()]);
        let status = m.status(fp);
        assert_eq!(status.state, AlertState::Suppressed);
        assert_eq!(status.silenced_by, ["s1"]);

        m.set_inhibited(fp, vec!["0000000000000001".into()]);
        m.set_silenced(fp, vec![]);
        assert_eq!(m.state(fp), AlertState::Suppressed);
        m.set_inhibited(fp, vec![]);
        assert_eq!(m.state(fp), AlertState::Active);

        m.delete(fp);
        assert_eq!(m.status(fp), AlertStatus::default());
    }
}
