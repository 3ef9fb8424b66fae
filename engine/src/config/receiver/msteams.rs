//! `msteams_configs`: messages to a Microsoft Teams incoming webhook (legacy connector cards).

use serde::{Deserialize, Serialize};

use super::inherit_http_config;
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::SecretUrl;

/// One entry of `msteams_configs` (newer than 0.25).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MsTeamsConfig {
    /// Whether to notify about resolved alerts (default true).
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Incoming webhook URL (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding the webhook URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Card title template.
    pub title: String,
    /// Card summary template.
    pub summary: String,
    /// Card text template.
    pub text: String,
}

impl Default for MsTeamsConfig {
    fn default() -> Self {
        MsTeamsConfig {
            send_resolved: true,
            http_config: None,
            webhook_url: None,
            webhook_url_file: String::new(),
            title: r#"{{ template "msteams.default.title" . }}"#.to_string(),
            summary: r#"{{ template "msteams.default.summary" . }}"#.to_string(),
            text: r#"{{ template "msteams.default.text" . }}"#.to_string(),
        }
    }
}

impl MsTeamsConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        super::check_webhook_url(self.webhook_url.is_some(), &self.webhook_url_file)?;
        inherit_http_config(&mut self.http_config, global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn resolve(yaml: &str) -> Result<MsTeamsConfig, ConfigError> {
        let mut c = deserialize_yaml::<MsTeamsConfig>(yaml)?;
        c.resolve(&GlobalConfig::default())?;
        Ok(c)
    }

    #[test]
    fn defaults_are_filled() {
        let c = resolve("webhook_url: https://example.webhook.office.com/x\n").unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.title, r#"{{ template "msteams.default.title" . }}"#);
        assert_eq!(c.summary, r#"{{ template "msteams.default.summary" . }}"#);
        assert_eq!(c.text, r#"{{ template "msteams.default.text" . }}"#);
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
        assert_eq!(
            c.webhook_url.unwrap().expose(),
            "https://example.webhook.office.com/x"
        );
        assert!(resolve("webhook_url_file: /secret/url\n").is_ok());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            resolve("title: x\n").unwrap_err().path_and_message(),
            "webhook_url: one of webhook_url or webhook_url_file must be configured"
        );
        assert_eq!(
            resolve("webhook_url: http://a\nwebhook_url_file: /f\n")
                .unwrap_err()
                .path_and_message(),
            "webhook_url_file: at most one of webhook_url & webhook_url_file must be configured"
        );
        assert_eq!(
            resolve("webhook_url: ftp://a\n").unwrap_err().path,
            "webhook_url"
        );
        assert!(
            resolve("webhook_url: http://a\nurl: x\n")
                .unwrap_err()
                .message
                .contains("not found")
        );
    }

    #[test]
    fn round_trips() {
        let c = resolve(
            "webhook_url: http://a/b\nsend_resolved: false\ntitle: ''\nsummary: s\ntext: t\n",
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(resolve(&shown).unwrap(), c, "{shown}");
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(resolve(&masked).unwrap().webhook_url.unwrap().is_masked());
    }
}
