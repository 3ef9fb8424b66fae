//! `rocketchat_configs`: messages through Rocket.Chat's REST API.

use serde::{Deserialize, Serialize};

use super::{at_most_one, inherit_http_config, is_false};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

/// A field of the message attachment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RocketChatField {
    /// Whether the field is shown side by side with others; `short_fields` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
    /// Title template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Value template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// A button of the message attachment. Upstream declares no YAML names for these keys, so
/// they are the Go field names in lower case (`imageurl`, `iswebview`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RocketChatAction {
    /// Action type (only `button` is supported by Rocket.Chat).
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub action_type: String,
    /// Button text template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// URL opened by the button (template).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Image shown on the button.
    #[serde(rename = "imageurl", skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Whether the URL opens in a web view.
    #[serde(rename = "iswebview", skip_serializing_if = "is_false")]
    pub is_webview: bool,
    /// Web view height ratio.
    #[serde(
        rename = "webviewheightratio",
        skip_serializing_if = "String::is_empty"
    )]
    pub webview_height_ratio: String,
    /// Message sent by the button (template).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// Whether the message is shown in the chat window.
    #[serde(rename = "msginchatwindow", skip_serializing_if = "is_false")]
    pub msg_in_chat_window: bool,
    /// `sendMessage` or `respondWithMessage`.
    #[serde(rename = "msgprocessingtype", skip_serializing_if = "String::is_empty")]
    pub msg_processing_type: String,
}

/// One entry of `rocketchat_configs` (newer than 0.25).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RocketChatConfig {
    /// Whether to notify about resolved alerts (default false).
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Server URL; `global.rocketchat_api_url` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Personal access token ID; from `global` when neither it nor `token_id_file` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<Secret>,
    /// File holding the token ID.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_id_file: String,
    /// Personal access token; from `global` when neither it nor `token_file` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// File holding the token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Channel override (`#channel` or `@user`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Attachment color template.
    pub color: String,
    /// Attachment title template.
    pub title: String,
    /// Attachment title link template.
    pub title_link: String,
    /// Attachment text template.
    pub text: String,
    /// Attachment fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<RocketChatField>,
    /// Default of the fields' `short`.
    pub short_fields: bool,
    /// Emoji used as avatar (template).
    pub emoji: String,
    /// Avatar URL template.
    pub icon_url: String,
    /// Attachment image URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Attachment thumbnail URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    /// Whether `@names` and `#channels` in the text are linked.
    pub link_names: bool,
    /// Attachment buttons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<RocketChatAction>,
}

impl Default for RocketChatConfig {
    fn default() -> Self {
        RocketChatConfig {
            send_resolved: false,
            http_config: None,
            api_url: None,
            token_id: None,
            token_id_file: String::new(),
            token: None,
            token_file: String::new(),
            channel: String::new(),
            color: r#"{{ if eq .Status "firing" }}red{{ else }}green{{ end }}"#.to_string(),
            title: r#"{{ template "rocketchat.default.title" . }}"#.to_string(),
            title_link: r#"{{ template "rocketchat.default.titlelink" . }}"#.to_string(),
            text: r#"{{ template "rocketchat.default.text" . }}"#.to_string(),
            fields: Vec::new(),
            short_fields: false,
            emoji: r#"{{ template "rocketchat.default.emoji" . }}"#.to_string(),
            icon_url: r#"{{ template "rocketchat.default.iconurl" . }}"#.to_string(),
            image_url: String::new(),
            thumb_url: String::new(),
            link_names: false,
            actions: Vec::new(),
        }
    }
}

impl RocketChatConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        at_most_one(
            "token",
            self.token.is_some(),
            "token_file",
            !self.token_file.is_empty(),
        )?;
        at_most_one(
            "token_id",
            self.token_id.is_some(),
            "token_id_file",
            !self.token_id_file.is_empty(),
        )?;
        inherit_http_config(&mut self.http_config, global)?;
        if self.api_url.is_none() {
            self.api_url = Some(global.rocketchat_api_url());
        }
        // Upstream takes the inline value and the file from global independently; taking
        // them together only when the entry sets neither keeps the entry valid when shown.
        if self.token_id.is_none() && self.token_id_file.is_empty() {
            self.token_id = global.rocketchat_token_id.clone();
            self.token_id_file = global.rocketchat_token_id_file.clone();
        }
        if self.token_id.is_none() && self.token_id_file.is_empty() {
            return Err(ConfigError::at(
                "token_id",
                "no global Rocketchat TokenID set either inline or in a file",
            ));
        }
        if self.token.is_none() && self.token_file.is_empty() {
            self.token = global.rocketchat_token.clone();
            self.token_file = global.rocketchat_token_file.clone();
        }
        if self.token.is_none() && self.token_file.is_empty() {
            return Err(ConfigError::at(
                "token",
                "no global Rocketchat Token set either inline or in a file",
            ));
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

    const TOKENS: &str = "token: t\ntoken_id: i\n";

    fn resolve(yaml: &str, global: &GlobalConfig) -> Result<RocketChatConfig, ConfigError> {
        let mut c = deserialize_yaml::<RocketChatConfig>(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    #[test]
    fn defaults_are_filled() {
        let c = resolve(TOKENS, &GlobalConfig::default()).unwrap();
        assert!(!c.send_resolved);
        assert_eq!(
            c.api_url.as_ref().map(HttpUrl::as_str),
            Some(default_urls::ROCKETCHAT)
        );
        assert_eq!(
            c.color,
            r#"{{ if eq .Status "firing" }}red{{ else }}green{{ end }}"#
        );
        assert_eq!(c.emoji, r#"{{ template "rocketchat.default.emoji" . }}"#);
        assert_eq!(
            c.icon_url,
            r#"{{ template "rocketchat.default.iconurl" . }}"#
        );
        assert_eq!(c.text, r#"{{ template "rocketchat.default.text" . }}"#);
        assert_eq!(c.title, r#"{{ template "rocketchat.default.title" . }}"#);
        assert_eq!(
            c.title_link,
            r#"{{ template "rocketchat.default.titlelink" . }}"#
        );
        assert!(!c.short_fields && !c.link_names);
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
    }

    #[test]
    fn tokens_and_url_come_from_global() {
        let mut global = GlobalConfig::default();
        global.rocketchat_api_url = Some(HttpUrl::parse("https://chat.example.com/").unwrap());
        global.rocketchat_token = Some(Secret::new("gt"));
        global.rocketchat_token_id_file = "/gid".into();
        let c = resolve("channel: '#ops'\n", &global).unwrap();
        assert_eq!(c.api_url.unwrap().as_str(), "https://chat.example.com/");
        assert_eq!(c.token.unwrap().expose(), "gt");
        assert_eq!(
            (c.token_id.is_none(), c.token_id_file.as_str()),
            (true, "/gid")
        );
        // The entry's own file wins.
        let c = resolve("token_file: /own\ntoken_id: own\n", &global).unwrap();
        assert_eq!((c.token.is_none(), c.token_file.as_str()), (true, "/own"));
        assert_eq!(c.token_id.unwrap().expose(), "own");
    }

    #[test]
    fn errors_name_the_field() {
        let e = |y: &str| {
            resolve(y, &GlobalConfig::default())
                .unwrap_err()
                .path_and_message()
        };
        assert_eq!(
            e("token: t\n"),
            "token_id: no global Rocketchat TokenID set either inline or in a file"
        );
        assert_eq!(
            e("token_id: i\n"),
            "token: no global Rocketchat Token set either inline or in a file"
        );
        assert_eq!(
            e("token: t\ntoken_file: f\ntoken_id: i\n"),
            "token_file: at most one of token & token_file must be configured"
        );
        assert_eq!(
            e("token: t\ntoken_id: i\ntoken_id_file: f\n"),
            "token_id_file: at most one of token_id & token_id_file must be configured"
        );
        assert!(e("token: t\ntoken_id: i\nactions:\n- image_url: x\n").starts_with("actions[0]"));
        assert!(e("token: t\ntoken_id: i\napi_url: x\n").starts_with("api_url: "));
    }

    #[test]
    fn fields_and_actions_parse_and_round_trip() {
        let yaml = format!(
            "{TOKENS}send_resolved: true\nchannel: '#c'\ncolor: ''\nshort_fields: true\nlink_names: true\nimage_url: i\nthumb_url: t\n\
             fields:\n- title: a\n  value: b\n  short: false\n- title: c\n  value: d\n\
             actions:\n- type: button\n  text: Open\n  url: https://x\n  msg: m\n  imageurl: https://i\n  iswebview: true\n  \
             webviewheightratio: full\n  msginchatwindow: true\n  msgprocessingtype: sendMessage\n"
        );
        let c = resolve(&yaml, &GlobalConfig::default()).unwrap();
        assert_eq!(c.fields[0].short, Some(false));
        assert_eq!(c.fields[1].short, None);
        assert_eq!(c.actions[0].action_type, "button");
        assert!(c.actions[0].is_webview);
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(
            resolve(&shown, &GlobalConfig::default()).unwrap(),
            c,
            "{shown}"
        );
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert_eq!(
            resolve(&masked, &GlobalConfig::default())
                .unwrap()
                .token
                .unwrap()
                .expose(),
            "<secret>"
        );
    }
}
