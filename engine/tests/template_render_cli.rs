#![allow(clippy::unwrap_used)]
//! `larum-engine template render` takes `amtool template render`'s flags and prints what
//! upstream's amtool v0.34 prints for the same arguments.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::amtool::upstream_amtool;
use support::process::larum_engine;

fn run(bin: &Path, args: &[String]) -> Output {
    Command::new(bin)
        .arg("template")
        .arg("render")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/template")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn output_equals_upstream_amtool() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.tmpl"),
        "{{ define \"mine.title\" }}{{ .Status | toUpper }} {{ .CommonLabels.alertname }}{{ end }}\n\
         {{ define \"__alertmanager\" }}AM{{ end }}",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(
        dir.path().join("more/b.tmpl"),
        "{{ define \"mine.html\" }}<p title=\"{{ .Receiver }}\">{{ range .Alerts }}<b>{{ .Labels.alertname }}</b> {{ end }}</p>{{ end }}",
    )
    .unwrap();
    let glob_a = format!("--template.glob={}/*.tmpl", dir.path().display());
    let glob_b = format!("--template.glob={}/more/*.tmpl", dir.path().display());
    let text = |t: &str| format!("--template.text={t}");
    let data = |f: &str| format!("--template.data={}", fixture(f));
    let cases: Vec<Vec<String>> = vec![
        vec![
            glob_a.clone(),
            text(r#"{{ template "slack.default.title" . }}"#),
        ],
        vec![
            glob_a.clone(),
            text(r#"{{ template "slack.default.username" . }}"#),
        ],
        vec![
            glob_a.clone(),
            glob_b.clone(),
            text(
                r#"{{ template "mine.title" . }}|{{ template "opsgenie.default.description" . }}"#,
            ),
            data("firing_mixed.json"),
        ],
        vec![
            glob_a.clone(),
            glob_b.clone(),
            text(r#"{{ template "mine.html" . }}{{ template "email.default.subject" . }}"#),
            "--template.type=html".into(),
            data("resolved_single.json"),
        ],
        vec![
            glob_b.clone(),
            text(r#"{{ template "email.default.html" . }}"#),
            "--template.type=html".into(),
            data("firing_sparse.json"),
        ],
        vec![glob_b.clone(), text("{{ .Nope.X }}")],
        vec![glob_b.clone(), text("x"), data("does-not-exist.json")],
    ];
    let Some(amtool) = upstream_amtool() else {
        // Without the reference, still check that the subcommand renders.
        eprintln!(
            "upstream amtool v0.34 not found (run scripts/upstream-alertmanager.sh); checking larum alone"
        );
        let out = run(Path::new(larum_engine()), &cases[0]);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "[ALERTSTATUS] grouplabelvalue1 grouplabelvalue2 "
        );
        return;
    };
    for args in &cases {
        let want = run(&amtool, args);
        let got = run(Path::new(larum_engine()), args);
        assert_eq!(
            got.status.success(),
            want.status.success(),
            "exit status for {args:?}: amtool stderr {}, larum stderr {}",
            String::from_utf8_lossy(&want.stderr),
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "stdout for {args:?}"
        );
    }
}

#[test]
fn flags_are_checked_like_amtool() {
    // --template.glob is required, --template.type only takes text or html.
    let out = run(
        Path::new(larum_engine()),
        &["--template.text=x".to_string()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--template.glob"));
    let out = run(
        Path::new(larum_engine()),
        &[
            "--template.glob=/nonexistent/*.tmpl".to_string(),
            "--template.text=x".to_string(),
            "--template.type=xml".to_string(),
        ],
    );
    assert!(!out.status.success());
    let out = run(
        Path::new(larum_engine()),
        &[
            "--template.glob=/nonexistent/*.tmpl".to_string(),
            "--template.text={{ .Receiver }}".to_string(),
        ],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "receiver");
}
