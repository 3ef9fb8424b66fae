//! Runtime settings from the command line that the engine's parts share.

use std::path::PathBuf;
use std::time::Duration;

/// Settings of a running engine (Alertmanager's flags and defaults).
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// `--storage.path`: where state is kept.
    pub storage_path: PathBuf,
    /// `--data.retention`: how long notification log entries and expired silences are kept.
    pub data_retention: Duration,
    /// `--alerts.gc-interval`: how often resolved alerts are garbage-collected.
    pub alerts_gc_interval: Duration,
    /// `--alerts.per-alertname-limit`: most alerts per alert name, 0 for no limit.
    pub alerts_per_alertname_limit: usize,
    /// `--dispatch.start-delay`: how long after start groups may first flush.
    pub dispatch_start_delay: Duration,
    /// `--web.external-url`: the engine's URL as seen from outside.
    pub external_url: String,
    /// `--data.maintenance-interval`: how often silences and the notification log are
    /// garbage-collected and snapshotted.
    pub maintenance_interval: Duration,
    /// `--silences.max-silences`: most silences kept, 0 for no limit.
    pub max_silences: usize,
    /// `--silences.max-silence-size-bytes`: largest silence, 0 for no limit.
    pub max_silence_size_bytes: usize,
    /// `--silences.file`: declarative silences (Larum's extension).
    pub silences_file: Option<PathBuf>,
    /// `--alerts.max-alerts`: most alerts kept, 0 for no limit (Larum's extension).
    pub alerts_max_alerts: usize,
    /// `--dispatch.max-aggregation-groups`: most aggregation groups, 0 for no limit
    /// (Larum's extension).
    pub dispatch_max_aggregation_groups: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            storage_path: PathBuf::from("data/"),
            data_retention: Duration::from_secs(120 * 3600),
            alerts_gc_interval: Duration::from_secs(30 * 60),
            alerts_per_alertname_limit: 0,
            dispatch_start_delay: Duration::ZERO,
            external_url: String::new(),
            maintenance_interval: Duration::from_secs(15 * 60),
            max_silences: 0,
            max_silence_size_bytes: 0,
            silences_file: None,
            alerts_max_alerts: 0,
            dispatch_max_aggregation_groups: 0,
        }
    }
}
