//! Integrations: one file per receiver type. Each sends one notification attempt; the
//! retry stage decides about retries from the error.

pub mod defaults;
pub mod email;
pub mod http;
pub mod render;
pub mod truncate;
pub mod webhook;

#[cfg(test)]
pub(crate) mod testserver;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::stages::{FailureReason, NotifyContext};
use crate::alert::Alert;
use crate::config::Receiver;

pub use render::{IntegrationEnv, Renderer, group_key_hash, template_data};

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

/// A notifier that fails with the reason its integration could not be built.
struct Broken {
    message: String,
}

impl Notifier for Broken {
    fn notify<'a>(
        &'a self,
        _ctx: &'a NotifyContext,
        _alerts: &'a [Arc<Alert>],
    ) -> NotifyFuture<'a> {
        Box::pin(async move { Err(NotifyError::permanent(self.message.clone())) })
    }
}

/// Collects a receiver's integrations.
struct Builder<'r> {
    receiver: &'r str,
    out: Vec<Integration>,
}

impl Builder<'_> {
    /// Adds one integration per entry of `configs`, built by `make`. One that cannot
    /// be built (an unreadable CA file, say) is still added: its sends fail with the
    /// reason, so the failure shows in logs and metrics.
    fn add<C, E: std::fmt::Display>(
        &mut self,
        name: &'static str,
        configs: &[C],
        send_resolved: impl Fn(&C) -> bool,
        make: impl Fn(&C) -> Result<Arc<dyn Notifier>, E>,
    ) {
        for (i, c) in configs.iter().enumerate() {
            let notifier = make(c).unwrap_or_else(|e| {
                tracing::error!(receiver = %self.receiver, integration = %format!("{name}[{i}]"), err = %e, "cannot build integration");
                Arc::new(Broken {
                    message: e.to_string(),
                })
            });
            self.out.push(Integration {
                name,
                idx: i as u32,
                send_resolved: send_resolved(c),
                notifier,
            });
        }
    }
}

/// The notifier of a type not implemented yet.
fn unsupported(name: &'static str) -> Result<Arc<dyn Notifier>, String> {
    tracing::warn!(
        integration = name,
        "integration type not implemented yet: its notifications fail"
    );
    Ok(Arc::new(Unsupported { name }))
}

/// Builds the integrations of `receiver`: one per entry of each `*_configs` list.
pub fn build(receiver: &Receiver, env: &IntegrationEnv) -> Vec<Integration> {
    let mut b = Builder {
        receiver: &receiver.name,
        out: Vec::new(),
    };
    let r = receiver;
    b.add(
        "webhook",
        &r.webhook_configs,
        |c| c.send_resolved,
        |c| {
            webhook::Webhook::new(c, env.external_url.clone())
                .map(|n| Arc::new(n) as Arc<dyn Notifier>)
        },
    );
    b.add(
        "email",
        &r.email_configs,
        |c| c.send_resolved,
        |c| Ok::<_, String>(Arc::new(email::Email::new(c, env)) as Arc<dyn Notifier>),
    );
    b.add(
        "pagerduty",
        &r.pagerduty_configs,
        |c| c.send_resolved,
        |_| unsupported("pagerduty"),
    );
    b.add(
        "opsgenie",
        &r.opsgenie_configs,
        |c| c.send_resolved,
        |_| unsupported("opsgenie"),
    );
    b.add(
        "wechat",
        &r.wechat_configs,
        |c| c.send_resolved,
        |_| unsupported("wechat"),
    );
    b.add(
        "slack",
        &r.slack_configs,
        |c| c.send_resolved,
        |_| unsupported("slack"),
    );
    b.add(
        "victorops",
        &r.victorops_configs,
        |c| c.send_resolved,
        |_| unsupported("victorops"),
    );
    b.add(
        "pushover",
        &r.pushover_configs,
        |c| c.send_resolved,
        |_| unsupported("pushover"),
    );
    b.add(
        "sns",
        &r.sns_configs,
        |c| c.send_resolved,
        |_| unsupported("sns"),
    );
    b.add(
        "telegram",
        &r.telegram_configs,
        |c| c.send_resolved,
        |_| unsupported("telegram"),
    );
    b.add(
        "discord",
        &r.discord_configs,
        |c| c.send_resolved,
        |_| unsupported("discord"),
    );
    b.add(
        "webex",
        &r.webex_configs,
        |c| c.send_resolved,
        |_| unsupported("webex"),
    );
    b.add(
        "msteams",
        &r.msteams_configs,
        |c| c.send_resolved,
        |_| unsupported("msteams"),
    );
    b.add(
        "msteamsv2",
        &r.msteamsv2_configs,
        |c| c.send_resolved,
        |_| unsupported("msteamsv2"),
    );
    b.add(
        "jira",
        &r.jira_configs,
        |c| c.send_resolved,
        |_| unsupported("jira"),
    );
    b.add(
        "rocketchat",
        &r.rocketchat_configs,
        |c| c.send_resolved,
        |_| unsupported("rocketchat"),
    );
    b.add(
        "incidentio",
        &r.incidentio_configs,
        |c| c.send_resolved,
        |_| unsupported("incidentio"),
    );
    b.add(
        "mattermost",
        &r.mattermost_configs,
        |c| c.send_resolved,
        |_| unsupported("mattermost"),
    );
    b.out
}
