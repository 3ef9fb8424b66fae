//! One inhibition rule: its source and target conditions, its `equal` labels and the
//! index of its source alerts.

use jiff::Timestamp;

use super::index::{SourceIndex, Versioned};
use crate::alert::{Alert, Fingerprint, LabelSet};
use crate::config::InhibitRule;
use crate::config::matcher::{GoRegex, Matcher};

/// One condition on an alert's labels; a missing label reads as the empty value.
enum Condition {
    /// Legacy `source_match` / `target_match`: the label equals the value.
    Equal { name: String, value: String },
    /// Legacy `source_match_re` / `target_match_re`: the label matches the anchored regex.
    Regex { name: String, regex: GoRegex },
    /// `source_matchers` / `target_matchers`.
    Matcher(Matcher),
}

impl Condition {
    fn matches(&self, labels: &LabelSet) -> bool {
        match self {
            Condition::Equal { name, value } => labels.get(name).unwrap_or("") == value,
            Condition::Regex { name, regex } => regex.is_match(labels.get(name).unwrap_or("")),
            Condition::Matcher(m) => m.matches(labels.get(&m.name).unwrap_or("")),
        }
    }
}

/// The conditions of one side of a rule; all must hold (none: every alert matches).
struct Side(Vec<Condition>);

impl Side {
    fn new(
        equal: &std::collections::BTreeMap<String, String>,
        regexes: &crate::config::matcher::MatchRegexps,
        matchers: &crate::config::matcher::Matchers,
    ) -> Side {
        let mut conditions = Vec::with_capacity(equal.len() + regexes.0.len() + matchers.0.len());
        conditions.extend(equal.iter().map(|(name, value)| Condition::Equal {
            name: name.clone(),
            value: value.clone(),
        }));
        conditions.extend(regexes.0.iter().map(|(name, regex)| Condition::Regex {
            name: name.clone(),
            regex: regex.clone(),
        }));
        conditions.extend(matchers.0.iter().cloned().map(Condition::Matcher));
        Side(conditions)
    }

    fn matches(&self, labels: &LabelSet) -> bool {
        self.0.iter().all(|c| c.matches(labels))
    }
}

const FNV_OFFSET: u64 = 14695981039346656037;
const FNV_PRIME: u64 = 1099511628211;

/// A rule as the inhibitor runs it.
pub(super) struct Rule {
    /// The rule as configured (to keep the index of unchanged rules across reloads).
    pub(super) config: InhibitRule,
    source: Side,
    target: Side,
    /// The `equal` label names, sorted and without duplicates.
    equal: Box<[Box<str>]>,
    index: SourceIndex,
}

impl Rule {
    /// Compiles a configured rule, with an empty index.
    pub(super) fn new(config: &InhibitRule) -> Rule {
        let mut equal: Vec<Box<str>> = config.equal.iter().map(|n| n.as_str().into()).collect();
        equal.sort();
        equal.dedup();
        Rule {
            config: config.clone(),
            source: Side::new(
                &config.source_match,
                &config.source_match_re,
                &config.source_matchers,
            ),
            target: Side::new(
                &config.target_match,
                &config.target_match_re,
                &config.target_matchers,
            ),
            equal: equal.into(),
            index: SourceIndex::default(),
        }
    }

    /// The rule's name (may be empty).
    pub(super) fn name(&self) -> &str {
        &self.config.name
    }

    /// Hash of the values of the `equal` labels (missing ones read as empty).
    fn equal_key(&self, labels: &LabelSet) -> u64 {
        let mut hash = FNV_OFFSET;
        for name in self.equal.iter() {
            for b in labels.get(name).unwrap_or("").bytes() {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(FNV_PRIME);
            }
            // 0xff never occurs in UTF-8, so it separates values unambiguously.
            hash ^= 0xff;
            hash = hash.wrapping_mul(FNV_PRIME);
        }
        hash
    }

    /// Whether `values` are the values of the `equal` labels in `labels`.
    fn same_equal(&self, labels: &LabelSet, values: &[Box<str>]) -> bool {
        values.len() == self.equal.len()
            && self
                .equal
                .iter()
                .zip(values)
                .all(|(name, value)| labels.get(name).unwrap_or("") == &**value)
    }

    fn equal_values(&self, labels: &LabelSet) -> Box<[Box<str>]> {
        self.equal
            .iter()
            .map(|name| labels.get(name).unwrap_or("").into())
            .collect()
    }

    /// Indexes `alert` if it is a source of this rule. With `only_newer`, a version older
    /// than the indexed one is ignored (for filling the index while alerts arrive).
    pub(super) fn observe(&self, alert: &Alert, only_newer: bool) {
        if !self.source.matches(&alert.labels) {
            return;
        }
        let labels = &alert.labels;
        self.index.upsert(
            alert.fingerprint(),
            self.equal_key(labels),
            |values| self.same_equal(labels, values),
            || self.equal_values(labels),
            Versioned {
                end: alert.ends_at.unwrap_or(Timestamp::MAX),
                updated_at: alert.updated_at,
                two_sided: self.target.matches(labels),
            },
            only_newer,
        );
    }

    /// Drops `alert` from the index (after garbage collection).
    pub(super) fn forget(&self, alert: &Alert) {
        if !self.source.matches(&alert.labels) {
            return;
        }
        let labels = &alert.labels;
        self.index
            .remove(alert.fingerprint(), self.equal_key(labels), |values| {
                self.same_equal(labels, values)
            });
    }

    /// The firing source alert that makes this rule mute `labels` at `now`, if any: the
    /// target side must match, and when the source side matches `labels` too, sources
    /// that match both sides do not count (an alert does not mute itself or its peers).
    pub(super) fn inhibiting(&self, labels: &LabelSet, now: Timestamp) -> Option<Fingerprint> {
        if !self.target.matches(labels) {
            return None;
        }
        let exclude_two_sided = self.source.matches(labels);
        self.index.firing(
            self.equal_key(labels),
            |values| self.same_equal(labels, values),
            now,
            exclude_two_sided,
        )
    }

    /// Number of indexed source alerts (resolved ones included until collected).
    pub(super) fn source_count(&self) -> usize {
        self.index.len()
    }
}
