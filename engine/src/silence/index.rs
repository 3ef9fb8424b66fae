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
use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
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

const INDEX_SHARDS: usize = 64;

/// Copy-on-write shards: a change clones one shard, not the whole map.
type Shards<T> = Box<[Arc<T>]>;

fn new_shards<T: Default>() -> Shards<T> {
    (0..INDEX_SHARDS).map(|_| Arc::new(T::default())).collect()
}

/// A fixed (per process) hash of a string, to pick a shard.
fn str_hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(s.as_bytes());
    h.finish()
}

/// The hash a label pair is filed under. Two pairs may share one: candidates are
/// always checked against every matcher, so a collision costs a check, never a result.
fn pair_hash(name: &str, value: &str) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(name.as_bytes());
    h.write_u8(0xff);
    h.write(value.as_bytes());
    h.finish()
}

fn shard_of(hash: u64) -> usize {
    (hash % INDEX_SHARDS as u64) as usize
}

/// All silences and the matching index, as of one version.
///
/// Cloning is cheap (two boxes of shard pointers); the writer keeps a master copy,
/// changes it in place (cloning only the shards it touches while readers still hold
/// them) and publishes clones.
#[derive(Clone, Debug)]
pub struct Index {
    /// Increases with every change of the silence set.
    pub version: u64,
    /// Every silence by ID, expired ones included, sharded by ID hash.
    entries: Shards<HashMap<Arc<str>, Arc<Entry>>>,
    len: usize,
    /// Label pair hash -> silences filed under that pair, sharded by that hash.
    by_equal: Shards<HashMap<u64, Vec<Arc<Entry>>>>,
    /// Silences that can still mute but have no usable equality matcher.
    unindexed: Arc<Vec<Arc<Entry>>>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            version: 0,
            entries: new_shards(),
            len: 0,
            by_equal: new_shards(),
            unindexed: Arc::default(),
        }
    }
}

impl Index {
    /// Builds the index of `entries` at `now` (silences already expired are left out of
    /// the matching structures: they can only come back through a change).
    pub fn build(
        version: u64,
        entries: impl IntoIterator<Item = Arc<Entry>>,
        now: Timestamp,
    ) -> Self {
        let mut index = Index {
            version,
            ..Index::default()
        };
        for e in entries {
            index.upsert(e, now);
        }
        index
    }

    /// Adds a silence or replaces the one with the same ID.
    pub fn upsert(&mut self, entry: Arc<Entry>, now: Timestamp) {
        self.remove(&entry.id);
        if entry.state_at(now) != SilenceState::Expired {
            match entry.index_key() {
                Some(m) => {
                    let h = pair_hash(&m.name, &m.value);
                    Arc::make_mut(&mut self.by_equal[shard_of(h)])
                        .entry(h)
                        .or_default()
                        .push(entry.clone());
                }
                None => Arc::make_mut(&mut self.unindexed).push(entry.clone()),
            }
        }
        let shard = shard_of(str_hash(&entry.id));
        Arc::make_mut(&mut self.entries[shard]).insert(entry.id.clone(), entry);
        self.len += 1;
    }

    /// Removes a silence; returns it.
    pub fn remove(&mut self, id: &str) -> Option<Arc<Entry>> {
        let shard = shard_of(str_hash(id));
        if !self.entries[shard].contains_key(id) {
            return None;
        }
        let old = Arc::make_mut(&mut self.entries[shard]).remove(id)?;
        self.len -= 1;
        match old.index_key() {
            Some(m) => {
                let h = pair_hash(&m.name, &m.value);
                let s = shard_of(h);
                if self.by_equal[s]
                    .get(&h)
                    .is_some_and(|b| b.iter().any(|e| e.id == old.id))
                {
                    let map = Arc::make_mut(&mut self.by_equal[s]);
                    if let Some(bucket) = map.get_mut(&h) {
                        bucket.retain(|e| e.id != old.id);
                        if bucket.is_empty() {
                            map.remove(&h);
                        }
                    }
                }
            }
            None => {
                if self.unindexed.iter().any(|e| e.id == old.id) {
                    Arc::make_mut(&mut self.unindexed).retain(|e| e.id != old.id);
                }
            }
        }
        Some(old)
    }

    /// The silence with this ID.
    pub fn get(&self, id: &str) -> Option<&Arc<Entry>> {
        self.entries[shard_of(str_hash(id))].get(id)
    }

    /// Every silence, in no order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.entries.iter().flat_map(|s| s.values())
    }

    /// How many silences there are, expired ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no silence.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The silences that match `labels` and are not expired at `now`.
    pub fn candidates(&self, labels: &LabelSet, now: Timestamp) -> Vec<Arc<Entry>> {
        let mut out: Vec<Arc<Entry>> = Vec::new();
        let keep = |e: &Arc<Entry>| e.state_at(now) != SilenceState::Expired && e.matches(labels);
        // Two of the alert's pairs may share a hash: visit each bucket once.
        let mut visited = [0u64; 16];
        for (i, (name, value)) in labels.iter().enumerate() {
            let h = pair_hash(name, value);
            let seen = if i < visited.len() {
                visited[i] = h;
                visited[..i].contains(&h)
            } else {
                visited.contains(&h) || labels.iter().take(i).any(|(n, v)| pair_hash(n, v) == h)
            };
            if seen {
                continue;
            }
            if let Some(bucket) = self.by_equal[shard_of(h)].get(&h) {
                out.extend(bucket.iter().filter(|e| keep(e)).cloned());
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
                .iter()
                .flat_map(|s| s.values())
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
                // Same silences, and time has not gone backwards past the result.
                Some(c) if c.version == index.version && c.computed_at <= now => {
                    if now < c.valid_until {
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
