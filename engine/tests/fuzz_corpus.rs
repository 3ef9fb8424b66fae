//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/`) through the same
//! entry points the fuzz targets use (`larum_engine::fuzzing`), so crashes found by
//! fuzzing stay fixed without nightly or cargo-fuzz.

#![allow(clippy::unwrap_used)]

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("config", larum_engine::fuzzing::config),
    ("matchers", larum_engine::fuzzing::matchers),
    ("alerts", larum_engine::fuzzing::alerts),
    ("silence", larum_engine::fuzzing::silence),
    ("template", larum_engine::fuzzing::template),
    ("gossip", larum_engine::fuzzing::gossip),
];

#[test]
fn every_corpus_file_runs_through_its_target_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, run) in TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(
            !files.is_empty(),
            "no corpus for {name} in {}",
            dir.display()
        );
        for file in files {
            let data = match std::fs::read(&file) {
                Ok(data) => data,
                // A fuzzer running meanwhile replaces the corpus files it reduces.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", file.display()),
            };
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", file.display());
        }
    }
}

#[test]
fn the_entry_points_accept_any_bytes() {
    for (name, run) in TARGETS {
        for data in [
            &b""[..],
            b"\xff\xfe\x00",
            b"{{",
            b"[{",
            b"- - -\n  :",
            b"{\"a\":",
        ] {
            let outcome = std::panic::catch_unwind(|| run(data));
            assert!(outcome.is_ok(), "{name} panicked on {data:?}");
        }
    }
}
