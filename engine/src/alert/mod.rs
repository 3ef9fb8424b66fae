//! Alerts: the model, upstream's merge and validation rules, and label sets.

pub mod labels;
pub mod marker;
pub mod metrics;
pub(crate) mod shard;
pub mod store;
pub mod validate;

use jiff::Timestamp;

pub use labels::{Fingerprint, LabelSet};

/// The label every alert is named by.
pub const ALERTNAME: &str = "alertname";

/// An alert as the engine keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Identifying labels.
    pub labels: LabelSet,
    /// Descriptive annotations.
    pub annotations: LabelSet,
    /// When the alert started firing.
    pub starts_at: Timestamp,
    /// When it is (or will be) resolved; `None` is Go's zero time, "unknown".
    pub ends_at: Option<Timestamp>,
    /// Link back to the rule that produced it.
    pub generator_url: String,
    /// The authoritative time of the last update (when the engine received it).
    pub updated_at: Timestamp,
    /// Whether `ends_at` was set by the engine from `resolve_timeout` rather than by the sender.
    pub timeout: bool,
}

impl Alert {
    /// The fingerprint of the labels.
    pub fn fingerprint(&self) -> Fingerprint {
        self.labels.fingerprint()
    }

    /// The alert's name (`alertname` label), or empty.
    pub fn name(&self) -> &str {
        self.labels.get(ALERTNAME).unwrap_or("")
    }

    /// Whether the alert is resolved at `t`: it has an end time that is not after `t`.
    pub fn resolved_at(&self, t: Timestamp) -> bool {
        self.ends_at.is_some_and(|end| end <= t)
    }

    /// Merges two versions of the same alert (same labels), like upstream:
    /// the newer `updated_at` supplies labels and annotations, the earliest start wins,
    /// and end times follow upstream's resolved/timeout rules. `now` decides "resolved".
    pub fn merge(&self, other: &Alert, now: Timestamp) -> Alert {
        if other.updated_at < self.updated_at {
            return other.merge(self, now);
        }
        // `other` is the younger one.
        let mut merged = other.clone();
        if self.starts_at < other.starts_at {
            merged.starts_at = self.starts_at;
        }
        if other.resolved_at(now) {
            // Both resolved: the latest explicit end wins.
            if self.resolved_at(now) && self.ends_at > other.ends_at {
                merged.ends_at = self.ends_at;
            }
        } else if self.ends_at > other.ends_at && !self.timeout {
            // A later end that the sender set (not a timeout) still rules.
            merged.ends_at = self.ends_at;
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    fn alert(start: i64, end: Option<i64>, updated: i64, annotation: &str) -> Alert {
        Alert {
            labels: LabelSet::from_pairs([("alertname", "A")]),
            annotations: LabelSet::from_pairs([("summary", annotation)]),
            starts_at: ts(start),
            ends_at: end.map(ts),
            generator_url: String::new(),
            updated_at: ts(updated),
            timeout: false,
        }
    }

    #[test]
    fn newer_update_wins_and_earliest_start_is_kept() {
        let old = alert(0, None, 10, "old");
        let new = alert(5, None, 20, "new");
        for merged in [old.merge(&new, ts(30)), new.merge(&old, ts(30))] {
            assert_eq!(merged.annotations.get("summary"), Some("new"));
            assert_eq!(merged.starts_at, ts(0));
        }
    }

    #[test]
    fn end_times_follow_upstream_rules() {
        // Both resolved: the latest end wins.
        let a = alert(0, Some(25), 10, "a");
        let b = alert(0, Some(20), 20, "b");
        assert_eq!(a.merge(&b, ts(30)).ends_at, Some(ts(25)));
        // Newer firing, older with a later explicit end: the explicit end rules...
        let a = alert(0, Some(100), 10, "a");
        let b = alert(0, Some(50), 20, "b");
        assert_eq!(a.merge(&b, ts(30)).ends_at, Some(ts(100)));
        // ...unless it came from the resolve timeout.
        let mut a = alert(0, Some(100), 10, "a");
        a.timeout = true;
        assert_eq!(a.merge(&b, ts(30)).ends_at, Some(ts(50)));
    }

    #[test]
    fn resolved_means_end_not_after_now() {
        assert!(!alert(0, None, 0, "").resolved_at(ts(5)));
        assert!(alert(0, Some(5), 0, "").resolved_at(ts(5)));
        assert!(!alert(0, Some(6), 0, "").resolved_at(ts(5)));
    }
}
