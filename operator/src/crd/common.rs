//! Types shared by the three resources: matchers, Secret references, status and the
//! CEL rules the API server checks on `kubectl apply`.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// CEL rule for a Prometheus duration (`1h30m`, `5m`, `0`); units y, w, d, h, m, s, ms.
pub const DURATION_RULE: &str = "self != '' && self.matches('^((([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?|0)$')";

/// Message shown when [`DURATION_RULE`] fails.
pub const DURATION_MESSAGE: &str =
    "must be a duration such as 30s, 5m, 1h30m or 7d (units y, w, d, h, m, s, ms)";

/// CEL rule for an RFC 3339 timestamp such as `2026-03-01T22:00:00Z`.
pub const TIMESTAMP_RULE: &str = "self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$')";

/// Message shown when [`TIMESTAMP_RULE`] fails.
pub const TIMESTAMP_MESSAGE: &str = "must be an RFC 3339 timestamp such as 2026-03-01T22:00:00Z";

/// How a matcher compares a label's value.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum MatchType {
    /// Equal.
    #[default]
    #[serde(rename = "=")]
    Equal,
    /// Not equal.
    #[serde(rename = "!=")]
    NotEqual,
    /// Matches the regular expression (anchored, RE2 syntax).
    #[serde(rename = "=~")]
    Regex,
    /// Does not match the regular expression.
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchType {
    /// The operator as written in Alertmanager's matcher syntax.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }

    /// Whether the value is a regular expression.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regex | MatchType::NotRegex)
    }
}

/// One label matcher.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.matchType) || self.matchType in ['=', '!=', '=~', '!~']").message("matchType must be one of =, !=, =~, !~")
)]
pub struct Matcher {
    /// Label name.
    #[schemars(
        length(min = 1, max = 256),
        regex(pattern = r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    )]
    pub name: String,
    /// Value, or regular expression for `=~` and `!~`.
    #[serde(default)]
    #[schemars(length(max = 4096))]
    pub value: String,
    /// Comparison: `=` (default), `!=`, `=~` or `!~`.
    #[serde(default)]
    pub match_type: MatchType,
}

impl Matcher {
    /// A matcher from its parts.
    pub fn new(name: &str, match_type: MatchType, value: &str) -> Self {
        Matcher {
            name: name.to_string(),
            value: value.to_string(),
            match_type,
        }
    }

    /// The matcher in Alertmanager's syntax, e.g. `severity=~"critical|page"`.
    pub fn to_matcher_string(&self) -> String {
        let mut value = String::with_capacity(self.value.len() + 2);
        for c in self.value.chars() {
            match c {
                '"' => value.push_str("\\\""),
                '\\' => value.push_str("\\\\"),
                '\n' => value.push_str("\\n"),
                c => value.push(c),
            }
        }
        format!("{}{}\"{}\"", self.name, self.match_type.as_str(), value)
    }
}

/// A key of a Secret in the resource's own namespace.
#[derive(
    Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, KubeSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret (same namespace as the resource).
    #[x_kube(validation = Rule::new("self != ''").message("must not be empty"))]
    pub name: String,
    /// Key within the Secret's data.
    #[x_kube(validation = Rule::new("self != ''").message("must not be empty"))]
    pub key: String,
}

/// A status condition, like `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Accepted` or `Loaded`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason in CamelCase.
    #[serde(default)]
    pub reason: String,
    /// Human-readable explanation.
    #[serde(default)]
    pub message: String,
    /// When the status last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The generation the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Status of AlertRoute and InhibitRule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Accepted` and `Loaded`.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Condition type: the resource is part of the rendered config.
pub const ACCEPTED: &str = "Accepted";
/// Condition type: every engine replica runs a config that contains the resource.
pub const LOADED: &str = "Loaded";
