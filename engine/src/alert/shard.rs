//! Sharding by fingerprint: maps split into independently locked shards, keyed by the
//! fingerprint passed through a cheap finalizer (FNV-1a alone spreads similar label sets
//! poorly over some bit ranges).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::Fingerprint;

/// Number of shards; a power of two.
pub(crate) const SHARDS: usize = 64;

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The shard of a fingerprint. Uses bits 32..38 of the mixed value, which the maps inside
/// a shard do not use (they use the low bits for buckets and the top ones for tags).
pub(crate) fn shard_of(fp: Fingerprint) -> usize {
    ((mix(fp.0) >> 32) as usize) & (SHARDS - 1)
}

/// A hasher that only mixes a fingerprint's bits (no SipHash rounds).
#[derive(Default, Clone, Copy)]
pub(crate) struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used for fingerprints (they hash through `write_u64`); fold anything else.
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = mix(n);
    }
}

/// A map keyed by fingerprint.
pub(crate) type FingerprintMap<V> = HashMap<Fingerprint, V, BuildHasherDefault<FingerprintHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::LabelSet;

    #[test]
    fn fingerprints_spread_over_shards() {
        let mut counts = [0usize; SHARDS];
        for i in 0..6400 {
            let fp =
                LabelSet::from_pairs([("alertname", "A"), ("i", &*i.to_string())]).fingerprint();
            counts[shard_of(fp)] += 1;
        }
        // Every shard gets some; none gets more than three times its share.
        assert!(counts.iter().all(|&c| c > 30 && c < 300), "{counts:?}");
    }
}
