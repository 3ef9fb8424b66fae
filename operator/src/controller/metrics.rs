//! The operator's own metrics (`/metrics`, OpenMetrics text).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of the resources gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    /// `AlertRoute`, `InhibitRule` or `Silence`.
    pub kind: String,
    /// `accepted` or `rejected`.
    pub state: String,
}

/// Every metric the controller updates.
pub struct Metrics {
    registry: Registry,
    /// Render passes.
    pub reconciles: Counter,
    /// Failed render passes.
    pub reconcile_errors: Counter,
    /// Duration of render passes.
    pub reconcile_duration: Histogram,
    /// Resources by kind and state.
    pub resources: Family<ResourceLabels, Gauge>,
    /// 1 while this replica holds the lease.
    pub leader: Gauge,
    /// Applies of the output Secret that changed it.
    pub secret_updates: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("larum_operator");
        let reconciles = Counter::default();
        let reconcile_errors = Counter::default();
        let reconcile_duration =
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]);
        let resources = Family::<ResourceLabels, Gauge>::default();
        let leader = Gauge::default();
        let secret_updates = Counter::default();
        registry.register("reconciles", "Render passes run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Render passes that failed",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of render passes",
            reconcile_duration.clone(),
        );
        registry.register(
            "resources",
            "Resources by kind and state",
            resources.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            leader.clone(),
        );
        registry.register(
            "secret_updates",
            "Applies of the rendered Secret that changed it",
            secret_updates.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            resources,
            leader,
            secret_updates,
        }
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
