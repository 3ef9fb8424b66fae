//! `victorops_configs`: send alerts to VictorOps (Splunk On-Call).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::webhook::with_trailing_slash;
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

/// Keys `custom_fields` may not use: the integration sets them itself.
pub const RESERVED_FIELDS: [&str; 7] = [
    "routing_key",
    "message_type",
    "state_message",
    "entity_display_name",
    "monitoring_tool",
    "entity_id",
    "entity_state",
];

fn default_true() -> bool {
    true
}
fn default_message_type() -> String {
    "CRITICAL".to_string()
}
fn default_state_message() -> String {
    r#"{{ template "victorops.default.state_message" . }}"#.to_string()
}
fn default_entity_display_name() -> String {
    r#"{{ template "victorops.default.entity_display_name" . }}"#.to_string()
}
fn default_monitoring_tool() -> String {
    r#"{{ template "victorops.default.monitoring_tool" . }}"#.to_string()
}

/// One entry of `victorops_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VictorOpsConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API key; `global.victorops_api_key` when not given.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub api_key: Secret,
    /// File holding the API key; `global.victorops_api_key_file` when not given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_key_file: String,
    /// API base URL (ends with `/`); `global.victorops_api_url` when not given.
    #[serde(default)]
    pub api_url: Option<HttpUrl>,
    /// Routing key (required).
    #[serde(default)]
    pub routing_key: String,
    /// Message type: CRITICAL, WARNING, INFO, ...
    #[serde(default = "default_message_type")]
    pub message_type: String,
    /// State message (template).
    #[serde(default = "default_state_message")]
    pub state_message: String,
    /// Entity display name (template).
    #[serde(default = "default_entity_display_name")]
    pub entity_display_name: String,
    /// Monitoring tool name (template).
    #[serde(default = "default_monitoring_tool")]
    pub monitoring_tool: String,
    /// Extra fields (templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, String>,
}

impl VictorOpsConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        if self.routing_key.is_empty() {
            return Err(ConfigError::at(
                "routing_key",
                "missing Routing key in VictorOps config",
            ));
        }
        if !self.api_key.is_empty() && !self.api_key_file.is_empty() {
            return Err(ConfigError::at(
                "api_key_file",
                "at most one of api_key & api_key_file must be configured",
            ));
        }
        for field in RESERVED_FIELDS {
            if self.custom_fields.contains_key(field) {
                return Err(ConfigError::at(
                    format!("custom_fields.{field}"),
                    format!(
                        "victorOps config contains custom field {field} which cannot be used as it conflicts with the fixed/static fields"
                    ),
                ));
            }
        }

        if self.http_config.is_none() {
            self.http_config = Some(global.http_config.clone());
        }
        let Some(api_url) = self
            .api_url
            .take()
            .or_else(|| global.victorops_api_url.clone())
        else {
            return Err(ConfigError::at("api_url", "no global VictorOps URL set"));
        };
        self.api_url = Some(with_trailing_slash(api_url));
        // Take the global key only when the entry sets neither the key nor its file:
        // upstream copies each separately and can end up with both, which its own
        // shown config then fails to parse.
        if self.api_key.is_empty() && self.api_key_file.is_empty() {
            self.api_key = global.victorops_api_key.clone();
            self.api_key_file = global.victorops_api_key_file.clone();
        }
        if self.api_key.is_empty() && self.api_key_file.is_empty() {
            return Err(ConfigError::at(
                "api_key",
                "no global VictorOps API Key set",
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

    fn global(yaml: &str) -> GlobalConfig {
        deserialize_yaml(yaml).unwrap()
    }

    fn resolve_with(yaml: &str, global: &GlobalConfig) -> Result<VictorOpsConfig, ConfigError> {
        let mut c: VictorOpsConfig = deserialize_yaml(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    fn err(yaml: &str) -> String {
        resolve_with(yaml, &GlobalConfig::default())
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    #[test]
    fn defaults_and_global() {
        let c = resolve_with("routing_key: r", &global("victorops_api_key: k")).unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.api_key.expose(), "k");
        assert_eq!(
            c.api_url.as_ref().map(HttpUrl::as_str),
            Some(default_urls::VICTOROPS)
        );
        assert_eq!(c.message_type, "CRITICAL");
        assert_eq!(
            c.state_message,
            r#"{{ template "victorops.default.state_message" . }}"#
        );
        assert_eq!(
            c.entity_display_name,
            r#"{{ template "victorops.default.entity_display_name" . }}"#
        );
        assert_eq!(
            c.monitoring_tool,
            r#"{{ template "victorops.default.monitoring_tool" . }}"#
        );
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));
        let c = resolve_with(
            "routing_key: r\napi_key_file: /k\napi_url: 'https://vo.example.com/x'",
            &global("victorops_api_key: k"),
        )
        .unwrap();
        assert_eq!(c.api_url.unwrap().as_str(), "https://vo.example.com/x/");
        assert_eq!(c.api_key_file, "/k");
        let c = resolve_with("routing_key: r", &global("victorops_api_key_file: /g")).unwrap();
        assert_eq!(c.api_key_file, "/g");
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("api_key: k"),
            "routing_key: missing Routing key in VictorOps config"
        );
        assert_eq!(
            err("routing_key: r"),
            "api_key: no global VictorOps API Key set"
        );
        assert_eq!(
            err("routing_key: r\napi_key: a\napi_key_file: b"),
            "api_key_file: at most one of api_key & api_key_file must be configured"
        );
        assert_eq!(
            err("routing_key: r\napi_key: a\ncustom_fields: {entity_state: x}"),
            "custom_fields.entity_state: victorOps config contains custom field entity_state which cannot be used as it conflicts with the fixed/static fields"
        );
    }

    #[test]
    fn round_trip() {
        let g = global("victorops_api_key: k");
        let c = resolve_with(
            "routing_key: r\nmessage_type: WARNING\ncustom_fields: {team: t}\nsend_resolved: false",
            &g,
        )
        .unwrap();
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(resolve_with(&shown, &g).unwrap(), c, "{shown}");
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(masked.contains("api_key: <secret>"), "{masked}");
        assert!(resolve_with(&masked, &GlobalConfig::default()).is_ok());
    }
}
