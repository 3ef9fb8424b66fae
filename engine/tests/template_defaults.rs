#![allow(clippy::unwrap_used)]
//! Golden test: every default template upstream Alertmanager v0.34 defines renders byte for
//! byte like upstream's `amtool template render`, with amtool's example data and with data
//! files of our own (firing and resolved mixes, no group labels, empty external URL, escaping).

mod support;

use std::path::{Path, PathBuf};

use larum_engine::notify::integrations::defaults::default_templates;
use larum_engine::template::{Mode, Templates};

use support::amtool::{self, Render};

/// Every `define` of upstream v0.34's template/default.tmpl and template/email.tmpl.
const UPSTREAM_NAMES: &[&str] = &[
    "__alertmanager",
    "__alertmanagerURL",
    "__subject",
    "__description",
    "__text_alert_list",
    "__text_alert_list_markdown",
    "slack.default.title",
    "slack.default.username",
    "slack.default.fallback",
    "slack.default.callbackid",
    "slack.default.pretext",
    "slack.default.titlelink",
    "slack.default.iconemoji",
    "slack.default.iconurl",
    "slack.default.text",
    "slack.default.footer",
    "slack.default.color",
    "pagerduty.default.description",
    "pagerduty.default.client",
    "pagerduty.default.clientURL",
    "pagerduty.default.instances",
    "opsgenie.default.message",
    "opsgenie.default.description",
    "opsgenie.default.source",
    "wechat.default.message",
    "wechat.default.to_user",
    "wechat.default.to_party",
    "wechat.default.to_tag",
    "wechat.default.agent_id",
    "victorops.default.state_message",
    "victorops.default.entity_display_name",
    "victorops.default.monitoring_tool",
    "pushover.default.title",
    "pushover.default.message",
    "pushover.default.url",
    "sns.default.subject",
    "sns.default.message",
    "telegram.default.message",
    "discord.default.content",
    "discord.default.title",
    "discord.default.message",
    "webex.default.message",
    "msteams.default.summary",
    "msteams.default.title",
    "msteams.default.text",
    "msteamsv2.default.title",
    "msteamsv2.default.text",
    "jira.default.summary",
    "jira.default.description",
    "jira.default.priority",
    "rocketchat.default.title",
    "rocketchat.default.alias",
    "rocketchat.default.titlelink",
    "rocketchat.default.emoji",
    "rocketchat.default.iconurl",
    "rocketchat.default.text",
    "mattermost.default.color",
    "mattermost.default.username",
    "mattermost.default.title",
    "mattermost.default.titlelink",
    "mattermost.default.fallback",
    "mattermost.default.text",
    "email.default.subject",
    "email.default.html",
];

/// Our data files (`--template.data`), in tests/fixtures/template.
const DATA_FILES: &[&str] = &[
    "firing_mixed.json",
    "resolved_single.json",
    "firing_sparse.json",
    "fallback_priority.json",
];

/// A user's template file redefining the shared pieces: the defaults built on them must
/// follow, as upstream's do.
const OVERRIDES: &str = r#"
{{ define "__subject" }}<{{ .Status }}> {{ .CommonLabels.alertname }}{{ end }}
{{ define "__alertmanager" }}AM & co{{ end }}
{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/custom?r={{ .Receiver }}{{ end }}
{{ define "__text_alert_list" }}{{ range . }}* {{ .Labels.alertname }} {{ .Status }}
{{ end }}{{ end }}
{{ define "__text_alert_list_markdown" }}{{ range . }}- **{{ .Labels.alertname }}**
{{ end }}{{ end }}
{{ define "slack.default.title" }}slack: {{ template "__subject" . }}{{ end }}
{{ define "mattermost.default.titlelink" }}https://mm.example.org{{ end }}
"#;

/// The text that renders `name`: the alert-list templates take a list of alerts, the
/// others the whole notification data.
fn text_for(name: &str) -> String {
    match name {
        "__text_alert_list" | "__text_alert_list_markdown" | "pagerduty.default.instances" => {
            format!(r#"{{{{ template "{name}" .Alerts }}}}"#)
        }
        _ => format!(r#"{{{{ template "{name}" . }}}}"#),
    }
}

fn mode_for(name: &str) -> Mode {
    if name == "email.default.html" {
        Mode::Html
    } else {
        Mode::Text
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/template")
        .join(name)
}

#[test]
fn every_upstream_name_is_defined() {
    let set = default_templates();
    let missing: Vec<&str> = UPSTREAM_NAMES
        .iter()
        .copied()
        .filter(|n| !set.has(n))
        .collect();
    assert!(missing.is_empty(), "not defined: {missing:?}");
}

/// Compares every upstream name rendered by upstream's amtool (with `globs`) and by
/// `set`, for amtool's example data and each data file; returns the differences and
/// the number of comparisons.
fn compare_all(bin: &Path, globs: &[String], set: &Templates, what: &str) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut sources: Vec<(String, Option<PathBuf>)> = vec![("example data".into(), None)];
    sources.extend(DATA_FILES.iter().map(|f| (f.to_string(), Some(fixture(f)))));
    for (source, file) in &sources {
        let data = match file {
            None => amtool::example(true),
            Some(f) => amtool::json(&std::fs::read_to_string(f).unwrap()),
        };
        for name in UPSTREAM_NAMES {
            let text = text_for(name);
            let mode = mode_for(name);
            let want = amtool::render(
                bin,
                &Render {
                    globs: globs.to_vec(),
                    text: &text,
                    mode,
                    data: file.as_deref(),
                },
            );
            let want = match want {
                Ok(w) => w,
                Err(e) => {
                    failures.push(format!("{name} with {source}{what}: amtool failed: {e}"));
                    continue;
                }
            };
            compared += 1;
            match set.render(&text, &data, mode) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "{name} with {source}{what}:\n--- amtool\n{want}\n--- larum\n{got}\n"
                )),
                Err(e) => failures.push(format!("{name} with {source}{what}: larum failed: {e}")),
            }
        }
    }
    (failures, compared)
}

#[test]
fn defaults_render_like_upstream_amtool() {
    let Some(bin) = amtool::upstream_amtool() else {
        eprintln!(
            "skipping: upstream amtool v0.34 not found (run scripts/upstream-alertmanager.sh)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.tmpl");
    std::fs::write(&empty, "").unwrap();
    let (failures, compared) = compare_all(
        &bin,
        &[empty.display().to_string()],
        &default_templates(),
        "",
    );
    assert!(
        failures.is_empty(),
        "{} of {compared} renders differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(compared, UPSTREAM_NAMES.len() * (DATA_FILES.len() + 1));
}

#[test]
fn defaults_follow_overridden_pieces_like_upstream() {
    let Some(bin) = amtool::upstream_amtool() else {
        eprintln!(
            "skipping: upstream amtool v0.34 not found (run scripts/upstream-alertmanager.sh)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.tmpl");
    std::fs::write(&file, OVERRIDES).unwrap();
    let mut set = (*default_templates()).clone();
    set.parse_file(&file).unwrap();
    let (failures, compared) =
        compare_all(&bin, &[file.display().to_string()], &set, " and overrides");
    assert!(
        failures.is_empty(),
        "{} of {compared} renders differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(compared, UPSTREAM_NAMES.len() * (DATA_FILES.len() + 1));
}
