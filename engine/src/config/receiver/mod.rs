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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::global::GlobalConfig;
use super::http_config::HttpClientConfig;
use super::secret::with_secrets_revealed;

/// A named receiver with its integrations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// Unique name routes refer to.
    #[serde(default)]
    pub name: String,
    /// Labels for filtering receivers in the API (newer than 0.25), as written; see
    /// [`Receiver::effective_labels`] for the set including `name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
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
        if let Some(value) = self.labels.get("name")
            && *value != self.name
        {
            return Err(ConfigError::at(
                "labels.name",
                format!(
                    "receiver label \"name\" must match receiver name {:?}, got {:?}",
                    self.name, value
                ),
            ));
        }
        for (i, c) in self.discord_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("discord_configs[{i}]")))?;
        }
        for (i, c) in self.email_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("email_configs[{i}]")))?;
        }
        for (i, c) in self.incidentio_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("incidentio_configs[{i}]")))?;
        }
        for (i, c) in self.jira_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("jira_configs[{i}]")))?;
        }
        for (i, c) in self.mattermost_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("mattermost_configs[{i}]")))?;
        }
        for (i, c) in self.msteams_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("msteams_configs[{i}]")))?;
        }
        for (i, c) in self.msteamsv2_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("msteamsv2_configs[{i}]")))?;
        }
        for (i, c) in self.opsgenie_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("opsgenie_configs[{i}]")))?;
        }
        for (i, c) in self.pagerduty_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("pagerduty_configs[{i}]")))?;
        }
        for (i, c) in self.pushover_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("pushover_configs[{i}]")))?;
        }
        for (i, c) in self.rocketchat_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("rocketchat_configs[{i}]")))?;
        }
        for (i, c) in self.slack_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("slack_configs[{i}]")))?;
        }
        for (i, c) in self.sns_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("sns_configs[{i}]")))?;
        }
        for (i, c) in self.telegram_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("telegram_configs[{i}]")))?;
        }
        for (i, c) in self.victorops_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("victorops_configs[{i}]")))?;
        }
        for (i, c) in self.webex_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("webex_configs[{i}]")))?;
        }
        for (i, c) in self.webhook_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("webhook_configs[{i}]")))?;
        }
        for (i, c) in self.wechat_configs.iter_mut().enumerate() {
            c.resolve(global)
                .map_err(|e| e.under(&format!("wechat_configs[{i}]")))?;
        }
        Ok(())
    }
}

/// Integration type names in the order upstream builds a receiver's integrations.
pub const INTEGRATION_TYPES: [&str; 18] = [
    "webhook",
    "email",
    "pagerduty",
    "opsgenie",
    "wechat",
    "slack",
    "victorops",
    "pushover",
    "sns",
    "telegram",
    "discord",
    "webex",
    "msteams",
    "msteamsv2",
    "jira",
    "incidentio",
    "rocketchat",
    "mattermost",
];

impl Receiver {
    /// The receiver's labels as the API shows them: those written plus `name`.
    pub fn effective_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert("name".to_string(), self.name.clone());
        labels
    }

    /// How many entries the `*_configs` lists of one integration type have.
    pub fn count_of(&self, integration_type: &str) -> usize {
        match integration_type {
            "webhook" => self.webhook_configs.len(),
            "email" => self.email_configs.len(),
            "pagerduty" => self.pagerduty_configs.len(),
            "opsgenie" => self.opsgenie_configs.len(),
            "wechat" => self.wechat_configs.len(),
            "slack" => self.slack_configs.len(),
            "victorops" => self.victorops_configs.len(),
            "pushover" => self.pushover_configs.len(),
            "sns" => self.sns_configs.len(),
            "telegram" => self.telegram_configs.len(),
            "discord" => self.discord_configs.len(),
            "webex" => self.webex_configs.len(),
            "msteams" => self.msteams_configs.len(),
            "msteamsv2" => self.msteamsv2_configs.len(),
            "jira" => self.jira_configs.len(),
            "incidentio" => self.incidentio_configs.len(),
            "rocketchat" => self.rocketchat_configs.len(),
            "mattermost" => self.mattermost_configs.len(),
            _ => 0,
        }
    }

    /// Total number of integrations of this receiver (0 for a "blackhole" receiver).
    pub fn integration_count(&self) -> usize {
        INTEGRATION_TYPES.iter().map(|t| self.count_of(t)).sum()
    }

    /// Every integration as (type name, index within its `*_configs` list), in
    /// upstream's order (webhook, email, pagerduty, ..., mattermost).
    pub fn integrations(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        INTEGRATION_TYPES
            .iter()
            .flat_map(move |t| (0..self.count_of(t)).map(move |i| (*t, i)))
    }
}

/// Checks a receiver's own `http_config` and, when it has none, gives it a copy of the
/// global one (what upstream does for most HTTP integrations). Error paths are relative
/// to the integration entry.
pub(crate) fn inherit_http_config(
    http_config: &mut Option<HttpClientConfig>,
    global: &GlobalConfig,
) -> Result<(), ConfigError> {
    match http_config {
        Some(own) => own.validate().map_err(|e| e.under("http_config")),
        None => {
            *http_config = Some(global.http_config.clone());
            Ok(())
        }
    }
}

/// The serialized form of an `http_config`, secrets revealed: lets this module look at
/// keys (`authorization`, `proxy_url`) of a type it does not own without naming its fields.
fn http_config_fields(config: &HttpClientConfig) -> serde_json::Map<String, serde_json::Value> {
    match with_secrets_revealed(|| serde_json::to_value(config)) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn is_set(value: Option<&serde_json::Value>) -> bool {
    match value {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(serde_json::Value::Object(m)) => !m.is_empty(),
        Some(_) => true,
    }
}

/// Whether an `http_config` sets `authorization`.
pub(crate) fn http_has_authorization(config: &HttpClientConfig) -> bool {
    is_set(http_config_fields(config).get("authorization"))
}

/// Gives `config` the `proxy_url` of `global` when it sets none itself, keeping its other
/// settings (upstream does this for `msteamsv2_configs` with their own `http_config`).
pub(crate) fn inherit_proxy_url(config: &mut HttpClientConfig, global: &HttpClientConfig) {
    let mut own = http_config_fields(config);
    // With `proxy_from_environment` the environment wins over any proxy_url anyway, and
    // adding one would make the shown config fail validation when read back.
    if is_set(own.get("proxy_url"))
        || own.get("proxy_from_environment") == Some(&serde_json::Value::Bool(true))
    {
        return;
    }
    let Some(proxy) = http_config_fields(global)
        .remove("proxy_url")
        .filter(|v| is_set(Some(v)))
    else {
        return;
    };
    own.insert("proxy_url".to_string(), proxy);
    if let Ok(merged) = serde_json::from_value::<HttpClientConfig>(serde_json::Value::Object(own)) {
        *config = merged;
    }
}

/// Upstream's check that an inline value and its `*_file` variant are not both set; the
/// error points at the `*_file` key.
pub(crate) fn at_most_one(
    inline: &str,
    has_inline: bool,
    file: &str,
    has_file: bool,
) -> Result<(), ConfigError> {
    if has_inline && has_file {
        return Err(ConfigError::at(
            file,
            format!("at most one of {inline} & {file} must be configured"),
        ));
    }
    Ok(())
}

/// `serde` helper: whether a bool is false (for `skip_serializing_if`).
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// `serde` helper: whether an integer is zero (for `skip_serializing_if`).
pub(crate) fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// Upstream's check of an integration that needs `webhook_url` or `webhook_url_file`.
pub(crate) fn check_webhook_url(has_url: bool, file: &str) -> Result<(), ConfigError> {
    if !has_url && file.is_empty() {
        return Err(ConfigError::at(
            "webhook_url",
            "one of webhook_url or webhook_url_file must be configured",
        ));
    }
    at_most_one("webhook_url", has_url, "webhook_url_file", !file.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ParseOptions};

    fn parse(receivers: &str) -> Result<Config, ConfigError> {
        Config::parse(
            &format!("route:\n  receiver: r\nreceivers:\n{receivers}"),
            ParseOptions::default(),
        )
    }

    #[test]
    fn labels_are_optional_and_include_the_name() {
        let c = parse("- name: r\n  labels:\n    team: db\n").unwrap();
        let labels = c.receivers[0].effective_labels();
        assert_eq!(labels.get("team").map(String::as_str), Some("db"));
        assert_eq!(labels.get("name").map(String::as_str), Some("r"));
        assert!(c.to_yaml().contains("team: db"));

        let c = parse("- name: r\n").unwrap();
        assert!(c.receivers[0].labels.is_empty());
        assert!(!c.to_yaml().contains("labels"), "{}", c.to_yaml());
        assert!(parse("- name: r\n  labels:\n    name: r\n").is_ok());
    }

    #[test]
    fn a_name_label_must_match_the_name() {
        let e = parse("- name: r\n  labels:\n    name: other\n").unwrap_err();
        assert_eq!(
            e.path_and_message(),
            "receivers[0].labels.name: receiver label \"name\" must match receiver name \"r\", got \"other\""
        );
    }

    #[test]
    fn integrations_are_listed_in_upstream_order() {
        let c = parse(
            "- name: r\n  discord_configs:\n  - webhook_url: http://d\n  telegram_configs:\n  - {bot_token: t, chat_id: 1}\n  \
             - {bot_token: t, chat_id: 2}\n  msteamsv2_configs:\n  - webhook_url: http://m\n",
        )
        .unwrap();
        let r = &c.receivers[0];
        assert_eq!(r.integration_count(), 4);
        assert_eq!(
            r.integrations().collect::<Vec<_>>(),
            [
                ("telegram", 0),
                ("telegram", 1),
                ("discord", 0),
                ("msteamsv2", 0)
            ]
        );
        assert_eq!(Receiver::default().integration_count(), 0);
        assert_eq!(Receiver::default().integrations().count(), 0);
        assert_eq!(r.count_of("nope"), 0);
    }

    #[test]
    fn entry_errors_carry_the_receiver_path() {
        let e = parse("- name: r\n  telegram_configs:\n  - {chat_id: 1}\n").unwrap_err();
        assert_eq!(
            e.path_and_message(),
            "receivers[0].telegram_configs[0].bot_token: missing bot_token or bot_token_file on telegram_config"
        );
    }

    /// Configs using integrations that Alertmanager 0.25 knows (telegram, discord, webex),
    /// as shown by `to_yaml`, pass Debian's `amtool check-config` 0.25.
    #[test]
    fn shown_configs_pass_amtool_0_25() {
        let amtool = std::path::Path::new("/usr/bin/amtool");
        if !amtool.exists() {
            return;
        }
        let mut receivers = String::from(
            "- name: r\n  telegram_configs:\n  - bot_token: t\n    chat_id: -1001\n    parse_mode: ''\n    message: m\n  \
             - bot_token: t2\n    chat_id: 5\n    send_resolved: false\n    disable_notifications: true\n    api_url: http://tg.local\n  \
             discord_configs:\n  - webhook_url: https://discord.com/api/webhooks/1/x\n  \
             - webhook_url: http://d.local/x\n    title: t\n    message: ''\n",
        );
        let webex_supported = crate::config::deserialize_yaml::<HttpClientConfig>(
            "authorization:\n  credentials: x\n",
        )
        .is_ok();
        if webex_supported {
            receivers.push_str("  webex_configs:\n  - room_id: room\n    http_config:\n      authorization:\n        credentials: c\n");
        }
        let config = parse(&receivers).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("masked.yml", config.to_yaml()),
            ("revealed.yml", config.to_yaml_revealed()),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &text).unwrap();
            let out = std::process::Command::new(amtool)
                .arg("check-config")
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "amtool rejected {name}:\n{text}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // And it parses back to the same model.
            assert_eq!(
                Config::parse(&text, ParseOptions::default())
                    .unwrap()
                    .receivers
                    .len(),
                1
            );
        }
        let back = Config::parse(&config.to_yaml_revealed(), ParseOptions::default()).unwrap();
        assert_eq!(back, config);
    }
}
