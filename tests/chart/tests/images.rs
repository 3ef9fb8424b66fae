//! The two ways of building the images agree: images/*.Dockerfile (Docker or Podman) and
//! `make images-oci` (scripts/images-oci.sh, no daemon), whose settings live in
//! images/*.image.json. Checked without building anything: the script's cargo command
//! and image settings (`scripts/images-oci.sh --print`) against each Dockerfile's build
//! command, user, entrypoint, cmd, exposed ports, workdir and labels. When the archives
//! exist (always in CI: with `CI` or `LARUM_REQUIRE_ALL` set they must), their image
//! config, name and files are checked too, and the binary in the layer must run.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use larum_chart_tests::{chart_dir, repo_root};
use serde_json::Value;

const IMAGES: [&str; 2] = ["engine", "operator"];

/// What an image is: the settings both builds must agree on.
#[derive(Debug, PartialEq, Default)]
struct Settings {
    cargo: Vec<String>,
    /// The strip command without its file.
    strip: Vec<String>,
    binary: String,
    user: String,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    ports: BTreeSet<String>,
    workdir: String,
    labels: BTreeMap<String, String>,
}

/// A port as the image config writes it: `9094` is `9094/tcp`.
fn port(p: &str) -> String {
    if p.contains('/') {
        p.to_string()
    } else {
        format!("{p}/tcp")
    }
}

/// The Dockerfile's instructions (continuation lines joined, comments dropped), as
/// (keyword, rest).
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, rest) = current.split_once(char::is_whitespace).unwrap();
        out.push((keyword.to_ascii_uppercase(), rest.trim().to_string()));
        current.clear();
    }
    out
}

/// `k="v" k2="v2"` (LABEL's form in our Dockerfiles).
fn labels(rest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=').unwrap();
        let after = after.strip_prefix('"').expect("LABEL values are quoted");
        let end = after.find('"').unwrap();
        out.push((key.trim().to_string(), after[..end].to_string()));
        s = after[end + 1..].trim_start();
    }
    out
}

/// The settings of images/SHORT.Dockerfile: the cargo command of the build stage, and
/// what the last stage sets.
fn dockerfile(short: &str) -> Settings {
    let path = repo_root().join(format!("images/{short}.Dockerfile"));
    let text = std::fs::read_to_string(&path).unwrap();
    let all = instructions(&text);
    let last_from = all.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let mut s = Settings::default();
    let mut built = String::new();
    for (keyword, rest) in &all[..last_from] {
        if keyword != "RUN" || !rest.contains("cargo build") {
            continue;
        }
        // `cargo build ... && install -D -m 0755 target/TARGET/release/BIN /out/BIN
        //  && strip --strip-debug /out/BIN`
        let commands: Vec<Vec<String>> = rest[rest.find("cargo build").unwrap()..]
            .split("&&")
            .map(|c| c.split_whitespace().map(String::from).collect())
            .collect();
        assert_eq!(commands.len(), 3, "{short}: cargo, install, strip: {rest}");
        s.cargo = commands[0].clone();
        let install = &commands[1];
        assert_eq!(
            install[..4],
            ["install", "-D", "-m", "0755"],
            "{short}: {install:?}"
        );
        built = install[4].clone();
        s.binary = install[5].clone();
        let (strip_path, strip) = commands[2].split_last().unwrap();
        assert_eq!(
            strip_path, &s.binary,
            "{short}: strips the installed binary"
        );
        s.strip = strip.to_vec();
    }
    assert!(
        !s.cargo.is_empty(),
        "{short}: no `cargo build` in the build stage"
    );
    let target = s.cargo.iter().position(|a| a == "--target").unwrap();
    let bin = s.cargo.iter().position(|a| a == "--bin").unwrap();
    assert_eq!(
        built,
        format!(
            "target/{}/release/{}",
            s.cargo[target + 1],
            s.cargo[bin + 1]
        ),
        "{short}: installs what cargo built"
    );
    let mut copied = None;
    for (keyword, rest) in &all[last_from + 1..] {
        match keyword.as_str() {
            "USER" => s.user = rest.clone(),
            "EXPOSE" => s.ports.extend(rest.split_whitespace().map(port)),
            "WORKDIR" => s.workdir = rest.clone(),
            "ENTRYPOINT" => s.entrypoint = serde_json::from_str(rest).unwrap(),
            "CMD" => s.cmd = serde_json::from_str(rest).unwrap(),
            "LABEL" => s.labels.extend(labels(rest)),
            "COPY" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                assert_eq!(words.len(), 3, "{short}: COPY {rest}");
                assert_eq!(words[0], "--from=build");
                copied = Some((words[1].to_string(), words[2].to_string()));
            }
            "ARG" | "ENV" => {}
            other => {
                panic!("{short}: {other} in the runtime stage is not compared with the OCI image")
            }
        }
    }
    // The binary goes where the entrypoint runs it from.
    let (from, to) = copied.expect("a COPY of the binary");
    assert_eq!(from, s.binary, "{short}: copies the installed binary");
    s.binary = to;
    s
}

/// One image as scripts/images-oci.sh --print describes it.
struct Script {
    settings: Settings,
    reference: String,
    out: String,
}

fn script() -> BTreeMap<String, Script> {
    let out = Command::new(repo_root().join("scripts/images-oci.sh"))
        .arg("--print")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "images-oci.sh --print: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut images = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let mut s = Settings {
            cargo: strings(&v["cargo"]),
            strip: strings(&v["strip"]),
            ..Settings::default()
        };
        let config = strings(&v["config"]);
        for pair in config.chunks(2) {
            let value = pair[1].clone();
            match pair[0].as_str() {
                "--user" => s.user = value,
                "--entrypoint" => s.entrypoint.push(value),
                "--cmd" => s.cmd.push(value),
                "--port" => {
                    s.ports.insert(port(&value));
                }
                "--workdir" => s.workdir = value,
                "--label" => {
                    let (k, v) = value.split_once('=').unwrap();
                    s.labels.insert(k.to_string(), v.to_string());
                }
                other => panic!("unexpected flag {other}"),
            }
        }
        let image = v["image"].as_str().unwrap().to_string();
        let spec: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join(format!("images/{image}.image.json")))
                .unwrap(),
        )
        .unwrap();
        s.binary = spec["path"].as_str().unwrap().to_string();
        images.insert(
            image,
            Script {
                settings: s,
                reference: v["ref"].as_str().unwrap().to_string(),
                out: v["out"].as_str().unwrap().to_string(),
            },
        );
    }
    images
}

#[test]
fn dockerfiles_and_images_oci_build_the_same_images() {
    let script = script();
    assert_eq!(
        script.keys().map(String::as_str).collect::<Vec<_>>(),
        IMAGES.to_vec()
    );
    for short in IMAGES {
        let from_script = &script[short].settings;
        let from_dockerfile = dockerfile(short);
        assert_eq!(
            &from_dockerfile, from_script,
            "images/{short}.Dockerfile and images/{short}.image.json (make images-oci) disagree"
        );
        let bin = format!("larum-{short}");
        assert_eq!(
            from_script.cargo,
            [
                "cargo",
                "build",
                "--release",
                "--locked",
                "--target",
                "x86_64-unknown-linux-musl",
                "-p",
                &bin,
                "--bin",
                &bin
            ]
        );
        assert_eq!(from_script.user, "65532:65532", "{short}: non-root");
        assert_eq!(from_script.entrypoint, [format!("/usr/bin/{bin}")]);
    }
}

/// Without IMAGE_REGISTRY/IMAGE_TAG the archives carry the names the chart pulls by default.
#[test]
fn images_oci_names_the_images_as_the_chart_expects() {
    if std::env::var_os("IMAGE_REGISTRY").is_some() || std::env::var_os("IMAGE_TAG").is_some() {
        eprintln!("IMAGE_REGISTRY or IMAGE_TAG set: skipped");
        return;
    }
    let values: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap())
            .unwrap();
    let chart = std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap();
    let app_version = chart
        .lines()
        .find_map(|l| l.strip_prefix("appVersion: "))
        .unwrap()
        .trim_matches('"');
    let script = script();
    for (short, image) in [
        (
            "engine",
            &values["alertmanager"]["alertmanagerSpec"]["image"],
        ),
        ("operator", &values["operator"]["image"]),
    ] {
        assert_eq!(image["tag"], "", "{short}: the tag defaults to appVersion");
        let want = format!(
            "{}/{}:{app_version}",
            image["registry"].as_str().unwrap(),
            image["repository"].as_str().unwrap()
        );
        assert_eq!(script[short].reference, want);
        assert_eq!(
            script[short].out,
            format!(".cache/images/larum-{short}.tar")
        );
    }
}

/// `tar -xOf ARCHIVE MEMBER`.
fn member(archive: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} in {}: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn blob(archive: &Path, descriptor: &Value) -> Vec<u8> {
    let digest = descriptor["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    member(archive, &format!("blobs/sha256/{hex}"))
}

#[test]
fn images_oci_archives_match_the_dockerfiles() {
    let required =
        std::env::var_os("CI").is_some() || std::env::var_os("LARUM_REQUIRE_ALL").is_some();
    for (short, image) in script() {
        let archive = repo_root().join(&image.out);
        if !archive.exists() {
            assert!(
                !required,
                "{} missing (CI or LARUM_REQUIRE_ALL set): run `make images-oci`",
                archive.display()
            );
            eprintln!("{} missing (make images-oci): skipped", archive.display());
            continue;
        }
        let index: Value = serde_json::from_slice(&member(&archive, "index.json")).unwrap();
        let descriptor = &index["manifests"][0];
        assert_eq!(
            descriptor["annotations"]["io.containerd.image.name"],
            image.reference.as_str(),
            "{short}: built with other IMAGE_REGISTRY/IMAGE_TAG? (make images-oci)"
        );
        let manifest: Value = serde_json::from_slice(&blob(&archive, descriptor)).unwrap();
        let config: Value = serde_json::from_slice(&blob(&archive, &manifest["config"])).unwrap();
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], "amd64");
        let c = &config["config"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let from_archive = Settings {
            cargo: image.settings.cargo.clone(),
            strip: image.settings.strip.clone(),
            binary: image.settings.binary.clone(),
            user: c["User"].as_str().unwrap_or("").to_string(),
            entrypoint: strings(&c["Entrypoint"]),
            cmd: strings(&c["Cmd"]),
            ports: c["ExposedPorts"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default(),
            workdir: c["WorkingDir"].as_str().unwrap_or("").to_string(),
            labels: c["Labels"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        assert_eq!(
            from_archive,
            dockerfile(&short),
            "{}: stale? (make images-oci)",
            archive.display()
        );

        // The layer: the binary runs, the user exists, CA certificates, a writable /tmp
        // and workdir.
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("layer.tar.gz");
        std::fs::write(&layer, blob(&archive, &manifest["layers"][0])).unwrap();
        let listing = Command::new("tar")
            .args(["-tvzf"])
            .arg(&layer)
            .arg("--numeric-owner")
            .output()
            .unwrap();
        assert!(listing.status.success());
        let listing = String::from_utf8(listing.stdout).unwrap();
        let entry = |path: &str| -> (String, String) {
            let line = listing
                .lines()
                .find(|l| {
                    l.split_whitespace()
                        .last()
                        .is_some_and(|p| p.trim_end_matches('/') == path)
                })
                .unwrap_or_else(|| panic!("{short}: no /{path} in the layer:\n{listing}"));
            let words: Vec<&str> = line.split_whitespace().collect();
            (words[0].to_string(), words[1].to_string())
        };
        let bin = image.settings.binary.trim_start_matches('/');
        assert_eq!(entry(bin), ("-rwxr-xr-x".into(), "0/0".into()));
        assert_eq!(entry("tmp").0, "drwxrwxrwt");
        assert_eq!(
            entry("etc/ssl/certs/ca-certificates.crt").0,
            "-rw-r--r--",
            "{short}: rustls-platform-verifier needs system CA certificates"
        );
        if !image.settings.workdir.is_empty() {
            assert_eq!(
                entry(image.settings.workdir.trim_start_matches('/')).1,
                image.settings.user.replace(':', "/"),
                "{short}: the workdir belongs to the user"
            );
        }
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let extract = Command::new("tar")
            .arg("-xzf")
            .arg(&layer)
            .arg("-C")
            .arg(&root)
            .args(["--no-same-owner", "etc", bin])
            .status()
            .unwrap();
        assert!(extract.success());
        let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
        let (uid, gid) = image.settings.user.split_once(':').unwrap();
        assert!(
            passwd
                .lines()
                .any(|l| l.split(':').nth(2) == Some(uid) && l.split(':').nth(3) == Some(gid)),
            "{short}: {passwd}"
        );
        let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
        assert!(
            group.lines().any(|l| l.split(':').nth(2) == Some(gid)),
            "{short}: {group}"
        );
        // Static (no program interpreter, no shared library) and without debug info.
        let readelf = Command::new("readelf")
            .arg("-lSdW")
            .arg(root.join(bin))
            .output()
            .unwrap();
        assert!(readelf.status.success());
        let readelf = String::from_utf8_lossy(&readelf.stdout);
        for unwanted in ["INTERP", "(NEEDED)", ".debug_info", ".debug_line"] {
            assert!(!readelf.contains(unwanted), "{short}: {unwanted} in {bin}");
        }
        let version = Command::new(root.join(bin))
            .arg("--version")
            .output()
            .unwrap();
        assert!(version.status.success(), "{short}: {version:?}");
        let version = String::from_utf8(version.stdout).unwrap();
        assert!(
            version.starts_with(&format!("larum-{short} ")),
            "{short}: {version}"
        );
    }
}
