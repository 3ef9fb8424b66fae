//! The custom resources (group `larum.dev`, version `v1alpha1`) and their CRDs.

pub mod alert_route;
pub mod common;
pub mod inhibit_rule;
pub mod silence;

pub use alert_route::{AlertRoute, AlertRouteSpec, RouteNode};
pub use common::{Condition, MatchType, Matcher, ResourceStatus, SecretKeyRef};
pub use inhibit_rule::{InhibitRule, InhibitRuleSpec};
pub use silence::{Silence, SilenceSpec, SilenceState, SilenceStatus};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// Every CRD with its file name under `crds/`.
pub fn all() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("alertroutes.larum.dev.yaml", AlertRoute::crd()),
        ("inhibitrules.larum.dev.yaml", InhibitRule::crd()),
        ("silences.larum.dev.yaml", Silence::crd()),
    ]
}

/// A CRD as YAML, as written to `crds/`.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(crd)
}

/// Writes every CRD into `dir` (`make crds`); returns the paths written.
pub fn write_all(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (file, crd) in all() {
        let path = dir.join(file);
        std::fs::write(&path, to_yaml(&crd)?)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn crd_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds")
    }

    /// `crds/*.yaml` must be what the Rust types generate: run `make crds` after a change.
    #[test]
    fn crd_files_are_up_to_date() {
        for (file, crd) in all() {
            let want = to_yaml(&crd).unwrap();
            let path = crd_dir().join(file);
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{} is stale or missing: run `make crds`",
                path.display()
            );
        }
    }

    #[test]
    fn crds_have_status_short_names_and_columns() {
        let crds = all();
        let names: Vec<_> = crds
            .iter()
            .map(|(_, c)| c.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "alertroutes.larum.dev",
                "inhibitrules.larum.dev",
                "silences.larum.dev"
            ]
        );
        for (_, crd) in &crds {
            assert_eq!(crd.spec.scope, "Namespaced");
            let v = &crd.spec.versions[0];
            assert_eq!(v.name, "v1alpha1");
            assert!(v.subresources.as_ref().unwrap().status.is_some());
            assert!(!crd.spec.names.short_names.as_ref().unwrap().is_empty());
            let cols: Vec<_> = v
                .additional_printer_columns
                .as_ref()
                .unwrap()
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            if crd.spec.names.kind == "Silence" {
                assert_eq!(cols, ["State", "Starts", "Ends", "Age"]);
            } else {
                assert_eq!(cols, ["Accepted", "Loaded", "Age"]);
            }
            let text = serde_json::to_string(v.schema.as_ref().unwrap()).unwrap();
            assert!(!text.contains("$ref"), "structural schemas forbid $ref");
            assert!(
                !text.contains("x-kubernetes-preserve-unknown-fields"),
                "no untyped JSON in {}",
                crd.spec.names.kind
            );
            assert!(text.contains(r#""x-kubernetes-list-map-keys":["type"]"#));
        }
    }

    #[test]
    fn child_routes_are_typed_four_levels_deep() {
        let crd = AlertRoute::crd();
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        let mut node = &schema["openAPIV3Schema"]["properties"]["spec"];
        for level in 1..=4 {
            node = &node["properties"]["routes"]["items"];
            assert_eq!(node["type"], "object", "level {level}");
            assert!(node["properties"]["groupWait"]["x-kubernetes-validations"].is_array());
        }
        assert!(
            node["properties"].get("routes").is_none(),
            "level 4 is the deepest"
        );
        // The API server estimates CEL costs from list and string bounds.
        assert!(node["properties"]["matchers"]["maxItems"].is_number());
        assert!(node["properties"]["groupWait"]["maxLength"].is_number());
    }

    #[test]
    fn cel_refuses_bad_silences() {
        let ok = json!({"matchers": [{"name": "alertname", "value": "X"}], "duration": "2h"});
        SilenceSpec::validate_cel(&ok, None).unwrap();
        let cases = [
            (
                json!({"matchers": [], "duration": "2h"}),
                "at least one matcher",
            ),
            (
                json!({"matchers": [{"name": "a", "value": "b"}], "startsAt": "2026-01-02T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z"}),
                "endsAt must be after startsAt",
            ),
            (
                json!({"matchers": [{"name": "a", "value": "b"}], "endsAt": "2026-01-02T00:00:00Z", "duration": "1h"}),
                "only one of endsAt and duration",
            ),
            (
                json!({"matchers": [{"name": "a", "value": "b"}]}),
                "set endsAt or duration",
            ),
            (
                json!({"matchers": [{"name": "a", "value": "b"}], "duration": "2 hours"}),
                "must be a duration",
            ),
            (
                json!({"matchers": [{"name": "a", "value": "b"}], "endsAt": "tomorrow"}),
                "RFC 3339",
            ),
        ];
        for (spec, want) in cases {
            let err = SilenceSpec::validate_cel(&spec, None).unwrap_err();
            assert!(format!("{err:?}").contains(want), "{spec}: {err:?}");
        }
    }

    #[test]
    fn cel_checks_durations_and_matchers_in_routes() {
        for good in ["30s", "5m", "1h30m", "7d", "0", "1y2w", "500ms"] {
            let spec =
                json!({"groupWait": good, "routes": [{"routes": [{"repeatInterval": good}]}]});
            AlertRouteSpec::validate_cel(&spec, None).unwrap();
        }
        for bad in ["", "5", "1.5h", "5 m", "-1h", "1H"] {
            let spec = json!({"routes": [{"routes": [{"groupInterval": bad}]}]});
            assert!(
                AlertRouteSpec::validate_cel(&spec, None).is_err(),
                "{bad:?}"
            );
        }
        let bad_type = json!({"matchers": [{"name": "a", "value": "b", "matchType": "=="}]});
        assert!(AlertRouteSpec::validate_cel(&bad_type, None).is_err());
        let empty = json!({"sourceMatchers": [], "targetMatchers": [{"name": "a", "value": "b"}]});
        assert!(InhibitRuleSpec::validate_cel(&empty, None).is_err());
    }
}
