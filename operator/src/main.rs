//! `larum-operator`: runs the controller, or writes the CRDs (`larum-operator crds`).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = larum_operator::cli::Cli::parse();
    match larum_operator::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("larum-operator: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
