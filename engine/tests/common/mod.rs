//! Test support: start real engine processes and wait for events with deadlines.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The engine binary built by cargo for this test run.
pub const ENGINE: &str = env!("CARGO_BIN_EXE_larum-engine");

/// A running engine process, killed when dropped.
pub struct Engine {
    child: Child,
    /// `IP:PORT` of its first listener.
    pub address: String,
    log: Arc<Mutex<Vec<String>>>,
    /// The `--storage.path` made for it when the caller gave none.
    _storage: Option<tempfile::TempDir>,
}

impl Engine {
    /// Starts the engine on `config` with a free loopback port and waits until it listens.
    pub fn start(config: &Path, extra: &[&str]) -> Engine {
        Engine::start_with_env(config, extra, &[])
    }

    /// [`Engine::start`] with extra environment variables.
    pub fn start_with_env(config: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Engine {
        // Keep state out of the working directory unless the test names a storage path.
        let storage = (!extra.iter().any(|a| a.starts_with("--storage.path")))
            .then(|| tempfile::tempdir().expect("storage temp dir"));
        let mut command = Command::new(ENGINE);
        if let Some(dir) = &storage {
            command.arg(format!("--storage.path={}", dir.path().display()));
        }
        // Clustering is on by default (0.0.0.0:9094): off unless the test asks for it.
        if !extra
            .iter()
            .any(|a| a.starts_with("--cluster.listen-address"))
        {
            command.arg("--cluster.listen-address=");
        }
        let mut child = command
            .arg(format!("--config.file={}", config.display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start larum-engine");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut engine = Engine {
            child,
            address: String::new(),
            log,
            _storage: storage,
        };
        let line = engine.wait_for_log("Listening on", Duration::from_secs(20));
        let address = line
            .split("address=")
            .nth(1)
            .expect("address= in the Listening line");
        engine.address = address
            .split_whitespace()
            .next()
            .unwrap_or(address)
            .trim_matches('"')
            .to_string();
        engine
    }

    /// The engine's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://IP:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle` and returns it; panics with the log after `timeout`.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "engine exited with {status} before logging {needle:?}; log:\n{}",
                    self.log().join("\n")
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "no log line with {needle:?} within {timeout:?}; log:\n{}",
                    self.log().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit and returns whether it exited successfully.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                panic!("engine did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A blocking HTTP GET returning status and body (no external client needed).
pub fn http(method: &str, url: &str) -> (u16, String) {
    let client = reqwest_blocking();
    let request = client.request(method.parse().expect("method"), url);
    let rt = tokio_rt();
    rt.block_on(async move {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    })
}

fn reqwest_blocking() -> reqwest::Client {
    larum_engine::notify::integrations::http::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The value of an unlabelled metric in a `/metrics` body.
pub fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Path of an installed program, or a panic telling how to install the test prerequisites.
pub fn require_program(name: &str) -> String {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let candidate = Path::new(dir).join(name);
        if candidate.is_file() {
            return candidate.to_string_lossy().into_owned();
        }
    }
    panic!(
        "{name} is not installed: run scripts/install-test-deps.sh (or .ci/run) to install the test prerequisites"
    );
}

/// A blocking HTTP request with a JSON body; returns status and body.
pub fn http_json(method: &str, url: &str, body: &str) -> (u16, String) {
    let client = reqwest_blocking();
    let request = client
        .request(method.parse().expect("method"), url)
        .header("content-type", "application/json")
        .body(body.to_string());
    let rt = tokio_rt();
    rt.block_on(async move {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    })
}

/// Sends raw bytes on a new connection to `address` (`IP:PORT`) and returns what the
/// server answers until it closes the connection or `timeout` passes.
pub fn raw_http(address: &str, request: &[u8], timeout: Duration) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(timeout)).unwrap();
    // The server may answer and close before the whole request is written.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The repository's root directory.
pub fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ has a parent")
        .to_path_buf()
}

/// Upstream's v0.34.0 `amtool`, when `scripts/upstream-alertmanager.sh` has built it.
pub fn upstream_amtool() -> Option<String> {
    let path = repo_root().join(".cache/upstream/bin/amtool");
    path.is_file().then(|| path.to_string_lossy().into_owned())
}
