//! The silence store: upstream's set, update and expire rules, limits, GC, matching,
//! and durable persistence.
//!
//! Writers (API calls, the silences file, maintenance) take one mutex; every change is
//! appended to the log and fsynced before it is applied, then a new immutable [`Index`]
//! is published. Readers (the pipeline's silencing stage, the API's queries) load the
//! published index without locking.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jiff::{SignedDuration, Timestamp};

use crate::alert::{Fingerprint, LabelSet};
use crate::clock::Clock;
use crate::config::ConfigError;
use crate::config::matcher::{Matcher, ParseMode};
use crate::options::RuntimeOptions;
use crate::storage::{self, AppendLog, StorageError, snapshot};

use super::SilenceError;
use super::index::{Entry, Index, Lookup, MuteCache};
use super::metrics::SilenceMetrics;
use super::model::{Origin, Silence, SilenceState, is_zero_time};
use super::persist::{self, LOG_FILE, LOG_HEADER, SNAPSHOT_FILE, SNAPSHOT_HEADER};
use super::validate::{compile_stored, validate};

/// Settings of the silence store (Alertmanager's flags).
#[derive(Clone, Debug)]
pub struct SilencesOptions {
    /// `--data.retention`: how long a silence is kept after it ended.
    pub retention: Duration,
    /// `--silences.max-silences`: most silences held, expired ones included; 0 for no limit.
    pub max_silences: usize,
    /// `--silences.max-silence-size-bytes`: largest silence as stored; 0 for no limit.
    pub max_silence_size_bytes: usize,
    /// `--storage.path`: where the snapshot and the log are kept; `None` keeps silences
    /// in memory only.
    pub storage_dir: Option<PathBuf>,
    /// Which label names are valid in matchers (`--enable-feature`).
    pub parse_mode: ParseMode,
}

impl Default for SilencesOptions {
    fn default() -> Self {
        SilencesOptions {
            retention: Duration::from_secs(120 * 3600),
            max_silences: 0,
            max_silence_size_bytes: 0,
            storage_dir: None,
            parse_mode: ParseMode::Fallback,
        }
    }
}

impl SilencesOptions {
    /// Retention and storage directory from the runtime options; no limits.
    pub fn from_runtime(options: &RuntimeOptions) -> Self {
        SilencesOptions {
            retention: options.data_retention,
            storage_dir: Some(options.storage_path.clone()),
            ..SilencesOptions::default()
        }
    }
}

/// What [`Silences::expire`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// The silence was pending or active and is now expired.
    Now,
    /// It had expired already; nothing changed.
    Already,
}

/// What applying a silences file changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileApplied {
    /// IDs of silences created.
    pub created: Vec<String>,
    /// IDs of silences changed.
    pub updated: Vec<String>,
    /// IDs of silences expired because they left the file.
    pub expired: Vec<String>,
    /// How many were already as declared.
    pub unchanged: usize,
}

/// A silence declared in a silences file, validated.
#[derive(Clone, Debug)]
pub(crate) struct Declared {
    /// The silence (its ID set; `starts_at` zero when the file leaves it out).
    pub silence: Silence,
    /// Its compiled matchers.
    pub matchers: Vec<Matcher>,
    /// Its index in the file, for error paths.
    pub position: usize,
}

/// The writers' state.
#[derive(Debug)]
struct Writer {
    /// The master copy of the index: changed in place, published as clones.
    state: Index,
    log: Option<AppendLog>,
    snapshot_path: Option<PathBuf>,
}

/// The silences of one engine.
#[derive(Debug)]
pub struct Silences {
    clock: Clock,
    options: SilencesOptions,
    writer: Mutex<Writer>,
    index: Arc<ArcSwap<Index>>,
    cache: MuteCache,
    metrics: SilenceMetrics,
    recovery: Vec<String>,
    observer: ChangeObserver,
}

/// Called with every silence a commit changed (for gossip); set once.
pub type SilenceObserver = Arc<dyn Fn(&[(Silence, Timestamp)]) + Send + Sync>;

/// The optional observer of committed changes.
#[derive(Default)]
struct ChangeObserver(std::sync::OnceLock<SilenceObserver>);

impl std::fmt::Debug for ChangeObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "ChangeObserver(set)"
        } else {
            "ChangeObserver(unset)"
        })
    }
}

impl Silences {
    /// An empty store kept in memory only (ignores `options.storage_dir`).
    pub fn in_memory(mut options: SilencesOptions, clock: Clock) -> Self {
        options.storage_dir = None;
        let index = Arc::new(ArcSwap::from_pointee(Index::default()));
        Silences {
            metrics: SilenceMetrics::with_states(index.clone(), clock),
            clock,
            options,
            writer: Mutex::new(Writer {
                state: Index::default(),
                log: None,
                snapshot_path: None,
            }),
            index,
            cache: MuteCache::default(),
            recovery: Vec::new(),
            observer: ChangeObserver::default(),
        }
    }

    /// Opens the store: restores the snapshot in `options.storage_dir` (created when
    /// missing), replays the log written since, and folds both into a new snapshot.
    ///
    /// Damaged files do not stop the engine: they are renamed aside, logged, and listed
    /// by [`Silences::recovery_issues`]; only I/O errors (such as an unwritable
    /// directory) are returned.
    pub fn open(options: SilencesOptions, clock: Clock) -> Result<Self, SilenceError> {
        let Some(dir) = options.storage_dir.clone() else {
            return Ok(Self::in_memory(options, clock));
        };
        std::fs::create_dir_all(&dir).map_err(|e| StorageError::io(&dir, e))?;
        let mut store = Self::in_memory(options, clock);
        store.options.storage_dir = Some(dir.clone());
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        let log_path = dir.join(LOG_FILE);
        let mut state = HashMap::new();
        let mut recovery = Vec::new();

        match snapshot::read(&snapshot_path, SNAPSHOT_HEADER) {
            Ok(Some(records)) => {
                for (offset, bytes) in records {
                    store.restore_record(&mut state, &snapshot_path, offset, &bytes, &mut recovery);
                }
            }
            Ok(None) => {}
            Err(err @ StorageError::Corrupt { .. }) => {
                let aside = storage::move_aside(&snapshot_path)?;
                tracing::error!(err = %err, moved_to = %aside.display(), "Silence snapshot is unreadable; kept it aside and starting from the log alone");
                recovery.push(format!("{err} (kept as {})", aside.display()));
            }
            Err(err) => return Err(err.into()),
        }
        let (log, replay) = AppendLog::open(&log_path, LOG_HEADER)?;
        if let Some(err) = &replay.dropped_tail {
            recovery.push(err.to_string());
        }
        if let Some((err, aside)) = &replay.moved_aside {
            recovery.push(format!("{err} (kept as {})", aside.display()));
        }
        let replayed = replay.records.len();
        for (bytes, offset) in replay.records.iter().zip(replay.offsets.iter()) {
            store.restore_record(&mut state, &log_path, *offset, bytes, &mut recovery);
        }
        let now = clock.now();
        state.retain(|_, e: &mut Arc<Entry>| e.expires_at > now);
        tracing::info!(
            silences = state.len(),
            replayed_log_records = replayed,
            dir = %dir.display(),
            "Restored silences"
        );
        store.recovery = recovery;
        {
            let w = store.writer.get_mut().unwrap_or_else(|e| e.into_inner());
            w.state = Index::build(1, state.into_values(), now);
            w.log = Some(log);
            w.snapshot_path = Some(snapshot_path);
        }
        {
            let w = store.lock();
            store.publish(&w);
        }
        // Fold the log into a fresh snapshot, so a damaged file is replaced by a good one.
        store.snapshot()?;
        Ok(store)
    }

    /// Decodes one stored record into `state` (a later record replaces an earlier one).
    fn restore_record(
        &self,
        state: &mut HashMap<Arc<str>, Arc<Entry>>,
        file: &Path,
        offset: u64,
        bytes: &[u8],
        recovery: &mut Vec<String>,
    ) {
        let result = persist::decode(bytes).and_then(|(silence, expires_at)| {
            let matchers = compile_stored(&silence)?;
            Ok(Arc::new(Entry {
                id: silence.id.as_str().into(),
                silence,
                matchers,
                expires_at,
            }))
        });
        match result {
            Ok(entry) => {
                state.insert(entry.id.clone(), entry);
            }
            Err(reason) => {
                let msg = format!(
                    "{}: record at byte offset {offset} skipped: {reason}",
                    file.display()
                );
                tracing::error!("{msg}");
                recovery.push(msg);
            }
        }
    }

    /// Problems found in the snapshot or log when the store was opened.
    pub fn recovery_issues(&self) -> &[String] {
        &self.recovery
    }

    /// The store's metrics (register them with [`SilenceMetrics::register`]).
    pub fn metrics(&self) -> &SilenceMetrics {
        &self.metrics
    }

    /// The current time, by the store's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes the writers' state as a new index.
    fn publish(&self, w: &Writer) {
        let index = w.state.clone();
        self.metrics.state_size.set(w.state.len() as i64);
        self.metrics
            .matcher_index_size
            .set(index.indexed_len() as i64);
        self.index.store(Arc::new(index));
    }

    fn expires_at(&self, ends_at: Timestamp) -> Timestamp {
        let retention =
            SignedDuration::try_from(self.options.retention).unwrap_or(SignedDuration::MAX);
        ends_at.saturating_add(retention).unwrap_or(Timestamp::MAX)
    }

    fn make_entry(&self, silence: Silence, matchers: Vec<Matcher>) -> Arc<Entry> {
        Arc::new(Entry {
            id: silence.id.as_str().into(),
            expires_at: self.expires_at(silence.ends_at),
            silence,
            matchers,
        })
    }

    /// Checks `--silences.max-silence-size-bytes` against the stored form; returns it.
    fn encode_checked(&self, entry: &Entry) -> Result<Vec<u8>, SilenceError> {
        let bytes = persist::encode(&entry.silence, entry.expires_at);
        let limit = self.options.max_silence_size_bytes;
        if limit > 0 && bytes.len() > limit {
            return Err(SilenceError::Limit(format!(
                "silence exceeded maximum size: {} bytes (limit: {limit} bytes)",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// Makes changes durable, applies them and publishes a new index.
    fn commit(
        &self,
        w: &mut Writer,
        changes: Vec<(Arc<Entry>, Vec<u8>)>,
    ) -> Result<(), SilenceError> {
        if changes.is_empty() {
            return Ok(());
        }
        if let Some(log) = &mut w.log {
            let records: Vec<&[u8]> = changes.iter().map(|(_, b)| b.as_slice()).collect();
            log.append(&records)?;
            self.metrics.log_appends.inc();
        }
        let now = self.clock.now();
        let observed: Option<Vec<(Silence, Timestamp)>> = self.observer.0.get().map(|_| {
            changes
                .iter()
                .map(|(e, _)| (e.silence.clone(), e.expires_at))
                .collect()
        });
        for (entry, _) in changes {
            w.state.upsert(entry, now);
        }
        w.state.version += 1;
        self.publish(w);
        if let (Some(observer), Some(changed)) = (self.observer.0.get(), observed) {
            observer(&changed);
        }
        Ok(())
    }

    /// Calls `observer` with the silences of every change committed from now on (the
    /// cluster publishes them); only the first call has an effect.
    pub fn set_observer(&self, observer: SilenceObserver) {
        let _ = self.observer.0.set(observer);
    }

    /// Every silence with the time it may be garbage-collected (for snapshots to peers).
    pub fn records(&self) -> Vec<(Silence, Timestamp)> {
        self.index
            .load()
            .iter()
            .map(|e| (e.silence.clone(), e.expires_at))
            .collect()
    }

    /// Merges silences received from peers in one durable commit: each replaces the
    /// local copy when its `updated_at` is newer. Invalid or expired ones are skipped.
    /// Returns how many changed.
    pub fn merge_many(&self, batch: Vec<(Silence, Timestamp)>) -> Result<usize, SilenceError> {
        let now = self.clock.now();
        let mut compiled = Vec::with_capacity(batch.len());
        for (sil, expires_at) in batch {
            if expires_at <= now || sil.id.is_empty() {
                continue;
            }
            match compile_stored(&sil) {
                Ok(matchers) => compiled.push((sil, matchers, expires_at)),
                Err(reason) => {
                    tracing::warn!(id = %sil.id, reason = %reason, "Skipped an invalid silence from a peer");
                }
            }
        }
        let mut w = self.lock();
        let mut newest: HashMap<String, (Silence, Vec<Matcher>, Timestamp)> = HashMap::new();
        for (sil, matchers, expires_at) in compiled {
            if let Some(prev) = w.state.get(sil.id.as_str())
                && prev.silence.updated_at >= sil.updated_at
            {
                continue;
            }
            if let Some((seen, _, _)) = newest.get(&sil.id)
                && seen.updated_at >= sil.updated_at
            {
                continue;
            }
            newest.insert(sil.id.clone(), (sil, matchers, expires_at));
        }
        let changes: Vec<(Arc<Entry>, Vec<u8>)> = newest
            .into_values()
            .map(|(sil, matchers, expires_at)| {
                let bytes = persist::encode(&sil, expires_at);
                let entry = Arc::new(Entry {
                    id: sil.id.as_str().into(),
                    silence: sil,
                    matchers,
                    expires_at,
                });
                (entry, bytes)
            })
            .collect();
        let n = changes.len();
        self.commit(&mut w, changes)?;
        Ok(n)
    }

    /// The expired version of a pending or active silence, as upstream expires it:
    /// an active one ends now, a pending one starts and ends now.
    fn expired_copy(&self, prev: &Entry, now: Timestamp) -> Option<Arc<Entry>> {
        let mut sil = prev.silence.clone();
        match sil.state_at(now) {
            SilenceState::Expired => return None,
            SilenceState::Active => sil.ends_at = now,
            SilenceState::Pending => {
                sil.starts_at = now;
                sil.ends_at = now;
            }
        }
        sil.updated_at = now;
        Some(self.make_entry(sil, prev.matchers.clone()))
    }

    /// Creates or updates a silence through the API, with upstream's rules; returns its ID.
    ///
    /// - Without an ID a new silence is created with a fresh UUID v4.
    /// - With an unknown ID: [`SilenceError::NotFound`].
    /// - With the ID of a silence from the silences file: [`SilenceError::FileOwned`].
    /// - The silence is updated in place when its matchers are unchanged and it is
    ///   pending (and the new start is not in the past) or active (same start to the
    ///   second, and the new end is not in the past); otherwise the old one is expired
    ///   and a new silence with a new ID is created.
    /// - A missing start (zero time) means now; a new silence never starts in the past.
    ///
    /// When this returns, the change is on disk (with a storage directory).
    pub fn set(&self, mut sil: Silence) -> Result<String, SilenceError> {
        let now = self.clock.now();
        if is_zero_time(sil.starts_at) {
            sil.starts_at = now;
        }
        let matchers = validate(&sil, self.options.parse_mode).map_err(SilenceError::Invalid)?;
        sil.origin = Origin::Api;

        let mut w = self.lock();
        let prev = if sil.id.is_empty() {
            None
        } else {
            let Some(prev) = w.state.get(sil.id.as_str()).cloned() else {
                return Err(SilenceError::NotFound);
            };
            if let Origin::File(file) = &prev.silence.origin {
                return Err(SilenceError::FileOwned {
                    id: sil.id.clone(),
                    file: file.clone(),
                });
            }
            Some(prev)
        };

        if let Some(prev) = &prev
            && can_update(&prev.silence, &sil, now)
        {
            sil.updated_at = now;
            let entry = self.make_entry(sil, matchers);
            let bytes = self.encode_checked(&entry)?;
            let id = entry.silence.id.clone();
            log_change("Updated silence", &entry.silence);
            self.commit(&mut w, vec![(entry, bytes)])?;
            return Ok(id);
        }

        // A new silence, or a replacement that leaves the old one as history.
        let limit = self.options.max_silences;
        if limit > 0 && w.state.len() + 1 > limit {
            return Err(SilenceError::Limit(format!(
                "exceeded maximum number of silences: {} (limit: {limit})",
                w.state.len()
            )));
        }
        sil.id = uuid::Uuid::new_v4().to_string();
        if sil.starts_at < now {
            sil.starts_at = now;
        }
        sil.updated_at = now;
        let entry = self.make_entry(sil, matchers);
        let bytes = self.encode_checked(&entry)?;
        let mut changes = Vec::with_capacity(2);
        if let Some(prev) = &prev
            && let Some(old) = self.expired_copy(prev, now)
        {
            let old_bytes = persist::encode(&old.silence, old.expires_at);
            log_change("Expired silence replaced by a new one", &old.silence);
            changes.push((old, old_bytes));
        }
        let id = entry.silence.id.clone();
        log_change("Created silence", &entry.silence);
        changes.push((entry, bytes));
        self.commit(&mut w, changes)?;
        Ok(id)
    }

    /// Expires a silence through the API now. Expiring an expired silence changes nothing
    /// (upstream answers success); an unknown ID is [`SilenceError::NotFound`], a silence
    /// from the silences file [`SilenceError::FileOwned`].
    pub fn expire(&self, id: &str) -> Result<Expired, SilenceError> {
        let now = self.clock.now();
        let mut w = self.lock();
        let Some(prev) = w.state.get(id).cloned() else {
            return Err(SilenceError::NotFound);
        };
        if let Origin::File(file) = &prev.silence.origin {
            return Err(SilenceError::FileOwned {
                id: id.to_string(),
                file: file.clone(),
            });
        }
        let Some(expired) = self.expired_copy(&prev, now) else {
            return Ok(Expired::Already);
        };
        let bytes = persist::encode(&expired.silence, expired.expires_at);
        log_change("Expired silence", &expired.silence);
        self.commit(&mut w, vec![(expired, bytes)])?;
        Ok(Expired::Now)
    }

    /// Merges a silence received from a peer: it replaces the local copy when its
    /// `updated_at` is newer. Returns whether anything changed.
    pub fn merge(&self, sil: Silence, expires_at: Timestamp) -> Result<bool, SilenceError> {
        let now = self.clock.now();
        if expires_at <= now || sil.id.is_empty() {
            return Ok(false);
        }
        let matchers = compile_stored(&sil).map_err(SilenceError::Invalid)?;
        let mut w = self.lock();
        if let Some(prev) = w.state.get(sil.id.as_str())
            && prev.silence.updated_at >= sil.updated_at
        {
            return Ok(false);
        }
        let entry = Arc::new(Entry {
            id: sil.id.as_str().into(),
            silence: sil,
            matchers,
            expires_at,
        });
        let bytes = persist::encode(&entry.silence, expires_at);
        self.commit(&mut w, vec![(entry, bytes)])?;
        Ok(true)
    }

    /// Applies the silences declared in a silences file (`file` names it): creates or
    /// updates them (keeping their IDs) and expires file silences no longer declared.
    /// Nothing changes when a declared ID belongs to a silence made through the API.
    pub(crate) fn apply_declared(
        &self,
        file: &str,
        declared: Vec<Declared>,
    ) -> Result<FileApplied, SilenceError> {
        let now = self.clock.now();
        let mut w = self.lock();
        let mut report = FileApplied::default();
        let mut changes = Vec::new();
        let mut declared_ids = std::collections::HashSet::new();
        for d in declared {
            let mut sil = d.silence;
            declared_ids.insert(sil.id.clone());
            let prev = w.state.get(sil.id.as_str());
            if let Some(prev) = prev
                && prev.silence.origin.is_api()
            {
                return Err(SilenceError::File(ConfigError::at(
                    format!("[{}].id", d.position),
                    format!(
                        "silence ID {:?} is already used by a silence created through the API",
                        sil.id
                    ),
                )));
            }
            if is_zero_time(sil.starts_at) {
                // Keep the start of the first load; a silence whose end has passed
                // starts (and ends) there.
                sil.starts_at = prev.map_or(now, |p| p.silence.starts_at).min(sil.ends_at);
            }
            sil.origin = Origin::File(file.to_string());
            if let Some(prev) = prev
                && same_declaration(&prev.silence, &sil)
            {
                report.unchanged += 1;
                continue;
            }
            sil.updated_at = now;
            let entry = self.make_entry(sil, d.matchers);
            let bytes = self.encode_checked(&entry)?;
            if prev.is_some() {
                report.updated.push(entry.silence.id.clone());
                log_change("Updated silence from the silences file", &entry.silence);
            } else {
                report.created.push(entry.silence.id.clone());
                log_change("Created silence from the silences file", &entry.silence);
            }
            changes.push((entry, bytes));
        }
        let mut gone: Vec<&Arc<Entry>> = w
            .state
            .iter()
            .filter(|e| {
                matches!(e.silence.origin, Origin::File(_)) && !declared_ids.contains(&*e.id)
            })
            .collect();
        gone.sort_by(|a, b| a.id.cmp(&b.id));
        for prev in gone {
            if let Some(expired) = self.expired_copy(prev, now) {
                let bytes = persist::encode(&expired.silence, expired.expires_at);
                report.expired.push(expired.silence.id.clone());
                log_change(
                    "Expired silence removed from the silences file",
                    &expired.silence,
                );
                changes.push((expired, bytes));
            }
        }
        self.commit(&mut w, changes)?;
        Ok(report)
    }

    /// The silence with this ID.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.index.load().get(id).map(|e| e.silence.clone())
    }

    /// Every silence (expired ones until they are garbage-collected), in no order.
    pub fn list(&self) -> Vec<Silence> {
        self.index
            .load()
            .iter()
            .map(|e| e.silence.clone())
            .collect()
    }

    /// How many silences are in each state now.
    pub fn count_states(&self) -> HashMap<SilenceState, usize> {
        let now = self.clock.now();
        let mut counts = HashMap::new();
        for e in self.index.load().iter() {
            *counts.entry(e.state_at(now)).or_default() += 1;
        }
        counts
    }

    /// The version of the silence set: it changes with every change.
    pub fn version(&self) -> u64 {
        self.index.load().version
    }

    /// The IDs of the active silences that mute an alert with these labels, sorted;
    /// empty when none does.
    pub fn silenced_by(&self, labels: &LabelSet) -> Arc<[Arc<str>]> {
        self.silenced_by_fingerprint(labels.fingerprint(), labels)
    }

    /// [`Silences::silenced_by`] for callers that know the fingerprint already.
    ///
    /// The result is cached per fingerprint until the silences change or one of the
    /// matching silences starts or ends.
    pub fn silenced_by_fingerprint(&self, fp: Fingerprint, labels: &LabelSet) -> Arc<[Arc<str>]> {
        let started = Instant::now();
        let index = self.index.load();
        let (ids, lookup) = self.cache.silenced_by(&index, fp, labels, self.clock.now());
        if lookup == Lookup::Queried {
            self.metrics.queries.inc();
            self.metrics
                .query_duration
                .observe(started.elapsed().as_secs_f64());
        }
        ids
    }

    /// Whether an active silence mutes an alert with these labels.
    pub fn mutes(&self, labels: &LabelSet) -> bool {
        !self.silenced_by(labels).is_empty()
    }

    /// Forgets the cached result of an alert that is gone.
    pub fn forget(&self, fp: Fingerprint) {
        self.cache.forget(fp);
    }

    /// Removes silences whose retention has passed; returns how many.
    pub fn gc(&self) -> usize {
        let started = Instant::now();
        let now = self.clock.now();
        let mut w = self.lock();
        let before = w.state.len();
        // Rebuild even when nothing was removed: silences that expired since the last
        // build leave the matching structures.
        let kept: Vec<Arc<Entry>> = w
            .state
            .iter()
            .filter(|e| e.expires_at > now)
            .cloned()
            .collect();
        w.state = Index::build(w.state.version + 1, kept, now);
        let removed = before - w.state.len();
        self.publish(&w);
        drop(w);
        self.cache.prune(self.version());
        self.metrics
            .gc_duration
            .observe(started.elapsed().as_secs_f64());
        if removed > 0 {
            tracing::debug!(removed, "Garbage-collected silences");
        }
        removed
    }

    /// Writes a snapshot of every silence and empties the log; returns the snapshot's
    /// size (0 without a storage directory).
    pub fn snapshot(&self) -> Result<u64, SilenceError> {
        let started = Instant::now();
        let mut w = self.lock();
        let Some(path) = w.snapshot_path.clone() else {
            return Ok(0);
        };
        let mut entries: Vec<&Arc<Entry>> = w.state.iter().collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        let records: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| persist::encode(&e.silence, e.expires_at))
            .collect();
        let size = snapshot::write(&path, SNAPSHOT_HEADER, &records)?;
        // The snapshot holds everything the log did: start the log afresh. A crash
        // between the two replays the log over the snapshot, which changes nothing.
        if let Some(log) = &mut w.log {
            log.reset()?;
        }
        drop(w);
        self.metrics.snapshot_size.set(size as i64);
        self.metrics
            .snapshot_duration
            .observe(started.elapsed().as_secs_f64());
        Ok(size)
    }

    /// Upstream's maintenance: GC, then a snapshot; returns the snapshot's size.
    pub fn maintenance(&self) -> Result<u64, SilenceError> {
        self.metrics.maintenance.inc();
        self.gc();
        let result = self.snapshot();
        if let Err(err) = &result {
            self.metrics.maintenance_errors.inc();
            tracing::error!(err = %err, "Running silence maintenance failed");
        }
        result
    }

    /// Runs [`Silences::maintenance`] every `interval` until `shutdown` completes, then
    /// once more (the shutdown snapshot).
    pub async fn run_maintenance(
        self: Arc<Self>,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
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
        if let Ok(Err(err)) = tokio::task::spawn_blocking(move || this.maintenance()).await {
            tracing::error!(err = %err, "Creating the shutdown snapshot of silences failed");
        }
    }

    /// [`Silences::set`] on a blocking thread, for async callers (it waits for fsync).
    pub async fn set_async(self: &Arc<Self>, sil: Silence) -> Result<String, SilenceError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.set(sil))
            .await
            .map_err(|e| SilenceError::Interrupted(e.to_string()))?
    }

    /// [`Silences::expire`] on a blocking thread, for async callers.
    pub async fn expire_async(self: &Arc<Self>, id: String) -> Result<Expired, SilenceError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.expire(&id))
            .await
            .map_err(|e| SilenceError::Interrupted(e.to_string()))?
    }
}

/// Whether silence `a` may become `b` in place without rewriting history (upstream's
/// `canUpdate`).
pub fn can_update(a: &Silence, b: &Silence, now: Timestamp) -> bool {
    if a.matchers != b.matchers {
        return false;
    }
    match a.state_at(now) {
        SilenceState::Active => {
            a.starts_at.as_second() == b.starts_at.as_second() && b.ends_at >= now
        }
        SilenceState::Pending => b.starts_at >= now,
        SilenceState::Expired => false,
    }
}

/// Whether a file silence is already as declared.
fn same_declaration(a: &Silence, b: &Silence) -> bool {
    a.matchers == b.matchers
        && a.starts_at == b.starts_at
        && a.ends_at == b.ends_at
        && a.created_by == b.created_by
        && a.comment == b.comment
        && a.annotations == b.annotations
        && a.origin == b.origin
}

fn log_change(msg: &str, s: &Silence) {
    let matchers: Vec<String> = s.matchers.iter().map(ToString::to_string).collect();
    tracing::info!(
        id = %s.id,
        created_by = %s.created_by,
        comment = %s.comment,
        starts_at = %s.starts_at,
        ends_at = %s.ends_at,
        matchers = %matchers.join(","),
        "{msg}"
    );
}
