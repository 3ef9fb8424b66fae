//! `pushover_configs`: push notifications through Pushover.

use serde::{Deserialize, Serialize};

use super::webhook::GoDuration;
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::Secret;

fn default_true() -> bool {
    true
}
fn default_title() -> String {
    r#"{{ template "pushover.default.title" . }}"#.to_string()
}
fn default_message() -> String {
    r#"{{ template "pushover.default.message" . }}"#.to_string()
}
fn default_url() -> String {
    r#"{{ template "pushover.default.url" . }}"#.to_string()
}
fn default_priority() -> String {
    r#"{{ if eq .Status "firing" }}2{{ else }}0{{ end }}"#.to_string()
}
fn default_retry() -> GoDuration {
    GoDuration::from_secs(60)
}
fn default_expire() -> GoDuration {
    GoDuration::from_secs(3600)
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of `pushover_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushoverConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Recipient user key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub user_key: Secret,
    /// File holding the user key (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_key_file: String,
    /// Application token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
    /// File holding the application token (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Title (template).
    #[serde(default = "default_title")]
    pub title: String,
    /// Message (template).
    #[serde(default = "default_message")]
    pub message: String,
    /// Supplementary URL (template).
    #[serde(default = "default_url")]
    pub url: String,
    /// Title of the supplementary URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url_title: String,
    /// Device to send to (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// Notification sound.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sound: String,
    /// Priority (template).
    #[serde(default = "default_priority")]
    pub priority: String,
    /// How often emergency notifications are retried.
    #[serde(
        default = "default_retry",
        deserialize_with = "GoDuration::deserialize_text"
    )]
    pub retry: GoDuration,
    /// How long emergency notifications are retried.
    #[serde(
        default = "default_expire",
        deserialize_with = "GoDuration::deserialize_text"
    )]
    pub expire: GoDuration,
    /// Message time to live (newer than 0.25).
    #[serde(
        default,
        deserialize_with = "GoDuration::deserialize_text_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl: Option<GoDuration>,
    /// Whether the message is HTML.
    #[serde(default, skip_serializing_if = "is_false")]
    pub html: bool,
    /// Whether the message is monospace (newer than 0.25).
    #[serde(default, skip_serializing_if = "is_false")]
    pub monospace: bool,
}

impl PushoverConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        if self.user_key.is_empty() && self.user_key_file.is_empty() {
            return Err(ConfigError::at(
                "user_key",
                "one of user_key or user_key_file must be configured",
            ));
        }
        if !self.user_key.is_empty() && !self.user_key_file.is_empty() {
            return Err(ConfigError::at(
                "user_key_file",
                "at most one of user_key & user_key_file must be configured",
            ));
        }
        if self.token.is_empty() && self.token_file.is_empty() {
            return Err(ConfigError::at(
                "token",
                "one of token or token_file must be configured",
            ));
        }
        if !self.token.is_empty() && !self.token_file.is_empty() {
            return Err(ConfigError::at(
                "token_file",
                "at most one of token & token_file must be configured",
            ));
        }
        if self.html && self.monospace {
            return Err(ConfigError::at(
                "monospace",
                "at most one of monospace & html must be configured",
            ));
        }
        if self.http_config.is_none() {
            self.http_config = Some(global.http_config.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn resolve(yaml: &str) -> Result<PushoverConfig, ConfigError> {
        let mut c: PushoverConfig = deserialize_yaml(yaml)?;
        c.resolve(&GlobalConfig::default())?;
        Ok(c)
    }

    fn err(yaml: &str) -> String {
        resolve(yaml)
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    #[test]
    fn defaults() {
        let c = resolve("user_key: u\ntoken: t").unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.title, r#"{{ template "pushover.default.title" . }}"#);
        assert_eq!(c.message, r#"{{ template "pushover.default.message" . }}"#);
        assert_eq!(c.url, r#"{{ template "pushover.default.url" . }}"#);
        assert_eq!(
            c.priority,
            r#"{{ if eq .Status "firing" }}2{{ else }}0{{ end }}"#
        );
        assert_eq!(
            (c.retry.to_string(), c.expire.to_string()),
            ("1m0s".to_string(), "1h0m0s".to_string())
        );
        assert!(!c.html && !c.monospace && c.ttl.is_none());
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert!(
            shown.contains("retry: 1m0s") && shown.contains("expire: 1h0m0s"),
            "{shown}"
        );
        assert!(
            !shown.contains("ttl") && !shown.contains("monospace"),
            "{shown}"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("token: t"),
            "user_key: one of user_key or user_key_file must be configured"
        );
        assert_eq!(
            err("user_key: u"),
            "token: one of token or token_file must be configured"
        );
        assert_eq!(
            err("user_key: u\nuser_key_file: f\ntoken: t"),
            "user_key_file: at most one of user_key & user_key_file must be configured"
        );
        assert_eq!(
            err("user_key: u\ntoken: t\ntoken_file: f"),
            "token_file: at most one of token & token_file must be configured"
        );
        assert_eq!(
            err("user_key: u\ntoken: t\nhtml: true\nmonospace: true"),
            "monospace: at most one of monospace & html must be configured"
        );
        assert_eq!(
            err("user_key: u\ntoken: t\nretry: 1"),
            "retry: time: missing unit in duration \"1\""
        );
        assert_eq!(
            err("user_key: u\ntoken: t\nttl: 5"),
            "ttl: time: missing unit in duration \"5\""
        );
        assert_eq!(
            resolve("user_key: u\ntoken: t\nexpire: 0").unwrap().expire,
            GoDuration(0)
        );
    }

    #[test]
    fn round_trip() {
        let c = resolve("user_key_file: /u\ntoken: t\nretry: 30s\nexpire: 2h\nttl: 1h\ndevice: d\nsound: s\nurl_title: ut\nhtml: true").unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(resolve(&shown).unwrap(), c, "{shown}");
        let c = resolve("user_key: u\ntoken: t\nretry: 0s").unwrap();
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(
            masked.contains("token: <secret>") && masked.contains("retry: 0s"),
            "{masked}"
        );
        let back = resolve(&masked).unwrap();
        assert_eq!(back.retry, GoDuration(0));
    }
}
