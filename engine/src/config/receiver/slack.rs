//! `slack_configs`: post to Slack through an incoming webhook or with an app (bot) token.

use serde::{Deserialize, Serialize};

use super::webhook::GoDuration;
use crate::config::error::ConfigError;
use crate::config::global::{GlobalConfig, default_urls};
use crate::config::http_config::{Authorization, HttpClientConfig};
use crate::config::secret::{HttpUrl, Secret, SecretUrl};

fn tmpl(name: &str) -> String {
    format!("{{{{ template \"slack.default.{name}\" . }}}}")
}
fn default_color() -> String {
    tmpl("color")
}
fn default_username() -> String {
    tmpl("username")
}
fn default_title() -> String {
    tmpl("title")
}
fn default_title_link() -> String {
    tmpl("titlelink")
}
fn default_icon_emoji() -> String {
    tmpl("iconemoji")
}
fn default_icon_url() -> String {
    tmpl("iconurl")
}
fn default_pretext() -> String {
    tmpl("pretext")
}
fn default_text() -> String {
    tmpl("text")
}
fn default_fallback() -> String {
    tmpl("fallback")
}
fn default_callback_id() -> String {
    tmpl("callbackid")
}
fn default_footer() -> String {
    tmpl("footer")
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of `slack_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Whether to notify about resolved alerts (default false).
    #[serde(default)]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Incoming-webhook URL; `global.slack_api_url` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<SecretUrl>,
    /// File holding the webhook URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_url_file: String,
    /// Slack app (bot) token (newer than 0.25).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub app_token: Secret,
    /// File holding the app token (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_token_file: String,
    /// API URL used with app tokens (newer than 0.25; see [`SlackConfig::app_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<HttpUrl>,
    /// Channel or user to post to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Bot user name.
    #[serde(default = "default_username")]
    pub username: String,
    /// Attachment color.
    #[serde(default = "default_color")]
    pub color: String,
    /// Attachment title.
    #[serde(default = "default_title")]
    pub title: String,
    /// Link of the title.
    #[serde(default = "default_title_link")]
    pub title_link: String,
    /// Text above the attachment.
    #[serde(default = "default_pretext")]
    pub pretext: String,
    /// Attachment text.
    #[serde(default = "default_text")]
    pub text: String,
    /// Top-level message text (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_text: String,
    /// Attachment fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<SlackField>,
    /// Default for fields' `short`.
    #[serde(default)]
    pub short_fields: bool,
    /// Attachment footer.
    #[serde(default = "default_footer")]
    pub footer: String,
    /// Plain-text summary.
    #[serde(default = "default_fallback")]
    pub fallback: String,
    /// Callback ID of the attachment.
    #[serde(default = "default_callback_id")]
    pub callback_id: String,
    /// Bot icon emoji.
    #[serde(default = "default_icon_emoji")]
    pub icon_emoji: String,
    /// Bot icon URL.
    #[serde(default = "default_icon_url")]
    pub icon_url: String,
    /// Image URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Thumbnail URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    /// Whether to link channel and user names.
    #[serde(default)]
    pub link_names: bool,
    /// Fields formatted as mrkdwn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mrkdwn_in: Vec<String>,
    /// Attachment actions (buttons).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<SlackAction>,
    /// Update the previous message of the group instead of posting anew (newer than 0.25).
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_message: bool,
    /// Request timeout, 0 for none (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
}

/// An attachment field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    /// Title (required).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Value (required).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Whether it is short; `short_fields` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
}

/// An attachment action: a link button (`url`) or a message button (`name`/`value`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackAction {
    /// Action type, such as `button` (required).
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Label (required).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Link of a link button.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Style, such as `primary` or `danger`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub style: String,
    /// Name of a message button.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Value of a message button.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Confirmation dialog of a message button.
    #[serde(default, rename = "confirm", skip_serializing_if = "Option::is_none")]
    pub confirm: Option<SlackConfirmationField>,
}

/// A confirmation dialog shown before an action runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfirmationField {
    /// Text (required).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Label of the confirm button.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ok_text: String,
    /// Label of the dismiss button.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dismiss_text: String,
}

impl SlackAction {
    /// Upstream's checks; keeps only the fields of the kind of button it is.
    fn check(&mut self) -> Result<(), ConfigError> {
        if self.kind.is_empty() {
            return Err(ConfigError::at(
                "type",
                "missing type in Slack action configuration",
            ));
        }
        if self.text.is_empty() {
            return Err(ConfigError::at(
                "text",
                "missing text in Slack action configuration",
            ));
        }
        if let Some(confirm) = &self.confirm
            && confirm.text.is_empty()
        {
            return Err(ConfigError::at(
                "confirm.text",
                "missing text in Slack confirmation configuration",
            ));
        }
        if !self.url.is_empty() {
            self.name.clear();
            self.value.clear();
            self.confirm = None;
        } else if self.name.is_empty() {
            return Err(ConfigError::at(
                "",
                "missing name or url in Slack action configuration",
            ));
        }
        Ok(())
    }
}

impl SlackConfig {
    /// The API URL used with app tokens.
    pub fn app_url(&self) -> HttpUrl {
        self.app_url
            .clone()
            .unwrap_or_else(|| HttpUrl::parse(default_urls::SLACK_APP).expect("valid default"))
    }

    /// Whether an app token (inline or file) is used.
    pub fn uses_app_token(&self) -> bool {
        !self.app_token.is_empty() || !self.app_token_file.is_empty()
    }

    /// The request timeout; zero means none.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout.map(GoDuration::std).unwrap_or_default()
    }

    /// The HTTP client settings to use: with an app token, its `Authorization: Bearer` is
    /// added (upstream writes it into `http_config` at load time; this model keeps the
    /// config as written so it round-trips).
    pub fn effective_http_config(&self) -> HttpClientConfig {
        let mut http = self.http_config.clone().unwrap_or_default();
        if self.uses_app_token() {
            http.authorization = Some(Authorization {
                kind: "Bearer".to_string(),
                credentials: self.app_token.clone(),
                credentials_file: self.app_token_file.clone(),
                credentials_ref: String::new(),
            });
        }
        http
    }

    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        for (i, field) in self.fields.iter().enumerate() {
            if field.title.is_empty() {
                return Err(ConfigError::at(
                    format!("fields[{i}].title"),
                    "missing title in Slack field configuration",
                ));
            }
            if field.value.is_empty() {
                return Err(ConfigError::at(
                    format!("fields[{i}].value"),
                    "missing value in Slack field configuration",
                ));
            }
        }
        for (i, action) in self.actions.iter_mut().enumerate() {
            action
                .check()
                .map_err(|e| e.under(&format!("actions[{i}]")))?;
        }
        if self.api_url.is_some() && !self.api_url_file.is_empty() {
            return Err(ConfigError::at(
                "api_url_file",
                "at most one of api_url & api_url_file must be configured",
            ));
        }
        if !self.app_token.is_empty() && !self.app_token_file.is_empty() {
            return Err(ConfigError::at(
                "app_token_file",
                "at most one of app_token & app_token_file must be configured",
            ));
        }
        if (self.api_url.is_some() || !self.api_url_file.is_empty()) && self.uses_app_token() {
            return Err(ConfigError::at(
                "app_token",
                "at most one of api_url/api_url_file & app_token/app_token_file must be configured",
            ));
        }
        if self.update_message
            && !self
                .api_url
                .as_ref()
                .is_some_and(|u| u.is_masked() || u.expose() == default_urls::SLACK_APP)
        {
            return Err(ConfigError::at(
                "update_message",
                format!(
                    "update_message can only be used with bot tokens. api_url must be set to {}",
                    default_urls::SLACK_APP
                ),
            ));
        }

        if self.app_url.is_none() {
            self.app_url = global.slack_app_url.clone();
        }
        let local_authorization = self
            .http_config
            .as_ref()
            .is_some_and(|h| h.authorization.is_some());
        if !self.uses_app_token() && !local_authorization && self.api_url.is_none() {
            self.app_token = global.slack_app_token.clone();
            self.app_token_file = global.slack_app_token_file.clone();
        }
        // With an app token the app URL is used, so the global webhook URL is not taken:
        // upstream takes it and then overrides it, which would not read back.
        if self.api_url.is_none() && self.api_url_file.is_empty() && !self.uses_app_token() {
            self.api_url = global.slack_api_url.clone();
            self.api_url_file = global.slack_api_url_file.clone();
        }
        if self.api_url.is_none() && self.api_url_file.is_empty() && !self.uses_app_token() {
            return Err(ConfigError::at(
                "api_url",
                "no Slack API URL nor App token set either inline or in a file",
            ));
        }
        let uses_app_token = self.uses_app_token();
        let http = self
            .http_config
            .get_or_insert_with(|| global.http_config.clone());
        if uses_app_token && http.authorization.is_some() {
            return Err(ConfigError::at(
                "http_config.authorization",
                "http authorization can't be set when using Slack App tokens",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    const HOOK: &str = "api_url: 'https://hooks.slack.com/services/T0/B0/x'";

    fn global(yaml: &str) -> GlobalConfig {
        deserialize_yaml(yaml).unwrap()
    }

    fn resolve_with(yaml: &str, global: &GlobalConfig) -> Result<SlackConfig, ConfigError> {
        let mut c: SlackConfig = deserialize_yaml(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    fn err_with(yaml: &str, g: &str) -> String {
        resolve_with(yaml, &global(g))
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    fn err(yaml: &str) -> String {
        err_with(yaml, "{}")
    }

    #[test]
    fn defaults() {
        let c = resolve_with(HOOK, &GlobalConfig::default()).unwrap();
        assert!(!c.send_resolved);
        assert_eq!(c.title, r#"{{ template "slack.default.title" . }}"#);
        assert_eq!(c.color, r#"{{ template "slack.default.color" . }}"#);
        assert_eq!(
            c.title_link,
            r#"{{ template "slack.default.titlelink" . }}"#
        );
        assert_eq!(
            c.callback_id,
            r#"{{ template "slack.default.callbackid" . }}"#
        );
        assert_eq!(c.footer, r#"{{ template "slack.default.footer" . }}"#);
        assert_eq!(c.channel, "");
        assert!(!c.short_fields && !c.link_names && !c.update_message);
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));
        assert_eq!(c.app_url, None);
        assert_eq!(c.app_url().as_str(), default_urls::SLACK_APP);
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert!(
            shown.contains("api_url: <secret>")
                && shown.contains("short_fields: false")
                && shown.contains("link_names: false")
        );
        assert!(
            !shown.contains("app_url")
                && !shown.contains("update_message")
                && !shown.contains("timeout"),
            "{shown}"
        );
    }

    #[test]
    fn api_url_and_app_token_from_global() {
        let c = resolve_with(
            "channel: x",
            &global("slack_api_url: 'https://hooks.example.com/x'"),
        )
        .unwrap();
        assert_eq!(c.api_url.unwrap().expose(), "https://hooks.example.com/x");
        let c = resolve_with("channel: x", &global("slack_api_url_file: /f")).unwrap();
        assert_eq!(c.api_url_file, "/f");
        let c = resolve_with("channel: x", &global("slack_app_token: xoxb-1")).unwrap();
        assert_eq!(c.app_token.expose(), "xoxb-1");
        assert_eq!(c.api_url, None);
        let auth = c.effective_http_config().authorization.unwrap();
        assert_eq!(
            (auth.kind.as_str(), auth.credentials.expose()),
            ("Bearer", "xoxb-1")
        );
        // A local authorization keeps the global app token away.
        let c = resolve_with(
            "http_config: {authorization: {credentials: t}}",
            &global(
                "slack_app_token: xoxb-1\nslack_api_url: 'https://slack.com/api/chat.postMessage'",
            ),
        )
        .unwrap();
        assert!(c.app_token.is_empty());
        assert_eq!(c.api_url.unwrap().expose(), default_urls::SLACK_APP);
        // The local webhook URL wins over the global app token.
        let c = resolve_with(HOOK, &global("slack_app_token: xoxb-1")).unwrap();
        assert!(c.app_token.is_empty());
        let c = resolve_with(
            "app_token: a",
            &global("slack_app_url: 'https://slack.example.com/api'"),
        )
        .unwrap();
        assert_eq!(c.app_url().as_str(), "https://slack.example.com/api");
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("channel: x"),
            "api_url: no Slack API URL nor App token set either inline or in a file"
        );
        assert_eq!(
            err(&format!("{HOOK}\napi_url_file: /f")),
            "api_url_file: at most one of api_url & api_url_file must be configured"
        );
        assert_eq!(
            err("app_token: a\napp_token_file: /f"),
            "app_token_file: at most one of app_token & app_token_file must be configured"
        );
        assert_eq!(
            err(&format!("{HOOK}\napp_token: a")),
            "app_token: at most one of api_url/api_url_file & app_token/app_token_file must be configured"
        );
        assert_eq!(
            err("app_token: a\nhttp_config: {authorization: {credentials: b}}"),
            "http_config.authorization: http authorization can't be set when using Slack App tokens"
        );
        assert_eq!(
            err_with(
                "app_token: a",
                "http_config: {authorization: {credentials: b}}"
            ),
            "http_config.authorization: http authorization can't be set when using Slack App tokens"
        );
        assert_eq!(
            err(&format!("{HOOK}\nupdate_message: true")),
            "update_message: update_message can only be used with bot tokens. api_url must be set to https://slack.com/api/chat.postMessage"
        );
        assert!(
            resolve_with(
                "api_url: 'https://slack.com/api/chat.postMessage'\nupdate_message: true",
                &GlobalConfig::default()
            )
            .is_ok()
        );
        assert_eq!(
            err(&format!("{HOOK}\nfields: [{{value: v}}]")),
            "fields[0].title: missing title in Slack field configuration"
        );
        assert_eq!(
            err(&format!("{HOOK}\nfields: [{{title: t}}]")),
            "fields[0].value: missing value in Slack field configuration"
        );
        assert_eq!(
            err(&format!("{HOOK}\nactions: [{{text: t}}]")),
            "actions[0].type: missing type in Slack action configuration"
        );
        assert_eq!(
            err(&format!("{HOOK}\nactions: [{{type: button}}]")),
            "actions[0].text: missing text in Slack action configuration"
        );
        assert_eq!(
            err(&format!("{HOOK}\nactions: [{{type: button, text: t}}]")),
            "actions[0]: missing name or url in Slack action configuration"
        );
        assert_eq!(
            err(&format!(
                "{HOOK}\nactions: [{{type: button, text: t, name: n, confirm: {{title: x}}}}]"
            )),
            "actions[0].confirm.text: missing text in Slack confirmation configuration"
        );
        assert!(err("api_url: 'ftp://x'").starts_with("api_url: unsupported scheme"));
        assert!(err(&format!("{HOOK}\ntimeout: x")).starts_with("timeout: time: invalid duration"));
    }

    #[test]
    fn link_buttons_drop_message_button_fields() {
        let c = resolve_with(&format!("{HOOK}\nactions: [{{type: button, text: t, url: 'http://x', name: n, value: v, confirm: {{text: c}}}}]"), &GlobalConfig::default()).unwrap();
        let a = &c.actions[0];
        assert_eq!(
            (
                a.url.as_str(),
                a.name.as_str(),
                a.value.as_str(),
                a.confirm.is_none()
            ),
            ("http://x", "", "", true)
        );
    }

    #[test]
    fn round_trip() {
        let g = global("slack_app_token: xoxb-1");
        for yaml in [
            format!("{HOOK}\nchannel: '#c'\nfields: [{{title: t, value: v, short: true}}]\nshort_fields: true\nlink_names: true\nmrkdwn_in: [text]\nactions: [{{type: button, text: t, name: n, value: v, confirm: {{text: c, ok_text: ok}}}}]\ntitle: ''"),
            "channel: x\ntimeout: 10s\nmessage_text: m".to_string(),
            "api_url: 'https://slack.com/api/chat.postMessage'\nupdate_message: true\nhttp_config: {authorization: {credentials: x}}".to_string(),
        ] {
            let c = resolve_with(&yaml, &g).unwrap();
            let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
            assert_eq!(resolve_with(&shown, &g).unwrap(), c, "{shown}");
            let masked = serde_saphyr::to_string(&c).unwrap();
            assert!(resolve_with(&masked, &g).is_ok(), "{masked}");
        }
    }
}
