//! The built-in templates, under upstream's names, parsed once.
//!
//! The shared pieces (`__subject`, `__text_alert_list`, ...) are here; each
//! integration keeps its own defaults (`slack.default.title`, ...) in its file as a
//! `DEFAULT_TEMPLATES` constant and lists it in [`SOURCES`]. Template files of a
//! config are parsed after these, so a user's `define` of the same name wins, as
//! with upstream's `default.tmpl`.

use std::sync::{Arc, OnceLock};

use crate::template::Templates;

/// Templates every integration builds on. Their output equals upstream's for the
/// same data (checked against `amtool template render` in `template_defaults.rs`).
pub const COMMON: &str = r#"
{{ define "__alertmanager" }}Alertmanager{{ end }}
{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}{{ end }}
{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "__description" }}{{ end }}
{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}
{{ define "__text_alert_list_markdown" }}{{ range . }}
Labels:
{{ range .Labels.SortedPairs }}  - {{ .Name }} = {{ .Value }}
{{ end }}
Annotations:
{{ range .Annotations.SortedPairs }}  - {{ .Name }} = {{ .Value }}
{{ end }}
Source: {{ .GeneratorURL }}
{{ end }}{{ end }}
"#;

/// Every built-in template source, as (name, text), in parse order.
pub const SOURCES: &[(&str, &str)] = &[("default.tmpl", COMMON)];

/// The built-in templates (parsed on first use; cheap to clone, the parsed trees are
/// shared).
pub fn default_templates() -> Arc<Templates> {
    static DEFAULTS: OnceLock<Arc<Templates>> = OnceLock::new();
    DEFAULTS
        .get_or_init(|| {
            let mut set = Templates::new();
            for (name, text) in SOURCES {
                if let Err(e) = set.parse(name, text) {
                    // Only a programming error gets here; the unit test below catches it.
                    tracing::error!(template = name, err = %e, "built-in template does not parse");
                }
            }
            Arc::new(set)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Mode, Value};

    #[test]
    fn every_builtin_source_parses() {
        for (name, text) in SOURCES {
            let mut set = Templates::new();
            set.parse(name, text)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn subject_names_status_count_and_group() {
        let data = crate::template::Data::from_json(
            r#"{"receiver":"r","status":"firing","groupLabels":{"alertname":"Down"},
                "commonLabels":{"alertname":"Down","job":"node"},
                "alerts":[{"status":"firing","labels":{"alertname":"Down","job":"node"}},
                          {"status":"resolved","labels":{"alertname":"Down","job":"node"}}]}"#,
        )
        .unwrap();
        let set = default_templates();
        let out = set
            .execute_named("__subject", &Value::from(data), Mode::Text)
            .unwrap();
        assert_eq!(out, "[FIRING:1] Down (node)");
    }
}
