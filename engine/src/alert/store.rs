//! The alert store: every alert the engine knows, sharded by fingerprint.
//! STUB: to be completed (merge on put, resolve_timeout, GC, per-alertname limit, metrics).

use std::sync::Arc;

use jiff::Timestamp;

use super::{Alert, Fingerprint};

/// Why an alert was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    /// `--alerts.per-alertname-limit` reached for this alert name.
    #[error("too many alerts named {0:?}")]
    LimitReached(String),
}

/// Every alert, merged by fingerprint; concurrent without one global lock.
#[derive(Default)]
pub struct AlertStore {}

impl AlertStore {
    /// Merges `alert` into the stored version (upstream's rules) and returns what is stored now.
    pub fn put(&self, alert: Alert, _now: Timestamp) -> Result<Arc<Alert>, PutError> {
        Ok(Arc::new(alert))
    }

    /// The stored alert with this fingerprint.
    pub fn get(&self, _fingerprint: Fingerprint) -> Option<Arc<Alert>> {
        None
    }

    /// A copy of every stored alert.
    pub fn snapshot(&self) -> Vec<Arc<Alert>> {
        Vec::new()
    }
}
