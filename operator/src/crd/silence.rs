//! The Silence resource: a declarative silence, rendered into the engine's silences file.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, DURATION_MESSAGE, DURATION_RULE, Matcher, TIMESTAMP_MESSAGE, TIMESTAMP_RULE,
};

/// A Silence: mutes the alerts of its namespace (of every namespace in the admin
/// namespace) that match all matchers, from `startsAt` (default: creation) until
/// `endsAt` or for `duration`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "larum.dev",
    version = "v1alpha1",
    kind = "Silence",
    namespaced,
    status = "SilenceStatus",
    shortname = "sil",
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Starts","type":"string","jsonPath":".status.startsAt"}"#,
    printcolumn = r#"{"name":"Ends","type":"string","jsonPath":".status.endsAt"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("has(self.endsAt) || has(self.duration)").message("set endsAt or duration"),
    validation = Rule::new("!(has(self.endsAt) && has(self.duration))").message("set only one of endsAt and duration"),
    validation = Rule::new("!has(self.startsAt) || !has(self.endsAt) || timestamp(self.endsAt) > timestamp(self.startsAt)").message("endsAt must be after startsAt"),
)]
pub struct SilenceSpec {
    /// Matchers; an alert is muted when it satisfies all of them.
    #[x_kube(validation = Rule::new("size(self) > 0").message("at least one matcher is required"))]
    #[schemars(length(max = 32))]
    pub matchers: Vec<Matcher>,
    /// Start (RFC 3339); default: the resource's creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(TIMESTAMP_RULE).message(TIMESTAMP_MESSAGE))]
    #[schemars(length(max = 64))]
    pub starts_at: Option<String>,
    /// End (RFC 3339). Exclusive with `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(TIMESTAMP_RULE).message(TIMESTAMP_MESSAGE))]
    #[schemars(length(max = 64))]
    pub ends_at: Option<String>,
    /// Length from the start, e.g. `2h`. Exclusive with `endsAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(DURATION_RULE).message(DURATION_MESSAGE))]
    #[schemars(length(max = 32))]
    pub duration: Option<String>,
    /// Why the alerts are muted.
    #[serde(default)]
    pub comment: String,
    /// Who asked for it.
    #[serde(default)]
    pub created_by: String,
}

/// Where a silence is in its life.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    /// Muting alerts now.
    Active,
    /// Over.
    Expired,
}

impl SilenceState {
    /// The state's name as shown in the status.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// Status of a Silence.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SilenceStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The engine's silence ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_id: Option<String>,
    /// `pending`, `active` or `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SilenceState>,
    /// The effective start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// The effective end (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// How many alerts it mutes now (from the engine's API), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_alerts: Option<i32>,
    /// `Accepted` and `Loaded`.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}
