//! Notification metrics with upstream's names and labels (`integration`; upstream adds
//! `receiver_name` only behind a feature flag, off by default).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::stages::FailureReason;

/// Label set `{integration}`.
pub type IntegrationLabels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    Histogram::new([1.0, 5.0, 10.0, 15.0, 20.0])
}

/// The integration types upstream initializes its metrics for.
pub const INTEGRATIONS: [&str; 18] = [
    "email",
    "pagerduty",
    "wechat",
    "pushover",
    "slack",
    "opsgenie",
    "webhook",
    "victorops",
    "sns",
    "telegram",
    "discord",
    "webex",
    "msteams",
    "msteamsv2",
    "incidentio",
    "jira",
    "rocketchat",
    "mattermost",
];

/// Counters and the latency histogram of notifications.
#[derive(Clone)]
pub struct NotifyMetrics {
    /// `alertmanager_notifications_total{integration}`.
    pub notifications_total: Family<IntegrationLabels, Counter>,
    /// `alertmanager_notifications_failed_total{integration,reason}`.
    pub notifications_failed_total: Family<IntegrationLabels, Counter>,
    /// `alertmanager_notification_requests_total{integration}`.
    pub notification_requests_total: Family<IntegrationLabels, Counter>,
    /// `alertmanager_notification_requests_failed_total{integration}`.
    pub notification_requests_failed_total: Family<IntegrationLabels, Counter>,
    /// `alertmanager_notification_latency_seconds{integration}`.
    pub notification_latency_seconds: Family<IntegrationLabels, Histogram, fn() -> Histogram>,
}

impl Default for NotifyMetrics {
    fn default() -> Self {
        let m = NotifyMetrics {
            notifications_total: Family::default(),
            notifications_failed_total: Family::default(),
            notification_requests_total: Family::default(),
            notification_requests_failed_total: Family::default(),
            notification_latency_seconds: Family::new_with_constructor(latency_histogram),
        };
        // Like upstream, every integration type shows from the start with zero counts.
        for name in INTEGRATIONS {
            let l = labels(name);
            let _ = m.notifications_total.get_or_create(&l);
            let _ = m.notification_requests_total.get_or_create(&l);
            let _ = m.notification_requests_failed_total.get_or_create(&l);
            let _ = m.notification_latency_seconds.get_or_create(&l);
            for reason in FailureReason::ALL {
                let _ = m
                    .notifications_failed_total
                    .get_or_create(&failed_labels(name, reason));
            }
        }
        m
    }
}

/// `{integration="name"}`.
pub fn labels(integration: &str) -> IntegrationLabels {
    vec![("integration", integration.to_string())]
}

/// `{integration="name", reason="..."}`.
pub fn failed_labels(integration: &str, reason: FailureReason) -> IntegrationLabels {
    vec![
        ("integration", integration.to_string()),
        ("reason", reason.as_str().to_string()),
    ]
}

impl NotifyMetrics {
    /// Registers the metrics (counters get their `_total` suffix from the registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alertmanager_notifications",
            "The total number of attempted notifications.",
            self.notifications_total.clone(),
        );
        registry.register(
            "alertmanager_notifications_failed",
            "The total number of failed notifications.",
            self.notifications_failed_total.clone(),
        );
        registry.register(
            "alertmanager_notification_requests",
            "The total number of attempted notification requests.",
            self.notification_requests_total.clone(),
        );
        registry.register(
            "alertmanager_notification_requests_failed",
            "The total number of failed notification requests.",
            self.notification_requests_failed_total.clone(),
        );
        registry.register(
            "alertmanager_notification_latency_seconds",
            "The latency of notifications in seconds.",
            self.notification_latency_seconds.clone(),
        );
    }
}
