//! The routing tree (`route`) as written in the config.
//!
//! This is the config model only: inheritance of receiver, grouping and timers down the
//! tree is resolved by the dispatcher's route tree (`crate::dispatch::route`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::error::ConfigError;
use super::matcher::{self, MatchRegexps, Matchers};

/// `group_by` value meaning "every label": each alert gets its own group.
pub const GROUP_BY_ALL: &str = "...";

/// One node of the routing tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Receiver of this node; inherited from the parent when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Labels to group by; `None` inherits, `Some([])` groups everything together,
    /// `["..."]` groups by all labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Deprecated regex matchers.
    #[serde(default, skip_serializing_if = "MatchRegexps::is_empty")]
    pub match_re: MatchRegexps,
    /// Label matchers.
    #[serde(default, skip_serializing_if = "Matchers::is_empty")]
    pub matchers: Matchers,
    /// Time intervals during which notifications of this route are muted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside of which notifications of this route are muted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_time_intervals: Vec<String>,
    /// Whether matching goes on to the next sibling after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Child routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// How long to wait before the first notification of a new group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<Duration>,
    /// How long to wait before notifying about changes in a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<Duration>,
    /// How long to wait before repeating an unchanged notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<Duration>,
    /// Labels attached to the route and inherited by its children (newer than 0.25).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Route {
    /// Whether `group_by` is `['...']`.
    pub fn groups_by_all(&self) -> bool {
        self.group_by
            .as_ref()
            .is_some_and(|g| g.iter().any(|l| l == GROUP_BY_ALL))
    }

    /// Whether this node has any matcher (new or legacy).
    pub fn has_matchers(&self) -> bool {
        !self.match_labels.is_empty() || !self.match_re.is_empty() || !self.matchers.is_empty()
    }

    /// Checks this node and its children; error paths are relative to this node.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for name in self.match_labels.keys() {
            if !matcher::is_classic_label_name(name) {
                return Err(ConfigError::at(
                    format!("match.{name}"),
                    format!("invalid label name {name:?}"),
                ));
            }
        }
        for name in self.match_re.0.keys() {
            if !matcher::is_classic_label_name(name) {
                return Err(ConfigError::at(
                    format!("match_re.{name}"),
                    format!("invalid label name {name:?}"),
                ));
            }
        }
        for name in self.labels.keys() {
            if !matcher::is_valid_label_name(name) {
                return Err(ConfigError::at(
                    format!("labels.{name}"),
                    format!("invalid label name {name:?} in route labels"),
                ));
            }
        }
        if let Some(group_by) = &self.group_by {
            let mut seen = HashSet::new();
            for (i, label) in group_by.iter().enumerate() {
                if label != GROUP_BY_ALL && !matcher::is_valid_label_name(label) {
                    return Err(ConfigError::at(
                        format!("group_by[{i}]"),
                        format!("invalid label name {label:?} in group_by list"),
                    ));
                }
                if !seen.insert(label.as_str()) {
                    return Err(ConfigError::at(
                        format!("group_by[{i}]"),
                        format!("duplicated label {label:?} in group_by"),
                    ));
                }
            }
            if self.groups_by_all() && group_by.len() > 1 {
                return Err(ConfigError::at(
                    "group_by",
                    "cannot have wildcard group_by (`...`) and other labels at the same time",
                ));
            }
        }
        if self.group_interval.is_some_and(Duration::is_zero) {
            return Err(ConfigError::at(
                "group_interval",
                "group_interval cannot be zero",
            ));
        }
        if self.repeat_interval.is_some_and(Duration::is_zero) {
            return Err(ConfigError::at(
                "repeat_interval",
                "repeat_interval cannot be zero",
            ));
        }
        for (i, child) in self.routes.iter().enumerate() {
            child
                .validate()
                .map_err(|e| e.under(&format!("routes[{i}]")))?;
        }
        Ok(())
    }

    /// Visits this node and every descendant with its path relative to this node
    /// (`""` for this node, `routes[1].routes[0]` for a grandchild).
    pub fn walk<'a>(
        &'a self,
        path: &str,
        visit: &mut impl FnMut(&str, &'a Route) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError> {
        visit(path, self)?;
        for (i, child) in self.routes.iter().enumerate() {
            let child_path = super::error::join_path(path, &format!("routes[{i}]"));
            child.walk(&child_path, visit)?;
        }
        Ok(())
    }
}
