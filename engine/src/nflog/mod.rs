//! The notification log: what each integration of each receiver last sent for each group.
//!
//! Upstream's model: one entry per (group key, receiver name, integration name, index)
//! holding the hashes of the firing and the resolved alerts of the last successful
//! notification and its time. An entry expires `retention` after it was written, or
//! `2 x repeat_interval` after when that is shorter (upstream's set-notifies stage passes
//! that expiry). Local only for now; entries are serde types so snapshots and gossip can
//! carry them as they are.
//!
//! Persistence: [`NotificationLog::open`] restores the snapshot `nflog.larum` under
//! `--storage.path` (dropping entries already expired); [`NotificationLog::maintenance`]
//! garbage-collects and writes a new snapshot crash-safely with [`crate::storage`]. An
//! unreadable snapshot is kept aside and the log starts empty.

pub mod persist;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::storage::{self, StorageError, snapshot};

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
    /// `alertmanager_nflog_gc_duration_seconds`.
    pub gc_duration_seconds: Histogram,
    /// `alertmanager_nflog_snapshot_duration_seconds`.
    pub snapshot_duration_seconds: Histogram,
    /// `alertmanager_nflog_snapshot_size_bytes`.
    pub snapshot_size_bytes: Gauge,
}

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Default for NflogMetrics {
    fn default() -> Self {
        NflogMetrics {
            queries_total: Counter::default(),
            query_errors_total: Counter::default(),
            query_duration_seconds: duration_histogram(),
            maintenance_total: Counter::default(),
            maintenance_errors_total: Counter::default(),
            gc_duration_seconds: duration_histogram(),
            snapshot_duration_seconds: duration_histogram(),
            snapshot_size_bytes: Gauge::default(),
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
        registry.register(
            "alertmanager_nflog_gc_duration_seconds",
            "Duration of the last notification log garbage collection cycle.",
            self.gc_duration_seconds.clone(),
        );
        registry.register(
            "alertmanager_nflog_snapshot_duration_seconds",
            "Duration of the last notification log snapshot.",
            self.snapshot_duration_seconds.clone(),
        );
        registry.register(
            "alertmanager_nflog_snapshot_size_bytes",
            "Size of the last notification log snapshot in bytes.",
            self.snapshot_size_bytes.clone(),
        );
    }
}

/// What [`NotificationLog::open`] found in the snapshot.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Entries restored.
    pub entries: usize,
    /// Entries dropped because they had expired.
    pub expired: usize,
    /// Problems found (an unreadable file kept aside, records skipped), one line each.
    pub issues: Vec<String>,
}

/// The log: entries sharded by key.
pub struct NotificationLog {
    shards: Box<[RwLock<HashMap<String, MeshEntry>>]>,
    retention: Duration,
    clock: Clock,
    metrics: NflogMetrics,
    /// Where [`NotificationLog::snapshot`] writes; `None` keeps the log in memory only.
    snapshot_path: Option<PathBuf>,
    observer: std::sync::OnceLock<NflogObserver>,
}

/// Called with every entry the log takes (its own and merged ones), for gossip.
pub type NflogObserver = Arc<dyn Fn(&MeshEntry) + Send + Sync>;

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
            snapshot_path: None,
            observer: std::sync::OnceLock::new(),
        }
    }

    /// A log snapshotted to `nflog.larum` in `dir` (`--storage.path`, created when
    /// missing), restored from the snapshot there.
    ///
    /// Entries already expired are dropped. An unreadable snapshot (corrupt, truncated,
    /// not ours) is renamed aside, reported in [`Restored::issues`] with its offset, and
    /// the log starts empty; a record that cannot be decoded is skipped and reported.
    /// Only I/O errors (an unreadable or unwritable directory) are returned.
    pub fn open(
        dir: &Path,
        retention: Duration,
        clock: Clock,
        metrics: NflogMetrics,
    ) -> Result<(NotificationLog, Restored), StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::io(dir, e))?;
        let path = dir.join(persist::SNAPSHOT_FILE);
        let mut log = NotificationLog::new(retention, clock).with_metrics(metrics);
        let mut restored = Restored::default();
        match snapshot::read(&path, persist::SNAPSHOT_HEADER) {
            Ok(Some(records)) => {
                let now = clock.now();
                for (offset, bytes) in records {
                    match persist::decode(&bytes) {
                        Ok(e) if e.expires_at <= now => restored.expired += 1,
                        Ok(e) => {
                            if log.merge(e) {
                                restored.entries += 1;
                            }
                        }
                        Err(reason) => {
                            let msg = format!(
                                "{}: record at byte offset {offset} skipped: {reason}",
                                path.display()
                            );
                            tracing::error!("{msg}");
                            restored.issues.push(msg);
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(err @ StorageError::Corrupt { .. }) => {
                let aside = storage::move_aside(&path)?;
                tracing::error!(err = %err, moved_to = %aside.display(), "Notification log snapshot is unreadable; kept it aside and starting with an empty log");
                restored
                    .issues
                    .push(format!("{err} (kept as {})", aside.display()));
            }
            Err(err) => return Err(err),
        }
        log.snapshot_path = Some(path);
        Ok((log, restored))
    }

    /// The snapshot file, when the log has one.
    pub fn snapshot_path(&self) -> Option<&Path> {
        self.snapshot_path.as_deref()
    }

    /// Writes every entry to the snapshot file crash-safely; returns its size (0 when
    /// the log has no file).
    pub fn snapshot(&self) -> Result<u64, StorageError> {
        let Some(path) = &self.snapshot_path else {
            return Ok(0);
        };
        let started = Instant::now();
        let mut entries = self.entries();
        // A stable order makes equal logs give equal files.
        entries.sort_by(|a, b| {
            (
                &a.entry.group_key,
                &a.entry.receiver.group_name,
                &a.entry.receiver.integration,
                a.entry.receiver.idx,
            )
                .cmp(&(
                    &b.entry.group_key,
                    &b.entry.receiver.group_name,
                    &b.entry.receiver.integration,
                    b.entry.receiver.idx,
                ))
        });
        let records: Vec<Vec<u8>> = entries.iter().map(persist::encode).collect();
        let size = snapshot::write(path, persist::SNAPSHOT_HEADER, &records)?;
        self.metrics
            .snapshot_size_bytes
            .set(i64::try_from(size).unwrap_or(i64::MAX));
        self.metrics
            .snapshot_duration_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(size)
    }

    /// Upstream's maintenance: GC, then a snapshot when the log has a file; returns
    /// the snapshot's size. Blocks on file I/O.
    pub fn maintenance(&self) -> Result<u64, StorageError> {
        self.metrics.maintenance_total.inc();
        let started = Instant::now();
        let removed = self.gc();
        self.metrics
            .gc_duration_seconds
            .observe(started.elapsed().as_secs_f64());
        let result = self.snapshot();
        match &result {
            Ok(size) => {
                tracing::debug!(removed, size, "Notification log maintenance done");
            }
            Err(err) => {
                self.metrics.maintenance_errors_total.inc();
                tracing::error!(err = %err, "Notification log maintenance failed");
            }
        }
        result
    }

    /// Runs [`NotificationLog::maintenance`] every `interval`
    /// (`--data.maintenance-interval`) until `shutdown` completes, then once more: the
    /// shutdown snapshot.
    pub async fn run_until(
        self: Arc<Self>,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let interval = interval.max(Duration::from_millis(1));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let this = self.clone();
                    let _ = tokio::task::spawn_blocking(move || this.maintenance()).await;
                }
                () = &mut shutdown => break,
            }
        }
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.maintenance()).await {
            Ok(Ok(size)) => {
                tracing::info!(size, "Wrote the shutdown snapshot of the notification log")
            }
            Ok(Err(err)) => {
                tracing::error!(err = %err, "Writing the shutdown snapshot of the notification log failed");
            }
            Err(err) => {
                tracing::error!(err = %err, "Writing the shutdown snapshot of the notification log failed");
            }
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
                if let Some(observer) = self.observer.get() {
                    observer(&e);
                }
                shard.insert(key, e);
                true
            }
        }
    }

    /// Calls `observer` with every entry taken from now on (the cluster publishes
    /// them); only the first call has an effect.
    pub fn set_observer(&self, observer: NflogObserver) {
        let _ = self.observer.set(observer);
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

    /// Runs [`NotificationLog::maintenance`] every `interval`
    /// (`--data.maintenance-interval`) until the log is dropped.
    pub async fn run_maintenance(log: Weak<NotificationLog>, interval: Duration) {
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(log) = log.upgrade() else { return };
            if log.snapshot_path.is_some() {
                // File I/O: off the async workers.
                let _ = tokio::task::spawn_blocking(move || log.maintenance()).await;
            } else {
                let _ = log.maintenance();
            }
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

    fn open_in(dir: &Path, clock: Clock) -> (NotificationLog, Restored) {
        NotificationLog::open(
            dir,
            Duration::from_secs(120 * 3600),
            clock,
            NflogMetrics::default(),
        )
        .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn snapshot_round_trips_through_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
        let (log, restored) = open_in(dir.path(), clock);
        assert_eq!(restored, Restored::default(), "no file yet: an empty log");
        log.log(&recv(), "g1", vec![1, 2], vec![3], Duration::ZERO);
        let other = ReceiverKey { idx: 1, ..recv() };
        log.log(&other, "g2", vec![4], vec![], Duration::from_secs(600));
        let size = log.snapshot().unwrap();
        let path = dir.path().join(persist::SNAPSHOT_FILE);
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        assert_eq!(log.metrics.snapshot_size_bytes.get(), size as i64);

        let (back, restored) = open_in(dir.path(), clock);
        assert_eq!(restored.entries, 2);
        assert!(restored.issues.is_empty());
        let mut before = log.entries();
        let mut after = back.entries();
        before.sort_by(|a, b| a.entry.group_key.cmp(&b.entry.group_key));
        after.sort_by(|a, b| a.entry.group_key.cmp(&b.entry.group_key));
        assert_eq!(after, before);
        assert_eq!(back.query(&other, "g2").unwrap().firing_alerts, vec![4]);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entries_are_dropped_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
        let (log, _) = open_in(dir.path(), clock);
        log.log(&recv(), "short", vec![1], vec![], Duration::from_secs(60));
        log.log(&recv(), "long", vec![1], vec![], Duration::from_secs(3600));
        log.snapshot().unwrap();
        // The engine is down for ten minutes: the short entry expired meanwhile.
        tokio::time::advance(Duration::from_secs(600)).await;
        let (back, restored) = open_in(dir.path(), clock);
        assert_eq!((restored.entries, restored.expired), (1, 1));
        assert!(back.query(&recv(), "short").is_none());
        assert!(back.query(&recv(), "long").is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn damaged_snapshots_are_kept_aside_and_the_log_starts_empty() {
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = open_in(dir.path(), clock);
        log.log(&recv(), "g1", vec![1], vec![], Duration::ZERO);
        log.log(&recv(), "g2", vec![2], vec![], Duration::ZERO);
        log.snapshot().unwrap();
        let path = dir.path().join(persist::SNAPSHOT_FILE);
        let good = std::fs::read(&path).unwrap();

        let mut flipped = good.clone();
        flipped[persist::SNAPSHOT_HEADER.len() + 12] ^= 0x20;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated", good[..good.len() - 3].to_vec()),
            (
                "truncated",
                good[..persist::SNAPSHOT_HEADER.len() + 5].to_vec(),
            ),
            ("checksum mismatch", flipped),
            ("not a snapshot", b"\x0a\x12upstream protobuf".to_vec()),
        ];
        for (what, bytes) in cases {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(persist::SNAPSHOT_FILE);
            std::fs::write(&path, &bytes).unwrap();
            let (log, restored) = open_in(dir.path(), clock);
            assert!(log.is_empty(), "{what}");
            assert_eq!(restored.issues.len(), 1, "{what}: {:?}", restored.issues);
            let issue = &restored.issues[0];
            assert!(
                issue.contains("nflog.larum: corrupt at byte offset"),
                "{issue}"
            );
            assert!(issue.contains(what), "{what}: {issue}");
            // The damaged file is kept, byte for byte, and not overwritten.
            assert!(!path.exists());
            let kept: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            assert_eq!(kept.len(), 1);
            assert!(kept[0].to_string_lossy().contains("nflog.larum.corrupt-"));
            assert_eq!(std::fs::read(&kept[0]).unwrap(), bytes);
            // The next snapshot starts a good file again.
            log.log(&recv(), "g3", vec![3], vec![], Duration::ZERO);
            log.snapshot().unwrap();
            let (back, restored) = open_in(dir.path(), clock);
            assert!(restored.issues.is_empty());
            assert!(back.query(&recv(), "g3").is_some());
        }

        // A well-framed record that is not an entry is skipped with its offset.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(persist::SNAPSHOT_FILE);
        let entry = persist::encode(&log.entries()[0]);
        snapshot::write(
            &path,
            persist::SNAPSHOT_HEADER,
            &[b"{\"nonsense\":1}".to_vec(), entry],
        )
        .unwrap();
        let (back, restored) = open_in(dir.path(), clock);
        assert_eq!(back.len(), 1);
        assert_eq!(restored.entries, 1);
        let offset = persist::SNAPSHOT_HEADER.len();
        assert!(
            restored.issues[0].contains(&format!("record at byte offset {offset} skipped")),
            "{:?}",
            restored.issues
        );
    }

    #[tokio::test(start_paused = true)]
    async fn maintenance_runs_every_interval_and_snapshots_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::starting_at(Timestamp::from_second(1_700_000_000).unwrap());
        let (log, _) = open_in(dir.path(), clock);
        let log = Arc::new(log);
        let path = dir.path().join(persist::SNAPSHOT_FILE);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(log.clone().run_until(Duration::from_secs(60), async move {
            let _ = stop_rx.await;
        }));
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!path.exists(), "no snapshot before the first interval");
        log.log(&recv(), "g1", vec![1], vec![], Duration::ZERO);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        while log.metrics.snapshot_size_bytes.get() == 0 {
            assert!(tokio::time::Instant::now() < deadline, "no maintenance");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let (back, _) = open_in(dir.path(), clock);
        assert!(back.query(&recv(), "g1").is_some());
        // Logged after the last tick: only the shutdown snapshot has it.
        log.log(&recv(), "g2", vec![2], vec![], Duration::ZERO);
        stop_tx.send(()).unwrap();
        task.await.unwrap();
        let (back, _) = open_in(dir.path(), clock);
        assert!(back.query(&recv(), "g2").is_some());
    }
}
