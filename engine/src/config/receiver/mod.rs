//! Receivers: a name and the integrations it notifies, one file per integration type.

pub mod discord;
pub mod email;
pub mod incidentio;
pub mod jira;
pub mod mattermost;
pub mod msteams;
pub mod msteamsv2;
pub mod opsgenie;
pub mod pagerduty;
pub mod pushover;
pub mod rocketchat;
pub mod slack;
pub mod sns;
pub mod telegram;
pub mod victorops;
pub mod webex;
pub mod webhook;
pub mod wechat;

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::global::GlobalConfig;

/// A named receiver with its integrations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// Unique name routes refer to.
    pub name: String,
    /// `discord_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discord_configs: Vec<discord::DiscordConfig>,
    /// `email_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<email::EmailConfig>,
    /// `incidentio_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidentio_configs: Vec<incidentio::IncidentioConfig>,
    /// `jira_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jira_configs: Vec<jira::JiraConfig>,
    /// `mattermost_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mattermost_configs: Vec<mattermost::MattermostConfig>,
    /// `msteams_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msteams_configs: Vec<msteams::MsTeamsConfig>,
    /// `msteamsv2_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msteamsv2_configs: Vec<msteamsv2::MsTeamsV2Config>,
    /// `opsgenie_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opsgenie_configs: Vec<opsgenie::OpsGenieConfig>,
    /// `pagerduty_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<pagerduty::PagerDutyConfig>,
    /// `pushover_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pushover_configs: Vec<pushover::PushoverConfig>,
    /// `rocketchat_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rocketchat_configs: Vec<rocketchat::RocketChatConfig>,
    /// `slack_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_configs: Vec<slack::SlackConfig>,
    /// `sns_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sns_configs: Vec<sns::SnsConfig>,
    /// `telegram_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telegram_configs: Vec<telegram::TelegramConfig>,
    /// `victorops_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub victorops_configs: Vec<victorops::VictorOpsConfig>,
    /// `webex_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webex_configs: Vec<webex::WebexConfig>,
    /// `webhook_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<webhook::WebhookConfig>,
    /// `wechat_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wechat_configs: Vec<wechat::WeChatConfig>,
}

impl Receiver {
    /// Fills defaults from `global` into every integration and checks them; error paths are relative to this receiver.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        for (i, c) in self.discord_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("discord_configs[{i}]")))?;
        }
        for (i, c) in self.email_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("email_configs[{i}]")))?;
        }
        for (i, c) in self.incidentio_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("incidentio_configs[{i}]")))?;
        }
        for (i, c) in self.jira_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("jira_configs[{i}]")))?;
        }
        for (i, c) in self.mattermost_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("mattermost_configs[{i}]")))?;
        }
        for (i, c) in self.msteams_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("msteams_configs[{i}]")))?;
        }
        for (i, c) in self.msteamsv2_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("msteamsv2_configs[{i}]")))?;
        }
        for (i, c) in self.opsgenie_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("opsgenie_configs[{i}]")))?;
        }
        for (i, c) in self.pagerduty_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("pagerduty_configs[{i}]")))?;
        }
        for (i, c) in self.pushover_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("pushover_configs[{i}]")))?;
        }
        for (i, c) in self.rocketchat_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("rocketchat_configs[{i}]")))?;
        }
        for (i, c) in self.slack_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("slack_configs[{i}]")))?;
        }
        for (i, c) in self.sns_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("sns_configs[{i}]")))?;
        }
        for (i, c) in self.telegram_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("telegram_configs[{i}]")))?;
        }
        for (i, c) in self.victorops_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("victorops_configs[{i}]")))?;
        }
        for (i, c) in self.webex_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("webex_configs[{i}]")))?;
        }
        for (i, c) in self.webhook_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("webhook_configs[{i}]")))?;
        }
        for (i, c) in self.wechat_configs.iter_mut().enumerate() {
            c.resolve(global).map_err(|e| e.under(&format!("wechat_configs[{i}]")))?;
        }
        Ok(())
    }
}
