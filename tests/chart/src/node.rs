//! Larum installed the way users install it, on the test node (`larum_kube_harness::node`):
//! the images of `make images-oci` and `make node-images` imported into the node's
//! containerd, `helm install` of `charts/larum` into a namespace enforcing the restricted
//! Pod Security Standard, Prometheus and a webhook sink as pods, `examples/kubernetes/`
//! applied. Used by `make node` (`larum-node`) and the node tests.
//!
//! Everything goes through the API server with `kubectl` and `helm` (a kubeconfig on the
//! host), and reads replicas through the API server's pod and service proxy, as a person
//! at a workstation would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{chart_dir, repo_root};

/// The release name of `make node` and the node tests (the names in `examples/kubernetes/`).
pub const RELEASE: &str = "larum";
/// The namespace the chart goes to.
pub const NAMESPACE: &str = "larum-system";
/// The engine StatefulSet (and client Service).
pub const ENGINE: &str = "larum-engine";
/// The operator Deployment.
pub const OPERATOR: &str = "larum-operator";

/// What went wrong while installing or reading the cluster.
pub type Error = String;

/// `kubectl` and `helm` against one cluster, through a kubeconfig on the host.
#[derive(Debug, Clone)]
pub struct Kube {
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    helm: PathBuf,
}

impl Kube {
    /// The tools of `make cluster-tools` with `kubeconfig`.
    pub fn new(kubeconfig: &Path) -> Result<Kube, Error> {
        Ok(Kube {
            kubeconfig: kubeconfig.to_path_buf(),
            kubectl: larum_kube_harness::tool("kubectl").map_err(|e| e.to_string())?,
            helm: larum_kube_harness::tool("helm").map_err(|e| e.to_string())?,
        })
    }

    /// The kubeconfig path.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    fn run(&self, tool: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, Error> {
        larum_kube_harness::run_kubectl(tool, &self.kubeconfig, args, stdin)
            .map_err(|e| e.to_string())
    }

    /// `kubectl ARGS`: its stdout, or its stderr as the error.
    pub fn kubectl(&self, args: &[&str]) -> Result<String, Error> {
        self.run(&self.kubectl, args, None)
    }

    /// `kubectl apply -f -` of `manifest`.
    pub fn apply(&self, manifest: &str) -> Result<String, Error> {
        self.run(&self.kubectl, &["apply", "-f", "-"], Some(manifest))
    }

    /// `helm ARGS`.
    pub fn helm(&self, args: &[&str]) -> Result<String, Error> {
        self.run(&self.helm, args, None)
    }

    /// `kubectl get ARGS -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> Result<Value, Error> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let text = self.kubectl(&all)?;
        serde_json::from_str(&text).map_err(|e| format!("kubectl get {}: {e}", args.join(" ")))
    }

    /// `GET path` of the API server (`kubectl get --raw`).
    pub fn raw_get(&self, path: &str) -> Result<String, Error> {
        self.kubectl(&["get", "--raw", path])
    }

    /// `POST path` of the API server with a JSON body (`kubectl create --raw`).
    pub fn raw_post(&self, path: &str, body: &str) -> Result<String, Error> {
        self.run(
            &self.kubectl,
            &["create", "--raw", path, "-f", "-"],
            Some(body),
        )
    }

    /// `GET path` of port `port` of pod `pod`, through the API server's pod proxy.
    pub fn pod_get(&self, ns: &str, pod: &str, port: u16, path: &str) -> Result<String, Error> {
        self.raw_get(&format!(
            "/api/v1/namespaces/{ns}/pods/{pod}:{port}/proxy{path}"
        ))
    }

    /// `GET path` of port `port` of Service `svc`, through the API server's service proxy.
    pub fn service_get(&self, ns: &str, svc: &str, port: u16, path: &str) -> Result<String, Error> {
        self.raw_get(&format!(
            "/api/v1/namespaces/{ns}/services/{svc}:{port}/proxy{path}"
        ))
    }

    /// `GET path` of an engine replica's API (JSON), through the pod proxy.
    pub fn engine_json(&self, pod: &str, path: &str) -> Result<Value, Error> {
        let text = self.pod_get(NAMESPACE, pod, 9093, path)?;
        serde_json::from_str(&text).map_err(|e| format!("{pod} {path}: {e}: {text}"))
    }

    /// Waits until `check` returns `Some` (every 250 ms), or fails after `timeout` with
    /// the last error `check` gave.
    pub fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Result<Option<T>, Error>,
    ) -> Result<T, Error> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            match check() {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}; last: {last}"
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The pods of `ns` matching `selector` (`-l`), as JSON objects.
    pub fn pods(&self, ns: &str, selector: &str) -> Result<Vec<Value>, Error> {
        let list = self.get_json(&["pods", "-n", ns, "-l", selector])?;
        Ok(list["items"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until `count` pods match `selector` in `ns`, every one Running and Ready.
    pub fn wait_pods_ready(
        &self,
        ns: &str,
        selector: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Value>, Error> {
        self.wait(
            &format!("{count} ready pods {selector} in {ns}"),
            timeout,
            || {
                let pods = self.pods(ns, selector)?;
                let ready = pods.iter().filter(|p| pod_ready(p)).count();
                if pods.len() == count && ready == count {
                    Ok(Some(pods))
                } else {
                    Err(format!(
                        "{ready} of {} ready: {}",
                        pods.len(),
                        pod_states(&pods)
                    ))
                }
            },
        )
    }
}

/// Whether a pod is Running with its Ready condition true.
pub fn pod_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        && pod["metadata"]["deletionTimestamp"].is_null()
}

/// `name=phase/ready` of each pod, for messages.
pub fn pod_states(pods: &[Value]) -> String {
    pods.iter()
        .map(|p| {
            let waiting: Vec<String> = p["status"]["containerStatuses"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| {
                            c["state"]["waiting"]["reason"].as_str().map(str::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{}={}{}{}",
                p["metadata"]["name"].as_str().unwrap_or("?"),
                p["status"]["phase"].as_str().unwrap_or("?"),
                if pod_ready(p) { "/ready" } else { "" },
                if waiting.is_empty() {
                    String::new()
                } else {
                    format!("({})", waiting.join(","))
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The image archives the node runs, from `make images-oci` and `make node-images`.
#[derive(Debug, Clone)]
pub struct Images {
    /// Directory holding the archives (`.cache/images`, or `$LARUM_IMAGES`).
    pub dir: PathBuf,
}

impl Images {
    /// The archives in `$LARUM_IMAGES`, else `<repo>/.cache/images`.
    pub fn locate() -> Images {
        let dir = std::env::var_os("LARUM_IMAGES")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".cache/images"));
        Images { dir }
    }

    /// Every archive (`*.tar`) in the directory; an error naming what to run if the
    /// ones the chart needs are missing.
    pub fn archives(&self) -> Result<Vec<PathBuf>, Error> {
        for needed in [
            "larum-engine.tar",
            "larum-operator.tar",
            "prometheus.tar",
            "webhook-sink.tar",
        ] {
            if !self.dir.join(needed).is_file() {
                return Err(format!(
                    "{} missing: run `make images-oci node-images`",
                    self.dir.join(needed).display()
                ));
            }
        }
        let mut out: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|e| format!("{}: {e}", self.dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tar"))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The image name an archive carries (`io.containerd.image.name` of its index).
    pub fn reference(archive: &Path) -> Result<String, Error> {
        let out = Command::new("python3")
            .arg(repo_root().join("scripts/oci-image.py"))
            .arg("--inspect")
            .arg(archive)
            .output()
            .map_err(|e| format!("python3: {e}"))?;
        let info: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("inspecting {}: {e}", archive.display()))?;
        info["ref"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{}: no image name", archive.display()))
    }
}

/// `name:tag` → (`registry`, `repository`, `tag`) as the chart's image values take them.
fn split_reference(reference: &str) -> (String, String, String) {
    let (name, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    let (registry, repository) = name.split_once('/').unwrap_or(("", name));
    (
        registry.to_string(),
        repository.to_string(),
        tag.to_string(),
    )
}

/// The `--set` arguments pointing the chart at the engine and operator images.
pub fn image_values(engine_ref: &str, operator_ref: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (key, reference) in [
        ("alertmanager.alertmanagerSpec.image", engine_ref),
        ("operator.image", operator_ref),
    ] {
        let (registry, repository, tag) = split_reference(reference);
        out.push(format!("{key}.registry={registry}"));
        out.push(format!("{key}.repository={repository}"));
        out.push(format!("{key}.tag={tag}"));
    }
    out
}

/// Installs (or upgrades) the chart as the README says: namespace with the restricted
/// Pod Security Standard enforced, `helm upgrade --install` with the node's values and
/// the images, `extra` appended (e.g. `--set ...`). Returns helm's output.
pub fn helm_install(kube: &Kube, images: &Images, extra: &[&str]) -> Result<String, Error> {
    kube.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n  labels:\n    \
         pod-security.kubernetes.io/enforce: restricted\n    \
         pod-security.kubernetes.io/warn: restricted\n"
    ))?;
    let engine = Images::reference(&images.dir.join("larum-engine.tar"))?;
    let operator = Images::reference(&images.dir.join("larum-operator.tar"))?;
    let sets = image_values(&engine, &operator);
    let chart = chart_dir().display().to_string();
    let values = repo_root()
        .join("tests/chart/node/values.yaml")
        .display()
        .to_string();
    let mut args: Vec<&str> = vec![
        "upgrade",
        "--install",
        RELEASE,
        &chart,
        "--namespace",
        NAMESPACE,
        "-f",
        &values,
    ];
    for s in &sets {
        args.extend_from_slice(&["--set", s]);
    }
    args.extend_from_slice(extra);
    kube.helm(&args)
}

/// Waits for every chart pod: operator 2/2, engine 3/3.
pub fn wait_chart_ready(kube: &Kube, timeout: Duration) -> Result<(), Error> {
    kube.wait_pods_ready(
        NAMESPACE,
        "app.kubernetes.io/name=larum-operator",
        2,
        timeout,
    )?;
    kube.wait_pods_ready(NAMESPACE, "app.kubernetes.io/name=larum-engine", 3, timeout)?;
    Ok(())
}

/// The address of the webhook sink as the engines reach it.
pub const SINK_URL: &str = "http://webhook-sink.sink.svc.cluster.local:8080/alerts";

/// Prometheus (always-firing rules of `examples/kubernetes/prometheus-rules.yaml`), the
/// webhook sink, and `examples/kubernetes/` with the team's webhook Secret pointing at
/// the sink.
pub fn deploy_demo(kube: &Kube, images: &Images) -> Result<(), Error> {
    let dir = repo_root().join("tests/chart/node");
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let sink_ref = Images::reference(&images.dir.join("webhook-sink.tar"))?;
    let prometheus_ref = Images::reference(&images.dir.join("prometheus.tar"))?;
    kube.apply(&read(&dir.join("webhook-sink.yaml"))?.replace("${WEBHOOK_SINK_IMAGE}", &sink_ref))?;
    let prometheus =
        read(&dir.join("prometheus.yaml"))?.replace("${PROMETHEUS_IMAGE}", &prometheus_ref);
    kube.apply(&prometheus)?;
    let rules = repo_root().join("examples/kubernetes/prometheus-rules.yaml");
    let rules_arg = format!("--from-file=rules.yaml={}", rules.display());
    let cm = kube.kubectl(&[
        "create",
        "configmap",
        "prometheus-rules",
        "-n",
        "monitoring",
        &rules_arg,
        "--dry-run=client",
        "-o",
        "yaml",
    ])?;
    kube.apply(&cm)?;
    let examples = repo_root().join("examples/kubernetes");
    let mut manifests = String::new();
    for name in ["alertroute.yaml", "inhibitrule.yaml", "silence.yaml"] {
        manifests.push_str(&read(&examples.join(name))?);
        manifests.push_str("\n---\n");
    }
    let manifests = manifests.replace("http://127.0.0.1:8099/alerts", SINK_URL);
    kube.apply(&manifests)?;
    Ok(())
}

/// The notifications the webhook sink received (parsed bodies), through its Service.
pub fn sink_notifications(kube: &Kube) -> Result<Vec<Value>, Error> {
    let text = kube.service_get("sink", "webhook-sink", 8080, "/notifications")?;
    let all: Value = serde_json::from_str(&text).map_err(|e| format!("sink: {e}: {text}"))?;
    Ok(all
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| match &n["body"] {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                    other => other.clone(),
                })
                .collect()
        })
        .unwrap_or_default())
}

/// How many notifications the sink got for groups with `alertname`, firing ones only.
pub fn firing_notifications(kube: &Kube, alertname: &str) -> Result<usize, Error> {
    Ok(sink_notifications(kube)?
        .iter()
        .filter(|n| n["status"] == "firing" && n["groupLabels"]["alertname"] == alertname)
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_the_charts_values() {
        assert_eq!(
            image_values("ghcr.io/larum-dev/larum-engine:0.1.0", "larum.local/op:dev"),
            [
                "alertmanager.alertmanagerSpec.image.registry=ghcr.io",
                "alertmanager.alertmanagerSpec.image.repository=larum-dev/larum-engine",
                "alertmanager.alertmanagerSpec.image.tag=0.1.0",
                "operator.image.registry=larum.local",
                "operator.image.repository=op",
                "operator.image.tag=dev",
            ]
        );
    }
}
