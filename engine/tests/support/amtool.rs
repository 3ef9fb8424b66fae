//! Running `amtool template render` (Debian's 0.25 or upstream's 0.34) and the example data
//! it renders with, so template tests can compare larum's output with amtool's byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use larum_engine::template::{Alert, Data, GoTime, Mode, Value, example_data};

/// Debian's amtool 0.25.
pub const DEBIAN_AMTOOL: &str = "/usr/bin/amtool";

/// Upstream amtool v0.34.0 from `$LARUM_UPSTREAM_AMTOOL`, the repo's `.cache/upstream/bin/amtool`
/// (built by scripts/upstream-alertmanager.sh) or the main checkout's, if present.
pub fn upstream_amtool() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("LARUM_UPSTREAM_AMTOOL")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            root.join(".cache/upstream/bin/amtool"),
            PathBuf::from("/work/main/.cache/upstream/bin/amtool"),
        ])
        .find(|p| p.is_file())
}

/// One `amtool template render` run.
pub struct Render<'a> {
    /// `--template.glob` values.
    pub globs: Vec<String>,
    /// `--template.text`.
    pub text: &'a str,
    /// `--template.type=html` when `Mode::Html`.
    pub mode: Mode,
    /// `--template.data` (upstream 0.34 only); amtool's example data when `None`.
    pub data: Option<&'a Path>,
}

/// Runs `bin template render` with TZ=UTC and returns its stdout, or its stderr on failure.
pub fn render(bin: &Path, r: &Render<'_>) -> Result<String, String> {
    let mut cmd = Command::new(bin);
    cmd.arg("template").arg("render");
    for g in &r.globs {
        cmd.arg(format!("--template.glob={g}"));
    }
    cmd.arg(format!("--template.text={}", r.text))
        .arg(format!(
            "--template.type={}",
            if r.mode == Mode::Html { "html" } else { "text" }
        ))
        .env("TZ", "UTC");
    if let Some(d) = r.data {
        cmd.arg(format!("--template.data={}", d.display()));
    }
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// amtool's example data as `version` renders it: 0.25 gives every alert the status
/// `alertstatus`, 0.34 gives them `firing` and `resolved`.
pub fn example(v034: bool) -> Value {
    let mut data = example_data(&GoTime::now());
    if !v034 {
        let alerts = data
            .alerts
            .iter()
            .map(|a| {
                Arc::new(Alert {
                    status: Arc::from("alertstatus"),
                    ..(**a).clone()
                })
            })
            .collect();
        data.alerts = Arc::new(alerts);
    }
    Value::Data(Arc::new(data))
}

/// Data read from a JSON file in the layout `--template.data` takes.
pub fn json(text: &str) -> Value {
    Value::Data(Arc::new(
        Data::from_json(text).unwrap_or_else(|e| panic!("test data: {e}")),
    ))
}
