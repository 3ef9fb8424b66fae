//! `larum-node`: starts a single-node cluster (see `larum_kube_harness::node`), prints
//! `KUBECONFIG=<path>` on standard output once the node and CoreDNS are ready, and runs
//! until SIGINT (Ctrl-C) or SIGTERM, then tears everything down and exits.

use std::process::ExitCode;
use std::time::Instant;

use larum_kube_harness::node::{Node, serve_until_interrupted};

fn main() -> ExitCode {
    eprintln!("larum-node: starting (etcd, kube-apiserver, containerd, kubelet, CoreDNS)...");
    let started = Instant::now();
    serve_until_interrupted(
        "larum-node",
        || Node::start().map_err(|e| e.to_string()),
        |node| {
            eprintln!(
                "larum-node: ready in {:.1?}: API server {}, network namespace {}, files and logs in {}; Ctrl-C stops",
                started.elapsed(),
                node.server(),
                node.name(),
                node.dir().display()
            );
            Vec::new()
        },
    )
}
