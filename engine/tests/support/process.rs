//! Alertmanager-compatible processes under test: larum-engine or a reference Alertmanager,
//! each started on a free loopback port with its config and storage in a temp dir.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The engine binary built by cargo for this test run. Outside the engine crate (the
/// operator's end-to-end tests include this module), the binary next to the test
/// executable's `deps/` directory, which `cargo test --workspace` builds.
pub fn larum_engine() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| match option_env!("CARGO_BIN_EXE_larum-engine") {
        Some(path) => path.to_string(),
        None => {
            let exe = std::env::current_exe().expect("the test executable's path");
            let path = exe
                .parent()
                .and_then(Path::parent)
                .map(|dir| dir.join("larum-engine"))
                .filter(|p| p.is_file())
                .unwrap_or_else(|| {
                    panic!("larum-engine is not built next to {}: run `cargo build -p larum-engine` (make test builds it)", exe.display())
                });
            path.to_string_lossy().into_owned()
        }
    })
}

/// Debian's Alertmanager 0.25.
pub const DEBIAN_ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// Which flavour of process a target is: it decides how the port is chosen and which flags apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// larum-engine: binds `127.0.0.1:0` and logs the bound address.
    Larum,
    /// A reference Alertmanager: needs an explicit port and a disabled cluster listener.
    Reference,
}

/// A binary that speaks Alertmanager's flags and API.
#[derive(Clone, Debug)]
pub struct Target {
    /// Short name used in reports (`larum`, `alertmanager-0.25`, ...).
    pub name: String,
    /// Path of the executable.
    pub binary: PathBuf,
    /// How to start it.
    pub kind: Kind,
}

impl Target {
    /// larum-engine as built for this test run.
    pub fn larum() -> Target {
        Target {
            name: "larum".into(),
            binary: larum_engine().into(),
            kind: Kind::Larum,
        }
    }

    /// Debian's Alertmanager 0.25, or `None` when it is not installed.
    pub fn debian_reference() -> Option<Target> {
        Path::new(DEBIAN_ALERTMANAGER).is_file().then(|| Target {
            name: "alertmanager-0.25".into(),
            binary: DEBIAN_ALERTMANAGER.into(),
            kind: Kind::Reference,
        })
    }

    /// Upstream Alertmanager v0.34.0 from `$LARUM_UPSTREAM_ALERTMANAGER` or the repo's
    /// `.cache/upstream/bin/alertmanager` (built by scripts/upstream-alertmanager.sh), if present.
    pub fn upstream_reference() -> Option<Target> {
        let binary = match std::env::var_os("LARUM_UPSTREAM_ALERTMANAGER") {
            Some(path) => PathBuf::from(path),
            None => {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/upstream/bin/alertmanager")
            }
        };
        binary.is_file().then(|| Target {
            name: "alertmanager-0.34".into(),
            binary,
            kind: Kind::Reference,
        })
    }

    /// Debian's 0.25, then upstream 0.34 when present.
    pub fn references() -> Vec<Target> {
        Target::debian_reference()
            .into_iter()
            .chain(Target::upstream_reference())
            .collect()
    }

    /// The target of the single-target tests: larum-engine, unless `$LARUM_TEST_TARGET` names
    /// `debian` (Alertmanager 0.25), `upstream` (v0.34.0) or the path of an Alertmanager binary.
    /// This lets the same tests be validated against the reference first.
    pub fn under_test() -> Target {
        match std::env::var("LARUM_TEST_TARGET").as_deref() {
            Err(_) | Ok("") | Ok("larum") => Target::larum(),
            Ok("debian") => Target::debian_reference().unwrap_or_else(|| {
                panic!(
                    "LARUM_TEST_TARGET=debian but {DEBIAN_ALERTMANAGER} is missing: run scripts/install-test-deps.sh"
                )
            }),
            Ok("upstream") => Target::upstream_reference().unwrap_or_else(|| {
                panic!(
                    "LARUM_TEST_TARGET=upstream but no upstream alertmanager: run scripts/upstream-alertmanager.sh"
                )
            }),
            Ok(path) => Target {
                name: format!("reference {path}"),
                binary: path.into(),
                kind: Kind::Reference,
            },
        }
    }
}

/// A running target process, killed when dropped, with its temp dir.
pub struct AmProcess {
    /// What runs.
    pub target: Target,
    /// `IP:PORT` of its HTTP listener.
    pub address: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    dir: tempfile::TempDir,
}

impl AmProcess {
    /// Starts `target` with `config` (YAML text) and waits until `/-/ready` answers 200.
    /// `extra` flags are appended. Errors carry the process log.
    pub async fn start(
        target: &Target,
        config: &str,
        extra: &[String],
    ) -> Result<AmProcess, String> {
        let mut last_error = String::new();
        // A reference needs an explicit port: picking one free and handing it over can race with
        // another process taking it, so try a few ports.
        for _ in 0..3 {
            match AmProcess::start_once(target, config, extra).await {
                Ok(process) => return Ok(process),
                Err(e) => last_error = e,
            }
            if target.kind == Kind::Larum {
                break;
            }
        }
        Err(last_error)
    }

    async fn start_once(
        target: &Target,
        config: &str,
        extra: &[String],
    ) -> Result<AmProcess, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let config_path = dir.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).map_err(|e| format!("write config: {e}"))?;
        let storage = dir.path().join("data");
        std::fs::create_dir_all(&storage).map_err(|e| format!("storage dir: {e}"))?;

        let mut command = Command::new(&target.binary);
        command
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.path={}", storage.display()));
        let known_address = match target.kind {
            Kind::Larum => {
                command.arg("--web.listen-address=127.0.0.1:0");
                // Clustering is on by default (0.0.0.0:9094): off unless asked for.
                if !extra
                    .iter()
                    .any(|a| a.starts_with("--cluster.listen-address"))
                {
                    command.arg("--cluster.listen-address=");
                }
                None
            }
            Kind::Reference => {
                let address = format!("127.0.0.1:{}", free_port()?);
                command
                    .arg(format!("--web.listen-address={address}"))
                    .arg("--cluster.listen-address=");
                Some(address)
            }
        };
        command
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            format!(
                "cannot start {} ({}): {e}",
                target.name,
                target.binary.display()
            )
        })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let sink = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        let mut process = AmProcess {
            target: target.clone(),
            address: known_address.clone().unwrap_or_default(),
            child,
            log,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        if known_address.is_none() {
            process.address = process
                .poll(
                    deadline,
                    "a `Listening on ... address=IP:PORT` log line",
                    |p| p.log().iter().find_map(|l| listening_address(l)),
                )
                .await?;
        }
        let client = http_client();
        let ready = process.url("/-/ready");
        loop {
            if let Ok(response) = client.get(&ready).send().await
                // 401: up, behind the basic auth of a --web.config.file.
                && (response.status().is_success() || response.status() == 401)
            {
                return Ok(process);
            }
            process.check_alive("answering GET /-/ready")?;
            if Instant::now() > deadline {
                return Err(process.failure("GET /-/ready did not answer 200 within 20s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn poll<T>(
        &mut self,
        deadline: Instant,
        what: &str,
        mut check: impl FnMut(&AmProcess) -> Option<T>,
    ) -> Result<T, String> {
        loop {
            if let Some(v) = check(self) {
                return Ok(v);
            }
            self.check_alive(what)?;
            if Instant::now() > deadline {
                return Err(self.failure(&format!("no {what} within 20s")));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn check_alive(&mut self, what: &str) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(self.failure(&format!("exited with {status} before {what}"))),
            _ => Ok(()),
        }
    }

    /// An error message naming the target, with its log.
    pub fn failure(&self, what: &str) -> String {
        let log = self.log();
        let tail = &log[log.len().saturating_sub(30)..];
        format!(
            "{} ({}): {what}; its log:\n    {}",
            self.target.name,
            self.target.binary.display(),
            tail.join("\n    ")
        )
    }

    /// `http://IP:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The process log (stderr) so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The temp dir holding the config and storage.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the process (SIGKILL) and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The `IP:PORT` of a `Listening on` log line (logfmt `address=...`, quoted or not).
pub fn listening_address(line: &str) -> Option<String> {
    if !line.contains("Listening on") {
        return None;
    }
    let rest = line.split("address=").nth(1)?;
    let value = rest.split_whitespace().next()?.trim_matches('"');
    (!value.is_empty()).then(|| value.to_string())
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local address: {e}"))
}

/// An HTTP client for loopback (no proxy from the environment).
pub fn http_client() -> reqwest::Client {
    larum_engine::notify::integrations::http::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Path of an installed program, or an error naming the script that installs test prerequisites.
pub fn require_program(name: &str) -> Result<PathBuf, String> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!(
                "{name} is not installed: run scripts/install-test-deps.sh to install the test prerequisites"
            )
        })
}
