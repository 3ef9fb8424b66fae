//! `make node`: a single-node Kubernetes cluster in a network namespace
//! (`larum_kube_harness::node`) with Larum installed the way the README says: the image
//! archives of `make images-oci` imported into the node's containerd, `helm install` of
//! `charts/larum`, Prometheus (an always-firing rule) and a webhook sink as pods,
//! `examples/kubernetes/` applied. Prints `KUBECONFIG=<path>`, then `node ready`, and runs
//! until Ctrl-C (or SIGTERM), then removes everything it made.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use larum_chart_tests::node::{Images, Kube, deploy_demo, helm_install, wait_chart_ready};
use larum_kube_harness::node::{NODE_IMAGES, Node};
use tokio::signal::unix::{SignalKind, signal};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("larum-node-install: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
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

async fn run() -> ExitCode {
    let (mut interrupt, mut terminate) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("larum-node-install: installing signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let node = match tokio::task::spawn_blocking(start).await {
        Ok(Ok(node)) => node,
        Ok(Err(e)) => {
            eprintln!("larum-node-install: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("larum-node-install: start-up thread: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("KUBECONFIG={}", node.kubeconfig().display());
    println!("node ready");
    let _ = std::io::stdout().flush();
    eprintln!(
        "node: try `kubectl --kubeconfig {} get pods -A`; the notifications: `kubectl get --raw \
         /api/v1/namespaces/sink/services/webhook-sink:8080/proxy/notifications`; Ctrl-C stops",
        node.kubeconfig().display()
    );
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("node: stopping...");
    let problems = tokio::task::spawn_blocking(move || node.shutdown())
        .await
        .unwrap_or_else(|e| vec![e.to_string()]);
    if problems.is_empty() {
        eprintln!("node: stopped, nothing left behind");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("node: teardown: {p}");
        }
        ExitCode::FAILURE
    }
}
