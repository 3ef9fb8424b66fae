#![allow(clippy::unwrap_used)]
//! Golden tests: realistic notification templates render byte for byte like
//! `amtool template render` (Debian's 0.25 and upstream 0.34 when present),
//! both with amtool's built-in example data and with data from a JSON file.

mod support;

use std::path::{Path, PathBuf};

use larum_engine::template::{Mode, Templates};

use support::amtool::{self, DEBIAN_AMTOOL, Render, upstream_amtool};

/// Which amtool versions a case is compared with.
#[derive(Clone, Copy, PartialEq)]
enum Versions {
    /// Both 0.25 and 0.34.
    Both,
    /// Only 0.34 (uses functions 0.25 lacks).
    V034,
}

/// Which data a case renders.
#[derive(Clone, Copy, PartialEq)]
enum DataSrc {
    /// amtool's built-in example data.
    Example,
    /// `DATA_JSON` through `--template.data` (upstream 0.34's flag).
    Json,
}

struct Case {
    name: &'static str,
    file: &'static str,
    text: &'static str,
    mode: Mode,
    data: DataSrc,
    versions: Versions,
}

const DATA_JSON: &str = r#"{
  "receiver": "team-sre\\.pager",
  "status": "firing",
  "alerts": [
    {"status": "firing",
     "labels": {"alertname": "HighCPU", "severity": "critical", "instance": "db-1:9100", "job": "node", "team": "sre"},
     "annotations": {"summary": "CPU usage above 90% on db-1", "description": "CPU has been > 90% for 10m.\nCheck <top> & \"load\".", "runbook_url": "https://runbooks.example.com/cpu?x=1&y=2"},
     "startsAt": "2024-03-05T10:04:05.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prometheus:9090/graph?g0.expr=cpu+%3E+0.9&g0.tab=1", "fingerprint": "0a1b2c3d4e5f6789"},
    {"status": "firing",
     "labels": {"alertname": "HighCPU", "severity": "warning", "instance": "db-2:9100", "job": "node", "team": "sre"},
     "annotations": {"summary": "CPU usage above 80% on db-2"},
     "startsAt": "2024-03-05T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prometheus:9090/graph?g0.expr=cpu", "fingerprint": "1111222233334444"},
    {"status": "resolved",
     "labels": {"alertname": "HighCPU", "severity": "warning", "instance": "web-1:9100", "job": "node", "team": "sre"},
     "annotations": {"summary": "CPU usage above 80% on web-1", "description": "Back to normal."},
     "startsAt": "2024-03-05T08:30:00Z", "endsAt": "2024-03-05T09:45:30.5Z",
     "generatorURL": "", "fingerprint": "5555666677778888"}
  ],
  "groupLabels": {"alertname": "HighCPU", "team": "sre"},
  "commonLabels": {"alertname": "HighCPU", "job": "node", "team": "sre"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager.example.com:9093",
  "notification_reason": "new alerts"
}"#;

const SLACK_FILE: &str = r#"
{{/* Slack templates in the style of the community's alertmanager-slack examples */}}
{{ define "slack.custom.title" -}}
[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) -}}
({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }})
{{- end }}
{{- end }}

{{ define "slack.custom.text" -}}
{{ range $i, $a := .Alerts -}}
{{ if $i }}
{{ end -}}
*Alert:* {{ $a.Labels.alertname }}{{ if $a.Labels.severity }} - `{{ $a.Labels.severity }}`{{ end }}
*Status:* {{ $a.Status }}
{{- with $a.Annotations.summary }}
*Summary:* {{ . }}{{ end }}
*Details:*
{{ range $a.Labels.SortedPairs }}  • *{{ .Name }}:* `{{ .Value }}`
{{ end -}}
{{ end -}}
{{ end }}
"#;

const PD_FILE: &str = r#"
{{ define "pd.description" }}{{ template "pd.prefix" . }}{{ .CommonLabels.alertname }}{{ if .CommonLabels.job }} on {{ .CommonLabels.job }}{{ end }}{{ end }}
{{ define "pd.prefix" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ end }}
{{- define "pd.details" -}}
{{- $firing := .Alerts.Firing -}}
{{- $resolved := .Alerts.Resolved -}}
firing={{ len $firing }} resolved={{ len $resolved }}
{{- range $index, $alert := $firing }}
#{{ $index }} {{ $alert.Labels.instance }} severity={{ index $alert.Labels "severity" }}
{{- end }}
{{ end -}}
"#;

const EMAIL_FILE: &str = r#"
{{ define "email.custom.subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }}{{ end }}
{{ define "email.custom.html" -}}
<html><head><title>{{ template "email.custom.subject" . }}</title></head>
<body>
<!-- this comment is dropped by html/template -->
<h1 class="{{ .Status }}">{{ len .Alerts }} alert{{ if gt (len .Alerts) 1 }}s{{ end }} for {{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}</h1>
<a href="{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}">View in Alertmanager</a>
{{ if gt (len .Alerts.Firing) 0 }}<h2>[{{ .Alerts.Firing | len }}] Firing</h2>
{{ range .Alerts.Firing -}}
<p><b>Labels</b><br/>
{{ range .Labels.SortedPairs }}{{ .Name }} = {{ .Value }}<br />
{{ end }}{{ if .Annotations }}<b>Annotations</b><br/>
{{ range .Annotations.SortedPairs }}{{ .Name }} = {{ .Value }}<br />
{{ end }}{{ end }}<a href="{{ .GeneratorURL }}">Source</a></p>
{{ end }}{{ end }}
{{- if .Alerts.Resolved }}<h2>[{{ .Alerts.Resolved | len }}] Resolved</h2>
{{ range .Alerts.Resolved }}<p title="{{ .Labels.instance }}">{{ .Labels.alertname }} on {{ .Labels.instance }}</p>
{{ end }}{{ end -}}
</body></html>
{{- end }}
"#;

const MISC_FILE: &str = r#"
{{ define "misc.block" }}{{ block "misc.inner" . }}default inner {{ .Receiver }}{{ end }}{{ end }}
{{ define "misc.loop" -}}
{{ range $i, $a := .Alerts }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ if eq $a.Status "resolved" }}{{ continue }}{{ end }}{{ $i }}:{{ $a.Labels.instance }} {{ end }}
{{- end }}
"#;

fn cases() -> Vec<Case> {
    use DataSrc::*;
    use Versions::*;
    let c = |name, file, text, mode, data, versions| Case {
        name,
        file,
        text,
        mode,
        data,
        versions,
    };
    vec![
        c(
            "slack title, example data",
            SLACK_FILE,
            r#"{{ template "slack.custom.title" . }}"#,
            Mode::Text,
            Example,
            Both,
        ),
        c(
            "slack text, example data",
            SLACK_FILE,
            r#"{{ template "slack.custom.text" . }}"#,
            Mode::Text,
            Example,
            Both,
        ),
        c(
            "slack title, json data",
            SLACK_FILE,
            r#"{{ template "slack.custom.title" . }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "slack text, json data",
            SLACK_FILE,
            r#"{{ template "slack.custom.text" . }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "pagerduty description and details",
            PD_FILE,
            r#"{{ template "pd.description" . }}|{{ template "pd.details" . }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "pagerduty example data",
            PD_FILE,
            r#"{{ template "pd.description" . }}|{{ template "pd.details" . }}"#,
            Mode::Text,
            Example,
            Both,
        ),
        c(
            "email subject and html, json data",
            EMAIL_FILE,
            r#"{{ template "email.custom.subject" . }}
{{ template "email.custom.html" . }}"#,
            Mode::Html,
            Json,
            V034,
        ),
        c(
            "email html, example data",
            EMAIL_FILE,
            r#"{{ template "email.custom.html" . }}"#,
            Mode::Html,
            Example,
            Both,
        ),
        c(
            "times and durations",
            MISC_FILE,
            r#"{{ range .Alerts }}{{ .StartsAt }}|{{ .EndsAt }}|{{ .StartsAt.Format "2006-01-02T15:04:05Z07:00" }}|{{ .StartsAt.Format "Mon Jan _2 3:04PM MST 2006" }}|{{ .StartsAt.Unix }}|{{ .EndsAt.IsZero }}|{{ .StartsAt.UTC.Format "15:04:05.000" }}|{{ if not .EndsAt.IsZero }}{{ .EndsAt.Sub .StartsAt }}{{ end }}
{{ end }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "printf and print verbs",
            MISC_FILE,
            r#"{{ printf "%s|%d|%5.2f|%-6s|%q|%v|%x|%05d|%t|%%|%T" .Receiver (len .Alerts) 3.14159 "ab" "q\"t" .GroupLabels 255 42 true .Alerts }}
{{ print "a" 1 2 "b" 3.5 nil }}{{ println 1 "x" 2 }}{{ printf "%d %s" 1 }}{{ printf "%v" .CommonLabels.SortedPairs }} {{ .CommonLabels }} {{ .CommonLabels.Names }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "comparisons and logic",
            MISC_FILE,
            r#"{{ if and .Alerts (eq .Status "firing" "resolved") }}A{{ end }}{{ or "" 0 "x" }}{{ and 1 0 2 }}{{ not .Alerts }}{{ if lt 1 2 }}B{{ end }}{{ if le 2 2 }}C{{ end }}{{ if ge 3.5 1.5 }}D{{ end }}{{ if ne .Receiver "x" }}E{{ end }}{{ if gt "b" "a" }}F{{ end }}{{ eq .CommonLabels.missing "" }}"#,
            Mode::Text,
            Example,
            Both,
        ),
        c(
            "variables, with, else if, block",
            MISC_FILE,
            r#"{{ $x := 1 }}{{ if .Alerts }}{{ $x = 2 }}{{ end }}{{ $x }}{{ with .CommonLabels.nope }}no{{ else with .CommonLabels.alertname }}{{ . }}{{ else }}none{{ end }}{{ if eq .Status "x" }}x{{ else if eq .Status "firing" }}f{{ else }}o{{ end }}|{{ template "misc.block" . }}|{{ template "misc.loop" . }}|{{ range $k, $v := .GroupLabels }}{{ $k }}={{ $v }};{{ end }}{{ range .CommonAnnotations }}x{{ else }}empty{{ end }}{{ range 3 }}{{ . }}{{ end }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "alertmanager string functions",
            MISC_FILE,
            r#"{{ title "hello wORLD foo-bar" }}|{{ toLower "ABC" }}|{{ trimSpace "  x  " }}|{{ match "^db-\\d+" (index .Alerts 0).Labels.instance }}|{{ reReplaceAll "(\\w+)-(\\d+):\\d+" "$2.$1" (index .Alerts 1).Labels.instance }}|{{ join "," (stringSlice "a" "b") }}|{{ .CommonLabels.Values.Join "/" }}|{{ urlUnescape "a%20b+c" }}|{{ base64encode "hi?>" }}|{{ base64decode "aGk_Pg==" }}|{{ humanizeDuration 3723 }}|{{ humanizeDuration 0.0012 }}|{{ toJson .GroupLabels }}|{{ toJson (list 1 "a" 2.5 nil) }}|{{ (dict "a" 1 "b" (list 2)).b }}|{{ append (list 1) 2 3 }}|{{ (toDate "2006-01-02" "2024-03-05").Format "Jan 2" }}|{{ date "15:04" (index .Alerts 0).StartsAt }}|{{ (index .Alerts 0).StartsAt | tz "Europe/Paris" }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "index, slice, len, html, js, urlquery",
            MISC_FILE,
            r#"{{ len (index .Alerts 1).Labels }}|{{ len (slice .Alerts 1) }}|{{ (index (slice .Alerts 1 3) 1).Fingerprint }}|{{ index (dict "a" (dict "b" "deep")) "a" "b" }}|{{ .Receiver | html }}|<{{ "<x>" | html }}>"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "builtin escapers and indexing",
            MISC_FILE,
            r#"{{ index (index .Alerts 0).Labels "instance" }}|{{ slice .Receiver 0 4 }}|{{ slice (stringSlice "a" "b" "c") 1 }}|{{ len .Receiver }}|{{ html "<a href='x'>&</a>" }}|{{ js "it's <b>" }}|{{ urlquery "a b&c" }}|{{ index "abc" 1 }}|{{ .CommonLabels.nope }}|{{ (dict "a" 1).missing }}"#,
            Mode::Text,
            Json,
            V034,
        ),
        c(
            "html escaping contexts",
            MISC_FILE,
            r#"<a href="{{ .ExternalURL }}/?q={{ "a b&c" }}" title='{{ "x'y" }}'>{{ "<b>" }}{{ safeHtml "<i>" }}</a><a href="{{ "javascript:alert(1)" }}">x</a><a href="{{ safeUrl "javascript:ok()" }}">y</a><p data-x={{ "u v" }} onclick="f({{ .Receiver }})" style="color: {{ "red" }}">{{ 1.5 }}</p><script>var x = {{ .GroupLabels }}; var y = "{{ "a\"b" }}";</script><textarea>{{ safeHtml "<x>" }}</textarea>"#,
            Mode::Html,
            Json,
            V034,
        ),
        c(
            "trim markers and comments",
            MISC_FILE,
            "a  {{- /* comment */ -}}  b {{- 1 -}}\n\n c {{/* x */}} d\n{{- \"e\" }}",
            Mode::Text,
            Example,
            Both,
        ),
        c(
            "raw strings, chars and numbers",
            MISC_FILE,
            "{{ `raw\\n` }}|{{ 'a' }}|{{ 0x1F }}|{{ 1e3 }}|{{ -2 }}|{{ 1_000 }}|{{ 0.5 }}|{{ printf \"%c\" 'x' }}|{{ true }}|{{ (1) }}",
            Mode::Text,
            Example,
            Both,
        ),
    ]
}

fn amtool(bin: &Path, dir: &Path, case: &Case) -> Result<String, String> {
    let data = dir.join("data.json");
    amtool::render(
        bin,
        &Render {
            globs: vec![dir.join("*.tmpl").display().to_string()],
            text: case.text,
            mode: case.mode,
            data: (case.data == DataSrc::Json).then_some(data.as_path()),
        },
    )
}

fn ours(dir: &Path, case: &Case, v034: bool) -> String {
    let mut set = Templates::new();
    set.parse_file(&dir.join("case.tmpl")).unwrap();
    let data = match case.data {
        DataSrc::Example => amtool::example(v034),
        DataSrc::Json => amtool::json(DATA_JSON),
    };
    set.render(case.text, &data, case.mode)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

#[test]
fn renders_like_amtool() {
    // SAFETY-free: set TZ for our process so local time is UTC like amtool's.
    assert!(
        Path::new(DEBIAN_AMTOOL).exists(),
        "Debian's amtool is missing at {DEBIAN_AMTOOL}: install the prometheus-alertmanager package (scripts/install-test-deps.sh)"
    );
    let upstream = upstream_amtool();
    if upstream.is_none() {
        eprintln!(
            "upstream amtool v0.34 not found (run scripts/upstream-alertmanager.sh); comparing with Debian's 0.25 only"
        );
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("case.tmpl"), case.file).unwrap();
        std::fs::write(dir.path().join("data.json"), DATA_JSON).unwrap();
        let mut targets: Vec<(PathBuf, bool)> = Vec::new();
        if case.versions == Versions::Both && case.data == DataSrc::Example {
            targets.push((PathBuf::from(DEBIAN_AMTOOL), false));
        }
        if let Some(u) = &upstream {
            targets.push((u.clone(), true));
        }
        for (bin, v034) in targets {
            let want = match amtool(&bin, dir.path(), &case) {
                Ok(w) => w,
                Err(e) => {
                    failures.push(format!(
                        "{} ({}): amtool failed: {e}",
                        case.name,
                        bin.display()
                    ));
                    continue;
                }
            };
            let got = ours(dir.path(), &case, v034);
            compared += 1;
            if got != want {
                failures.push(format!(
                    "{} ({}):\n--- amtool\n{want}\n--- larum\n{got}\n",
                    case.name,
                    bin.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} renders differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared >= 15, "only {compared} comparisons ran");
}
