//! Replicas of a larum-engine cluster on loopback: each with its own storage, API on
//! `127.0.0.1:0`, gossip on `127.0.0.1:0`; helpers to read their status and metrics.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::process::{http_client, larum_engine, listening_address};

/// One running replica, killed (SIGKILL) when dropped.
pub struct Replica {
    /// `--cluster.peer-name`.
    pub name: String,
    /// `http://IP:PORT` of its API.
    pub base: String,
    /// Its bound gossip address (from `/api/v2/status`), once ready.
    pub gossip: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

/// How to start a replica.
#[derive(Clone, Debug, Default)]
pub struct ReplicaSpec {
    /// `--cluster.peer-name`.
    pub name: String,
    /// `--cluster.peer` values.
    pub peers: Vec<String>,
    /// Other flags.
    pub extra: Vec<String>,
    /// Whether to wait for `/-/ready` (else only for the listener).
    pub wait_ready: bool,
    /// `--cluster.listen-address` (default `127.0.0.1:0`).
    pub gossip_listen: Option<String>,
    /// Run in a private mount namespace whose `/etc/hosts` is this file (bind-mounted), so
    /// the test controls what peer names resolve to; rewrite the file in place to change it.
    pub hosts_file: Option<PathBuf>,
    /// Run inside this network namespace (`ip netns exec`).
    pub netns: Option<String>,
    /// `--web.listen-address` (default `127.0.0.1:0`).
    pub web_listen: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl ReplicaSpec {
    /// A replica named `name` joining `peers`, waited for until ready.
    pub fn new(name: &str, peers: &[&str]) -> Self {
        ReplicaSpec {
            name: name.to_string(),
            peers: peers.iter().map(|p| p.to_string()).collect(),
            extra: Vec::new(),
            wait_ready: true,
            gossip_listen: None,
            hosts_file: None,
            netns: None,
            web_listen: None,
            env: Vec::new(),
        }
    }

    /// Adds flags.
    pub fn flags(mut self, flags: &[&str]) -> Self {
        self.extra.extend(flags.iter().map(|f| f.to_string()));
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Does not wait for readiness.
    pub fn no_wait(mut self) -> Self {
        self.wait_ready = false;
        self
    }
}

impl Replica {
    /// Starts a replica with `config` and `storage`; waits for its listener (and for
    /// `/-/ready` unless told not to) within `timeout`.
    pub async fn start(
        spec: &ReplicaSpec,
        config: &Path,
        storage: &Path,
        timeout: Duration,
    ) -> Result<Replica, String> {
        let mut command = match &spec.hosts_file {
            None if spec.netns.is_some() => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", spec.netns.as_deref().unwrap_or_default()])
                    .arg(larum_engine());
                c
            }
            None => Command::new(larum_engine()),
            Some(hosts) => {
                // unshare execs sh, which execs the engine: the child is the engine.
                let mut c = Command::new("unshare");
                c.args(["-m", "--propagation", "private", "sh", "-c"])
                    .arg("mount --bind \"$0\" /etc/hosts && exec \"$@\"")
                    .arg(hosts)
                    .arg(larum_engine());
                c
            }
        };
        let gossip = spec
            .gossip_listen
            .clone()
            .unwrap_or_else(|| "127.0.0.1:0".to_string());
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!(
                "--web.listen-address={}",
                spec.web_listen.as_deref().unwrap_or("127.0.0.1:0")
            ))
            .arg(format!("--cluster.listen-address={gossip}"))
            .arg(format!("--cluster.peer-name={}", spec.name))
            .args(spec.peers.iter().map(|p| format!("--cluster.peer={p}")))
            .args(&spec.extra)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start larum-engine: {e}"))?;
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
        let mut replica = Replica {
            name: spec.name.clone(),
            base: String::new(),
            gossip: String::new(),
            child,
            log,
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(a) = replica.log().iter().find_map(|l| listening_address(l)) {
                replica.base = format!("http://{a}");
                break;
            }
            replica.check(deadline, "a Listening on line")?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if spec.wait_ready {
            replica.wait_ready(deadline).await?;
        }
        Ok(replica)
    }

    /// Waits until `/-/ready` answers 200, then reads the gossip address.
    pub async fn wait_ready(&mut self, deadline: Instant) -> Result<(), String> {
        let client = http_client();
        loop {
            if let Ok(r) = client.get(self.url("/-/ready")).send().await
                && r.status().is_success()
            {
                break;
            }
            self.check(deadline, "GET /-/ready answering 200")?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = self.status().await?;
        self.gossip = status["cluster"]["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == self.name.as_str())
            .and_then(|p| p["address"].as_str())
            .ok_or_else(|| self.failure(&format!("no own peer entry in the status {status}")))?
            .to_string();
        Ok(())
    }

    fn check(&mut self, deadline: Instant, what: &str) -> Result<(), String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(self.failure(&format!("exited with {status} before {what}")));
        }
        if Instant::now() > deadline {
            return Err(self.failure(&format!("no {what} in time")));
        }
        Ok(())
    }

    /// An error message with the replica's log tail.
    pub fn failure(&self, what: &str) -> String {
        let log = self.log();
        let tail = &log[log.len().saturating_sub(30)..];
        format!(
            "replica {}: {what}; its log:\n    {}",
            self.name,
            tail.join("\n    ")
        )
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// `GET /api/v2/status` as JSON.
    pub async fn status(&self) -> Result<Value, String> {
        self.get_json("/api/v2/status").await
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value, String> {
        // Snapshots of 100k entries take a while in unoptimized builds.
        let r = http_client()
            .get(self.url(path))
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        r.json().await.map_err(|e| format!("GET {path}: {e}"))
    }

    /// The value of a metric series (`name{labels}` as rendered), if present.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let body = http_client()
            .get(self.url("/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        body.lines().find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
    }

    /// Names of the live members this replica sees.
    pub async fn member_names(&self) -> Vec<String> {
        let Ok(status) = self.status().await else {
            return Vec::new();
        };
        status["cluster"]["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    }

    /// Kills the replica with SIGKILL and waits for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Polls `check` every 20 ms until it answers `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A temp dir with a config file and one storage dir per replica name.
pub struct Workspace {
    dir: tempfile::TempDir,
    /// The config file.
    pub config: PathBuf,
}

impl Workspace {
    /// Writes `config`.
    pub fn new(config: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alertmanager.yml");
        std::fs::write(&path, config).unwrap();
        Workspace { dir, config: path }
    }

    /// A fresh (empty) storage dir.
    pub fn storage(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(format!("data-{name}-{}", uuid_like()));
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// A path in the workspace.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
