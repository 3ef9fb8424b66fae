//! Integrations: one file per receiver type. Each sends one notification attempt; the
//! retry stage decides about retries from the error.

pub mod defaults;
pub mod discord;
pub mod email;
pub mod http;
pub mod incidentio;
pub mod jira;
pub mod mattermost;
pub mod msteams;
pub mod msteamsv2;
pub mod opsgenie;
pub mod pagerduty;
pub mod post;
pub mod pushover;
pub mod render;
pub mod rocketchat;
pub mod slack;
pub mod sns;
pub mod telegram;
pub mod truncate;
pub mod victorops;
pub mod webex;
pub mod webhook;
pub mod wechat;

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
        |c| webhook::Webhook::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
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
        |c| pagerduty::PagerDuty::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "opsgenie",
        &r.opsgenie_configs,
        |c| c.send_resolved,
        |c| opsgenie::OpsGenie::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "wechat",
        &r.wechat_configs,
        |c| c.send_resolved,
        |c| wechat::WeChat::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "slack",
        &r.slack_configs,
        |c| c.send_resolved,
        |c| slack::Slack::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "victorops",
        &r.victorops_configs,
        |c| c.send_resolved,
        |c| victorops::VictorOps::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "pushover",
        &r.pushover_configs,
        |c| c.send_resolved,
        |c| pushover::Pushover::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "sns",
        &r.sns_configs,
        |c| c.send_resolved,
        |c| sns::Sns::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "telegram",
        &r.telegram_configs,
        |c| c.send_resolved,
        |c| telegram::Telegram::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "discord",
        &r.discord_configs,
        |c| c.send_resolved,
        |c| discord::Discord::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "webex",
        &r.webex_configs,
        |c| c.send_resolved,
        |c| webex::Webex::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "msteams",
        &r.msteams_configs,
        |c| c.send_resolved,
        |c| msteams::MsTeams::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "msteamsv2",
        &r.msteamsv2_configs,
        |c| c.send_resolved,
        |c| msteamsv2::MsTeamsV2::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "jira",
        &r.jira_configs,
        |c| c.send_resolved,
        |c| jira::Jira::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "rocketchat",
        &r.rocketchat_configs,
        |c| c.send_resolved,
        |c| rocketchat::RocketChat::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "incidentio",
        &r.incidentio_configs,
        |c| c.send_resolved,
        |c| incidentio::Incidentio::new(c, env.clone()).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.add(
        "mattermost",
        &r.mattermost_configs,
        |c| c.send_resolved,
        |c| mattermost::Mattermost::new(c, env).map(|n| Arc::new(n) as Arc<dyn Notifier>),
    );
    b.out
}
