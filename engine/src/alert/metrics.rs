//! Ingestion metrics, with upstream's names and labels.

use std::sync::{Arc, RwLock, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

/// Alert counts by state, as `alertmanager_alerts` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Unresolved alerts that are active.
    pub active: u64,
    /// Unresolved alerts that are silenced or inhibited.
    pub suppressed: u64,
    /// Unresolved alerts not yet routed.
    pub unprocessed: u64,
}

/// Something that can count alerts by state at scrape time (the alert store).
pub trait StateSource: Send + Sync + 'static {
    /// The current counts.
    fn state_counts(&self) -> StateCounts;
}

type Source = Arc<RwLock<Option<Weak<dyn StateSource>>>>;

/// Metrics of alert ingestion; clones share the same series.
#[derive(Clone)]
pub struct AlertMetrics {
    /// `alertmanager_alerts_received_total{status="firing",version="v2"}`.
    pub received_firing: Counter,
    /// `alertmanager_alerts_received_total{status="resolved",version="v2"}`.
    pub received_resolved: Counter,
    /// `alertmanager_alerts_invalid_total{version="v2"}`.
    pub invalid: Counter,
    /// `alertmanager_alerts_per_alert_limit`: the `--alerts.per-alertname-limit` in force.
    pub per_alert_limit: Gauge,
    /// `alertmanager_alerts_limited_total`: alerts refused because of the limit.
    pub limited: Counter,
    /// `alertmanager_alerts_insert_limited_total`: new alerts refused by
    /// `--alerts.max-alerts`.
    pub insert_limited: Counter,
    received: Family<Vec<(String, String)>, Counter>,
    invalid_family: Family<Vec<(String, String)>, Counter>,
    source: Source,
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Default for AlertMetrics {
    fn default() -> Self {
        let received = Family::<Vec<(String, String)>, Counter>::default();
        let invalid_family = Family::<Vec<(String, String)>, Counter>::default();
        let received_firing = received
            .get_or_create(&labels(&[("status", "firing"), ("version", "v2")]))
            .clone();
        let received_resolved = received
            .get_or_create(&labels(&[("status", "resolved"), ("version", "v2")]))
            .clone();
        let invalid = invalid_family
            .get_or_create(&labels(&[("version", "v2")]))
            .clone();
        AlertMetrics {
            received_firing,
            received_resolved,
            invalid,
            per_alert_limit: Gauge::default(),
            limited: Counter::default(),
            insert_limited: Counter::default(),
            received,
            invalid_family,
            source: Arc::new(RwLock::new(None)),
        }
    }
}

impl AlertMetrics {
    /// Registers the metrics (names without `_total`: the encoder appends it to counters).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alertmanager_alerts_received",
            "The total number of received alerts",
            self.received.clone(),
        );
        registry.register(
            "alertmanager_alerts_invalid",
            "The total number of received alerts that were invalid",
            self.invalid_family.clone(),
        );
        registry.register(
            "alertmanager_alerts_per_alert_limit",
            "Current limit on number of alerts per alert name",
            self.per_alert_limit.clone(),
        );
        registry.register(
            "alertmanager_alerts_limited",
            "Total number of alerts that were dropped due to per alert name limit",
            self.limited.clone(),
        );
        registry.register(
            "alertmanager_alerts_insert_limited",
            "Total number of new alerts refused because --alerts.max-alerts was reached",
            self.insert_limited.clone(),
        );
        registry.register_collector(Box::new(StateCollector {
            source: self.source.clone(),
        }));
    }

    /// Makes `alertmanager_alerts` count the alerts of `source` (held weakly).
    pub fn observe_states(&self, source: Weak<dyn StateSource>) {
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }
}

/// Emits `alertmanager_alerts{state}` from the store at scrape time.
struct StateCollector {
    source: Source,
}

impl std::fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateCollector")
    }
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let source = self
            .source
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(Weak::upgrade);
        let counts = source.map(|s| s.state_counts()).unwrap_or_default();
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "alertmanager_alerts",
            "How many alerts by state",
            None,
            gauge.metric_type(),
        )?;
        for (state, n) in [
            ("active", counts.active),
            ("suppressed", counts.suppressed),
            ("unprocessed", counts.unprocessed),
        ] {
            let labels = [("state", state)];
            let metric = family.encode_family(&labels)?;
            ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX)).encode(metric)?;
        }
        Ok(())
    }
}
