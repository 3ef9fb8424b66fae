//! End-to-end tests of the engine: every construct, function and error
//! message, with expectations taken from Go's text/template and
//! Alertmanager's amtool (v0.34) on the same data.

use std::sync::Arc;

use super::{Data, Error, Mode, Templates, Value};

const DATA: &str = r#"{"receiver":"team-x","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighCPU","severity":"critical","instance":"a:9100"},"annotations":{"summary":"CPU high","description":"CPU > 90%"},"startsAt":"2024-03-05T10:04:05.123456789Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph?g0.expr=x","fingerprint":"abc123"},{"status":"resolved","labels":{"alertname":"HighCPU","severity":"warning","instance":"b:9100"},"annotations":{"summary":"CPU high"},"startsAt":"2024-03-05T09:00:00Z","endsAt":"2024-03-05T10:00:00+02:00","generatorURL":"","fingerprint":"def456"}],"groupLabels":{"alertname":"HighCPU"},"commonLabels":{"alertname":"HighCPU"},"commonAnnotations":{"summary":"CPU high"},"externalURL":"http://am:9093"}"#;

fn data() -> Value {
    Value::Data(Arc::new(Data::from_json(DATA).unwrap()))
}

fn set() -> Templates {
    let mut s = Templates::new();
    s.parse(
        "lib.tmpl",
        r#"{{ define "list" }}{{ range . }}[{{ . }}]{{ end }}{{ end }}{{ define "rec" }}{{ if . }}{{ index . 0 }}{{ template "rec" (slice . 1) }}{{ end }}{{ end }}"#,
    )
    .unwrap();
    s
}

fn render(text: &str) -> String {
    set()
        .render(text, &data(), Mode::Text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn html(text: &str) -> String {
    set()
        .render(text, &data(), Mode::Html)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> String {
    match set().render(text, &data(), Mode::Text) {
        Ok(s) => panic!("{text}: expected an error, got {s:?}"),
        Err(Error::Exec(e)) => e,
        Err(Error::Parse(e)) => e.message,
    }
}

#[test]
fn actions_text_trim_and_comments() {
    assert_eq!(render("a {{- /* c */ -}} b {{ .Receiver }}"), "ab team-x");
    assert_eq!(render("x\n  {{- 1 }}\n{{- 2 -}}\n y"), "x12y");
    assert_eq!(render(""), "");
}

#[test]
fn data_fields_and_methods() {
    assert_eq!(
        render("{{ .Receiver }} {{ .Status }} {{ .ExternalURL }} {{ len .Alerts }}"),
        "team-x firing http://am:9093 2"
    );
    assert_eq!(
        render("{{ len .Alerts.Firing }} {{ len .Alerts.Resolved }}"),
        "1 1"
    );
    assert_eq!(
        render("{{ range .Alerts }}{{ .Labels.SortedPairs }};{{ end }}"),
        "alertname=HighCPU, instance=a:9100, severity=critical;alertname=HighCPU, instance=b:9100, severity=warning;"
    );
    assert_eq!(
        render(
            "{{ (index .Alerts 0).Labels.Names }} {{ (index .Alerts 0).Labels.Values.Join \",\" }}"
        ),
        "[alertname instance severity] HighCPU,a:9100,critical"
    );
    assert_eq!(
        render("{{ ((index .Alerts 0).Labels.Remove .GroupLabels.Names).Names }}"),
        "[instance severity]"
    );
    assert_eq!(
        render(
            "{{ range (index .Alerts 0).Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}"
        ),
        "alertname=HighCPU instance=a:9100 severity=critical "
    );
    assert_eq!(
        render("{{ .CommonLabels }}|{{ .CommonLabels.alertname }}|{{ .CommonLabels.nope }}|"),
        "alertname=HighCPU|HighCPU||"
    );
    assert_eq!(
        render("{{ (index .Alerts 0).Fingerprint }} {{ (index .Alerts 0).GeneratorURL }}"),
        "abc123 http://prom/graph?g0.expr=x"
    );
}

#[test]
fn times() {
    let a0 = "(index .Alerts 0)";
    assert_eq!(
        render(&format!("{{{{ {a0}.StartsAt }}}}")),
        "2024-03-05 10:04:05.123456789 +0000 UTC"
    );
    assert_eq!(
        render("{{ (index .Alerts 1).EndsAt }}"),
        "2024-03-05 10:00:00 +0200 +0200"
    );
    assert_eq!(
        render(&format!(
            "{{{{ {a0}.StartsAt.Format \"2006-01-02 15:04:05 MST\" }}}}"
        )),
        "2024-03-05 10:04:05 UTC"
    );
    assert_eq!(
        render(&format!(
            "{{{{ {a0}.StartsAt.Unix }}}} {{{{ {a0}.EndsAt.IsZero }}}}"
        )),
        "1709633045 true"
    );
    assert_eq!(
        render("{{ (index .Alerts 1).EndsAt.UTC }}"),
        "2024-03-05 08:00:00 +0000 UTC"
    );
    assert_eq!(
        render("{{ with index .Alerts 1 }}{{ .EndsAt.Sub .StartsAt }}{{ end }}"),
        "-1h0m0s"
    );
    assert_eq!(
        render(&format!(
            "{{{{ {a0}.StartsAt.Month }}}} {{{{ {a0}.StartsAt.Weekday }}}} {{{{ {a0}.StartsAt.Year }}}}"
        )),
        "March Tuesday 2024"
    );
}

#[test]
fn control_structures() {
    assert_eq!(
        render(
            "{{ if .Alerts }}y{{ else }}n{{ end }}{{ if .CommonLabels.nope }}y{{ else if .Receiver }}r{{ end }}"
        ),
        "yr"
    );
    assert_eq!(
        render("{{ with .CommonLabels.nope }}a{{ else with .Receiver }}{{ . }}{{ end }}"),
        "team-x"
    );
    assert_eq!(
        render("{{ range $i, $a := .Alerts }}{{ $i }}{{ $a.Status }} {{ end }}"),
        "0firing 1resolved "
    );
    assert_eq!(
        render("{{ range $k, $v := .GroupLabels }}{{ $k }}{{ $v }}{{ end }}"),
        "alertnameHighCPU"
    );
    assert_eq!(
        render("{{ range (dict \"b\" 2 \"a\" 1 \"c\" 3) }}{{ . }}{{ end }}"),
        "123"
    );
    assert_eq!(
        render(
            "{{ range (dict).nope }}x{{ else }}empty{{ end }}{{ range (list) }}x{{ else }}none{{ end }}"
        ),
        "emptynone"
    );
    assert_eq!(
        render(
            "{{ range 5 }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}"
        ),
        "02"
    );
    assert_eq!(
        render("{{ $x := 1 }}{{ range .Alerts }}{{ $x = 2 }}{{ end }}{{ $x }}"),
        "2"
    );
}

#[test]
fn templates_and_blocks() {
    assert_eq!(render("{{ template \"list\" (list 1 2) }}"), "[1][2]");
    assert_eq!(
        render("{{ define \"local\" }}L{{ . }}{{ end }}{{ template \"local\" 3 }}"),
        "L3"
    );
    assert_eq!(
        render("{{ block \"blk\" .Receiver }}<{{ . }}>{{ end }}"),
        "<team-x>"
    );
    assert_eq!(render("{{ template \"rec\" (list 3 2 1) }}"), "321");
    // Defines in one text do not leak into the set.
    assert!(!set().has("local"));
}

#[test]
fn builtins() {
    assert_eq!(
        render("{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" }} {{ or 0 \"x\" }} {{ not 0 }}"),
        "0 2  x true"
    );
    assert_eq!(
        render("{{ and .CommonLabels.nope (index .Alerts 9) }}"),
        "",
        "and short-circuits"
    );
    assert_eq!(
        render(
            "{{ eq 1 2 3 1 }} {{ eq \"a\" \"b\" }} {{ ne 1 2 }} {{ lt 1.5 2.5 }} {{ le \"a\" \"a\" }} {{ gt 3 2 }} {{ ge 2 3 }}"
        ),
        "true false true true true true false"
    );
    assert_eq!(
        render("{{ eq .CommonLabels.nope \"\" }} {{ eq (dict).x nil }}"),
        "true true"
    );
    assert_eq!(
        render(
            "{{ len \"héllo\" }} {{ index \"abc\" 1 }} {{ slice \"abcdef\" 1 3 }} {{ slice (list 1 2 3) 1 }}"
        ),
        "6 98 bc [2 3]"
    );
    assert_eq!(render("{{ index (dict \"a\" (list 5 6)) \"a\" 1 }}"), "6");
    assert_eq!(
        render(
            "{{ print 1 2 \"a\" 3 }}|{{ println \"a\" 1 }}|{{ printf \"%s=%d %.2f %q %v %5s|%-4s|\" \"k\" 3 2.5 \"q\" .GroupLabels \"r\" \"l\" }}"
        ),
        "1 2a3|a 1\n|k=3 2.50 \"q\" alertname=HighCPU     r|l   |"
    );
    assert_eq!(
        render("{{ html \"<a href='x'>\" }} {{ js \"a'b\" }} {{ urlquery \"a b/c\" }}"),
        "&lt;a href=&#39;x&#39;&gt; a\\'b a+b%2Fc"
    );
    assert_eq!(render("{{ \"x\" | printf \"%s-%s\" \"a\" }}"), "a-x");
    assert_eq!(render("{{ (dict \"a\" 1).missing }}"), "<no value>");
}

#[test]
fn alertmanager_functions() {
    assert_eq!(
        render(
            "{{ toUpper \"ab\" }} {{ toLower \"AB\" }} {{ title \"hello world\" }} {{ trimSpace \" x \" }}"
        ),
        "AB ab Hello World x"
    );
    assert_eq!(
        render("{{ join \", \" .GroupLabels.Values }} {{ stringSlice \"a\" \"b\" | join \"+\" }}"),
        "HighCPU a+b"
    );
    assert_eq!(
        render(
            "{{ match \"^a:\\\\d+$\" \"a:9100\" }} {{ reReplaceAll \"(\\\\w+):(\\\\d+)\" \"$2@$1\" \"a:9100\" }}"
        ),
        "true 9100@a"
    );
    assert_eq!(
        render("{{ urlUnescape \"a%20b\" }} {{ base64encode \"hi\" }} {{ base64decode \"aGk=\" }}"),
        "a b aGk= hi"
    );
    assert_eq!(
        render("{{ humanizeDuration 90061 }} {{ humanizeDuration 1.5 }}"),
        "1d 1h 1m 1s 1.5s"
    );
    assert_eq!(
        render("{{ toJson (dict \"a\" (list 1 \"<\" true nil 2.5)) }}"),
        r#"{"a":[1,"\u003c",true,null,2.5]}"#
    );
    assert_eq!(
        render(
            "{{ (toDate \"2006-01-02\" \"2024-03-05\").Unix }} {{ (toDate \"2006\" \"bad\").IsZero }}"
        ),
        "1709596800 true"
    );
    assert_eq!(
        render(
            "{{ date \"15:04\" (index .Alerts 0).StartsAt }} {{ (index .Alerts 0).StartsAt | tz \"Europe/Paris\" }}"
        ),
        "10:04 2024-03-05 11:04:05.123456789 +0100 CET"
    );
    assert_eq!(
        render("{{ append (list 1) 2 }} {{ len (list) }} {{ (dict \"k\" \"v\").k }}"),
        "[1 2] 0 v"
    );
    assert_eq!(
        render("{{ safeHtml \"<b>\" }} {{ safeUrl \"x:y\" }}"),
        "<b> x:y"
    );
    assert!(
        render("{{ (now).IsZero }} {{ lt (since (index .Alerts 0).StartsAt).Hours 0.0 }}")
            .starts_with("false false")
    );
}

#[test]
fn html_mode_escapes_by_context() {
    assert_eq!(
        html("<p>{{ \"<b>&\" }}</p>{{ safeHtml \"<i>\" }}"),
        "<p>&lt;b&gt;&amp;</p><i>"
    );
    assert_eq!(
        html("<a href=\"{{ .ExternalURL }}/?r={{ \"a b\" }}\">x</a><!-- gone -->"),
        "<a href=\"http://am:9093/?r=a%20b\">x</a>"
    );
    assert_eq!(html("{{ .CommonLabels.nope }}|{{ (dict).x }}|"), "||");
    assert_eq!(
        html("<a href=\"?r={{ .Receiver | urlquery }}\">"),
        "<a href=\"?r=team-x\">"
    );
}

#[test]
fn execution_errors_like_go() {
    let cases = [
        (
            "{{ .Foo }}",
            "template: :1:3: executing \"\" at <.Foo>: can't evaluate field Foo in type template.Data",
        ),
        (
            "{{ .Receiver.Foo }}",
            "template: :1:12: executing \"\" at <.Receiver.Foo>: can't evaluate field Foo in type string",
        ),
        (
            "{{ range .CommonLabels.nope }}{{ end }}",
            "template: :1:22: executing \"\" at <.CommonLabels.nope>: range can't iterate over ",
        ),
        (
            "{{ index .Alerts 5 }}",
            "template: :1:3: executing \"\" at <index .Alerts 5>: error calling index: index out of range: 5",
        ),
        (
            "{{ eq 1 \"a\" }}",
            "template: :1:3: executing \"\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison: int and string",
        ),
        (
            "{{ lt .Alerts 1 }}",
            "template: :1:3: executing \"\" at <lt .Alerts 1>: error calling lt: invalid type for comparison",
        ),
        (
            "{{ len 3 }}",
            "template: :1:3: executing \"\" at <len 3>: error calling len: len of type int",
        ),
        (
            "{{ template \"nope\" }}",
            "template: :1:12: executing \"\" at <{{template \"nope\"}}>: template \"nope\" not defined",
        ),
        (
            "{{ toUpper 3 }}",
            "template: :1:11: executing \"\" at <3>: expected string; found 3",
        ),
        (
            "{{ .CommonLabels.Remove }}",
            "template: :1:16: executing \"\" at <.CommonLabels.Remove>: wrong number of args for Remove: want 1 got 0",
        ),
        (
            "{{ .Receiver 1 }}",
            "template: :1:3: executing \"\" at <.Receiver>: Receiver has arguments but cannot be invoked as function",
        ),
        (
            "{{ \"x\" 1 }}",
            "template: :1:3: executing \"\" at <\"x\">: can't give argument to non-function \"x\"",
        ),
        (
            "{{ nil }}",
            "template: :1:3: executing \"\" at <nil>: nil is not a command",
        ),
        (
            "{{ range 1.5 }}{{ end }}",
            "template: :1:9: executing \"\" at <1.5>: range can't iterate over 1.5",
        ),
        (
            "{{ join \",\" (list \"a\") }}",
            "template: :1:18: executing \"\" at <\"a\">: wrong type for value; expected []string; got []interface {}",
        ),
        (
            "{{ dict \"a\" }}",
            "template: :1:3: executing \"\" at <dict \"a\">: error calling dict: dict requires an even number of arguments",
        ),
        (
            "x\n  {{ .Alerts.Firing.Firing }}",
            "template: :2:12: executing \"\" at <.Alerts.Firing.Firing>: can't evaluate field Firing in type []template.Alert",
        ),
        (
            "{{ with $x := 3 }}{{ $x.Foo }}{{ end }}",
            "template: :1:23: executing \"\" at <$x.Foo>: can't evaluate field Foo in type int",
        ),
        (
            "{{ slice .Receiver 3 1 }}",
            "template: :1:3: executing \"\" at <slice .Receiver 3 1>: error calling slice: invalid slice index: 3 > 1",
        ),
        (
            "{{ index 3 1 }}",
            "template: :1:3: executing \"\" at <index 3 1>: error calling index: can't index item of type int",
        ),
        (
            "{{ toUpper nil }}",
            "template: :1:11: executing \"\" at <nil>: cannot assign nil to string",
        ),
        (
            "{{ not }}",
            "template: :1:3: executing \"\" at <not>: wrong number of args for not: want 1 got 0",
        ),
        (
            "{{ base64decode \"!!\" }}",
            "template: :1:3: executing \"\" at <base64decode \"!!\">: error calling base64decode: illegal base64 data at input byte 0",
        ),
        (
            "{{ tz \"Nope/Zone\" now }}",
            "template: :1:3: executing \"\" at <tz \"Nope/Zone\" now>: error calling tz: unknown time zone Nope/Zone",
        ),
        (
            "{{ .Alerts.Foo }}",
            "template: :1:10: executing \"\" at <.Alerts.Foo>: can't evaluate field Foo in type template.Alerts",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text}");
    }
}

#[test]
fn errors_in_named_templates_name_the_file_and_template() {
    let mut s = Templates::new();
    s.parse("f.tmpl", "\n{{ define \"t\" }}\n  {{ .Nope }}{{ end }}")
        .unwrap();
    let e = s
        .render("{{ template \"t\" . }}", &data(), Mode::Text)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: f.tmpl:3:5: executing \"t\" at <.Nope>: can't evaluate field Nope in type template.Data"
    );
}

#[test]
fn parse_errors_like_go() {
    let cases = [
        ("{{ .A }", "template: :1: unexpected \"}\" in operand"),
        ("a\n\n{{ if }}", "template: :3: missing value for if"),
        ("{{ end }}", "template: :1: unexpected {{end}}"),
        ("{{ range .A }}", "template: :1: unexpected EOF"),
        (
            "{{ nofunc 1 }}",
            "template: :1: function \"nofunc\" not defined",
        ),
        ("{{ $x }}", "template: :1: undefined variable \"$x\""),
        (
            "{{ continue }}",
            "template: :1: {{continue}} outside {{range}}",
        ),
        ("x\n{{ .A\n", "template: :3: unclosed action started at :2"),
        ("{{/* x", "template: :1: unclosed comment"),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text}");
    }
}

#[test]
fn later_files_replace_definitions_and_empty_ones_do_not() {
    let mut s = Templates::new();
    s.parse("a.tmpl", "{{ define \"x\" }}A{{ end }}").unwrap();
    s.parse("b.tmpl", "{{ define \"x\" }}B{{ end }}").unwrap();
    s.parse("c.tmpl", "{{ define \"x\" }} {{ end }}").unwrap();
    assert_eq!(s.execute_named("x", &Value::Nil, Mode::Text).unwrap(), "B");
    assert!(s.names().contains(&"a.tmpl"));
}

#[test]
fn compiled_templates_execute_many_times() {
    let s = set();
    let t = s
        .compile("{{ range .Alerts }}{{ .Labels.instance }} {{ end }}")
        .unwrap();
    let d = data();
    for _ in 0..3 {
        assert_eq!(s.execute(&t, &d, Mode::Text).unwrap(), "a:9100 b:9100 ");
    }
}

#[test]
fn deeply_nested_parentheses_are_an_error_not_a_stack_overflow() {
    // Found by fuzzing (fuzz/corpus/template/crash-009934b4...): 900 levels overflowed
    // the stack of a 2 MiB thread. This test runs on such a thread.
    let nested = |depth: usize| format!("{{{{{}1{}}}}}", "(".repeat(depth), ")".repeat(depth));
    let err = Templates::new()
        .parse("deep.tmpl", &nested(5000))
        .unwrap_err()
        .to_string();
    assert!(err.contains("max expression depth exceeded"), "{err}");
    assert_eq!(render(&nested(90)), "1");
}

#[test]
fn deeply_nested_control_structures_are_an_error_not_a_stack_overflow() {
    let nested =
        |open: &str, depth: usize| format!("{}x{}", open.repeat(depth), "{{end}}".repeat(depth));
    for open in [
        "{{if 1}}",
        "{{with 1}}",
        "{{range $i, $v := list 1}}",
        "{{block \"b\" .}}",
    ] {
        let err = Templates::new()
            .parse("deep.tmpl", &nested(open, 5000))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("max nesting depth (250) exceeded"),
            "{open}: {err}"
        );
    }
    // 240 levels parse and run (on this test's 2 MiB thread stack).
    assert_eq!(render(&nested("{{if 1}}", 240)), "x");
}
