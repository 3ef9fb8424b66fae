//! `opsgenie_configs`: create and close OpsGenie alerts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::webhook::{check_template_syntax, with_trailing_slash};
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

/// The responder types upstream accepts (as its regular expression reads).
pub const RESPONDER_TYPES: &str = "^(team|teams|user|escalation|schedule)$";

fn default_true() -> bool {
    true
}
fn default_message() -> String {
    r#"{{ template "opsgenie.default.message" . }}"#.to_string()
}
fn default_description() -> String {
    r#"{{ template "opsgenie.default.description" . }}"#.to_string()
}
fn default_source() -> String {
    r#"{{ template "opsgenie.default.source" . }}"#.to_string()
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of `opsgenie_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsGenieConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API key; `global.opsgenie_api_key` when not given.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub api_key: Secret,
    /// File holding the API key; `global.opsgenie_api_key_file` when not given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_key_file: String,
    /// API base URL (ends with `/`); `global.opsgenie_api_url` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Alert message.
    #[serde(default = "default_message")]
    pub message: String,
    /// Alert description.
    #[serde(default = "default_description")]
    pub description: String,
    /// Alert source.
    #[serde(default = "default_source")]
    pub source: String,
    /// Extra properties (templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Entity the alert is about.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity: String,
    /// Who is notified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responders: Vec<OpsGenieResponder>,
    /// Comma-separated custom actions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actions: String,
    /// Comma-separated tags.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tags: String,
    /// Additional note.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Priority, P1 to P5.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub priority: String,
    /// Whether to update message and description of open alerts.
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_alerts: bool,
}

/// A responder: a team, user, escalation or schedule, by ID, name or user name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsGenieResponder {
    /// Responder ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Responder name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// User name (for users).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// `team`, `teams`, `user`, `escalation` or `schedule` (case-insensitive), or a template.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

impl OpsGenieResponder {
    /// The responder as Go's `%v` prints it in upstream's messages.
    fn go_repr(&self) -> String {
        format!(
            "{{{} {} {} {}}}",
            self.id, self.name, self.username, self.kind
        )
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.id.is_empty() && self.username.is_empty() && self.name.is_empty() {
            return Err(ConfigError::at(
                "",
                format!(
                    "opsGenieConfig responder {} has to have at least one of id, username or name specified",
                    self.go_repr()
                ),
            ));
        }
        let templated = check_template_syntax(&self.kind).map_err(|e| {
            ConfigError::at(
                "type",
                format!(
                    "opsGenieConfig responder {} type contains invalid template syntax: {e}",
                    self.go_repr()
                ),
            )
        })?;
        let valid = ["team", "teams", "user", "escalation", "schedule"];
        if !templated && !valid.contains(&self.kind.to_lowercase().as_str()) {
            return Err(ConfigError::at(
                "type",
                format!(
                    "opsGenieConfig responder {} type does not match valid options {RESPONDER_TYPES}",
                    self.go_repr()
                ),
            ));
        }
        Ok(())
    }
}

impl OpsGenieConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        if !self.api_key.is_empty() && !self.api_key_file.is_empty() {
            return Err(ConfigError::at(
                "api_key_file",
                "at most one of api_key & api_key_file must be configured",
            ));
        }
        for (i, responder) in self.responders.iter().enumerate() {
            responder
                .check()
                .map_err(|e| e.under(&format!("responders[{i}]")))?;
        }

        if self.http_config.is_none() {
            self.http_config = Some(global.http_config.clone());
        }
        let Some(api_url) = self
            .api_url
            .take()
            .or_else(|| global.opsgenie_api_url.clone())
        else {
            return Err(ConfigError::at("api_url", "no global OpsGenie URL set"));
        };
        self.api_url = Some(with_trailing_slash(api_url));
        // Take the global key only when the entry sets neither the key nor its file:
        // upstream copies each separately and can end up with both, which its own
        // shown config then fails to parse.
        if self.api_key.is_empty() && self.api_key_file.is_empty() {
            self.api_key = global.opsgenie_api_key.clone();
            self.api_key_file = global.opsgenie_api_key_file.clone();
        }
        if self.api_key.is_empty() && self.api_key_file.is_empty() {
            return Err(ConfigError::at(
                "api_key",
                "no global OpsGenie API Key set either inline or in a file",
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

    fn resolve_with(yaml: &str, global: &GlobalConfig) -> Result<OpsGenieConfig, ConfigError> {
        let mut c: OpsGenieConfig = deserialize_yaml(yaml)?;
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
        let c = resolve_with("priority: P1", &global("opsgenie_api_key: k")).unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.api_key.expose(), "k");
        assert_eq!(
            c.api_url.as_ref().map(HttpUrl::as_str),
            Some(default_urls::OPSGENIE)
        );
        assert_eq!(c.message, r#"{{ template "opsgenie.default.message" . }}"#);
        assert_eq!(
            c.description,
            r#"{{ template "opsgenie.default.description" . }}"#
        );
        assert_eq!(c.source, r#"{{ template "opsgenie.default.source" . }}"#);
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));

        let g = global("opsgenie_api_key_file: /k\nopsgenie_api_url: 'https://og.example.com/v2'");
        let c = resolve_with("{}", &g).unwrap();
        assert_eq!(c.api_key_file, "/k");
        assert_eq!(c.api_url.unwrap().as_str(), "https://og.example.com/v2/");
        let c = resolve_with("api_key: local\napi_url: 'https://local.example.com'", &g).unwrap();
        assert_eq!(c.api_key.expose(), "local");
        assert_eq!(c.api_url.unwrap().as_str(), "https://local.example.com/");
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("message: m"),
            "api_key: no global OpsGenie API Key set either inline or in a file"
        );
        assert_eq!(
            err("api_key: a\napi_key_file: b"),
            "api_key_file: at most one of api_key & api_key_file must be configured"
        );
        assert_eq!(
            err("api_key: a\nresponders: [{type: team}]"),
            "responders[0]: opsGenieConfig responder {   team} has to have at least one of id, username or name specified"
        );
        assert_eq!(
            err("api_key: a\nresponders: [{name: n, type: group}]"),
            "responders[0].type: opsGenieConfig responder { n  group} type does not match valid options ^(team|teams|user|escalation|schedule)$"
        );
        assert_eq!(
            err("api_key: a\nresponders: [{id: i, type: '{{ .X'}]"),
            "responders[0].type: opsGenieConfig responder {i   {{ .X} type contains invalid template syntax: template: :1: unclosed action"
        );
        assert!(
            err("api_key: a\nresponders: [{team: x}]").starts_with("responders[0].team: field")
        );
    }

    #[test]
    fn responder_types() {
        let g = global("opsgenie_api_key: k");
        let c = resolve_with("responders: [{name: n, type: Team}, {username: u, type: '{{ .CommonLabels.kind }}'}, {id: i, type: schedule}]", &g).unwrap();
        // Kept as written: upstream checks the lower-cased type without storing it.
        assert_eq!(c.responders[0].kind, "Team");
    }

    #[test]
    fn round_trip() {
        let g = global("opsgenie_api_key: k");
        let c = resolve_with(
            "details: {a: b}\nentity: e\nresponders: [{name: n, type: team}]\nactions: a,b\ntags: t\nnote: n\npriority: P2\nupdate_alerts: true\nsend_resolved: false",
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
