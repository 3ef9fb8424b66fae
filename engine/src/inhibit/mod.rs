//! Inhibition (upstream's `inhibit` package): while a source alert of a rule fires, the
//! target alerts of the rule with the same values for the rule's `equal` labels are muted.
//!
//! The [`Inhibitor`] follows the alert store ([`AlertObserver`]): every stored alert that
//! matches a rule's source side goes into that rule's index, keyed by its `equal` values,
//! and leaves it when the store collects it. Checking an alert is one lookup per rule
//! whose target side matches, whatever the number of source alerts. Rules are swapped on
//! reload; a rule that did not change keeps its index, a new one is filled from the store.
//!
//! Semantics follow upstream: a missing `equal` label equals a missing or empty one; an
//! alert that matches both sides of a rule is not muted by sources that match both sides
//! too (so it does not mute itself); a resolved source mutes nothing. Where upstream v0.34
//! keeps only the latest-ending source per `equal` values (so one resolved or two-sided
//! source can hide another firing one), every source is considered here, as in v0.25.

mod index;
mod rule;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, Weak};

use arc_swap::ArcSwap;
use jiff::Timestamp;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::alert::marker::AlertMarker;
use crate::alert::store::{AlertObserver, AlertStore};
use crate::alert::{Alert, Fingerprint, LabelSet};
use crate::clock::Clock;
use crate::config::InhibitRule;
use crate::notify::stages::Muter;
use rule::Rule;

/// Inhibition metrics, with upstream's names.
#[derive(Clone, Default)]
pub struct InhibitMetrics {
    /// `alertmanager_inhibition_rules`: number of configured inhibition rules.
    pub rules: Gauge,
}

impl InhibitMetrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alertmanager_inhibition_rules",
            "Number of configured inhibition rules.",
            self.rules.clone(),
        );
    }
}

/// Decides which alerts are inhibited; one for the engine's life, rules swapped on reload.
pub struct Inhibitor {
    rules: ArcSwap<Vec<Arc<Rule>>>,
    marker: Arc<AlertMarker>,
    clock: Clock,
    store: Mutex<Weak<AlertStore>>,
    /// Serializes reloads (checks and index updates never take it).
    reload: Mutex<()>,
    metrics: InhibitMetrics,
}

impl Inhibitor {
    /// An inhibitor for these rules, recording statuses in `marker`, with metrics nobody
    /// scrapes. Feed it alerts with [`Inhibitor::attach`] (or [`Inhibitor::observe`]).
    pub fn new(rules: &[InhibitRule], marker: Arc<AlertMarker>, clock: Clock) -> Arc<Self> {
        Inhibitor::with_metrics(rules, marker, clock, InhibitMetrics::default())
    }

    /// Like [`Inhibitor::new`], updating `metrics`.
    pub fn with_metrics(
        rules: &[InhibitRule],
        marker: Arc<AlertMarker>,
        clock: Clock,
        metrics: InhibitMetrics,
    ) -> Arc<Self> {
        let compiled: Vec<Arc<Rule>> = rules.iter().map(|r| Arc::new(Rule::new(r))).collect();
        warn_duplicate_names(rules);
        metrics.rules.set(gauge_value(rules.len()));
        Arc::new(Inhibitor {
            rules: ArcSwap::from_pointee(compiled),
            marker,
            clock,
            store: Mutex::new(Weak::new()),
            reload: Mutex::new(()),
            metrics,
        })
    }

    /// Follows `store` from now on: indexes the alerts it holds and every alert it stores
    /// or collects later.
    pub fn attach(self: &Arc<Self>, store: &Arc<AlertStore>) {
        *self.store.lock().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(store);
        store.add_observer(self.clone());
        let rules = self.rules.load_full();
        self.fill(&rules, store);
    }

    /// Indexes the unresolved alerts of `store` into `rules`, keeping newer versions
    /// that arrived meanwhile.
    fn fill(&self, rules: &[Arc<Rule>], store: &AlertStore) {
        if rules.is_empty() {
            return;
        }
        let now = self.clock.now();
        for alert in store.snapshot() {
            if alert.resolved_at(now) {
                continue;
            }
            for rule in rules {
                rule.observe(&alert, true);
            }
        }
    }

    /// Switches to the rules of a new config: unchanged rules keep their index, new ones
    /// are filled from the store.
    pub fn apply_config(&self, rules: &[InhibitRule]) {
        let _reload = self.reload.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.rules.load_full();
        let mut unused: Vec<Option<&Arc<Rule>>> = current.iter().map(Some).collect();
        let mut next = Vec::with_capacity(rules.len());
        let mut fresh = Vec::new();
        for config in rules {
            let kept = unused
                .iter_mut()
                .find(|r| r.is_some_and(|r| r.config == *config))
                .and_then(Option::take);
            match kept {
                Some(rule) => next.push(rule.clone()),
                None => {
                    let rule = Arc::new(Rule::new(config));
                    fresh.push(rule.clone());
                    next.push(rule);
                }
            }
        }
        warn_duplicate_names(rules);
        self.metrics.rules.set(gauge_value(rules.len()));
        // Swap first, then fill: alerts stored meanwhile reach the new rules directly,
        // and filling never replaces their newer versions.
        self.rules.store(Arc::new(next));
        let store = self
            .store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .upgrade();
        if let Some(store) = store {
            self.fill(&fresh, &store);
        }
        tracing::debug!(
            rules = rules.len(),
            rebuilt = fresh.len(),
            "inhibition rules applied"
        );
    }

    /// Indexes a stored alert (the store calls this through [`AlertObserver`]).
    pub fn observe(&self, alert: &Alert) {
        for rule in self.rules.load().iter() {
            rule.observe(alert, false);
        }
    }

    /// Forgets a collected alert.
    pub fn forget(&self, alert: &Alert) {
        for rule in self.rules.load().iter() {
            rule.forget(alert);
        }
    }

    /// The source alert inhibiting an alert with these labels at `now`, with the name of
    /// the rule (the first rule that mutes it, in config order).
    pub fn inhibited_by(&self, labels: &LabelSet, now: Timestamp) -> Option<(Fingerprint, String)> {
        self.rules.load().iter().find_map(|rule| {
            rule.inhibiting(labels, now)
                .map(|fp| (fp, rule.name().to_string()))
        })
    }

    /// The source alert inhibiting an alert with these labels at `now`.
    pub fn inhibiting(&self, labels: &LabelSet, now: Timestamp) -> Option<Fingerprint> {
        self.rules
            .load()
            .iter()
            .find_map(|rule| rule.inhibiting(labels, now))
    }

    /// Checks an alert and records the result in the marker (`inhibitedBy`).
    fn check_and_mark(&self, labels: &LabelSet, fp: Fingerprint, now: Timestamp) -> bool {
        let by = self.inhibiting(labels, now);
        self.marker
            .set_inhibited(fp, by.map(|f| vec![f.to_string()]).unwrap_or_default());
        by.is_some()
    }

    /// Number of rules in force.
    pub fn rule_count(&self) -> usize {
        self.rules.load().len()
    }

    /// Number of indexed source alerts, over every rule.
    pub fn source_count(&self) -> usize {
        self.rules.load().iter().map(|r| r.source_count()).sum()
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn warn_duplicate_names(rules: &[InhibitRule]) {
    let mut seen = std::collections::HashSet::new();
    for (index, rule) in rules.iter().enumerate() {
        if !rule.name.is_empty() && !seen.insert(rule.name.as_str()) {
            tracing::debug!(index, name = %rule.name, "duplicate inhibition rule name");
        }
    }
}

impl Muter for Inhibitor {
    fn mutes(&self, labels: &LabelSet, now: Timestamp) -> bool {
        self.check_and_mark(labels, labels.fingerprint(), now)
    }
}

impl AlertObserver for Inhibitor {
    fn stored(&self, alert: &Arc<Alert>) {
        self.observe(alert);
    }

    fn deleted(&self, alert: &Arc<Alert>) {
        self.forget(alert);
    }

    fn refresh_status(&self, alert: &Alert, now: Timestamp) {
        self.check_and_mark(&alert.labels, alert.fingerprint(), now);
    }
}
