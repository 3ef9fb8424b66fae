//! Inhibition rules (`inhibit_rules`) as written in the config.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::matcher::{self, MatchRegexps, Matchers};

/// A rule muting target alerts while a matching source alert fires.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    /// Optional name of the rule (newer than 0.25).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Deprecated equality matchers for source alerts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated regex matchers for source alerts.
    #[serde(default, skip_serializing_if = "MatchRegexps::is_empty")]
    pub source_match_re: MatchRegexps,
    /// Matchers for source alerts.
    #[serde(default, skip_serializing_if = "Matchers::is_empty")]
    pub source_matchers: Matchers,
    /// Deprecated equality matchers for target alerts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated regex matchers for target alerts.
    #[serde(default, skip_serializing_if = "MatchRegexps::is_empty")]
    pub target_match_re: MatchRegexps,
    /// Matchers for target alerts.
    #[serde(default, skip_serializing_if = "Matchers::is_empty")]
    pub target_matchers: Matchers,
    /// Labels that must have equal values in source and target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Checks label names; error paths are relative to this rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, map) in [
            ("source_match", &self.source_match),
            ("target_match", &self.target_match),
        ] {
            for name in map.keys() {
                if !matcher::is_classic_label_name(name) {
                    return Err(ConfigError::at(
                        format!("{field}.{name}"),
                        format!("invalid label name {name:?}"),
                    ));
                }
            }
        }
        for (field, map) in [
            ("source_match_re", &self.source_match_re),
            ("target_match_re", &self.target_match_re),
        ] {
            for name in map.0.keys() {
                if !matcher::is_classic_label_name(name) {
                    return Err(ConfigError::at(
                        format!("{field}.{name}"),
                        format!("invalid label name {name:?}"),
                    ));
                }
            }
        }
        for (i, label) in self.equal.iter().enumerate() {
            if !matcher::is_valid_label_name(label) {
                return Err(ConfigError::at(
                    format!("equal[{i}]"),
                    format!("invalid label name {label:?} in equal list"),
                ));
            }
        }
        Ok(())
    }
}
