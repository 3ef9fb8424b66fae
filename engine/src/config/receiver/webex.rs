//! `webex_configs`: messages to a Webex room.

use serde::{Deserialize, Serialize};

use super::{http_has_authorization, inherit_http_config};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::HttpUrl;

/// One entry of `webex_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebexConfig {
    /// Whether to notify about resolved alerts (default true).
    pub send_resolved: bool,
    /// HTTP client settings; must carry `authorization` (the bot's token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Messages API URL; `global.webex_api_url` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Message template.
    pub message: String,
    /// Room to post to (required).
    pub room_id: String,
}

impl Default for WebexConfig {
    fn default() -> Self {
        WebexConfig {
            send_resolved: true,
            http_config: None,
            api_url: None,
            message: r#"{{ template "webex.default.message" . }}"#.to_string(),
            room_id: String::new(),
        }
    }
}

impl WebexConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if self.room_id.is_empty() {
            return Err(ConfigError::at(
                "room_id",
                "missing room_id on webex_config",
            ));
        }
        if !self
            .http_config
            .as_ref()
            .is_some_and(http_has_authorization)
        {
            return Err(ConfigError::at(
                "http_config.authorization",
                "missing webex_configs.http_config.authorization",
            ));
        }
        inherit_http_config(&mut self.http_config, global)?;
        if self.api_url.is_none() {
            self.api_url = global.webex_api_url.clone();
        }
        if self.api_url.is_none() {
            return Err(ConfigError::at("api_url", "no global Webex URL set"));
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

    const AUTH: &str = "http_config:\n  authorization:\n    credentials: bot-token\n";

    /// Whether `HttpClientConfig` already models `authorization` (it is completed elsewhere).
    fn http_config_has_authorization() -> bool {
        deserialize_yaml::<HttpClientConfig>("authorization:\n  credentials: x\n").is_ok()
    }

    fn resolve(yaml: &str, global: &GlobalConfig) -> Result<WebexConfig, ConfigError> {
        let mut c = deserialize_yaml::<WebexConfig>(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    #[test]
    fn room_id_and_authorization_are_required() {
        let e = resolve("message: hi\n", &GlobalConfig::default()).unwrap_err();
        assert_eq!(
            e.path_and_message(),
            "room_id: missing room_id on webex_config"
        );
        let e = resolve("room_id: r1\n", &GlobalConfig::default()).unwrap_err();
        assert_eq!(
            e.path_and_message(),
            "http_config.authorization: missing webex_configs.http_config.authorization"
        );
        let e = resolve("room_id: r1\nhttp_config: {}\n", &GlobalConfig::default()).unwrap_err();
        assert_eq!(
            e.path_and_message(),
            "http_config.authorization: missing webex_configs.http_config.authorization"
        );
        assert!(
            resolve("room_id: r1\napi_url: nope\n", &GlobalConfig::default())
                .unwrap_err()
                .path
                .starts_with("api_url")
        );
    }

    #[test]
    fn defaults_and_global_url() {
        if !http_config_has_authorization() {
            return;
        }
        let c = resolve(&format!("room_id: r1\n{AUTH}"), &GlobalConfig::default()).unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.message, r#"{{ template "webex.default.message" . }}"#);
        assert_eq!(
            c.api_url.as_ref().map(HttpUrl::as_str),
            Some(default_urls::WEBEX)
        );

        let mut global = GlobalConfig::default();
        global.webex_api_url =
            Some(HttpUrl::parse("https://webex.example.com/v1/messages").unwrap());
        let c = resolve(&format!("room_id: r1\n{AUTH}"), &global).unwrap();
        assert_eq!(
            c.api_url.unwrap().as_str(),
            "https://webex.example.com/v1/messages"
        );
        let c = resolve(
            &format!("room_id: r1\napi_url: http://own\n{AUTH}"),
            &global,
        )
        .unwrap();
        assert_eq!(c.api_url.unwrap().as_str(), "http://own");

        global.webex_api_url = None;
        let e = resolve(&format!("room_id: r1\n{AUTH}"), &global).unwrap_err();
        assert_eq!(e.path_and_message(), "api_url: no global Webex URL set");
    }

    #[test]
    fn round_trips() {
        if !http_config_has_authorization() {
            return;
        }
        let c = resolve(
            &format!("room_id: r1\nmessage: ''\nsend_resolved: false\n{AUTH}"),
            &GlobalConfig::default(),
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        let mut back = deserialize_yaml::<WebexConfig>(&shown).unwrap();
        back.resolve(&GlobalConfig::default()).unwrap();
        assert_eq!(back, c, "{shown}");
    }
}
