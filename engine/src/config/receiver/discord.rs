//! `discord_configs`: messages to a Discord webhook.

use serde::{Deserialize, Serialize};

use super::inherit_http_config;
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::SecretUrl;

/// Discord's limit on an embed title, in characters: longer rendered titles are truncated when sent.
pub const MAX_TITLE_LEN_RUNES: usize = 256;
/// Discord's limit on an embed description (the rendered `message`), in characters.
pub const MAX_DESCRIPTION_LEN_RUNES: usize = 4096;
/// Discord's limit on a message's `content`, in characters.
pub const MAX_CONTENT_LEN_RUNES: usize = 2000;

/// One entry of `discord_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Whether to notify about resolved alerts (default true).
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Webhook URL (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding the webhook URL (newer than 0.25).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Message content template, sent above the embed (newer than 0.25; truncated to
    /// [`MAX_CONTENT_LEN_RUNES`] when sent).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content: String,
    /// Embed title template (truncated to [`MAX_TITLE_LEN_RUNES`] when sent).
    pub title: String,
    /// Embed description template (truncated to [`MAX_DESCRIPTION_LEN_RUNES`] when sent).
    pub message: String,
    /// Overrides the webhook's user name (newer than 0.25).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Overrides the webhook's avatar (newer than 0.25).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            send_resolved: true,
            http_config: None,
            webhook_url: None,
            webhook_url_file: String::new(),
            content: String::new(),
            title: r#"{{ template "discord.default.title" . }}"#.to_string(),
            message: r#"{{ template "discord.default.message" . }}"#.to_string(),
            username: String::new(),
            avatar_url: String::new(),
        }
    }
}

impl DiscordConfig {
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

    fn resolve(yaml: &str) -> Result<DiscordConfig, ConfigError> {
        let mut c = deserialize_yaml::<DiscordConfig>(yaml)?;
        c.resolve(&GlobalConfig::default())?;
        Ok(c)
    }

    #[test]
    fn defaults_are_filled() {
        let c = resolve("webhook_url: https://discord.com/api/webhooks/1/x\n").unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.title, r#"{{ template "discord.default.title" . }}"#);
        assert_eq!(c.message, r#"{{ template "discord.default.message" . }}"#);
        assert_eq!(
            (
                c.content.as_str(),
                c.username.as_str(),
                c.avatar_url.as_str()
            ),
            ("", "", "")
        );
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
        let c = resolve(
            "webhook_url_file: /f\ncontent: '<@123>'\nusername: am\navatar_url: https://a/b.png\n",
        )
        .unwrap();
        assert_eq!((c.content.as_str(), c.username.as_str()), ("<@123>", "am"));
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
            resolve("webhook_url: discord\n").unwrap_err().path,
            "webhook_url"
        );
    }

    #[test]
    fn round_trips() {
        for yaml in [
            "webhook_url: http://a/b\nsend_resolved: false\ntitle: ''\nmessage: m\n",
            "webhook_url_file: /f\ncontent: c\nusername: u\navatar_url: http://x/y.png\n",
        ] {
            let c = resolve(yaml).unwrap();
            let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
            assert_eq!(resolve(&shown).unwrap(), c, "{shown}");
        }
    }
}
