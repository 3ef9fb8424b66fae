//! Tearing a node down so that nothing is left on the host: kubelet first (so it restarts
//! nothing), then every container (through containerd, then runc directly for whatever
//! is left), containerd and its shims, the control plane, every process still in the
//! node's cgroups, every mount under the temp dir (volumes, overlays, pod network
//! namespaces, the shared bind mount itself), the node's cgroups in every hierarchy, the
//! CNI cache entries, the network namespace and the temp dir. [`leftovers`] lists what
//! a node left behind, for tests to assert there is none.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::mount::{UnmountFlags, unmount};
use rustix::process::{Pid, Signal, kill_process};

use super::containerd::{ContainerdPaths, K8S_NAMESPACE, ctr};
use super::kubelet::cgroup_hierarchies;
use super::netns::NETNS_DIR;

/// Where libcni caches results (containerd 1.6 has no setting for it).
const CNI_CACHE_DIR: &str = "/var/lib/cni/results";
/// Where containerd 1.6's shims put their sockets (fixed path).
const SHIM_SOCKET_DIR: &str = "/run/containerd/s";
/// Where the kubelet links container logs (fixed path).
const CONTAINER_LOG_LINKS: &str = "/var/log/containers";

/// IDs of every container (pod sandboxes included) in containerd's k8s.io namespace.
pub(crate) fn container_ids(paths: &ContainerdPaths) -> Vec<String> {
    ctr(paths, &["containers", "ls", "-q"])
        .map(|out| out.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Kills every task in containerd's k8s.io namespace and deletes it (so shims exit).
pub(crate) fn remove_tasks(paths: &ContainerdPaths, problems: &mut Vec<String>) {
    let Ok(list) = ctr(paths, &["tasks", "ls", "-q"]) else {
        return;
    };
    let ids: Vec<&str> = list.split_whitespace().collect();
    for id in &ids {
        let _ = ctr(paths, &["tasks", "kill", "-a", "-s", "SIGKILL", id]);
    }
    for id in &ids {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match ctr(paths, &["tasks", "rm", "-f", id]) {
                Ok(_) => break,
                // The CRI plugin deletes a task itself once it has exited.
                Err(e) if e.to_string().contains("not found") => break,
                Err(e) if Instant::now() > deadline => {
                    problems.push(format!("deleting task {id}: {e}"));
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// Kills and deletes whatever containers runc still knows under the node's runc root.
pub(crate) fn remove_runc_containers(runc_root: &Path, problems: &mut Vec<String>) {
    let root = runc_root.join(K8S_NAMESPACE);
    if !root.is_dir() {
        return;
    }
    let root_arg = root.display().to_string();
    let Ok(out) = Command::new("runc")
        .args(["--root", &root_arg, "list", "-q"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let _ = Command::new("runc")
            .args(["--root", &root_arg, "kill", id, "KILL"])
            .stderr(Stdio::null())
            .status();
        let status = Command::new("runc")
            .args(["--root", &root_arg, "delete", "-f", id])
            .stderr(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            problems.push(format!("runc delete -f {id} failed"));
        }
    }
}

/// PIDs of processes whose command line mentions `needle` (the node's temp dir path:
/// containerd's shims carry its socket path), never this process.
pub(crate) fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Every cgroup directory at or under `/<cgroup_root>` in every hierarchy, deepest first.
pub(crate) fn cgroup_dirs(cgroup_root: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for hierarchy in cgroup_hierarchies() {
        let top = hierarchy.join(cgroup_root);
        if top.is_dir() {
            walk_dirs(&top, &mut out);
        }
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

fn walk_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk_dirs(&entry.path(), out);
            }
        }
    }
    out.push(dir.to_path_buf());
}

/// PIDs in the node's cgroups (container processes the runtime did not stop).
pub(crate) fn cgroup_pids(cgroup_root: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = cgroup_dirs(cgroup_root)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The socket of a containerd shim, from its command line (`-namespace NS -id ID -address
/// GRPC`): `/run/containerd/s/<hex sha256 of GRPC/NS/ID>`, as containerd 1.6 names it. A
/// shim removes it when it exits normally, not when it is killed.
fn shim_socket(pid: i32) -> Option<PathBuf> {
    use sha2::Digest as _;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if !args.first()?.contains("containerd-shim") {
        return None;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let key = Path::new(&value("-address")?)
        .join(value("-namespace")?)
        .join(value("-id")?);
    let digest = sha2::Sha256::digest(key.to_string_lossy().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Some(Path::new(SHIM_SOCKET_DIR).join(hex))
}

/// SIGKILLs `pids` and waits (bounded) until `still` finds none; removes the sockets of
/// the containerd shims among them.
pub(crate) fn kill_all(
    what: &str,
    pids: Vec<i32>,
    still: impl Fn() -> Vec<i32>,
    problems: &mut Vec<String>,
) {
    let sockets: Vec<PathBuf> = pids.iter().filter_map(|p| shim_socket(*p)).collect();
    kill_and_wait(what, pids, still, problems);
    for socket in sockets {
        let _ = std::fs::remove_file(socket);
    }
}

/// SIGKILLs `pids` and waits (bounded) until `still` finds none.
fn kill_and_wait(
    what: &str,
    pids: Vec<i32>,
    still: impl Fn() -> Vec<i32>,
    problems: &mut Vec<String>,
) {
    if pids.is_empty() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pids = pids;
    loop {
        for pid in &pids {
            if let Some(pid) = Pid::from_raw(*pid) {
                let _ = kill_process(pid, Signal::KILL);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        pids = still();
        if pids.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            problems.push(format!("{what}: processes {pids:?} survive SIGKILL"));
            return;
        }
    }
}

/// Mount points at or under `dir` in this mount namespace, deepest (latest) first.
pub(crate) fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    // Later mounts are listed later; undo them first.
    points.reverse();
    points
}

/// Unmounts everything under `dir` (lazily, so a busy mount does not stop the rest).
pub(crate) fn unmount_under(dir: &Path, problems: &mut Vec<String>) {
    for _ in 0..10 {
        let points = mounts_under(dir);
        if points.is_empty() {
            return;
        }
        for point in points {
            let _ = unmount(&point, UnmountFlags::DETACH);
        }
    }
    let left = mounts_under(dir);
    if !left.is_empty() {
        problems.push(format!("mounts left under {}: {left:?}", dir.display()));
    }
}

/// Removes the node's cgroups, deepest first; retries while they drain.
pub(crate) fn remove_cgroups(cgroup_root: &str, problems: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dirs = cgroup_dirs(cgroup_root);
        if dirs.is_empty() {
            return;
        }
        for d in &dirs {
            let _ = std::fs::remove_dir(d);
        }
        if Instant::now() > deadline {
            problems.push(format!("cgroups left: {:?}", cgroup_dirs(cgroup_root)));
            return;
        }
        if !cgroup_dirs(cgroup_root).is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Removes libcni's cached results of the node's network and of containerd's loopback
/// network for the node's sandboxes (`containers`), and the kubelet's log links.
pub(crate) fn remove_host_files(network: &str, dir: Option<&Path>, containers: &[String]) {
    let prefix = format!("{network}-");
    let mut containers = containers.to_vec();
    if let Ok(entries) = std::fs::read_dir(CNI_CACHE_DIR) {
        // `<network>-<sandbox id>-<interface>`: the node's sandboxes, also when containerd
        // could not be asked (a stale node).
        containers.extend(entries.flatten().filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let rest = file.strip_prefix(&prefix)?;
            Some(rest.split('-').next()?.to_string())
        }));
    }
    if let Ok(entries) = std::fs::read_dir(CNI_CACHE_DIR) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let ours = file.starts_with(&prefix)
                || (file.starts_with("cni-loopback-")
                    && containers.iter().any(|id| file.contains(id.as_str())));
            if ours {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let Some(dir) = dir else { return };
    if let Ok(entries) = std::fs::read_dir(CONTAINER_LOG_LINKS) {
        for entry in entries.flatten() {
            if std::fs::read_link(entry.path()).is_ok_and(|t| t.starts_with(dir)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// What a node named `name` (its network namespace, cgroup root and CNI network) with
/// temp dir `dir` left on the host: empty when the teardown was complete.
pub fn leftovers(name: &str, dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if Path::new(NETNS_DIR).join(name).exists() {
        found.push(format!("network namespace {name}"));
    }
    for point in mounts_under(dir) {
        found.push(format!("mount {}", point.display()));
    }
    for cg in cgroup_dirs(name) {
        found.push(format!("cgroup {}", cg.display()));
    }
    let needle = dir.display().to_string();
    for pid in processes_mentioning(&needle) {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        found.push(format!("process {pid}: {cmd}"));
    }
    if dir.exists() {
        found.push(format!("directory {}", dir.display()));
    }
    if let Ok(entries) = std::fs::read_dir(CNI_CACHE_DIR) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(&format!("{name}-")) {
                found.push(format!("CNI cache {file}"));
            }
        }
    }
    if let Ok(out) = Command::new("iptables-save")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.contains("KUBE-") || line.contains("CNI-") {
                found.push(format!("host iptables: {line}"));
            }
        }
    }
    found
}

/// Tears down what nodes of processes that no longer run left behind (a test killed
/// with SIGKILL cannot clean up): network namespaces `larum-node-<pid>-<n>` whose `<pid>`
/// is gone, with their temp dirs, processes, containers, mounts and cgroups. Returns the
/// names swept.
pub fn sweep_stale_nodes() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut seen = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    };
    if let Ok(entries) = std::fs::read_dir(NETNS_DIR) {
        for entry in entries.flatten() {
            seen(&entry.file_name().to_string_lossy());
        }
    }
    for hierarchy in cgroup_hierarchies() {
        if let Ok(entries) = std::fs::read_dir(&hierarchy) {
            for entry in entries.flatten() {
                seen(&entry.file_name().to_string_lossy());
            }
        }
    }
    let stale: Vec<String> = names
        .into_iter()
        .filter(|n| owner_pid(n).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()))
        .collect();
    for name in &stale {
        let mut problems = Vec::new();
        let dirs: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with(&format!("{name}-"))
                    })
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        for dir in &dirs {
            let needle = dir.display().to_string();
            kill_all(
                "stale node processes",
                processes_mentioning(&needle),
                || processes_mentioning(&needle),
                &mut problems,
            );
            remove_runc_containers(&dir.join("containerd").join("runc"), &mut problems);
        }
        kill_all(
            "stale container processes",
            cgroup_pids(name),
            || cgroup_pids(name),
            &mut problems,
        );
        for dir in &dirs {
            unmount_under(dir, &mut problems);
        }
        remove_cgroups(name, &mut problems);
        remove_host_files(name, dirs.first().map(PathBuf::as_path), &[]);
        if Path::new(NETNS_DIR).join(name).exists() {
            let _ = Command::new("ip")
                .args(["netns", "del", name])
                .stderr(Stdio::null())
                .status();
        }
        for dir in &dirs {
            if mounts_under(dir).is_empty() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        for problem in problems {
            eprintln!("larum-node: sweeping stale {name}: {problem}");
        }
    }
    stale
}

/// The PID in a node name `larum-node-<pid>-<n>`.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("larum-node-")?;
    let (pid, n) = rest.split_once('-')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_reads_only_node_names() {
        assert_eq!(owner_pid("larum-node-123-0"), Some(123));
        assert_eq!(owner_pid("larum-node-123"), None);
        assert_eq!(owner_pid("larum-img-nocert"), None);
        assert_eq!(owner_pid("larum-node-x-1"), None);
    }
}
