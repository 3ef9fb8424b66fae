//! Aggregation groups: the alerts of one (route, group labels) pair and their timer state.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::time::Instant;

use super::dispatcher::RouteInfo;
use crate::alert::shard::FingerprintMap;
use crate::alert::{Alert, Fingerprint, LabelSet};

/// One aggregation group.
#[derive(Debug)]
pub(crate) struct Group {
    /// The route the group belongs to (its key and options).
    pub(crate) route: Arc<RouteInfo>,
    /// The group labels.
    pub(crate) labels: LabelSet,
    /// Their fingerprint.
    pub(crate) labels_fp: Fingerprint,
    /// Upstream's group key: `{route key}:{group labels}`.
    pub(crate) key: Arc<str>,
    state: Mutex<GroupState>,
}

/// The mutable part of a group.
#[derive(Debug)]
pub(crate) struct GroupState {
    /// The alerts, by fingerprint.
    pub(crate) alerts: FingerprintMap<Arc<Alert>>,
    /// Set when the group left the dispatcher; a destroyed group takes no alerts.
    pub(crate) destroyed: bool,
    /// The index of the group's route in the current tree.
    pub(crate) route_idx: usize,
    /// When the next flush is due; `None` while it waits for a running flush.
    pub(crate) next: Option<Instant>,
    /// Whether a flush is running.
    pub(crate) flushing: bool,
    /// Whether the timer fired while a flush was running.
    pub(crate) due_while_flushing: bool,
}

impl Group {
    /// A group holding its first alert, first flushing at `next`.
    pub(crate) fn new(
        route: Arc<RouteInfo>,
        labels: LabelSet,
        labels_fp: Fingerprint,
        route_idx: usize,
        first: (Fingerprint, Arc<Alert>),
        next: Instant,
    ) -> Group {
        let key: Arc<str> = format!("{}:{}", route.key, labels).into();
        let mut alerts = FingerprintMap::with_capacity_and_hasher(1, Default::default());
        alerts.insert(first.0, first.1);
        Group {
            route,
            labels,
            labels_fp,
            key,
            state: Mutex::new(GroupState {
                alerts,
                destroyed: false,
                route_idx,
                next: Some(next),
                flushing: false,
                due_while_flushing: false,
            }),
        }
    }

    /// Locks the group's state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Upstream's `model.LabelSet.Before`: fewer labels first, then by the values of the
/// sorted label names.
pub fn label_set_before(a: &LabelSet, b: &LabelSet) -> bool {
    match a.len().cmp(&b.len()) {
        Ordering::Less => return true,
        Ordering::Greater => return false,
        Ordering::Equal => {}
    }
    let mut names: Vec<&str> = a
        .iter()
        .map(|(k, _)| k)
        .chain(b.iter().map(|(k, _)| k))
        .collect();
    names.sort_unstable();
    for name in names {
        let Some(av) = a.get(name) else {
            return true;
        };
        let Some(bv) = b.get(name) else {
            return false;
        };
        match av.cmp(bv) {
            Ordering::Less => return true,
            Ordering::Greater => return false,
            Ordering::Equal => {}
        }
    }
    false
}

/// Upstream's alert order: by `job`, then `instance` (alerts with the label first), then
/// by label set.
fn alert_order(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    if label_set_before(&a.labels, &b.labels) {
        Ordering::Less
    } else if label_set_before(&b.labels, &a.labels) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// Sorts alerts in upstream's notification order.
pub fn sort_alerts(alerts: &mut [Arc<Alert>]) {
    alerts.sort_by(|a, b| alert_order(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(pairs: &[(&str, &str)]) -> Arc<Alert> {
        Arc::new(Alert {
            labels: LabelSet::from_pairs(pairs.iter().copied()),
            annotations: LabelSet::default(),
            starts_at: jiff::Timestamp::UNIX_EPOCH,
            ends_at: None,
            generator_url: String::new(),
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            timeout: false,
        })
    }

    #[test]
    fn alerts_sort_by_job_then_instance_then_labels() {
        let mut v = vec![
            alert(&[("alertname", "b")]),
            alert(&[("alertname", "a")]),
            alert(&[("job", "z")]),
            alert(&[("job", "a"), ("instance", "2")]),
            alert(&[("job", "a"), ("instance", "1")]),
            alert(&[("alertname", "a"), ("x", "1")]),
        ];
        sort_alerts(&mut v);
        let shown: Vec<String> = v.iter().map(|a| a.labels.to_string()).collect();
        assert_eq!(
            shown,
            [
                "{instance=\"1\", job=\"a\"}",
                "{instance=\"2\", job=\"a\"}",
                "{job=\"z\"}",
                "{alertname=\"a\"}",
                "{alertname=\"b\"}",
                "{alertname=\"a\", x=\"1\"}",
            ]
        );
    }
}
