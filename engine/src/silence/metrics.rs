//! The `alertmanager_silences_*` metrics, with upstream's names.
//!
//! Upstream's two summaries without quantiles (GC and snapshot durations) are
//! histograms here: prometheus-client has no summary type, and both expose the same
//! `_sum` and `_count` series.

use std::sync::Arc;

use arc_swap::ArcSwap;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::clock::Clock;

use super::index::Index;
use super::model::SilenceState;

/// Prometheus' default histogram buckets (`prometheus.DefBuckets`).
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DEFAULT_BUCKETS)
}

/// Counters and timings of the silence store.
#[derive(Clone, Debug)]
pub struct SilenceMetrics {
    /// `alertmanager_silences_gc_duration_seconds`.
    pub gc_duration: Histogram,
    /// `alertmanager_silences_gc_errors_total`.
    pub gc_errors: Counter,
    /// `alertmanager_silences_snapshot_duration_seconds`.
    pub snapshot_duration: Histogram,
    /// `alertmanager_silences_snapshot_size_bytes`.
    pub snapshot_size: Gauge,
    /// `alertmanager_silences_queries_total`.
    pub queries: Counter,
    /// `alertmanager_silences_query_errors_total`.
    pub query_errors: Counter,
    /// `alertmanager_silences_query_duration_seconds`.
    pub query_duration: Histogram,
    /// `alertmanager_silences_query_silences_scanned_total`.
    pub query_scanned: Counter,
    /// `alertmanager_silences_maintenance_total`.
    pub maintenance: Counter,
    /// `alertmanager_silences_maintenance_errors_total`.
    pub maintenance_errors: Counter,
    /// `alertmanager_silences_state_size`: silences held, expired ones included.
    pub state_size: Gauge,
    /// `alertmanager_silences_matcher_index_size`: silences in the matching index.
    pub matcher_index_size: Gauge,
    /// `larum_silences_log_appends_total`: fsynced appends to the silence log.
    pub log_appends: Counter,
    states: Option<StateCounts>,
}

impl Default for SilenceMetrics {
    fn default() -> Self {
        SilenceMetrics {
            gc_duration: duration_histogram(),
            gc_errors: Counter::default(),
            snapshot_duration: duration_histogram(),
            snapshot_size: Gauge::default(),
            queries: Counter::default(),
            query_errors: Counter::default(),
            query_duration: Histogram::new(exponential_buckets(1e-6, 4.0, 12)),
            query_scanned: Counter::default(),
            maintenance: Counter::default(),
            maintenance_errors: Counter::default(),
            state_size: Gauge::default(),
            matcher_index_size: Gauge::default(),
            log_appends: Counter::default(),
            states: None,
        }
    }
}

impl SilenceMetrics {
    /// Metrics whose `alertmanager_silences{state}` gauge counts the silences of
    /// `index` at scrape time.
    pub(crate) fn with_states(index: Arc<ArcSwap<Index>>, clock: Clock) -> Self {
        SilenceMetrics {
            states: Some(StateCounts { index, clock }),
            ..SilenceMetrics::default()
        }
    }

    /// Registers every metric in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        if let Some(states) = &self.states {
            registry.register_collector(Box::new(states.clone()));
        }
        registry.register(
            "alertmanager_silences_gc_duration_seconds",
            "Duration of the last silence garbage collection cycle.",
            self.gc_duration.clone(),
        );
        registry.register(
            "alertmanager_silences_gc_errors",
            "How many silence GC errors were encountered.",
            self.gc_errors.clone(),
        );
        registry.register(
            "alertmanager_silences_snapshot_duration_seconds",
            "Duration of the last silence snapshot.",
            self.snapshot_duration.clone(),
        );
        registry.register(
            "alertmanager_silences_snapshot_size_bytes",
            "Size of the last silence snapshot in bytes.",
            self.snapshot_size.clone(),
        );
        registry.register(
            "alertmanager_silences_queries",
            "How many silence queries were received.",
            self.queries.clone(),
        );
        registry.register(
            "alertmanager_silences_query_errors",
            "How many silence received queries did not succeed.",
            self.query_errors.clone(),
        );
        registry.register(
            "alertmanager_silences_query_duration_seconds",
            "Duration of silence query evaluation.",
            self.query_duration.clone(),
        );
        registry.register(
            "alertmanager_silences_query_silences_scanned",
            "How many silences were scanned during query evaluation.",
            self.query_scanned.clone(),
        );
        registry.register(
            "alertmanager_silences_maintenance",
            "How many maintenances were executed for silences.",
            self.maintenance.clone(),
        );
        registry.register(
            "alertmanager_silences_maintenance_errors",
            "How many maintenances were executed for silences that failed.",
            self.maintenance_errors.clone(),
        );
        registry.register(
            "alertmanager_silences_state_size",
            "The number of silences in the state map.",
            self.state_size.clone(),
        );
        registry.register(
            "alertmanager_silences_matcher_index_size",
            "The number of entries in the matcher cache index.",
            self.matcher_index_size.clone(),
        );
        registry.register(
            "larum_silences_log_appends",
            "How many fsynced appends were made to the silence log.",
            self.log_appends.clone(),
        );
    }
}

/// `alertmanager_silences{state}`, counted when scraped (states change with time).
#[derive(Clone, Debug)]
struct StateCounts {
    index: Arc<ArcSwap<Index>>,
    clock: Clock,
}

impl Collector for StateCounts {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let index = self.index.load();
        let now = self.clock.now();
        let mut counts = [0i64; 3];
        for e in index.iter() {
            counts[e.state_at(now) as usize] += 1;
        }
        let mut metric = encoder.encode_descriptor(
            "alertmanager_silences",
            "How many silences by state.",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for state in SilenceState::ALL {
            let labels = [("state", state.as_str())];
            let gauge = ConstGauge::new(counts[state as usize]);
            gauge.encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
