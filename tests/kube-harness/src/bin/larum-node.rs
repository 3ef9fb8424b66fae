//! `larum-node`: starts a single-node cluster (see `larum_kube_harness::node`), prints
//! `KUBECONFIG=<path>` on standard output once the node and CoreDNS are ready, and runs
//! until SIGINT (Ctrl-C) or SIGTERM, then tears everything down and exits.

use std::io::Write as _;
use std::process::ExitCode;

use larum_kube_harness::node::Node;
use tokio::signal::unix::{SignalKind, signal};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("larum-node: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    // Handlers first: a Ctrl-C during start-up waits for the start to end, then tears down.
    let (mut interrupt, mut terminate) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("larum-node: installing signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("larum-node: starting (etcd, kube-apiserver, containerd, kubelet, CoreDNS)...");
    let started = std::time::Instant::now();
    let node = match tokio::task::spawn_blocking(Node::start).await {
        Ok(Ok(node)) => node,
        Ok(Err(e)) => {
            eprintln!("larum-node: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("larum-node: start-up thread: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("KUBECONFIG={}", node.kubeconfig().display());
    let _ = std::io::stdout().flush();
    eprintln!(
        "larum-node: ready in {:.1?}: API server {}, network namespace {}, files and logs in {}; Ctrl-C stops",
        started.elapsed(),
        node.server(),
        node.name(),
        node.dir().display()
    );
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("larum-node: stopping...");
    let problems = tokio::task::spawn_blocking(move || node.shutdown())
        .await
        .unwrap_or_else(|e| vec![e.to_string()]);
    if problems.is_empty() {
        eprintln!("larum-node: stopped, nothing left behind");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("larum-node: teardown: {p}");
        }
        ExitCode::FAILURE
    }
}
