//! The controller.

/// Flags of `larum-operator run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {}

/// Runs the controller until SIGTERM/SIGINT.
pub async fn run(_args: RunArgs) -> anyhow::Result<()> {
    Ok(())
}
