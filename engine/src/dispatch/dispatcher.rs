//! The dispatcher: routes alerts into aggregation groups and flushes them on time.
//! STUB: to be completed (groups, timers on one scheduler, reload keeping groups).

use std::sync::Arc;

use crate::alert::{Alert, LabelSet};
use crate::config::coordinator::ActiveConfig;
use crate::notify::FlushHandler;

/// A view of one aggregation group, for `GET /api/v2/alerts/groups`.
#[derive(Clone, Debug)]
pub struct GroupSnapshot {
    /// The group's labels.
    pub labels: LabelSet,
    /// Receiver name.
    pub receiver: String,
    /// The alerts in the group.
    pub alerts: Vec<Arc<Alert>>,
}

/// Routes alerts to aggregation groups and flushes the groups to a [`FlushHandler`].
pub struct Dispatcher {
    _handler: Arc<dyn FlushHandler>,
}

impl Dispatcher {
    /// A dispatcher for `config`, flushing to `handler`.
    pub fn new(_config: Arc<ActiveConfig>, handler: Arc<dyn FlushHandler>) -> Arc<Self> {
        Arc::new(Dispatcher { _handler: handler })
    }

    /// Routes a stored (merged) alert into its groups.
    pub fn insert(&self, _alert: Arc<Alert>) {}

    /// Every aggregation group.
    pub fn groups(&self) -> Vec<GroupSnapshot> {
        Vec::new()
    }

    /// Switches to a new config.
    pub fn apply_config(&self, _config: Arc<ActiveConfig>) {}
}
