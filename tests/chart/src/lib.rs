//! Helpers for the tests of the Helm chart (`charts/larum`): running `helm`, parsing
//! what it renders, finding the workspace's binaries, waiting with deadlines, and the
//! engine's arguments as the chart renders them, rewritten to loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod crd_doc;
pub mod node;

/// The release name the tests install.
pub const RELEASE: &str = "larum";
/// The namespace the tests install into.
pub const NAMESPACE: &str = "larum-system";

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The chart's directory.
pub fn chart_dir() -> PathBuf {
    repo_root().join("charts/larum")
}

/// The "everything on" values file.
pub fn everything_on() -> PathBuf {
    chart_dir().join("ci/everything-on.yaml")
}

/// Runs `helm` (from `make cluster-tools`) with `args`; returns its output, whatever the status.
pub fn helm(args: &[&str]) -> Output {
    let helm = larum_kube_harness::tool("helm").unwrap_or_else(|e| panic!("{e}"));
    // A private home: no user repositories or plugins leak into the tests.
    let home = std::env::temp_dir().join("larum-chart-tests-helm");
    Command::new(helm)
        .args(args)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running helm: {e}"))
}

/// Runs `helm` and returns standard output; panics with stderr when it fails.
pub fn helm_ok(args: &[&str]) -> String {
    let out = helm(args);
    assert!(
        out.status.success(),
        "helm {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `helm template` of the chart as release [`RELEASE`] in [`NAMESPACE`] with optional
/// values files and `--set` pairs.
pub fn template(values: &[&Path], set: &[&str]) -> String {
    let chart = chart_dir();
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart.display().to_string(),
        "--namespace".into(),
        NAMESPACE.into(),
    ];
    for v in values {
        args.push("-f".into());
        args.push(v.display().to_string());
    }
    for s in set {
        args.push("--set".into());
        args.push((*s).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    helm_ok(&args)
}

/// The documents of a multi-document YAML stream as JSON values (empty ones dropped).
pub fn documents(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(yaml).unwrap_or_else(|e| panic!("rendered YAML: {e}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The rendered object of `kind` named `name`.
pub fn object<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let have: Vec<String> = docs
                .iter()
                .map(|d| format!("{}/{}", d["kind"], d["metadata"]["name"]))
                .collect();
            panic!("no {kind} {name} rendered; have {have:?}")
        })
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    wait_until_or(what, timeout, check, String::new)
}

/// Like [`wait_until`], with `context()` (e.g. a process log) in the panic message.
pub fn wait_until_or<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET url`: status and body, or `None` when the connection fails.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    let resp = client.get(url).send().ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().unwrap_or_default()))
}

/// The path of a workspace binary (`larum-engine`, `larum-operator`). Binaries of other
/// packages are not given to tests by `CARGO_BIN_EXE_*`, so this looks next to the test
/// executable (`target/<profile>/`), where `cargo test --workspace` puts them (building
/// from inside a test would wait for the lock `cargo test` holds).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test path {}", exe.display()))
        .to_path_buf();
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} not built: `cargo test --workspace` builds it; with -p larum-chart-tests run \
         `cargo build -p larum-engine -p larum-operator` first",
        path.display()
    );
    path
}

/// The `args` of the container `container` in a rendered workload.
pub fn container_args(workload: &Value, container: &str) -> Vec<String> {
    let containers = workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap_or_else(|| panic!("no containers in {workload}"));
    let c = containers
        .iter()
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("no container {container}"));
    c["args"]
        .as_array()
        .unwrap_or_else(|| panic!("container {container} has no args"))
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Loopback addresses for one engine replica.
#[derive(Clone, Debug)]
pub struct ReplicaPorts {
    /// Port of `--web.listen-address`.
    pub web: u16,
    /// Port of `--cluster.listen-address` (UDP gossip).
    pub cluster: u16,
}

/// Rewrites the engine's args, as the chart renders them, for replica `index` running
/// on loopback: the peer DNS names `STS-N.HEADLESS.NS.svc...:9094` become
/// `127.0.0.1:<cluster port of N>`, listen and advertise addresses move to 127.0.0.1,
/// `$(POD_IP)`/`$(POD_NAME)` are expanded as the kubelet would, and the storage path
/// and the key file move to `data_dir` / `key_file`. Every other arg stays as rendered.
/// Panics on an arg it does not know how to place, so a new flag in the chart is seen.
pub fn loopback_args(
    rendered: &[String],
    sts_name: &str,
    index: usize,
    ports: &[ReplicaPorts],
    data_dir: &Path,
    key_file: &Path,
) -> Vec<String> {
    let me = &ports[index];
    let pod_name = format!("{sts_name}-{index}");
    rendered
        .iter()
        .map(|arg| {
            let arg = arg
                .replace("$(POD_IP)", "127.0.0.1")
                .replace("$(POD_NAME)", &pod_name);
            let (flag, value) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
            match flag {
                "--cluster.peer" => {
                    let host = value.split('.').next().unwrap_or_default();
                    let n: usize = host
                        .strip_prefix(&format!("{sts_name}-"))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("peer {value} is not a replica of {sts_name}"));
                    assert!(
                        value.ends_with(":9094"),
                        "peer {value} not on the gossip port"
                    );
                    format!("--cluster.peer=127.0.0.1:{}", ports[n].cluster)
                }
                "--web.listen-address" => format!("{flag}=127.0.0.1:{}", me.web),
                "--cluster.listen-address" | "--cluster.advertise-address" => {
                    format!("{flag}=127.0.0.1:{}", me.cluster)
                }
                "--storage.path" => format!("{flag}={}", data_dir.display()),
                "--cluster.key-file" => format!("{flag}={}", key_file.display()),
                _ => arg.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_args_map_each_peer_to_its_replica() {
        let rendered: Vec<String> = [
            "--config.secret=ns/x",
            "--cluster.advertise-address=$(POD_IP):9094",
            "--cluster.peer-name=$(POD_NAME)",
            "--cluster.peer=e-0.h.ns.svc.cluster.local:9094",
            "--cluster.peer=e-1.h.ns.svc.cluster.local:9094",
            "--storage.path=/alertmanager",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let ports = [
            ReplicaPorts {
                web: 1,
                cluster: 11,
            },
            ReplicaPorts {
                web: 2,
                cluster: 12,
            },
        ];
        let args = loopback_args(&rendered, "e", 1, &ports, Path::new("/d"), Path::new("/k"));
        assert_eq!(
            args,
            [
                "--config.secret=ns/x",
                "--cluster.advertise-address=127.0.0.1:12",
                "--cluster.peer-name=e-1",
                "--cluster.peer=127.0.0.1:11",
                "--cluster.peer=127.0.0.1:12",
                "--storage.path=/d",
            ]
        );
    }

    #[test]
    #[should_panic(expected = "not a replica")]
    fn a_foreign_peer_name_is_refused() {
        let rendered = vec!["--cluster.peer=other-0.h:9094".to_string()];
        let ports = [ReplicaPorts {
            web: 1,
            cluster: 11,
        }];
        loopback_args(&rendered, "e", 0, &ports, Path::new("/d"), Path::new("/k"));
    }
}

/// Test-cluster helpers on top of [`larum_kube_harness::Cluster`].
pub mod kube {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use larum_kube_harness::{Cluster, HarnessError};

    use super::{NAMESPACE, RELEASE, chart_dir, helm_ok, repo_root};

    /// Creates `namespace` with the restricted Pod Security Standard enforced (and warned).
    pub fn restricted_namespace(cluster: &Cluster, namespace: &str) {
        let manifest = serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            }},
        });
        cluster
            .apply(&manifest.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Applies the repository's CRDs and waits until they are established.
    pub fn apply_crds(cluster: &Cluster) {
        let dir = repo_root().join("crds").display().to_string();
        cluster
            .kubectl(&["apply", "--server-side", "-f", &dir])
            .unwrap_or_else(|e| panic!("{e}"));
        cluster
            .kubectl(&[
                "wait",
                "--for=condition=Established",
                "crd",
                "--all",
                "--timeout=60s",
            ])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Minimal stand-ins for the Prometheus Operator's ServiceMonitor and PrometheusRule
    /// CRDs (any fields), so the chart's optional objects can be applied.
    pub fn apply_monitoring_crd_stubs(cluster: &Cluster) {
        for (kind, plural) in [
            ("ServiceMonitor", "servicemonitors"),
            ("PrometheusRule", "prometheusrules"),
        ] {
            let crd = serde_json::json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.monitoring.coreos.com")},
                "spec": {
                    "group": "monitoring.coreos.com",
                    "scope": "Namespaced",
                    "names": {"kind": kind, "plural": plural,
                              "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
                    "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object",
                            "x-kubernetes-preserve-unknown-fields": true}}}],
                },
            });
            cluster
                .apply(&crd.to_string())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        cluster
            .kubectl(&[
                "wait",
                "--for=condition=Established",
                "crd",
                "--all",
                "--timeout=60s",
            ])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Runs kubectl with `stdin`; returns (success, stdout, stderr), warnings included.
    pub fn kubectl_full(cluster: &Cluster, args: &[&str], stdin: &str) -> (bool, String, String) {
        use std::io::Write as _;
        let kubectl = larum_kube_harness::tool("kubectl").unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(kubectl)
            .arg(format!("--kubeconfig={}", cluster.kubeconfig().display()))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("kubectl: {e}"));
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .unwrap_or_else(|e| panic!("kubectl stdin: {e}"));
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("kubectl: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `helm install` (or upgrade) of the chart into `namespace` against `cluster`.
    pub fn helm_install(cluster: &Cluster, release: &str, namespace: &str, extra: &[&str]) {
        let kubeconfig = cluster.kubeconfig().display().to_string();
        let chart = chart_dir().display().to_string();
        let mut args = vec![
            "upgrade",
            "--install",
            release,
            chart.as_str(),
            "--namespace",
            namespace,
            "--kubeconfig",
            kubeconfig.as_str(),
        ];
        args.extend_from_slice(extra);
        helm_ok(&args);
    }

    /// Installs the default chart as [`RELEASE`] in [`NAMESPACE`] (CRDs and namespace first).
    pub fn install_default(cluster: &Cluster) {
        restricted_namespace(cluster, NAMESPACE);
        apply_crds(cluster);
        helm_install(cluster, RELEASE, NAMESPACE, &[]);
    }

    /// `kubectl auth can-i VERB RESOURCE... --as=system:serviceaccount:NS:SA`.
    /// `target` is e.g. `["secrets/name", "-n", "ns"]` or `["alertroutes.larum.dev", "-A"]`.
    pub fn can_i(cluster: &Cluster, sa: &str, verb: &str, target: &[&str]) -> bool {
        let who = format!("--as=system:serviceaccount:{NAMESPACE}:{sa}");
        let mut args = vec!["auth", "can-i", verb];
        args.extend_from_slice(target);
        args.push(&who);
        match cluster.kubectl(&args) {
            Ok(out) => {
                assert_eq!(out.trim(), "yes", "kubectl {args:?}");
                true
            }
            Err(HarnessError::Kubectl { stderr, status, .. }) => {
                // "no" exits 1 with nothing (or a reason) on stderr; errors say "error:".
                assert!(
                    status.code() == Some(1) && !stderr.contains("error"),
                    "kubectl {args:?}: {stderr}"
                );
                false
            }
            Err(e) => panic!("kubectl {args:?}: {e}"),
        }
    }

    /// A kubeconfig that authenticates as the ServiceAccount `namespace/sa` (a token
    /// from the TokenRequest API), written into `dir`.
    pub fn service_account_kubeconfig(
        cluster: &Cluster,
        namespace: &str,
        sa: &str,
        dir: &Path,
    ) -> PathBuf {
        let token = cluster
            .kubectl(&["create", "token", sa, "-n", namespace, "--duration=2h"])
            .unwrap_or_else(|e| panic!("{e}"));
        let admin = std::fs::read_to_string(cluster.kubeconfig()).unwrap_or_else(|e| panic!("{e}"));
        let mut config: serde_json::Value =
            serde_json::from_str(&admin).unwrap_or_else(|e| panic!("{e}"));
        config["users"][0]["user"] = serde_json::json!({"token": token.trim()});
        config["contexts"][0]["context"]["namespace"] = serde_json::json!(namespace);
        let path = dir.join(format!("{sa}.kubeconfig"));
        std::fs::write(&path, config.to_string()).unwrap_or_else(|e| panic!("{e}"));
        path
    }
}

/// A child process (engine, operator, Prometheus, ...) with its output in a log file,
/// killed when dropped (also when the test panics).
pub struct Proc {
    name: String,
    child: std::process::Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `program` with `args` and `env`, logging to `log`.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: PathBuf,
    ) -> Proc {
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        Proc {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "{} log:\n{}",
            self.name,
            lines[lines.len().saturating_sub(n)..].join("\n")
        )
    }

    /// Panics with the log's tail when the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!("{} exited with {status}:\n{}", self.name, tail.join("\n"));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
