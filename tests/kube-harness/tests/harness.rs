//! The harness against the real binaries of `make cluster-tools`: a cluster starts,
//! serves kubectl and the kube client, and leaves no process behind.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use larum_kube_harness::Cluster;

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/PID; its state letter is Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn configmap_applied_with_kubectl_reads_back_through_kubectl_and_the_client() {
    let cluster = Cluster::start().unwrap();
    cluster.kubectl(&["create", "namespace", "team-a"]).unwrap();
    let out = cluster
        .apply(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: routes\n  namespace: team-a\ndata:\n  receiver: pager\n",
        )
        .unwrap();
    assert!(out.contains("configmap/routes created"), "{out}");

    let value = cluster
        .kubectl(&[
            "get",
            "configmap",
            "routes",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.receiver}",
        ])
        .unwrap();
    assert_eq!(value, "pager");

    let client = cluster.client().await.unwrap();
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, "team-a");
    let cm = api.get("routes").await.unwrap();
    assert_eq!(cm.data.unwrap()["receiver"], "pager");

    // Bad input is reported with kubectl's own message.
    let err = cluster
        .kubectl(&["get", "configmap", "missing", "-n", "team-a"])
        .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

#[test]
fn teardown_leaves_no_process_and_no_directory() {
    let cluster = Cluster::start().unwrap();
    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    assert!(pids.iter().all(|&p| alive(p)));
    assert!(dir.join("kubeconfig").is_file());
    cluster.shutdown();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| alive(p)) {
        assert!(Instant::now() < deadline, "still running: {pids:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!Path::new(&dir).exists());
}

#[test]
fn a_panicking_test_still_tears_the_cluster_down() {
    let (pids_tx, pids_rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let cluster = Cluster::start().unwrap();
        pids_tx
            .send((cluster.pids(), cluster.dir().to_path_buf()))
            .unwrap();
        panic!("a failing assertion");
    })
    .join();
    assert!(outcome.is_err());
    let (pids, dir) = pids_rx.recv().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| alive(p)) {
        assert!(Instant::now() < deadline, "still running: {pids:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!dir.exists());
}
