//! Prometheus metrics of the engine, with Alertmanager's names where it has one.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Metrics about the loaded configuration.
#[derive(Clone, Default)]
pub struct ConfigMetrics {
    /// `alertmanager_config_hash`: hash of the loaded config file.
    pub hash: Gauge<f64, AtomicU64>,
    /// `alertmanager_config_last_reload_successful`: 1 when the last reload worked.
    pub last_reload_successful: Gauge,
    /// `alertmanager_config_last_reload_success_timestamp_seconds`.
    pub last_reload_success_timestamp_seconds: Gauge<f64, AtomicU64>,
}

/// Metrics of the HTTP server's limits.
#[derive(Clone, Default)]
pub struct HttpMetrics {
    /// `alertmanager_http_concurrency_limit_exceeded_total`.
    pub concurrency_limit_exceeded: prometheus_client::metrics::counter::Counter,
    /// `alertmanager_http_requests_in_flight`: GET requests being served.
    pub requests_in_flight: Gauge,
}

/// Every metric the engine exports, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    /// Config metrics.
    pub config: ConfigMetrics,
    /// Alert ingestion metrics.
    pub alerts: crate::alert::metrics::AlertMetrics,
    /// Dispatcher metrics (aggregation groups).
    pub dispatcher: crate::dispatch::DispatcherMetrics,
    /// Notification metrics.
    pub notify: crate::notify::metrics::NotifyMetrics,
    /// Notification log metrics.
    pub nflog: crate::nflog::NflogMetrics,
    /// Inhibition metrics.
    pub inhibit: crate::inhibit::InhibitMetrics,
    /// HTTP limit metrics.
    pub http: HttpMetrics,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let config = ConfigMetrics::default();
        registry.register(
            "alertmanager_config_hash",
            "Hash of the currently loaded alertmanager configuration",
            config.hash.clone(),
        );
        registry.register(
            "alertmanager_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful",
            config.last_reload_successful.clone(),
        );
        registry.register(
            "alertmanager_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload",
            config.last_reload_success_timestamp_seconds.clone(),
        );
        let build_info = Family::<Vec<(String, String)>, Gauge>::default();
        build_info
            .get_or_create(&vec![
                ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
                (
                    "revision".to_string(),
                    option_env!("LARUM_GIT_REVISION")
                        .unwrap_or("unknown")
                        .to_string(),
                ),
                (
                    "branch".to_string(),
                    option_env!("LARUM_GIT_BRANCH")
                        .unwrap_or("unknown")
                        .to_string(),
                ),
                ("goos".to_string(), std::env::consts::OS.to_string()),
                ("goarch".to_string(), std::env::consts::ARCH.to_string()),
            ])
            .set(1);
        registry.register(
            "alertmanager_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, goos and goarch from which alertmanager was built",
            build_info,
        );
        let alerts = crate::alert::metrics::AlertMetrics::default();
        alerts.register(&mut registry);
        let dispatcher = crate::dispatch::DispatcherMetrics::default();
        dispatcher.register(&mut registry);
        let notify = crate::notify::metrics::NotifyMetrics::default();
        notify.register(&mut registry);
        let nflog = crate::nflog::NflogMetrics::default();
        nflog.register(&mut registry);
        let inhibit = crate::inhibit::InhibitMetrics::default();
        inhibit.register(&mut registry);
        let http = HttpMetrics::default();
        registry.register(
            "alertmanager_http_concurrency_limit_exceeded",
            "Total number of times an HTTP request failed because the concurrency limit was reached",
            http.concurrency_limit_exceeded.clone(),
        );
        registry.register(
            "alertmanager_http_requests_in_flight",
            "Current number of HTTP requests being processed",
            http.requests_in_flight.clone(),
        );
        Metrics {
            http,
            registry,
            config,
            dispatcher,
            notify,
            nflog,
            alerts,
            inhibit,
        }
    }

    /// The registry, to register metrics of parts built outside [`Metrics::new`]
    /// (such as the silences).
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The metrics in OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
