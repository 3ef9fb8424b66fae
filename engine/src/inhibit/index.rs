//! The source alerts of one rule, indexed by the values of the rule's `equal` labels.
//!
//! Source alerts with the same `equal` values form a group; within a group they are
//! ordered by end time, separately for sources that also match the target side. So
//! "is there a firing source with these values" is one hash lookup and one look at the
//! latest end, whatever the number of source alerts. The index is split into shards by
//! the hash of the values, each with its own lock.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use jiff::Timestamp;

use crate::alert::Fingerprint;

/// Shards per rule; a power of two.
const SHARDS: usize = 16;

/// MurmurHash3's 64-bit finalizer.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Hashes a `u64` (a key or a fingerprint) with one finalizer instead of SipHash.
#[derive(Default, Clone, Copy)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        mix(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<MixHasher>>;

/// What the index keeps of one version of a source alert.
#[derive(Clone, Copy, Debug)]
pub(super) struct Versioned {
    /// When it resolves; `Timestamp::MAX` for Go's zero time (never).
    pub(super) end: Timestamp,
    /// When this version was received (newer versions win).
    pub(super) updated_at: Timestamp,
    /// Whether it matches the target side of the rule too.
    pub(super) two_sided: bool,
}

/// Source alerts with the same `equal` values, by end time; `[0]` holds those matching
/// only the source side, `[1]` those matching both sides.
struct Group {
    values: Box<[Box<str>]>,
    by_end: [BTreeSet<(Timestamp, Fingerprint)>; 2],
}

impl Group {
    fn is_empty(&self) -> bool {
        self.by_end.iter().all(BTreeSet::is_empty)
    }
}

#[derive(Default)]
struct Shard {
    /// Every indexed source alert, with its key and version.
    sources: Map<Fingerprint, (u64, Versioned)>,
    /// Groups by key; more than one only when different values share a hash.
    groups: Map<u64, Vec<Group>>,
}

impl Shard {
    fn group_mut(&mut self, key: u64, same: impl Fn(&[Box<str>]) -> bool) -> Option<&mut Group> {
        self.groups
            .get_mut(&key)
            .and_then(|groups| groups.iter_mut().find(|g| same(&g.values)))
    }

    /// Takes `fp` out of its group, dropping the group when it is left empty.
    fn unlink(
        &mut self,
        fp: Fingerprint,
        key: u64,
        old: Versioned,
        same: impl Fn(&[Box<str>]) -> bool,
    ) {
        let Some(groups) = self.groups.get_mut(&key) else {
            return;
        };
        if let Some(i) = groups.iter().position(|g| same(&g.values)) {
            groups[i].by_end[usize::from(old.two_sided)].remove(&(old.end, fp));
            if groups[i].is_empty() {
                groups.swap_remove(i);
            }
        }
        if groups.is_empty() {
            self.groups.remove(&key);
        }
    }
}

/// The source alerts of one rule.
pub(super) struct SourceIndex {
    shards: Box<[RwLock<Shard>]>,
}

impl Default for SourceIndex {
    fn default() -> Self {
        SourceIndex {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
        }
    }
}

impl SourceIndex {
    fn shard_index(key: u64) -> usize {
        ((mix(key) >> 40) as usize) & (SHARDS - 1)
    }

    fn read(&self, key: u64) -> RwLockReadGuard<'_, Shard> {
        self.shards[Self::shard_index(key)]
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, key: u64) -> RwLockWriteGuard<'_, Shard> {
        self.shards[Self::shard_index(key)]
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Records the current version of a source alert. `same` tells whether a group's
    /// values are the alert's, `values` builds them for a new group. With `only_newer`,
    /// a version older than the recorded one is ignored.
    pub(super) fn upsert(
        &self,
        fp: Fingerprint,
        key: u64,
        same: impl Fn(&[Box<str>]) -> bool,
        values: impl FnOnce() -> Box<[Box<str>]>,
        version: Versioned,
        only_newer: bool,
    ) {
        let mut shard = self.write(key);
        if let Some((old_key, old)) = shard.sources.get(&fp).copied() {
            if only_newer && old.updated_at > version.updated_at {
                return;
            }
            shard.unlink(fp, old_key, old, &same);
        }
        shard.sources.insert(fp, (key, version));
        let side = usize::from(version.two_sided);
        if let Some(group) = shard.group_mut(key, &same) {
            group.by_end[side].insert((version.end, fp));
            return;
        }
        let mut group = Group {
            values: values(),
            by_end: [BTreeSet::new(), BTreeSet::new()],
        };
        group.by_end[side].insert((version.end, fp));
        shard.groups.entry(key).or_default().push(group);
    }

    /// Forgets a source alert.
    pub(super) fn remove(&self, fp: Fingerprint, key: u64, same: impl Fn(&[Box<str>]) -> bool) {
        let mut shard = self.write(key);
        if let Some((old_key, old)) = shard.sources.remove(&fp) {
            shard.unlink(fp, old_key, old, same);
        }
    }

    /// The source alert with these values that fires at `now` and resolves last, leaving
    /// out sources matching both sides when `exclude_two_sided`.
    pub(super) fn firing(
        &self,
        key: u64,
        same: impl Fn(&[Box<str>]) -> bool,
        now: Timestamp,
        exclude_two_sided: bool,
    ) -> Option<Fingerprint> {
        let shard = self.read(key);
        let group = shard.groups.get(&key)?.iter().find(|g| same(&g.values))?;
        let sides = if exclude_two_sided { 1 } else { 2 };
        group.by_end[..sides]
            .iter()
            .filter_map(|set| set.last())
            .max()
            .filter(|(end, _)| *end > now)
            .map(|(_, fp)| *fp)
    }

    /// Number of indexed source alerts.
    pub(super) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|p| p.into_inner()).sources.len())
            .sum()
    }
}
