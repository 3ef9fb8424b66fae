//! `pagerduty_configs`: trigger and resolve PagerDuty incidents (Events API v1 or v2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::webhook::GoDuration;
use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;
use crate::config::http_config::HttpClientConfig;
use crate::config::secret::{HttpUrl, Secret};

/// Upstream's default `details`, merged into every config for the keys it does not set.
pub const DEFAULT_DETAILS: [(&str, &str); 4] = [
    ("firing", "{{ .Alerts.Firing | toJson }}"),
    ("resolved", "{{ .Alerts.Resolved | toJson }}"),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

fn default_true() -> bool {
    true
}
fn default_description() -> String {
    r#"{{ template "pagerduty.default.description" .}}"#.to_string()
}
fn default_client() -> String {
    r#"{{ template "pagerduty.default.client" . }}"#.to_string()
}
fn default_client_url() -> String {
    r#"{{ template "pagerduty.default.clientURL" . }}"#.to_string()
}

/// One entry of `pagerduty_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Whether to notify about resolved alerts (default true).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// HTTP client settings; `global.http_config` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Integration key of an Events API v1 ("Prometheus") integration.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub service_key: Secret,
    /// File holding the service key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_key_file: String,
    /// Integration key of an Events API v2 integration.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub routing_key: Secret,
    /// File holding the routing key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub routing_key_file: String,
    /// API URL; `global.pagerduty_url` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<HttpUrl>,
    /// Client name.
    #[serde(default = "default_client")]
    pub client: String,
    /// Client link.
    #[serde(default = "default_client_url")]
    pub client_url: String,
    /// Incident description.
    #[serde(default = "default_description")]
    pub description: String,
    /// Custom details (templates); upstream's defaults fill the keys not given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
    /// Images to attach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PagerDutyImage>,
    /// Links to attach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PagerDutyLink>,
    /// Source of the event; `client` when not given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Severity (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity: String,
    /// Class of the event.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
    /// Component affected.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub component: String,
    /// Logical group of components.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Request timeout, 0 for none (newer than 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
}

/// An image shown in the incident.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyImage {
    /// Image URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub src: String,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alt: String,
    /// Link of the image.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub href: String,
}

/// A link shown in the incident.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyLink {
    /// Link target.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub href: String,
    /// Link text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

impl PagerDutyConfig {
    /// The request timeout; zero means none.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout.map(GoDuration::std).unwrap_or_default()
    }

    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if let Some(http) = &self.http_config {
            http.validate().map_err(|e| e.under("http_config"))?;
        }
        if self.routing_key.is_empty()
            && self.service_key.is_empty()
            && self.routing_key_file.is_empty()
            && self.service_key_file.is_empty()
        {
            return Err(ConfigError::at(
                "routing_key",
                "missing service or routing key in PagerDuty config",
            ));
        }
        if !self.routing_key.is_empty() && !self.routing_key_file.is_empty() {
            return Err(ConfigError::at(
                "routing_key_file",
                "at most one of routing_key & routing_key_file must be configured",
            ));
        }
        if !self.service_key.is_empty() && !self.service_key_file.is_empty() {
            return Err(ConfigError::at(
                "service_key_file",
                "at most one of service_key & service_key_file must be configured",
            ));
        }
        if self.source.is_empty() {
            self.source = self.client.clone();
        }
        for (key, value) in DEFAULT_DETAILS {
            self.details
                .entry(key.to_string())
                .or_insert_with(|| serde_json::Value::String(value.to_string()));
        }

        if self.http_config.is_none() {
            self.http_config = Some(global.http_config.clone());
        }
        if self.url.is_none() {
            self.url = global.pagerduty_url.clone();
        }
        if self.url.is_none() {
            return Err(ConfigError::at("url", "no global PagerDuty URL set"));
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

    fn resolve_with(yaml: &str, global: &GlobalConfig) -> Result<PagerDutyConfig, ConfigError> {
        let mut c: PagerDutyConfig = deserialize_yaml(yaml)?;
        c.resolve(global)?;
        Ok(c)
    }

    fn resolve(yaml: &str) -> Result<PagerDutyConfig, ConfigError> {
        resolve_with(yaml, &GlobalConfig::default())
    }

    fn err(yaml: &str) -> String {
        resolve(yaml)
            .map(|c| panic!("expected an error, got {c:?}"))
            .unwrap_err()
            .path_and_message()
    }

    #[test]
    fn defaults() {
        let c = resolve("routing_key: k").unwrap();
        assert!(c.send_resolved);
        assert_eq!(
            c.url.as_ref().map(HttpUrl::as_str),
            Some(default_urls::PAGERDUTY)
        );
        assert_eq!(c.client, r#"{{ template "pagerduty.default.client" . }}"#);
        assert_eq!(
            c.client_url,
            r#"{{ template "pagerduty.default.clientURL" . }}"#
        );
        assert_eq!(
            c.description,
            r#"{{ template "pagerduty.default.description" .}}"#
        );
        assert_eq!(c.source, c.client);
        assert_eq!(c.details.len(), 4);
        assert_eq!(
            c.details["num_firing"],
            serde_json::json!("{{ .Alerts.Firing | len }}")
        );
        assert_eq!(c.http_config, Some(HttpClientConfig::default()));
        assert_eq!(c.timeout(), std::time::Duration::ZERO);
        assert!(!serde_saphyr::to_string(&c).unwrap().contains("timeout"));
    }

    #[test]
    fn inherits_global_and_keeps_local() {
        let g: GlobalConfig =
            deserialize_yaml("pagerduty_url: 'https://pd.example.com/enqueue'").unwrap();
        let c = resolve_with("service_key: k", &g).unwrap();
        assert_eq!(c.url.unwrap().as_str(), "https://pd.example.com/enqueue");
        let c = resolve_with(
            "service_key: k\nurl: 'https://local/'\nclient: c\ndetails: {firing: mine, extra: 1}",
            &g,
        )
        .unwrap();
        assert_eq!(c.url.unwrap().as_str(), "https://local/");
        assert_eq!(c.source, "c");
        assert_eq!(c.details["firing"], serde_json::json!("mine"));
        assert_eq!(c.details["extra"], serde_json::json!(1));
        assert_eq!(c.details.len(), 5);
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("severity: error"),
            "routing_key: missing service or routing key in PagerDuty config"
        );
        assert_eq!(
            err("routing_key: a\nrouting_key_file: b"),
            "routing_key_file: at most one of routing_key & routing_key_file must be configured"
        );
        assert_eq!(
            err("service_key: a\nservice_key_file: b"),
            "service_key_file: at most one of service_key & service_key_file must be configured"
        );
        assert!(err("routing_key: a\nurl: 'mailto:x'").starts_with("url: unsupported scheme"));
        assert!(
            err("routing_key: a\nimages: [{source: x}]").starts_with("images[0].source: field")
        );
        assert_eq!(
            err("routing_key: a\nhttp_config: {oauth2: {client_id: x}}"),
            "http_config.oauth2.token_url: oauth2 token_url must be configured"
        );
    }

    #[test]
    fn round_trip() {
        let c = resolve(
            "routing_key_file: /k\nseverity: '{{ .CommonLabels.severity }}'\nclass: c\ncomponent: co\ngroup: g\nimages: [{src: s, alt: a, href: h}]\nlinks: [{href: h, text: t}]\ndetails: {nested: {a: [1, 2]}}\ntimeout: 1m\nsource: ''\nclient: ''",
        )
        .unwrap();
        assert_eq!(c.timeout(), std::time::Duration::from_secs(60));
        let shown = with_secrets_revealed(|| serde_saphyr::to_string(&c)).unwrap();
        assert_eq!(resolve(&shown).unwrap(), c, "{shown}");
        let c = resolve("routing_key: secret-key").unwrap();
        let masked = serde_saphyr::to_string(&c).unwrap();
        assert!(masked.contains("routing_key: <secret>"), "{masked}");
        let back = resolve(&masked).unwrap();
        assert_eq!(back.routing_key.expose(), "<secret>");
    }
}
