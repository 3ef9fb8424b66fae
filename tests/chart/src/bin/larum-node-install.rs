//! `make node`: a single-node Kubernetes cluster in a network namespace
//! (`larum_kube_harness::node`) with Larum installed the way the README says: the image
//! archives of `make images-oci` imported into the node's containerd, `helm install` of
//! `charts/larum`, Prometheus (an always-firing rule) and a webhook sink as pods,
//! `examples/kubernetes/` applied. Prints `KUBECONFIG=<path>`, then `node ready`, and runs
//! until Ctrl-C (or SIGTERM), then removes everything it made.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use larum_chart_tests::node::{Images, Kube, deploy_demo, helm_install, wait_chart_ready};
use larum_kube_harness::node::{NODE_IMAGES, Node, serve_until_interrupted};

fn main() -> ExitCode {
    serve_until_interrupted("larum-node-install", start, |node| {
        eprintln!(
            "node: try `kubectl --kubeconfig {} get pods -A`; the notifications: `kubectl get \
             --raw /api/v1/namespaces/sink/services/webhook-sink:8080/proxy/notifications`; \
             Ctrl-C stops",
            node.kubeconfig().display()
        );
        vec!["node ready".to_string()]
    })
}

/// Starts the node and installs Larum on it; the node is torn down on error.
fn start() -> Result<Node, String> {
    let started = Instant::now();
    let images = Images::locate();
    let archives = images.archives()?;
    eprintln!("node: starting etcd, kube-apiserver, containerd, kubelet, CoreDNS...");
    let node = Node::start().map_err(|e| e.to_string())?;
    let kube = Kube::new(node.kubeconfig())?;
    for archive in &archives {
        let file = archive.file_name().unwrap_or_default().to_string_lossy();
        if !NODE_IMAGES.contains(&file.as_ref()) {
            eprintln!("node: ctr -n k8s.io images import {}", archive.display());
            node.import_image(archive).map_err(|e| e.to_string())?;
        }
    }
    eprintln!("node: helm install larum charts/larum --namespace larum-system ...");
    helm_install(&kube, &images, &[])?;
    wait_chart_ready(&kube, Duration::from_secs(300))?;
    eprintln!("node: Prometheus, webhook sink and examples/kubernetes/ ...");
    deploy_demo(&kube, &images)?;
    kube.wait_pods_ready("monitoring", "app=prometheus", 1, Duration::from_secs(120))?;
    kube.wait_pods_ready("sink", "app=webhook-sink", 1, Duration::from_secs(120))?;
    eprintln!("node: up in {:.1?}", started.elapsed());
    Ok(node)
}
