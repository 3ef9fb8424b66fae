//! Notification: what the dispatcher hands over when an aggregation group flushes, and the
//! pipeline that turns a flush into notifications ([`pipeline`], stages in [`stages`]).

pub mod integrations;
pub mod metrics;
pub mod pipeline;
pub mod stages;

pub use pipeline::Pipeline;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::alert::{Alert, LabelSet};

/// Everything a flush of one aggregation group needs to know besides its alerts.
#[derive(Clone, Debug)]
pub struct FlushContext {
    /// Receiver name.
    pub receiver: String,
    /// Upstream's group key: `{route key}:{group labels}`.
    pub group_key: Arc<str>,
    /// The group's labels (its `group_by` values).
    pub group_labels: LabelSet,
    /// The labels the route attaches (`labels` of the route and its ancestors).
    pub route_labels: LabelSet,
    /// The route's repeat interval (the dedup stage needs it).
    pub repeat_interval: Duration,
    /// Names of the route's mute time intervals.
    pub mute_time_intervals: Vec<String>,
    /// Names of the route's active time intervals.
    pub active_time_intervals: Vec<String>,
    /// When the flush started.
    pub now: Timestamp,
    /// The flush must be done by then (the group interval after its start).
    pub deadline: tokio::time::Instant,
}

/// A boxed future, as returned by [`FlushHandler::flush`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Receives the flushes of aggregation groups: the notification pipeline implements it.
pub trait FlushHandler: Send + Sync + 'static {
    /// Notifies about `alerts` (firing and resolved) of one group; resolves to whether
    /// the notification succeeded (on failure the dispatcher keeps the resolved alerts
    /// and tries again at the next group interval).
    fn flush(&self, ctx: FlushContext, alerts: Vec<Arc<Alert>>) -> BoxFuture<bool>;

    /// Switches to a new config (the dispatcher calls it on reload, before it routes with
    /// the new tree). State that outlives a config, like the notification log, is kept.
    fn apply_config(&self, _config: &crate::config::coordinator::ActiveConfig) {}
}
