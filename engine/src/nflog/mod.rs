//! The notification log: what each integration of each receiver last sent for each group.
//!
//! Upstream's model: one entry per (group key, receiver name, integration name, index)
//! holding the hashes of the firing and the resolved alerts of the last successful
//! notification and its time. An entry expires `retention` after it was written, or
//! `2 x repeat_interval` after when that is shorter (upstream's set-notifies stage passes
//! that expiry). Local only for now; entries are serde types so snapshots and gossip can
//! carry them as they are.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;

const SHARDS: usize = 16;

/// Which integration of which receiver an entry is about (upstream's `nflogpb.Receiver`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceiverKey {
    /// The receiver's name.
    pub group_name: String,
    /// The integration type (`webhook`, `email`, ...).
    pub integration: String,
    /// Index of the integration among the receiver's integrations of that type.
    pub idx: u32,
}

/// What was last notified (upstream's `nflogpb.Entry`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The group key.
    pub group_key: String,
    /// The integration.
    pub receiver: ReceiverKey,
    /// When the notification succeeded.
    pub timestamp: Timestamp,
    /// Hashes of the firing alerts notified.
    pub firing_alerts: Vec<u64>,
    /// Hashes of the resolved alerts notified.
    pub resolved_alerts: Vec<u64>,
}

impl Entry {
    /// Whether every alert of `subset` is among the entry's firing alerts.
    pub fn is_firing_subset(&self, subset: &HashSet<u64>) -> bool {
        is_subset(&self.firing_alerts, subset)
    }

    /// Whether every alert of `subset` is among the entry's resolved alerts.
    pub fn is_resolved_subset(&self, subset: &HashSet<u64>) -> bool {
        is_subset(&self.resolved_alerts, subset)
    }
}

fn is_subset(set: &[u64], subset: &HashSet<u64>) -> bool {
    if subset.len() > set.len() {
        return false;
    }
    let set: HashSet<u64> = set.iter().copied().collect();
    subset.iter().all(|h| set.contains(h))
}

/// An entry with its expiry (upstream's `nflogpb.MeshEntry`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeshEntry {
    /// The entry.
    pub entry: Entry,
    /// When the entry is dropped.
    pub expires_at: Timestamp,
}

/// Metrics of the notification log, with upstream's names.
#[derive(Clone)]
pub struct NflogMetrics {
    /// `alertmanager_nflog_queries_total`.
    pub queries_total: Counter,
    /// `alertmanager_nflog_query_errors_total` (a query that finds nothing counts, like upstream).
    pub query_errors_total: Counter,
    /// `alertmanager_nflog_query_duration_seconds`.
    pub query_duration_seconds: Histogram,
    /// `alertmanager_nflog_maintenance_total`.
    pub maintenance_total: Counter,
    /// `alertmanager_nflog_maintenance_errors_total`.
    pub maintenance_errors_total: Counter,
}

impl Default for NflogMetrics {
    fn default() -> Self {
        NflogMetrics {
            queries_total: Counter::default(),
            query_errors_total: Counter::default(),
            query_duration_seconds: Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            maintenance_total: Counter::default(),
            maintenance_errors_total: Counter::default(),
        }
    }
}

impl NflogMetrics {
    /// Registers the metrics (counters get their `_total` suffix from the registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alertmanager_nflog_queries",
            "Number of notification log queries were received.",
            self.queries_total.clone(),
        );
        registry.register(
            "alertmanager_nflog_query_errors",
            "Number notification log received queries that failed.",
            self.query_errors_total.clone(),
        );
        registry.register(
            "alertmanager_nflog_query_duration_seconds",
            "Duration of notification log query evaluation.",
            self.query_duration_seconds.clone(),
        );
        registry.register(
            "alertmanager_nflog_maintenance",
            "How many maintenances were executed for the notification log.",
            self.maintenance_total.clone(),
        );
        registry.register(
            "alertmanager_nflog_maintenance_errors",
            "How many maintenances were executed for the notification log that failed.",
            self.maintenance_errors_total.clone(),
        );
    }
}

/// The log: entries sharded by key.
pub struct NotificationLog {
    shards: Box<[RwLock<HashMap<String, MeshEntry>>]>,
    retention: Duration,
    clock: Clock,
    metrics: NflogMetrics,
}

/// Upstream's state key: `{group key}:{receiver}/{integration}/{index}`.
pub fn state_key(group_key: &str, r: &ReceiverKey) -> String {
    format!("{group_key}:{}/{}/{}", r.group_name, r.integration, r.idx)
}

fn shard_of(key: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % SHARDS as u64) as usize
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

impl NotificationLog {
    /// An empty log keeping entries at most `retention` (`--data.retention`).
    pub fn new(retention: Duration, clock: Clock) -> Self {
        NotificationLog {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            retention,
            clock,
            metrics: NflogMetrics::default(),
        }
    }

    /// The same log updating `metrics`.
    pub fn with_metrics(mut self, metrics: NflogMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Records a successful notification now; `expiry` (when not zero and shorter than the
    /// retention) bounds how long the entry is kept.
    pub fn log(
        &self,
        receiver: &ReceiverKey,
        group_key: &str,
        firing_alerts: Vec<u64>,
        resolved_alerts: Vec<u64>,
        expiry: Duration,
    ) {
        let now = self.clock.now();
        let keep = if !expiry.is_zero() && self.retention > expiry {
            expiry
        } else {
            self.retention
        };
        let e = MeshEntry {
            entry: Entry {
                group_key: group_key.to_string(),
                receiver: receiver.clone(),
                timestamp: now,
                firing_alerts,
                resolved_alerts,
            },
            expires_at: add(now, keep),
        };
        self.merge(e);
    }

    /// Merges an entry (from this node or a peer): kept unless expired or older than the
    /// entry already there. Returns whether it was taken.
    pub fn merge(&self, e: MeshEntry) -> bool {
        let now = self.clock.now();
        if e.expires_at < now {
            return false;
        }
        let key = state_key(&e.entry.group_key, &e.entry.receiver);
        let mut shard = self.shards[shard_of(&key)]
            .write()
            .unwrap_or_else(|p| p.into_inner());
        match shard.get(&key) {
            Some(prev) if prev.entry.timestamp >= e.entry.timestamp => false,
            _ => {
                shard.insert(key, e);
                true
            }
        }
    }

    /// The entry for a group and an integration.
    pub fn query(&self, receiver: &ReceiverKey, group_key: &str) -> Option<Entry> {
        let start = std::time::Instant::now();
        self.metrics.queries_total.inc();
        let key = state_key(group_key, receiver);
        let found = self.shards[shard_of(&key)]
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .map(|e| e.entry.clone());
        if found.is_none() {
            self.metrics.query_errors_total.inc();
        }
        self.metrics
            .query_duration_seconds
            .observe(start.elapsed().as_secs_f64());
        found
    }

    /// Drops expired entries; returns how many.
    pub fn gc(&self) -> usize {
        let now = self.clock.now();
        let mut n = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.write().unwrap_or_else(|p| p.into_inner());
            let before = shard.len();
            shard.retain(|_, e| e.expires_at > now);
            n += before - shard.len();
        }
        n
    }

    /// Every entry (for snapshots).
    pub fn entries(&self) -> Vec<MeshEntry> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(
                shard
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .cloned(),
            );
        }
        out
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs GC every `interval` (`--data.maintenance-interval`, 15 minutes upstream) until
    /// the log is dropped.
    pub async fn run_maintenance(log: Weak<NotificationLog>, interval: Duration) {
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(log) = log.upgrade() else { return };
            let removed = log.gc();
            log.metrics.maintenance_total.inc();
            tracing::debug!(removed, "notification log maintenance done");
        }
    }

    /// Starts [`NotificationLog::run_maintenance`] on the current tokio runtime, if any.
    pub fn spawn_maintenance(log: &Arc<NotificationLog>, interval: Duration) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(NotificationLog::run_maintenance(
                Arc::downgrade(log),
                interval,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv() -> ReceiverKey {
        ReceiverKey {
            group_name: "team".into(),
            integration: "webhook".into(),
            idx: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_is_the_shorter_of_retention_and_given_expiry() {
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
        let log = NotificationLog::new(Duration::from_secs(120 * 3600), clock);
        // Upstream: expiresAt = now + retention, or now + expiry when shorter.
        log.log(
            &recv(),
            "g1",
            vec![1],
            vec![],
            Duration::from_secs(2 * 3600),
        );
        log.log(&recv(), "g2", vec![1], vec![], Duration::ZERO);
        let by_key = |k: &str| {
            log.entries()
                .into_iter()
                .find(|e| e.entry.group_key == k)
                .unwrap()
        };
        assert_eq!(
            by_key("g1").expires_at,
            add(clock.now(), Duration::from_secs(7200))
        );
        assert_eq!(
            by_key("g2").expires_at,
            add(clock.now(), Duration::from_secs(120 * 3600))
        );
        assert_eq!(
            state_key("g1", &recv()),
            "g1:team/webhook/0",
            "upstream's key format"
        );
        tokio::time::advance(Duration::from_secs(7200)).await;
        assert_eq!(log.gc(), 1, "expiry at exactly now removes the entry");
        assert!(log.query(&recv(), "g1").is_none());
        assert!(log.query(&recv(), "g2").is_some());
        assert_eq!(log.metrics.queries_total.get(), 2);
        assert_eq!(log.metrics.query_errors_total.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn newer_entries_win_and_serde_round_trips() {
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
        let log = NotificationLog::new(Duration::from_secs(3600), clock);
        log.log(&recv(), "g", vec![1, 2], vec![3], Duration::ZERO);
        let older = MeshEntry {
            entry: Entry {
                timestamp: Timestamp::from_second(1_600_000_000).unwrap(),
                ..log.query(&recv(), "g").unwrap()
            },
            expires_at: add(clock.now(), Duration::from_secs(60)),
        };
        assert!(!log.merge(older));
        let all = log.entries();
        let json = serde_json::to_string(&all).unwrap();
        let back: Vec<MeshEntry> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, all);
        let e = log.query(&recv(), "g").unwrap();
        assert!(!e.is_firing_subset(&HashSet::from([1, 2, 5])));
        assert!(e.is_firing_subset(&HashSet::from([1])));
        assert!(e.is_firing_subset(&HashSet::new()));
        assert!(e.is_resolved_subset(&HashSet::from([3])));
        assert!(!e.is_resolved_subset(&HashSet::from([4])));
    }
}
