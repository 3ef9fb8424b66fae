//! The built-in templates, under upstream's names, parsed once.
//!
//! Each integration's defaults (`slack.default.title`, ...) are a Go template file
//! beside this one (`slack.tmpl`, ...); the shared pieces (`__subject`,
//! `__text_alert_list`, ...) are in `common.tmpl`. Template files of a config are
//! parsed after these, so a user's `define` of the same name wins, as with
//! upstream's `default.tmpl`. Their output equals upstream v0.34's for the same data
//! (checked against `amtool template render` in `tests/template_defaults.rs`).

use std::sync::{Arc, OnceLock};

use crate::template::Templates;

/// Templates every integration builds on (`__subject`, `__alertmanagerURL`, ...).
pub const COMMON: &str = include_str!("common.tmpl");

/// Every built-in template source, as (name, text), in parse order.
pub const SOURCES: &[(&str, &str)] = &[
    ("common.tmpl", COMMON),
    ("discord.tmpl", include_str!("discord.tmpl")),
    ("email.tmpl", include_str!("email.tmpl")),
    ("jira.tmpl", include_str!("jira.tmpl")),
    ("mattermost.tmpl", include_str!("mattermost.tmpl")),
    ("msteams.tmpl", include_str!("msteams.tmpl")),
    ("msteamsv2.tmpl", include_str!("msteamsv2.tmpl")),
    ("opsgenie.tmpl", include_str!("opsgenie.tmpl")),
    ("pagerduty.tmpl", include_str!("pagerduty.tmpl")),
    ("pushover.tmpl", include_str!("pushover.tmpl")),
    ("rocketchat.tmpl", include_str!("rocketchat.tmpl")),
    ("slack.tmpl", include_str!("slack.tmpl")),
    ("sns.tmpl", include_str!("sns.tmpl")),
    ("telegram.tmpl", include_str!("telegram.tmpl")),
    ("victorops.tmpl", include_str!("victorops.tmpl")),
    ("webex.tmpl", include_str!("webex.tmpl")),
    ("wechat.tmpl", include_str!("wechat.tmpl")),
];

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

    /// Renders `name` of the defaults against JSON data with alerts of the given
    /// (status, severity) pairs.
    fn render(name: &str, alerts: &[(&str, &str)], mode: Mode) -> String {
        let list: Vec<String> = alerts
            .iter()
            .map(|(status, severity)| {
                format!(
                    r#"{{"status":"{status}","labels":{{"alertname":"A","severity":"{severity}"}},
                        "annotations":{{"summary":"x < y"}},"generatorURL":"http://prom/g?a=1&b=2"}}"#
                )
            })
            .collect();
        let json = format!(
            r#"{{"receiver":"r","status":"firing","groupLabels":{{"alertname":"A"}},
                "commonLabels":{{"alertname":"A"}},"externalURL":"http://am",
                "commonAnnotations":{{"summary":"x < y"}},
                "alerts":[{}]}}"#,
            list.join(",")
        );
        let data = crate::template::Data::from_json(&json).unwrap();
        default_templates()
            .execute_named(name, &Value::from(data), mode)
            .unwrap()
    }

    #[test]
    fn jira_priority_is_the_highest_severity_firing_then_resolved() {
        let p = |alerts: &[(&str, &str)]| render("jira.default.priority", alerts, Mode::Text);
        assert_eq!(p(&[("firing", "info"), ("firing", "critical")]), "High");
        assert_eq!(p(&[("firing", "critical"), ("firing", "warning")]), "High");
        assert_eq!(p(&[("firing", "info"), ("firing", "warning")]), "Medium");
        assert_eq!(p(&[("firing", "info"), ("resolved", "critical")]), "Low");
        // No firing alert has a known severity: the resolved ones decide.
        assert_eq!(p(&[("firing", "page"), ("resolved", "warning")]), "Medium");
        assert_eq!(p(&[("firing", "page")]), "");
    }

    #[test]
    fn sections_list_firing_then_resolved_alerts() {
        let out = render(
            "opsgenie.default.description",
            &[("firing", "info"), ("resolved", "warning")],
            Mode::Text,
        );
        assert_eq!(
            out,
            "x < y\nAlerts Firing:\nLabels:\n - alertname = A\n - severity = info\n\
             Annotations:\n - summary = x < y\nSource: http://prom/g?a=1&b=2\n\n\
             Alerts Resolved:\nLabels:\n - alertname = A\n - severity = warning\n\
             Annotations:\n - summary = x < y\nSource: http://prom/g?a=1&b=2\n"
        );
        let colors = |alerts: &[(&str, &str)]| render("slack.default.color", alerts, Mode::Text);
        assert_eq!(colors(&[("firing", "info")]), "danger");
    }

    #[test]
    fn email_html_escapes_values_for_their_context() {
        let out = render("email.default.html", &[("firing", "info")], Mode::Html);
        assert!(out.contains("<title>[FIRING:1] A </title>"), "{out}");
        assert!(out.contains("summary = x &lt; y<br"), "{out}");
        assert!(
            out.contains(r#"<a href="http://prom/g?a=1&amp;b=2""#),
            "{out}"
        );
        assert!(
            out.contains(r#"<a href="http://am/#/alerts?receiver=r""#),
            "{out}"
        );
    }
}
