//! Integrations: one file per receiver type. Each sends one notification attempt; the
//! retry stage decides about retries from the error.

pub mod http;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::stages::{FailureReason, NotifyContext};
use crate::alert::Alert;

/// A failed notification attempt.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Whether another attempt may succeed.
    pub retry: bool,
    /// The failure category for metrics.
    pub reason: FailureReason,
    /// The receiver's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// What happened.
    pub message: String,
}

impl NotifyError {
    /// A permanent error with reason `other`.
    pub fn permanent(message: impl Into<String>) -> Self {
        NotifyError {
            retry: false,
            reason: FailureReason::Other,
            retry_after: None,
            message: message.into(),
        }
    }
}

/// What [`Notifier::notify`] returns.
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// Sends one notification attempt.
pub trait Notifier: Send + Sync {
    /// Notifies about `alerts` (already filtered for `send_resolved`).
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a>;
}

/// One configured integration of a receiver.
#[derive(Clone)]
pub struct Integration {
    /// The type name (`webhook`, ...): the `integration` label of the metrics.
    pub name: &'static str,
    /// Index among the receiver's integrations of this type.
    pub idx: u32,
    /// Whether resolved alerts are notified.
    pub send_resolved: bool,
    /// The sender.
    pub notifier: Arc<dyn Notifier>,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.name, self.idx)
    }
}

/// A notifier for integration types not implemented yet: every attempt fails permanently,
/// so the failure shows in logs and metrics instead of passing silently.
pub struct Unsupported {
    /// The type name.
    pub name: &'static str,
}

impl Notifier for Unsupported {
    fn notify<'a>(
        &'a self,
        _ctx: &'a NotifyContext,
        _alerts: &'a [Arc<Alert>],
    ) -> NotifyFuture<'a> {
        Box::pin(async move {
            Err(NotifyError::permanent(format!(
                "{} notifications are not implemented yet",
                self.name
            )))
        })
    }
}
