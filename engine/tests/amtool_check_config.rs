//! Differential check of the config fixture corpus against Alertmanager's own validator,
//! `amtool check-config`.
//!
//! - Debian's `amtool` (Alertmanager 0.25, found on `PATH`) must accept every valid fixture
//!   marked `# since: 0.25` and reject every invalid one marked `# since: 0.25`; it must also
//!   accept our `to_yaml()` output (masked and revealed) of every `since: 0.25` valid
//!   fixture: the compatibility promise of the serializer.
//! - If upstream's v0.34.0 `amtool` was built (`scripts/upstream-alertmanager.sh`, found at
//!   `$LARUM_UPSTREAM_BIN/amtool`, default `<repo>/.cache/upstream/bin/amtool`), the same
//!   checks run with it for every fixture, whatever its `since`.
//!
//! See `tests/config_corpus.rs` for the fixture headers.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;

use larum_engine::config::Config;

/// One fixture file.
struct Fixture {
    name: String,
    path: PathBuf,
    text: String,
    since: String,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures(kind: &str) -> Vec<Fixture> {
    let dir = manifest_dir().join("tests/fixtures/config").join(kind);
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let since = text
                .lines()
                .take_while(|l| l.starts_with('#'))
                .find_map(|l| l.strip_prefix("# since:"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            Fixture {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path,
                text,
                since,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// An `amtool` binary and the newest `since` it is checked against.
struct Amtool {
    binary: PathBuf,
    /// `"0.25"` or `"0.34"`.
    version: &'static str,
}

impl Amtool {
    /// Whether fixtures marked `since` are in this amtool's scope.
    fn covers(&self, since: &str) -> bool {
        self.version == "0.34" || since == "0.25"
    }

    /// Runs `amtool check-config FILE`: `Ok(output)` when accepted, `Err(output)` when not.
    fn check(&self, file: &Path) -> Result<String, String> {
        let output = Command::new(&self.binary)
            .arg("check-config")
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let text = text.trim().to_string();
        if output.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }
}

/// Debian's amtool from `PATH`; fails the test with instructions when it is missing.
fn debian_amtool() -> Amtool {
    let found = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("amtool"))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    let Some(binary) = found else {
        panic!(
            "amtool (Alertmanager 0.25, Debian package `prometheus-alertmanager`) is not on PATH; \
             run `.ci/run` or `scripts/install-test-deps.sh` to install the test dependencies"
        );
    };
    Amtool {
        binary,
        version: "0.25",
    }
}

/// Upstream's v0.34.0 amtool, when `scripts/upstream-alertmanager.sh` has built it.
fn upstream_amtool() -> Option<Amtool> {
    let dir = std::env::var_os("LARUM_UPSTREAM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../.cache/upstream/bin"));
    let binary = dir.join("amtool");
    binary.is_file().then_some(Amtool {
        binary,
        version: "0.34",
    })
}

/// Panics with every collected failure.
fn report(what: &str, failures: &[(String, String)]) {
    if failures.is_empty() {
        return;
    }
    let mut text = format!("{} {what} failures:\n", failures.len());
    for (name, why) in failures {
        let _ = writeln!(text, "\n--- {name}\n{why}");
    }
    panic!("{text}");
}

/// Runs `f`, turning a panic into an error message.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".to_string());
        format!("PANICKED: {what}")
    })
}

/// Copies the files the config's `templates` globs match (relative to the fixture's
/// directory) into `dir`, at the same relative paths, so `amtool` finds them there too.
fn copy_templates(config: &Config, fixture_dir: &Path, dir: &Path) -> Result<(), String> {
    for pattern in &config.templates {
        if Path::new(pattern).is_absolute() {
            continue;
        }
        let full = fixture_dir.join(pattern);
        let matches = glob::glob(&full.to_string_lossy())
            .map_err(|e| format!("bad template glob {pattern:?}: {e}"))?;
        for path in matches.filter_map(Result::ok) {
            let Ok(relative) = path.strip_prefix(fixture_dir) else {
                continue;
            };
            let target = dir.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::copy(&path, &target)
                .map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Checks that `amtool` accepts our masked and revealed serialization of `fixture`.
fn check_serialized(amtool: &Amtool, fixture: &Fixture) -> Result<(), String> {
    let config = match no_panic(|| Config::parse(&fixture.text, Default::default()))? {
        Ok(config) => config,
        Err(e) => {
            return Err(format!(
                "our parser rejects it, so its to_yaml() cannot be checked: {e}"
            ));
        }
    };
    let fixture_dir = fixture.path.parent().unwrap_or(Path::new("."));
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create temp dir: {e}"))?;
    copy_templates(&config, fixture_dir, dir.path())?;
    let mut problems = Vec::new();
    for (what, yaml) in [
        ("to_yaml()", no_panic(|| config.to_yaml())?),
        (
            "to_yaml_revealed()",
            no_panic(|| config.to_yaml_revealed())?,
        ),
    ] {
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, &yaml)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        if let Err(output) = amtool.check(&file) {
            problems.push(format!(
                "amtool {} rejects our {what} output:\n{output}\n--- yaml:\n{yaml}",
                amtool.version
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// All checks of the corpus against one amtool.
fn check_corpus(amtool: &Amtool) {
    let mut failures = Vec::new();
    let valid = fixtures("valid");
    let invalid = fixtures("invalid");
    for fixture in valid.iter().filter(|f| amtool.covers(&f.since)) {
        if let Err(output) = amtool.check(&fixture.path) {
            failures.push((
                format!("valid/{}", fixture.name),
                format!(
                    "amtool {} rejects it (marked `since: {}`):\n{output}",
                    amtool.version, fixture.since
                ),
            ));
        }
        if let Err(why) = check_serialized(amtool, fixture) {
            failures.push((format!("valid/{} (serialized)", fixture.name), why));
        }
    }
    for fixture in invalid.iter().filter(|f| amtool.covers(&f.since)) {
        if let Ok(output) = amtool.check(&fixture.path) {
            failures.push((
                format!("invalid/{}", fixture.name),
                format!(
                    "amtool {} accepts it (marked `since: {}`):\n{output}",
                    amtool.version, fixture.since
                ),
            ));
        }
    }
    report(
        &format!("amtool {} ({})", amtool.version, amtool.binary.display()),
        &failures,
    );
}

#[test]
fn debian_amtool_agrees_with_the_corpus() {
    check_corpus(&debian_amtool());
}

#[test]
fn upstream_amtool_agrees_with_the_corpus() {
    match upstream_amtool() {
        Some(amtool) => check_corpus(&amtool),
        None => eprintln!(
            "upstream amtool v0.34.0 not found (set LARUM_UPSTREAM_BIN or run scripts/upstream-alertmanager.sh); skipped"
        ),
    }
}
