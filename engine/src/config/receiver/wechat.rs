//! `wechat_configs`: send messages through WeChat Work.

use serde::{Deserialize, Serialize};

use super::webhook::with_trailing_slash;
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

/// The message types upstream accepts (as its regular expression reads).
pub const MESSAGE_TYPES: &str = "^(text|markdown)$";

fn tmpl(name: &str) -> String {
    format!("{{{{ template \"wechat.default.{name}\" . }}}}")
}
fn default_message() -> String {
    tmpl("message")
}
fn default_to_user() -> String {
    tmpl("to_user")
}
fn default_to_party() -> String {
    tmpl("to_party")
}
fn default_to_tag() -> String {
    tmpl("to_tag")
}
fn default_agent_id() -> String {
    tmpl("agent_id")
}

/// One entry of `wechat_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatConfig {
    /// Whether to notify about resolved alerts (default false).
    #[serde(default)]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API secret; `global.wechat_api_secret` when not given.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub api_secret: Secret,
    /// File holding the API secret (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_secret_file: String,
    /// Corp ID; `global.wechat_api_corp_id` when not given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub corp_id: String,
    /// Message (template).
    #[serde(default = "default_message")]
    pub message: String,
    /// API base URL (ends with `/`); `global.wechat_api_url` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Users to notify.
    #[serde(default = "default_to_user")]
    pub to_user: String,
    /// Departments to notify.
    #[serde(default = "default_to_party")]
    pub to_party: String,
    /// Tags to notify.
    #[serde(default = "default_to_tag")]
    pub to_tag: String,
    /// Agent ID.
    #[serde(default = "default_agent_id")]
    pub agent_id: String,
    /// `text` (default) or `markdown`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_type: String,
}

impl WeChatConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        if self.message_type.is_empty() {
            self.message_type = "text".to_string();
        }
        if self.message_type != "text" && self.message_type != "markdown" {
            return Err(ConfigError::at(
                "message_type",
                format!(
                    "weChat message type {:?} does not match valid options {MESSAGE_TYPES}",
                    self.message_type
                ),
            ));
        }
        if !self.api_secret.is_empty() && !self.api_secret_file.is_empty() {
            return Err(ConfigError::at(
                "api_secret_file",
                "at most one of api_secret & api_secret_file must be configured",
            ));
        }

        if self.http_config.is_none() {
            self.http_config = Some(global.http_config.clone());
        }
        let Some(api_url) = self
            .api_url
            .take()
            .or_else(|| global.wechat_api_url.clone())
        else {
            return Err(ConfigError::at("api_url", "no global Wechat URL set"));
        };
        if self.api_secret.is_empty() && self.api_secret_file.is_empty() {
            if global.wechat_api_secret.is_empty() && global.wechat_api_secret_file.is_empty() {
                return Err(ConfigError::at(
                    "api_secret",
                    "no global Wechat Api Secret set either inline or in a file",
                ));
            }
            self.api_secret = global.wechat_api_secret.clone();
            self.api_secret_file = global.wechat_api_secret_file.clone();
        }
        if self.corp_id.is_empty() {
            self.corp_id = global.wechat_api_corp_id.clone();
        }
        if self.corp_id.is_empty() {
            return Err(ConfigError::at("corp_id", "no global Wechat CorpID set"));
        }
        self.api_url = Some(with_trailing_slash(api_url));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::global::default_urls;
    use crate::config::secret::with_secrets_revealed;

    fn global(yaml: &str) -> GlobalConfig {
        deserialize_yaml(yaml).unwrap()
    }

    fn resolve_with(yaml: &str, global: &GlobalConfig) -> Result<WeChatConfig, ConfigError> {
        let mut c: WeChatConfig = deserialize_yaml(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    fn err_with(yaml: &str, g: &str) -> String {
        resolve_with(yaml, &global(g))
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    const GLOBAL: &str = "wechat_api_secret: s\nwechat_api_corp_id: corp";

    #[test]
    fn defaults_and_global() {
        let c = resolve_with("{}", &global(GLOBAL)).unwrap();
        assert!(!c.send_resolved);
        assert_eq!((c.api_secret.expose(), c.corp_id.as_str()), ("s", "corp"));
        assert_eq!(
            c.api_url.as_ref().map(HttpUrl::as_str),
            Some(default_urls::WECHAT)
        );
        assert_eq!(c.message, r#"{{ template "wechat.default.message" . }}"#);
        assert_eq!(c.to_user, r#"{{ template "wechat.default.to_user" . }}"#);
        assert_eq!(c.to_party, r#"{{ template "wechat.default.to_party" . }}"#);
        assert_eq!(c.to_tag, r#"{{ template "wechat.default.to_tag" . }}"#);
        assert_eq!(c.agent_id, r#"{{ template "wechat.default.agent_id" . }}"#);
        assert_eq!(c.message_type, "text");
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));
        let c = resolve_with("api_secret_file: /f\ncorp_id: c2\napi_url: 'https://wc.example.com/cgi'\nmessage_type: markdown", &global(GLOBAL)).unwrap();
        assert!(c.api_secret.is_empty());
        assert_eq!(
            (c.api_secret_file.as_str(), c.corp_id.as_str()),
            ("/f", "c2")
        );
        assert_eq!(c.api_url.unwrap().as_str(), "https://wc.example.com/cgi/");
        let c = resolve_with("corp_id: c", &global("wechat_api_secret_file: /g")).unwrap();
        assert_eq!(c.api_secret_file, "/g");
    }

    #[test]
    fn errors() {
        assert_eq!(
            err_with("message_type: html", GLOBAL),
            "message_type: weChat message type \"html\" does not match valid options ^(text|markdown)$"
        );
        assert_eq!(
            err_with("api_secret: a\napi_secret_file: b", GLOBAL),
            "api_secret_file: at most one of api_secret & api_secret_file must be configured"
        );
        assert_eq!(
            err_with("corp_id: c", "{}"),
            "api_secret: no global Wechat Api Secret set either inline or in a file"
        );
        assert_eq!(
            err_with("api_secret: s", "{}"),
            "corp_id: no global Wechat CorpID set"
        );
    }

    #[test]
    fn round_trip() {
        let g = global(GLOBAL);
        let c = resolve_with(
            "to_user: u\nagent_id: '1'\nmessage_type: markdown\nsend_resolved: true",
            &g,
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(resolve_with(&shown, &g).unwrap(), c, "{shown}");
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(masked.contains("api_secret: <secret>"), "{masked}");
        assert!(resolve_with(&masked, &GlobalConfig::default()).is_ok());
    }
}
