//! The long-running front of a node for a person at a terminal (`larum-node`, `make
//! node`): start it, print `KUBECONFIG=<path>` and whatever else the caller announces,
//! run until Ctrl-C or SIGTERM, then tear everything down.

use std::io::Write as _;
use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};

use super::Node;

/// Runs `start` (which starts a node and sets it up) on a blocking thread, prints
/// `KUBECONFIG=<path>` and the lines `announce` returns on standard output, waits for
/// SIGINT or SIGTERM and shuts the node down. `program` prefixes messages. Signals that
/// arrive during start-up are handled once the start has ended.
pub fn serve_until_interrupted<S, A>(program: &str, start: S, announce: A) -> ExitCode
where
    S: FnOnce() -> Result<Node, String> + Send + 'static,
    A: FnOnce(&Node) -> Vec<String>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let (mut interrupt, mut terminate) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(i), Ok(t)) => (i, t),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("{program}: installing signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let node = match tokio::task::spawn_blocking(start).await {
            Ok(Ok(node)) => node,
            Ok(Err(e)) => {
                eprintln!("{program}: {e}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{program}: start-up thread: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("KUBECONFIG={}", node.kubeconfig().display());
        for line in announce(&node) {
            println!("{line}");
        }
        let _ = std::io::stdout().flush();
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("{program}: stopping...");
        let problems = tokio::task::spawn_blocking(move || node.shutdown())
            .await
            .unwrap_or_else(|e| vec![e.to_string()]);
        if problems.is_empty() {
            eprintln!("{program}: stopped, nothing left behind");
            ExitCode::SUCCESS
        } else {
            for p in &problems {
                eprintln!("{program}: teardown: {p}");
            }
            ExitCode::FAILURE
        }
    })
}
