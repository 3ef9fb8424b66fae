//! The dispatcher: routes alerts into aggregation groups and flushes them on time.
//!
//! Groups live in sharded maps (a shard is chosen by the group's labels and route key), so
//! inserts of unrelated alerts do not contend. Every group timer is an entry in one
//! scheduler task ([`super::scheduler`]); flushes run as tasks, at most
//! [`DispatcherOptions::max_concurrent_flushes`] at a time.
//!
//! Timing follows upstream: a new group flushes after `group_wait`, at once when its first
//! alert started more than `group_wait` ago; then every `group_interval`; the dedup stage
//! of the pipeline decides whether a flush notifies. After a successful flush the resolved
//! alerts that did not change meanwhile leave the group, and an empty group is destroyed.
//!
//! A reload keeps the groups whose route (key and options) is unchanged, with their timers,
//! and routes every alert held by a group through the new tree.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::group::{Group, GroupState, label_set_before, sort_alerts};
use super::route::{RouteNode, RouteOpts};
use super::scheduler::{SchedulerMsg, run_scheduler};
use crate::alert::labels::fingerprint_of;
use crate::alert::{Alert, Fingerprint, LabelSet};
use crate::clock::Clock;
use crate::config::Config;
use crate::config::coordinator::ActiveConfig;
use crate::notify::{FlushContext, FlushHandler};
use crate::options::RuntimeOptions;

/// Upstream's lower bound of a flush's time budget (`notify.MinTimeout`).
pub const MIN_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

const SHARDS: usize = 64;

/// A view of one aggregation group, for `GET /api/v2/alerts/groups`.
#[derive(Clone, Debug)]
pub struct GroupSnapshot {
    /// The group's labels.
    pub labels: LabelSet,
    /// Receiver name.
    pub receiver: String,
    /// The alerts in the group, in upstream's order.
    pub alerts: Vec<Arc<Alert>>,
    /// Upstream's group key (`{route key}:{group labels}`).
    pub group_key: Arc<str>,
    /// Upstream's ID of the group's route.
    pub route_id: Arc<str>,
}

/// Metrics of the dispatcher.
#[derive(Clone, Default)]
pub struct DispatcherMetrics {
    /// `alertmanager_dispatcher_aggregation_groups`.
    pub aggregation_groups: Gauge,
    /// `alertmanager_dispatcher_aggregation_group_limit_reached_total`: alerts not grouped
    /// because `--dispatch.max-aggregation-groups` was reached.
    pub group_limit_reached: prometheus_client::metrics::counter::Counter,
}

impl DispatcherMetrics {
    /// Registers the metrics under upstream's names.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alertmanager_dispatcher_aggregation_groups",
            "Number of active aggregation groups",
            self.aggregation_groups.clone(),
        );
        registry.register(
            "alertmanager_dispatcher_aggregation_group_limit_reached",
            "Number of times an alert was not grouped because --dispatch.max-aggregation-groups was reached",
            self.group_limit_reached.clone(),
        );
    }
}

/// How a dispatcher runs.
#[derive(Clone)]
pub struct DispatcherOptions {
    /// Wall clock for alert ages and notification times.
    pub clock: Clock,
    /// `--dispatch.start-delay`: no group flushes before this long after start.
    pub start_delay: Duration,
    /// Most flushes running at once.
    pub max_concurrent_flushes: usize,
    /// Metrics to update.
    pub metrics: DispatcherMetrics,
    /// Most aggregation groups (`--dispatch.max-aggregation-groups`); 0 for no limit.
    pub max_groups: usize,
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        DispatcherOptions {
            clock: Clock::system(),
            start_delay: Duration::ZERO,
            max_concurrent_flushes: 4096,
            metrics: DispatcherMetrics::default(),
            max_groups: 0,
        }
    }
}

impl DispatcherOptions {
    /// Options from the command line settings.
    pub fn new(clock: Clock, runtime: &RuntimeOptions) -> Self {
        DispatcherOptions {
            clock,
            start_delay: runtime.dispatch_start_delay,
            max_groups: runtime.dispatch_max_aggregation_groups,
            ..DispatcherOptions::default()
        }
    }

    /// The same options updating `metrics`.
    pub fn with_metrics(mut self, metrics: DispatcherMetrics) -> Self {
        self.metrics = metrics;
        self
    }
}

/// A route of the current tree, as groups see it.
#[derive(Debug)]
pub(crate) struct RouteInfo {
    pub(crate) key: Arc<str>,
    pub(crate) id: Arc<str>,
    pub(crate) key_hash: u64,
    pub(crate) opts: RouteOpts,
    pub(crate) route_labels: LabelSet,
}

/// The route tree of one config.
struct Table {
    root: RouteNode,
    /// Indexed by [`RouteNode::idx`].
    routes: Vec<Arc<RouteInfo>>,
    generation: u64,
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Table {
    fn new(config: &Config, generation: u64) -> Table {
        let root = RouteNode::new(config.root_route());
        let mut routes: Vec<Option<Arc<RouteInfo>>> = vec![None; root.idx + 1];
        for node in root.walk() {
            if let Some(slot) = routes.get_mut(node.idx) {
                *slot = Some(Arc::new(RouteInfo {
                    key: node.key.as_str().into(),
                    id: node.id.as_str().into(),
                    key_hash: fnv(node.key.as_bytes()),
                    opts: node.opts.clone(),
                    route_labels: LabelSet::from_pairs(
                        node.opts
                            .labels
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str())),
                    ),
                }));
            }
        }
        let routes = routes.into_iter().flatten().collect();
        Table {
            root,
            routes,
            generation,
        }
    }

    /// The routes of `alert` (index into `routes`), in tree order.
    fn route_indexes(&self, labels: &LabelSet) -> impl Iterator<Item = usize> {
        let get = |name: &str| labels.get(name);
        self.root.route(&get).into_iter().map(|n| n.idx)
    }
}

/// Identity of a group within one config: its route and the fingerprint of its group
/// labels (upstream keys groups by that fingerprint too), so that finding the group of an
/// alert needs no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupId {
    pub(crate) route: usize,
    pub(crate) labels_fp: Fingerprint,
}

#[derive(Default)]
pub(crate) struct Shard {
    generation: u64,
    pub(crate) groups: HashMap<GroupId, Arc<Group>>,
}

/// State shared by the dispatcher handle, the scheduler and flush tasks.
pub(crate) struct Inner {
    table: ArcSwap<Table>,
    shards: Box<[Mutex<Shard>]>,
    handler: Arc<dyn FlushHandler>,
    pub(crate) clock: Clock,
    pub(crate) start_at: Instant,
    pub(crate) sched: mpsc::UnboundedSender<SchedulerMsg>,
    metrics: DispatcherMetrics,
    group_count: AtomicI64,
    max_groups: usize,
    at_max_groups: AtomicBool,
    reload_lock: Mutex<()>,
    stopped: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The group labels of `alert` on a route.
fn group_labels(alert: &Alert, route: &RouteInfo) -> LabelSet {
    if route.opts.group_by_all {
        return alert.labels.clone();
    }
    if route.opts.group_by.is_empty() {
        return LabelSet::default();
    }
    alert
        .labels
        .subset(route.opts.group_by.iter().map(String::as_str))
}

/// The fingerprint of [`group_labels`], computed without building the set (`group_by`
/// is sorted, like the pairs of a set).
fn group_labels_fp(alert: &Alert, alert_fp: Fingerprint, route: &RouteInfo) -> Fingerprint {
    if route.opts.group_by_all {
        return alert_fp;
    }
    fingerprint_of(
        route
            .opts
            .group_by
            .iter()
            .filter_map(|name| alert.labels.get(name).map(|v| (name.as_str(), v))),
    )
}

fn shard_index(route: &RouteInfo, labels_fp: Fingerprint) -> usize {
    let h = labels_fp.0 ^ route.key_hash.rotate_left(17);
    (h % SHARDS as u64) as usize
}

impl Inner {
    fn shard(&self, idx: usize) -> MutexGuard<'_, Shard> {
        lock(&self.shards[idx])
    }

    /// Inserts into an existing group, or creates one; returns a created group with the
    /// deadline of its first flush. The caller holds the shard's lock.
    fn insert_locked(
        &self,
        shard: &mut Shard,
        route_idx: usize,
        route: &Arc<RouteInfo>,
        labels_fp: Fingerprint,
        alert: &Arc<Alert>,
        alert_fp: Fingerprint,
    ) -> Option<(Arc<Group>, Instant)> {
        let id = GroupId {
            route: route_idx,
            labels_fp,
        };
        if let Some(group) = shard.groups.get(&id) {
            let mut st = group.lock();
            if !st.destroyed {
                st.alerts.insert(alert_fp, alert.clone());
                return None;
            }
        }
        if self.max_groups > 0
            && usize::try_from(self.group_count.load(Ordering::Relaxed))
                .is_ok_and(|n| n >= self.max_groups)
        {
            self.metrics.group_limit_reached.inc();
            if !self.at_max_groups.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    limit = self.max_groups,
                    receiver = %route.opts.receiver,
                    "Aggregation group limit reached (--dispatch.max-aggregation-groups): alerts that need a new group are not grouped; existing groups keep working"
                );
            }
            return None;
        }
        let now = self.clock.now();
        let wait = route.opts.group_wait;
        let old_enough = jiff::SignedDuration::try_from(wait)
            .ok()
            .and_then(|w| alert.starts_at.checked_add(w).ok())
            .is_some_and(|t| t < now);
        let deadline = if old_enough {
            Instant::now()
        } else {
            Instant::now() + wait
        }
        .max(self.start_at);
        let group = Arc::new(Group::new(
            route.clone(),
            group_labels(alert, route),
            labels_fp,
            route_idx,
            (alert_fp, alert.clone()),
            deadline,
        ));
        if let Some(old) = shard.groups.insert(id, group.clone()) {
            // A destroyed group that was not removed yet.
            old.lock().destroyed = true;
        } else {
            self.group_added(1);
        }
        Some((group, deadline))
    }

    fn group_added(&self, n: i64) {
        let count = self.group_count.fetch_add(n, Ordering::Relaxed) + n;
        self.metrics.aggregation_groups.set(count);
        if n < 0
            && usize::try_from(count).is_ok_and(|c| c < self.max_groups)
            && self.at_max_groups.swap(false, Ordering::Relaxed)
        {
            tracing::info!("Aggregation groups are below --dispatch.max-aggregation-groups again");
        }
    }

    fn schedule(&self, group: Arc<Group>, at: Instant) {
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let _ = self.sched.send(SchedulerMsg::Schedule(group, at));
    }

    /// Removes `group` when it is empty (after its resolved alerts were deleted).
    pub(crate) fn destroy_if_empty(&self, group: &Arc<Group>) {
        let idx = shard_index(&group.route, group.labels_fp);
        let mut shard = self.shard(idx);
        let mut st = group.lock();
        if !st.alerts.is_empty() || st.destroyed {
            return;
        }
        st.destroyed = true;
        let id = GroupId {
            route: st.route_idx,
            labels_fp: group.labels_fp,
        };
        drop(st);
        if shard.groups.get(&id).is_some_and(|g| Arc::ptr_eq(g, group)) {
            shard.groups.remove(&id);
            self.group_added(-1);
        }
    }

    /// Flushes one group: called by the scheduler's flush tasks.
    pub(crate) async fn flush(self: Arc<Self>, group: Arc<Group>) {
        let now = self.clock.now();
        let alerts = {
            let st = group.lock();
            let mut alerts: Vec<Arc<Alert>> = st.alerts.values().cloned().collect();
            drop(st);
            sort_alerts(&mut alerts);
            alerts
        };
        if alerts.is_empty() {
            return;
        }
        let opts = &group.route.opts;
        let timeout = opts.group_interval.max(MIN_FLUSH_TIMEOUT);
        let deadline = Instant::now() + timeout;
        let ctx = FlushContext {
            receiver: opts.receiver.clone(),
            group_key: group.key.clone(),
            group_labels: group.labels.clone(),
            route_labels: group.route.route_labels.clone(),
            repeat_interval: opts.repeat_interval,
            mute_time_intervals: opts.mute_time_intervals.clone(),
            active_time_intervals: opts.active_time_intervals.clone(),
            now,
            deadline,
        };
        let resolved: Vec<Arc<Alert>> = alerts
            .iter()
            .filter(|a| a.resolved_at(now))
            .cloned()
            .collect();
        let n = alerts.len();
        let ok = tokio::time::timeout_at(deadline, self.handler.flush(ctx, alerts))
            .await
            .unwrap_or(false);
        if !ok {
            tracing::debug!(group = %group.key, alerts = n, "notify for alerts failed");
            return;
        }
        if resolved.is_empty() {
            return;
        }
        // Resolved alerts were notified: drop them unless they changed during the flush.
        let empty = {
            let mut st = group.lock();
            for a in &resolved {
                let fp: Fingerprint = a.fingerprint();
                if st
                    .alerts
                    .get(&fp)
                    .is_some_and(|cur| cur.updated_at == a.updated_at)
                {
                    st.alerts.remove(&fp);
                }
            }
            st.alerts.is_empty()
        };
        if empty {
            self.destroy_if_empty(&group);
        }
    }
}

/// Routes alerts to aggregation groups and flushes the groups to a [`FlushHandler`].
pub struct Dispatcher {
    inner: Arc<Inner>,
}

impl Dispatcher {
    /// A dispatcher for `config`, flushing to `handler`, with the system clock and no
    /// start delay. Must be called within a tokio runtime (it starts the scheduler task).
    pub fn new(config: Arc<ActiveConfig>, handler: Arc<dyn FlushHandler>) -> Arc<Self> {
        Dispatcher::with_options(&config.config, handler, DispatcherOptions::default())
    }

    /// A dispatcher for `config` with explicit options (clock, start delay, metrics).
    pub fn with_options(
        config: &Config,
        handler: Arc<dyn FlushHandler>,
        options: DispatcherOptions,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(Shard::default()))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        options.metrics.aggregation_groups.set(0);
        let inner = Arc::new(Inner {
            table: ArcSwap::from_pointee(Table::new(config, 0)),
            shards,
            handler,
            clock: options.clock,
            start_at: Instant::now() + options.start_delay,
            sched: tx,
            metrics: options.metrics,
            group_count: AtomicI64::new(0),
            max_groups: options.max_groups,
            at_max_groups: AtomicBool::new(false),
            reload_lock: Mutex::new(()),
            stopped: AtomicBool::new(false),
        });
        tokio::spawn(run_scheduler(
            Arc::downgrade(&inner),
            rx,
            options.max_concurrent_flushes.max(1),
        ));
        Arc::new(Dispatcher { inner })
    }

    /// Routes a stored (merged) alert into its groups.
    pub fn insert(&self, alert: Arc<Alert>) {
        let alert_fp = alert.fingerprint();
        self.insert_with_fingerprint(alert, alert_fp);
    }

    /// [`Dispatcher::insert`] of an alert whose fingerprint the caller already has.
    pub fn insert_with_fingerprint(&self, alert: Arc<Alert>, alert_fp: Fingerprint) {
        self.insert_many(&[(alert, alert_fp)]);
    }

    /// Routes a batch of alerts (with their fingerprints) into their groups, loading the
    /// route tree once for the batch.
    pub fn insert_many(&self, alerts: &[(Arc<Alert>, Fingerprint)]) {
        let mut table = self.inner.table.load();
        let mut created = Vec::new();
        let mut i = 0;
        while let Some((alert, alert_fp)) = alerts.get(i) {
            if self.route_one(&table, alert, *alert_fp, &mut created) {
                i += 1;
            } else {
                // A reload swapped the tree meanwhile: route this alert again with the
                // new one (inserting into a group twice is harmless).
                table = self.inner.table.load();
            }
        }
        drop(table);
        for (group, at) in created {
            self.inner.schedule(group, at);
        }
    }

    /// Inserts one alert into the groups of its routes under `table`; false when a
    /// reload swapped the tree meanwhile (the caller routes it again).
    fn route_one(
        &self,
        table: &Table,
        alert: &Arc<Alert>,
        alert_fp: Fingerprint,
        created: &mut Vec<(Arc<Group>, Instant)>,
    ) -> bool {
        for idx in table.route_indexes(&alert.labels) {
            let Some(route) = table.routes.get(idx) else {
                continue;
            };
            let labels_fp = group_labels_fp(alert, alert_fp, route);
            let mut shard = self.inner.shard(shard_index(route, labels_fp));
            if shard.generation != table.generation {
                return false;
            }
            if let Some(new) = self
                .inner
                .insert_locked(&mut shard, idx, route, labels_fp, alert, alert_fp)
            {
                created.push(new);
            }
        }
        true
    }

    /// The receivers an alert with these labels is routed to, sorted (one entry per route).
    pub fn receivers_for(&self, labels: &LabelSet) -> Vec<String> {
        let table = self.inner.table.load();
        let mut out: Vec<String> = table
            .route_indexes(labels)
            .filter_map(|i| table.routes.get(i).map(|r| r.opts.receiver.clone()))
            .collect();
        out.sort();
        out
    }

    /// Every non-empty aggregation group, sorted like upstream (labels, then receiver).
    pub fn groups(&self) -> Vec<GroupSnapshot> {
        let mut all: Vec<Arc<Group>> = Vec::new();
        for shard in self.inner.shards.iter() {
            all.extend(lock(shard).groups.values().cloned());
        }
        let mut out: Vec<GroupSnapshot> = all
            .into_iter()
            .filter_map(|g| {
                let st = g.lock();
                if st.alerts.is_empty() {
                    return None;
                }
                let mut alerts: Vec<Arc<Alert>> = st.alerts.values().cloned().collect();
                drop(st);
                sort_alerts(&mut alerts);
                Some(GroupSnapshot {
                    labels: g.labels.clone(),
                    receiver: g.route.opts.receiver.clone(),
                    alerts,
                    group_key: g.key.clone(),
                    route_id: g.route.id.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            if a.labels == b.labels {
                a.receiver.cmp(&b.receiver)
            } else if label_set_before(&a.labels, &b.labels) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        out
    }

    /// Number of aggregation groups.
    pub fn group_count(&self) -> usize {
        usize::try_from(self.inner.group_count.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Switches to a new config: the handler first, then the route tree. Groups whose
    /// route (key and options) is unchanged are kept with their timers; the alerts of all
    /// groups are routed again through the new tree.
    pub fn apply_config(&self, config: Arc<ActiveConfig>) {
        self.inner.handler.apply_config(&config);
        self.apply_routes(&config.config);
    }

    /// [`Dispatcher::apply_config`] with a bare config (built-in templates only).
    pub fn apply(&self, config: &Config) {
        self.apply_config(Arc::new(ActiveConfig::from_config(config.clone())));
    }

    fn apply_routes(&self, config: &Config) {
        let _serialized = lock(&self.inner.reload_lock);
        let inner = &self.inner;
        let old = inner.table.load_full();
        let table = Arc::new(Table::new(config, old.generation + 1));
        let mapping = map_routes(&old, &table);

        let mut shards: Vec<MutexGuard<'_, Shard>> = inner.shards.iter().map(lock).collect();
        let mut old_groups = Vec::new();
        for shard in shards.iter_mut() {
            shard.generation = table.generation;
            old_groups.extend(shard.groups.drain());
        }
        inner.table.store(table.clone());

        let mut alerts: HashMap<Fingerprint, Arc<Alert>> = HashMap::new();
        let mut kept = Vec::new();
        let mut removed = 0i64;
        for (id, group) in old_groups {
            let mut st = group.lock();
            for (fp, a) in st.alerts.drain() {
                match alerts.get(&fp) {
                    Some(cur) if cur.updated_at >= a.updated_at => {}
                    _ => {
                        alerts.insert(fp, a);
                    }
                }
            }
            match mapping.get(id.route).copied().flatten() {
                Some(new_idx) if !st.destroyed => {
                    st.route_idx = new_idx;
                    drop(st);
                    kept.push((
                        GroupId {
                            route: new_idx,
                            labels_fp: id.labels_fp,
                        },
                        group,
                    ));
                }
                _ => {
                    st.destroyed = true;
                    removed += 1;
                }
            }
        }
        for (id, group) in kept {
            let idx = shard_index(&group.route, id.labels_fp);
            shards[idx].groups.insert(id, group);
        }
        let mut created = Vec::new();
        for alert in alerts.values() {
            for idx in table.route_indexes(&alert.labels) {
                let Some(route) = table.routes.get(idx) else {
                    continue;
                };
                let fp = alert.fingerprint();
                let labels_fp = group_labels_fp(alert, fp, route);
                let s = shard_index(route, labels_fp);
                if let Some(new) =
                    inner.insert_locked(&mut shards[s], idx, route, labels_fp, alert, fp)
                {
                    created.push(new);
                }
            }
        }
        // Kept groups that got no alert back are gone.
        for shard in shards.iter_mut() {
            shard.groups.retain(|_, g| {
                let mut st = g.lock();
                if st.alerts.is_empty() {
                    st.destroyed = true;
                    removed += 1;
                    false
                } else {
                    true
                }
            });
        }
        drop(shards);
        inner.group_added(-removed);
        for (group, at) in created {
            inner.schedule(group, at);
        }
        tracing::debug!(
            groups = self.group_count(),
            "dispatcher switched to a new config"
        );
    }

    /// Stops the scheduler: no group flushes any more (running flushes finish).
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Relaxed);
        let _ = self.inner.sched.send(SchedulerMsg::Stop);
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// For each route of `old` (by index), the route of `new` that takes over its groups: the
/// same key and options; among several such routes, the same occurrence in tree order.
fn map_routes(old: &Table, new: &Table) -> Vec<Option<usize>> {
    let mut mapping = vec![None; old.routes.len()];
    let mut used = vec![false; new.routes.len()];
    let new_nodes = new.root.walk();
    for node in old.root.walk() {
        let Some(info) = old.routes.get(node.idx) else {
            continue;
        };
        let found = new_nodes.iter().find(|n| {
            !used.get(n.idx).copied().unwrap_or(true)
                && new
                    .routes
                    .get(n.idx)
                    .is_some_and(|r| r.key == info.key && r.opts == info.opts)
        });
        if let Some(n) = found {
            used[n.idx] = true;
            mapping[node.idx] = Some(n.idx);
        }
    }
    mapping
}

impl GroupState {
    /// Whether the group has a flush pending at `at` (the scheduler's check for stale entries).
    pub(crate) fn is_due_at(&self, at: Instant) -> bool {
        !self.destroyed && self.next == Some(at)
    }
}
