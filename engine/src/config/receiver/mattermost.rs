//! `mattermost_configs`: messages to a Mattermost incoming webhook.

use serde::{Deserialize, Serialize};

use super::{at_most_one, inherit_http_config, is_false};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::SecretUrl;

/// Message priority settings (Mattermost's `priority` metadata).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MattermostPriority {
    /// `standard`, `important` or `urgent`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub priority: String,
    /// Whether recipients are asked to acknowledge.
    #[serde(skip_serializing_if = "is_false")]
    pub requested_ack: bool,
    /// Whether recipients are reminded until they acknowledge.
    #[serde(skip_serializing_if = "is_false")]
    pub persistent_notifications: bool,
}

/// Extra message properties; only `card` has an effect.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MattermostProps {
    /// Markdown shown in the message's side panel (template).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub card: String,
}

/// A field of a message attachment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MattermostField {
    /// Title template (required).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Value template (required).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Whether the field is shown side by side with others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
}

impl MattermostField {
    /// Upstream's checks; error paths are relative to the field.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.title.is_empty() {
            return Err(ConfigError::at(
                "title",
                "missing title in Mattermost field configuration",
            ));
        }
        if self.value.is_empty() {
            return Err(ConfigError::at(
                "value",
                "missing value in Mattermost field configuration",
            ));
        }
        Ok(())
    }
}

fn validate_fields(fields: &[MattermostField]) -> Result<(), ConfigError> {
    for (i, field) in fields.iter().enumerate() {
        field
            .validate()
            .map_err(|e| e.under(&format!("fields[{i}]")))?;
    }
    Ok(())
}

/// An extra message attachment (Slack-compatible).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MattermostAttachment {
    /// Plain-text summary.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fallback: String,
    /// Left border color.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub color: String,
    /// Text above the attachment.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pretext: String,
    /// Attachment text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Author name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author_name: String,
    /// Author link.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author_link: String,
    /// Author icon URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author_icon: String,
    /// Title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Title link.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title_link: String,
    /// Fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<MattermostField>,
    /// Thumbnail URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    /// Footer text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub footer: String,
    /// Footer icon URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub footer_icon: String,
    /// Image URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_url: String,
}

/// One entry of `mattermost_configs` (newer than 0.25).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MattermostConfig {
    /// Whether to notify about resolved alerts (default true).
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Incoming webhook URL (a secret); from `global` when neither it nor the file is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding the webhook URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Channel override.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// User name override (template).
    pub username: String,
    /// Message text (template).
    pub text: String,
    /// Attachment plain-text summary (template).
    pub fallback: String,
    /// Attachment color (template).
    pub color: String,
    /// Text above the attachment.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pretext: String,
    /// Attachment author name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author_name: String,
    /// Attachment author link.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author_link: String,
    /// Attachment author icon URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author_icon: String,
    /// Attachment title (template).
    pub title: String,
    /// Attachment title link (template).
    pub title_link: String,
    /// Attachment fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<MattermostField>,
    /// Attachment thumbnail URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    /// Attachment footer.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub footer: String,
    /// Attachment footer icon URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub footer_icon: String,
    /// Attachment image URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Avatar URL override.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_url: String,
    /// Avatar emoji override.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_emoji: String,
    /// Further attachments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<MattermostAttachment>,
    /// Post type (`custom_...`).
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub post_type: String,
    /// Extra properties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub props: Option<MattermostProps>,
    /// Priority settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<MattermostPriority>,
}

impl Default for MattermostConfig {
    fn default() -> Self {
        let tmpl = |name: &str| format!(r#"{{{{ template "mattermost.default.{name}" . }}}}"#);
        MattermostConfig {
            send_resolved: true,
            http_config: None,
            webhook_url: None,
            webhook_url_file: String::new(),
            channel: String::new(),
            username: tmpl("username"),
            text: tmpl("text"),
            fallback: tmpl("fallback"),
            color: tmpl("color"),
            pretext: String::new(),
            author_name: String::new(),
            author_link: String::new(),
            author_icon: String::new(),
            title: tmpl("title"),
            title_link: tmpl("titlelink"),
            fields: Vec::new(),
            thumb_url: String::new(),
            footer: String::new(),
            footer_icon: String::new(),
            image_url: String::new(),
            icon_url: String::new(),
            icon_emoji: String::new(),
            attachments: Vec::new(),
            post_type: String::new(),
            props: None,
            priority: None,
        }
    }
}

impl MattermostConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        validate_fields(&self.fields)?;
        for (i, attachment) in self.attachments.iter().enumerate() {
            validate_fields(&attachment.fields)
                .map_err(|e| e.under(&format!("attachments[{i}]")))?;
        }
        at_most_one(
            "webhook_url",
            self.webhook_url.is_some(),
            "webhook_url_file",
            !self.webhook_url_file.is_empty(),
        )?;
        inherit_http_config(&mut self.http_config, global)?;
        if self.webhook_url.is_none() && self.webhook_url_file.is_empty() {
            if global.mattermost_webhook_url.is_none()
                && global.mattermost_webhook_url_file.is_empty()
            {
                return Err(ConfigError::at(
                    "webhook_url",
                    "missing webhook_url or webhook_url_file on mattermost_config",
                ));
            }
            self.webhook_url = global.mattermost_webhook_url.clone();
            self.webhook_url_file = global.mattermost_webhook_url_file.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    fn resolve(yaml: &str, global: &GlobalConfig) -> Result<MattermostConfig, ConfigError> {
        let mut c = deserialize_yaml::<MattermostConfig>(yaml)?;
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
            "webhook_url: https://mm.example.com/hooks/x\n",
            &GlobalConfig::default(),
        )
        .unwrap();
        assert!(c.send_resolved);
        assert_eq!(
            c.username,
            r#"{{ template "mattermost.default.username" . }}"#
        );
        assert_eq!(c.color, r#"{{ template "mattermost.default.color" . }}"#);
        assert_eq!(c.text, r#"{{ template "mattermost.default.text" . }}"#);
        assert_eq!(c.title, r#"{{ template "mattermost.default.title" . }}"#);
        assert_eq!(
            c.title_link,
            r#"{{ template "mattermost.default.titlelink" . }}"#
        );
        assert_eq!(
            c.fallback,
            r#"{{ template "mattermost.default.fallback" . }}"#
        );
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
        assert_eq!((c.props.is_none(), c.priority.is_none()), (true, true));
    }

    #[test]
    fn webhook_url_comes_from_global() {
        let mut global = GlobalConfig::default();
        global.mattermost_webhook_url =
            Some(SecretUrl::parse("https://mm.example.com/hooks/g").unwrap());
        let c = resolve("channel: ops\n", &global).unwrap();
        assert_eq!(
            c.webhook_url.unwrap().expose(),
            "https://mm.example.com/hooks/g"
        );
        let c = resolve("webhook_url_file: /own\n", &global).unwrap();
        assert_eq!(
            (c.webhook_url.is_none(), c.webhook_url_file.as_str()),
            (true, "/own")
        );
        let mut global = GlobalConfig::default();
        global.mattermost_webhook_url_file = "/g".into();
        assert_eq!(resolve("{}", &global).unwrap().webhook_url_file, "/g");
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            err("channel: x\n"),
            "webhook_url: missing webhook_url or webhook_url_file on mattermost_config"
        );
        assert_eq!(
            err("webhook_url: http://a\nwebhook_url_file: /f\n"),
            "webhook_url_file: at most one of webhook_url & webhook_url_file must be configured"
        );
        assert_eq!(
            err("webhook_url: http://a\nfields:\n- title: t\n  value: v\n- value: v\n"),
            "fields[1].title: missing title in Mattermost field configuration"
        );
        assert_eq!(
            err("webhook_url: http://a\nattachments:\n- text: x\n- fields:\n  - title: t\n"),
            "attachments[1].fields[0].value: missing value in Mattermost field configuration"
        );
        assert!(err("webhook_url: http://a\nprops:\n  other: x\n").starts_with("props"));
        assert!(
            err("webhook_url: http://a\npriority:\n  requested_ack: maybe\n")
                .starts_with("priority.requested_ack")
        );
    }

    #[test]
    fn round_trips() {
        let yaml = "webhook_url: https://mm/hooks/x\nsend_resolved: false\nchannel: c\nusername: ''\ntext: t\n\
                    pretext: p\nauthor_name: a\nauthor_link: l\nauthor_icon: i\nfields:\n- title: a\n  value: b\n  short: true\n\
                    thumb_url: th\nfooter: f\nfooter_icon: fi\nimage_url: im\nicon_url: ic\nicon_emoji: ':fire:'\ntype: custom_x\n\
                    attachments:\n- title: t\n  fields:\n  - title: x\n    value: y\n\
                    props:\n  card: c\npriority:\n  priority: urgent\n  requested_ack: true\n  persistent_notifications: true\n";
        let c = resolve(yaml, &GlobalConfig::default()).unwrap();
        assert_eq!(c.priority.as_ref().unwrap().priority, "urgent");
        assert_eq!(c.post_type, "custom_x");
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(
            resolve(&shown, &GlobalConfig::default()).unwrap(),
            c,
            "{shown}"
        );
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(
            resolve(&masked, &GlobalConfig::default())
                .unwrap()
                .webhook_url
                .unwrap()
                .is_masked()
        );
    }
}
