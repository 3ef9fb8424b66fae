//! The alert store: every alert the engine knows, sharded by fingerprint.
//!
//! Each shard has its own lock, so concurrent posts of different alerts rarely meet.
//! `put` merges with the stored version like upstream's memory provider (merge only when
//! the activity ranges overlap, otherwise the new alert replaces the old one), applies
//! `--alerts.per-alertname-limit`, and `gc` drops resolved alerts.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use jiff::Timestamp;

use super::marker::{AlertMarker, AlertState, AlertStatus};
use super::metrics::{AlertMetrics, StateCounts, StateSource};
use super::shard::{FingerprintMap, SHARDS, shard_of};
use super::{Alert, Fingerprint};
use crate::clock::Clock;

/// Why an alert was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    /// `--alerts.per-alertname-limit` reached for this alert name.
    #[error("too many alerts named {0:?}")]
    LimitReached(String),
    /// `--alerts.max-alerts` reached: a new alert is refused.
    #[error(
        "the limit of {0} alerts is reached (--alerts.max-alerts); updates of kept alerts still apply"
    )]
    TooManyAlerts(usize),
}

/// Settings of the store.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreOptions {
    /// Most alerts per alert name (`--alerts.per-alertname-limit`); 0 for no limit.
    pub per_alertname_limit: usize,
    /// Most alerts kept (`--alerts.max-alerts`); 0 for no limit.
    pub max_alerts: usize,
}

type Shard = Mutex<FingerprintMap<Arc<Alert>>>;

/// Follows the alerts the store keeps and drops (the inhibitor indexes its source alerts
/// this way), and refreshes what mutes an alert before the API shows its status.
pub trait AlertObserver: Send + Sync {
    /// `alert` is the stored version now. Called under the alert's shard lock, so the calls
    /// for one fingerprint come in the order the versions were stored.
    fn stored(&self, alert: &Arc<Alert>);
    /// `alert` was garbage-collected (called under its shard lock).
    fn deleted(&self, alert: &Arc<Alert>);
    /// Recomputes into the marker what mutes `alert` at `now`.
    fn refresh_status(&self, _alert: &Alert, _now: Timestamp) {}
}

/// Every alert, merged by fingerprint; concurrent without one global lock.
pub struct AlertStore {
    shards: Box<[Shard]>,
    limits: Option<NameLimits>,
    max_alerts: usize,
    count: std::sync::atomic::AtomicUsize,
    at_max: std::sync::atomic::AtomicBool,
    marker: Arc<AlertMarker>,
    metrics: AlertMetrics,
    clock: Clock,
    observers: ArcSwap<Vec<Arc<dyn AlertObserver>>>,
}

impl Default for AlertStore {
    fn default() -> Self {
        AlertStore::with_parts(
            StoreOptions::default(),
            Clock::system(),
            Arc::new(AlertMarker::default()),
            AlertMetrics::default(),
        )
    }
}

/// Go's zero time sorts before every real time; `None` stands for it.
fn go_time(t: Option<Timestamp>) -> Timestamp {
    t.unwrap_or(Timestamp::MIN)
}

/// Upstream merges a new version into the stored one only when their activity ranges
/// overlap; otherwise (a new firing period) the new version replaces the old one.
fn overlaps(old: &Alert, new: &Alert) -> bool {
    let old_end = go_time(old.ends_at);
    let new_end = go_time(new.ends_at);
    (new_end > old.starts_at && new_end < old_end)
        || (new.starts_at > old.starts_at && new.starts_at < old_end)
}

impl AlertStore {
    /// A store with these settings, whose alert counts feed `metrics`.
    pub fn new(
        options: StoreOptions,
        clock: Clock,
        marker: Arc<AlertMarker>,
        metrics: AlertMetrics,
    ) -> Arc<Self> {
        let store = Arc::new(AlertStore::with_parts(options, clock, marker, metrics));
        let weak = Arc::downgrade(&store);
        store.metrics.observe_states(weak);
        store
    }

    fn with_parts(
        options: StoreOptions,
        clock: Clock,
        marker: Arc<AlertMarker>,
        metrics: AlertMetrics,
    ) -> Self {
        let limit = options.per_alertname_limit;
        metrics
            .per_alert_limit
            .set(i64::try_from(limit).unwrap_or(i64::MAX));
        if limit > 0 {
            tracing::info!(limit, "per alert name limit enabled");
        }
        AlertStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            limits: (limit > 0).then(|| NameLimits::new(limit)),
            max_alerts: options.max_alerts,
            count: Default::default(),
            at_max: Default::default(),
            marker,
            metrics,
            clock,
            observers: ArcSwap::default(),
        }
    }

    /// Adds an observer told about every alert stored or garbage-collected from now on.
    pub fn add_observer(&self, observer: Arc<dyn AlertObserver>) {
        self.observers.rcu(|current| {
            let mut next = Vec::clone(current);
            next.push(observer.clone());
            next
        });
    }

    /// The status of `alert` at `now`, with what mutes it recomputed by the observers
    /// first (as upstream's API does), so it is right before any notification ran.
    pub fn status(&self, alert: &Alert, now: Timestamp) -> AlertStatus {
        for observer in self.observers.load().iter() {
            observer.refresh_status(alert, now);
        }
        self.marker.status(alert.fingerprint())
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, FingerprintMap<Arc<Alert>>> {
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The statuses of the stored alerts.
    pub fn marker(&self) -> &Arc<AlertMarker> {
        &self.marker
    }

    /// Merges `alert` into the stored version (upstream's rules) and returns what is stored now.
    pub fn put(&self, alert: Alert, now: Timestamp) -> Result<Arc<Alert>, PutError> {
        let fp = alert.fingerprint();
        self.put_with_fingerprint(alert, fp, now)
    }

    /// [`AlertStore::put`] of an alert whose fingerprint (`fp`) the caller already has.
    pub fn put_with_fingerprint(
        &self,
        alert: Alert,
        fp: Fingerprint,
        now: Timestamp,
    ) -> Result<Arc<Alert>, PutError> {
        let mut shard = self.lock(shard_of(fp));
        // One lookup: the entry is kept for the insert below.
        let entry = shard.entry(fp);
        let is_new = matches!(entry, std::collections::hash_map::Entry::Vacant(_));
        if is_new && self.max_alerts > 0 && self.count.load(Ordering::Relaxed) >= self.max_alerts {
            self.metrics.insert_limited.inc();
            if !self.at_max.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    limit = self.max_alerts,
                    "Alert limit reached (--alerts.max-alerts): new alerts are refused until resolved ones are garbage-collected"
                );
            }
            return Err(PutError::TooManyAlerts(self.max_alerts));
        }
        let stored = match &entry {
            std::collections::hash_map::Entry::Occupied(old) if overlaps(old.get(), &alert) => {
                Arc::new(old.get().merge(&alert, now))
            }
            _ => Arc::new(alert),
        };
        if let Some(limits) = &self.limits
            && !limits.upsert(stored.name(), fp, stored.ends_at, now)
        {
            self.metrics.limited.inc();
            return Err(PutError::LimitReached(stored.name().to_string()));
        }
        for observer in self.observers.load().iter() {
            observer.stored(&stored);
        }
        entry.insert_entry(stored.clone());
        if is_new {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(stored)
    }

    /// The stored alert with this fingerprint.
    pub fn get(&self, fingerprint: Fingerprint) -> Option<Arc<Alert>> {
        self.lock(shard_of(fingerprint)).get(&fingerprint).cloned()
    }

    /// A copy of every stored alert.
    pub fn snapshot(&self) -> Vec<Arc<Alert>> {
        let mut all = Vec::new();
        for i in 0..self.shards.len() {
            all.extend(self.lock(i).values().cloned());
        }
        all
    }

    /// Number of stored alerts.
    pub fn len(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).len()).sum()
    }

    /// Whether the store holds no alert.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the alerts resolved at `now`, forgets their statuses and returns them.
    pub fn gc(&self, now: Timestamp) -> Vec<Arc<Alert>> {
        let mut deleted = Vec::new();
        let observers = self.observers.load();
        for i in 0..self.shards.len() {
            let mut shard = self.lock(i);
            shard.retain(|fp, alert| {
                if !alert.resolved_at(now) {
                    return true;
                }
                if let Some(limits) = &self.limits {
                    limits.remove(alert.name(), *fp);
                }
                for observer in observers.iter() {
                    observer.deleted(alert);
                }
                deleted.push(alert.clone());
                false
            });
        }
        for alert in &deleted {
            self.marker.delete(alert.fingerprint());
        }
        if !deleted.is_empty() {
            self.count.fetch_sub(deleted.len(), Ordering::Relaxed);
            if self.at_max.swap(false, Ordering::Relaxed) {
                tracing::info!("Alert count is below --alerts.max-alerts again");
            }
        }
        if !deleted.is_empty() {
            tracing::debug!(count = deleted.len(), "garbage-collected resolved alerts");
        }
        deleted
    }

    /// Counts the unresolved alerts by state at `now`.
    pub fn count_states(&self, now: Timestamp) -> StateCounts {
        let mut counts = StateCounts::default();
        for i in 0..self.shards.len() {
            let shard = self.lock(i);
            for (fp, alert) in shard.iter() {
                if alert.resolved_at(now) {
                    continue;
                }
                match self.marker.state(*fp) {
                    AlertState::Active => counts.active += 1,
                    AlertState::Suppressed => counts.suppressed += 1,
                    AlertState::Unprocessed => counts.unprocessed += 1,
                }
            }
        }
        counts
    }
}

impl StateSource for AlertStore {
    fn state_counts(&self) -> StateCounts {
        self.count_states(self.clock.now())
    }
}

type NameShard = Mutex<HashMap<Box<str>, Bucket>>;

/// Per-alert-name buckets for `--alerts.per-alertname-limit`, sharded by name.
struct NameLimits {
    capacity: usize,
    shards: Box<[NameShard]>,
    hasher: BuildHasherDefault<DefaultHasher>,
}

impl NameLimits {
    fn new(capacity: usize) -> Self {
        NameLimits {
            capacity,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: BuildHasherDefault::default(),
        }
    }

    fn lock(&self, name: &str) -> MutexGuard<'_, HashMap<Box<str>, Bucket>> {
        let index = (self.hasher.hash_one(name) as usize) & (SHARDS - 1);
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Upstream's rule: a known alert is always updated; a new one takes a free place,
    /// or the place of the alert that ended first if that one has ended; else it is refused.
    fn upsert(
        &self,
        name: &str,
        fp: Fingerprint,
        ends_at: Option<Timestamp>,
        now: Timestamp,
    ) -> bool {
        let mut buckets = self.lock(name);
        let bucket = match buckets.get_mut(name) {
            Some(bucket) => bucket,
            None => buckets.entry(name.into()).or_default(),
        };
        bucket.upsert(self.capacity, fp, go_time(ends_at), now)
    }

    fn remove(&self, name: &str, fp: Fingerprint) {
        let mut buckets = self.lock(name);
        if let Some(bucket) = buckets.get_mut(name) {
            bucket.remove(fp);
            if bucket.is_empty() {
                buckets.remove(name);
            }
        }
    }
}

/// The alerts of one name with their end times, ordered by end time.
#[derive(Default)]
struct Bucket {
    ends: FingerprintMap<Timestamp>,
    by_end: BTreeSet<(Timestamp, Fingerprint)>,
}

impl Bucket {
    fn upsert(&mut self, capacity: usize, fp: Fingerprint, end: Timestamp, now: Timestamp) -> bool {
        if let Some(old) = self.ends.insert(fp, end) {
            self.by_end.remove(&(old, fp));
            self.by_end.insert((end, fp));
            return true;
        }
        if self.ends.len() <= capacity {
            self.by_end.insert((end, fp));
            return true;
        }
        // Full: the new entry was tentatively added; evict the earliest-ending one if it ended.
        self.ends.remove(&fp);
        match self.by_end.first().copied() {
            Some((oldest_end, oldest)) if oldest_end < now => {
                self.by_end.pop_first();
                self.ends.remove(&oldest);
                self.ends.insert(fp, end);
                self.by_end.insert((end, fp));
                true
            }
            _ => false,
        }
    }

    fn remove(&mut self, fp: Fingerprint) {
        if let Some(end) = self.ends.remove(&fp) {
            self.by_end.remove(&(end, fp));
        }
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::LabelSet;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    fn alert(name: &str, instance: &str, start: i64, end: Option<i64>, updated: i64) -> Alert {
        Alert {
            labels: LabelSet::from_pairs([("alertname", name), ("instance", instance)]),
            annotations: LabelSet::from_pairs([("updated", &*updated.to_string())]),
            starts_at: ts(start),
            ends_at: end.map(ts),
            generator_url: String::new(),
            updated_at: ts(updated),
            timeout: false,
        }
    }

    fn store(limit: usize) -> Arc<AlertStore> {
        AlertStore::new(
            StoreOptions {
                per_alertname_limit: limit,
                max_alerts: 0,
            },
            Clock::starting_at(ts(0)),
            Arc::new(AlertMarker::default()),
            AlertMetrics::default(),
        )
    }

    #[test]
    fn overlapping_updates_merge() {
        let s = store(0);
        s.put(alert("A", "1", 0, Some(300), 0), ts(0)).unwrap();
        // A resend with a later start inside the first range: the earliest start stays,
        // the newer annotations and end win.
        let stored = s.put(alert("A", "1", 60, Some(360), 60), ts(60)).unwrap();
        assert_eq!(stored.starts_at, ts(0));
        assert_eq!(stored.ends_at, Some(ts(360)));
        assert_eq!(stored.annotations.get("updated"), Some("60"));
        assert_eq!(s.len(), 1);
        assert_eq!(s.get(stored.fingerprint()).as_deref(), Some(&*stored));
    }

    #[test]
    fn a_new_firing_period_replaces_the_resolved_alert() {
        let s = store(0);
        s.put(alert("A", "1", 0, Some(100), 0), ts(0)).unwrap();
        // Starts after the old one ended: no overlap, so its own start is kept.
        let stored = s
            .put(alert("A", "1", 200, Some(500), 200), ts(200))
            .unwrap();
        assert_eq!(stored.starts_at, ts(200));
    }

    #[test]
    fn limit_refuses_new_names_but_accepts_updates_and_frees_resolved_places() {
        let s = store(2);
        s.put(alert("A", "1", 0, Some(100), 0), ts(0)).unwrap();
        s.put(alert("A", "2", 0, Some(300), 0), ts(0)).unwrap();
        assert_eq!(
            s.put(alert("A", "3", 0, Some(300), 0), ts(10)),
            Err(PutError::LimitReached("A".into()))
        );
        // Other names have their own budget; updates of known alerts pass.
        s.put(alert("B", "1", 0, Some(300), 0), ts(10)).unwrap();
        s.put(alert("A", "2", 0, Some(400), 10), ts(10)).unwrap();
        // Once A/1 has ended, a new A takes its place.
        s.put(alert("A", "3", 0, Some(300), 150), ts(150)).unwrap();
        assert_eq!(s.metrics.limited.get(), 1);
        assert_eq!(s.metrics.per_alert_limit.get(), 2);
    }

    #[test]
    fn the_alert_cap_refuses_new_alerts_until_gc_frees_places() {
        let s = AlertStore::new(
            StoreOptions {
                per_alertname_limit: 0,
                max_alerts: 1,
            },
            Clock::starting_at(ts(0)),
            Arc::new(AlertMarker::default()),
            AlertMetrics::default(),
        );
        s.put(alert("A", "1", 0, Some(100), 0), ts(0)).unwrap();
        assert!(matches!(
            s.put(alert("B", "1", 0, Some(100), 0), ts(0)),
            Err(PutError::TooManyAlerts(1))
        ));
        // Updates of the kept alert still apply.
        s.put(alert("A", "1", 0, Some(500), 10), ts(10)).unwrap();
        assert_eq!(s.metrics.insert_limited.get(), 1);
        assert_eq!(s.gc(ts(600)).len(), 1);
        s.put(alert("B", "1", 600, Some(900), 600), ts(600))
            .unwrap();
    }

    #[test]
    fn gc_removes_resolved_alerts_and_their_places() {
        let s = store(1);
        let a = s.put(alert("A", "1", 0, Some(100), 0), ts(0)).unwrap();
        s.put(alert("B", "1", 0, Some(500), 0), ts(0)).unwrap();
        s.marker().set_silenced(a.fingerprint(), vec!["x".into()]);
        let deleted = s.gc(ts(100));
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].name(), "A");
        assert_eq!(s.len(), 1);
        assert_eq!(s.marker().status(a.fingerprint()), AlertStatus::default());
        // The place is free again, even before the old end time passed for a new one.
        s.put(alert("A", "2", 0, Some(900), 0), ts(100)).unwrap();
    }

    #[test]
    fn states_count_unresolved_alerts() {
        let s = store(0);
        let a = s.put(alert("A", "1", 0, Some(100), 0), ts(0)).unwrap();
        let b = s.put(alert("A", "2", 0, Some(100), 0), ts(0)).unwrap();
        s.put(alert("A", "3", 0, Some(100), 0), ts(0)).unwrap();
        s.put(alert("A", "4", 0, Some(5), 0), ts(0)).unwrap();
        s.marker().set_silenced(b.fingerprint(), vec!["x".into()]);
        s.marker().set_silenced(a.fingerprint(), vec![]);
        assert_eq!(
            s.count_states(ts(10)),
            StateCounts {
                active: 2,
                suppressed: 1,
                unprocessed: 0
            }
        );
    }

    #[test]
    fn concurrent_puts_of_many_alerts_all_land() {
        let s = store(0);
        std::thread::scope(|scope| {
            for t in 0..4 {
                let s = &s;
                scope.spawn(move || {
                    for i in 0..500 {
                        // Every thread also updates a shared alert.
                        s.put(alert("A", &format!("{t}-{i}"), 0, Some(100), i), ts(0))
                            .unwrap();
                        s.put(alert("Shared", "x", i, Some(100 + i), i), ts(0))
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(s.len(), 2001);
        assert_eq!(s.snapshot().len(), 2001);
    }
}
