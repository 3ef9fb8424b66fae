//! The operator's own config: what the chart fills in (root route, global settings,
//! admin receivers, the admin namespace).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::RenderError;

/// The operator's config file. Route, receivers, inhibit rules and time intervals are
/// in Alertmanager's format (snake_case keys) and are copied into the rendered config.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorConfig {
    /// Namespace whose resources apply cluster-wide (no `namespace` matcher added).
    #[serde(default)]
    pub admin_namespace: Option<String>,
    /// Alertmanager's `global` section.
    #[serde(default)]
    pub global: Option<Value>,
    /// The root route (Alertmanager format; needs a `receiver`). AlertRoutes become its
    /// first children, before the child routes given here.
    pub route: Value,
    /// Admin receivers (Alertmanager format).
    #[serde(default)]
    pub receivers: Vec<Value>,
    /// Admin inhibit rules (Alertmanager format).
    #[serde(default)]
    pub inhibit_rules: Vec<Value>,
    /// Admin time intervals (Alertmanager format).
    #[serde(default)]
    pub time_intervals: Vec<Value>,
    /// Template file globs, as seen by the engine.
    #[serde(default)]
    pub templates: Vec<String>,
    /// Delete Silence objects this long after they expired (e.g. `7d`); off when unset.
    #[serde(default)]
    pub expired_silence_ttl: Option<String>,
}

impl OperatorConfig {
    /// Parses the config from YAML.
    pub fn parse(yaml: &str) -> Result<Self, RenderError> {
        let config: Self =
            serde_saphyr::from_str(yaml).map_err(|e| RenderError::OperatorConfig(e.to_string()))?;
        config.expired_silence_ttl()?;
        Ok(config)
    }

    /// Reads the config file.
    pub fn load(path: &Path) -> Result<Self, RenderError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            RenderError::OperatorConfig(format!("cannot read {}: {e}", path.display()))
        })?;
        Self::parse(&text)
    }

    /// The garbage-collection delay of expired Silences, if set.
    pub fn expired_silence_ttl(&self) -> Result<Option<jiff::SignedDuration>, RenderError> {
        let Some(text) = &self.expired_silence_ttl else {
            return Ok(None);
        };
        let d: larum_engine::config::Duration = text
            .parse()
            .map_err(|e| RenderError::OperatorConfig(format!("expiredSilenceTtl: {e}")))?;
        jiff::SignedDuration::try_from(d.std())
            .map(Some)
            .map_err(|e| RenderError::OperatorConfig(format!("expiredSilenceTtl: {e}")))
    }

    /// Whether resources in `namespace` apply cluster-wide.
    pub fn is_admin(&self, namespace: &str) -> bool {
        self.admin_namespace.as_deref() == Some(namespace)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/operator-config.yaml");
        let c = OperatorConfig::load(&path).unwrap();
        assert!(c.is_admin("larum-system"));
        assert!(!c.is_admin("team-a"));
        assert_eq!(c.route["receiver"], "platform");
        // With no resources, the admin parts alone render into a valid config.
        let r = crate::render::render(crate::render::Inputs {
            config: &c,
            alert_routes: &[],
            inhibit_rules: &[],
            silences: &[],
            secrets: &Default::default(),
            now: jiff::Timestamp::UNIX_EPOCH,
        })
        .unwrap();
        assert!(r.data[crate::render::CONFIG_KEY].contains("platform-hooks"));
        assert_eq!(r.data[crate::render::SILENCES_KEY], "[]\n");
    }

    #[test]
    fn unknown_keys_and_missing_route_are_errors() {
        let e = OperatorConfig::parse("route: {receiver: x}\nadminNamespce: y\n").unwrap_err();
        assert!(e.to_string().contains("adminNamespce"), "{e}");
        assert!(OperatorConfig::parse("adminNamespace: y\n").is_err());
    }
}
