//! `larum-engine check-config FILE...`: validates config files like `amtool check-config`.

use std::io::Write;
use std::path::Path;

use crate::config::{Config, ParseOptions};

/// Checks each file, writing amtool's report to `out`; returns how many files failed.
pub fn check_files(
    files: &[impl AsRef<Path>],
    options: ParseOptions,
    out: &mut impl Write,
) -> std::io::Result<usize> {
    let mut failed = 0;
    for file in files {
        let file = file.as_ref();
        match Config::load_file(file, options) {
            Ok(loaded) => {
                let c = &loaded.config;
                writeln!(out, "Checking '{}'  SUCCESS", file.display())?;
                writeln!(out, "Found:")?;
                writeln!(out, " - global config")?;
                writeln!(out, " - route")?;
                writeln!(out, " - {} inhibit rules", c.inhibit_rules.len())?;
                writeln!(out, " - {} receivers", c.receivers.len())?;
                writeln!(out, " - {} templates", c.templates.len())?;
                for template in &c.templates {
                    writeln!(out, "  {template}  SUCCESS")?;
                }
                writeln!(out)?;
            }
            Err(e) => {
                failed += 1;
                // The file name is already in the header line.
                let mut e = e;
                e.file = None;
                writeln!(out, "Checking '{}'  FAILED: {}", file.display(), e)?;
                writeln!(out)?;
            }
        }
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_success_and_failure_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yml");
        let bad = dir.path().join("bad.yml");
        std::fs::write(&good, "route:\n  receiver: a\nreceivers:\n- name: a\n").unwrap();
        std::fs::write(&bad, "route:\n  receiver: x\n").unwrap();
        let mut out = Vec::new();
        let failed = check_files(&[&good, &bad], ParseOptions::default(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(failed, 1);
        assert!(out.contains("good.yml'  SUCCESS\nFound:\n - global config\n - route\n - 0 inhibit rules\n - 1 receivers\n"));
        assert!(
            out.contains(
                "bad.yml'  FAILED: route.receiver: undefined receiver \"x\" used in route"
            ),
            "{out}"
        );
    }
}
