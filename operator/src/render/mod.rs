//! Rendering: pure functions from the operator's config, the three kinds of resources
//! and the Secrets they reference to the data of the one Secret the engines load.
//!
//! Same inputs, same bytes: resources are sorted (AlertRoutes by descending
//! `priority`, then namespace/name; the others by namespace/name) and maps are ordered.
//! Each resource is checked on its own against the admin config with the engine's own
//! parser; one that fails is left out with a [`Rejection`] and never breaks the others.

pub mod alertmanager;
pub mod config;
pub mod silences;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::crd::{AlertRoute, InhibitRule, Silence, SilenceState};
pub use config::OperatorConfig;

/// Key of the rendered Alertmanager config in the output Secret.
pub const CONFIG_KEY: &str = "alertmanager.yaml";
/// Key of the rendered silences file in the output Secret.
pub const SILENCES_KEY: &str = "silences.yaml";

/// Errors that stop a whole render (a single bad resource never does).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The operator's own config is invalid.
    #[error("operator config: {0}")]
    OperatorConfig(String),
    /// The admin parts of the config are rejected by the engine's parser.
    #[error("the operator config's Alertmanager settings are invalid: {0}")]
    BaseConfig(String),
    /// YAML output failed.
    #[error("cannot write YAML: {0}")]
    Yaml(String),
}

/// The data of the Secrets resources refer to: (namespace, name) → key → bytes.
pub type SecretData = BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>;

/// The three kinds of resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// AlertRoute.
    AlertRoute,
    /// InhibitRule.
    InhibitRule,
    /// Silence.
    Silence,
}

/// Identifies one resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// Its kind.
    pub kind: Kind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// Why a resource was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// CamelCase reason for the `Accepted=False` condition.
    pub reason: &'static str,
    /// Human-readable message (never contains a secret value).
    pub message: String,
}

impl Rejection {
    /// A rejection.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            message: message.into(),
        }
    }
}

/// What a Silence turned into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SilenceInfo {
    /// The engine's silence ID.
    pub id: String,
    /// Effective start.
    pub starts_at: Timestamp,
    /// Effective end.
    pub ends_at: Timestamp,
    /// State at render time.
    pub state: SilenceState,
}

/// The outcome for one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The generation that was rendered.
    pub generation: Option<i64>,
    /// `Ok` when it is part of the output.
    pub result: Result<(), Rejection>,
    /// For Silences: ID, times and state.
    pub silence: Option<SilenceInfo>,
}

/// Everything rendering reads.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The operator's config.
    pub config: &'a OperatorConfig,
    /// AlertRoutes, in any order.
    pub alert_routes: &'a [AlertRoute],
    /// InhibitRules, in any order.
    pub inhibit_rules: &'a [InhibitRule],
    /// Silences, in any order.
    pub silences: &'a [Silence],
    /// Data of the referenced Secrets.
    pub secrets: &'a SecretData,
    /// The current time (silence states, default starts).
    pub now: Timestamp,
}

/// The rendered Secret data and the outcome per resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// `alertmanager.yaml` and `silences.yaml`.
    pub data: BTreeMap<String, String>,
    /// The engine's `alertmanager_config_hash` value for `alertmanager.yaml`.
    pub config_hash: f64,
    /// One entry per input resource.
    pub outcomes: BTreeMap<ObjectKey, Outcome>,
}

impl Rendered {
    /// The next time a Silence changes state (for a requeue), if any.
    pub fn next_silence_transition(&self, now: Timestamp) -> Option<Timestamp> {
        self.outcomes
            .values()
            .filter_map(|o| o.silence.as_ref())
            .flat_map(|s| [s.starts_at, s.ends_at])
            .filter(|t| *t > now)
            .min()
    }
}

/// Renders the output Secret's data.
pub fn render(inputs: Inputs<'_>) -> Result<Rendered, RenderError> {
    let mut outcomes = BTreeMap::new();
    let am = alertmanager::render(inputs, &mut outcomes)?;
    let silences = silences::render(inputs, &mut outcomes)?;
    let config_hash = larum_engine::config::coordinator::config_hash(am.as_bytes());
    let mut data = BTreeMap::new();
    data.insert(CONFIG_KEY.to_string(), am);
    data.insert(SILENCES_KEY.to_string(), silences);
    Ok(Rendered {
        data,
        config_hash,
        outcomes,
    })
}

/// Serializes a value as YAML.
pub(crate) fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, RenderError> {
    serde_saphyr::to_string(value).map_err(|e| RenderError::Yaml(e.to_string()))
}

/// Reads one key of a Secret in `namespace`, as trimmed UTF-8 text.
pub(crate) fn secret_value(
    secrets: &SecretData,
    namespace: &str,
    r: &crate::crd::SecretKeyRef,
    field: &str,
) -> Result<String, Rejection> {
    let data = secrets
        .get(&(namespace.to_string(), r.name.clone()))
        .ok_or_else(|| {
            Rejection::new(
                "SecretNotFound",
                format!(
                    "{field}: Secret {namespace}/{} not found, or the operator may not read it (grant it get, list and watch on that Secret)",
                    r.name
                ),
            )
        })?;
    let bytes = data.get(&r.key).ok_or_else(|| {
        Rejection::new(
            "SecretKeyMissing",
            format!(
                "{field}: Secret {namespace}/{} has no key {:?}",
                r.name, r.key
            ),
        )
    })?;
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Rejection::new(
            "SecretKeyInvalid",
            format!(
                "{field}: key {:?} of Secret {namespace}/{} is not UTF-8 text",
                r.key, r.name
            ),
        )
    })?;
    Ok(text.trim().to_string())
}

/// Builds a JSON object from key/value pairs, skipping nulls (keeps output minimal).
pub(crate) fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        if !v.is_null() {
            map.insert(k.to_string(), v);
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests;
