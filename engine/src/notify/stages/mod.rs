//! Pipeline stages, one per file. A stage is one small type with one method: it takes the
//! group's alerts and the notification context and returns the alerts to pass on; an
//! empty list stops the chain (nothing to notify), an error fails it. The order is set in
//! one place, [`crate::notify::pipeline`].

pub mod dedup;
pub mod inhibit;
pub mod retry;
pub mod set_notifies;
pub mod settle;
pub mod silence;
pub mod time_active;
pub mod time_mute;
pub mod wait;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;

use super::FlushContext;
use crate::alert::{Alert, LabelSet};

/// Upstream's reasons for a notification (`notify.NotifyReason`), shown to templates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NotifyReason {
    /// Nothing to notify.
    DoNotNotify,
    /// No notification was sent for the group yet.
    FirstNotification,
    /// Firing alerts were added.
    NewAlertsInGroup,
    /// Alerts resolved (with `send_resolved`).
    NewResolvedAlerts,
    /// Every alert resolved.
    AllAlertsResolved,
    /// The repeat interval elapsed.
    RepeatIntervalElapsed,
    /// Not known (no dedup stage ran).
    #[default]
    Unknown,
}

impl NotifyReason {
    /// Upstream's text for the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyReason::DoNotNotify => "none",
            NotifyReason::FirstNotification => "first notification",
            NotifyReason::NewAlertsInGroup => "new alerts added",
            NotifyReason::NewResolvedAlerts => "some alerts resolved",
            NotifyReason::AllAlertsResolved => "all alerts resolved",
            NotifyReason::RepeatIntervalElapsed => "repeat interval elapsed",
            NotifyReason::Unknown => "unknown",
        }
    }
}

/// Upstream's failure reasons (`notify.Reason`), the `reason` label of
/// `alertmanager_notifications_failed_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// Anything else (network errors among them).
    Other,
    /// A 4xx answer.
    ClientError,
    /// A 5xx answer.
    ServerError,
    /// The flush was cancelled.
    ContextCanceled,
    /// The flush ran out of time.
    ContextDeadlineExceeded,
    /// 401 or 403.
    AuthError,
    /// 429.
    RateLimited,
}

impl FailureReason {
    /// Every reason, for initializing metrics.
    pub const ALL: [FailureReason; 7] = [
        FailureReason::Other,
        FailureReason::ClientError,
        FailureReason::ServerError,
        FailureReason::ContextCanceled,
        FailureReason::ContextDeadlineExceeded,
        FailureReason::AuthError,
        FailureReason::RateLimited,
    ];

    /// Upstream's label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Other => "other",
            FailureReason::ClientError => "clientError",
            FailureReason::ServerError => "serverError",
            FailureReason::ContextCanceled => "contextCanceled",
            FailureReason::ContextDeadlineExceeded => "contextDeadlineExceeded",
            FailureReason::AuthError => "authError",
            FailureReason::RateLimited => "rateLimited",
        }
    }

    /// Upstream's classification of an HTTP status code.
    pub fn from_status(code: u16) -> FailureReason {
        match code {
            401 | 403 => FailureReason::AuthError,
            429 => FailureReason::RateLimited,
            400..=499 => FailureReason::ClientError,
            500..=599 => FailureReason::ServerError,
            _ => FailureReason::Other,
        }
    }
}

/// Why a stage failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StageError {
    /// The failure category.
    pub reason: FailureReason,
    /// What happened.
    pub message: String,
}

impl StageError {
    /// An error with reason `other`.
    pub fn other(message: impl Into<String>) -> Self {
        StageError {
            reason: FailureReason::Other,
            message: message.into(),
        }
    }
}

/// The context stages share within one integration's chain.
#[derive(Clone, Debug)]
pub struct NotifyContext {
    /// What the dispatcher passed.
    pub flush: Arc<FlushContext>,
    /// Hashes of the firing alerts (set by the dedup stage).
    pub firing: Vec<u64>,
    /// Hashes of the resolved alerts (set by the dedup stage).
    pub resolved: Vec<u64>,
    /// Why the notification is sent (set by the dedup stage).
    pub reason: NotifyReason,
}

impl NotifyContext {
    /// A fresh context for a flush.
    pub fn new(flush: Arc<FlushContext>) -> Self {
        NotifyContext {
            flush,
            firing: Vec::new(),
            resolved: Vec::new(),
            reason: NotifyReason::Unknown,
        }
    }

    /// The flush time: stages decide "resolved" by it, so an alert does not change state
    /// while the chain runs.
    pub fn now(&self) -> Timestamp {
        self.flush.now
    }

    /// Whether `alert` counts as resolved in this flush.
    pub fn is_resolved(&self, alert: &Alert) -> bool {
        alert.resolved_at(self.flush.now)
    }
}

/// What a stage returns.
pub type StageFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Arc<Alert>>, StageError>> + Send + 'a>>;

/// One step of the pipeline.
pub trait Stage: Send + Sync {
    /// Processes the alerts; returns those to pass on (empty stops the chain).
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a>;
}

/// Decides whether an alert is muted (silences, inhibitions); the mute stages use it.
pub trait Muter: Send + Sync {
    /// Whether the alert with these labels is muted at `now`.
    fn mutes(&self, labels: &LabelSet, now: Timestamp) -> bool;
}

/// Runs stages in order; stops early on an empty list.
pub async fn run_chain(
    stages: &[Box<dyn Stage>],
    ctx: &mut NotifyContext,
    mut alerts: Vec<Arc<Alert>>,
) -> Result<Vec<Arc<Alert>>, StageError> {
    for stage in stages {
        if alerts.is_empty() {
            return Ok(alerts);
        }
        alerts = stage.exec(ctx, alerts).await?;
    }
    Ok(alerts)
}

/// Upstream's alert hash for the notification log: xxHash64 over the sorted label
/// names and values, each followed by 0xff.
pub fn hash_alert(alert: &Alert) -> u64 {
    let mut buf = Vec::with_capacity(256);
    for (k, v) in alert.labels.iter() {
        buf.extend_from_slice(k.as_bytes());
        buf.push(0xff);
        buf.extend_from_slice(v.as_bytes());
        buf.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&buf, 0)
}

/// Filters `alerts` with a muter (shared by the inhibit and silence stages).
pub(crate) fn unmuted(
    muter: Option<&dyn Muter>,
    now: Timestamp,
    alerts: Vec<Arc<Alert>>,
) -> Vec<Arc<Alert>> {
    match muter {
        None => alerts,
        Some(m) => alerts
            .into_iter()
            .filter(|a| !m.mutes(&a.labels, now))
            .collect(),
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use std::time::Duration;

    pub fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    pub fn alert(name: &str, ends_at: Option<i64>) -> Arc<Alert> {
        Arc::new(Alert {
            labels: LabelSet::from_pairs([("alertname", name)]),
            annotations: LabelSet::default(),
            starts_at: ts(-100),
            ends_at: ends_at.map(ts),
            generator_url: String::new(),
            updated_at: ts(-100),
            timeout: false,
        })
    }

    pub fn ctx_at(now: i64) -> NotifyContext {
        NotifyContext::new(Arc::new(FlushContext {
            receiver: "team".into(),
            group_key: "{}:{}".into(),
            group_labels: LabelSet::default(),
            route_labels: LabelSet::default(),
            repeat_interval: Duration::from_secs(3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            now: ts(now),
            deadline: tokio::time::Instant::now() + Duration::from_secs(60),
        }))
    }

    pub fn names(alerts: &[Arc<Alert>]) -> Vec<String> {
        alerts.iter().map(|a| a.name().to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_hash_is_xxhash_of_sorted_labels() {
        let a = testutil::alert("A", None);
        // xxh64("alertname\xffA\xff"), the value upstream's hashAlert gives.
        assert_eq!(
            hash_alert(&a),
            xxhash_rust::xxh64::xxh64(b"alertname\xffA\xff", 0)
        );
        assert_ne!(hash_alert(&a), hash_alert(&testutil::alert("B", None)));
    }

    #[test]
    fn failure_reasons_follow_upstream() {
        assert_eq!(FailureReason::from_status(401).as_str(), "authError");
        assert_eq!(FailureReason::from_status(403).as_str(), "authError");
        assert_eq!(FailureReason::from_status(429).as_str(), "rateLimited");
        assert_eq!(FailureReason::from_status(404).as_str(), "clientError");
        assert_eq!(FailureReason::from_status(503).as_str(), "serverError");
        assert_eq!(FailureReason::from_status(302).as_str(), "other");
    }
}
