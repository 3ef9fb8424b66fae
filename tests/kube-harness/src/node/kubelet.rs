//! The node agents: the kubelet (built from the pinned k8s.io/kubernetes, cgroup v1 with
//! the cgroupfs driver under a cgroup root of this node only) and kube-proxy (iptables
//! mode, inside the namespace, leaving the host's conntrack sysctls alone).
//!
//! The kubelet would set host-wide sysctls (vm.overcommit_memory, kernel.panic, ...) it
//! finds different from what it wants; it runs in its own mount namespace where those
//! /proc/sys files are bind mounts of files holding the values it wants, so it reads them
//! as set and the host keeps its own. Its volume mounts (secrets, projected tokens) must
//! still be seen by containerd in the host's mount namespace: the node's temp dir is a
//! shared bind mount, so mounts under it propagate back.

use std::path::{Path, PathBuf};

use super::containerd::ContainerdPaths;
use super::control_plane::{Credentials, NodePki, spawn_in_netns};
use super::netns::NetNs;
use super::{CLUSTER_DOMAIN, DNS_SERVICE_IP, NODE_IP, NODE_NAME, POD_CIDR};
use crate::{HarnessError, Process, io, tool};

/// Where cgroup v1 hierarchies are mounted.
pub(crate) const CGROUP_ROOT_DIR: &str = "/sys/fs/cgroup";

/// The sysctls the kubelet checks and the values it wants (it writes them otherwise).
const KUBELET_SYSCTLS: [(&str, &str); 6] = [
    ("vm/overcommit_memory", "1"),
    ("vm/panic_on_oom", "0"),
    ("kernel/panic", "10"),
    ("kernel/panic_on_oops", "1"),
    ("kernel/keys/root_maxkeys", "1000000"),
    ("kernel/keys/root_maxbytes", "25000000"),
];

/// Every mounted cgroup hierarchy (v1 controllers and the named/unified ones).
pub(crate) fn cgroup_hierarchies() -> Vec<PathBuf> {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split_whitespace().next()?;
            let point = left.split_whitespace().nth(4)?;
            ((fstype == "cgroup" || fstype == "cgroup2") && point.starts_with(CGROUP_ROOT_DIR))
                .then(|| PathBuf::from(point))
        })
        .collect()
}

/// Creates `/<name>` in every v1 hierarchy (the kubelet requires its cgroup root to
/// exist); cpuset children start empty, so cpus and mems are copied from the parent.
pub(crate) fn create_cgroup_root(name: &str) -> Result<(), HarnessError> {
    for hierarchy in cgroup_hierarchies() {
        if is_cgroup2(&hierarchy) {
            continue;
        }
        let dir = hierarchy.join(name);
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let parent = hierarchy.join(file);
            if parent.exists() {
                let value = std::fs::read_to_string(&parent)
                    .map_err(io(format!("reading {}", parent.display())))?;
                std::fs::write(dir.join(file), value.trim())
                    .map_err(io(format!("writing {}/{file}", dir.display())))?;
            }
        }
    }
    Ok(())
}

fn is_cgroup2(hierarchy: &Path) -> bool {
    hierarchy.join("cgroup.controllers").exists()
}

/// The kubelet's configuration file.
pub(crate) fn kubelet_config(
    dir: &Path,
    pki: &NodePki,
    containerd: &ContainerdPaths,
    cgroup_root: &str,
) -> String {
    let p = |path: &Path| path.display().to_string();
    serde_json::json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": false,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": format!("/{cgroup_root}"),
        "failSwapOn": false,
        "containerRuntimeEndpoint": containerd.endpoint(),
        "address": NODE_IP.to_string(),
        "healthzBindAddress": "127.0.0.1",
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"enabled": true},
            "x509": {"clientCAFile": p(&pki.ca_file)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": p(&pki.kubelet_cert),
        "tlsPrivateKeyFile": p(&pki.kubelet_key),
        "clusterDNS": [DNS_SERVICE_IP.to_string()],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": p(&dir.join("resolv.conf")),
        "podCIDR": POD_CIDR,
        "podLogsDir": p(&dir.join("pod-logs")),
        "volumePluginDir": p(&dir.join("kubelet-plugins")),
        // A busy dev disk must not make the node evict its pods or delete its images.
        "evictionHard": {
            "memory.available": "50Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
            "imagefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": false,
        "rotateCertificates": false,
        "serverTLSBootstrap": false,
        "registerNode": true,
        "protectKernelDefaults": false,
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        "nodeStatusReportFrequency": "10s",
        "shutdownGracePeriod": "0s",
        "logging": {"format": "text"},
    })
    .to_string()
}

/// Starts the kubelet in the namespace and in a mount namespace of its own.
pub(crate) fn start_kubelet(
    netns: &NetNs,
    dir: &Path,
    pki: &NodePki,
    creds: &Credentials,
    containerd: &ContainerdPaths,
    cgroup_root: &str,
) -> Result<Process, HarnessError> {
    let kubelet = tool("kubelet")?;
    let config = dir.join("kubelet-config.json");
    std::fs::write(&config, kubelet_config(dir, pki, containerd, cgroup_root))
        .map_err(io("writing the kubelet config"))?;
    std::fs::write(dir.join("resolv.conf"), "").map_err(io("writing resolv.conf"))?;
    let sysctl_dir = dir.join("sysctl");
    let mut script = String::from("set -e\n");
    for (key, value) in KUBELET_SYSCTLS {
        let file = sysctl_dir.join(key.replace('/', "."));
        std::fs::create_dir_all(&sysctl_dir).map_err(io("creating the sysctl dir"))?;
        std::fs::write(&file, format!("{value}\n")).map_err(io("writing a sysctl file"))?;
        script.push_str(&format!(
            "mount --bind '{}' /proc/sys/{key}\n",
            file.display()
        ));
    }
    script.push_str("exec \"$@\"\n");
    let mut args: Vec<String> = vec![
        "--mount".into(),
        "--propagation".into(),
        "unchanged".into(),
        "--".into(),
        "/bin/sh".into(),
        "-c".into(),
        script,
        "kubelet-wrapper".into(),
        "/usr/bin/nsenter".into(),
    ];
    args.extend(netns.nsenter_args());
    args.extend([
        kubelet.display().to_string(),
        format!("--config={}", config.display()),
        format!("--kubeconfig={}", creds.kubelet.display()),
        format!("--root-dir={}", dir.join("kubelet").display()),
        format!("--cert-dir={}", dir.join("kubelet-pki").display()),
        format!("--node-ip={NODE_IP}"),
        format!("--hostname-override={NODE_NAME}"),
        "--v=1".into(),
    ]);
    Process::spawn(
        "kubelet",
        Path::new("/usr/bin/unshare"),
        &args,
        dir.join("logs").join("kubelet.log"),
    )
}

/// The kube-proxy configuration: iptables mode, conntrack sysctls left as they are.
pub(crate) fn proxy_config(kubeconfig: &Path) -> String {
    serde_json::json!({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": kubeconfig.display().to_string()},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP.to_string(),
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "nodePortAddresses": ["primary"],
        // Lowering its OOM score needs CAP_SYS_RESOURCE, which these machines lack.
        "oomScoreAdj": 0,
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    })
    .to_string()
}

/// Starts kube-proxy in the namespace.
pub(crate) fn start_proxy(
    netns: &NetNs,
    dir: &Path,
    creds: &Credentials,
) -> Result<Process, HarnessError> {
    let config = dir.join("kube-proxy-config.json");
    std::fs::write(&config, proxy_config(&creds.proxy))
        .map_err(io("writing the kube-proxy config"))?;
    spawn_in_netns(
        netns,
        dir,
        "kube-proxy",
        &tool("kube-proxy")?,
        &[format!("--config={}", config.display()), "--v=0".into()],
    )
}
