//! Debian's Prometheus as a real alert sender: started on a free loopback port with a temp
//! TSDB, its lifecycle API enabled for reloads.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::process::{free_port, http_client, require_program};

/// A running Prometheus, killed when dropped.
pub struct Prometheus {
    /// `IP:PORT` of its web listener.
    pub address: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Prometheus {
    /// Starts `prometheus` with `config` (a file), a TSDB under `data_dir`, and rules re-sent to
    /// the alertmanager every second (`--rules.alert.resend-delay=1s`, so an alert whose rule is
    /// gone ends within seconds); waits until `/-/ready` answers 200.
    pub async fn start(config: &Path, data_dir: &Path) -> Result<Prometheus, String> {
        let binary: PathBuf = require_program("prometheus")?;
        let address = format!("127.0.0.1:{}", free_port()?);
        let mut child = Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--web.enable-lifecycle")
            .arg("--rules.alert.resend-delay=1s")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
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
        let mut prometheus = Prometheus {
            address,
            child,
            log,
        };
        let client = http_client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(prometheus.url("/-/ready")).send().await
                && response.status().is_success()
            {
                return Ok(prometheus);
            }
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                return Err(prometheus.failure(&format!("exited with {status} before ready")));
            }
            if Instant::now() > deadline {
                return Err(prometheus.failure("not ready within 30s"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://IP:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Reloads its config and rule files (POST /-/reload).
    pub async fn reload(&self) -> Result<(), String> {
        let response = http_client()
            .post(self.url("/-/reload"))
            .send()
            .await
            .map_err(|e| format!("POST /-/reload: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            Err(self.failure(&format!("POST /-/reload answered {status}: {text}")))
        }
    }

    /// An error message with the tail of its log.
    pub fn failure(&self, what: &str) -> String {
        let log = self.log.lock().unwrap().clone();
        let tail = &log[log.len().saturating_sub(20)..];
        format!("prometheus: {what}; its log:\n    {}", tail.join("\n    "))
    }
}
