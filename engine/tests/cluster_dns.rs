#![allow(clippy::unwrap_used)]
//! `--cluster.peer` DNS names are re-resolved every few seconds: when the name starts to
//! resolve to new replicas (a headless Service scaling up), the running replicas find
//! them without a restart. Each replica runs in its own mount namespace whose
//! `/etc/hosts` is a file of the test (nothing of the host is changed); replicas listen
//! on distinct loopback addresses (127.0.0.0/8) and one port, as pods behind a Service.

mod support;

use std::path::Path;
use std::time::Duration;

use support::cluster::{Replica, ReplicaSpec, Workspace, eventually};

const CONFIG: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";
const NAME: &str = "replicas.larum.test";

fn write_hosts(path: &Path, ips: &[&str]) {
    let text: String = ips.iter().map(|ip| format!("{ip} {NAME}\n")).collect();
    // In place: the namespaces bind-mount this very file.
    std::fs::write(path, format!("127.0.0.1 localhost\n{text}")).unwrap();
}

fn can_run() -> bool {
    std::process::Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_added_behind_a_dns_name_are_found_without_a_restart() {
    if !can_run() {
        eprintln!("skipped: needs root for unshare -m (mount namespaces)");
        return;
    }
    let ws = Workspace::new(CONFIG);
    let hosts = ws.path("hosts");
    let ips = [
        "127.0.0.21",
        "127.0.0.22",
        "127.0.0.23",
        "127.0.0.24",
        "127.0.0.25",
    ];
    write_hosts(&hosts, &ips[..3]);
    // One UDP port on every address, like pods of a Service.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let peer = format!("{NAME}:{port}");
    let mut replicas = Vec::new();
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        // d and e are not in the name yet, and know no peer themselves.
        let peers: Vec<&str> = if i < 3 { vec![peer.as_str()] } else { vec![] };
        let mut spec = ReplicaSpec::new(name, &peers).flags(&[
            "--cluster.gossip-interval=100ms",
            "--cluster.settle-timeout=2s",
        ]);
        spec.gossip_listen = Some(format!("{}:{port}", ips[i]));
        spec.hosts_file = Some(hosts.clone());
        replicas.push(
            Replica::start(
                &spec,
                &ws.config,
                &ws.storage(name),
                Duration::from_secs(20),
            )
            .await
            .unwrap(),
        );
    }
    for r in &replicas[..3] {
        eventually("a, b and c together", Duration::from_secs(10), || async {
            (r.member_names().await.len() == 3).then_some(())
        })
        .await
        .unwrap();
    }
    assert_eq!(replicas[3].member_names().await, ["d"]);
    // The Service scales up: the name now resolves to d and e too.
    write_hosts(&hosts, &ips);
    for r in &replicas {
        eventually(
            &format!("{} to see all 5 members", r.name),
            Duration::from_secs(15),
            || async { (r.member_names().await.len() == 5).then_some(()) },
        )
        .await
        .unwrap();
    }
}
