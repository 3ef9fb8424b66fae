//! containerd for the node: its own root, state, socket and runc root under the node's
//! temp dir, CRI with the pause image built here, CNI (bridge, host-local, portmap) from
//! Debian's plugins in /usr/lib/cni with the config in the temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::netns::NetNs;
use super::{PAUSE_IMAGE, POD_CIDR};
use crate::{HarnessError, Process, io};

/// Debian's containernetworking-plugins.
pub(crate) const CNI_BIN_DIR: &str = "/usr/lib/cni";

/// The containerd namespace the CRI plugin uses.
pub(crate) const K8S_NAMESPACE: &str = "k8s.io";

/// Paths of one node's containerd.
pub(crate) struct ContainerdPaths {
    pub(crate) config: PathBuf,
    pub(crate) socket: PathBuf,
    /// runc's `--root` for the k8s.io namespace's containers.
    pub(crate) runc_root: PathBuf,
    pub(crate) cni_conf_dir: PathBuf,
}

impl ContainerdPaths {
    pub(crate) fn new(dir: &Path) -> ContainerdPaths {
        let base = dir.join("containerd");
        ContainerdPaths {
            config: base.join("config.toml"),
            socket: base.join("containerd.sock"),
            runc_root: base.join("runc"),
            cni_conf_dir: dir.join("cni").join("net.d"),
        }
    }

    /// `unix://` endpoint for the kubelet.
    pub(crate) fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

/// The containerd configuration (version 2, containerd 1.6).
pub(crate) fn config(dir: &Path, paths: &ContainerdPaths) -> String {
    let base = dir.join("containerd");
    let d = |name: &str| base.join(name).display().to_string();
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  # Without CAP_SYS_RESOURCE runc fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  # Pod network namespaces under the state dir, not /run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc_root}"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
    max_conf_num = 1
"#,
        root = d("root"),
        state = d("state"),
        socket = paths.socket.display(),
        opt = d("opt"),
        pause = PAUSE_IMAGE,
        runc_root = paths.runc_root.display(),
        cni_bin = CNI_BIN_DIR,
        cni_conf = paths.cni_conf_dir.display(),
    )
}

/// The CNI network: a bridge with the node as the pods' gateway (no masquerading: there
/// is nowhere to masquerade to), host-local addresses with their state in the temp dir,
/// and portmap for hostPorts. containerd adds the loopback plugin for every pod itself.
pub(crate) fn cni_config(network: &str, dir: &Path) -> String {
    serde_json::json!({
        "cniVersion": "0.4.0",
        "name": network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": dir.join("cni").join("ipam").display().to_string(),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": true}},
        ],
    })
    .to_string()
}

/// Writes the configs and starts containerd in the namespace; waits for its socket.
pub(crate) fn start(
    netns: &NetNs,
    dir: &Path,
    network: &str,
    paths: &ContainerdPaths,
    timeout: Duration,
) -> Result<Process, HarnessError> {
    for d in [dir.join("containerd"), paths.cni_conf_dir.clone()] {
        std::fs::create_dir_all(&d).map_err(io(format!("creating {}", d.display())))?;
    }
    std::fs::write(&paths.config, config(dir, paths)).map_err(io("writing containerd's config"))?;
    std::fs::write(
        paths.cni_conf_dir.join("10-larum.conflist"),
        cni_config(network, dir),
    )
    .map_err(io("writing the CNI config"))?;
    let containerd = super::control_plane::spawn_in_netns(
        netns,
        dir,
        "containerd",
        Path::new("/usr/bin/containerd"),
        &[format!("--config={}", paths.config.display())],
    )?;
    let deadline = Instant::now() + timeout;
    loop {
        containerd.check_running()?;
        if paths.socket.exists() && ctr(paths, &["version"]).is_ok() {
            return Ok(containerd);
        }
        if Instant::now() > deadline {
            return Err(HarnessError::Stage {
                stage: "containerd",
                detail: format!(
                    "no answer on {} within {timeout:?}; log:\n{}",
                    paths.socket.display(),
                    containerd.log_tail(15)
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `ctr -a SOCKET -n k8s.io ARGS...` and returns its standard output.
pub(crate) fn ctr(paths: &ContainerdPaths, args: &[&str]) -> Result<String, HarnessError> {
    let mut all = vec![
        "-a".to_string(),
        paths.socket.display().to_string(),
        "-n".to_string(),
        K8S_NAMESPACE.to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let out = Command::new("ctr")
        .args(&all)
        .stdin(Stdio::null())
        .output()
        .map_err(io("running ctr"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(HarnessError::Command {
            command: format!("ctr {}", all.join(" ")),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Imports an image archive (OCI layout or Docker save) into the k8s.io namespace.
pub(crate) fn import_image(paths: &ContainerdPaths, archive: &Path) -> Result<(), HarnessError> {
    let archive = archive.display().to_string();
    ctr(paths, &["images", "import", &archive])?;
    Ok(())
}
