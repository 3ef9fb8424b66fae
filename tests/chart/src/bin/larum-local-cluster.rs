//! `larum-local-cluster`: starts a local Kubernetes control plane (etcd and
//! kube-apiserver from `make cluster-tools`, see `larum-kube-harness`), copies its admin
//! kubeconfig to `--kubeconfig FILE`, prints `ready` and runs until SIGTERM or SIGINT,
//! then stops both and removes their files. Used by `make demo` (scripts/demo.sh).

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: larum-local-cluster --kubeconfig FILE");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out: PathBuf = match args.as_slice() {
        [flag, file] if flag == "--kubeconfig" => PathBuf::from(file),
        [arg] if arg.starts_with("--kubeconfig=") => {
            PathBuf::from(arg.trim_start_matches("--kubeconfig="))
        }
        _ => return usage(),
    };
    let cluster = match larum_kube_harness::Cluster::start() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("larum-local-cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Write to a temp name and rename: a reader never sees half a file.
    let tmp = out.with_extension("tmp");
    if let Err(e) =
        std::fs::copy(cluster.kubeconfig(), &tmp).and_then(|_| std::fs::rename(&tmp, &out))
    {
        eprintln!("larum-local-cluster: writing {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "ready: kube-apiserver at {}, kubeconfig {}",
        cluster.server(),
        out.display()
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("larum-local-cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    });
    cluster.shutdown();
    ExitCode::SUCCESS
}
