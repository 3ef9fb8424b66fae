//! The InhibitRule resource: alerts matching the source mute alerts matching the target.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{Matcher, ResourceStatus};

/// An InhibitRule: while an alert matches `sourceMatchers` (in any namespace), alerts of
/// this namespace matching `targetMatchers` with equal values of the `equal` labels are
/// muted. In the operator's admin namespace, targets in every namespace are muted.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "larum.dev",
    version = "v1alpha1",
    kind = "InhibitRule",
    namespaced,
    status = "ResourceStatus",
    shortname = "ir",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.conditions[?(@.type==\"Accepted\")].status"}"#,
    printcolumn = r#"{"name":"Loaded","type":"string","jsonPath":".status.conditions[?(@.type==\"Loaded\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(cel)]
pub struct InhibitRuleSpec {
    /// Matchers an inhibiting (source) alert must satisfy.
    #[x_kube(validation = Rule::new("size(self) > 0").message("at least one source matcher is required"))]
    #[schemars(length(max = 32))]
    pub source_matchers: Vec<Matcher>,
    /// Matchers a muted (target) alert must satisfy.
    #[x_kube(validation = Rule::new("size(self) > 0").message("at least one target matcher is required"))]
    #[schemars(length(max = 32))]
    pub target_matchers: Vec<Matcher>,
    /// Labels whose values must be equal in source and target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}
