//! `telegram_configs`: messages through a Telegram bot.

use serde::{Deserialize, Serialize};

use super::{at_most_one, inherit_http_config, is_false, is_zero_i64};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

/// The `parse_mode` values Telegram accepts (the empty string sends plain text).
pub const PARSE_MODES: [&str; 4] = ["", "Markdown", "MarkdownV2", "HTML"];

/// One entry of `telegram_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Whether to notify about resolved alerts (default true).
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Bot API URL; `global.telegram_api_url` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Bot token; `global.telegram_bot_token` when neither it nor `bot_token_file` is set.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub bot_token: Secret,
    /// File holding the bot token (newer than 0.25).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bot_token_file: String,
    /// Chat to send to (0 = unset).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub chat_id: i64,
    /// File holding the chat ID (newer than 0.25).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub chat_id_file: String,
    /// Topic (thread) of a forum chat (newer than 0.25; 0 = none).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub message_thread_id: i64,
    /// Message template.
    pub message: String,
    /// Whether to send silently.
    #[serde(skip_serializing_if = "is_false")]
    pub disable_notifications: bool,
    /// `Markdown`, `MarkdownV2`, `HTML` (default) or empty for plain text.
    pub parse_mode: String,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            send_resolved: true,
            http_config: None,
            api_url: None,
            bot_token: Secret::default(),
            bot_token_file: String::new(),
            chat_id: 0,
            chat_id_file: String::new(),
            message_thread_id: 0,
            message: r#"{{ template "telegram.default.message" . }}"#.to_string(),
            disable_notifications: false,
            parse_mode: "HTML".to_string(),
        }
    }
}

impl TelegramConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        at_most_one(
            "bot_token",
            !self.bot_token.is_empty(),
            "bot_token_file",
            !self.bot_token_file.is_empty(),
        )?;
        if self.chat_id == 0 && self.chat_id_file.is_empty() {
            return Err(ConfigError::at(
                "chat_id",
                "missing chat_id or chat_id_file on telegram_config",
            ));
        }
        at_most_one(
            "chat_id",
            self.chat_id != 0,
            "chat_id_file",
            !self.chat_id_file.is_empty(),
        )?;
        if !PARSE_MODES.contains(&self.parse_mode.as_str()) {
            return Err(ConfigError::at(
                "parse_mode",
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string",
            ));
        }

        inherit_http_config(&mut self.http_config, global)?;
        if self.api_url.is_none() {
            self.api_url = global.telegram_api_url.clone();
        }
        if self.bot_token.is_empty() && self.bot_token_file.is_empty() {
            if global.telegram_bot_token.is_empty() && global.telegram_bot_token_file.is_empty() {
                return Err(ConfigError::at(
                    "bot_token",
                    "missing bot_token or bot_token_file on telegram_config",
                ));
            }
            self.bot_token = global.telegram_bot_token.clone();
            self.bot_token_file = global.telegram_bot_token_file.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::global::default_urls;
    use crate::config::secret::with_secrets_revealed;

    fn resolve(yaml: &str, global: &GlobalConfig) -> Result<TelegramConfig, ConfigError> {
        let mut c = deserialize_yaml::<TelegramConfig>(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    fn err(yaml: &str) -> String {
        resolve(yaml, &GlobalConfig::default())
            .unwrap_err()
            .path_and_message()
    }

    #[test]
    fn defaults_are_filled() {
        let c = resolve(
            "bot_token: abc\nchat_id: -1001234\n",
            &GlobalConfig::default(),
        )
        .unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.message, r#"{{ template "telegram.default.message" . }}"#);
        assert_eq!(c.parse_mode, "HTML");
        assert_eq!(c.chat_id, -1001234);
        assert_eq!(
            c.api_url.as_ref().map(HttpUrl::as_str),
            Some(default_urls::TELEGRAM)
        );
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
        assert_eq!(c.bot_token.expose(), "abc");
        assert!(!c.disable_notifications);
    }

    #[test]
    fn bot_token_and_api_url_come_from_global() {
        let mut global = GlobalConfig::default();
        global.telegram_bot_token = Secret::new("global-token");
        global.telegram_api_url = Some(HttpUrl::parse("https://tg.example.com").unwrap());
        let c = resolve("chat_id: 1\n", &global).unwrap();
        assert_eq!(c.bot_token.expose(), "global-token");
        assert_eq!(c.api_url.unwrap().as_str(), "https://tg.example.com");

        let mut global = GlobalConfig::default();
        global.telegram_bot_token_file = "/etc/tg".into();
        let c = resolve("chat_id: 1\n", &global).unwrap();
        assert_eq!(
            (c.bot_token.expose(), c.bot_token_file.as_str()),
            ("", "/etc/tg")
        );

        // The entry's own file wins over a global token.
        let mut global = GlobalConfig::default();
        global.telegram_bot_token = Secret::new("global-token");
        let c = resolve(
            "chat_id: 1\nbot_token_file: /own\napi_url: http://own\n",
            &global,
        )
        .unwrap();
        assert_eq!(
            (c.bot_token.expose(), c.bot_token_file.as_str()),
            ("", "/own")
        );
        assert_eq!(c.api_url.unwrap().as_str(), "http://own");
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            err("chat_id: 1\n"),
            "bot_token: missing bot_token or bot_token_file on telegram_config"
        );
        assert_eq!(
            err("chat_id: 1\nbot_token: a\nbot_token_file: b\n"),
            "bot_token_file: at most one of bot_token & bot_token_file must be configured"
        );
        assert_eq!(
            err("bot_token: a\n"),
            "chat_id: missing chat_id or chat_id_file on telegram_config"
        );
        assert_eq!(
            err("bot_token: a\nchat_id: 5\nchat_id_file: /f\n"),
            "chat_id_file: at most one of chat_id & chat_id_file must be configured"
        );
        assert_eq!(
            err("bot_token: a\nchat_id: 5\nparse_mode: markdown\n"),
            "parse_mode: unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string"
        );
        assert!(err("bot_token: a\nchat_id: five\n").starts_with("chat_id: "));
        assert!(err("bot_token: a\nchat_id: 5\napi_url: ftp://x\n").starts_with("api_url: "));
        assert!(err("bot_token: a\nchat_id: 5\nchat: 5\n").contains("not found"));
    }

    #[test]
    fn other_parse_modes_and_files_are_accepted() {
        for mode in ["Markdown", "MarkdownV2", "HTML", "''"] {
            let c = resolve(
                &format!("bot_token: a\nchat_id: 5\nparse_mode: {mode}\n"),
                &GlobalConfig::default(),
            )
            .unwrap();
            assert_eq!(c.parse_mode, mode.trim_matches('\''));
        }
        let c = resolve(
            "bot_token_file: /t\nchat_id_file: /c\nmessage_thread_id: 7\n",
            &GlobalConfig::default(),
        )
        .unwrap();
        assert_eq!((c.chat_id_file.as_str(), c.message_thread_id), ("/c", 7));
    }

    #[test]
    fn round_trips() {
        for yaml in [
            "bot_token: abc\nchat_id: -100\nmessage: hi\nparse_mode: ''\ndisable_notifications: true\nsend_resolved: false\n",
            "bot_token_file: /t\nchat_id_file: /c\nmessage_thread_id: 3\nmessage: ''\n",
        ] {
            let c = resolve(yaml, &GlobalConfig::default()).unwrap();
            let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
            let mut back = deserialize_yaml::<TelegramConfig>(&shown).unwrap();
            back.resolve(&GlobalConfig::default()).unwrap();
            assert_eq!(back, c, "{shown}");
        }
        // Masked, the token reads back as `<secret>` and still counts as set.
        let c = resolve("bot_token: abc\nchat_id: 1\n", &GlobalConfig::default()).unwrap();
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert!(shown.contains("bot_token: <secret>"), "{shown}");
        let mut back = deserialize_yaml::<TelegramConfig>(&shown).unwrap();
        back.resolve(&GlobalConfig::default()).unwrap();
        assert_eq!(back.bot_token.expose(), "<secret>");
    }
}
