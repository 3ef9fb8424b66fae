//! `jira_configs`: Jira issues opened, updated, resolved and reopened for alert groups.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::inherit_http_config;
use crate::config::duration::Duration;
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::HttpUrl;

/// The `api_type` values upstream accepts.
pub const API_TYPES: [&str; 3] = ["auto", "cloud", "datacenter"];

/// A templated issue field (`summary`, `description`): written either as a template
/// string or as a map with `template` and `enable_update`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JiraFieldConfig {
    /// Template of the field.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub template: String,
    /// Whether the field is also written when an existing issue is updated (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_update: Option<bool>,
}

impl JiraFieldConfig {
    /// A field with this template and the default update behaviour.
    pub fn template(template: &str) -> Self {
        JiraFieldConfig {
            template: template.to_string(),
            enable_update: None,
        }
    }

    /// Whether the field is written when updating an issue.
    pub fn enable_update(&self) -> bool {
        self.enable_update.unwrap_or(true)
    }
}

/// The map form of [`JiraFieldConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JiraFieldObject {
    #[serde(default)]
    template: String,
    #[serde(default)]
    enable_update: Option<bool>,
}

impl<'de> Deserialize<'de> for JiraFieldConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = JiraFieldConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a template string or a map with template and enable_update")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(JiraFieldConfig::template(s))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                Ok(JiraFieldConfig::template(&n.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Ok(JiraFieldConfig::template(&n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
                Ok(JiraFieldConfig::template(&n.to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
                Ok(JiraFieldConfig::template(&b.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JiraFieldConfig::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let o = JiraFieldObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(JiraFieldConfig {
                    template: o.template,
                    enable_update: o.enable_update,
                })
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

/// One entry of `jira_configs` (newer than 0.25).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JiraConfig {
    /// Whether to resolve issues of resolved alert groups (default true).
    pub send_resolved: bool,
    /// HTTP client settings (the Jira credentials go here); `global.http_config` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Jira REST API URL; `global.jira_api_url` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// `auto` (default), `cloud` or `datacenter`.
    pub api_type: String,
    /// Project key (required).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub project: String,
    /// Issue summary.
    pub summary: JiraFieldConfig,
    /// Issue description.
    pub description: JiraFieldConfig,
    /// Issue labels (templates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Issue priority (template).
    pub priority: String,
    /// Issue type (required).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issue_type: String,
    /// Transition that reopens a resolved issue.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reopen_transition: String,
    /// Transition that resolves an issue.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resolve_transition: String,
    /// Resolution that marks issues not to reopen.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wont_fix_resolution: String,
    /// How long after resolution an issue is reopened rather than a new one created (0 = always reopen).
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub reopen_duration: Duration,
    /// Other issue fields (`customfield_10001: ...`), any YAML value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, serde_json::Value>,
}

fn is_zero_duration(d: &Duration) -> bool {
    d.is_zero()
}

impl Default for JiraConfig {
    fn default() -> Self {
        JiraConfig {
            send_resolved: true,
            http_config: None,
            api_url: None,
            api_type: "auto".to_string(),
            project: String::new(),
            summary: JiraFieldConfig::template(r#"{{ template "jira.default.summary" . }}"#),
            description: JiraFieldConfig::template(
                r#"{{ template "jira.default.description" . }}"#,
            ),
            labels: Vec::new(),
            priority: r#"{{ template "jira.default.priority" . }}"#.to_string(),
            issue_type: String::new(),
            reopen_transition: String::new(),
            resolve_transition: String::new(),
            wont_fix_resolution: String::new(),
            reopen_duration: Duration::ZERO,
            fields: BTreeMap::new(),
        }
    }
}

impl JiraConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if self.project.is_empty() {
            return Err(ConfigError::at("project", "missing project in jira_config"));
        }
        if self.issue_type.is_empty() {
            return Err(ConfigError::at(
                "issue_type",
                "missing issue_type in jira_config",
            ));
        }
        if !API_TYPES.contains(&self.api_type.as_str()) {
            return Err(ConfigError::at(
                "api_type",
                "unknown api_type on jira_config, must be auto, cloud or datacenter",
            ));
        }
        inherit_http_config(&mut self.http_config, global)?;
        if self.api_url.is_none() {
            self.api_url = global.jira_api_url.clone();
        }
        if self.api_url.is_none() {
            return Err(ConfigError::at("api_url", "no global Jira Cloud URL set"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::secret::with_secrets_revealed;

    const MIN: &str =
        "project: OPS\nissue_type: Bug\napi_url: https://example.atlassian.net/rest/api/2\n";

    fn resolve(yaml: &str, global: &GlobalConfig) -> Result<JiraConfig, ConfigError> {
        let mut c = deserialize_yaml::<JiraConfig>(yaml)?;
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
        let c = resolve(MIN, &GlobalConfig::default()).unwrap();
        assert!(c.send_resolved);
        assert_eq!(c.api_type, "auto");
        assert_eq!(
            c.summary,
            JiraFieldConfig::template(r#"{{ template "jira.default.summary" . }}"#)
        );
        assert_eq!(
            c.description.template,
            r#"{{ template "jira.default.description" . }}"#
        );
        assert!(c.summary.enable_update() && c.description.enable_update());
        assert_eq!(c.priority, r#"{{ template "jira.default.priority" . }}"#);
        assert_eq!(c.reopen_duration, Duration::ZERO);
        assert_eq!(c.http_config, Some(GlobalConfig::default().http_config));
    }

    #[test]
    fn api_url_comes_from_global() {
        let mut global = GlobalConfig::default();
        global.jira_api_url = Some(HttpUrl::parse("https://jira.example.com/rest/api/2").unwrap());
        let c = resolve("project: OPS\nissue_type: Bug\n", &global).unwrap();
        assert_eq!(
            c.api_url.unwrap().as_str(),
            "https://jira.example.com/rest/api/2"
        );
        assert_eq!(
            err("project: OPS\nissue_type: Bug\n"),
            "api_url: no global Jira Cloud URL set"
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            err("issue_type: Bug\n"),
            "project: missing project in jira_config"
        );
        assert_eq!(
            err("project: OPS\n"),
            "issue_type: missing issue_type in jira_config"
        );
        assert_eq!(
            err(&format!("{MIN}api_type: server\n")),
            "api_type: unknown api_type on jira_config, must be auto, cloud or datacenter"
        );
        assert!(err(&format!("{MIN}summary:\n  template: x\n  other: y\n")).contains("not found"));
        assert!(err(&format!("{MIN}reopen_duration: 5x\n")).starts_with("reopen_duration: "));
    }

    #[test]
    fn fields_and_transitions_parse() {
        let yaml = format!(
            "{MIN}api_type: datacenter\nsummary: '{{{{ .GroupLabels.alertname }}}}'\ndescription:\n  template: d\n  enable_update: false\n\
             labels: [alertmanager, '{{{{ .CommonLabels.team }}}}']\npriority: High\nreopen_transition: Reopen\n\
             resolve_transition: Done\nwont_fix_resolution: Won't Fix\nreopen_duration: 1h\n\
             fields:\n  customfield_10001: text\n  customfield_10002: {{value: red}}\n  customfield_10003: [a, b]\n  customfield_10004: 42\n"
        );
        let c = resolve(&yaml, &GlobalConfig::default()).unwrap();
        assert_eq!(
            c.summary,
            JiraFieldConfig::template("{{ .GroupLabels.alertname }}")
        );
        assert!(!c.description.enable_update());
        assert_eq!(c.labels.len(), 2);
        assert_eq!(c.reopen_duration, Duration::from_secs(3600));
        assert_eq!(
            c.fields["customfield_10002"],
            serde_json::json!({"value": "red"})
        );
        assert_eq!(c.fields["customfield_10003"], serde_json::json!(["a", "b"]));
        assert_eq!(c.fields["customfield_10004"], serde_json::json!(42));

        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(
            resolve(&shown, &GlobalConfig::default()).unwrap(),
            c,
            "{shown}"
        );
        let c = resolve(
            &format!("{MIN}send_resolved: false\npriority: ''\nsummary: ''\n"),
            &GlobalConfig::default(),
        )
        .unwrap();
        let shown = serde_saphyr::to_string(&c).unwrap();
        assert_eq!(
            resolve(&shown, &GlobalConfig::default()).unwrap(),
            c,
            "{shown}"
        );
    }
}
