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
///
/// The whole set is one shared allocation: a small header of offsets followed by the
/// names and values. The header's integers are written as fixed-width base-128 digits
/// (every byte below 0x80), so the buffer is valid UTF-8 and no `unsafe` is needed to
/// read it back. Layout: `[w][n][end of name 0][end of value 0]...[text]`, where `w`
/// (1 to 5) is the number of digits of every integer, `n` the number of pairs and the
/// ends are offsets into the text. The encoding of a set is canonical, so equal sets
/// have equal buffers. The empty set allocates nothing.
#[derive(Clone, Default)]
pub struct LabelSet(Option<Arc<str>>);

/// Largest value `w` digits of 7 bits can hold, for `w` in 1..=5.
fn width_for(max: usize) -> usize {
    let mut w = 1;
    while w < 5 && max >= 1usize << (7 * w) {
        w += 1;
    }
    w
}

fn push_int(buf: &mut String, w: usize, v: usize) {
    for i in (0..w).rev() {
        // Each digit is below 0x80: an ASCII character.
        buf.push(char::from(((v >> (7 * i)) & 0x7f) as u8));
    }
}

/// Slots of each thread's cache of recently built sets (a power of two).
const RECENT_SLOTS: usize = 1024;
/// Sets with longer buffers are not cached, so a cache holds at most
/// `RECENT_SLOTS * RECENT_MAX_BYTES` of sets that nothing else uses.
const RECENT_MAX_BYTES: usize = 1024;

/// A thread's scratch space and its cache of recently built sets.
#[derive(Default)]
struct Builder {
    /// Scratch space for encoding, reused so that building a set allocates only the set.
    scratch: String,
    /// Direct-mapped by the hash of the buffer: a set equal to a recent one (often the
    /// annotations, or an alert posted again) shares its buffer instead of a new one.
    /// Each slot keeps the buffer's hash, so a different set in the slot is told apart
    /// without reading its (likely cold) bytes.
    recent: Vec<Option<(u64, Arc<str>)>>,
}

impl Builder {
    fn finish(&mut self) -> LabelSet {
        let buf = self.scratch.as_str();
        if buf.len() > RECENT_MAX_BYTES {
            return LabelSet(Some(Arc::from(buf)));
        }
        if self.recent.is_empty() {
            self.recent.resize(RECENT_SLOTS, None);
        }
        let hash = xxhash_rust::xxh64::xxh64(buf.as_bytes(), 0);
        let slot = (hash as usize) & (RECENT_SLOTS - 1);
        match &mut self.recent[slot] {
            Some((h, hit)) if *h == hash && &**hit == buf => LabelSet(Some(hit.clone())),
            entry => {
                let set: Arc<str> = Arc::from(buf);
                *entry = Some((hash, set.clone()));
                LabelSet(Some(set))
            }
        }
    }
}

thread_local! {
    static BUILDER: std::cell::RefCell<Builder> = std::cell::RefCell::new(Builder::default());
}

/// Encodes sorted pairs with unique names.
fn encode<'a>(pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone) -> LabelSet {
    let n = pairs.len();
    if n == 0 {
        return LabelSet(None);
    }
    let text: usize = pairs.clone().map(|(k, v)| k.len() + v.len()).sum();
    let w = width_for(text.max(n));
    BUILDER.with(|builder| {
        let mut fresh = Builder::default();
        let mut guard = builder.try_borrow_mut();
        let builder: &mut Builder = match guard.as_deref_mut() {
            Ok(builder) => builder,
            Err(_) => &mut fresh,
        };
        let buf = &mut builder.scratch;
        buf.clear();
        buf.reserve(1 + w * (1 + 2 * n) + text);
        buf.push(char::from(w as u8));
        push_int(buf, w, n);
        let mut end = 0;
        for (k, v) in pairs.clone() {
            end += k.len();
            push_int(buf, w, end);
            end += v.len();
            push_int(buf, w, end);
        }
        for (k, v) in pairs {
            buf.push_str(k);
            buf.push_str(v);
        }
        builder.finish()
    })
}

/// A decoded view of a set's buffer.
#[derive(Clone, Copy)]
struct View<'a> {
    buf: &'a str,
    w: usize,
    n: usize,
    text: usize,
}

impl<'a> View<'a> {
    fn new(buf: &'a str) -> View<'a> {
        let bytes = buf.as_bytes();
        let w = bytes.first().map_or(1, |&b| usize::from(b).clamp(1, 5));
        let mut view = View {
            buf,
            w,
            n: 0,
            text: 0,
        };
        view.n = view.int(1);
        view.text = 1 + w * (1 + 2 * view.n);
        view
    }

    fn int(&self, pos: usize) -> usize {
        let bytes = self.buf.as_bytes();
        let mut v = 0;
        for i in pos..pos + self.w {
            v = (v << 7) | usize::from(bytes.get(i).copied().unwrap_or(0));
        }
        v
    }

    fn text(&self, from: usize, to: usize) -> &'a str {
        self.buf
            .get(self.text + from..self.text + to)
            .unwrap_or_default()
    }

    fn pair(&self, i: usize) -> (&'a str, &'a str) {
        let base = 1 + self.w * (1 + 2 * i);
        let start = if i == 0 { 0 } else { self.int(base - self.w) };
        let name_end = self.int(base);
        let value_end = self.int(base + self.w);
        (self.text(start, name_end), self.text(name_end, value_end))
    }

    fn name(&self, i: usize) -> &'a str {
        let base = 1 + self.w * (1 + 2 * i);
        let start = if i == 0 { 0 } else { self.int(base - self.w) };
        self.text(start, self.int(base))
    }
}

/// The pairs of a [`LabelSet`], sorted by name.
#[derive(Clone)]
pub struct Iter<'a> {
    view: Option<View<'a>>,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        let pair = self.view?.pair(self.front);
        self.front += 1;
        Some(pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.view.map(|v| v.pair(self.back))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl LabelSet {
    /// Builds a set from pairs; a later duplicate name replaces an earlier one.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut v: Vec<(K, V)> = pairs.into_iter().collect();
        // Stable sort keeps insertion order among equal names; keep the last of each.
        v.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut keep: Vec<(&str, &str)> = Vec::with_capacity(v.len());
        for (k, val) in &v {
            let pair = (k.as_ref(), val.as_ref());
            match keep.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => keep.push(pair),
            }
        }
        encode(keep.iter().copied())
    }

    fn view(&self) -> Option<View<'_>> {
        self.0.as_deref().map(View::new)
    }

    /// The value of a label, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        let view = self.view()?;
        let (mut lo, mut hi) = (0, view.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match view.name(mid).cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(view.pair(mid).1),
            }
        }
        None
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> Iter<'_> {
        let view = self.view();
        Iter {
            view,
            front: 0,
            back: view.map_or(0, |v| v.n),
        }
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.view().map_or(0, |v| v.n)
    }

    /// Whether there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Prometheus' fingerprint of the set (`model.LabelSet.Fingerprint`).
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint_of(self.iter())
    }

    /// The subset with only the given names (missing names are left out).
    pub fn subset<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> LabelSet {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for name in names {
            if let Some(v) = self.get(name) {
                pairs.push((name, v));
            }
        }
        LabelSet::from_pairs(pairs)
    }
}

/// Prometheus' fingerprint of pairs sorted by name (`model.LabelSet.Fingerprint`).
pub fn fingerprint_of<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Fingerprint {
    let mut hash = FNV_OFFSET;
    for (k, v) in pairs {
        hash = fnv_add(hash, k.as_bytes());
        hash = fnv_add(hash, &[SEPARATOR]);
        hash = fnv_add(hash, v.as_bytes());
        hash = fnv_add(hash, &[SEPARATOR]);
    }
    Fingerprint(hash)
}

impl PartialEq for LabelSet {
    fn eq(&self, other: &Self) -> bool {
        // Canonical encoding: equal sets have equal buffers.
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for LabelSet {}

impl std::hash::Hash for LabelSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_deref().unwrap_or("").hash(state);
    }
}

impl PartialOrd for LabelSet {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LabelSet {
    /// Lexicographic over the sorted (name, value) pairs.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
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
        let map = std::collections::BTreeMap::<Text<'de>, Text<'de>>::deserialize(deserializer)?;
        Ok(encode(map.iter().map(|(k, v)| (&*k.0, &*v.0))))
    }
}

/// A string deserialized without a copy when the input allows it (serde's own `Cow`
/// always copies).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text<'a>(pub std::borrow::Cow<'a, str>);

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Text(std::borrow::Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(std::borrow::Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(std::borrow::Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
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
    fn long_and_many_labels_round_trip() {
        // Texts that need 1, 2 and 3 digits per offset, and many pairs.
        for len in [0, 5, 127, 128, 300, 20_000] {
            let long = "é".repeat(len);
            let pairs: Vec<(String, String)> = (0..200)
                .map(|i| (format!("l{i:03}"), format!("{long}{i}")))
                .collect();
            let set = LabelSet::from_pairs(pairs.clone());
            assert_eq!(set.len(), 200);
            let back: Vec<(String, String)> = set
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(back, pairs);
            assert_eq!(set.get("l150"), Some(&*format!("{long}150")));
            assert_eq!(set.get("l2"), None);
            assert_eq!(set, LabelSet::from_pairs(pairs.into_iter().rev()));
        }
    }

    #[test]
    fn order_is_by_pairs_and_equal_sets_are_equal() {
        let a = LabelSet::from_pairs([("a", "1")]);
        let ab = LabelSet::from_pairs([("a", "1"), ("b", "0")]);
        let b = LabelSet::from_pairs([("b", "0")]);
        assert!(LabelSet::default() < a && a < ab && ab < b);
        assert_eq!(
            a,
            LabelSet::from_pairs([("a".to_string(), "1".to_string())])
        );
        assert_ne!(a, LabelSet::default());
        let json: LabelSet = serde_json::from_str(r#"{"b":"0","a":"1"}"#).unwrap();
        assert_eq!(json, LabelSet::from_pairs([("a", "1"), ("b", "0")]));
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            r#"{"a":"1","b":"0"}"#
        );
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
