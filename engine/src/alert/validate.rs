//! What happens to a received alert before it is stored: upstream's defaults for the
//! start and end times, empty labels dropped, and upstream's validation.

use std::time::Duration;

use jiff::Timestamp;

use super::{Alert, LabelSet};
use crate::config::matcher::{ParseMode, is_classic_label_name, parse_mode};

impl Alert {
    /// Applies upstream's defaults to an alert received at `now`: a missing start becomes
    /// the end (or `now`); a missing end becomes `now + resolve_timeout`, marked as a timeout.
    pub fn apply_received_defaults(&mut self, now: Timestamp, resolve_timeout: Duration) {
        self.updated_at = now;
        if self.starts_at == Timestamp::MIN {
            self.starts_at = self.ends_at.unwrap_or(now);
        }
        if self.ends_at.is_none() {
            self.timeout = true;
            let timeout = jiff::SignedDuration::try_from(resolve_timeout)
                .unwrap_or(jiff::SignedDuration::MAX);
            self.ends_at = Some(now.saturating_add(timeout).unwrap_or(now));
        }
    }

    /// Checks the alert like upstream (start set, end not before start, at least one label,
    /// valid label and annotation names in the current matcher parse mode).
    pub fn validate(&self) -> Result<(), String> {
        if self.starts_at == Timestamp::MIN {
            return Err("start time missing".into());
        }
        if let Some(end) = self.ends_at
            && end < self.starts_at
        {
            return Err("start time must be before end time".into());
        }
        if self.labels.is_empty() {
            return Err("at least one label pair required".into());
        }
        check_names(&self.labels).map_err(|e| format!("invalid label set: {e}"))?;
        check_names(&self.annotations).map_err(|e| format!("invalid annotations: {e}"))?;
        Ok(())
    }
}

fn check_names(set: &LabelSet) -> Result<(), String> {
    // The parse mode is a thread-local: read it once per set, not once per name.
    let valid: fn(&str) -> bool = match parse_mode() {
        ParseMode::Classic => is_classic_label_name,
        ParseMode::Fallback | ParseMode::Utf8Strict => |name| !name.is_empty(),
    };
    match set.iter().find(|(name, _)| !valid(name)) {
        Some((name, _)) => Err(format!("invalid name {name:?}")),
        None => Ok(()),
    }
}

/// Drops the labels with an empty value (an empty value means "no such label").
pub fn without_empty_values(set: LabelSet) -> LabelSet {
    if set.iter().all(|(_, v)| !v.is_empty()) {
        return set;
    }
    LabelSet::from_pairs(set.iter().filter(|(_, v)| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::matcher::{ParseMode, with_parse_mode};

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    fn received(labels: &[(&str, &str)], start: Option<i64>, end: Option<i64>) -> Alert {
        Alert {
            labels: LabelSet::from_pairs(labels.iter().copied()),
            annotations: LabelSet::default(),
            starts_at: start.map(ts).unwrap_or(Timestamp::MIN),
            ends_at: end.map(ts),
            generator_url: String::new(),
            updated_at: Timestamp::MIN,
            timeout: false,
        }
    }

    #[test]
    fn defaults_follow_upstream() {
        let mut a = received(&[("alertname", "A")], None, None);
        a.apply_received_defaults(ts(10), Duration::from_secs(300));
        assert_eq!(
            (a.starts_at, a.ends_at, a.timeout),
            (ts(10), Some(ts(310)), true)
        );
        assert_eq!(a.updated_at, ts(10));

        let mut a = received(&[("alertname", "A")], None, Some(5));
        a.apply_received_defaults(ts(10), Duration::from_secs(300));
        assert_eq!(
            (a.starts_at, a.ends_at, a.timeout),
            (ts(5), Some(ts(5)), false)
        );
    }

    #[test]
    fn validation_messages_are_upstreams() {
        let check = |a: Alert| a.validate().unwrap_err();
        assert_eq!(
            check(received(&[("a", "b")], Some(10), Some(5))),
            "start time must be before end time"
        );
        assert_eq!(
            check(received(&[], Some(0), None)),
            "at least one label pair required"
        );
        assert_eq!(
            check(received(&[("a", "b")], None, None)),
            "start time missing"
        );
        let mut a = received(&[("a", "b")], Some(0), None);
        a.annotations = LabelSet::from_pairs([("", "x")]);
        assert_eq!(check(a), "invalid annotations: invalid name \"\"");
        let a = received(&[("a.b", "c")], Some(0), None);
        assert!(a.validate().is_ok());
        assert_eq!(
            with_parse_mode(ParseMode::Classic, || a.validate()).unwrap_err(),
            "invalid label set: invalid name \"a.b\""
        );
    }

    #[test]
    fn empty_values_are_dropped() {
        let set = LabelSet::from_pairs([("a", "1"), ("b", "")]);
        assert_eq!(without_empty_values(set).to_string(), "{a=\"1\"}");
    }
}
