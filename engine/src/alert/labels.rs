//! Label sets and their Prometheus fingerprint.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A label set's identity: Prometheus' 64-bit FNV-1a hash of the sorted pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl fmt::Display for Fingerprint {
    /// 16 lower-case hex digits, as upstream's API shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

const FNV_OFFSET: u64 = 14695981039346656037;
const FNV_PRIME: u64 = 1099511628211;
const SEPARATOR: u8 = 0xff;

fn fnv_add(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// An immutable set of labels (or annotations), sorted by name, cheap to clone.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSet(Arc<[(Box<str>, Box<str>)]>);

impl LabelSet {
    /// Builds a set from pairs; a later duplicate name replaces an earlier one.
    pub fn from_pairs<K: Into<Box<str>>, V: Into<Box<str>>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut v: Vec<(Box<str>, Box<str>)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Stable sort keeps insertion order among equal names; keep the last of each.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduped: Vec<(Box<str>, Box<str>)> = Vec::with_capacity(v.len());
        for pair in v {
            match deduped.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => deduped.push(pair),
            }
        }
        LabelSet(deduped.into())
    }

    /// The value of a label, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Prometheus' fingerprint of the set (`model.LabelSet.Fingerprint`).
    pub fn fingerprint(&self) -> Fingerprint {
        if self.0.is_empty() {
            return Fingerprint(FNV_OFFSET);
        }
        let mut hash = FNV_OFFSET;
        for (k, v) in self.0.iter() {
            hash = fnv_add(hash, k.as_bytes());
            hash = fnv_add(hash, &[SEPARATOR]);
            hash = fnv_add(hash, v.as_bytes());
            hash = fnv_add(hash, &[SEPARATOR]);
        }
        Fingerprint(hash)
    }

    /// The subset with only the given names (missing names are left out).
    pub fn subset<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> LabelSet {
        let mut pairs = Vec::new();
        for name in names {
            if let Some(v) = self.get(name) {
                pairs.push((name, v));
            }
        }
        LabelSet::from_pairs(pairs)
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl fmt::Display for LabelSet {
    /// `{a="1", b="2"}`, as Prometheus prints label sets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(LabelSet::from_pairs(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_match_prometheus() {
        // Values computed with github.com/prometheus/common/model LabelSet.Fingerprint().
        assert_eq!(
            LabelSet::default().fingerprint().to_string(),
            "cbf29ce484222325"
        );
        let ls = LabelSet::from_pairs([("alertname", "up"), ("job", "node")]);
        assert_eq!(ls.fingerprint().to_string(), "d5ca6cb65cf8c854");
        assert_eq!(
            ls.fingerprint(),
            LabelSet::from_pairs([("job", "node"), ("alertname", "up")]).fingerprint()
        );
        let utf8 = LabelSet::from_pairs([
            ("alertname", "HighLatency"),
            ("instance", "a:9100"),
            ("severity", "critical"),
            ("é", "ü"),
        ]);
        assert_eq!(utf8.fingerprint().to_string(), "341c1781fe0d363f");
    }

    #[test]
    fn lookup_and_subset() {
        let ls = LabelSet::from_pairs([("b", "2"), ("a", "1"), ("a", "3")]);
        assert_eq!(ls.get("a"), Some("3"));
        assert_eq!(ls.get("c"), None);
        assert_eq!(ls.subset(["b", "z"]).to_string(), "{b=\"2\"}");
        assert_eq!(ls.to_string(), "{a=\"3\", b=\"2\"}");
    }
}
