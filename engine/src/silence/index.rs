//! The matching index and the per-alert result cache.
//!
//! Every silence that can still mute (pending or active when the index was built) is
//! filed under one of its equality matchers with a non-empty value: an alert can only
//! match it if the alert has exactly that label pair, so a lookup per alert label finds
//! every candidate. Silences without such a matcher (only regex or negative matchers)
//! are kept in a short list checked for every alert.
//!
//! The index is immutable and published through an `ArcSwap`: readers never wait for
//! writers. Results are cached per alert fingerprint together with the index version
//! they were computed from and the time until which they hold (the next start or end
//! among the matching silences), so an unchanged alert costs one hash lookup.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;

use crate::alert::{Fingerprint, LabelSet};
use crate::config::matcher::{MatchType, Matcher};

use super::model::{Silence, SilenceState};

/// A stored silence with its compiled matchers.
#[derive(Debug)]
pub struct Entry {
    /// The silence's ID, shared with the index.
    pub id: Arc<str>,
    /// The silence.
    pub silence: Silence,
    /// Its matchers, compiled.
    pub matchers: Vec<Matcher>,
    /// When it may be garbage-collected (`endsAt` + retention when last changed).
    pub expires_at: Timestamp,
}

impl Entry {
    /// Whether every matcher accepts the labels (a missing label reads as "").
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.matchers
            .iter()
            .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
    }

    /// The state at `now`.
    pub fn state_at(&self, now: Timestamp) -> SilenceState {
        self.silence.state_at(now)
    }

    /// The equality matcher this silence is filed under, if it has one.
    fn index_key(&self) -> Option<&Matcher> {
        self.matchers
            .iter()
            .find(|m| m.match_type == MatchType::Equal && !m.value.is_empty())
    }
}

/// Label value -> silences filed under that value.
type ByValue = HashMap<Box<str>, Vec<Arc<Entry>>>;

/// All silences and the matching index, as of one version.
#[derive(Debug, Default)]
pub struct Index {
    /// Increases with every change of the silence set.
    pub version: u64,
    /// Every silence by ID, expired ones included.
    pub entries: HashMap<Arc<str>, Arc<Entry>>,
    /// Label name -> label value -> silences filed under that pair.
    by_equal: HashMap<Box<str>, ByValue>,
    /// Silences that can still mute but have no usable equality matcher.
    unindexed: Vec<Arc<Entry>>,
}

impl Index {
    /// Builds the index of `entries` at `now` (silences already expired are left out of
    /// the matching structures: they can only come back through a change).
    pub fn build(version: u64, entries: HashMap<Arc<str>, Arc<Entry>>, now: Timestamp) -> Self {
        let mut by_equal: HashMap<Box<str>, ByValue> = HashMap::new();
        let mut unindexed = Vec::new();
        for e in entries.values() {
            if e.state_at(now) == SilenceState::Expired {
                continue;
            }
            match e.index_key() {
                Some(m) => by_equal
                    .entry(m.name.as_str().into())
                    .or_default()
                    .entry(m.value.as_str().into())
                    .or_default()
                    .push(e.clone()),
                None => unindexed.push(e.clone()),
            }
        }
        Index {
            version,
            entries,
            by_equal,
            unindexed,
        }
    }

    /// The silences that match `labels` and are not expired at `now`.
    pub fn candidates(&self, labels: &LabelSet, now: Timestamp) -> Vec<Arc<Entry>> {
        let mut out = Vec::new();
        let keep = |e: &Arc<Entry>| e.state_at(now) != SilenceState::Expired && e.matches(labels);
        if !self.by_equal.is_empty() {
            for (name, value) in labels.iter() {
                if let Some(bucket) = self.by_equal.get(name).and_then(|vals| vals.get(value)) {
                    out.extend(bucket.iter().filter(|e| keep(e)).cloned());
                }
            }
        }
        out.extend(self.unindexed.iter().filter(|e| keep(e)).cloned());
        out
    }

    /// How many silences the matching structures hold.
    pub fn indexed_len(&self) -> usize {
        self.unindexed.len()
            + self
                .by_equal
                .values()
                .flat_map(HashMap::values)
                .map(Vec::len)
                .sum::<usize>()
    }
}

/// The result of matching one alert.
#[derive(Clone, Debug)]
struct CacheEntry {
    /// Index version the candidates come from.
    version: u64,
    /// When the result was computed; it holds from here...
    computed_at: Timestamp,
    /// ...until here (exclusive): the next start or end among the candidates.
    valid_until: Timestamp,
    /// Matching silences that were pending or active at `computed_at`.
    candidates: Arc<[Arc<Entry>]>,
    /// IDs of the active ones at `computed_at`.
    active: Arc<[Arc<str>]>,
}

/// Evaluates candidates at `now`: the active IDs, the candidates still relevant, and
/// how long this result holds.
fn evaluate(candidates: &[Arc<Entry>], version: u64, now: Timestamp) -> CacheEntry {
    let mut valid_until = Timestamp::MAX;
    let mut active = Vec::new();
    let mut live = Vec::with_capacity(candidates.len());
    for e in candidates {
        match e.state_at(now) {
            SilenceState::Pending => {
                valid_until = valid_until.min(e.silence.starts_at);
                live.push(e.clone());
            }
            SilenceState::Active => {
                valid_until = valid_until.min(e.silence.ends_at);
                active.push(e.id.clone());
                live.push(e.clone());
            }
            SilenceState::Expired => {}
        }
    }
    active.sort_unstable();
    CacheEntry {
        version,
        computed_at: now,
        valid_until,
        candidates: live.into(),
        active: active.into(),
    }
}

const SHARDS: usize = 64;

/// Per-fingerprint results, in shards so concurrent flushes rarely meet on a lock.
#[derive(Debug)]
pub struct MuteCache {
    shards: Box<[RwLock<HashMap<Fingerprint, CacheEntry>>]>,
}

impl Default for MuteCache {
    fn default() -> Self {
        MuteCache {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
        }
    }
}

/// What a lookup had to do; feeds the query metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The cached result still held.
    Hit,
    /// The cached candidates were re-evaluated for the current time.
    Reevaluated,
    /// The index was queried.
    Queried,
}

impl MuteCache {
    fn shard(&self, fp: Fingerprint) -> &RwLock<HashMap<Fingerprint, CacheEntry>> {
        // Fingerprints are hashes already: their low bits spread evenly.
        &self.shards[(fp.0 as usize) % SHARDS]
    }

    /// The IDs of the silences muting `labels` (fingerprint `fp`) at `now`, sorted.
    pub fn silenced_by(
        &self,
        index: &Index,
        fp: Fingerprint,
        labels: &LabelSet,
        now: Timestamp,
    ) -> (Arc<[Arc<str>]>, Lookup) {
        let shard = self.shard(fp);
        let cached = {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            match map.get(&fp) {
                Some(c) if c.version == index.version => {
                    if c.computed_at <= now && now < c.valid_until {
                        return (c.active.clone(), Lookup::Hit);
                    }
                    Some(c.candidates.clone())
                }
                _ => None,
            }
        };
        let (entry, lookup) = match cached {
            Some(candidates) => (
                evaluate(&candidates, index.version, now),
                Lookup::Reevaluated,
            ),
            None => (
                evaluate(&index.candidates(labels, now), index.version, now),
                Lookup::Queried,
            ),
        };
        let active = entry.active.clone();
        shard
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fp, entry);
        (active, lookup)
    }

    /// Drops the result of one alert (for example when the alert is garbage-collected).
    pub fn forget(&self, fp: Fingerprint) {
        self.shard(fp)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fp);
    }

    /// Drops results computed from versions before `version`.
    pub fn prune(&self, version: u64) {
        for shard in self.shards.iter() {
            shard
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, c| c.version >= version);
        }
    }

    /// How many alerts have a cached result.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// Whether no result is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
