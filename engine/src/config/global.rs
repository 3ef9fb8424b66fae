//! The `global` section: defaults shared by every receiver and the alert resolve timeout.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::duration::Duration;
use super::error::ConfigError;
use super::http_config::{HttpClientConfig, TlsConfig};
use super::secret::{HttpUrl, Secret, SecretUrl};

/// Upstream's default URLs for the integrations that have one.
pub mod default_urls {
    /// PagerDuty Events API v2.
    pub const PAGERDUTY: &str = "https://events.pagerduty.com/v2/enqueue";
    /// OpsGenie.
    pub const OPSGENIE: &str = "https://api.opsgenie.com/";
    /// WeChat.
    pub const WECHAT: &str = "https://qyapi.weixin.qq.com/cgi-bin/";
    /// VictorOps.
    pub const VICTOROPS: &str = "https://alert.victorops.com/integrations/generic/20131114/alert/";
    /// Telegram.
    pub const TELEGRAM: &str = "https://api.telegram.org";
    /// Webex.
    pub const WEBEX: &str = "https://webexapis.com/v1/messages";
    /// Rocket.Chat.
    pub const ROCKETCHAT: &str = "https://open.rocket.chat/";
    /// Slack's `chat.postMessage` for app tokens.
    pub const SLACK_APP: &str = "https://slack.com/api/chat.postMessage";
}

fn url(s: &str) -> Option<HttpUrl> {
    HttpUrl::parse(s).ok()
}

fn default_resolve_timeout() -> Duration {
    Duration::from_secs(300)
}
fn default_smtp_hello() -> String {
    "localhost".to_string()
}
fn default_true() -> bool {
    true
}
fn default_pagerduty_url() -> Option<HttpUrl> {
    url(default_urls::PAGERDUTY)
}
fn default_opsgenie_url() -> Option<HttpUrl> {
    url(default_urls::OPSGENIE)
}
fn default_wechat_url() -> Option<HttpUrl> {
    url(default_urls::WECHAT)
}
fn default_victorops_url() -> Option<HttpUrl> {
    url(default_urls::VICTOROPS)
}
fn default_telegram_url() -> Option<HttpUrl> {
    url(default_urls::TELEGRAM)
}
fn default_webex_url() -> Option<HttpUrl> {
    url(default_urls::WEBEX)
}

/// The `global` section, with upstream's defaults.
///
/// Keys that Alertmanager 0.25 does not know are `Option`s that stay `None` unless the
/// file sets them, so a shown config stays readable by older `amtool`s; their defaults
/// are applied where they are used (see the accessor methods).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// How long an alert without `endsAt` stays firing after its last update.
    #[serde(default = "default_resolve_timeout")]
    pub resolve_timeout: Duration,
    /// HTTP client settings every HTTP receiver inherits unless it sets its own.
    #[serde(default)]
    pub http_config: HttpClientConfig,

    /// Default sender address of e-mails.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_from: String,
    /// Name sent in SMTP HELO/EHLO.
    #[serde(default = "default_smtp_hello")]
    pub smtp_hello: String,
    /// Default SMTP server, `host:port`.
    #[serde(default, skip_serializing_if = "HostPort::is_empty")]
    pub smtp_smarthost: HostPort,
    /// Default SMTP user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_username: String,
    /// Default SMTP password.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_password: Secret,
    /// File holding the default SMTP password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_password_file: String,
    /// Default SMTP CRAM-MD5 secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_secret: Secret,
    /// File holding the default CRAM-MD5 secret (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_secret_file: String,
    /// Default SMTP PLAIN identity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_identity: String,
    /// Whether SMTP requires STARTTLS.
    #[serde(default = "default_true")]
    pub smtp_require_tls: bool,
    /// Default TLS settings for SMTP (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_tls_config: Option<TlsConfig>,
    /// Whether SMTP uses implicit TLS regardless of the port (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_force_implicit_tls: Option<bool>,

    /// Default Slack incoming-webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_api_url: Option<SecretUrl>,
    /// File holding the default Slack webhook URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub slack_api_url_file: String,
    /// Default Slack app token (newer than 0.25).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub slack_app_token: Secret,
    /// File holding the default Slack app token (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub slack_app_token_file: String,
    /// Slack API URL used with app tokens (newer than 0.25; default [`default_urls::SLACK_APP`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_app_url: Option<HttpUrl>,

    /// PagerDuty API URL.
    #[serde(
        default = "default_pagerduty_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub pagerduty_url: Option<HttpUrl>,
    /// OpsGenie API URL.
    #[serde(
        default = "default_opsgenie_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub opsgenie_api_url: Option<HttpUrl>,
    /// Default OpsGenie API key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub opsgenie_api_key: Secret,
    /// File holding the default OpsGenie API key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub opsgenie_api_key_file: String,
    /// WeChat API URL.
    #[serde(
        default = "default_wechat_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub wechat_api_url: Option<HttpUrl>,
    /// Default WeChat API secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub wechat_api_secret: Secret,
    /// File holding the default WeChat API secret (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wechat_api_secret_file: String,
    /// Default WeChat corp ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wechat_api_corp_id: String,
    /// VictorOps API URL.
    #[serde(
        default = "default_victorops_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub victorops_api_url: Option<HttpUrl>,
    /// Default VictorOps API key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub victorops_api_key: Secret,
    /// File holding the default VictorOps API key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub victorops_api_key_file: String,
    /// Telegram API URL.
    #[serde(
        default = "default_telegram_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub telegram_api_url: Option<HttpUrl>,
    /// Default Telegram bot token (newer than 0.25).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub telegram_bot_token: Secret,
    /// File holding the default Telegram bot token (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub telegram_bot_token_file: String,
    /// Webex API URL.
    #[serde(default = "default_webex_url", skip_serializing_if = "Option::is_none")]
    pub webex_api_url: Option<HttpUrl>,
    /// Rocket.Chat API URL (newer than 0.25; default [`default_urls::ROCKETCHAT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocketchat_api_url: Option<HttpUrl>,
    /// Default Rocket.Chat token (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocketchat_token: Option<Secret>,
    /// File holding the default Rocket.Chat token (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rocketchat_token_file: String,
    /// Default Rocket.Chat token ID (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocketchat_token_id: Option<Secret>,
    /// File holding the default Rocket.Chat token ID (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rocketchat_token_id_file: String,
    /// Default Mattermost webhook URL (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mattermost_webhook_url: Option<SecretUrl>,
    /// File holding the default Mattermost webhook URL (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mattermost_webhook_url_file: String,
    /// Jira API URL (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_api_url: Option<HttpUrl>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            resolve_timeout: default_resolve_timeout(),
            http_config: HttpClientConfig::default(),
            smtp_from: String::new(),
            smtp_hello: default_smtp_hello(),
            smtp_smarthost: HostPort::default(),
            smtp_auth_username: String::new(),
            smtp_auth_password: Secret::default(),
            smtp_auth_password_file: String::new(),
            smtp_auth_secret: Secret::default(),
            smtp_auth_secret_file: String::new(),
            smtp_auth_identity: String::new(),
            smtp_require_tls: true,
            smtp_tls_config: None,
            smtp_force_implicit_tls: None,
            slack_api_url: None,
            slack_api_url_file: String::new(),
            slack_app_token: Secret::default(),
            slack_app_token_file: String::new(),
            slack_app_url: None,
            pagerduty_url: default_pagerduty_url(),
            opsgenie_api_url: default_opsgenie_url(),
            opsgenie_api_key: Secret::default(),
            opsgenie_api_key_file: String::new(),
            wechat_api_url: default_wechat_url(),
            wechat_api_secret: Secret::default(),
            wechat_api_secret_file: String::new(),
            wechat_api_corp_id: String::new(),
            victorops_api_url: default_victorops_url(),
            victorops_api_key: Secret::default(),
            victorops_api_key_file: String::new(),
            telegram_api_url: default_telegram_url(),
            telegram_bot_token: Secret::default(),
            telegram_bot_token_file: String::new(),
            webex_api_url: default_webex_url(),
            rocketchat_api_url: None,
            rocketchat_token: None,
            rocketchat_token_file: String::new(),
            rocketchat_token_id: None,
            rocketchat_token_id_file: String::new(),
            mattermost_webhook_url: None,
            mattermost_webhook_url_file: String::new(),
            jira_api_url: None,
        }
    }
}

impl GlobalConfig {
    /// Upstream's checks of the global section: inline values and `*_file` variants are
    /// mutually exclusive. Error paths are relative to `global`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let exclusive = [
            (
                "slack_app_token",
                !self.slack_app_token.is_empty(),
                "slack_app_token_file",
                !self.slack_app_token_file.is_empty(),
            ),
            (
                "slack_api_url",
                self.slack_api_url.is_some(),
                "slack_api_url_file",
                !self.slack_api_url_file.is_empty(),
            ),
            (
                "opsgenie_api_key",
                !self.opsgenie_api_key.is_empty(),
                "opsgenie_api_key_file",
                !self.opsgenie_api_key_file.is_empty(),
            ),
            (
                "victorops_api_key",
                !self.victorops_api_key.is_empty(),
                "victorops_api_key_file",
                !self.victorops_api_key_file.is_empty(),
            ),
            (
                "telegram_bot_token",
                !self.telegram_bot_token.is_empty(),
                "telegram_bot_token_file",
                !self.telegram_bot_token_file.is_empty(),
            ),
            (
                "smtp_auth_password",
                !self.smtp_auth_password.is_empty(),
                "smtp_auth_password_file",
                !self.smtp_auth_password_file.is_empty(),
            ),
            (
                "rocketchat_token",
                self.rocketchat_token.is_some(),
                "rocketchat_token_file",
                !self.rocketchat_token_file.is_empty(),
            ),
            (
                "rocketchat_token_id",
                self.rocketchat_token_id.is_some(),
                "rocketchat_token_id_file",
                !self.rocketchat_token_id_file.is_empty(),
            ),
            (
                "smtp_auth_secret",
                !self.smtp_auth_secret.is_empty(),
                "smtp_auth_secret_file",
                !self.smtp_auth_secret_file.is_empty(),
            ),
            (
                "wechat_api_secret",
                !self.wechat_api_secret.is_empty(),
                "wechat_api_secret_file",
                !self.wechat_api_secret_file.is_empty(),
            ),
            (
                "mattermost_webhook_url",
                self.mattermost_webhook_url.is_some(),
                "mattermost_webhook_url_file",
                !self.mattermost_webhook_url_file.is_empty(),
            ),
        ];
        for (inline, has_inline, file, has_file) in exclusive {
            if has_inline && has_file {
                return Err(ConfigError::at(
                    file,
                    format!("at most one of {inline} & {file} must be configured"),
                ));
            }
        }
        let has_app_token =
            !self.slack_app_token.is_empty() || !self.slack_app_token_file.is_empty();
        let has_api_url = self.slack_api_url.is_some() || !self.slack_api_url_file.is_empty();
        // Upstream tolerates both when slack_api_url is the app URL (a documented workaround).
        // A masked URL (a shown config read back) cannot be compared; accept it.
        let api_url_is_app_url = self
            .slack_api_url
            .as_ref()
            .is_some_and(|u| u.is_masked() || u.expose() == self.slack_app_url().as_str());
        if has_app_token && has_api_url && !api_url_is_app_url {
            return Err(ConfigError::at(
                "slack_app_token",
                "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured",
            ));
        }
        self.http_config
            .validate()
            .map_err(|e| e.under("http_config"))
    }

    /// The Slack app URL, or upstream's default.
    pub fn slack_app_url(&self) -> HttpUrl {
        self.slack_app_url
            .clone()
            .unwrap_or_else(|| HttpUrl::parse(default_urls::SLACK_APP).expect("valid default"))
    }

    /// The Rocket.Chat API URL, or upstream's default.
    pub fn rocketchat_api_url(&self) -> HttpUrl {
        self.rocketchat_api_url
            .clone()
            .unwrap_or_else(|| HttpUrl::parse(default_urls::ROCKETCHAT).expect("valid default"))
    }
}

/// A `host:port` network address, as `smtp_smarthost` takes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or IP (without brackets).
    pub host: String,
    /// Port, as written.
    pub port: String,
}

impl HostPort {
    /// Whether no address is set.
    pub fn is_empty(&self) -> bool {
        self.host.is_empty() && self.port.is_empty()
    }

    /// Parses `host:port` or `[v6]:port`; the empty string is the unset address.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Ok(HostPort::default());
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("address {s}: missing ']' in address"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| format!("address {s}: missing port in address"))?;
            (host, port)
        } else {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| format!("address {s}: missing port in address"))?;
            if host.contains(':') {
                return Err(format!("address {s}: too many colons in address"));
            }
            (host, port)
        };
        if port.is_empty() {
            return Err(format!("address {s}: port must not be empty"));
        }
        Ok(HostPort {
            host: host.to_string(),
            port: port.to_string(),
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            Ok(())
        } else if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Serialize for HostPort {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        HostPort::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_parses_and_shows() {
        let hp = HostPort::parse("smtp.example.org:587").unwrap();
        assert_eq!(
            (hp.host.as_str(), hp.port.as_str()),
            ("smtp.example.org", "587")
        );
        assert_eq!(HostPort::parse("[::1]:25").unwrap().to_string(), "[::1]:25");
        assert!(
            HostPort::parse("smtp.example.org")
                .unwrap_err()
                .contains("missing port")
        );
        assert!(HostPort::parse("").unwrap().is_empty());
    }
}
