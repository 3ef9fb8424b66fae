//! A real single-node Kubernetes cluster for tests, isolated in a network namespace:
//! etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (Debian's),
//! the kubelet and kube-proxy (built by `make cluster-tools` from the pinned
//! k8s.io/kubernetes), the bridge CNI, and CoreDNS, with the images of
//! `scripts/node-images.sh` imported.
//!
//! ```no_run
//! let node = larum_kube_harness::node::Node::start().unwrap();
//! node.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n").unwrap();
//! // ... everything (processes, containers, mounts, cgroups, the network namespace, the
//! // temp dir) is removed when `node` is dropped, also when the test panics.
//! ```
//!
//! Nothing of it is reachable from outside the machine: the namespace has loopback and a
//! veth pair (both ends inside) with [`NODE_IP`], no link to the host and no default route. Host-side
//! clients reach the API server through a forwarder on 127.0.0.1 ([`Node::kubeconfig`]
//! works for kubectl, helm and kube-rs); [`Node::exec_in_netns`] runs a command inside.
//!
//! Needs root, cgroup v1, br_netfilter, containerd, runc, ctr, iptables, conntrack and the
//! CNI plugins in /usr/lib/cni (`scripts/install-test-deps.sh` installs them).

mod addons;
mod cleanup;
mod containerd;
mod control_plane;
mod kubelet;
mod netns;
mod serve;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use cleanup::{leftovers, sweep_stale_nodes};
pub use serve::serve_until_interrupted;

use crate::{HarnessError, Process, io, run_kubectl, tool, write_kubeconfig};
use containerd::ContainerdPaths;
use control_plane::{ApiServer, Controllers};
use netns::{Forwarder, NetNs};

/// The node's name (its Node object and hostname).
pub const NODE_NAME: &str = "larum-node";
/// The node's address, on an interface that exists only inside its namespace.
pub const NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
/// The API server's port on [`NODE_IP`].
pub const API_PORT: u16 = 6443;
/// The Service ClusterIP range.
pub const SERVICE_CIDR: &str = "10.96.0.0/16";
/// The `kubernetes` Service's ClusterIP.
pub const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);
/// CoreDNS's ClusterIP (the kubelet's clusterDNS).
pub const DNS_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
/// The pods' addresses (one bridge, host-local IPAM).
pub const POD_CIDR: &str = "10.244.0.0/24";
/// The cluster's DNS domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// The sandbox image (`scripts/node-images.sh`).
pub const PAUSE_IMAGE: &str = "larum.local/pause:1";
/// The CoreDNS image; its tag is the CoreDNS version pinned in tests/coredns/go.mod.
pub const COREDNS_IMAGE: &str = "larum.local/coredns:1.15.0";
/// The test notification receiver (`webhook-sink`, port 8080, `GET /notifications`).
pub const WEBHOOK_SINK_IMAGE: &str = "larum.local/webhook-sink:1";
/// The image archives every node imports, in [`images_dir`].
pub const NODE_IMAGES: [&str; 3] = ["pause.tar", "coredns.tar", "webhook-sink.tar"];

/// How long [`Node::start`] waits for the node and CoreDNS to be ready by default.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(300);

static NEXT_NODE: AtomicU32 = AtomicU32::new(0);

/// Where `scripts/node-images.sh` writes the image archives.
pub fn images_dir() -> PathBuf {
    match std::env::var_os("LARUM_NODE_IMAGES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/images"),
    }
}

/// True when a missing prerequisite must fail a test instead of skipping it
/// (`CI` or `LARUM_REQUIRE_ALL` set and not empty).
pub fn require_all() -> bool {
    ["CI", "LARUM_REQUIRE_ALL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Checks everything a node needs, naming the first thing missing.
pub fn check_requirements() -> Result<(), HarnessError> {
    if !rustix::process::geteuid().is_root() {
        return Err(HarnessError::Requirement(
            "root (network namespaces, mounts, cgroups, containerd)".into(),
        ));
    }
    for (program, package) in [
        ("ip", "iproute2"),
        ("nsenter", "util-linux"),
        ("unshare", "util-linux"),
        ("mount", "mount"),
        ("containerd", "containerd"),
        ("ctr", "containerd"),
        ("runc", "runc"),
        ("iptables", "iptables"),
        ("iptables-save", "iptables"),
        ("conntrack", "conntrack"),
    ] {
        if !on_path(program) {
            return Err(HarnessError::Requirement(format!(
                "{program} (Debian package {package}; scripts/install-test-deps.sh installs it)"
            )));
        }
    }
    for plugin in ["bridge", "host-local", "portmap", "loopback"] {
        if !Path::new(containerd::CNI_BIN_DIR).join(plugin).is_file() {
            return Err(HarnessError::Requirement(format!(
                "{}/{plugin} (Debian package containernetworking-plugins)",
                containerd::CNI_BIN_DIR
            )));
        }
    }
    if !Path::new("/proc/sys/net/bridge").is_dir() {
        return Err(HarnessError::Requirement(
            "the br_netfilter kernel module (`modprobe br_netfilter`)".into(),
        ));
    }
    if !Path::new(kubelet::CGROUP_ROOT_DIR).join("memory").is_dir() {
        return Err(HarnessError::Requirement(
            "cgroup v1 hierarchies under /sys/fs/cgroup (memory, cpu, ...)".into(),
        ));
    }
    for t in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "kubectl",
    ] {
        tool(t)?;
    }
    for image in NODE_IMAGES {
        let path = images_dir().join(image);
        if !path.is_file() {
            return Err(HarnessError::Requirement(format!(
                "image archive {} (run scripts/node-images.sh)",
                path.display()
            )));
        }
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
        || ["/usr/sbin", "/sbin"]
            .iter()
            .any(|d| Path::new(d).join(program).is_file())
}

/// A running single-node cluster; torn down on drop (see [`Node::shutdown`]).
pub struct Node {
    name: String,
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
    shared_mount: bool,
    netns: Option<NetNs>,
    cgroup_root: Option<String>,
    forwarder: Option<Forwarder>,
    api: Option<ApiServer>,
    controllers: Option<Controllers>,
    containerd: Option<Process>,
    kubelet: Option<Process>,
    proxy: Option<Process>,
    containerd_paths: ContainerdPaths,
    kubeconfig: PathBuf,
    kubeconfig_in_netns: PathBuf,
    kubectl: PathBuf,
    server: String,
    token: String,
    ca_pem: String,
    torn_down: bool,
}

impl Node {
    /// Starts a node and waits until it and CoreDNS are ready (at most
    /// [`DEFAULT_START_TIMEOUT`]).
    pub fn start() -> Result<Node, HarnessError> {
        Node::start_with_timeout(DEFAULT_START_TIMEOUT)
    }

    /// Starts a node, waiting at most `timeout` for it and CoreDNS to be ready. On any
    /// error, whatever was started is torn down before the error is returned.
    pub fn start_with_timeout(timeout: Duration) -> Result<Node, HarnessError> {
        check_requirements()?;
        for stale in sweep_stale_nodes() {
            eprintln!("larum-node: removed what node {stale} (its process is gone) left behind");
        }
        let deadline = Instant::now() + timeout;
        let name = format!(
            "larum-node-{}-{}",
            std::process::id(),
            NEXT_NODE.fetch_add(1, Ordering::SeqCst)
        );
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .map_err(io("creating the node's temp dir"))?;
        let dir_path = dir.path().to_path_buf();
        let mut node = Node {
            name: name.clone(),
            dir: Some(dir),
            dir_path: dir_path.clone(),
            shared_mount: false,
            netns: None,
            cgroup_root: None,
            forwarder: None,
            api: None,
            controllers: None,
            containerd: None,
            kubelet: None,
            proxy: None,
            containerd_paths: ContainerdPaths::new(&dir_path),
            kubeconfig: dir_path.join("kubeconfig"),
            kubeconfig_in_netns: PathBuf::new(),
            kubectl: tool("kubectl")?,
            server: String::new(),
            token: String::new(),
            ca_pem: String::new(),
            torn_down: false,
        };
        // From here on, an early return drops `node`, which tears down what exists.
        node.bring_up(deadline)?;
        Ok(node)
    }

    fn bring_up(&mut self, deadline: Instant) -> Result<(), HarnessError> {
        let started = Instant::now();
        let dir = self.dir_path.clone();
        std::fs::create_dir_all(dir.join("logs")).map_err(io("creating the logs dir"))?;
        // A shared mount: the kubelet's volume mounts, made in its own mount namespace,
        // propagate back to the host's, where containerd runs.
        rustix::mount::mount_bind(&dir, &dir).map_err(|e| HarnessError::Io {
            what: format!("bind-mounting {} on itself", dir.display()),
            source: e.into(),
        })?;
        self.shared_mount = true;
        rustix::mount::mount_change(&dir, rustix::mount::MountPropagationFlags::SHARED).map_err(
            |e| HarnessError::Io {
                what: format!("making {} a shared mount", dir.display()),
                source: e.into(),
            },
        )?;
        self.netns = Some(NetNs::create(&self.name)?);
        let netns = self
            .netns
            .as_ref()
            .ok_or_else(|| stage("netns", "missing"))?;

        let pki = control_plane::generate_pki(&dir)?;
        let creds = control_plane::credentials(&dir, &pki.ca_pem)?;
        self.api = Some(control_plane::start_api(netns, &dir, &pki, &creds)?);
        let forwarder = Forwarder::start(&netns.path(), SocketAddr::from((NODE_IP, API_PORT)))?;
        self.server = format!("https://{}", forwarder.addr());
        self.forwarder = Some(forwarder);
        self.token = creds.admin_token.clone();
        self.kubeconfig_in_netns = creds.admin_in_netns.clone();
        self.ca_pem = pki.ca_pem.clone();
        write_kubeconfig(&self.kubeconfig, &self.server, &self.ca_pem, &self.token)?;

        // containerd and the images while the API server starts.
        self.containerd = Some(containerd::start(
            netns,
            &dir,
            &self.name,
            &self.containerd_paths,
            remaining(deadline),
        )?);
        for image in NODE_IMAGES {
            self.import_image(&images_dir().join(image))?;
        }
        tracing::info!(node = %self.name, elapsed = ?started.elapsed(), "containerd up, images imported");

        self.wait_for("the API server's /readyz", deadline, |node| {
            Ok(node
                .kubectl(&["get", "--raw", "/readyz"])
                .ok()
                .filter(|out| out.trim() == "ok"))
        })?;
        tracing::info!(node = %self.name, elapsed = ?started.elapsed(), "API server ready");
        self.controllers = Some(control_plane::start_controllers(netns, &dir, &pki, &creds)?);

        kubelet::create_cgroup_root(&self.name)?;
        self.cgroup_root = Some(self.name.clone());
        self.kubelet = Some(kubelet::start_kubelet(
            netns,
            &dir,
            &pki,
            &creds,
            &self.containerd_paths,
            &self.name,
        )?);
        self.proxy = Some(kubelet::start_proxy(netns, &dir, &creds)?);
        self.wait_for("the Node to be Ready", deadline, |node| {
            Ok(node
                .kubectl(&[
                    "get",
                    "node",
                    NODE_NAME,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                ])
                .ok()
                .filter(|s| s.trim() == "True"))
        })?;
        tracing::info!(node = %self.name, elapsed = ?started.elapsed(), "node Ready");

        self.apply(&addons::coredns_manifests())?;
        self.wait_for("CoreDNS to be ready", deadline, |node| {
            Ok(node
                .kubectl(&[
                    "-n",
                    "kube-system",
                    "get",
                    "deployment",
                    "coredns",
                    "-o",
                    "jsonpath={.status.readyReplicas}",
                ])
                .ok()
                .filter(|s| s.trim() == "1"))
        })?;
        tracing::info!(node = %self.name, elapsed = ?started.elapsed(), "CoreDNS ready");
        Ok(())
    }

    /// Polls `check` every 250 ms until it yields a value, a process exits, or `deadline`.
    fn wait_for<T>(
        &self,
        what: &str,
        deadline: Instant,
        mut check: impl FnMut(&Node) -> Result<Option<T>, HarnessError>,
    ) -> Result<T, HarnessError> {
        loop {
            self.check_running()?;
            if let Some(value) = check(self)? {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Stage {
                    stage: "start-up",
                    detail: format!(
                        "timed out waiting for {what}; logs in {}:\n{}",
                        self.dir_path.join("logs").display(),
                        self.log_tails(8)
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn processes(&self) -> Vec<&Process> {
        let mut all = Vec::new();
        if let Some(api) = &self.api {
            all.extend([&api.etcd, &api.apiserver]);
        }
        if let Some(c) = &self.controllers {
            all.extend([&c.controller_manager, &c.scheduler]);
        }
        all.extend(self.containerd.iter());
        all.extend(self.kubelet.iter());
        all.extend(self.proxy.iter());
        all
    }

    /// An error naming the first node process that exited, with the end of its log.
    pub fn check_running(&self) -> Result<(), HarnessError> {
        for p in self.processes() {
            p.check_running()?;
        }
        Ok(())
    }

    /// The last `lines` lines of every component's log.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for p in self.processes() {
            out.push_str(&format!("--- {}:\n{}\n", p.name(), p.log_tail(lines)));
        }
        out
    }

    /// The node's name on the host: its network namespace, cgroup root and CNI network
    /// (`larum-node-<pid>-<n>`). The Kubernetes Node object is [`NODE_NAME`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's temp dir (removed on drop); component logs are in `logs/`.
    pub fn dir(&self) -> &Path {
        &self.dir_path
    }

    /// A kubeconfig for the admin (group system:masters) that works on the host.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kubeconfig for the admin naming the API server by its address inside the
    /// namespace (`https://10.200.0.1:6443`), for commands run with [`Node::exec_in_netns`].
    pub fn kubeconfig_in_netns(&self) -> &Path {
        &self.kubeconfig_in_netns
    }

    /// The API server's URL on the host, `https://127.0.0.1:PORT` (the forwarder).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The admin bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The PEM of the cluster CA.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Runs `kubectl` with the admin kubeconfig and returns its standard output.
    pub fn kubectl(&self, args: &[&str]) -> Result<String, HarnessError> {
        run_kubectl(&self.kubectl, &self.kubeconfig, args, None)
    }

    /// Runs `kubectl` with `input` on its standard input.
    pub fn kubectl_with_stdin(&self, args: &[&str], input: &str) -> Result<String, HarnessError> {
        run_kubectl(&self.kubectl, &self.kubeconfig, args, Some(input))
    }

    /// `kubectl apply -f -` of a YAML or JSON manifest; returns kubectl's output.
    pub fn apply(&self, manifest: &str) -> Result<String, HarnessError> {
        self.kubectl_with_stdin(&["apply", "-f", "-"], manifest)
    }

    /// A kube client authenticated as the admin (through the host-side forwarder).
    pub async fn client(&self) -> Result<kube::Client, HarnessError> {
        crate::client_for(&self.kubeconfig).await
    }

    /// Imports an image archive (OCI layout or `docker save` tar) into the node's
    /// containerd, where pods find it by its name (use `imagePullPolicy: Never` or
    /// `IfNotPresent`: the node cannot pull).
    pub fn import_image(&self, archive: &Path) -> Result<(), HarnessError> {
        containerd::import_image(&self.containerd_paths, archive)
    }

    /// Runs a command inside the node's network namespace (host file system) and returns
    /// its output, whatever its exit status.
    pub fn exec_in_netns(&self, cmd: &[&str]) -> Result<Output, HarnessError> {
        self.netns
            .as_ref()
            .ok_or_else(|| stage("netns", "not created"))?
            .exec(cmd)
    }

    /// Tears the node down now (what dropping does) and returns what could not be
    /// cleaned up (empty when all went well).
    pub fn shutdown(mut self) -> Vec<String> {
        self.teardown()
    }

    fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.torn_down {
            return problems;
        }
        self.torn_down = true;
        let dir = self.dir_path.clone();
        // The kubelet first, so that it restarts nothing; kube-proxy with it.
        self.kubelet.take();
        self.proxy.take();
        let mut containers = Vec::new();
        if self.containerd.is_some() {
            containers = cleanup::container_ids(&self.containerd_paths);
            cleanup::remove_tasks(&self.containerd_paths, &mut problems);
        }
        self.containerd.take();
        cleanup::remove_runc_containers(&self.containerd_paths.runc_root, &mut problems);
        // Shims (their command line carries the socket path in the temp dir) and anything
        // else started from the node's files.
        let needle = dir.display().to_string();
        cleanup::kill_all(
            "node processes",
            cleanup::processes_mentioning(&needle),
            || cleanup::processes_mentioning(&needle),
            &mut problems,
        );
        self.forwarder.take();
        self.controllers.take();
        self.api.take();
        if let Some(root) = self.cgroup_root.clone() {
            cleanup::kill_all(
                "container processes",
                cleanup::cgroup_pids(&root),
                || cleanup::cgroup_pids(&root),
                &mut problems,
            );
        }
        if self.shared_mount {
            cleanup::unmount_under(&dir, &mut problems);
        }
        if let Some(root) = self.cgroup_root.take() {
            cleanup::remove_cgroups(&root, &mut problems);
        }
        cleanup::remove_host_files(&self.name, Some(&dir), &containers);
        if let Some(Err(e)) = self.netns.take().map(|netns| netns.delete()) {
            problems.push(e.to_string());
        }
        if let Some(tmp) = self.dir.take() {
            if cleanup::mounts_under(&dir).is_empty() {
                if let Err(e) = tmp.close() {
                    problems.push(format!("removing {}: {e}", dir.display()));
                }
            } else {
                // Never delete through a mount: keep the directory and say so.
                let _ = tmp.keep();
                problems.push(format!("kept {} (mounts remain)", dir.display()));
            }
        }
        problems
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for problem in self.teardown() {
            eprintln!("larum-node {}: teardown: {problem}", self.name);
        }
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn stage(stage: &'static str, detail: &str) -> HarnessError {
    HarnessError::Stage {
        stage,
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coredns_image_tag_is_the_pinned_version() {
        let go_mod = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../coredns/go.mod"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let tag = COREDNS_IMAGE.rsplit(':').next().unwrap_or_default();
        assert!(
            go_mod.contains(&format!("github.com/coredns/coredns v{tag}")),
            "{COREDNS_IMAGE} does not match tests/coredns/go.mod"
        );
    }

    #[test]
    fn cni_config_is_a_bridge_without_masquerade() {
        let text = containerd::cni_config("net", Path::new("/tmp/x"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["plugins"][0]["type"], "bridge");
        assert_eq!(v["plugins"][0]["ipMasq"], false);
        assert_eq!(v["plugins"][0]["ipam"]["dataDir"], "/tmp/x/cni/ipam");
    }

    #[test]
    fn containerd_config_keeps_everything_in_the_temp_dir() {
        let dir = Path::new("/tmp/node-x");
        let text = containerd::config(dir, &ContainerdPaths::new(dir));
        assert!(text.contains("restrict_oom_score_adj = true"));
        assert!(text.contains(&format!("sandbox_image = \"{PAUSE_IMAGE}\"")));
        for line in text.lines().filter(|l| l.contains(" = \"/")) {
            assert!(
                line.contains("/tmp/node-x/") || line.contains("/usr/lib/cni"),
                "{line}"
            );
        }
    }
}
